#include "tuple/big_integer.h"

#include <gtest/gtest.h>

#include <limits>

namespace recordstore {
namespace {

BigInteger Big(std::string_view decimal) { return *BigInteger::FromDecimal(decimal); }

TEST(BigIntegerTest, DecimalRoundTrips) {
  for (const char* text :
       {"0", "1", "-1", "255", "-256", "9223372036854775807", "-9223372036854775808",
        "18446744073709551616", "-340282366920938463463374607431768211456"}) {
    EXPECT_EQ(Big(text).ToDecimal(), text);
  }
  EXPECT_EQ(Big("-0").ToDecimal(), "0");
  EXPECT_FALSE(Big("-0").negative());
  EXPECT_EQ(Big("000123").ToDecimal(), "123");
}

TEST(BigIntegerTest, MagnitudeIsBigEndianWithoutLeadingZeros) {
  EXPECT_EQ(Big("0").magnitude(), "");
  EXPECT_TRUE(Big("0").is_zero());
  EXPECT_EQ(Big("256").magnitude(), std::string("\x01\x00", 2));
  EXPECT_EQ(Big("-18446744073709551616").magnitude(), std::string("\x01\0\0\0\0\0\0\0\0", 9));
  EXPECT_TRUE(Big("-18446744073709551616").negative());
  BigInteger stripped = *BigInteger::FromMagnitude(true, std::string("\x00\x00\x05", 3));
  EXPECT_EQ(stripped.magnitude(), "\x05");
  EXPECT_EQ(stripped.ToDecimal(), "-5");
  EXPECT_FALSE(BigInteger::FromMagnitude(true, std::string(3, '\0'))->negative());
}

TEST(BigIntegerTest, FixedWidthConversionsAtTheirLimits) {
  EXPECT_EQ(BigInteger::FromInt64(std::numeric_limits<int64_t>::min()).ToDecimal(),
            "-9223372036854775808");
  EXPECT_EQ(Big("-9223372036854775808").ToInt64(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(Big("-9223372036854775809").ToInt64(), std::nullopt);
  EXPECT_EQ(Big("9223372036854775807").ToInt64(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(Big("9223372036854775808").ToInt64(), std::nullopt);
  EXPECT_EQ(Big("18446744073709551615").ToUint64(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(Big("18446744073709551616").ToUint64(), std::nullopt);
  EXPECT_EQ(Big("-1").ToUint64(), std::nullopt);
  EXPECT_EQ(BigInteger::FromUint64(std::numeric_limits<uint64_t>::max()),
            Big("18446744073709551615"));
}

TEST(BigIntegerTest, OrdersNumerically) {
  EXPECT_LT(Big("-18446744073709551616"), Big("-18446744073709551615"));
  EXPECT_LT(Big("-256"), Big("-255"));
  EXPECT_LT(Big("-1"), Big("0"));
  EXPECT_LT(Big("0"), Big("1"));
  EXPECT_LT(Big("255"), Big("256"));
  EXPECT_LT(Big("65280"), Big("65281"));
  EXPECT_EQ(Big("42"), BigInteger::FromInt64(42));
}

TEST(BigIntegerTest, RejectsMalformedDecimalText) {
  for (const char* text : {"", "-", "+1", "1.5", "12a", " 1", "--1"}) {
    Status status = BigInteger::FromDecimal(text).status();
    EXPECT_TRUE(HasErrorCode(status, ErrorCode::kInvalidArgument)) << text;
    EXPECT_EQ(status.message(),
              "invalid_argument (8001): '" + std::string(text) + "' is not a decimal integer");
  }
}

TEST(BigIntegerTest, RejectsValuesBeyondTheTupleLimit) {
  std::string largest(BigInteger::kMaxMagnitudeBytes, '\xff');
  EXPECT_TRUE(BigInteger::FromMagnitude(false, largest).ok());
  EXPECT_TRUE(BigInteger::FromMagnitude(false, std::string(1, '\0') + largest).ok());
  Status too_big = BigInteger::FromMagnitude(false, "\x01" + largest).status();
  EXPECT_EQ(too_big.message(),
            "invalid_argument (8001): integer magnitude of 256 bytes exceeds the tuple limit of "
            "255");
  // 256^255 has 615 decimal digits; 10^615 needs 256 bytes.
  Status too_long = BigInteger::FromDecimal("1" + std::string(615, '0')).status();
  EXPECT_EQ(too_long.message(),
            "invalid_argument (8001): decimal integer exceeds the tuple limit of 255 magnitude "
            "bytes");
  BigInteger max = *BigInteger::FromMagnitude(false, largest);
  EXPECT_EQ(Big(max.ToDecimal()), max);
}

}  // namespace
}  // namespace recordstore
