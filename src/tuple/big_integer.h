// BigInteger: a signed integer of any size the FDB tuple encoding can carry, stored as sign +
// big-endian magnitude. It exists so that tuples round-trip integers beyond 64 bits (type
// codes 0x0b and 0x1d) exactly; it is a value holder, not an arithmetic library.
//
// Thread-safety: a BigInteger is an immutable value; const methods may be called concurrently.
#ifndef RECORDSTORE_TUPLE_BIG_INTEGER_H_
#define RECORDSTORE_TUPLE_BIG_INTEGER_H_

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "recordstore/status.h"

namespace recordstore {

class BigInteger {
 public:
  // The tuple encoding stores the magnitude's byte count in one byte.
  static constexpr size_t kMaxMagnitudeBytes = 255;

  // Zero.
  BigInteger() = default;

  static BigInteger FromInt64(int64_t value);
  static BigInteger FromUint64(uint64_t value);

  // The integer whose absolute value is the big-endian unsigned `magnitude` (leading zero
  // bytes allowed) and whose sign is negative when `negative` is true and the magnitude is
  // non-zero. Fails with kInvalidArgument when the magnitude needs more than
  // kMaxMagnitudeBytes bytes.
  static StatusOr<BigInteger> FromMagnitude(bool negative, std::string_view magnitude);

  // Parses an optional '-' followed by one or more decimal digits. Fails with
  // kInvalidArgument on any other text or when the value exceeds kMaxMagnitudeBytes.
  static StatusOr<BigInteger> FromDecimal(std::string_view text);

  // True for values below zero (never for zero).
  bool negative() const { return negative_; }
  bool is_zero() const { return magnitude_.empty(); }

  // Big-endian absolute value without leading zero bytes; empty for zero.
  std::string_view magnitude() const { return magnitude_; }

  // The value when it fits the type, else nullopt.
  std::optional<int64_t> ToInt64() const;
  std::optional<uint64_t> ToUint64() const;

  // Decimal text, "-" first for negative values: the inverse of FromDecimal.
  std::string ToDecimal() const;

  friend std::strong_ordering operator<=>(const BigInteger& a, const BigInteger& b);
  friend bool operator==(const BigInteger& a, const BigInteger& b) = default;

 private:
  BigInteger(bool negative, std::string magnitude)
      : negative_(negative), magnitude_(std::move(magnitude)) {}

  bool negative_ = false;  // Invariant: false when magnitude_ is empty.
  std::string magnitude_;  // Invariant: no leading zero byte; at most kMaxMagnitudeBytes.
};

}  // namespace recordstore

#endif  // RECORDSTORE_TUPLE_BIG_INTEGER_H_
