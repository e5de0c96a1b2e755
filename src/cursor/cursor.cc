#include "cursor/cursor.h"

namespace recordstore::cursor {

std::string_view NoNextReasonName(NoNextReason reason) {
  switch (reason) {
    case NoNextReason::kSourceExhausted:
      return "SOURCE_EXHAUSTED";
    case NoNextReason::kReturnLimitReached:
      return "RETURN_LIMIT_REACHED";
    case NoNextReason::kTimeLimitReached:
      return "TIME_LIMIT_REACHED";
    case NoNextReason::kScanLimitReached:
      return "SCAN_LIMIT_REACHED";
    case NoNextReason::kByteLimitReached:
      return "BYTE_LIMIT_REACHED";
  }
  return "UNKNOWN";
}

}  // namespace recordstore::cursor
