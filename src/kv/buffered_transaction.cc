#include "kv/buffered_transaction.h"

#include "kv/atomic_ops.h"
#include "kv/read_your_writes.h"

namespace recordstore::kv {

void BufferedTransaction::Defer(Status error) {
  if (deferred_error_.ok()) deferred_error_ = std::move(error);
}

void BufferedTransaction::Set(std::string_view key, std::string_view value) {
  Status valid = CheckSet(key, value);
  if (!valid.ok()) return Defer(std::move(valid));
  writes_.Set(key, value);
}

void BufferedTransaction::Clear(std::string_view key) {
  Status valid = CheckClear(key);
  if (!valid.ok()) return Defer(std::move(valid));
  writes_.Clear(key);
}

void BufferedTransaction::ClearRange(std::string_view begin, std::string_view end) {
  Status valid = CheckClearRange(begin, end);
  if (!valid.ok()) return Defer(std::move(valid));
  writes_.ClearRange(begin, end);
}

void BufferedTransaction::AtomicOp(MutationType type, std::string_view key,
                                   std::string_view operand) {
  Status valid = CheckAtomicOp(type, key, operand);
  if (!valid.ok()) return Defer(std::move(valid));
  writes_.Atomic(type, key, operand);
}

void BufferedTransaction::BumpMetadataVersion() {
  if (bumped_metadata_version_) return;
  bumped_metadata_version_ = true;
  // The whole value is the versionstamp: 10 placeholder bytes, then the 4-byte little-endian
  // offset 0. Written directly: the system key would fail AtomicOp's user-key check.
  writes_.Atomic(MutationType::kSetVersionstampedValue, kMetadataVersionKey, std::string(14, '\0'));
}

void BufferedTransaction::AddReadRange(std::string begin, std::string end) {
  conflict_bytes_ += static_cast<int64_t>(begin.size() + end.size());
  read_ranges_.emplace_back(std::move(begin), std::move(end));
}

void BufferedTransaction::AddReadConflictRange(std::string_view begin, std::string_view end) {
  if (begin < end) AddReadRange(std::string(begin), std::string(end));
}

void BufferedTransaction::AddReadConflictKey(std::string_view key) {
  AddReadRange(std::string(key), KeyAfter(key));
}

void BufferedTransaction::AddWriteConflictRange(std::string_view begin, std::string_view end) {
  if (begin >= end) return;
  conflict_bytes_ += static_cast<int64_t>(begin.size() + end.size());
  write_ranges_.emplace_back(std::string(begin), std::string(end));
}

void BufferedTransaction::AddWriteConflictKey(std::string_view key) {
  AddWriteConflictRange(key, KeyAfter(key));
}

int64_t BufferedTransaction::GetApproximateSize() const {
  return writes_.bytes() + conflict_bytes_;
}

void BufferedTransaction::ClearBuffered() {
  writes_.Reset();
  read_ranges_.clear();
  write_ranges_.clear();
  conflict_bytes_ = 0;
  deferred_error_ = absl::OkStatus();
  bumped_metadata_version_ = false;
}

}  // namespace recordstore::kv
