// Cursor combinators. Each keeps the RecordCursor contract: it stops only between items, and
// the continuation of each result, handed to the same combinator built the same way (in a new
// transaction), yields exactly the items the uninterrupted run would have yielded next.
//
// Continuations:
//   Map, Filter   transparent: the input's continuation (a filtered-out item is passed when
//                 the run stops after it, so filtering never rescans).
//   Limit, Skip   the input's continuation plus the count still to return / to skip, so a
//                 resumed cursor finishes the same logical stream (the count is not reset).
//                 Once a limit has returned all its items its stop continuation is the end.
//   Union, Intersection  one position per input: after the last item consumed from it.
//   Concat        the index of the current input and its position.
//   FlatMap       the outer position before the current outer item, and the inner position.
//
// Stops: an out-of-band stop (scan limits) of any input stops the combinator with the same
// reason. Map, Filter, Limit and Skip pass an input's RETURN_LIMIT_REACHED through; the
// multi-input combinators (Union, Intersection, Concat, FlatMap) treat either in-band stop of an
// input as the end of that input.
//
// Inputs are given as CursorFactory functions (or, for Map and Filter, as a cursor) so that a
// combinator can reopen each input at its own position. Ownership: a combinator owns its
// inputs; factories and functions are copied.
#ifndef RECORDSTORE_CURSOR_COMBINATORS_H_
#define RECORDSTORE_CURSOR_COMBINATORS_H_

#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/status_macros.h"
#include "cursor/cursor.h"

namespace recordstore::cursor {

namespace internal {

// Remembers the first result without an item, so that later calls return it again.
template <typename T>
class StopLatch {
 public:
  bool stopped() const { return stop_.has_value(); }
  CursorResult<T> Replay() const {
    return CursorResult<T>::WithoutValue(stop_->first, stop_->second);
  }
  CursorResult<T> Stop(NoNextReason reason, Continuation continuation) {
    stop_.emplace(reason, std::move(continuation));
    return Replay();
  }

 private:
  std::optional<std::pair<NoNextReason, Continuation>> stop_;
};

// An input of a multi-input combinator: the cursor, its buffered next item, and the position
// after the last item the combinator consumed from it.
template <typename T>
struct Input {
  CursorPtr<T> cursor;
  std::optional<T> head;
  Continuation head_continuation;
  Continuation consumed;
  bool done = false;

  // Buffers the next item unless one is buffered or the input is done. Returns the
  // out-of-band stop of the input, if it hit one (consumed then holds where it stopped).
  StatusOr<std::optional<NoNextReason>> Fill() {
    if (done || head.has_value()) return std::optional<NoNextReason>();
    ASSIGN_OR_RETURN(CursorResult<T> result, cursor->Next());
    if (result.has_value()) {
      head.emplace(result.TakeValue());
      head_continuation = std::move(result).continuation();
      return std::optional<NoNextReason>();
    }
    if (!IsOutOfBand(result.no_next_reason())) {
      done = true;
      consumed = Continuation::End();
      return std::optional<NoNextReason>();
    }
    NoNextReason reason = result.no_next_reason();
    consumed = std::move(result).continuation();
    return std::optional<NoNextReason>(reason);
  }
  // Consumes the buffered item.
  T Take() {
    consumed = std::move(head_continuation);
    T value = std::move(*head);
    head.reset();
    return value;
  }
};

template <typename T>
StatusOr<std::vector<Input<T>>> OpenInputs(const std::vector<CursorFactory<T>>& factories,
                                           const Continuation& continuation) {
  std::vector<Input<T>> inputs(factories.size());
  for (size_t i = 0; i < factories.size(); ++i) {
    Continuation position = continuation.is_start() ? Continuation::Start()
                            : continuation.is_end() ? Continuation::End()
                                                    : continuation.children()[i];
    ASSIGN_OR_RETURN(inputs[i].cursor, factories[i](position));
    inputs[i].consumed = position;
    inputs[i].done = position.is_end();
  }
  return inputs;
}

template <typename T>
std::vector<Continuation> ConsumedPositions(const std::vector<Input<T>>& inputs) {
  std::vector<Continuation> positions;
  positions.reserve(inputs.size());
  for (const Input<T>& input : inputs) positions.push_back(input.consumed);
  return positions;
}

}  // namespace internal

// Items of `input` transformed by `fn`.
template <typename T, typename U>
class MapCursor : public RecordCursor<U> {
 public:
  MapCursor(CursorPtr<T> input, std::function<U(T)> fn)
      : input_(std::move(input)), fn_(std::move(fn)) {}

