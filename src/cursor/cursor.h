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

// A continuation built only when asked for: make(state, args[0], args[1]). A cursor whose
// position is fixed by bytes it already holds (KeyValueCursor: the row's key in its batch) gives
// this instead of a Continuation, so that a Continuation is built only for the results whose
// continuation is asked for, not for every item. `owner` keeps `state` alive and `make` may
// depend on nothing else: a result outlives the cursor that returned it, and a cursor that
// passes its input's continuation on (ResultContinuation) drops the input's item. A result
// holding one keeps `owner` alive (a KeyValueCursor's whole batch, also under index entries and
// fetched records): callers that keep many results keep their items, not the results.
struct DeferredContinuation {
  Continuation (*make)(const void* state, uint64_t arg0, uint64_t arg1) = nullptr;
  const void* state = nullptr;
  std::shared_ptr<const void> owner;
  std::array<uint64_t, 2> args = {0, 0};
};

// A result's continuation as its cursor gave it: built, or deferred until asked for. Results
// move through every cursor layer, so the unused form costs no more than a flag to move.
class ResultContinuation {
 public:
  // NOLINTBEGIN(google-explicit-constructor): either form is a result's continuation.
  ResultContinuation(Continuation built) : built_(std::move(built)) {}
  ResultContinuation(DeferredContinuation deferred) : deferred_(std::move(deferred)) {}
  // NOLINTEND(google-explicit-constructor)

  Continuation Build() const& { return built_.has_value() ? *built_ : BuildDeferred(); }
  Continuation Build() && { return built_.has_value() ? std::move(*built_) : BuildDeferred(); }

 private:
  Continuation BuildDeferred() const {
    return deferred_.make(deferred_.state, deferred_.args[0], deferred_.args[1]);
  }

  // Exactly one is set: the continuation, or how to build it.
  std::optional<Continuation> built_;
  DeferredContinuation deferred_;
};

// One step of a cursor: an item and the continuation after it, or no item, the reason and the
// continuation to resume from. A result is a value: it stays valid, continuation included,
// however far its cursor has moved on and after the cursor is gone.
template <typename T>
class CursorResult {
 public:
  static CursorResult WithValue(T value, ResultContinuation continuation) {
    return CursorResult(std::move(value), std::move(continuation));
  }
  static CursorResult WithoutValue(NoNextReason reason, Continuation continuation) {
    return CursorResult(reason, std::move(continuation));
  }

  bool has_value() const { return value_.has_value(); }
  // REQUIRES: has_value().
  const T& value() const { return *value_; }
  // Moves the item out of the result (value() is then the moved-from item). The continuation
  // stays available. REQUIRES: has_value().
  T TakeValue() { return std::move(*value_); }
  // REQUIRES: !has_value().
  NoNextReason no_next_reason() const { return reason_; }
  // After an item: resumes right after it. Without an item: resumes where the cursor stopped
  // (Continuation::End() when the source is exhausted). Built on each call when the cursor
  // deferred it; callers that need it more than once keep the copy.
  Continuation continuation() const& { return continuation_.Build(); }
  // The same, moving a built continuation out instead of copying it; the result's
  // continuation is then unspecified.
  Continuation continuation() && { return std::move(continuation_).Build(); }
  // The continuation as the cursor gave it, built or deferred, for a cursor that returns it
  // unchanged with its own item (it stays deferred until someone asks for it); the result's
  // continuation is then unspecified.
  ResultContinuation TakeContinuation() && { return std::move(continuation_); }

 private:
  // By rvalue reference: results pass through every cursor layer, and each by-value step
  // would move the item once more and destroy the moved-from one.
  CursorResult(T&& value, ResultContinuation&& continuation)
      : value_(std::move(value)), continuation_(std::move(continuation)) {}
  CursorResult(NoNextReason reason, Continuation continuation)
      : reason_(reason), continuation_(std::move(continuation)) {}

  std::optional<T> value_;
  NoNextReason reason_ = NoNextReason::kSourceExhausted;
  ResultContinuation continuation_;
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
