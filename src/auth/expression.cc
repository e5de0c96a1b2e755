#include "auth/expression.h"

#include <algorithm>
#include <set>
#include <utility>

#include "auth/error.h"
#include "common/status_macros.h"
#include "re2/re2.h"

namespace recordstore::auth {
namespace {

Status ExecutionError(std::string_view what) {
  return MakeAuthError(wire::AuthErrorDetail::EXECUTION, what);
}

Status InvalidType() { return ExecutionError("InvalidType"); }

// A stack slot: a term, or a closure still to be called (laziness, all/any, try_or).
struct Value {
  Term term;
  const Op* closure = nullptr;
};

class Evaluator {
 public:
  Evaluator(Bindings bindings, const ExternFunctions& externs,
            std::chrono::steady_clock::time_point deadline)
      : bindings_(std::move(bindings)), externs_(externs), deadline_(deadline) {}

  StatusOr<Term> Run(const std::vector<Op>& ops) {
    std::vector<Value> stack;
    for (const Op& op : ops) {
      switch (op.kind) {
        case Op::Kind::kValue: {
          if (op.value.kind == TermKind::kVariable) {
            auto it = bindings_.find(op.value.text);
            if (it == bindings_.end()) {
              return ExecutionError("UnknownVariable");
            }
            stack.push_back(Value{it->second, nullptr});
          } else {
            stack.push_back(Value{op.value, nullptr});
          }
          break;
        }
        case Op::Kind::kClosure:
          stack.push_back(Value{Term(), &op});
          break;
        case Op::Kind::kUnary: {
          if (stack.empty()) {
            return ExecutionError("InvalidStack");
          }
          Value& top = stack.back();
          if (top.closure != nullptr) {
            if (op.unary != UnaryKind::kParens) {
              return InvalidType();
            }
            break;
          }
          ASSIGN_OR_RETURN(top.term, Unary(op, top.term));
          break;
        }
        case Op::Kind::kBinary: {
          if (stack.size() < 2) {
            return ExecutionError("InvalidStack");
          }
          Value right = std::move(stack.back());
          stack.pop_back();
          ASSIGN_OR_RETURN(Term result, Binary(op, stack.back(), right));
          stack.back() = Value{std::move(result), nullptr};
          break;
        }
      }
    }
    if (stack.size() != 1) {
      return ExecutionError("InvalidStack");
    }
    if (stack.back().closure != nullptr) {
      return InvalidType();
    }
    return std::move(stack.back().term);
  }

 private:
  // Calls `closure` with `args` bound to its parameters.
  StatusOr<Term> Call(const Op& closure, const std::vector<Term>& args) {
    if (++calls_ % kClockStride == 0 && std::chrono::steady_clock::now() > deadline_) {
      return MakeAuthError(wire::AuthErrorDetail::RUN_LIMIT, "Timeout");
    }
    if (closure.params.size() != args.size()) {
      return InvalidType();
    }
    for (size_t i = 0; i < args.size(); ++i) {
      bindings_[closure.params[i]] = args[i];
    }
    StatusOr<Term> result = Run(closure.body);
    for (const std::string& param : closure.params) {
      bindings_.erase(param);
    }
    return result;
  }

  StatusOr<Term> Unary(const Op& op, const Term& term) {
    switch (op.unary) {
      case UnaryKind::kNegate:
        if (term.kind != TermKind::kBool) {
          return InvalidType();
        }
        return Term::Bool(!term.boolean());
      case UnaryKind::kParens:
        return term;
      case UnaryKind::kLength:
        switch (term.kind) {
          case TermKind::kString:
          case TermKind::kBytes:
            return Term::Integer(static_cast<int64_t>(term.text.size()));
          case TermKind::kSet:
          case TermKind::kArray:
            return Term::Integer(static_cast<int64_t>(term.items.size()));
          case TermKind::kMap:
            return Term::Integer(static_cast<int64_t>(term.items.size() / 2));
          default:
            return InvalidType();
        }
      case UnaryKind::kTypeOf:
        return Term::String(TypeName(term));
      case UnaryKind::kFfi:
        return CallExtern(op.ffi_name, term, nullptr);
    }
    return InvalidType();
  }

