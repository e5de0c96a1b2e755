// libFuzzer target for Tuple::Unpack on untrusted bytes. Beyond "never crashes or reads out
// of bounds" (ASan/UBSan), it checks what must hold whenever decoding succeeds:
//  - the canonical re-encoding decodes to the same tuple and re-encodes to the same bytes;
//  - it is never longer than the input, and when it is as long it is the input itself, since
//    the only non-canonical encodings are integers written wider than needed;
//  - tuple comparison agrees with bytewise comparison of encodings (the input's first byte
//    picks where to split the rest into two tuples).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tuple/tuple.h"

namespace recordstore {
namespace {

void Check(bool condition, const char* what, std::string_view input) {
  if (condition) {
    return;
  }
  std::fprintf(stderr, "tuple fuzzer: %s; input (%zu bytes):", what, input.size());
  for (char c : input) {
    std::fprintf(stderr, " %02x", static_cast<uint8_t>(c));
  }
  std::fprintf(stderr, "\n");
  std::abort();
}

void CheckRoundTrip(std::string_view input) {
  StatusOr<Tuple> tuple = Tuple::Unpack(input);
  if (!tuple.ok()) {
    Check(HasErrorCode(tuple.status(), ErrorCode::kDataCorruption),
          "decode failed with a code other than kDataCorruption", input);
    return;
  }
  std::string canonical = tuple->Pack();
  Check(canonical.size() <= input.size(), "re-encoding is longer than the input", input);
  Check(canonical.size() < input.size() || canonical == input,
        "re-encoding of equal length differs from the input", input);
  StatusOr<Tuple> again = Tuple::Unpack(canonical);
  Check(again.ok(), "re-encoding does not decode", input);
  Check(*again == *tuple, "re-encoding decodes to a different tuple", input);
  Check(again->Pack() == canonical, "re-encoding is not stable", input);
}

int Sign(std::strong_ordering order) {
  if (std::is_lt(order)) {
    return -1;
  }
  return std::is_gt(order) ? 1 : 0;
}

void CheckOrder(std::string_view input) {
  if (input.empty()) {
    return;
  }
  std::string_view rest = input.substr(1);
  size_t split = rest.empty() ? 0 : static_cast<uint8_t>(input[0]) % (rest.size() + 1);
  StatusOr<Tuple> a = Tuple::Unpack(rest.substr(0, split));
  StatusOr<Tuple> b = Tuple::Unpack(rest.substr(split));
  if (!a.ok() || !b.ok()) {
    return;
  }
  Check(Sign(*a <=> *b) == Sign(a->Pack() <=> b->Pack()),
        "tuple order differs from byte order of encodings", input);
}

}  // namespace
}  // namespace recordstore

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  recordstore::CheckRoundTrip(input);
  recordstore::CheckOrder(input);
  return 0;
}
