// Scan limits: records, bytes and time stop cursors between items; resuming in a new
// transaction continues exactly where they stopped; one limiter is shared by several cursors.
#include "cursor/scan_limiter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cursor/combinators.h"
#include "cursor/cursor_test_util.h"
#include "cursor/key_value_cursor.h"

namespace recordstore::cursor {
namespace {

using testing_util::Drain;
using testing_util::TestDatabase;

const Subspace kSpace(Tuple::Of("scan"));
const Subspace kOther(Tuple::Of("other"));

std::string Key(const Subspace& space, int i) { return space.Pack(Tuple::Of(i)); }

class ScanLimiterTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(database_.db()
                    .Run([](kv::Transaction& txn) {
                      for (int i = 0; i < 10; ++i) {
                        txn.Set(Key(kSpace, i), "value" + std::to_string(i));
                        txn.Set(Key(kOther, i), "x");
                      }
                      return absl::OkStatus();
                    })
                    .ok());
  }

  StatusOr<std::unique_ptr<KeyValueCursor>> Open(kv::Transaction& txn, const Subspace& space,
                                                 const Continuation& from, ScanLimiter* limiter,
                                                 bool reverse = false) {
    KeyValueCursorOptions options;
    options.limiter = limiter;
    options.reverse = reverse;
    return KeyValueCursor::Create(txn, space, KeyEndpoint::Open(), KeyEndpoint::Open(), from,
                                  options);
  }

  TestDatabase database_{"memory"};
};

TEST_F(ScanLimiterTest, RecordLimitStopsBetweenItemsAndResumesExactly) {
  for (bool reverse : {false, true}) {
    std::vector<std::string> seen;
    std::vector<size_t> per_operation;
    Continuation from;
    for (int operation = 0; operation < 10; ++operation) {
      auto txn = database_.db().CreateTransaction();
      ScanLimiter limiter({.max_records = 4});
      auto cursor = Open(*txn, kSpace, from, &limiter, reverse);
      ASSERT_TRUE(cursor.ok());
      auto drained = Drain<KeyValueRow>(**cursor);
      ASSERT_TRUE(drained.ok());
      for (const KeyValueRow& row : drained->items) seen.push_back(row.key());
      per_operation.push_back(drained->items.size());
      EXPECT_LE(limiter.records_scanned(), 4);
      if (drained->reason == NoNextReason::kSourceExhausted) break;
      EXPECT_EQ(drained->reason, NoNextReason::kScanLimitReached);
      // The stop continuation is the one of the last item returned.
      EXPECT_EQ(drained->stop, drained->continuations.back());
      auto parsed = Continuation::FromBytes(drained->stop.ToBytes());
      ASSERT_TRUE(parsed.ok());
      from = *parsed;
    }
    std::vector<std::string> expected;
    expected.reserve(10);
    for (int i = 0; i < 10; ++i) expected.push_back(Key(kSpace, reverse ? 9 - i : i));
    EXPECT_EQ(seen, expected);
    // 4 + 4 + 2, and the third operation ends the range.
    EXPECT_EQ(per_operation, (std::vector<size_t>{4, 4, 2}));
  }
}

TEST_F(ScanLimiterTest, OneLimiterIsSharedByTheCursorsOfAnOperation) {
  auto txn = database_.db().CreateTransaction();
  ScanLimiter limiter({.max_records = 5});
  auto a = Open(*txn, kSpace, Continuation::Start(), &limiter);
  auto b = Open(*txn, kOther, Continuation::Start(), &limiter);
  ASSERT_TRUE(a.ok() && b.ok());
  for (int i = 0; i < 3; ++i) {
    auto item = (*a)->Next();
    ASSERT_TRUE(item.ok() && item->has_value());
    EXPECT_EQ(item->value().key(), Key(kSpace, i));
  }
  for (int i = 0; i < 2; ++i) {
    auto item = (*b)->Next();
    ASSERT_TRUE(item.ok() && item->has_value());
    EXPECT_EQ(item->value().key(), Key(kOther, i));
  }
  auto b_stop = (*b)->Next();
  ASSERT_TRUE(b_stop.ok());
  ASSERT_FALSE(b_stop->has_value());
  EXPECT_EQ(b_stop->no_next_reason(), NoNextReason::kScanLimitReached);
  auto a_stop = (*a)->Next();
  ASSERT_TRUE(a_stop.ok());
  ASSERT_FALSE(a_stop->has_value());
  EXPECT_EQ(a_stop->no_next_reason(), NoNextReason::kScanLimitReached);
  EXPECT_EQ(limiter.records_scanned(), 5);
}

