#include "tuple/high_contention_allocator.h"

#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "common/status_macros.h"

namespace recordstore {
namespace {

constexpr int64_t kCounters = 0;
constexpr int64_t kRecent = 1;

std::string LittleEndian64(int64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<char>((static_cast<uint64_t>(value) >> (8 * i)) & 0xff);
  }
  return bytes;
}

StatusOr<int64_t> DecodeCount(const std::optional<std::string>& value) {
  if (!value.has_value()) return 0;
  if (value->size() != 8) {
    return MakeError(
        ErrorCode::kDataCorruption,
        "allocator counter is " + std::to_string(value->size()) + " bytes, expected 8");
  }
  uint64_t count = 0;
  for (int i = 7; i >= 0; --i) count = (count << 8) | static_cast<uint8_t>((*value)[i]);
  return static_cast<int64_t>(count);
}

// Candidates only need to be spread out, not unpredictable; one generator per thread avoids
// sharing state between allocating threads.
int64_t RandomInWindow(int64_t start, int64_t size) {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_int_distribution<int64_t>(start, start + size - 1)(generator);
}

}  // namespace

HighContentionAllocator::HighContentionAllocator(const Subspace& subspace)
    : counters_(subspace.Sub(Tuple::Of(kCounters))), recent_(subspace.Sub(Tuple::Of(kRecent))) {}

int64_t HighContentionAllocator::WindowSize(int64_t start) {
  if (start < 255) return 64;
  if (start < 65535) return 1024;
  return 8192;
}

StatusOr<int64_t> HighContentionAllocator::NewestWindowStart(kv::Transaction& txn) const {
  auto [begin, end] = counters_.Range();
  kv::RangeOptions options;
  options.limit = 1;
  options.reverse = true;
  options.snapshot = true;
  ASSIGN_OR_RETURN(kv::RangeResult newest, txn.GetRange(begin, end, options));
  if (newest.rows.empty()) return 0;
  ASSIGN_OR_RETURN(Tuple key, counters_.Unpack(newest.rows[0].key));
  std::optional<int64_t> start = key.size() == 1 ? key[0].AsInt64() : std::nullopt;
  if (!start.has_value()) {
    return MakeError(ErrorCode::kDataCorruption,
                     "allocator counter key " + key.ToString() + " is not (start)");
  }
  return *start;
}

StatusOr<int64_t> HighContentionAllocator::Allocate(kv::Transaction& txn) const {
  ASSIGN_OR_RETURN(int64_t start, NewestWindowStart(txn));
  int64_t window = WindowSize(start);
  bool window_advanced = false;
  while (true) {
    std::string counter_key = counters_.Pack(Tuple::Of(start));
    if (window_advanced) {
      txn.ClearRange(counters_.key(), counter_key);
      txn.ClearRange(recent_.key(), recent_.Pack(Tuple::Of(start)));
    }
    txn.AtomicOp(kv::MutationType::kAdd, counter_key, LittleEndian64(1));
    ASSIGN_OR_RETURN(std::optional<std::string> count_value,
                     txn.Get(counter_key, /*snapshot=*/true));
    ASSIGN_OR_RETURN(int64_t count, DecodeCount(count_value));
    if (count * 2 < window) break;
    start += window;
    window = WindowSize(start);
    window_advanced = true;
  }

  // FDB's bindings re-read the newest window here because several threads may share one
  // transaction there; a transaction here has one user, and its reads all see one version
  // plus its own writes, so the window cannot move under it.
  while (true) {
    int64_t candidate = RandomInWindow(start, window);
    std::string candidate_key = recent_.Pack(Tuple::Of(candidate));
    // Not a snapshot read: a concurrent transaction that commits the same candidate must
    // make this one conflict.
    ASSIGN_OR_RETURN(std::optional<std::string> taken, txn.Get(candidate_key));
    if (!taken.has_value()) {
      txn.Set(candidate_key, "");
      return candidate;
    }
  }
}

}  // namespace recordstore
