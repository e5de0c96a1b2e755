// libFuzzer target for the Datalog text parser on untrusted text. Beyond "never crashes"
// (ASan/UBSan), it checks that whatever parses prints to text that parses back and prints
// identically, and that running it as authorizer code (with small limits) ends in a result
// or a structured error.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/biscuit.h"
#include "auth/error.h"
#include "auth/parser.h"

namespace {

void Require(bool condition, const char* what, std::string_view input) {
  if (condition) {
    return;
  }
  std::fprintf(stderr, "datalog parser fuzzer: %s; input: %.*s\n", what,
               static_cast<int>(input.size()), input.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace recordstore::auth;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto parsed = ParseAuthorizer(input);
  if (!parsed.ok()) {
    Require(HasAuthErrorKind(parsed.status(), wire::AuthErrorDetail::PARSE),
            "parse failure that is not PARSE", input);
    return 0;
  }
  const std::string printed = ToString(*parsed);
  auto reparsed = ParseAuthorizer(printed);
  Require(reparsed.ok(), "printed code does not parse", printed);
  Require(ToString(*reparsed) == printed, "printing is not stable", printed);

  Authorizer authorizer;
  authorizer.SetLimits(
      RunLimits{.max_facts = 200, .max_iterations = 20, .max_time = std::chrono::milliseconds(20)});
  Require(authorizer.AddCode(input).ok(), "code parsed once but not twice", input);
  auto result = authorizer.Authorize();
  Require(result.ok() || GetAuthErrorDetail(result.status()).has_value(),
          "authorization error without detail", input);
  return 0;
}