  StatusOr<CursorResult<U>> Next() override {
    ASSIGN_OR_RETURN(CursorResult<T> result, input_->Next());
    if (!result.has_value()) {
      NoNextReason reason = result.no_next_reason();
      return CursorResult<U>::WithoutValue(reason, std::move(result).continuation());
    }
    U value = fn_(result.TakeValue());
    return CursorResult<U>::WithValue(std::move(value), std::move(result).TakeContinuation());
  }

 private:
  CursorPtr<T> input_;
  std::function<U(T)> fn_;
};

template <typename T, typename Fn, typename U = std::invoke_result_t<Fn, T>>
CursorPtr<U> Map(CursorPtr<T> input, Fn fn) {
  return std::make_unique<MapCursor<T, U>>(std::move(input), std::function<U(T)>(std::move(fn)));
}

// Items of `input` for which `keep` is true.
template <typename T>
class FilterCursor : public RecordCursor<T> {
 public:
  FilterCursor(CursorPtr<T> input, std::function<bool(const T&)> keep)
      : input_(std::move(input)), keep_(std::move(keep)) {}

  StatusOr<CursorResult<T>> Next() override {
    while (true) {
      ASSIGN_OR_RETURN(CursorResult<T> result, input_->Next());
      if (!result.has_value() || keep_(result.value())) return result;
    }
  }

 private:
  CursorPtr<T> input_;
  std::function<bool(const T&)> keep_;
};

template <typename T>
CursorPtr<T> Filter(CursorPtr<T> input, std::function<bool(const T&)> keep) {
  return std::make_unique<FilterCursor<T>>(std::move(input), std::move(keep));
}

// The first `limit` items of the input, then RETURN_LIMIT_REACHED.
template <typename T>
class LimitCursor : public RecordCursor<T> {
 public:
  static StatusOr<CursorPtr<T>> Create(const CursorFactory<T>& input, uint64_t limit,
                                       const Continuation& continuation) {
    RETURN_IF_ERROR(continuation.ExpectKind(CursorKind::kLimit, 1));
    bool resumed = !continuation.is_start() && !continuation.is_end();
    uint64_t remaining = resumed ? continuation.number() : limit;
    if (remaining > limit) {
      return MakeError(ErrorCode::kInvalidContinuation,
                       "the limit continuation has more items left than the limit");
    }
    Continuation position = resumed ? continuation.children()[0] : continuation;
    ASSIGN_OR_RETURN(CursorPtr<T> cursor, input(position));
    return CursorPtr<T>(new LimitCursor(std::move(cursor), remaining, std::move(position)));
  }

  StatusOr<CursorResult<T>> Next() override {
    if (stop_.stopped()) return stop_.Replay();
    if (remaining_ == 0) {
      // The limit counts over the whole run: nothing can ever follow, so the continuation is
      // the end (a client resuming "until the end" stops here).
      return stop_.Stop(NoNextReason::kReturnLimitReached, Continuation::End());
    }
    ASSIGN_OR_RETURN(CursorResult<T> result, input_->Next());
    if (!result.has_value()) {
      if (result.no_next_reason() == NoNextReason::kSourceExhausted) {
        return stop_.Stop(NoNextReason::kSourceExhausted, Continuation::End());
      }
      return stop_.Stop(result.no_next_reason(), Wrap(result.continuation()));
    }
    --remaining_;
    T value = result.TakeValue();
    position_ = std::move(result).continuation();
    return CursorResult<T>::WithValue(std::move(value), Wrap(position_));
  }

 private:
  LimitCursor(CursorPtr<T> input, uint64_t remaining, Continuation position)
      : input_(std::move(input)), remaining_(remaining), position_(std::move(position)) {}
  Continuation Wrap(const Continuation& position) const {
    return Continuation::At(CursorKind::kLimit, "", remaining_, 0, {position});
  }

