#include "cursor/record_context.h"

#include <utility>

#include "common/status_macros.h"

namespace recordstore::cursor {

RecordContext::RecordContext(std::unique_ptr<kv::Transaction> txn, Clock clock)
    : txn_(std::move(txn)),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })),
      created_(clock_()) {}

StatusOr<uint16_t> RecordContext::NextLocalVersion() {
  if (next_local_version_ > 0xffff) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a transaction can hand out at most 65,536 local versions");
  }
  return static_cast<uint16_t>(next_local_version_++);
}

StatusOr<RecordVersion> RecordContext::NewIncompleteVersion() {
  ASSIGN_OR_RETURN(uint16_t local, NextLocalVersion());
  return RecordVersion::Incomplete(local);
}

void RecordContext::AddPendingVersion(std::string key, const RecordVersion& version) {
  pending_versions_.insert_or_assign(std::move(key), version);
}

void RecordContext::ClearPendingVersions(std::string_view begin, std::string_view end) {
  if (begin >= end) return;
  pending_versions_.erase(pending_versions_.lower_bound(begin), pending_versions_.lower_bound(end));
}

const RecordVersion* RecordContext::FindPendingVersion(std::string_view key) const {
  auto it = pending_versions_.find(key);
  return it == pending_versions_.end() ? nullptr : &it->second;
}

void RecordContext::SetVersionstampedKeyAtCommit(std::string placeholder_key,
                                                 std::string key_operand, std::string value) {
  versionstamped_keys_.insert_or_assign(
      std::move(placeholder_key), VersionstampedKeyWrite{std::move(key_operand), std::move(value)});
}

bool RecordContext::CancelVersionstampedKey(std::string_view placeholder_key) {
  auto it = versionstamped_keys_.find(placeholder_key);
  if (it == versionstamped_keys_.end()) return false;
  versionstamped_keys_.erase(it);
  return true;
}

void RecordContext::FailCommit(Status reason) {
  if (commit_failure_.ok()) commit_failure_ = std::move(reason);
}

Status RecordContext::Commit() {
  if (!commit_failure_.ok()) return commit_failure_;
  for (const auto& [key, version] : pending_versions_) {
    Tuple value = Tuple::Of(version.ToVersionstamp());
    if (version.is_complete()) {
      txn_->Set(key, value.Pack());
    } else {
      ASSIGN_OR_RETURN(std::string operand, value.PackWithVersionstamp());
      txn_->AtomicOp(kv::MutationType::kSetVersionstampedValue, key, operand);
    }
  }
  pending_versions_.clear();
  for (const auto& [placeholder, write] : versionstamped_keys_) {
    txn_->AtomicOp(kv::MutationType::kSetVersionstampedKey, write.key_operand, write.value);
  }
  versionstamped_keys_.clear();
  return txn_->Commit();
}

StatusOr<RecordVersion> RecordContext::CompleteVersion(const RecordVersion& version) const {
  if (version.is_complete()) return version;
  ASSIGN_OR_RETURN(std::string versionstamp, txn_->GetVersionstamp());
  return version.WithGlobalVersion(versionstamp);
}

}  // namespace recordstore::cursor
