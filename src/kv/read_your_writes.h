// What every backend's Transaction shares: FDB's mutation checks and read-your-writes reads,
// i.e. merging a backend's committed rows with the transaction's own WriteSet. A backend
// supplies only how to read committed rows at its read version.
#ifndef RECORDSTORE_KV_READ_YOUR_WRITES_H_
#define RECORDSTORE_KV_READ_YOUR_WRITES_H_

#include <chrono>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "kv/engine/write_set.h"
#include "recordstore/kv.h"

namespace recordstore::kv {

// Keys at or above "\xff" are FDB's system key space, closed to users (2004).
bool IsSystemKey(std::string_view key);
// Range reads and clears may end at "\xff" exactly (the end of the user key space).
bool IsLegalRangeEnd(std::string_view key);

// The error a mutation earns (reported by Commit, as FDB's C API does), or OK.
Status CheckSet(std::string_view key, std::string_view value);
Status CheckClear(std::string_view key);
Status CheckClearRange(std::string_view begin, std::string_view end);
Status CheckAtomicOp(MutationType type, std::string_view key, std::string_view operand);

// The value a local write shows over the committed value `base` (nullopt: absent).
// REQUIRES: write.kind is not kUnreadable.
std::optional<std::string> LocalValue(const LocalWrite& write,
                                      std::optional<std::string_view> base);

// How long Transaction::OnError waits before a retry: `initial_delay` doubled per earlier
// retry, capped at options.max_retry_delay, with jitter in [delay/2, delay] so transactions
// that conflicted together do not retry together. Returns `error` itself when it is not
// retryable or the retry limit is reached, and transaction_timed_out (1031) when the wait
// would pass the timeout counted from `created`.
StatusOr<std::chrono::microseconds> RetryDelay(const Status& error,
                                               const TransactionOptions& options, int retries,
                                               std::chrono::steady_clock::time_point created,
                                               std::chrono::microseconds initial_delay);

// accessed_unreadable (1036): a key set with a versionstamped value in this transaction.
Status UnreadableError();

// A range read's endpoints resolved to the byte range [begin, end), with its options checked.
struct ByteRange {
  std::string begin;
  std::string end;
};
// Errors: key_outside_legal_range (2004), invalid_argument for a negative limit or target.
StatusOr<ByteRange> ResolveRange(const RangeEndpoint& begin, const RangeEndpoint& end,
                                 const RangeOptions& options);

// The read conflict range of a non-snapshot range read over `range` that returned `result`:
// the whole range when it ran to completion, up to the last returned row otherwise.
ByteRange ObservedRange(ByteRange range, const RangeResult& result, bool reverse);

// Collects rows of a range read and decides when to stop.
class RangeCollector {
 public:
  explicit RangeCollector(const RangeOptions& options);
  // Adds a row; returns false once the result is complete and one more row proved `more`.
  bool Add(std::string_view key, std::string_view value);
  RangeResult& result() { return result_; }

 private:
  const RangeOptions& options_;
  RangeResult result_;
  int64_t bytes_ = 0;
  bool full_ = false;
};

// Merges committed rows with the transaction's writes over [begin, end) in the direction of
// options.reverse. A local write at a key replaces the committed row there (pending atomic
// ops use it as their base); committed rows inside ranges the transaction cleared are skipped.
//
// StoredRows yields the committed rows of [begin, end) in the read's direction:
//   bool Valid() const; std::string_view key() const; std::string_view value() const;
//   void Next();                    // the next row in the read's direction
//   void SkipTo(std::string_view);  // forward: first row >= key; reverse: last row < key
//   Status status() const;          // an error that ended the rows early
template <typename StoredRows>
StatusOr<RangeResult> MergeRange(StoredRows& stored, const WriteSet& writes, const ByteRange& range,
                                 const RangeOptions& options) {
  RangeCollector collector(options);
  const WriteSet::WriteMap& local = writes.writes();
  const bool checks_cleared = writes.has_cleared_ranges();
  // Walks the local writes between `w` and `w_end` in the read's direction alongside `stored`.
  auto merge = [&](auto w, auto w_end) -> Status {
    while (true) {
      if (stored.Valid() && checks_cleared && writes.IsCleared(stored.key())) {
        stored.SkipTo(options.reverse ? writes.ClearedRangeBegin(stored.key())
                                      : writes.ClearedRangeEnd(stored.key()));
        continue;
      }
      bool has_stored = stored.Valid();
      bool has_written = w != w_end;
      if (!has_stored && !has_written) return absl::OkStatus();
      // < 0: the committed row comes first in the read's direction.
      int cmp = !has_stored ? 1 : !has_written ? -1 : stored.key().compare(w->first);
      if (options.reverse && has_stored && has_written) cmp = -cmp;
      if (cmp < 0) {
        if (!collector.Add(stored.key(), stored.value())) return absl::OkStatus();
        stored.Next();
        continue;
      }
      if (w->second.kind == LocalWrite::Kind::kUnreadable) return UnreadableError();
      std::optional<std::string_view> base;
      if (cmp == 0) base = stored.value();
      std::optional<std::string> value = LocalValue(w->second, base);
      if (value.has_value() && !collector.Add(w->first, *value)) return absl::OkStatus();
      if (cmp == 0) stored.Next();
      ++w;
    }
  };
  Status merged = options.reverse
                      ? merge(std::make_reverse_iterator(local.lower_bound(range.end)),
                              std::make_reverse_iterator(local.lower_bound(range.begin)))
                      : merge(local.lower_bound(range.begin), local.lower_bound(range.end));
  if (!merged.ok()) return merged;
  if (Status status = stored.status(); !status.ok()) return status;
  return std::move(collector.result());
}

}  // namespace recordstore::kv

#endif  // RECORDSTORE_KV_READ_YOUR_WRITES_H_