  CursorPtr<T> input_;
  uint64_t remaining_;
  Continuation position_;
  internal::StopLatch<T> stop_;
};

// The input's items after the first `skip`.
template <typename T>
class SkipCursor : public RecordCursor<T> {
 public:
  static StatusOr<CursorPtr<T>> Create(const CursorFactory<T>& input, uint64_t skip,
                                       const Continuation& continuation) {
    RETURN_IF_ERROR(continuation.ExpectKind(CursorKind::kSkip, 1));
    bool resumed = !continuation.is_start() && !continuation.is_end();
    uint64_t to_skip = resumed ? continuation.number() : skip;
    if (to_skip > skip) {
      return MakeError(ErrorCode::kInvalidContinuation,
                       "the skip continuation has more items to skip than the cursor skips");
    }
    Continuation position = resumed ? continuation.children()[0] : continuation;
    ASSIGN_OR_RETURN(CursorPtr<T> cursor, input(position));
    return CursorPtr<T>(new SkipCursor(std::move(cursor), to_skip));
  }

  StatusOr<CursorResult<T>> Next() override {
    if (stop_.stopped()) return stop_.Replay();
    while (true) {
      ASSIGN_OR_RETURN(CursorResult<T> result, input_->Next());
      if (!result.has_value()) {
        if (result.no_next_reason() == NoNextReason::kSourceExhausted) {
          return stop_.Stop(NoNextReason::kSourceExhausted, Continuation::End());
        }
        return stop_.Stop(result.no_next_reason(), Wrap(result.continuation()));
      }
      if (to_skip_ == 0) {
        T value = result.TakeValue();
        return CursorResult<T>::WithValue(std::move(value), Wrap(std::move(result).continuation()));
      }
      --to_skip_;
    }
  }

 private:
  SkipCursor(CursorPtr<T> input, uint64_t to_skip) : input_(std::move(input)), to_skip_(to_skip) {}
  Continuation Wrap(const Continuation& position) const {
    return Continuation::At(CursorKind::kSkip, "", to_skip_, 0, {position});
  }

  CursorPtr<T> input_;
  uint64_t to_skip_;
  internal::StopLatch<T> stop_;
};

// Orders two items of sorted inputs: less, equivalent (the same item) or greater.
template <typename T>
using ItemOrder = std::function<std::weak_ordering(const T&, const T&)>;

// The ordered union of inputs sorted by `order`: items equivalent under `order` in several
// inputs are returned once (the first such input's item).
// REQUIRES: every input yields items in strictly increasing `order`.
template <typename T>
class UnionCursor : public RecordCursor<T> {
 public:
  static StatusOr<CursorPtr<T>> Create(std::vector<CursorFactory<T>> inputs, ItemOrder<T> order,
                                       const Continuation& continuation) {
    RETURN_IF_ERROR(continuation.ExpectKind(CursorKind::kUnion, inputs.size()));
    ASSIGN_OR_RETURN(auto opened, internal::OpenInputs(inputs, continuation));
    return CursorPtr<T>(new UnionCursor(std::move(opened), std::move(order)));
  }

  StatusOr<CursorResult<T>> Next() override {
    if (stop_.stopped()) return stop_.Replay();
    for (internal::Input<T>& input : inputs_) {
      ASSIGN_OR_RETURN(std::optional<NoNextReason> stop, input.Fill());
      if (stop.has_value()) return stop_.Stop(*stop, Position());
    }
    internal::Input<T>* least = nullptr;
    for (internal::Input<T>& input : inputs_) {
      if (input.head.has_value() &&
          (least == nullptr || std::is_lt(order_(*input.head, *least->head)))) {
        least = &input;
      }
    }
    if (least == nullptr) return stop_.Stop(NoNextReason::kSourceExhausted, Continuation::End());
    T value = least->Take();
    for (internal::Input<T>& input : inputs_) {
      if (input.head.has_value() && std::is_eq(order_(*input.head, value))) input.Take();
    }
    return CursorResult<T>::WithValue(std::move(value), Position());
  }

 private:
  UnionCursor(std::vector<internal::Input<T>> inputs, ItemOrder<T> order)
      : inputs_(std::move(inputs)), order_(std::move(order)) {}
  Continuation Position() const {
    return Continuation::At(CursorKind::kUnion, "", 0, 0, internal::ConsumedPositions(inputs_));
  }

