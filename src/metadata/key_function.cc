#include "metadata/key_function.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace recordstore::metadata {
namespace {

using ArithmeticOp = bool (*)(int64_t, int64_t, int64_t*);

bool Add(int64_t a, int64_t b, int64_t* out) { return __builtin_add_overflow(a, b, out); }
bool Sub(int64_t a, int64_t b, int64_t* out) { return __builtin_sub_overflow(a, b, out); }
bool Mul(int64_t a, int64_t b, int64_t* out) { return __builtin_mul_overflow(a, b, out); }

// An integer function of two arguments; `symbol` names the operator in overflow errors.
KeyFunction Arithmetic(const std::string& name, const std::string& symbol, ArithmeticOp op) {
  return KeyFunction(name, {ColumnKind::kInteger, ColumnKind::kInteger}, ColumnKind::kInteger,
                     [name, symbol, op](const Tuple& arguments) -> StatusOr<TupleElement> {
                       if (arguments[0].is_null() || arguments[1].is_null()) return TupleElement();
                       std::optional<int64_t> a = arguments[0].AsInt64();
                       std::optional<int64_t> b = arguments[1].AsInt64();
                       int64_t result = 0;
                       // An unsigned 64-bit field above INT64_MAX arrives as a big integer: out of
                       // range too.
                       if (!a.has_value() || !b.has_value() || op(*a, *b, &result)) {
                         return MakeError(
                             ErrorCode::kInvalidArgument,
                             absl::StrCat(name, " overflows: ", arguments[0].ToString(), " ",
                                          symbol, " ", arguments[1].ToString()));
                       }
                       return result;
                     });
}

KeyFunction Lower() {
  return KeyFunction("lower", {ColumnKind::kString}, ColumnKind::kString,
                     [](const Tuple& arguments) -> StatusOr<TupleElement> {
                       const std::string* text = arguments[0].get_if<std::string>();
                       if (text == nullptr) return TupleElement();
                       std::string lowered = *text;
                       for (char& c : lowered) {
                         if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
                       }
                       return lowered;
                     });
}

}  // namespace

KeyFunctionRegistry& KeyFunctionRegistry::Default() {
  static KeyFunctionRegistry registry;
  static const bool built_ins_registered = [] {
    for (KeyFunction function : {Lower(), Arithmetic("add", "+", Add), Arithmetic("sub", "-", Sub),
                                 Arithmetic("mul", "*", Mul)}) {
      registry.Register(std::move(function)).IgnoreError();  // distinct names: cannot fail
    }
    return true;
  }();
  (void)built_ins_registered;
  return registry;
}

Status KeyFunctionRegistry::Register(KeyFunction function) {
  absl::MutexLock lock(&mutex_);
  std::string name = function.name();
  auto [it, inserted] =
      functions_.try_emplace(name, std::make_unique<KeyFunction>(std::move(function)));
  if (!inserted) {
    return MakeError(ErrorCode::kAlreadyExists,
                     absl::StrCat("function ", name, " is already registered"));
  }
  return Status();
}

const KeyFunction* KeyFunctionRegistry::Find(std::string_view name) const {
  absl::MutexLock lock(&mutex_);
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : it->second.get();
}

}  // namespace recordstore::metadata
