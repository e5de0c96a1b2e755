// ScanLimiter: the out-of-band budget of one operation (records scanned, bytes scanned, time
// elapsed), shared by every cursor that operation runs, so that a union of three scans stops
// when the three together reach the budget.
//
// Leaf cursors (KeyValueCursor) ask ReasonToStop() before reading each record and call
// RecordScan() after; a cursor therefore only ever stops between items, and its continuation
// is the last item it returned.
//
// Progress: each leaf cursor may scan its first record even when the operation's budget is
// already used up (the Record Layer's "free initial pass", given per leaf cursor instead of per
// operation so that combinators make progress too). An input is therefore only stopped by a
// limit after it returned an item in this operation, and every combinator has then either
// returned an item or moved its continuation past something (a filtered-out record, an
// intersection candidate, a finished inner cursor). So each operation moves the continuation
// forward, and a client that resumes in a loop always finishes. The price: an operation may
// scan one record more than max_records for each leaf cursor it opens after the budget ran out.

// Limits are checked in this order: time, records, bytes. Records are exact apart from the
// free passes above; bytes are checked before reading, so the last
// record read may carry the total past max_bytes (as in the Record Layer).
//
// Thread-safety: not thread-safe; one operation runs on one thread. The limiter must outlive
// the cursors that use it.
#ifndef RECORDSTORE_CURSOR_SCAN_LIMITER_H_
#define RECORDSTORE_CURSOR_SCAN_LIMITER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "cursor/cursor.h"

namespace recordstore::cursor {

struct ScanLimits {
  // Records (key-value pairs) the operation may scan; 0 means no limit.
  int64_t max_records = 0;
  // Key + value bytes the operation may scan; 0 means no limit.
  int64_t max_bytes = 0;
  // Time the operation may run, counted from the limiter's creation; 0 means no limit.
  std::chrono::nanoseconds max_time{0};
};

class ScanLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `clock` defaults to std::chrono::steady_clock::now; tests pass a fake one.
  explicit ScanLimiter(ScanLimits limits = {}, Clock clock = nullptr);

  // Why the next record must not be scanned, or nullopt when it may be. Does not count it.
  // A leaf cursor does not ask before its first record (see Progress above).
  std::optional<NoNextReason> ReasonToStop() const;
  // Counts one scanned record of `bytes` key + value bytes.
  void RecordScan(int64_t bytes) {
    ++records_scanned_;
    bytes_scanned_ += bytes;
  }
  // How many more records may be scanned before the record limit stops the operation;
  // nullopt without a record limit. Cursors size their reads with it.
  std::optional<int64_t> RecordsRemaining() const;

  int64_t records_scanned() const { return records_scanned_; }
  int64_t bytes_scanned() const { return bytes_scanned_; }
  const ScanLimits& limits() const { return limits_; }

 private:
  ScanLimits limits_;
  Clock clock_;
  std::chrono::steady_clock::time_point start_;
  int64_t records_scanned_ = 0;
  int64_t bytes_scanned_ = 0;
};

}  // namespace recordstore::cursor

#endif  // RECORDSTORE_CURSOR_SCAN_LIMITER_H_
