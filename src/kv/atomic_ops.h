// FoundationDB's atomic mutation semantics as pure functions, shared by every backend.
#ifndef RECORDSTORE_KV_ATOMIC_OPS_H_
#define RECORDSTORE_KV_ATOMIC_OPS_H_

#include <optional>
#include <string>
#include <string_view>

#include "recordstore/kv.h"

namespace recordstore::kv {

// Key, value and transaction size limits (FDB's).
inline constexpr size_t kMaxKeySize = 10'000;
inline constexpr size_t kMaxValueSize = 100'000;
inline constexpr int64_t kMaxTransactionSize = 10'000'000;
inline constexpr size_t kVersionstampSize = 10;
// User keys must sort below this byte (FDB's system key space).
inline constexpr unsigned char kSystemKeyPrefix = 0xff;

// The value after applying `type` with `operand` to `existing` (nullopt = absent). Returns
// nullopt when the result is "no value" (COMPARE_AND_CLEAR matched, or it stays absent).
// REQUIRES: type is neither kSetVersionstampedKey nor kSetVersionstampedValue.
std::optional<std::string> ApplyAtomicOp(MutationType type,
                                         const std::optional<std::string_view>& existing,
                                         std::string_view operand);

// For SET_VERSIONSTAMPED_KEY/VALUE: `param` ends with a 4-byte little-endian offset. Returns
// param without those 4 bytes, with `stamp` (10 bytes) written at the offset. Errors:
// client_invalid_operation (2000) when param is too short or the offset does not leave room.
StatusOr<std::string> SpliceVersionstamp(std::string_view param, std::string_view stamp);

// Validates a versionstamped parameter without splicing it (same errors as above).
Status ValidateVersionstampParam(std::string_view param);

// The 10-byte versionstamp for (commit version, order in batch).
std::string MakeVersionstamp(Version version, uint16_t batch_order);

// The smallest key greater than `key` and every key with `key` as a prefix' own extension:
// key + "\0" (the successor in key order).
inline std::string KeyAfter(std::string_view key) {
  std::string next(key);
  next.push_back('\0');
  return next;
}

}  // namespace recordstore::kv

#endif  // RECORDSTORE_KV_ATOMIC_OPS_H_