  std::vector<internal::Input<T>> inputs_;
  ItemOrder<T> order_;
  internal::StopLatch<T> stop_;
};

// The items present in every input (each once, the first input's copy).
// REQUIRES: every input yields items in strictly increasing `order`.
template <typename T>
class IntersectionCursor : public RecordCursor<T> {
 public:
  static StatusOr<CursorPtr<T>> Create(std::vector<CursorFactory<T>> inputs, ItemOrder<T> order,
                                       const Continuation& continuation) {
    RETURN_IF_ERROR(continuation.ExpectKind(CursorKind::kIntersection, inputs.size()));
    ASSIGN_OR_RETURN(auto opened, internal::OpenInputs(inputs, continuation));
    return CursorPtr<T>(new IntersectionCursor(std::move(opened), std::move(order)));
  }

  StatusOr<CursorResult<T>> Next() override {
    if (stop_.stopped()) return stop_.Replay();
    while (true) {
      for (internal::Input<T>& input : inputs_) {
        ASSIGN_OR_RETURN(std::optional<NoNextReason> stop, input.Fill());
        if (stop.has_value()) return stop_.Stop(*stop, Position());
        if (input.done) return stop_.Stop(NoNextReason::kSourceExhausted, Continuation::End());
      }
      internal::Input<T>* greatest = &inputs_[0];
      for (internal::Input<T>& input : inputs_) {
        if (std::is_gt(order_(*input.head, *greatest->head))) greatest = &input;
      }
      bool all_equal = true;
      for (internal::Input<T>& input : inputs_) {
        if (std::is_lt(order_(*input.head, *greatest->head))) {
          input.Take();  // Cannot be in every input: another input is already past it.
          all_equal = false;
        }
      }
      if (all_equal) {
        T value = inputs_[0].Take();
        for (size_t i = 1; i < inputs_.size(); ++i) inputs_[i].Take();
        return CursorResult<T>::WithValue(std::move(value), Position());
      }
    }
  }

 private:
  IntersectionCursor(std::vector<internal::Input<T>> inputs, ItemOrder<T> order)
      : inputs_(std::move(inputs)), order_(std::move(order)) {}
  Continuation Position() const {
    return Continuation::At(CursorKind::kIntersection, "", 0, 0,
                            internal::ConsumedPositions(inputs_));
  }

  std::vector<internal::Input<T>> inputs_;
  ItemOrder<T> order_;
  internal::StopLatch<T> stop_;
};

// The items of each input in turn.
template <typename T>
class ConcatCursor : public RecordCursor<T> {
 public:
  static StatusOr<CursorPtr<T>> Create(std::vector<CursorFactory<T>> inputs,
                                       const Continuation& continuation) {
    RETURN_IF_ERROR(continuation.ExpectKind(CursorKind::kConcat, 1));
    size_t index = 0;
    Continuation position = continuation;
    if (continuation.is_end()) {
      index = inputs.size();
    } else if (!continuation.is_start()) {
      if (continuation.number() >= inputs.size()) {
        return MakeError(ErrorCode::kInvalidContinuation,
                         "the concat continuation names an input the cursor does not have");
      }
      index = static_cast<size_t>(continuation.number());
      position = continuation.children()[0];
    }
    std::unique_ptr<ConcatCursor> cursor(new ConcatCursor(std::move(inputs), index));
    if (index < cursor->inputs_.size()) {
      ASSIGN_OR_RETURN(cursor->current_, cursor->inputs_[index](position));
    }
    return CursorPtr<T>(std::move(cursor));
  }

  StatusOr<CursorResult<T>> Next() override {
    if (stop_.stopped()) return stop_.Replay();
    while (index_ < inputs_.size()) {
      ASSIGN_OR_RETURN(CursorResult<T> result, current_->Next());
      if (result.has_value()) {
        T value = result.TakeValue();
        return CursorResult<T>::WithValue(std::move(value), Wrap(std::move(result).continuation()));
      }
      if (IsOutOfBand(result.no_next_reason())) {
        NoNextReason reason = result.no_next_reason();
        return stop_.Stop(reason, Wrap(std::move(result).continuation()));
      }
      if (++index_ < inputs_.size()) {
        ASSIGN_OR_RETURN(current_, inputs_[index_](Continuation::Start()));
      }
    }
    return stop_.Stop(NoNextReason::kSourceExhausted, Continuation::End());
  }

