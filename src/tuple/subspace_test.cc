#include "tuple/subspace.h"

#include <gtest/gtest.h>

#include "tuple/tuple_test_util.h"

namespace recordstore {
namespace {

TEST(SubspaceTest, PacksTuplesAfterTheRawPrefix) {
  Subspace space(
      "\xfe"
      "app");
  EXPECT_EQ(space.key(),
            "\xfe"
            "app");
  EXPECT_EQ(BytesToHex(space.Pack(Tuple{"a", 1})),
            "fe617070"
            "02610015"
            "01");
  EXPECT_EQ(space.Pack(Tuple{}), space.key());
}

TEST(SubspaceTest, TupleConstructorAppendsTheEncodingToTheRawPrefix) {
  Subspace space(Tuple{"users", 7}, "p");
  EXPECT_EQ(space.key(), std::string("p").append(Tuple{"users", 7}.Pack()));
  EXPECT_EQ(Subspace(Tuple{"users"}), Subspace(Tuple{"users"}.Pack()));
}

TEST(SubspaceTest, SubNestsPrefixes) {
  Subspace root("r");
  Subspace child = root.Sub(Tuple{1}).Sub(Tuple{"x"});
  EXPECT_EQ(child.key(), std::string("r").append(Tuple{1, "x"}.Pack()));
  EXPECT_EQ(child.Pack(Tuple{true}), root.Pack(Tuple{1, "x", true}));
}

TEST(SubspaceTest, UnpackReturnsTheTupleAfterThePrefix) {
  Subspace space(Tuple{"s"});
  StatusOr<Tuple> tuple = space.Unpack(space.Pack(Tuple{nullptr, 2.5}));
  ASSERT_TRUE(tuple.ok()) << tuple.status();
  EXPECT_EQ(*tuple, (Tuple{nullptr, 2.5}));
  EXPECT_EQ(*space.Unpack(space.key()), Tuple{});
}

TEST(SubspaceTest, UnpackRejectsKeysOutsideTheSubspace) {
  Subspace space("ab");
  Status status = space.Unpack("a\x15\x01").status();
  EXPECT_TRUE(HasErrorCode(status, ErrorCode::kInvalidArgument));
  EXPECT_EQ(status.message(),
            "invalid_argument (8001): key b\"a\\x15\\x01\" is outside the subspace with prefix "
            "b\"ab\"");
}

TEST(SubspaceTest, UnpackReportsCorruptionAfterThePrefix) {
  Subspace space("ab");
  Status status = space.Unpack("ab\x15").status();
  EXPECT_TRUE(HasErrorCode(status, ErrorCode::kDataCorruption));
  EXPECT_EQ(status.message(),
            "data_corruption (8004): tuple decode: truncated integer at byte 0: needs 1 more "
            "bytes, 0 remain");
}

TEST(SubspaceTest, ContainsChecksThePrefix) {
  Subspace space("ab");
  EXPECT_TRUE(space.Contains("ab"));
  EXPECT_TRUE(space.Contains("ab\x00"));
  EXPECT_TRUE(space.Contains("abz"));
  EXPECT_FALSE(space.Contains("a"));
  EXPECT_FALSE(space.Contains("ac"));
  EXPECT_TRUE(Subspace().Contains(""));
}

TEST(SubspaceTest, RangeCoversEveryTupleKeyUnderThePrefix) {
  Subspace space("p");
  auto [begin, end] = space.Range();
  EXPECT_EQ(BytesToHex(begin), "7000");
  EXPECT_EQ(BytesToHex(end), "70ff");
  for (const Tuple& tuple : {Tuple{nullptr}, Tuple{""}, Tuple{-1}, Tuple{true},
                             Tuple{Versionstamp::Incomplete(0xffff)}}) {
    std::string key = space.Pack(tuple);
    EXPECT_LE(begin, key) << tuple.ToString();
    EXPECT_LT(key, end) << tuple.ToString();
  }
  auto [sub_begin, sub_end] = space.Range(Tuple{"a"});
  EXPECT_EQ(BytesToHex(sub_begin),
            "70"
            "026100"
            "00");
  EXPECT_EQ(BytesToHex(sub_end),
            "70"
            "026100"
            "ff");
}

TEST(SubspaceTest, PackWithVersionstampCountsThePrefixInTheOffset) {
  Subspace space("pre");
  StatusOr<std::string> key = space.PackWithVersionstamp(Tuple{Versionstamp::Incomplete(1)});
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(BytesToHex(*key),
            "707265"
            "33ffffffffffffffffffff0001"
            "04000000");
  EXPECT_TRUE(
      HasErrorCode(space.PackWithVersionstamp(Tuple{1}).status(), ErrorCode::kInvalidArgument));
}

}  // namespace
}  // namespace recordstore