  static std::string TypeName(const Term& term) {
    switch (term.kind) {
      case TermKind::kInteger:
        return "integer";
      case TermKind::kString:
        return "string";
      case TermKind::kDate:
        return "date";
      case TermKind::kBytes:
        return "bytes";
      case TermKind::kBool:
        return "bool";
      case TermKind::kSet:
        return "set";
      case TermKind::kNull:
        return "null";
      case TermKind::kArray:
        return "array";
      case TermKind::kMap:
        return "map";
      case TermKind::kVariable:
        return "variable";
    }
    return "";
  }

  StatusOr<Term> CallExtern(const std::string& name, const Term& left, const Term* right) {
    auto it = externs_.find(name);
    if (it == externs_.end()) {
      return ExecutionError("UndefinedExtern");
    }
    StatusOr<Term> result = it->second(left, right);
    if (!result.ok()) {
      return ExecutionError("ExternEvalError");
    }
    return result;
  }

  // Closure-taking operations: laziness, all/any, try_or.
  StatusOr<Term> ClosureBinary(const Op& op, const Value& left, const Value& right) {
    switch (op.binary) {
      case BinaryKind::kLazyAnd:
      case BinaryKind::kLazyOr: {
        if (left.closure != nullptr || left.term.kind != TermKind::kBool ||
            right.closure == nullptr) {
          return InvalidType();
        }
        bool is_and = op.binary == BinaryKind::kLazyAnd;
        if (left.term.boolean() != is_and) {
          return left.term;
        }
        ASSIGN_OR_RETURN(Term result, Call(*right.closure, {}));
        if (result.kind != TermKind::kBool) {
          return InvalidType();
        }
        return result;
      }
      case BinaryKind::kAll:
      case BinaryKind::kAny: {
        if (left.closure != nullptr || right.closure == nullptr) {
          return InvalidType();
        }
        bool is_all = op.binary == BinaryKind::kAll;
        std::vector<Term> elements;
        const Term& container = left.term;
        if (container.kind == TermKind::kSet || container.kind == TermKind::kArray) {
          elements = container.items;
        } else if (container.kind == TermKind::kMap) {
          for (size_t i = 0; i + 1 < container.items.size(); i += 2) {
            elements.push_back(Term::Array({container.items[i], container.items[i + 1]}));
          }
        } else {
          return InvalidType();
        }
        for (const Term& element : elements) {
          ASSIGN_OR_RETURN(Term result, Call(*right.closure, {element}));
          if (result.kind != TermKind::kBool) {
            return InvalidType();
          }
          if (result.boolean() != is_all) {
            return Term::Bool(!is_all);
          }
        }
        return Term::Bool(is_all);
      }
      case BinaryKind::kTryOr: {
        if (left.closure == nullptr || right.closure != nullptr) {
          return InvalidType();
        }
        StatusOr<Term> result = Call(*left.closure, {});
        if (result.ok()) {
          return result;
        }
        if (!HasAuthErrorKind(result.status(), wire::AuthErrorDetail::EXECUTION)) {
          return result.status();
        }
        return right.term;
      }
      default:
        return InvalidType();
    }
  }

