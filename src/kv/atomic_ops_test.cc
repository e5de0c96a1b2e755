#include "kv/atomic_ops.h"

#include <gtest/gtest.h>

namespace recordstore::kv {
namespace {

std::optional<std::string> Apply(MutationType type, std::optional<std::string> existing,
                                 std::string operand) {
  std::optional<std::string_view> view;
  if (existing.has_value()) view = *existing;
  return ApplyAtomicOp(type, view, operand);
}

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

TEST(AtomicOpsTest, AddCarriesAcrossBytesAndDropsTheFinalCarry) {
  EXPECT_EQ(Apply(MutationType::kAdd, Bytes({0xff, 0x00}), Bytes({0x01, 0x00})),
            Bytes({0x00, 0x01}));
  EXPECT_EQ(Apply(MutationType::kAdd, Bytes({0xff, 0xff}), Bytes({0x01, 0x00})),
            Bytes({0x00, 0x00}));
}

TEST(AtomicOpsTest, AddResizesTheExistingValueToTheOperand) {
  // Longer existing value: truncated to the operand's 1 byte.
  EXPECT_EQ(Apply(MutationType::kAdd, Bytes({0x05, 0x07}), Bytes({0x01})), Bytes({0x06}));
  // Shorter existing value: zero-extended.
  EXPECT_EQ(Apply(MutationType::kAdd, Bytes({0x05}), Bytes({0x01, 0x01})), Bytes({0x06, 0x01}));
  // Missing value counts as zero.
  EXPECT_EQ(Apply(MutationType::kAdd, std::nullopt, Bytes({0x02, 0x00})), Bytes({0x02, 0x00}));
}

TEST(AtomicOpsTest, BitwiseOps) {
  EXPECT_EQ(Apply(MutationType::kBitAnd, Bytes({0x0f}), Bytes({0x3c})), Bytes({0x0c}));
  EXPECT_EQ(Apply(MutationType::kBitAnd, std::nullopt, Bytes({0x3c})), Bytes({0x3c}));
  EXPECT_EQ(Apply(MutationType::kBitOr, Bytes({0x0f}), Bytes({0x30})), Bytes({0x3f}));
  EXPECT_EQ(Apply(MutationType::kBitOr, std::nullopt, Bytes({0x30})), Bytes({0x30}));
  EXPECT_EQ(Apply(MutationType::kBitXor, Bytes({0x0f}), Bytes({0x3c})), Bytes({0x33}));
}

TEST(AtomicOpsTest, MaxMinCompareLittleEndianUnsigned) {
  // 0x0100 (256) > 0x00ff (255) although its first byte is smaller.
  EXPECT_EQ(Apply(MutationType::kMax, Bytes({0x00, 0x01}), Bytes({0xff, 0x00})),
            Bytes({0x00, 0x01}));
  EXPECT_EQ(Apply(MutationType::kMin, Bytes({0x00, 0x01}), Bytes({0xff, 0x00})),
            Bytes({0xff, 0x00}));
  EXPECT_EQ(Apply(MutationType::kMax, std::nullopt, Bytes({0x07})), Bytes({0x07}));
  EXPECT_EQ(Apply(MutationType::kMin, std::nullopt, Bytes({0x07})), Bytes({0x07}));
  // The existing value is resized to the operand's length before comparing.
  EXPECT_EQ(Apply(MutationType::kMax, Bytes({0x09, 0x01}), Bytes({0x05})), Bytes({0x09}));
}

TEST(AtomicOpsTest, ByteMaxMinCompareLexicographically) {
  EXPECT_EQ(Apply(MutationType::kByteMax, std::string("abc"), "abd"), "abd");
  EXPECT_EQ(Apply(MutationType::kByteMax, std::string("b"), "abz"), "b");
  EXPECT_EQ(Apply(MutationType::kByteMin, std::string("b"), "abz"), "abz");
  EXPECT_EQ(Apply(MutationType::kByteMin, std::nullopt, "x"), "x");
}

TEST(AtomicOpsTest, CompareAndClear) {
  EXPECT_EQ(Apply(MutationType::kCompareAndClear, std::string("v"), "v"), std::nullopt);
  EXPECT_EQ(Apply(MutationType::kCompareAndClear, std::string("v"), "w"), "v");
  EXPECT_EQ(Apply(MutationType::kCompareAndClear, std::nullopt, "w"), std::nullopt);
}

TEST(AtomicOpsTest, AppendIfFitsStopsAtTheValueLimit) {
  EXPECT_EQ(Apply(MutationType::kAppendIfFits, std::string("ab"), "cd"), "abcd");
  EXPECT_EQ(Apply(MutationType::kAppendIfFits, std::nullopt, "cd"), "cd");
  std::string almost(kMaxValueSize - 1, 'x');
  EXPECT_EQ(Apply(MutationType::kAppendIfFits, almost, "y")->size(), kMaxValueSize);
  EXPECT_EQ(Apply(MutationType::kAppendIfFits, almost, "yz"), almost);
}

TEST(AtomicOpsTest, VersionstampIsBigEndianVersionThenOrder) {
  EXPECT_EQ(MakeVersionstamp(0x0102030405060708, 0x090a), Bytes({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
}

TEST(AtomicOpsTest, SpliceVersionstampAtLittleEndianOffset) {
  std::string stamp = Bytes({1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  std::string param = "ab" + std::string(10, '\0') + "z" + Bytes({2, 0, 0, 0});
  EXPECT_EQ(*SpliceVersionstamp(param, stamp), "ab" + stamp + "z");
}

TEST(AtomicOpsTest, SpliceVersionstampRejectsBadOffsets) {
  std::string stamp(10, 'v');
  EXPECT_TRUE(
      HasErrorCode(SpliceVersionstamp("abc", stamp).status(), ErrorCode::kClientInvalidOperation));
  // Offset 3 in a 12-byte body leaves only 9 bytes.
  std::string param = std::string(12, '\0') + Bytes({3, 0, 0, 0});
  EXPECT_TRUE(
      HasErrorCode(SpliceVersionstamp(param, stamp).status(), ErrorCode::kClientInvalidOperation));
  // A huge offset must not wrap around.
  std::string huge = std::string(12, '\0') + Bytes({0xff, 0xff, 0xff, 0xff});
  EXPECT_TRUE(
      HasErrorCode(SpliceVersionstamp(huge, stamp).status(), ErrorCode::kClientInvalidOperation));
}

}  // namespace
}  // namespace recordstore::kv