TEST_F(ScanLimiterTest, EachLeafCursorScansItsFirstRecordForFree) {
  auto txn = database_.db().CreateTransaction();
  ScanLimiter limiter({.max_records = 1});
  auto a = Open(*txn, kSpace, Continuation::Start(), &limiter);
  ASSERT_TRUE(a.ok());
  auto a_items = Drain<KeyValueRow>(**a);
  ASSERT_TRUE(a_items.ok());
  EXPECT_EQ(a_items->items.size(), 1u);
  EXPECT_EQ(a_items->reason, NoNextReason::kScanLimitReached);
  // The budget is used up, but a cursor opened now still returns one item.
  auto b = Open(*txn, kOther, Continuation::Start(), &limiter);
  ASSERT_TRUE(b.ok());
  auto b_items = Drain<KeyValueRow>(**b);
  ASSERT_TRUE(b_items.ok());
  ASSERT_EQ(b_items->items.size(), 1u);
  EXPECT_EQ(b_items->items[0].key(), Key(kOther, 0));
  EXPECT_EQ(b_items->reason, NoNextReason::kScanLimitReached);
  EXPECT_EQ(limiter.records_scanned(), 2);
}

TEST_F(ScanLimiterTest, ByteLimitIsCheckedBeforeEachRecord) {
  auto txn = database_.db().CreateTransaction();
  int64_t row_bytes = static_cast<int64_t>(Key(kSpace, 0).size() + std::string("value0").size());
  // 2.5 rows: the third row is read (2 rows are below the limit), the fourth is not.
  ScanLimiter limiter({.max_bytes = row_bytes * 5 / 2});
  auto cursor = Open(*txn, kSpace, Continuation::Start(), &limiter);
  ASSERT_TRUE(cursor.ok());
  auto drained = Drain<KeyValueRow>(**cursor);
  ASSERT_TRUE(drained.ok());
  EXPECT_EQ(drained->items.size(), 3u);
  EXPECT_EQ(drained->reason, NoNextReason::kByteLimitReached);
  int64_t read_bytes = 0;
  for (const KeyValueRow& row : drained->items) {
    read_bytes += static_cast<int64_t>(row.key().size() + row.value().size());
  }
  EXPECT_EQ(limiter.bytes_scanned(), read_bytes);
  EXPECT_GE(read_bytes, row_bytes * 5 / 2);
}

TEST_F(ScanLimiterTest, TimeLimitStopsWhenTheClockPassesIt) {
  auto now = std::chrono::steady_clock::time_point();
  ScanLimiter limiter({.max_time = std::chrono::milliseconds(10)}, [&now] { return now; });
  auto txn = database_.db().CreateTransaction();
  auto cursor = Open(*txn, kSpace, Continuation::Start(), &limiter);
  ASSERT_TRUE(cursor.ok());
  for (int i = 0; i < 2; ++i) {
    auto item = (*cursor)->Next();
    ASSERT_TRUE(item.ok() && item->has_value());
  }
  now += std::chrono::milliseconds(10);
  auto stop = (*cursor)->Next();
  ASSERT_TRUE(stop.ok());
  ASSERT_FALSE(stop->has_value());
  EXPECT_EQ(stop->no_next_reason(), NoNextReason::kTimeLimitReached);
  EXPECT_EQ(stop->continuation().key(), Tuple::Of(1).Pack());
}

TEST_F(ScanLimiterTest, LimitsAreCheckedTimeThenRecordsThenBytes) {
  auto now = std::chrono::steady_clock::time_point();
  ScanLimiter limiter({.max_records = 1, .max_bytes = 1, .max_time = std::chrono::seconds(1)},
                      [&now] { return now; });
  EXPECT_EQ(limiter.ReasonToStop(), std::nullopt);
  limiter.RecordScan(10);
  EXPECT_EQ(limiter.ReasonToStop(), NoNextReason::kScanLimitReached);
  now += std::chrono::seconds(1);
  EXPECT_EQ(limiter.ReasonToStop(), NoNextReason::kTimeLimitReached);
  ScanLimiter bytes_only({.max_records = 5, .max_bytes = 10});
  bytes_only.RecordScan(10);
  EXPECT_EQ(bytes_only.ReasonToStop(), NoNextReason::kByteLimitReached);
  EXPECT_EQ(bytes_only.RecordsRemaining(), 4);
  EXPECT_EQ(ScanLimiter().RecordsRemaining(), std::nullopt);
}

TEST_F(ScanLimiterTest, FilterThatRejectsEverythingStillProgressesUnderAScanLimit) {
  Continuation from;
  int operations = 0;
  while (true) {
    ++operations;
    ASSERT_LE(operations, 10);
    auto txn = database_.db().CreateTransaction();
    ScanLimiter limiter({.max_records = 3});
    auto cursor = Open(*txn, kSpace, from, &limiter);
    ASSERT_TRUE(cursor.ok());
    auto filtered =
        Filter<KeyValueRow>(std::move(*cursor), [](const KeyValueRow&) { return false; });
    auto result = filtered->Next();
    ASSERT_TRUE(result.ok());
    ASSERT_FALSE(result->has_value());
    if (result->no_next_reason() == NoNextReason::kSourceExhausted) break;
    EXPECT_EQ(result->no_next_reason(), NoNextReason::kScanLimitReached);
    // The continuation moved past the three rejected records.
    EXPECT_EQ(result->continuation().key(), Tuple::Of(operations * 3 - 1).Pack());
    from = result->continuation();
  }
  EXPECT_EQ(operations, 4);  // 3 + 3 + 3 + 1 records.
}

}  // namespace
}  // namespace recordstore::cursor
