// Combinators: each one run to every position, stopped, and resumed from the continuation's
// bytes in a new transaction must yield exactly the rest of the uninterrupted run; and under
// scan limits, an operation-by-operation run must yield the same items.
#include "cursor/combinators.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "cursor/cursor_test_util.h"
#include "cursor/key_value_cursor.h"

namespace recordstore::cursor {
namespace {

using testing_util::Drain;
using testing_util::Drained;
using testing_util::TestDatabase;

const Subspace kA(Tuple::Of("a"));
const Subspace kB(Tuple::Of("b"));
const Subspace kC(Tuple::Of("c"));
const Subspace kOuter(Tuple::Of("outer"));
const Subspace kInner(Tuple::Of("inner"));

const std::vector<int64_t> kAValues = {0, 2, 4, 6, 8, 10, 12};
const std::vector<int64_t> kBValues = {1, 2, 3, 6, 9, 12};
const std::vector<int64_t> kCValues = {0, 3, 6, 9, 12};

// Builds the cursor under test in `txn`, sharing `limiter` (may be null), at `continuation`.
using Builder = std::function<StatusOr<CursorPtr<int64_t>>(kv::Transaction&, ScanLimiter*,
                                                           const Continuation&)>;

// The last tuple element of a key in `space`, as an integer.
int64_t LastInt(const Subspace& space, const KeyValueRow& row) {
  StatusOr<Tuple> tuple = space.Unpack(row.key());
  EXPECT_TRUE(tuple.ok()) << tuple.status();
  return tuple.ok() ? (*tuple)[tuple->size() - 1].AsInt64().value_or(-1) : -1;
}

// A factory for the integers stored in `space`.
CursorFactory<int64_t> Ints(kv::Transaction& txn, ScanLimiter* limiter, const Subspace& space) {
  return [&txn, limiter, space](const Continuation& from) -> StatusOr<CursorPtr<int64_t>> {
    KeyValueCursorOptions options;
    options.limiter = limiter;
    options.batching = {1, 2};
    ASSIGN_OR_RETURN(std::unique_ptr<KeyValueCursor> cursor,
                     KeyValueCursor::Create(txn, space, KeyEndpoint::Open(), KeyEndpoint::Open(),
                                            from, options));
    return Map<KeyValueRow>(CursorPtr<KeyValueRow>(std::move(cursor)),
                            [space](const KeyValueRow& row) { return LastInt(space, row); });
  };
}

std::weak_ordering IntOrder(const int64_t& a, const int64_t& b) { return a <=> b; }

class CombinatorTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(database_.db()
                    .Run([](kv::Transaction& txn) {
                      for (int64_t v : kAValues) txn.Set(kA.Pack(Tuple::Of(v)), "");
                      for (int64_t v : kBValues) txn.Set(kB.Pack(Tuple::Of(v)), "");
                      for (int64_t v : kCValues) txn.Set(kC.Pack(Tuple::Of(v)), "");
                      // Outer items 1..4; inner items of k are 10k, 10k+1, ..., 10k+k-1, and
                      // outer item 3 has none.
                      for (int64_t k = 1; k <= 4; ++k) {
                        txn.Set(kOuter.Pack(Tuple::Of(k)), "");
                        if (k == 3) continue;
                        for (int64_t j = 0; j < k; ++j) {
                          txn.Set(kInner.Pack(Tuple::Of(k, 10 * k + j)), "");
                        }
                      }
                      return absl::OkStatus();
                    })
                    .ok());
  }

  StatusOr<Drained<int64_t>> RunFrom(const Builder& build, const Continuation& from,
                                     ScanLimiter* limiter = nullptr) {
    auto txn = database_.db().CreateTransaction();
    ASSIGN_OR_RETURN(CursorPtr<int64_t> cursor, build(*txn, limiter, from));
    return Drain<int64_t>(*cursor);
  }

