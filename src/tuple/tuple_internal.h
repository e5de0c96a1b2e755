// Encoding details shared by the tuple value model (ordering) and the codec. Internal.
#ifndef RECORDSTORE_TUPLE_TUPLE_INTERNAL_H_
#define RECORDSTORE_TUPLE_TUPLE_INTERNAL_H_

#include <bit>
#include <cstdint>

namespace recordstore::tuple_internal {

// Type codes from FDB's design/tuple.md.
inline constexpr uint8_t kNullCode = 0x00;
inline constexpr uint8_t kBytesCode = 0x01;
inline constexpr uint8_t kStringCode = 0x02;
inline constexpr uint8_t kNestedCode = 0x05;
inline constexpr uint8_t kNegativeBigIntegerCode = 0x0b;  // then ~length, ~magnitude
inline constexpr uint8_t kIntegerZeroCode = 0x14;         // 0x14 +/- n: n-byte magnitude
inline constexpr uint8_t kPositiveBigIntegerCode = 0x1d;  // then length, magnitude
inline constexpr uint8_t kFloatCode = 0x20;
inline constexpr uint8_t kDoubleCode = 0x21;
inline constexpr uint8_t kFalseCode = 0x26;
inline constexpr uint8_t kTrueCode = 0x27;
inline constexpr uint8_t kUuidCode = 0x30;
inline constexpr uint8_t kVersionstampCode = 0x33;
// Inside byte strings, strings and nested tuples, 0x00 is followed by this escape byte when
// it is data (or a nested null) rather than the terminator.
inline constexpr uint8_t kEscapeByte = 0xff;

// IEEE-754 bits made to sort as unsigned integers in numeric order: flip the sign bit of
// non-negative values and every bit of negative ones. The inverse flips the same way back.
inline uint32_t OrderedFloatBits(float value) {
  uint32_t bits = std::bit_cast<uint32_t>(value);
  return (bits & 0x80000000u) ? ~bits : bits ^ 0x80000000u;
}
inline float FloatFromOrderedBits(uint32_t ordered) {
  return std::bit_cast<float>((ordered & 0x80000000u) ? ordered ^ 0x80000000u : ~ordered);
}
inline uint64_t OrderedDoubleBits(double value) {
  uint64_t bits = std::bit_cast<uint64_t>(value);
  return (bits & 0x8000000000000000u) ? ~bits : bits ^ 0x8000000000000000u;
}
inline double DoubleFromOrderedBits(uint64_t ordered) {
  return std::bit_cast<double>((ordered & 0x8000000000000000u) ? ordered ^ 0x8000000000000000u
                                                               : ~ordered);
}

}  // namespace recordstore::tuple_internal

#endif  // RECORDSTORE_TUPLE_TUPLE_INTERNAL_H_
