// RecordVersion ordering and completion; RecordContext local versions, age and completion
// from the committed versionstamp.
#include "cursor/record_version.h"

#include <gtest/gtest.h>

#include <string>

#include "cursor/cursor_test_util.h"
#include "cursor/record_context.h"

namespace recordstore::cursor {
namespace {

std::string Global(uint8_t last) {
  std::string global(10, '\0');
  global[9] = static_cast<char>(last);
  return global;
}

TEST(RecordVersionTest, BytesAreGlobalThenBigEndianLocal) {
  auto version = RecordVersion::Complete(Global(7), 0x0102);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version->ToBytes(), Global(7) + std::string("\x01\x02", 2));
  EXPECT_TRUE(version->is_complete());
  EXPECT_EQ(version->local_version(), 0x0102);
  EXPECT_EQ(version->global_version(), Global(7));
  auto parsed = RecordVersion::FromBytes(version->ToBytes());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, *version);
  EXPECT_EQ(RecordVersion::FromVersionstamp(version->ToVersionstamp()), *version);

  RecordVersion incomplete = RecordVersion::Incomplete(5);
  EXPECT_FALSE(incomplete.is_complete());
  EXPECT_EQ(incomplete.ToBytes(), std::string(10, '\xff') + std::string("\x00\x05", 2));
  EXPECT_FALSE(incomplete.ToVersionstamp().is_complete());
}

TEST(RecordVersionTest, OrdersByGlobalThenLocalWithIncompleteLast) {
  RecordVersion a = *RecordVersion::Complete(Global(1), 9);
  RecordVersion b = *RecordVersion::Complete(Global(2), 0);
  RecordVersion c = *RecordVersion::Complete(Global(2), 1);
  RecordVersion d = RecordVersion::Incomplete(0);
  RecordVersion e = RecordVersion::Incomplete(1);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(c, d);
  EXPECT_LT(d, e);
  EXPECT_LT(a.ToBytes(), b.ToBytes());
  EXPECT_LT(c.ToBytes(), d.ToBytes());
}

TEST(RecordVersionTest, RefusesMalformedInput) {
  EXPECT_TRUE(HasErrorCode(RecordVersion::FromBytes(std::string(11, 'x')).status(),
                           ErrorCode::kDataCorruption));
  EXPECT_TRUE(HasErrorCode(RecordVersion::Complete(std::string(10, '\xff'), 0).status(),
                           ErrorCode::kInvalidArgument));
  EXPECT_TRUE(
      HasErrorCode(RecordVersion::Complete("short", 0).status(), ErrorCode::kInvalidArgument));
  RecordVersion complete = *RecordVersion::Complete(Global(1), 0);
  EXPECT_TRUE(
      HasErrorCode(complete.WithGlobalVersion(Global(2)).status(), ErrorCode::kInvalidArgument));
  auto filled = RecordVersion::Incomplete(3).WithGlobalVersion(Global(4));
  ASSERT_TRUE(filled.ok());
  EXPECT_EQ(filled->ToBytes(), Global(4) + std::string("\x00\x03", 2));
}

