#include "cursor/key_value_cursor.h"

#include <algorithm>
#include <utility>

#include "common/status_macros.h"

namespace recordstore::cursor {
namespace {

// The first key after every key that starts with `prefix`; "\xff" (the end of the user key
// space) when there is none.
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<uint8_t>(prefix.back()) == 0xff) prefix.pop_back();
  if (prefix.empty()) return std::string("\xff", 1);
  prefix.back() = static_cast<char>(static_cast<uint8_t>(prefix.back()) + 1);
  return prefix;
}

// `open` makes the endpoint of an open end; it is only called for one, so a bounded range
// builds no key it does not use.
template <typename OpenEndpoint>
kv::RangeEndpoint Resolve(const std::string& prefix, const KeyEndpoint& endpoint,
                          const OpenEndpoint& open) {
  switch (endpoint.type()) {
    case KeyEndpoint::Type::kOpen:
      return open();
    case KeyEndpoint::Type::kInclusive:
    case KeyEndpoint::Type::kExclusive:
      // Built in place: Inclusive(prefix + suffix) would copy the concatenation once more.
      return kv::RangeEndpoint{prefix + endpoint.suffix(),
                               endpoint.type() == KeyEndpoint::Type::kInclusive};
  }
  return open();
}

// A fingerprint of everything a continuation is only valid for: the byte range and direction.
uint64_t RangeCheck(const ResolvedKeyRange& range, bool reverse) {
  std::string identity;
  identity.push_back(reverse ? 'r' : 'f');
  identity.push_back(range.begin.inclusive ? '[' : '(');
  identity += std::to_string(range.begin.key.size());
  identity.push_back(':');
  identity += range.begin.key;
  identity.push_back(range.end.inclusive ? ']' : ')');
  identity += range.end.key;
  return Fingerprint64(identity);
}

bool AfterBegin(std::string_view key, const kv::RangeEndpoint& begin) {
  return begin.inclusive ? key >= begin.key : key > begin.key;
}

bool BeforeEnd(std::string_view key, const kv::RangeEndpoint& end) {
  return end.inclusive ? key <= end.key : key < end.key;
}

// The continuation after the full key `key`: the key without its `prefix_size`-byte subspace
// prefix, and the range check.
Continuation After(std::string_view key, size_t prefix_size, uint64_t check) {
  return Continuation::At(CursorKind::kKeyValue, std::string(key.substr(prefix_size)), 0, check,
                          {});
}

// The continuation of a returned row (a kv::KeyValue of the batch), built only when asked for
// (DeferredContinuation).
Continuation AfterRow(const void* row, uint64_t prefix_size, uint64_t check) {
  return After(static_cast<const kv::KeyValue*>(row)->key, prefix_size, check);
}

}  // namespace

ResolvedKeyRange ResolveKeyRange(const Subspace& subspace, const KeyEndpoint& low,
                                 const KeyEndpoint& high) {
  const std::string& prefix = subspace.key();
  return {Resolve(prefix, low, [&] { return kv::RangeEndpoint::Inclusive(prefix); }),
          Resolve(prefix, high, [&] { return kv::RangeEndpoint::Exclusive(PrefixEnd(prefix)); })};
}

StatusOr<std::unique_ptr<KeyValueCursor>> KeyValueCursor::Create(
    kv::Transaction& txn, const Subspace& subspace, const KeyEndpoint& low, const KeyEndpoint& high,
    const Continuation& continuation, const KeyValueCursorOptions& options) {
  RETURN_IF_ERROR(continuation.ExpectKind(CursorKind::kKeyValue, 0));
  ResolvedKeyRange range = ResolveKeyRange(subspace, low, high);
  uint64_t check = RangeCheck(range, options.reverse);
  std::unique_ptr<KeyValueCursor> cursor(
      new KeyValueCursor(txn, subspace.key(), std::move(range), check, options));
  if (continuation.is_end()) {
    cursor->range_done_ = true;
  } else if (!continuation.is_start()) {
    if (continuation.check() != check) {
      return MakeError(ErrorCode::kInvalidContinuation,
                       "the key_value continuation belongs to another range or direction");
    }
    std::string key = subspace.key() + continuation.key();
    if (!AfterBegin(key, cursor->range_.begin) || !BeforeEnd(key, cursor->range_.end)) {
      return MakeError(ErrorCode::kInvalidContinuation,
                       "the key_value continuation's key lies outside the cursor's range");
    }
    if (options.reverse) {
      cursor->range_.end = kv::RangeEndpoint::Exclusive(key);
    } else {
      cursor->range_.begin = kv::RangeEndpoint::Exclusive(key);
    }
    cursor->resumed_at_ = continuation;
  }
  return cursor;
}

