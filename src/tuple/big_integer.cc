#include "tuple/big_integer.h"

#include <algorithm>

namespace recordstore {
namespace {

std::string MagnitudeOfUint64(uint64_t value) {
  std::string bytes;
  for (int shift = 56; shift >= 0; shift -= 8) {
    uint8_t byte = static_cast<uint8_t>(value >> shift);
    if (byte != 0 || !bytes.empty()) {
      bytes.push_back(static_cast<char>(byte));
    }
  }
  return bytes;
}

std::optional<uint64_t> MagnitudeToUint64(std::string_view magnitude) {
  if (magnitude.size() > 8) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (char byte : magnitude) {
    value = (value << 8) | static_cast<uint8_t>(byte);
  }
  return value;
}

Status NotDecimal(std::string_view text) {
  std::string detail(1, '\'');
  detail.append(text).append("' is not a decimal integer");
  return MakeError(ErrorCode::kInvalidArgument, detail);
}

}  // namespace

BigInteger BigInteger::FromInt64(int64_t value) {
  // Negating in unsigned arithmetic keeps INT64_MIN defined.
  uint64_t magnitude = value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  return BigInteger(value < 0, MagnitudeOfUint64(magnitude));
}

BigInteger BigInteger::FromUint64(uint64_t value) {
  return BigInteger(false, MagnitudeOfUint64(value));
}

StatusOr<BigInteger> BigInteger::FromMagnitude(bool negative, std::string_view magnitude) {
  size_t first_nonzero = magnitude.find_first_not_of('\0');
  if (first_nonzero == std::string_view::npos) {
    return BigInteger();
  }
  magnitude.remove_prefix(first_nonzero);
  if (magnitude.size() > kMaxMagnitudeBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "integer magnitude of " +
                                                      std::to_string(magnitude.size()) +
                                                      " bytes exceeds the tuple limit of 255");
  }
  return BigInteger(negative, std::string(magnitude));
}

StatusOr<BigInteger> BigInteger::FromDecimal(std::string_view text) {
  bool negative = !text.empty() && text.front() == '-';
  std::string_view digits = negative ? text.substr(1) : text;
  if (digits.empty()) {
    return NotDecimal(text);
  }
  // Little-endian while accumulating so that carries grow at the back.
  std::string little_endian;
  for (char c : digits) {
    if (c < '0' || c > '9') {
      return NotDecimal(text);
    }
    uint32_t carry = static_cast<uint32_t>(c - '0');
    for (char& byte : little_endian) {
      uint32_t product = static_cast<uint8_t>(byte) * 10u + carry;
      byte = static_cast<char>(product & 0xff);
      carry = product >> 8;
    }
    if (carry != 0) {
      little_endian.push_back(static_cast<char>(carry));
    }
    if (little_endian.size() > kMaxMagnitudeBytes) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "decimal integer exceeds the tuple limit of 255 magnitude bytes");
    }
  }
  std::reverse(little_endian.begin(), little_endian.end());
  return FromMagnitude(negative, little_endian);
}

std::optional<int64_t> BigInteger::ToInt64() const {
  std::optional<uint64_t> magnitude = MagnitudeToUint64(magnitude_);
  if (!magnitude.has_value()) {
    return std::nullopt;
  }
  constexpr uint64_t kInt64MaxMagnitude = static_cast<uint64_t>(INT64_MAX);
  if (!negative_) {
    if (*magnitude > kInt64MaxMagnitude) {
      return std::nullopt;
    }
    return static_cast<int64_t>(*magnitude);
  }
  if (*magnitude > kInt64MaxMagnitude + 1) {
    return std::nullopt;
  }
  // Two's complement negation in unsigned arithmetic maps 2^63 to INT64_MIN without overflow.
  return static_cast<int64_t>(0 - *magnitude);
}

std::optional<uint64_t> BigInteger::ToUint64() const {
  if (negative_) {
    return std::nullopt;
  }
  return MagnitudeToUint64(magnitude_);
}

std::string BigInteger::ToDecimal() const {
  if (magnitude_.empty()) {
    return "0";
  }
  std::string dividend = magnitude_;
  std::string reversed_digits;
  size_t leading = 0;  // Bytes of `dividend` already reduced to zero.
  while (leading < dividend.size()) {
    uint32_t remainder = 0;
    for (size_t i = leading; i < dividend.size(); ++i) {
      uint32_t current = (remainder << 8) | static_cast<uint8_t>(dividend[i]);
      dividend[i] = static_cast<char>(current / 10);
      remainder = current % 10;
    }
    reversed_digits.push_back(static_cast<char>('0' + remainder));
    while (leading < dividend.size() && dividend[leading] == '\0') {
      ++leading;
    }
  }
  if (negative_) {
    reversed_digits.push_back('-');
  }
  return std::string(reversed_digits.rbegin(), reversed_digits.rend());
}

std::strong_ordering operator<=>(const BigInteger& a, const BigInteger& b) {
  if (a.negative_ != b.negative_) {
    return a.negative_ ? std::strong_ordering::less : std::strong_ordering::greater;
  }
  // Same sign: the longer magnitude is larger, then the bytewise larger; reversed if negative.
  auto compare_magnitudes = [](std::string_view x, std::string_view y) {
    if (x.size() != y.size()) {
      return x.size() <=> y.size();
    }
    return x.compare(y) <=> 0;
  };
  return a.negative_ ? compare_magnitudes(b.magnitude_, a.magnitude_)
                     : compare_magnitudes(a.magnitude_, b.magnitude_);
}

}  // namespace recordstore