  // The contract every combinator must keep: see the file comment.
  void CheckResumesEverywhere(const Builder& build, const std::vector<int64_t>& expected,
                              NoNextReason final_reason = NoNextReason::kSourceExhausted) {
    auto full = RunFrom(build, Continuation::Start());
    ASSERT_TRUE(full.ok()) << full.status();
    ASSERT_EQ(full->items, expected);
    ASSERT_EQ(full->reason, final_reason);
    for (size_t i = 0; i < full->continuations.size(); ++i) {
      SCOPED_TRACE("resumed after item " + std::to_string(i));
      auto from = Continuation::FromBytes(full->continuations[i].ToBytes());
      ASSERT_TRUE(from.ok()) << from.status();
      auto rest = RunFrom(build, *from);
      ASSERT_TRUE(rest.ok()) << rest.status();
      EXPECT_EQ(rest->items, std::vector<int64_t>(expected.begin() + i + 1, expected.end()));
      EXPECT_EQ(rest->reason, final_reason);
    }
    auto from_stop = Continuation::FromBytes(full->stop.ToBytes());
    ASSERT_TRUE(from_stop.ok());
    auto after = RunFrom(build, *from_stop);
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_TRUE(after->items.empty());
    // Resuming from the end finds the source exhausted.
    EXPECT_EQ(after->reason,
              full->stop.is_end() ? NoNextReason::kSourceExhausted : final_reason);

    // Operation by operation under record limits, each in a new transaction.
    for (int64_t max_records : {1, 2, 3, 5}) {
      SCOPED_TRACE("max_records " + std::to_string(max_records));
      std::vector<int64_t> seen;
      Continuation position;
      for (int operation = 0;; ++operation) {
        ASSERT_LT(operation, 100) << "no progress";
        ScanLimiter limiter({.max_records = max_records});
        auto part = RunFrom(build, position, &limiter);
        ASSERT_TRUE(part.ok()) << part.status();
        seen.insert(seen.end(), part->items.begin(), part->items.end());
        if (!IsOutOfBand(part->reason)) {
          EXPECT_EQ(part->reason, final_reason);
          break;
        }
        EXPECT_EQ(part->reason, NoNextReason::kScanLimitReached);
        auto next = Continuation::FromBytes(part->stop.ToBytes());
        ASSERT_TRUE(next.ok()) << next.status();
        ASSERT_NE(*next, position) << "an operation did not move the continuation";
        position = *next;
      }
      EXPECT_EQ(seen, expected);
    }
  }

  TestDatabase database_{"memory"};
};

TEST_F(CombinatorTest, MapAndFilterAreTransparent) {
  Builder build = [](kv::Transaction& txn, ScanLimiter* limiter,
                     const Continuation& from) -> StatusOr<CursorPtr<int64_t>> {
    ASSIGN_OR_RETURN(CursorPtr<int64_t> ints, Ints(txn, limiter, kA)(from));
    CursorPtr<int64_t> multiples_of_4 =
        Filter<int64_t>(std::move(ints), [](const int64_t& v) { return v % 4 == 0; });
    return Map<int64_t>(std::move(multiples_of_4), [](int64_t v) { return v * 10; });
  };
  CheckResumesEverywhere(build, {0, 40, 80, 120});
}

TEST_F(CombinatorTest, LimitRemembersHowManyItemsAreLeft) {
  Builder build = [](kv::Transaction& txn, ScanLimiter* limiter, const Continuation& from) {
    return LimitCursor<int64_t>::Create(Ints(txn, limiter, kB), 4, from);
  };
  CheckResumesEverywhere(build, {1, 2, 3, 6}, NoNextReason::kReturnLimitReached);
  Builder beyond = [](kv::Transaction& txn, ScanLimiter* limiter, const Continuation& from) {
    return LimitCursor<int64_t>::Create(Ints(txn, limiter, kB), 100, from);
  };
  CheckResumesEverywhere(beyond, kBValues);
}

TEST_F(CombinatorTest, SkipRemembersHowManyItemsAreStillToSkip) {
  Builder build = [](kv::Transaction& txn, ScanLimiter* limiter, const Continuation& from) {
    return SkipCursor<int64_t>::Create(Ints(txn, limiter, kA), 3, from);
  };
  CheckResumesEverywhere(build, {6, 8, 10, 12});
  Builder all = [](kv::Transaction& txn, ScanLimiter* limiter, const Continuation& from) {
    return SkipCursor<int64_t>::Create(Ints(txn, limiter, kA), 10, from);
  };
  CheckResumesEverywhere(all, {});
}

TEST_F(CombinatorTest, LimitOfSkipComposes) {
  Builder build = [](kv::Transaction& txn, ScanLimiter* limiter, const Continuation& from) {
    CursorFactory<int64_t> skipped = [&txn, limiter](const Continuation& inner) {
      return SkipCursor<int64_t>::Create(Ints(txn, limiter, kA), 2, inner);
    };
    return LimitCursor<int64_t>::Create(skipped, 3, from);
  };
  CheckResumesEverywhere(build, {4, 6, 8}, NoNextReason::kReturnLimitReached);
}

TEST_F(CombinatorTest, UnionMergesSortedInputsWithoutDuplicates) {
  Builder build = [](kv::Transaction& txn, ScanLimiter* limiter, const Continuation& from) {
    return UnionCursor<int64_t>::Create(
        {Ints(txn, limiter, kA), Ints(txn, limiter, kB), Ints(txn, limiter, kC)}, IntOrder, from);
  };
  CheckResumesEverywhere(build, {0, 1, 2, 3, 4, 6, 8, 9, 10, 12});
}

TEST_F(CombinatorTest, IntersectionKeepsItemsInEveryInput) {
  Builder build = [](kv::Transaction& txn, ScanLimiter* limiter, const Continuation& from) {
    return IntersectionCursor<int64_t>::Create(
        {Ints(txn, limiter, kA), Ints(txn, limiter, kB), Ints(txn, limiter, kC)}, IntOrder, from);
  };
  CheckResumesEverywhere(build, {6, 12});
  Builder two = [](kv::Transaction& txn, ScanLimiter* limiter, const Continuation& from) {
    return IntersectionCursor<int64_t>::Create({Ints(txn, limiter, kB), Ints(txn, limiter, kC)},
                                               IntOrder, from);
  };
  CheckResumesEverywhere(two, {3, 6, 9, 12});
}