 private:
  ConcatCursor(std::vector<CursorFactory<T>> inputs, size_t index)
      : inputs_(std::move(inputs)), index_(index) {}
  Continuation Wrap(Continuation position) const {
    return Continuation::At(CursorKind::kConcat, "", index_, 0, {std::move(position)});
  }

  std::vector<CursorFactory<T>> inputs_;
  size_t index_;
  CursorPtr<T> current_;
  internal::StopLatch<T> stop_;
};

// For each item of the outer cursor, the items of the inner cursor it opens.
//
// The continuation holds the outer position *before* the current outer item and the inner
// position, so resuming re-reads that outer item and reopens its inner cursor where it was.
// REQUIRES: the outer input yields the same item again when resumed from the same position
// (true of KeyValueCursor as long as the data did not change between transactions).
template <typename T, typename U>
class FlatMapCursor : public RecordCursor<U> {
 public:
  using InnerFactory = std::function<StatusOr<CursorPtr<U>>(const T&, const Continuation&)>;

  static StatusOr<CursorPtr<U>> Create(const CursorFactory<T>& outer, InnerFactory inner,
                                       const Continuation& continuation) {
    RETURN_IF_ERROR(continuation.ExpectKind(CursorKind::kFlatMap, 2));
    bool resumed = !continuation.is_start() && !continuation.is_end();
    Continuation outer_before = resumed ? continuation.children()[0] : continuation;
    Continuation inner_position = resumed ? continuation.children()[1] : Continuation::Start();
    ASSIGN_OR_RETURN(CursorPtr<T> outer_cursor, outer(outer_before));
    return CursorPtr<U>(new FlatMapCursor(std::move(outer_cursor), std::move(inner),
                                          std::move(outer_before), std::move(inner_position)));
  }

  StatusOr<CursorResult<U>> Next() override {
    if (stop_.stopped()) return stop_.Replay();
    while (true) {
      if (inner_cursor_ == nullptr) {
        ASSIGN_OR_RETURN(CursorResult<T> outer, outer_->Next());
        if (!outer.has_value()) {
          if (!IsOutOfBand(outer.no_next_reason())) {
            return stop_.Stop(NoNextReason::kSourceExhausted, Continuation::End());
          }
          // inner_start_ is the resumed inner position when the outer stopped before giving
          // back the item it belongs to, the start otherwise.
          return stop_.Stop(outer.no_next_reason(), Wrap(outer.continuation(), inner_start_));
        }
        ASSIGN_OR_RETURN(inner_cursor_, inner_(outer.value(), inner_start_));
        outer_after_ = std::move(outer).continuation();
        inner_start_ = Continuation::Start();
      }
      ASSIGN_OR_RETURN(CursorResult<U> result, inner_cursor_->Next());
      if (result.has_value()) {
        U value = result.TakeValue();
        return CursorResult<U>::WithValue(std::move(value),
                                          Wrap(outer_before_, std::move(result).continuation()));
      }
      if (IsOutOfBand(result.no_next_reason())) {
        return stop_.Stop(result.no_next_reason(), Wrap(outer_before_, result.continuation()));
      }
      inner_cursor_.reset();
      outer_before_ = std::move(outer_after_);
    }
  }

 private:
  FlatMapCursor(CursorPtr<T> outer, InnerFactory inner, Continuation outer_before,
                Continuation inner_start)
      : outer_(std::move(outer)),
        inner_(std::move(inner)),
        outer_before_(std::move(outer_before)),
        inner_start_(std::move(inner_start)) {}
  static Continuation Wrap(const Continuation& outer, const Continuation& inner) {
    return Continuation::At(CursorKind::kFlatMap, "", 0, 0, {outer, inner});
  }

  CursorPtr<T> outer_;
  InnerFactory inner_;
  // Resumes the outer cursor at the current outer item (before it).
  Continuation outer_before_;
  // Resumes the outer cursor after the current outer item.
  Continuation outer_after_;
  // Where the next inner cursor starts: the resumed inner position, then the start.
  Continuation inner_start_;
  CursorPtr<U> inner_cursor_;
  internal::StopLatch<U> stop_;
};

}  // namespace recordstore::cursor

#endif  // RECORDSTORE_CURSOR_COMBINATORS_H_
