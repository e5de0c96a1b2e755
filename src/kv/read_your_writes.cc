#include "kv/read_your_writes.h"

#include <algorithm>
#include <random>

#include "kv/atomic_ops.h"

namespace recordstore::kv {

bool IsSystemKey(std::string_view key) {
  return !key.empty() && static_cast<unsigned char>(key[0]) == kSystemKeyPrefix;
}

bool IsLegalRangeEnd(std::string_view key) {
  return !IsSystemKey(key) || key == std::string_view("\xff", 1);
}

Status CheckClear(std::string_view key) {
  if (key.size() > kMaxKeySize) {
    return MakeError(ErrorCode::kKeyTooLarge,
                     "key of " + std::to_string(key.size()) + " bytes exceeds 10,000");
  }
  if (IsSystemKey(key)) {
    return MakeError(ErrorCode::kKeyOutsideLegalRange, "keys must sort below \\xff");
  }
  return absl::OkStatus();
}

Status CheckSet(std::string_view key, std::string_view value) {
  Status key_status = CheckClear(key);
  if (!key_status.ok()) return key_status;
  if (value.size() > kMaxValueSize) {
    return MakeError(ErrorCode::kValueTooLarge,
                     "value of " + std::to_string(value.size()) + " bytes exceeds 100,000");
  }
  return absl::OkStatus();
}

Status CheckClearRange(std::string_view begin, std::string_view end) {
  if (begin > end) {
    return MakeError(ErrorCode::kInvertedRange, "ClearRange begin sorts after its end");
  }
  if (!IsLegalRangeEnd(begin) || !IsLegalRangeEnd(end)) {
    return MakeError(ErrorCode::kKeyOutsideLegalRange, "range reaches past \\xff");
  }
  return absl::OkStatus();
}

Status CheckAtomicOp(MutationType type, std::string_view key, std::string_view operand) {
  // Versionstamped parameters end with a 4-byte offset that is not part of the key or value.
  std::string_view checked_key = key;
  std::string_view checked_value = operand;
  if (type == MutationType::kSetVersionstampedKey) {
    Status valid = ValidateVersionstampParam(key);
    if (!valid.ok()) return valid;
    checked_key = key.substr(0, key.size() - 4);
  } else if (type == MutationType::kSetVersionstampedValue) {
    Status valid = ValidateVersionstampParam(operand);
    if (!valid.ok()) return valid;
    checked_value = operand.substr(0, operand.size() - 4);
  }
  Status key_status = CheckClear(checked_key);
  if (!key_status.ok()) return key_status;
  if (checked_value.size() > kMaxValueSize) {
    return MakeError(ErrorCode::kValueTooLarge,
                     "operand of " + std::to_string(operand.size()) + " bytes exceeds 100,000");
  }
  return absl::OkStatus();
}

std::optional<std::string> LocalValue(const LocalWrite& write,
                                      std::optional<std::string_view> base) {
  switch (write.kind) {
    case LocalWrite::Kind::kValue:
      return write.value;
    case LocalWrite::Kind::kCleared:
    case LocalWrite::Kind::kUnreadable:
      return std::nullopt;
    case LocalWrite::Kind::kPendingOps: {
      std::optional<std::string> value;
      if (base.has_value()) value.emplace(*base);
      for (const auto& [type, operand] : write.ops) {
        std::optional<std::string_view> current;
        if (value.has_value()) current = *value;
        value = ApplyAtomicOp(type, current, operand);
      }
      return value;
    }
  }
  return std::nullopt;
}

StatusOr<std::chrono::microseconds> RetryDelay(const Status& error,
                                               const TransactionOptions& options, int retries,
                                               std::chrono::steady_clock::time_point created,
                                               std::chrono::microseconds initial_delay) {
  if (!IsRetryable(error)) return error;
  if (options.retry_limit >= 0 && retries >= options.retry_limit) return error;
  std::chrono::microseconds delay = std::min<std::chrono::microseconds>(
      initial_delay * (int64_t{1} << std::min(retries, 20)), options.max_retry_delay);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  int64_t half = delay.count() / 2;
  std::chrono::microseconds jittered(half + static_cast<int64_t>(rng() % (half + 1)));
  if (options.timeout.count() > 0 &&
      std::chrono::steady_clock::now() + jittered - created > options.timeout) {
    return MakeError(
        ErrorCode::kTransactionTimedOut,
        "timeout of " + std::to_string(options.timeout.count()) + " ms elapsed while retrying");
  }
  return jittered;
}

Status UnreadableError() {
  return MakeError(ErrorCode::kAccessedUnreadable,
                   "the key was set with a versionstamped value in this transaction and is "
                   "unknown until commit");
}

StatusOr<ByteRange> ResolveRange(const RangeEndpoint& begin, const RangeEndpoint& end,
                                 const RangeOptions& options) {
  ByteRange range{begin.inclusive ? begin.key : KeyAfter(begin.key),
                  end.inclusive ? KeyAfter(end.key) : end.key};
  if (!IsLegalRangeEnd(range.begin) || !IsLegalRangeEnd(range.end)) {
    return MakeError(ErrorCode::kKeyOutsideLegalRange, "range reaches past \\xff");
  }
  if (options.limit < 0 || options.target_bytes < 0) {
    return MakeError(ErrorCode::kInvalidArgument, "limit and target_bytes must not be negative");
  }
  return range;
}

ByteRange ObservedRange(ByteRange range, const RangeResult& result, bool reverse) {
  // A read cut short depends only on the keys up to its last row.
  if (!result.more) return range;
  if (!reverse) return {std::move(range.begin), KeyAfter(result.rows.back().key)};
  return {result.rows.back().key, std::move(range.end)};
}

RangeCollector::RangeCollector(const RangeOptions& options) : options_(options) {
  if (options.limit > 0) result_.rows.reserve(std::min(options.limit, 4096));
}

bool RangeCollector::Add(std::string_view key, std::string_view value) {
  if (full_) {
    result_.more = true;
    return false;
  }
  result_.rows.push_back({std::string(key), std::string(value)});  // the caller owns rows
  bytes_ += static_cast<int64_t>(key.size() + value.size());
  if ((options_.limit > 0 && static_cast<int>(result_.rows.size()) >= options_.limit) ||
      (options_.target_bytes > 0 && bytes_ >= options_.target_bytes)) {
    full_ = true;
  }
  return true;
}

}  // namespace recordstore::kv