TEST_F(CombinatorTest, ConcatRunsEachInputInTurn) {
  Builder build = [](kv::Transaction& txn, ScanLimiter* limiter, const Continuation& from) {
    return ConcatCursor<int64_t>::Create(
        {Ints(txn, limiter, kC), Ints(txn, limiter, kOuter), Ints(txn, limiter, kB)}, from);
  };
  CheckResumesEverywhere(build, {0, 3, 6, 9, 12, 1, 2, 3, 4, 1, 2, 3, 6, 9, 12});
}

TEST_F(CombinatorTest, FlatMapContinuationCapturesOuterAndInnerPositions) {
  Builder build = [](kv::Transaction& txn, ScanLimiter* limiter, const Continuation& from) {
    FlatMapCursor<int64_t, int64_t>::InnerFactory inner =
        [&txn, limiter](const int64_t& k, const Continuation& position) {
          return Ints(txn, limiter, kInner.Sub(Tuple::Of(k)))(position);
        };
    return FlatMapCursor<int64_t, int64_t>::Create(Ints(txn, limiter, kOuter), inner, from);
  };
  CheckResumesEverywhere(build, {10, 20, 21, 40, 41, 42, 43});
}

TEST_F(CombinatorTest, UnionOfLimitsTreatsAnInputsReturnLimitAsItsEnd) {
  Builder build = [](kv::Transaction& txn, ScanLimiter* limiter, const Continuation& from) {
    CursorFactory<int64_t> first_two_of_a = [&txn, limiter](const Continuation& position) {
      return LimitCursor<int64_t>::Create(Ints(txn, limiter, kA), 2, position);
    };
    return UnionCursor<int64_t>::Create({first_two_of_a, Ints(txn, limiter, kC)}, IntOrder, from);
  };
  CheckResumesEverywhere(build, {0, 2, 3, 6, 9, 12});
}

TEST_F(CombinatorTest, RefusesContinuationsWithTheWrongShape) {
  auto txn = database_.db().CreateTransaction();
  auto union_cursor = UnionCursor<int64_t>::Create(
      {Ints(*txn, nullptr, kA), Ints(*txn, nullptr, kB)}, IntOrder, Continuation::Start());
  ASSERT_TRUE(union_cursor.ok());
  auto first = (*union_cursor)->Next();
  ASSERT_TRUE(first.ok() && first->has_value());
  Continuation two_inputs = first->continuation();

  auto three = UnionCursor<int64_t>::Create(
      {Ints(*txn, nullptr, kA), Ints(*txn, nullptr, kB), Ints(*txn, nullptr, kC)}, IntOrder,
      two_inputs);
  EXPECT_TRUE(HasErrorCode(three.status(), ErrorCode::kInvalidContinuation)) << three.status();
  auto intersection = IntersectionCursor<int64_t>::Create(
      {Ints(*txn, nullptr, kA), Ints(*txn, nullptr, kB)}, IntOrder, two_inputs);
  EXPECT_TRUE(HasErrorCode(intersection.status(), ErrorCode::kInvalidContinuation));
  // The union's inputs' positions are key_value positions of other ranges.
  auto swapped = UnionCursor<int64_t>::Create({Ints(*txn, nullptr, kB), Ints(*txn, nullptr, kA)},
                                              IntOrder, two_inputs);
  EXPECT_TRUE(HasErrorCode(swapped.status(), ErrorCode::kInvalidContinuation));

  auto limit = LimitCursor<int64_t>::Create(
      Ints(*txn, nullptr, kA), 2,
      Continuation::At(CursorKind::kLimit, "", 3, 0, {Continuation::Start()}));
  EXPECT_TRUE(HasErrorCode(limit.status(), ErrorCode::kInvalidContinuation));
  auto skip = SkipCursor<int64_t>::Create(
      Ints(*txn, nullptr, kA), 2,
      Continuation::At(CursorKind::kSkip, "", 3, 0, {Continuation::Start()}));
  EXPECT_TRUE(HasErrorCode(skip.status(), ErrorCode::kInvalidContinuation));
  auto concat = ConcatCursor<int64_t>::Create(
      {Ints(*txn, nullptr, kA)},
      Continuation::At(CursorKind::kConcat, "", 1, 0, {Continuation::Start()}));
  EXPECT_TRUE(HasErrorCode(concat.status(), ErrorCode::kInvalidContinuation));
  auto flat_map = FlatMapCursor<int64_t, int64_t>::Create(
      Ints(*txn, nullptr, kOuter),
      [&txn](const int64_t&, const Continuation& position) {
        return Ints(*txn, nullptr, kA)(position);
      },
      two_inputs);
  EXPECT_TRUE(HasErrorCode(flat_map.status(), ErrorCode::kInvalidContinuation));
}

}  // namespace
}  // namespace recordstore::cursor
