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

TEST(ResolverTest, ForgetDropsHistoryAtOrBelowTheHorizon) {
  Resolver resolver;
  resolver.RecordWrite("a", "b", 5);
  resolver.RecordWrite("c", "d", 9);
  resolver.Forget(5);
  EXPECT_FALSE(resolver.Conflicts(Ranges({{"a", "b"}}), 1));
  EXPECT_TRUE(resolver.Conflicts(Ranges({{"c", "d"}}), 8));
  resolver.Forget(9);
  EXPECT_EQ(resolver.boundary_count(), 0u);
  EXPECT_FALSE(resolver.Conflicts(Ranges({{"a", "z"}}), 0));
}

}  // namespace
}  // namespace recordstore::kv
