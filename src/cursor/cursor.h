// RecordCursor<T>: the shape of every long operation in Record-Store. A cursor hands out items
// one at a time; every item comes with the continuation that resumes right after it, and the
// end of a run comes with the reason it stopped and the continuation to resume from.
//
// Stop reasons are in-band (the stream itself ended: SOURCE_EXHAUSTED, RETURN_LIMIT_REACHED)
// or out-of-band (the operation ran out of budget: TIME_LIMIT_REACHED, SCAN_LIMIT_REACHED,
// BYTE_LIMIT_REACHED, see scan_limiter.h). Limits are never errors; errors (I/O, conflicts,
// invalid continuations) are Status values.
//
// Thread-safety: a cursor is used by one thread at a time.
#ifndef RECORDSTORE_CURSOR_CURSOR_H_
#define RECORDSTORE_CURSOR_CURSOR_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "cursor/continuation.h"
#include "recordstore/status.h"

namespace recordstore::cursor {

enum class NoNextReason {
  // In-band: the source has no more items. The continuation is Continuation::End().
  kSourceExhausted,
  // In-band: the cursor returned as many items as it was asked to.
  kReturnLimitReached,
  // Out-of-band: the operation's time, record-scan or byte-scan budget is used up.
  kTimeLimitReached,
  kScanLimitReached,
  kByteLimitReached,
};

// "SOURCE_EXHAUSTED", "SCAN_LIMIT_REACHED", ...
std::string_view NoNextReasonName(NoNextReason reason);

inline bool IsOutOfBand(NoNextReason reason) {
  return reason == NoNextReason::kTimeLimitReached || reason == NoNextReason::kScanLimitReached ||
         reason == NoNextReason::kByteLimitReached;
}

// The continuation after an item as a function of the item: make(item, args[0], args[1]).
// A cursor whose position is fixed by its last item (KeyValueCursor: by the item's key) gives
// this instead of a Continuation, so that a Continuation is built only for the results whose
// continuation is asked for, not for every item. `make` may depend on nothing but its
// arguments: a result outlives the cursor that returned it.
template <typename T>
struct ContinuationOfItem {
  Continuation (*make)(const T& item, uint64_t arg0, uint64_t arg1);
  std::array<uint64_t, 2> args;
};

// One step of a cursor: an item and the continuation after it, or no item, the reason and the
// continuation to resume from. A result is a value: it stays valid, continuation included,
// however far its cursor has moved on and after the cursor is gone.
template <typename T>
class CursorResult {
 public:
  static CursorResult WithValue(T value, Continuation continuation) {
    return CursorResult(std::move(value), std::move(continuation));
  }
  static CursorResult WithValue(T value, ContinuationOfItem<T> continuation) {
    return CursorResult(std::move(value), continuation);
  }
  static CursorResult WithoutValue(NoNextReason reason, Continuation continuation) {
    return CursorResult(reason, std::move(continuation));
  }

  bool has_value() const { return value_.has_value(); }
  // REQUIRES: has_value().
  const T& value() const { return *value_; }
  // Moves the item out of the result (value() is then the moved-from item). The continuation
  // stays available: when the cursor gave it as a function of the item, it is built first.
  // REQUIRES: has_value().
  T TakeValue() {
    if (of_item_.make != nullptr) {
      continuation_.emplace(BuildOfItem());
      of_item_.make = nullptr;
    }
    return std::move(*value_);
  }
  // REQUIRES: !has_value().
  NoNextReason no_next_reason() const { return reason_; }
  // After an item: resumes right after it. Without an item: resumes where the cursor stopped
  // (Continuation::End() when the source is exhausted). Built on each call when the cursor gave
  // it as a function of the item; callers that need it more than once keep the copy.
  Continuation continuation() const& {
    return of_item_.make != nullptr ? BuildOfItem() : *continuation_;
  }
  // The same, moving a stored continuation out instead of copying it; the result's
  // continuation is then unspecified.
  Continuation continuation() && {
    return of_item_.make != nullptr ? BuildOfItem() : std::move(*continuation_);
  }

 private:
  CursorResult(T value, Continuation continuation)
      : value_(std::move(value)), continuation_(std::move(continuation)) {}
  CursorResult(T value, ContinuationOfItem<T> of_item)
      : value_(std::move(value)), of_item_(of_item) {}
  CursorResult(NoNextReason reason, Continuation continuation)
      : reason_(reason), continuation_(std::move(continuation)) {}
  Continuation BuildOfItem() const {
    return of_item_.make(*value_, of_item_.args[0], of_item_.args[1]);
  }

  std::optional<T> value_;
  NoNextReason reason_ = NoNextReason::kSourceExhausted;
  // Exactly one of the two is set: the continuation itself, or how to build it from value_.
  std::optional<Continuation> continuation_;
  ContinuationOfItem<T> of_item_ = {nullptr, {0, 0}};
};

template <typename T>
class RecordCursor {
 public:
  using ValueType = T;
  virtual ~RecordCursor() = default;
  // The next item, or why there is none. After a result without an item, further calls return
  // a result without an item again. Errors leave the cursor unusable.
  virtual StatusOr<CursorResult<T>> Next() = 0;
};

template <typename T>
using CursorPtr = std::unique_ptr<RecordCursor<T>>;

// Opens a cursor positioned at a continuation: how combinators (re)create their inputs. Fails
// with invalid_continuation when the continuation is not one the cursor wrote.
template <typename T>
using CursorFactory = std::function<StatusOr<CursorPtr<T>>(const Continuation&)>;

}  // namespace recordstore::cursor

#endif  // RECORDSTORE_CURSOR_CURSOR_H_