TEST(RecordContextTest, HandsOutIncreasingLocalVersionsUpTo65536) {
  testing_util::TestDatabase database("memory");
  RecordContext context(database.db().CreateTransaction());
  for (int i = 0; i <= 0xffff; ++i) {
    auto local = context.NextLocalVersion();
    ASSERT_TRUE(local.ok());
    ASSERT_EQ(*local, i);
  }
  EXPECT_TRUE(HasErrorCode(context.NextLocalVersion().status(), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(HasErrorCode(context.NewIncompleteVersion().status(), ErrorCode::kInvalidArgument));
}

TEST(RecordContextTest, KnowsItsAge) {
  testing_util::TestDatabase database("memory");
  auto now = std::chrono::steady_clock::time_point() + std::chrono::hours(1);
  RecordContext context(database.db().CreateTransaction(), [&now] { return now; });
  EXPECT_EQ(context.created(), now);
  EXPECT_EQ(context.Age(), std::chrono::nanoseconds(0));
  now += std::chrono::milliseconds(1500);
  EXPECT_EQ(context.Age(), std::chrono::milliseconds(1500));
}

TEST(RecordContextTest, CompletesVersionsFromTheCommittedVersionstamp) {
  testing_util::TestDatabase database("memory");
  RecordContext context(database.db().CreateTransaction());
  auto first = context.NewIncompleteVersion();
  auto second = context.NewIncompleteVersion();
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->local_version(), 0);
  EXPECT_EQ(second->local_version(), 1);
  EXPECT_TRUE(HasErrorCode(context.CompleteVersion(*first).status(), ErrorCode::kNoCommitVersion));
  context.txn().Set("k", "v");
  ASSERT_TRUE(context.Commit().ok());
  auto stamp = context.txn().GetVersionstamp();
  ASSERT_TRUE(stamp.ok());
  auto done_first = context.CompleteVersion(*first);
  auto done_second = context.CompleteVersion(*second);
  ASSERT_TRUE(done_first.ok() && done_second.ok());
  EXPECT_EQ(done_first->ToBytes(), *stamp + std::string("\x00\x00", 2));
  EXPECT_EQ(done_second->ToBytes(), *stamp + std::string("\x00\x01", 2));
  EXPECT_LT(*done_first, *done_second);
  // A complete version comes back unchanged.
  auto again = context.CompleteVersion(*done_first);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *done_first);
}

TEST(RecordContextTest, WritesVersionstampedKeysAndValuesOnlyAtCommit) {
  testing_util::TestDatabase database("memory");
  RecordContext context(database.db().CreateTransaction());
  auto version = context.NewIncompleteVersion();
  ASSERT_TRUE(version.ok());
  context.AddPendingVersion("v", *version);
  Tuple key = Tuple::Of("k", version->ToVersionstamp());
  auto operand = key.PackWithVersionstamp();
  ASSERT_TRUE(operand.ok());
  context.SetVersionstampedKeyAtCommit(key.Pack(), *operand, "kept");
  Tuple dropped = Tuple::Of("d", version->ToVersionstamp());
  context.SetVersionstampedKeyAtCommit(dropped.Pack(), *dropped.PackWithVersionstamp(), "gone");
  EXPECT_TRUE(context.CancelVersionstampedKey(dropped.Pack()));
  EXPECT_FALSE(context.CancelVersionstampedKey(dropped.Pack()));
  // Until commit nothing is written, so range reads meet no unreadable key.
  auto before = context.txn().GetRange("", "\xff");
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_TRUE(before->rows.empty());
  ASSERT_TRUE(context.Commit().ok());
  auto stamp = context.txn().GetVersionstamp();
  ASSERT_TRUE(stamp.ok());
  auto complete = context.CompleteVersion(*version);
  ASSERT_TRUE(complete.ok());

  auto reader = database.db().CreateTransaction();
  auto rows = reader->GetRange("", "\xff");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->rows.size(), 2u);
  EXPECT_EQ(rows->rows[0].key, Tuple::Of("k", complete->ToVersionstamp()).Pack());
  EXPECT_EQ(rows->rows[0].value, "kept");
  EXPECT_EQ(rows->rows[1].key, "v");
  EXPECT_EQ(rows->rows[1].value, Tuple::Of(complete->ToVersionstamp()).Pack());
}

TEST(RecordContextTest, FailCommitKeepsHalfWrittenChangesOut) {
  testing_util::TestDatabase database("memory");
  RecordContext context(database.db().CreateTransaction());
  context.txn().Set("half", "written");
  context.FailCommit(MakeError(ErrorCode::kInvalidArgument, "index update failed"));
  context.FailCommit(MakeError(ErrorCode::kInternalError, "a later failure"));
  EXPECT_EQ(context.Commit().message(), "invalid_argument (8001): index update failed");
  auto reader = database.db().CreateTransaction();
  EXPECT_FALSE(reader->Get("half")->has_value());
}

}  // namespace
}  // namespace recordstore::cursor
