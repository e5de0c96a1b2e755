#include "tuple/tuple.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tuple/tuple_test_util.h"

namespace recordstore {
namespace {

std::string PackHex(const Tuple& tuple) { return BytesToHex(tuple.Pack()); }

Tuple UnpackHexOrDie(std::string_view hex) {
  StatusOr<Tuple> tuple = Tuple::Unpack(HexToBytes(hex));
  EXPECT_TRUE(tuple.ok()) << tuple.status();
  return tuple.ok() ? *std::move(tuple) : Tuple();
}

BigInteger Big(std::string_view decimal) { return *BigInteger::FromDecimal(decimal); }

Versionstamp CompleteStamp(std::string_view transaction_hex, uint16_t user_version) {
  return *Versionstamp::Complete(HexToBytes(transaction_hex), user_version);
}

// ---- Building tuples ----

TEST(TupleTest, FluentAppendEqualsInitializerList) {
  Tuple fluent = Tuple()
                     .Append("a")
                     .Append(1)
                     .AppendBytes(std::string_view("\x00", 1))
                     .AppendNull()
                     .Append(2.5);
  Tuple listed = Tuple::Of("a", 1, ByteString{std::string("\x00", 1)}, nullptr, 2.5);
  EXPECT_EQ(fluent, listed);
  EXPECT_EQ(fluent.size(), 5u);
  EXPECT_EQ(fluent[0].type(), TupleElement::Type::kString);
  EXPECT_EQ(fluent[1].type(), TupleElement::Type::kInteger);
  EXPECT_EQ(fluent[2].type(), TupleElement::Type::kBytes);
  EXPECT_EQ(fluent[3].type(), TupleElement::Type::kNull);
  EXPECT_EQ(fluent[4].type(), TupleElement::Type::kDouble);
}

TEST(TupleTest, OfNestsTupleArgumentsWhileCopiesStayCopies) {
  Tuple inner = Tuple::Of(1);
  Tuple nested = Tuple::Of(inner);
  ASSERT_EQ(nested.size(), 1u);
  ASSERT_NE(nested[0].get_if<Tuple>(), nullptr);
  EXPECT_EQ(*nested[0].get_if<Tuple>(), inner);
  Tuple copy(inner);
  EXPECT_EQ(copy, inner);
  EXPECT_EQ(Tuple::Of().size(), 0u);
}

TEST(TupleTest, ExtendAddsElementsWhereAppendNests) {
  Tuple primary_key = Tuple::Of("a", 2);
  Tuple extended = Tuple::Of(1).Extend(primary_key);
  EXPECT_EQ(extended, Tuple::Of(1, "a", 2));
  EXPECT_EQ(extended.Pack(), Tuple::Of(1).Pack() + primary_key.Pack());
  EXPECT_EQ(Tuple::Of(1).Append(primary_key).size(), 2u);
}

TEST(TupleTest, IntegersHaveOneRepresentationWhateverTheSourceType) {
  EXPECT_EQ(TupleElement(int8_t{-5}), TupleElement(Big("-5")));
  EXPECT_EQ(TupleElement(uint16_t{7}).AsInt64(), 7);
  EXPECT_NE(TupleElement(Big("9223372036854775807")).get_if<int64_t>(), nullptr);
  // Only values outside int64_t are held as BigInteger.
  TupleElement uint64_max(std::numeric_limits<uint64_t>::max());
  ASSERT_NE(uint64_max.get_if<BigInteger>(), nullptr);
  EXPECT_EQ(uint64_max.get_if<BigInteger>()->ToDecimal(), "18446744073709551615");
  EXPECT_EQ(uint64_max.AsInt64(), std::nullopt);
  EXPECT_EQ(uint64_max, TupleElement(Big("18446744073709551615")));
}

TEST(TupleTest, CharPointerAndStringViewBecomeStringsNotBools) {
  std::string_view view = "v";
  Tuple tuple = Tuple::Of("literal", view, std::string("owned"));
  for (const TupleElement& element : tuple) {
    EXPECT_EQ(element.type(), TupleElement::Type::kString);
  }
}

TEST(TupleTest, ToStringShowsEveryType) {
  Tuple tuple = Tuple()
                    .AppendNull()
                    .AppendBytes(std::string("a\x00\"", 3))
                    .Append("h\xc3\xa9")
                    .Append(Tuple::Of(1, true))
                    .Append(Big("-18446744073709551616"))
                    .Append(1.5f)
                    .Append(-0.25)
                    .Append(false)
                    .Append(Uuid{{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
                                  0xbb, 0xcc, 0xdd, 0xee, 0xff}})
                    .Append(CompleteStamp("00000000000000010002", 3))
                    .Append(Versionstamp::Incomplete(9));
  EXPECT_EQ(tuple.ToString(),
            "(null, b\"a\\x00\\\"\", \"h\\xc3\\xa9\", (1, true), -18446744073709551616, 1.5f, "
            "-0.25, false, 00112233-4455-6677-8899-aabbccddeeff, "
            "Versionstamp(00000000000000010002, 3), Versionstamp(incomplete, 9))");
}

// ---- Encoding: exact bytes beyond the FDB vectors ----

TEST(TupleTest, PacksStringsAndBytesWithEscapedZeros) {
  EXPECT_EQ(PackHex(Tuple::Of("a")), "026100");
  EXPECT_EQ(PackHex(Tuple().AppendBytes(std::string("\x00\x00", 2))), "0100ff00ff00");
  EXPECT_EQ(PackHex(Tuple::Of(std::string("\x00", 1))), "0200ff00");
}

TEST(TupleTest, PacksNullAtTopLevelAsZeroAndInsideNestedAsZeroFf) {
  Tuple nested_null;
  nested_null.AppendNull();
  EXPECT_EQ(PackHex(Tuple::Of(nullptr, nested_null)), "000500ff00");
}

TEST(TupleTest, PacksDeeplyNestedTuples) {
  Tuple inner = Tuple::Of(1);
  Tuple middle = Tuple().Append(inner).AppendNull();
  Tuple outer = Tuple().Append(middle);
  EXPECT_EQ(PackHex(outer),
            "05"
            "05"
            "1501"
            "00"
            "00ff"
            "00");
}

TEST(TupleTest, PacksInt64Boundaries) {
  EXPECT_EQ(PackHex(Tuple::Of(std::numeric_limits<int64_t>::min())), "0c7fffffffffffffff");
  EXPECT_EQ(PackHex(Tuple::Of(std::numeric_limits<int64_t>::max())), "1c7fffffffffffffff");
  EXPECT_EQ(PackHex(Tuple::Of(int64_t{-0x100000000})), "0ffeffffffff");
  EXPECT_EQ(PackHex(Tuple::Of(uint64_t{0x8000000000000000})), "1c8000000000000000");
}

TEST(TupleTest, PacksIntegersBeyond64BitsWithALengthByte) {
  EXPECT_EQ(PackHex(Tuple::Of(Big("-18446744073709551616"))), "0bf6feffffffffffffffff");
  EXPECT_EQ(PackHex(Tuple::Of(Big("-18446744073709551615"))), "0c0000000000000000");
  EXPECT_EQ(PackHex(Tuple::Of(Big("18446744073709551616"))), "1d09010000000000000000");
  std::string largest_magnitude(BigInteger::kMaxMagnitudeBytes, '\xff');
  BigInteger largest = *BigInteger::FromMagnitude(false, largest_magnitude);
  BigInteger smallest = *BigInteger::FromMagnitude(true, largest_magnitude);
  EXPECT_EQ(Tuple::Of(largest).Pack(), "\x1d\xff" + largest_magnitude);
  EXPECT_EQ(Tuple::Of(smallest).Pack(),
            std::string("\x0b\x00", 2).append(BigInteger::kMaxMagnitudeBytes, '\0'));
  EXPECT_EQ(*Tuple::Unpack(Tuple::Of(largest).Pack()), Tuple::Of(largest));
  EXPECT_EQ(*Tuple::Unpack(Tuple::Of(smallest).Pack()), Tuple::Of(smallest));
}

TEST(TupleTest, PacksFloatsWithSignFlip) {
  EXPECT_EQ(PackHex(Tuple::Of(1.0f)), "20bf800000");
  EXPECT_EQ(PackHex(Tuple::Of(-1.0f)), "20407fffff");
  EXPECT_EQ(PackHex(Tuple::Of(1.0)), "21bff0000000000000");
  EXPECT_EQ(PackHex(Tuple::Of(-0.0)), "217fffffffffffffff");
  EXPECT_EQ(PackHex(Tuple::Of(std::numeric_limits<double>::quiet_NaN())), "21fff8000000000000");
}

TEST(TupleTest, PacksBoolsUuidsAndVersionstamps) {
  EXPECT_EQ(PackHex(Tuple::Of(false, true)), "2627");
  Uuid uuid;
  uuid.bytes.fill(0xab);
  EXPECT_EQ(PackHex(Tuple::Of(uuid)), "30abababababababababababababababab");
  EXPECT_EQ(PackHex(Tuple::Of(CompleteStamp("0102030405060708090a", 0x0b0c))),
            "330102030405060708090a0b0c");
  EXPECT_EQ(PackHex(Tuple::Of(Versionstamp::Incomplete(5))), "33ffffffffffffffffffff0005");
}

TEST(TupleTest, PackIntoAppendsAfterExistingBytes) {
  std::string key = "pre";
  Tuple::Of(1).PackInto(&key);
  EXPECT_EQ(key, "pre\x15\x01");
}

// ---- Versionstamps ----

TEST(TupleTest, VersionstampAccessorsAndValidation) {
  Versionstamp stamp = CompleteStamp("00000000000000640001", 0x0203);
  EXPECT_TRUE(stamp.is_complete());
  EXPECT_EQ(BytesToHex(stamp.transaction_version()), "00000000000000640001");
  EXPECT_EQ(stamp.user_version(), 0x0203);
  EXPECT_FALSE(Versionstamp::Incomplete(1).is_complete());
  EXPECT_EQ(Versionstamp::Incomplete(1).user_version(), 1);

  Status short_version = Versionstamp::Complete("123", 0).status();
  EXPECT_TRUE(HasErrorCode(short_version, ErrorCode::kInvalidArgument));
  EXPECT_EQ(short_version.message(),
            "invalid_argument (8001): a versionstamp's transaction version is 10 bytes, not 3");
  Status placeholder = Versionstamp::Complete(std::string(10, '\xff'), 0).status();
  EXPECT_EQ(placeholder.message(),
            "invalid_argument (8001): transaction version ff*10 is the incomplete-versionstamp "
            "placeholder");
}

TEST(TupleTest, PackWithVersionstampAppendsLittleEndianOffsetOfTransactionVersion) {
  Tuple tuple = Tuple::Of("a", Versionstamp::Incomplete(7));
  StatusOr<std::string> key = tuple.PackWithVersionstamp();
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(BytesToHex(*key),
            "02610033ffffffffffffffffffff0007"
            "04000000");
  StatusOr<std::string> prefixed = tuple.PackWithVersionstamp("xy");
  ASSERT_TRUE(prefixed.ok()) << prefixed.status();
  EXPECT_EQ(BytesToHex(*prefixed),
            "7879"
            "02610033ffffffffffffffffffff0007"
            "06000000");
}

TEST(TupleTest, PackWithVersionstampFindsOneInsideNestedTuple) {
  Tuple tuple = Tuple().Append(1).Append(Tuple::Of(nullptr, Versionstamp::Incomplete(0)));
  EXPECT_TRUE(tuple.HasIncompleteVersionstamp());
  StatusOr<std::string> key = tuple.PackWithVersionstamp();
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(BytesToHex(*key),
            "1501"
            "0500ff33ffffffffffffffffffff000000"
            "06000000");
}

TEST(TupleTest, PackWithVersionstampRejectsNoIncompleteVersionstamp) {
  Tuple tuple = Tuple::Of("a", CompleteStamp("00000000000000000001", 0));
  EXPECT_FALSE(tuple.HasIncompleteVersionstamp());
  Status status = tuple.PackWithVersionstamp().status();
  EXPECT_TRUE(HasErrorCode(status, ErrorCode::kInvalidArgument));
  EXPECT_EQ(status.message(),
            "invalid_argument (8001): a versionstamped key needs exactly one incomplete "
            "versionstamp, found 0 in (\"a\", Versionstamp(00000000000000000001, 0))");
}

TEST(TupleTest, PackWithVersionstampRejectsTwoIncompleteVersionstamps) {
  Tuple tuple =
      Tuple().Append(Versionstamp::Incomplete(1)).Append(Tuple::Of(Versionstamp::Incomplete(2)));
  Status status = tuple.PackWithVersionstamp().status();
  EXPECT_TRUE(HasErrorCode(status, ErrorCode::kInvalidArgument));
  EXPECT_EQ(status.message(),
            "invalid_argument (8001): a versionstamped key needs exactly one incomplete "
            "versionstamp, found 2 in (Versionstamp(incomplete, 1), (Versionstamp(incomplete, "
            "2)))");
}

TEST(TupleTest, IncompleteVersionstampRoundTripsThroughPlainPack) {
  Tuple tuple = Tuple::Of(Versionstamp::Incomplete(3));
  EXPECT_EQ(UnpackHexOrDie(PackHex(tuple)), tuple);
}

// ---- Decoding ----

TEST(TupleTest, UnpacksEmptyInputAsEmptyTuple) { EXPECT_TRUE(UnpackHexOrDie("").empty()); }

TEST(TupleTest, UnpacksEveryType) {
  Tuple expected = Tuple()
                       .AppendNull()
                       .AppendBytes(std::string("\x00\x01", 2))
                       .Append("s")
                       .Append(Tuple::Of(nullptr, Tuple()))
                       .Append(-300)
                       .Append(Big("-18446744073709551616"))
                       .Append(Big("18446744073709551616"))
                       .Append(0.5f)
                       .Append(-2.0)
                       .Append(true)
                       .Append(Uuid{})
                       .Append(CompleteStamp("00000000000000000001", 2));
  EXPECT_EQ(UnpackHexOrDie(PackHex(expected)), expected);
}

TEST(TupleTest, UnpacksNonCanonicalIntegersAndRepacksThemShorter) {
  EXPECT_EQ(UnpackHexOrDie("1500"), Tuple::Of(0));
  EXPECT_EQ(UnpackHexOrDie("160001"), Tuple::Of(1));
  EXPECT_EQ(UnpackHexOrDie("13ff"), Tuple::Of(0));
  EXPECT_EQ(UnpackHexOrDie("1d0101"), Tuple::Of(1));
  EXPECT_EQ(UnpackHexOrDie("1d00"), Tuple::Of(0));
  EXPECT_EQ(UnpackHexOrDie("0bfefe"), Tuple::Of(-1));
  EXPECT_EQ(UnpackHexOrDie("1d0a00010000000000000000"), Tuple::Of(Big("18446744073709551616")));
  EXPECT_EQ(PackHex(UnpackHexOrDie("160001")), "1501");
}

TEST(TupleTest, UnpacksNegativeEightByteIntegersBeyondInt64) {
  Tuple tuple = UnpackHexOrDie("0c7ffffffffffffffe");
  ASSERT_NE(tuple[0].get_if<BigInteger>(), nullptr);
  EXPECT_EQ(tuple[0].get_if<BigInteger>()->ToDecimal(), "-9223372036854775809");
  EXPECT_EQ(UnpackHexOrDie("0c7fffffffffffffff")[0].AsInt64(), std::numeric_limits<int64_t>::min());
}

TEST(TupleTest, UnpackKeepsNanPayloads) {
  Tuple tuple = UnpackHexOrDie(
      "20ffc00001"
      "21fff8000000000001");
  EXPECT_EQ(std::bit_cast<uint32_t>(*tuple[0].get_if<float>()), 0x7fc00001u);
  EXPECT_EQ(std::bit_cast<uint64_t>(*tuple[1].get_if<double>()), 0x7ff8000000000001u);
}

// Decoding failures: each names the problem and the byte offset.
struct BadInput {
  const char* hex;
  const char* message;
};

class TupleUnpackErrorTest : public testing::TestWithParam<BadInput> {};

TEST_P(TupleUnpackErrorTest, FailsWithDataCorruptionNamingProblemAndOffset) {
  StatusOr<Tuple> tuple = Tuple::Unpack(HexToBytes(GetParam().hex));
  ASSERT_FALSE(tuple.ok()) << "decoded " << tuple->ToString();
  EXPECT_TRUE(HasErrorCode(tuple.status(), ErrorCode::kDataCorruption));
  EXPECT_EQ(tuple.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(tuple.status().message(),
            std::string("data_corruption (8004): tuple decode: ") + GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Truncated, TupleUnpackErrorTest,
    testing::Values(
        BadInput{"15", "truncated integer at byte 0: needs 1 more bytes, 0 remain"},
        BadInput{"02610014"
                 "1c010203",
                 "truncated integer at byte 4: needs 8 more bytes, 3 remain"},
        BadInput{"0d00", "truncated integer at byte 0: needs 7 more bytes, 1 remain"},
        BadInput{"1d", "truncated integer length at byte 0: needs 1 more bytes, 0 remain"},
        BadInput{"1d0501", "truncated integer at byte 0: needs 5 more bytes, 1 remain"},
        BadInput{"0b", "truncated integer length at byte 0: needs 1 more bytes, 0 remain"},
        BadInput{"0bfa00", "truncated integer at byte 0: needs 5 more bytes, 1 remain"},
        BadInput{"20000000", "truncated float at byte 0: needs 4 more bytes, 3 remain"},
        BadInput{"2100", "truncated double at byte 0: needs 8 more bytes, 1 remain"},
        BadInput{"30"
                 "0102",
                 "truncated UUID at byte 0: needs 16 more bytes, 2 remain"},
        BadInput{"14"
                 "33ffff",
                 "truncated versionstamp at byte 1: needs 12 more bytes, 2 remain"},
        BadInput{"05"
                 "15",
                 "truncated integer at byte 1: needs 1 more bytes, 0 remain"}));

INSTANTIATE_TEST_SUITE_P(
    Unterminated, TupleUnpackErrorTest,
    testing::Values(BadInput{"01", "unterminated byte string starting at byte 0"},
                    BadInput{"0161", "unterminated byte string starting at byte 0"},
                    BadInput{"016100ff", "unterminated byte string starting at byte 0"},
                    BadInput{"1402", "unterminated string starting at byte 1"},
                    BadInput{"05", "unterminated nested tuple starting at byte 0"},
                    BadInput{"051405", "unterminated nested tuple starting at byte 2"},
                    BadInput{"0500ff", "unterminated nested tuple starting at byte 0"},
                    BadInput{"05026100", "unterminated nested tuple starting at byte 0"},
                    BadInput{"0502", "unterminated string starting at byte 1"}));

INSTANTIATE_TEST_SUITE_P(BadTypeCodes, TupleUnpackErrorTest,
                         testing::Values(BadInput{"03", "unknown type code 0x03 at byte 0"},
                                         BadInput{"1404", "unknown type code 0x04 at byte 1"},
                                         BadInput{"1e", "unknown type code 0x1e at byte 0"},
                                         BadInput{"22", "unknown type code 0x22 at byte 0"},
                                         BadInput{"31", "unknown type code 0x31 at byte 0"},
                                         BadInput{"32", "unknown type code 0x32 at byte 0"},
                                         BadInput{"40", "unknown type code 0x40 at byte 0"},
                                         BadInput{"00ff", "unknown type code 0xff at byte 1"},
                                         BadInput{"0514ff00", "unknown type code 0xff at byte 2"}));

INSTANTIATE_TEST_SUITE_P(
    InvalidUtf8, TupleUnpackErrorTest,
    testing::Values(
        BadInput{"02ff00", "invalid UTF-8 in string starting at byte 0 (string byte 0)"},
        BadInput{"1402c0af00", "invalid UTF-8 in string starting at byte 1 (string byte 0)"},
        BadInput{"0261eda08000", "invalid UTF-8 in string starting at byte 0 (string byte 1)"},
        BadInput{"02f49080808000", "invalid UTF-8 in string starting at byte 0 (string byte 0)"},
        BadInput{"02e28200", "invalid UTF-8 in string starting at byte 0 (string byte 0)"},
        BadInput{"0280", "unterminated string starting at byte 0"},
        BadInput{"028000", "invalid UTF-8 in string starting at byte 0 (string byte 0)"}));

TEST(TupleTest, UnpackAcceptsMaximumNestingDepthAndRejectsOneMore) {
  int depth = Tuple::kMaxNestingDepth;
  std::string deepest = std::string(depth, '\x05') + std::string(depth, '\x00');
  StatusOr<Tuple> tuple = Tuple::Unpack(deepest);
  ASSERT_TRUE(tuple.ok()) << tuple.status();
  EXPECT_EQ(tuple->Pack(), deepest);

  std::string too_deep = std::string(depth + 1, '\x05') + std::string(depth + 1, '\x00');
  Status status = Tuple::Unpack(too_deep).status();
  EXPECT_TRUE(HasErrorCode(status, ErrorCode::kDataCorruption));
  EXPECT_EQ(status.message(),
            "data_corruption (8004): tuple decode: nested tuple at byte 256 exceeds the maximum "
            "nesting depth of 256");
}

// ---- Ordering ----

TEST(TupleTest, TypesSortInFdbOrder) {
  std::vector<Tuple> ascending = {
      Tuple::Of(nullptr),
      Tuple().AppendBytes("z"),
      Tuple::Of(""),
      Tuple().Append(Tuple()),
      Tuple::Of(Big("-18446744073709551616")),
      Tuple::Of(Big("18446744073709551616")),
      Tuple::Of(-1.0f),
      Tuple::Of(-1.0),
      Tuple::Of(false),
      Tuple::Of(true),
      Tuple::Of(Uuid{}),
      Tuple::Of(CompleteStamp("00000000000000000000", 0)),
  };
  for (size_t i = 0; i + 1 < ascending.size(); ++i) {
    EXPECT_LT(ascending[i], ascending[i + 1]) << i;
    EXPECT_LT(ascending[i].Pack(), ascending[i + 1].Pack()) << i;
  }
}

TEST(TupleTest, IntegersSortNumericallyAcrossRepresentations) {
  std::vector<TupleElement> ascending = {
      Big("-18446744073709551617"),
      Big("-18446744073709551616"),
      Big("-18446744073709551615"),
      Big("-9223372036854775809"),
      std::numeric_limits<int64_t>::min(),
      -256,
      -255,
      -1,
      0,
      1,
      255,
      256,
      std::numeric_limits<int64_t>::max(),
      Big("9223372036854775808"),
      std::numeric_limits<uint64_t>::max(),
      Big("18446744073709551616"),
  };
  for (size_t i = 0; i + 1 < ascending.size(); ++i) {
    Tuple low = Tuple::Of(ascending[i]);
    Tuple high = Tuple::Of(ascending[i + 1]);
    EXPECT_LT(low, high) << low.ToString() << " vs " << high.ToString();
    EXPECT_LT(low.Pack(), high.Pack()) << low.ToString() << " vs " << high.ToString();
  }
}

TEST(TupleTest, FloatsSortByEncodingWithSignedZerosAndNans) {
  double nan = std::numeric_limits<double>::quiet_NaN();
  double inf = std::numeric_limits<double>::infinity();
  std::vector<double> ascending = {-nan, -inf, -1.0, -0.0, 0.0, 1e-300, 1.0, inf, nan};
  for (size_t i = 0; i + 1 < ascending.size(); ++i) {
    Tuple low = Tuple::Of(ascending[i]);
    Tuple high = Tuple::Of(ascending[i + 1]);
    EXPECT_LT(low, high) << i;
    EXPECT_LT(low.Pack(), high.Pack()) << i;
  }
  EXPECT_EQ(Tuple::Of(nan), Tuple::Of(nan));
  EXPECT_NE(Tuple::Of(0.0), Tuple::Of(-0.0));
  EXPECT_NE(Tuple::Of(std::bit_cast<double>(uint64_t{0x7ff8000000000001})), Tuple::Of(nan));
  EXPECT_LT(Tuple::Of(std::numeric_limits<float>::quiet_NaN()), Tuple::Of(-inf));  // float < double
}

TEST(TupleTest, ShorterTupleSortsFirstAndNestedTuplesCompareElementwise) {
  EXPECT_LT(Tuple(), Tuple::Of(nullptr));
  EXPECT_LT(Tuple::Of("a"), (Tuple::Of("a", nullptr)));
  EXPECT_LT(Tuple::Of("a"), Tuple::Of(std::string("a\x00", 2)));
  Tuple nested_short = Tuple().Append(Tuple::Of(1));
  Tuple nested_long = Tuple().Append(Tuple::Of(1, nullptr));
  EXPECT_LT(nested_short, nested_long);
  EXPECT_LT(nested_short.Pack(), nested_long.Pack());
  EXPECT_EQ(Tuple().Append(Tuple::Of(1, "x")), Tuple().Append(Tuple::Of(1, "x")));
}

}  // namespace
}  // namespace recordstore