  StatusOr<Term> Binary(const Op& op, const Value& left_value, const Value& right_value) {
    switch (op.binary) {
      case BinaryKind::kLazyAnd:
      case BinaryKind::kLazyOr:
      case BinaryKind::kAll:
      case BinaryKind::kAny:
      case BinaryKind::kTryOr:
        return ClosureBinary(op, left_value, right_value);
      default:
        break;
    }
    if (left_value.closure != nullptr || right_value.closure != nullptr) {
      return InvalidType();
    }
    const Term& l = left_value.term;
    const Term& r = right_value.term;
    const bool ints = l.kind == TermKind::kInteger && r.kind == TermKind::kInteger;
    const bool dates = l.kind == TermKind::kDate && r.kind == TermKind::kDate;
    const bool strings = l.kind == TermKind::kString && r.kind == TermKind::kString;
    const bool bools = l.kind == TermKind::kBool && r.kind == TermKind::kBool;
    const bool sets = l.kind == TermKind::kSet && r.kind == TermKind::kSet;
    const bool arrays = l.kind == TermKind::kArray && r.kind == TermKind::kArray;
    int64_t out = 0;
    switch (op.binary) {
      case BinaryKind::kLessThan:
        if (ints || dates) {
          return Term::Bool(l < r);
        }
        return InvalidType();
      case BinaryKind::kGreaterThan:
        if (ints || dates) {
          return Term::Bool(l > r);
        }
        return InvalidType();
      case BinaryKind::kLessOrEqual:
        if (ints || dates) {
          return Term::Bool(l <= r);
        }
        return InvalidType();
      case BinaryKind::kGreaterOrEqual:
        if (ints || dates) {
          return Term::Bool(l >= r);
        }
        return InvalidType();
      case BinaryKind::kEqual:
        if (l.kind != r.kind) {
          return InvalidType();
        }
        return Term::Bool(l == r);
      case BinaryKind::kNotEqual:
        if (l.kind != r.kind) {
          return InvalidType();
        }
        return Term::Bool(l != r);
      case BinaryKind::kHeterogeneousEqual:
        return Term::Bool(l == r);
      case BinaryKind::kHeterogeneousNotEqual:
        return Term::Bool(l != r);
      case BinaryKind::kContains:
        return Contains(l, r);
      case BinaryKind::kPrefix:
        if (strings) {
          return Term::Bool(l.text.starts_with(r.text));
        }
        if (arrays) {
          return Term::Bool(r.items.size() <= l.items.size() &&
                            std::equal(r.items.begin(), r.items.end(), l.items.begin()));
        }
        return InvalidType();
      case BinaryKind::kSuffix:
        if (strings) {
          return Term::Bool(l.text.ends_with(r.text));
        }
        if (arrays) {
          return Term::Bool(r.items.size() <= l.items.size() &&
                            std::equal(r.items.rbegin(), r.items.rend(), l.items.rbegin()));
        }
        return InvalidType();
      case BinaryKind::kRegex: {
        if (!strings) {
          return InvalidType();
        }
        RE2 regex(re2::StringPiece(r.text.data(), r.text.size()), RE2::Quiet);
        if (!regex.ok()) {
          return ExecutionError("InvalidRegex");
        }
        return Term::Bool(RE2::PartialMatch(re2::StringPiece(l.text.data(), l.text.size()), regex));
      }
      case BinaryKind::kAdd:
        if (strings) {
          return Term::String(l.text + r.text);
        }
        if (!ints) {
          return InvalidType();
        }
        if (__builtin_add_overflow(l.number, r.number, &out)) {
          return ExecutionError("Overflow");
        }
        return Term::Integer(out);
      case BinaryKind::kSub:
        if (!ints) {
          return InvalidType();
        }
        if (__builtin_sub_overflow(l.number, r.number, &out)) {
          return ExecutionError("Overflow");
        }
        return Term::Integer(out);
      case BinaryKind::kMul:
        if (!ints) {
          return InvalidType();
        }
        if (__builtin_mul_overflow(l.number, r.number, &out)) {
          return ExecutionError("Overflow");
        }
        return Term::Integer(out);
      case BinaryKind::kDiv:
        if (!ints) {
          return InvalidType();
        }
        if (r.number == 0) {
          return ExecutionError("DivideByZero");
        }
        if (l.number == std::numeric_limits<int64_t>::min() && r.number == -1) {
          return ExecutionError("Overflow");
        }
        return Term::Integer(l.number / r.number);
      case BinaryKind::kAnd:
        if (!bools) {
          return InvalidType();
        }
        return Term::Bool(l.boolean() && r.boolean());
      case BinaryKind::kOr:
        if (!bools) {
          return InvalidType();
        }
        return Term::Bool(l.boolean() || r.boolean());
      case BinaryKind::kIntersection:
      case BinaryKind::kUnion: {
        if (!sets) {
          return InvalidType();
        }
        std::vector<Term> items;
        if (op.binary == BinaryKind::kIntersection) {
          std::set_intersection(l.items.begin(), l.items.end(), r.items.begin(), r.items.end(),
                                std::back_inserter(items));
        } else {
          std::set_union(l.items.begin(), l.items.end(), r.items.begin(), r.items.end(),
                         std::back_inserter(items));
        }
        return Term::Set(std::move(items));
      }
      case BinaryKind::kBitwiseAnd:
        if (!ints) {
          return InvalidType();
        }
        return Term::Integer(l.number & r.number);
      case BinaryKind::kBitwiseOr:
        if (!ints) {
          return InvalidType();
        }
        return Term::Integer(l.number | r.number);
      case BinaryKind::kBitwiseXor:
        if (!ints) {
          return InvalidType();
        }
        return Term::Integer(l.number ^ r.number);
      case BinaryKind::kGet:
        return Get(l, r);
      case BinaryKind::kFfi:
        return CallExtern(op.ffi_name, l, &r);
      default:
        return InvalidType();
    }
  }

