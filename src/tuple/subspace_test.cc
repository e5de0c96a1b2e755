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
  EXPECT_EQ(BytesToHex(space.Pack(Tuple::Of("a", 1))),
            "fe617070"
            "02610015"
            "01");
  EXPECT_EQ(space.Pack(Tuple()), space.key());
}

TEST(SubspaceTest, TupleConstructorAppendsTheEncodingToTheRawPrefix) {
  Subspace space(Tuple::Of("users", 7), "p");
  EXPECT_EQ(space.key(), std::string("p").append(Tuple::Of("users", 7).Pack()));
  EXPECT_EQ(Subspace(Tuple::Of("users")), Subspace(Tuple::Of("users").Pack()));
}

TEST(SubspaceTest, SubNestsPrefixes) {
  Subspace root("r");
  Subspace child = root.Sub(Tuple::Of(1)).Sub(Tuple::Of("x"));
  EXPECT_EQ(child.key(), std::string("r").append(Tuple::Of(1, "x").Pack()));
  EXPECT_EQ(child.Pack(Tuple::Of(true)), root.Pack(Tuple::Of(1, "x", true)));
}

TEST(SubspaceTest, UnpackReturnsTheTupleAfterThePrefix) {
  Subspace space(Tuple::Of("s"));
  StatusOr<Tuple> tuple = space.Unpack(space.Pack(Tuple::Of(nullptr, 2.5)));
  ASSERT_TRUE(tuple.ok()) << tuple.status();
  EXPECT_EQ(*tuple, (Tuple::Of(nullptr, 2.5)));
  EXPECT_EQ(*space.Unpack(space.key()), Tuple());
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
  for (const Tuple& tuple : {Tuple::Of(nullptr), Tuple::Of(""), Tuple::Of(-1), Tuple::Of(true),
                             Tuple::Of(Versionstamp::Incomplete(0xffff))}) {
    std::string key = space.Pack(tuple);
    EXPECT_LE(begin, key) << tuple.ToString();
    EXPECT_LT(key, end) << tuple.ToString();
  }
  auto [sub_begin, sub_end] = space.Range(Tuple::Of("a"));
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
  StatusOr<std::string> key = space.PackWithVersionstamp(Tuple::Of(Versionstamp::Incomplete(1)));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(BytesToHex(*key),
            "707265"
            "33ffffffffffffffffffff0001"
            "04000000");
  EXPECT_TRUE(
      HasErrorCode(space.PackWithVersionstamp(Tuple::Of(1)).status(), ErrorCode::kInvalidArgument));
}

}  // namespace
}  // namespace recordstore
