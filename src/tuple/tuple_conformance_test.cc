// Conformance with FoundationDB's own tuple test vectors (testdata/fdb_tuple_vectors.json,
// transcribed from the FDB repository; see testdata/LICENSE): every case packs to exactly the
// given bytes and unpacks back, and every ordered pair compares as FDB's design says.
#include <gtest/gtest.h>

#include <bit>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tuple/tuple.h"
#include "tuple/tuple_test_util.h"

namespace recordstore {
namespace {

using nlohmann::json;

json LoadVectors() {
  std::ifstream file(std::string(RS_TUPLE_TESTDATA_DIR) + "/fdb_tuple_vectors.json");
  if (!file) {
    throw std::runtime_error("cannot open fdb_tuple_vectors.json");
  }
  return json::parse(file);
}

const json& Vectors() {
  static const json vectors = LoadVectors();
  return vectors;
}

template <size_t N>
std::array<uint8_t, N> FixedBytes(const std::string& hex) {
  std::string bytes = HexToBytes(hex);
  if (bytes.size() != N) {
    throw std::invalid_argument("wrong length: " + hex);
  }
  std::array<uint8_t, N> out;
  std::memcpy(out.data(), bytes.data(), N);
  return out;
}

Tuple TupleFromJson(const json& elements);

TupleElement ElementFromJson(const json& element) {
  if (element.size() != 1) {
    throw std::invalid_argument("element: " + element.dump());
  }
  const auto& [type, value] = *element.items().begin();
  if (type == "null") {
    return TupleElement();
  }
  if (type == "bytes") {
    return ByteString{HexToBytes(value.get<std::string>())};
  }
  if (type == "string") {
    return value.get<std::string>();
  }
  if (type == "nested") {
    return TupleFromJson(value);
  }
  if (type == "bool") {
    return value.get<bool>();
  }
  if (type == "uuid") {
    return Uuid{FixedBytes<16>(value.get<std::string>())};
  }
  if (type == "versionstamp") {
    return Versionstamp::FromBytes(FixedBytes<12>(value.get<std::string>()));
  }
  if (type == "int") {
    StatusOr<BigInteger> integer = BigInteger::FromDecimal(value.get<std::string>());
    if (!integer.ok()) {
      throw std::invalid_argument(integer.status().ToString());
    }
    return *std::move(integer);
  }
  if (type == "float") {
    std::array<uint8_t, 4> bits = FixedBytes<4>(value.get<std::string>());
    uint32_t word = (uint32_t{bits[0]} << 24) | (bits[1] << 16) | (bits[2] << 8) | bits[3];
    return std::bit_cast<float>(word);
  }
  if (type == "double") {
    std::array<uint8_t, 8> bits = FixedBytes<8>(value.get<std::string>());
    uint64_t word = 0;
    for (uint8_t byte : bits) {
      word = (word << 8) | byte;
    }
    return std::bit_cast<double>(word);
  }
  throw std::invalid_argument("unknown element type " + type);
}

Tuple TupleFromJson(const json& elements) {
  Tuple tuple;
  for (const json& element : elements) {
    tuple.Append(ElementFromJson(element));
  }
  return tuple;
}

TEST(TupleConformanceTest, VectorFileHasCasesAndOrderPairs) {
  EXPECT_EQ(Vectors()["cases"].size(), 83u);
  EXPECT_EQ(Vectors()["order_cases"].size(), 4u);
}

TEST(TupleConformanceTest, EveryCasePacksToTheGivenBytesAndUnpacksBack) {
  for (const json& test_case : Vectors()["cases"]) {
    SCOPED_TRACE(test_case["origin"].get<std::string>());
    Tuple tuple = TupleFromJson(test_case["tuple"]);
    std::string expected = HexToBytes(test_case["hex"].get<std::string>());
    EXPECT_EQ(BytesToHex(tuple.Pack()), BytesToHex(expected));
    StatusOr<Tuple> unpacked = Tuple::Unpack(expected);
    ASSERT_TRUE(unpacked.ok()) << unpacked.status();
    EXPECT_EQ(*unpacked, tuple);
    EXPECT_EQ(BytesToHex(unpacked->Pack()), BytesToHex(expected));
  }
}

TEST(TupleConformanceTest, OrderCasesSortFirstBeforeSecond) {
  for (const json& pair : Vectors()["order_cases"]) {
    SCOPED_TRACE(pair.dump());
    Tuple first = TupleFromJson(pair[0]);
    Tuple second = TupleFromJson(pair[1]);
    EXPECT_LT(first, second);
    EXPECT_LT(first.Pack(), second.Pack());
  }
}

TEST(TupleConformanceTest, ComparisonAgreesWithByteOrderForAllCasePairs) {
  std::vector<Tuple> tuples;
  for (const json& test_case : Vectors()["cases"]) {
    tuples.push_back(TupleFromJson(test_case["tuple"]));
  }
  for (const Tuple& a : tuples) {
    for (const Tuple& b : tuples) {
      EXPECT_EQ(a <=> b, a.Pack() <=> b.Pack()) << a.ToString() << " vs " << b.ToString();
    }
  }
}

}  // namespace
}  // namespace recordstore
