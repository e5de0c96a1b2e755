// Evaluation of Datalog expressions (the stack machine of SPECIFICATIONS.md, "Execution").
//
// Thread-safety: pure functions; ExternFunctions must be safe to call concurrently if the
// caller evaluates concurrently.
#ifndef RECORDSTORE_AUTH_EXPRESSION_H_
#define RECORDSTORE_AUTH_EXPRESSION_H_

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "auth/datalog.h"
#include "recordstore/status.h"

namespace recordstore::auth {

// A host function callable from Datalog as `value.extern::name()` (right == nullptr) or
// `value.extern::name(arg)`. An error it returns becomes an EXECUTION error.
using ExternFunction = std::function<StatusOr<Term>(const Term& left, const Term* right)>;
using ExternFunctions = std::map<std::string, ExternFunction, std::less<>>;

// Variable name (without '$') to value.
using Bindings = std::map<std::string, Term, std::less<>>;

// Runs `expression` with `bindings` and returns the single value it leaves.
// Errors are EXECUTION with detail Overflow, DivideByZero, InvalidType, UnknownVariable,
// ShadowedVariable, InvalidRegex, UndefinedExtern or ExternEvalError; and RUN_LIMIT/Timeout
// once `deadline` has passed (nested closures over collections can take exponential time).
// REQUIRES: ValidateExpression(expression) is OK.
StatusOr<Term> EvaluateExpression(
    const Expression& expression, const Bindings& bindings, const ExternFunctions& externs,
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());

}  // namespace recordstore::auth

#endif  // RECORDSTORE_AUTH_EXPRESSION_H_
