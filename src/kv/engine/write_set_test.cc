#include "kv/engine/write_set.h"

#include <gtest/gtest.h>

namespace recordstore::kv {
namespace {

TEST(WriteSetTest, ClearRangeDropsPointWritesAndMergesRanges) {
  WriteSet writes;
  writes.Set("b", "1");
  writes.Set("k", "2");
  writes.ClearRange("a", "c");
  writes.ClearRange("c", "e");  // touches [a, c): merged into [a, e)
  EXPECT_EQ(writes.Find("b"), nullptr);
  ASSERT_NE(writes.Find("k"), nullptr);
  EXPECT_TRUE(writes.IsCleared("a"));
  EXPECT_TRUE(writes.IsCleared("d"));
  EXPECT_FALSE(writes.IsCleared("e"));
  EXPECT_EQ(writes.ClearedRangeBegin("d"), "a");
  EXPECT_EQ(writes.ClearedRangeEnd("b"), "e");
  EXPECT_EQ(writes.log().size(), 4u);
}

TEST(WriteSetTest, AtomicOpOnUnknownBaseStaysPendingUntilRead) {
  WriteSet writes;
  writes.Atomic(MutationType::kAdd, "n", std::string("\x01", 1));
  writes.Atomic(MutationType::kAdd, "n", std::string("\x02", 1));
  const LocalWrite* n = writes.Find("n");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->kind, LocalWrite::Kind::kPendingOps);
  EXPECT_EQ(n->ops.size(), 2u);
}

TEST(WriteSetTest, AtomicOpOnKnownBaseIsComputedAtOnce) {
  WriteSet writes;
  writes.Set("n", std::string("\x05", 1));
  writes.Atomic(MutationType::kAdd, "n", std::string("\x02", 1));
  EXPECT_EQ(writes.Find("n")->kind, LocalWrite::Kind::kValue);
  EXPECT_EQ(writes.Find("n")->value, std::string("\x07", 1));

  writes.ClearRange("a", "z");
  writes.Atomic(MutationType::kAdd, "m", std::string("\x03", 1));  // base: cleared = absent
  EXPECT_EQ(writes.Find("m")->kind, LocalWrite::Kind::kValue);
  EXPECT_EQ(writes.Find("m")->value, std::string("\x03", 1));

  writes.Atomic(MutationType::kCompareAndClear, "m", std::string("\x03", 1));
  EXPECT_EQ(writes.Find("m")->kind, LocalWrite::Kind::kCleared);
}

TEST(WriteSetTest, VersionstampedValueMakesTheKeyUnreadable) {
  WriteSet writes;
  writes.Atomic(MutationType::kSetVersionstampedValue, "k", std::string(14, '\0'));
  EXPECT_EQ(writes.Find("k")->kind, LocalWrite::Kind::kUnreadable);
  writes.Atomic(MutationType::kSetVersionstampedKey, std::string(14, '\0'), "v");
  EXPECT_EQ(writes.writes().size(), 1u);  // the versionstamped key is unknown until commit
  EXPECT_EQ(writes.log().size(), 2u);
  EXPECT_EQ(writes.bytes(), 1 + 14 + 14 + 1);
}

}  // namespace
}  // namespace recordstore::kv
