// Named functions that key expressions apply to columns (FunctionKeyExpression), found
// through a registry so that adding one touches no switch statement.
//
// Built in (KeyFunctionRegistry::Default()):
//   lower(string) -> string   ASCII lower-casing, a simple case-insensitive collation: bytes
//                             outside A-Z, including all non-ASCII UTF-8, are kept as they are.
//   add(integer, integer) -> integer
//   sub(integer, integer) -> integer
//   mul(integer, integer) -> integer
//                             64-bit signed arithmetic; a result outside int64 fails with
//                             kInvalidArgument ("add overflows: 9223372036854775807 + 1").
// Every built-in returns null when any argument is null.
//
// Thread-safety: a registry is safe for concurrent Find and Register.
#ifndef RECORDSTORE_METADATA_KEY_FUNCTION_H_
#define RECORDSTORE_METADATA_KEY_FUNCTION_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "metadata/key_expression.h"
#include "recordstore/status.h"
#include "tuple/tuple.h"

namespace recordstore::metadata {

class KeyFunction {
 public:
  // Computes the result from the argument columns (argument_kinds().size() elements, each
  // of its kind or null).
  using Apply = std::function<StatusOr<TupleElement>(const Tuple& arguments)>;

  KeyFunction(std::string name, std::vector<ColumnKind> argument_kinds, ColumnKind result_kind,
              Apply apply)
      : name_(std::move(name)),
        argument_kinds_(std::move(argument_kinds)),
        result_kind_(result_kind),
        apply_(std::move(apply)) {}

  const std::string& name() const { return name_; }
  const std::vector<ColumnKind>& argument_kinds() const { return argument_kinds_; }
  ColumnKind result_kind() const { return result_kind_; }
  StatusOr<TupleElement> Call(const Tuple& arguments) const { return apply_(arguments); }

 private:
  std::string name_;
  std::vector<ColumnKind> argument_kinds_;
  ColumnKind result_kind_;
  Apply apply_;
};

class KeyFunctionRegistry {
 public:
  // The process-wide registry that FunctionKeyExpression uses, holding the built-ins.
  static KeyFunctionRegistry& Default();

  // Adds `function`. Fails with kAlreadyExists when its name is taken. Functions are never
  // removed, so pointers returned by Find stay valid for the registry's lifetime.
  Status Register(KeyFunction function);
  // The function called `name`, or null.
  const KeyFunction* Find(std::string_view name) const;

 private:
  mutable absl::Mutex mutex_;
  std::map<std::string, std::unique_ptr<KeyFunction>, std::less<>> functions_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace recordstore::metadata

#endif  // RECORDSTORE_METADATA_KEY_FUNCTION_H_