KeyValueCursor::KeyValueCursor(kv::Transaction& txn, std::string prefix, ResolvedKeyRange range,
                               uint64_t check, const KeyValueCursorOptions& options)
    : txn_(txn),
      prefix_(std::move(prefix)),
      range_(std::move(range)),
      check_(check),
      options_(options),
      next_batch_rows_(std::max(1, options.batching.first_batch_rows)) {}

Continuation KeyValueCursor::Position() const {
  // Position() is only asked for before a fetch, so the batch still holds the last row
  // returned.
  return returned_ > 0 ? After((*batch_)[position_ - 1].key, prefix_.size(), check_) : resumed_at_;
}

Status KeyValueCursor::FetchBatch() {
  kv::RangeOptions read;
  read.reverse = options_.reverse;
  read.snapshot = options_.snapshot;
  int64_t rows = next_batch_rows_;
  if (options_.row_limit > 0) rows = std::min(rows, options_.row_limit - returned_);
  if (options_.limiter != nullptr) {
    if (std::optional<int64_t> remaining = options_.limiter->RecordsRemaining()) {
      rows = std::min(rows, std::max<int64_t>(1, *remaining));
    }
  }
  read.limit = static_cast<int>(std::max<int64_t>(1, rows));
  ASSIGN_OR_RETURN(kv::RangeResult fetched, txn_.GetRange(range_.begin, range_.end, read));
  position_ = 0;
  next_batch_rows_ = std::min(next_batch_rows_ * 2, std::max(1, options_.batching.max_batch_rows));
  if (!fetched.more || fetched.rows.empty()) {
    range_done_ = true;
  } else if (options_.reverse) {
    range_.end = kv::RangeEndpoint::Exclusive(fetched.rows.back().key);
  } else {
    range_.begin = kv::RangeEndpoint::Exclusive(fetched.rows.back().key);
  }
  batch_ = std::make_shared<const std::vector<kv::KeyValue>>(std::move(fetched.rows));
  return absl::OkStatus();
}

StatusOr<CursorResult<KeyValueRow>> KeyValueCursor::Next() {
  using Result = CursorResult<KeyValueRow>;
  bool buffered = batch_ != nullptr && position_ < batch_->size();
  if (!buffered && range_done_) {
    return Result::WithoutValue(NoNextReason::kSourceExhausted, Continuation::End());
  }
  if (options_.row_limit > 0 && returned_ >= options_.row_limit) {
    return Result::WithoutValue(NoNextReason::kReturnLimitReached, Position());
  }
  // The first record is free (scan_limiter.h, "Progress").
  if (options_.limiter != nullptr && scanned_ > 0) {
    if (std::optional<NoNextReason> stop = options_.limiter->ReasonToStop()) {
      return Result::WithoutValue(*stop, Position());
    }
  }
  if (!buffered) {
    RETURN_IF_ERROR(FetchBatch());
    if (batch_->empty()) {
      return Result::WithoutValue(NoNextReason::kSourceExhausted, Continuation::End());
    }
  }
  const kv::KeyValue& row = (*batch_)[position_];
  if (options_.limiter != nullptr) {
    options_.limiter->RecordScan(static_cast<int64_t>(row.key.size() + row.value.size()));
  }
  ++returned_;
  ++scanned_;
  // The continuation shares the batch, so it outlives the row when a cursor above keeps only
  // the continuation (index entries, fetched records).
  return Result::WithValue(KeyValueRow(batch_, position_++),
                           DeferredContinuation{&AfterRow, &row, batch_, {prefix_.size(), check_}});
}

}  // namespace recordstore::cursor
