// Hex helpers shared by the tuple tests.
#ifndef RECORDSTORE_TUPLE_TUPLE_TEST_UTIL_H_
#define RECORDSTORE_TUPLE_TUPLE_TEST_UTIL_H_

#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "tuple/tuple.h"

namespace recordstore {

// "0a ff" style input without spaces: "0aff" -> "\x0a\xff". Throws on malformed hex, which
// only test data can contain.
inline std::string HexToBytes(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    throw std::invalid_argument("bad hex digit");
  };
  if (hex.size() % 2 != 0) {
    throw std::invalid_argument("odd-length hex");
  }
  std::string bytes;
  for (size_t i = 0; i < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  }
  return bytes;
}

inline std::string BytesToHex(std::string_view bytes) {
  constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (char c : bytes) {
    hex.push_back(kDigits[static_cast<uint8_t>(c) >> 4]);
    hex.push_back(kDigits[static_cast<uint8_t>(c) & 0xf]);
  }
  return hex;
}

// Lets GoogleTest print tuples in failure messages.
inline void PrintTo(const Tuple& tuple, std::ostream* os) { *os << tuple.ToString(); }
inline void PrintTo(const TupleElement& element, std::ostream* os) { *os << element.ToString(); }

}  // namespace recordstore

#endif  // RECORDSTORE_TUPLE_TUPLE_TEST_UTIL_H_
