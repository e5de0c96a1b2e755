#include "cursor/scan_limiter.h"

#include <algorithm>
#include <utility>

namespace recordstore::cursor {

ScanLimiter::ScanLimiter(ScanLimits limits, Clock clock)
    : limits_(limits),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })),
      start_(clock_()) {}

std::optional<NoNextReason> ScanLimiter::ReasonToStop() const {
  if (limits_.max_time.count() > 0 && clock_() - start_ >= limits_.max_time) {
    return NoNextReason::kTimeLimitReached;
  }
  if (limits_.max_records > 0 && records_scanned_ >= limits_.max_records) {
    return NoNextReason::kScanLimitReached;
  }
  if (limits_.max_bytes > 0 && bytes_scanned_ >= limits_.max_bytes) {
    return NoNextReason::kByteLimitReached;
  }
  return std::nullopt;
}

std::optional<int64_t> ScanLimiter::RecordsRemaining() const {
  if (limits_.max_records <= 0) return std::nullopt;
  return std::max<int64_t>(0, limits_.max_records - records_scanned_);
}

}  // namespace recordstore::cursor
