#include "kv/engine/resolver.h"

#include <gtest/gtest.h>

namespace recordstore::kv {
namespace {

std::vector<KeyRange> Ranges(std::initializer_list<KeyRange> ranges) { return ranges; }

TEST(ResolverTest, PointWriteConflictsOnlyWithNewerWritesToTheSameKey) {
  Resolver resolver;
  resolver.RecordWrite("b", std::string("b\0", 2), 10);
  EXPECT_TRUE(resolver.Conflicts(Ranges({{"b", std::string("b\0", 2)}}), 9));
  EXPECT_FALSE(resolver.Conflicts(Ranges({{"b", std::string("b\0", 2)}}), 10));
  EXPECT_FALSE(resolver.Conflicts(Ranges({{"a", "b"}}), 9));
  EXPECT_FALSE(resolver.Conflicts(Ranges({{std::string("b\0", 2), "c"}}), 9));
}

TEST(ResolverTest, RangeReadSeesAWriteInsideIt) {
  Resolver resolver;
  resolver.RecordWrite("m", "n", 5);
  EXPECT_TRUE(resolver.Conflicts(Ranges({{"a", "z"}}), 4));
  EXPECT_TRUE(resolver.Conflicts(Ranges({{"m1", "m2"}}), 4));  // inside the written range
  EXPECT_FALSE(resolver.Conflicts(Ranges({{"n", "z"}}), 4));   // end is exclusive
}

TEST(ResolverTest, LaterWritesOverwriteEarlierSegmentsExactly) {
  Resolver resolver;
  resolver.RecordWrite("a", "z", 5);
  resolver.RecordWrite("c", "d", 7);
  EXPECT_TRUE(resolver.Conflicts(Ranges({{"c", "d"}}), 6));
  EXPECT_FALSE(resolver.Conflicts(Ranges({{"d", "z"}}), 6));
  EXPECT_TRUE(resolver.Conflicts(Ranges({{"d", "z"}}), 4));
  EXPECT_FALSE(resolver.Conflicts(Ranges({{"z", "zz"}}), 0));
}

TEST(ResolverTest, ForgetKeepsExactAnswersAtOrAboveTheHorizon) {
  Resolver resolver;
  resolver.RecordWrite("a", "b", 5);
  resolver.RecordWrite("c", "d", 9);
  resolver.RecordWrite("a", "a1", 12);
  resolver.Forget(9);
  EXPECT_EQ(resolver.horizon(), 9);
  EXPECT_FALSE(resolver.Conflicts(Ranges({{"a1", "z"}}), 9));  // 5 and 9 are forgotten
  EXPECT_TRUE(resolver.Conflicts(Ranges({{"a", "a1"}}), 11));
  EXPECT_FALSE(resolver.Conflicts(Ranges({{"a", "a1"}}), 12));
  // Left: a (12) and a1 (the end of the write at 12, still carrying 5) until 12 is forgotten,
  // and b (0), which ends a1's segment.
  EXPECT_EQ(resolver.boundary_count(), 3u);
  resolver.Forget(12);
  EXPECT_EQ(resolver.boundary_count(), 0u);
}

TEST(ResolverTest, ReadsBelowTheHorizonConflictConservatively) {
  Resolver resolver;
  resolver.RecordWrite("a", "b", 5);
  resolver.Forget(5);
  EXPECT_EQ(resolver.boundary_count(), 0u);
  EXPECT_TRUE(resolver.Conflicts(Ranges({{"x", "y"}}), 4));
  EXPECT_FALSE(resolver.Conflicts(Ranges({}), 4));  // nothing read: nothing to check
  EXPECT_FALSE(resolver.Conflicts(Ranges({{"x", "y"}}), 5));
}

TEST(ResolverTest, ManyWritesForgottenLeaveNoBoundaries) {
  Resolver resolver;
  for (int v = 1; v <= 1000; ++v) {
    std::string key = "k" + std::to_string(v % 37);
    resolver.RecordWrite(key, key + '\0', v);
    if (v % 10 == 0) resolver.Forget(v - 5);
  }
  EXPECT_TRUE(resolver.Conflicts(Ranges({{"k", "l"}}), 996));
  resolver.Forget(999);
  EXPECT_EQ(resolver.boundary_count(), 2u);  // the write at 1000
  resolver.Forget(1000);
  EXPECT_EQ(resolver.boundary_count(), 0u);
}

}  // namespace
}  // namespace recordstore::kv
