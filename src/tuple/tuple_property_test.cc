// Seeded property tests: random tuples round-trip through Pack/Unpack, and comparing tuples
// agrees with comparing their encodings bytewise. Values come from small pools around type
// boundaries so that equal prefixes, escapes and integer width changes occur often.
#include <gtest/gtest.h>

#include <bit>
#include <cstdlib>
#include <limits>
#include <random>

#include "tuple/tuple.h"
#include "tuple/tuple_test_util.h"

namespace recordstore {
namespace {

constexpr uint64_t kSeed = 20261121;

class RandomTuples {
 public:
  explicit RandomTuples(uint64_t seed) : rng_(seed) {}

  Tuple NextTuple(int depth = 0) {
    Tuple tuple;
    size_t size = Uniform(0, 4);
    for (size_t i = 0; i < size; ++i) {
      tuple.Append(NextElement(depth));
    }
    return tuple;
  }

 private:
  uint64_t Uniform(uint64_t low, uint64_t high) {
    return std::uniform_int_distribution<uint64_t>(low, high)(rng_);
  }

  std::string Pieces(const std::vector<std::string>& pool) {
    std::string out;
    size_t count = Uniform(0, 3);
    for (size_t i = 0; i < count; ++i) {
      out += pool[Uniform(0, pool.size() - 1)];
    }
    return out;
  }

  // Near the boundaries where the encoded width changes, or any 64-bit value.
  int64_t NextInt64() {
    static const int64_t kBoundaries[] = {
        0, 1, 255, 256, 65535, 65536, 1LL << 32, std::numeric_limits<int64_t>::max()};
    switch (Uniform(0, 2)) {
      case 0: {
        int64_t base = kBoundaries[Uniform(0, std::size(kBoundaries) - 1)];
        int64_t value = base - static_cast<int64_t>(Uniform(0, 2));
        return Uniform(0, 1) ? value : -value - static_cast<int64_t>(Uniform(0, 1));
      }
      case 1:
        return static_cast<int64_t>(Uniform(0, 2000)) - 1000;
      default:
        return static_cast<int64_t>(rng_() >> Uniform(0, 63));
    }
  }

  BigInteger NextBigInteger() {
    std::string magnitude(Uniform(8, 12), '\0');
    for (char& byte : magnitude) {
      byte = static_cast<char>(Uniform(0, 1) ? 0xff : rng_());
    }
    magnitude[0] = static_cast<char>(Uniform(1, 255));
    return *BigInteger::FromMagnitude(Uniform(0, 1) == 1, magnitude);
  }

  template <typename Float, typename Bits>
  Float NextFloat() {
    static const Float kPool[] = {0.0,
                                  -0.0,
                                  1.0,
                                  -1.0,
                                  std::numeric_limits<Float>::infinity(),
                                  -std::numeric_limits<Float>::infinity(),
                                  std::numeric_limits<Float>::quiet_NaN(),
                                  -std::numeric_limits<Float>::quiet_NaN(),
                                  std::numeric_limits<Float>::denorm_min()};
    if (Uniform(0, 1)) {
      return kPool[Uniform(0, std::size(kPool) - 1)];
    }
    return std::bit_cast<Float>(static_cast<Bits>(rng_()));
  }

  TupleElement NextElement(int depth) {
    switch (Uniform(0, depth < 3 ? 11 : 10)) {
      case 0:
        return TupleElement();
      case 1:
        return ByteString{Pieces({std::string(1, '\0'), "\x01", "\xff", "a"})};
      case 2:
        return Pieces({"", "a", "b", std::string(1, '\0'), "\xc3\xa9", "\xf0\x9f\x94\xa5"});
      case 3:
      case 4:
        return NextInt64();
      case 5:
        return NextBigInteger();
      case 6:
        return NextFloat<float, uint32_t>();
      case 7:
        return NextFloat<double, uint64_t>();
      case 8:
        return Uniform(0, 1) == 1;
      case 9: {
        Uuid uuid;
        for (uint8_t& byte : uuid.bytes) {
          byte = static_cast<uint8_t>(Uniform(0, 2));
        }
        return uuid;
      }
      case 10: {
        if (Uniform(0, 3) == 0) {
          return Versionstamp::Incomplete(static_cast<uint16_t>(Uniform(0, 2)));
        }
        std::array<uint8_t, Versionstamp::kSize> bytes;
        for (uint8_t& byte : bytes) {
          byte = static_cast<uint8_t>(Uniform(0, 2));
        }
        return Versionstamp::FromBytes(bytes);
      }
      default:
        return NextTuple(depth + 1);
    }
  }

  std::mt19937_64 rng_;
};

int Sign(std::strong_ordering order) {
  if (std::is_lt(order)) {
    return -1;
  }
  return std::is_gt(order) ? 1 : 0;
}

TEST(TuplePropertyTest, RandomTuplesRoundTrip) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  RandomTuples random(kSeed);
  for (int i = 0; i < 20000; ++i) {
    Tuple tuple = random.NextTuple();
    std::string packed = tuple.Pack();
    StatusOr<Tuple> unpacked = Tuple::Unpack(packed);
    ASSERT_TRUE(unpacked.ok()) << tuple.ToString() << ": " << unpacked.status();
    ASSERT_EQ(*unpacked, tuple) << BytesToHex(packed);
    ASSERT_EQ(unpacked->Pack(), packed) << tuple.ToString();
  }
}

TEST(TuplePropertyTest, ComparisonEqualsBytewiseOrderOfEncodings) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  RandomTuples random(kSeed + 1);
  int equal_pairs = 0;
  for (int i = 0; i < 50000; ++i) {
    Tuple a = random.NextTuple();
    Tuple b = random.NextTuple();
    int by_value = Sign(a <=> b);
    int by_bytes = Sign(a.Pack() <=> b.Pack());
    ASSERT_EQ(by_value, by_bytes) << a.ToString() << " vs " << b.ToString();
    ASSERT_EQ(Sign(b <=> a), -by_value) << a.ToString() << " vs " << b.ToString();
    if (by_value == 0) {
      ++equal_pairs;
    }
  }
  // The pools are small enough that equal tuples occur; otherwise equality went untested.
  EXPECT_GT(equal_pairs, 100);
}

TEST(TuplePropertyTest, TruncatedAndMutatedEncodingsNeverCrash) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  RandomTuples random(kSeed + 2);
  std::mt19937_64 rng(kSeed + 3);
  for (int i = 0; i < 2000; ++i) {
    std::string packed = random.NextTuple().Pack();
    for (size_t length = 0; length < packed.size(); ++length) {
      // A proper prefix may still be a valid tuple (one element fewer); if not, it must
      // fail as corruption.
      StatusOr<Tuple> prefix = Tuple::Unpack(packed.substr(0, length));
      if (!prefix.ok()) {
        ASSERT_TRUE(HasErrorCode(prefix.status(), ErrorCode::kDataCorruption));
      }
    }
    if (packed.empty()) {
      continue;
    }
    std::string mutated = packed;
    mutated[rng() % mutated.size()] = static_cast<char>(rng());
    StatusOr<Tuple> tuple = Tuple::Unpack(mutated);
    if (tuple.ok()) {
      ASSERT_EQ(*Tuple::Unpack(tuple->Pack()), *tuple) << BytesToHex(mutated);
    } else {
      ASSERT_TRUE(HasErrorCode(tuple.status(), ErrorCode::kDataCorruption));
    }
  }
}

}  // namespace
}  // namespace recordstore