  static StatusOr<Term> Contains(const Term& l, const Term& r) {
    switch (l.kind) {
      case TermKind::kSet:
        if (r.kind == TermKind::kSet) {
          return Term::Bool(
              std::includes(l.items.begin(), l.items.end(), r.items.begin(), r.items.end()));
        }
        return Term::Bool(std::binary_search(l.items.begin(), l.items.end(), r));
      case TermKind::kArray:
        return Term::Bool(std::find(l.items.begin(), l.items.end(), r) != l.items.end());
      case TermKind::kMap:
        for (size_t i = 0; i < l.items.size(); i += 2) {
          if (l.items[i] == r) {
            return Term::Bool(true);
          }
        }
        return Term::Bool(false);
      case TermKind::kString:
        if (r.kind != TermKind::kString) {
          return InvalidType();
        }
        return Term::Bool(l.text.find(r.text) != std::string::npos);
      default:
        return InvalidType();
    }
  }

  static StatusOr<Term> Get(const Term& l, const Term& r) {
    if (l.kind == TermKind::kArray) {
      if (r.kind != TermKind::kInteger) {
        return InvalidType();
      }
      if (r.number < 0 || static_cast<uint64_t>(r.number) >= l.items.size()) {
        return Term::Null();
      }
      return l.items[static_cast<size_t>(r.number)];
    }
    if (l.kind == TermKind::kMap) {
      if (r.kind != TermKind::kInteger && r.kind != TermKind::kString) {
        return InvalidType();
      }
      for (size_t i = 0; i + 1 < l.items.size(); i += 2) {
        if (l.items[i] == r) {
          return l.items[i + 1];
        }
      }
      return Term::Null();
    }
    return InvalidType();
  }

  // How many closure calls happen between two looks at the clock.
  static constexpr uint32_t kClockStride = 256;

  Bindings bindings_;
  const ExternFunctions& externs_;
  const std::chrono::steady_clock::time_point deadline_;
  uint32_t calls_ = 0;
};

}  // namespace

// The spec asks for shadowing to be refused before evaluation starts, so that it is an
// error even when the closure would never run (e.g. over an empty set).
Status CheckNoShadowing(const std::vector<Op>& ops, std::set<std::string>* in_scope) {
  for (const Op& op : ops) {
    if (op.kind != Op::Kind::kClosure) {
      continue;
    }
    for (const std::string& param : op.params) {
      if (in_scope->contains(param)) {
        return ExecutionError("ShadowedVariable");
      }
    }
    std::set<std::string> inner = *in_scope;
    inner.insert(op.params.begin(), op.params.end());
    RETURN_IF_ERROR(CheckNoShadowing(op.body, &inner));
  }
  return Status();
}

StatusOr<Term> EvaluateExpression(const Expression& expression, const Bindings& bindings,
                                  const ExternFunctions& externs,
                                  std::chrono::steady_clock::time_point deadline) {
  std::set<std::string> in_scope;
  for (const auto& [name, value] : bindings) {
    in_scope.insert(name);
  }
  RETURN_IF_ERROR(CheckNoShadowing(expression, &in_scope));
  Evaluator evaluator(bindings, externs, deadline);
  return evaluator.Run(expression);
}

}  // namespace recordstore::auth
