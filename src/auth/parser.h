// Parser for the Datalog text form (SPECIFICATIONS.md, "Grammar"): blocks and authorizer
// code. `&&` and `||` compile to their short-circuiting (closure) forms, parentheses are
// kept as Parens operations so that printing reproduces the source.
//
// Errors are PARSE (kInvalidArgument) with the byte offset and what was expected. Input is
// untrusted: nesting is bounded and every read is bounds-checked.
//
// Thread-safety: pure functions.
#ifndef RECORDSTORE_AUTH_PARSER_H_
#define RECORDSTORE_AUTH_PARSER_H_

#include <string_view>

#include "auth/datalog.h"
#include "recordstore/status.h"

namespace recordstore::auth {

// A token block: optional leading `trusting ...;`, then facts, rules and checks, each
// ending with ';'. Policies are refused.
StatusOr<BlockContent> ParseBlock(std::string_view text);

// Authorizer code: facts, rules, checks and allow/deny policies, each ending with ';'.
StatusOr<BlockContent> ParseAuthorizer(std::string_view text);

// A single rule `head <- body`, with an optional final ';'.
StatusOr<Rule> ParseRule(std::string_view text);

}  // namespace recordstore::auth

#endif  // RECORDSTORE_AUTH_PARSER_H_
