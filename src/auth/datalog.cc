#include "auth/datalog.h"

#include <algorithm>
#include <set>

#include "auth/error.h"

namespace recordstore::auth {
namespace {

template <typename T>
std::strong_ordering CompareVectors(const std::vector<T>& a, const std::vector<T>& b) {
  return std::lexicographical_compare_three_way(a.begin(), a.end(), b.begin(), b.end());
}

void CollectVariables(const Term& term, std::set<std::string>* out) {
  if (term.kind == TermKind::kVariable) {
    out->insert(term.text);
  }
  for (const Term& item : term.items) {
    CollectVariables(item, out);
  }
}

// Variables used by `ops` that are not parameters of an enclosing closure.
void CollectExpressionVariables(const std::vector<Op>& ops, const std::set<std::string>& params,
                                std::set<std::string>* out) {
  for (const Op& op : ops) {
    if (op.kind == Op::Kind::kValue) {
      std::set<std::string> vars;
      CollectVariables(op.value, &vars);
      for (const std::string& v : vars) {
        if (!params.contains(v)) {
          out->insert(v);
        }
      }
    } else if (op.kind == Op::Kind::kClosure) {
      std::set<std::string> inner = params;
      inner.insert(op.params.begin(), op.params.end());
      CollectExpressionVariables(op.body, inner, out);
    }
  }
}

Status ValidateOps(const std::vector<Op>& ops) {
  auto malformed = [](const char* why) {
    return MakeAuthError(wire::AuthErrorDetail::FORMAT_DESERIALIZATION, why);
  };
  size_t depth = 0;
  for (const Op& op : ops) {
    switch (op.kind) {
      case Op::Kind::kValue:
        ++depth;
        break;
      case Op::Kind::kUnary:
        if (depth < 1) {
          return malformed("unary operation without an operand");
        }
        break;
      case Op::Kind::kBinary:
        if (depth < 2) {
          return malformed("binary operation without two operands");
        }
        --depth;
        break;
      case Op::Kind::kClosure: {
        Status inner = ValidateOps(op.body);
        if (!inner.ok()) {
          return inner;
        }
        ++depth;
        break;
      }
    }
  }
  if (depth != 1) {
    return malformed("expression does not leave exactly one value");
  }
  return Status();
}

bool TermNeedsV33(const Term& term) {
  if (term.kind == TermKind::kNull || term.kind == TermKind::kArray ||
      term.kind == TermKind::kMap) {
    return true;
  }
  return std::any_of(term.items.begin(), term.items.end(), TermNeedsV33);
}

// 6 for v3.3-only features, 4 for v3.1 ones, 3 otherwise.
uint32_t OpsVersion(const std::vector<Op>& ops) {
  uint32_t version = kMinDatalogVersion;
  for (const Op& op : ops) {
    switch (op.kind) {
      case Op::Kind::kValue:
        if (TermNeedsV33(op.value)) {
          return 6;
        }
        break;
      case Op::Kind::kUnary:
        if (op.unary == UnaryKind::kTypeOf || op.unary == UnaryKind::kFfi) {
          return 6;
        }
        break;
      case Op::Kind::kBinary:
        if (op.binary >= BinaryKind::kHeterogeneousEqual) {
          return 6;
        }
        if (op.binary >= BinaryKind::kBitwiseAnd) {
          version = 4;
        }
        break;
      case Op::Kind::kClosure:
        return 6;
    }
  }
  return version;
}

uint32_t RuleVersion(const Rule& rule) {
  uint32_t version = rule.scopes.empty() ? kMinDatalogVersion : 4;
  auto terms_v33 = [](const Predicate& p) {
    return std::any_of(p.terms.begin(), p.terms.end(), TermNeedsV33);
  };
  if (terms_v33(rule.head) || std::any_of(rule.body.begin(), rule.body.end(), terms_v33)) {
    return 6;
  }
  for (const Expression& e : rule.expressions) {
    version = std::max(version, OpsVersion(e));
  }
  return version;
}

std::string QueryToString(const Rule& rule) {
  std::string out;
  auto append = [&out](const std::string& part) {
    if (!out.empty()) {
      out += ", ";
    }
    out += part;
  };
  for (const Predicate& p : rule.body) {
    append(ToString(p));
  }
  for (const Expression& e : rule.expressions) {
    append(ToString(e));
  }
  if (!rule.scopes.empty()) {
    out += " trusting ";
    for (size_t i = 0; i < rule.scopes.size(); ++i) {
      if (i > 0) {
        out += ", ";
      }
      out += ToString(rule.scopes[i]);
    }
  }
  return out;
}

std::string QueriesToString(const std::vector<Rule>& queries) {
  std::string out;
  for (size_t i = 0; i < queries.size(); ++i) {
    if (i > 0) {
      out += " or ";
    }
    out += QueryToString(queries[i]);
  }
  return out;
}

std::string BinaryToString(BinaryKind kind, const std::string& ffi_name, const std::string& l,
                           const std::string& r) {
  auto infix = [&](const char* op) { return l + " " + op + " " + r; };
  auto method = [&](const char* name) { return l + "." + name + "(" + r + ")"; };
  switch (kind) {
    case BinaryKind::kLessThan:
      return infix("<");
    case BinaryKind::kGreaterThan:
      return infix(">");
    case BinaryKind::kLessOrEqual:
      return infix("<=");
    case BinaryKind::kGreaterOrEqual:
      return infix(">=");
    case BinaryKind::kEqual:
      return infix("===");
    case BinaryKind::kNotEqual:
      return infix("!==");
    case BinaryKind::kHeterogeneousEqual:
      return infix("==");
    case BinaryKind::kHeterogeneousNotEqual:
      return infix("!=");
    case BinaryKind::kContains:
      return method("contains");
    case BinaryKind::kPrefix:
      return method("starts_with");
    case BinaryKind::kSuffix:
      return method("ends_with");
    case BinaryKind::kRegex:
      return method("matches");
    case BinaryKind::kAdd:
      return infix("+");
    case BinaryKind::kSub:
      return infix("-");
    case BinaryKind::kMul:
      return infix("*");
    case BinaryKind::kDiv:
      return infix("/");
    case BinaryKind::kAnd:
    case BinaryKind::kLazyAnd:
      return infix("&&");
    case BinaryKind::kOr:
    case BinaryKind::kLazyOr:
      return infix("||");
    case BinaryKind::kIntersection:
      return method("intersection");
    case BinaryKind::kUnion:
      return method("union");
    case BinaryKind::kBitwiseAnd:
      return infix("&");
    case BinaryKind::kBitwiseOr:
      return infix("|");
    case BinaryKind::kBitwiseXor:
      return infix("^");
    case BinaryKind::kAll:
      return method("all");
    case BinaryKind::kAny:
      return method("any");
    case BinaryKind::kGet:
      return method("get");
    case BinaryKind::kTryOr:
      return method("try_or");
    case BinaryKind::kFfi:
      return l + ".extern::" + ffi_name + "(" + r + ")";
  }
  return infix("?");
}

std::string OpsToString(const std::vector<Op>& ops) {
  std::vector<std::string> stack;
  for (const Op& op : ops) {
    switch (op.kind) {
      case Op::Kind::kValue:
        stack.push_back(ToString(op.value));
        break;
      case Op::Kind::kUnary: {
        std::string& s = stack.back();
        switch (op.unary) {
          case UnaryKind::kNegate:
            s.insert(0, "!");
            break;
          case UnaryKind::kParens:
            s.insert(0, "(").append(")");
            break;
          case UnaryKind::kLength:
            s += ".length()";
            break;
          case UnaryKind::kTypeOf:
            s += ".type()";
            break;
          case UnaryKind::kFfi:
            s += ".extern::" + op.ffi_name + "()";
            break;
        }
        break;
      }
      case Op::Kind::kBinary: {
        std::string r = std::move(stack.back());
        stack.pop_back();
        stack.back() = BinaryToString(op.binary, op.ffi_name, stack.back(), r);
        break;
      }
      case Op::Kind::kClosure: {
        std::string s;
        for (size_t i = 0; i < op.params.size(); ++i) {
          s += (i > 0 ? ", $" : "$") + op.params[i];
        }
        if (!op.params.empty()) {
          s += " -> ";
        }
        stack.push_back(s + OpsToString(op.body));
        break;
      }
    }
  }
  return stack.empty() ? std::string() : stack.back();
}

}  // namespace

Term Term::Variable(std::string name) {
  Term t;
  t.kind = TermKind::kVariable;
  t.text = std::move(name);
  return t;
}
Term Term::Integer(int64_t value) {
  Term t;
  t.kind = TermKind::kInteger;
  t.number = value;
  return t;
}
Term Term::String(std::string value) {
  Term t;
  t.kind = TermKind::kString;
  t.text = std::move(value);
  return t;
}
Term Term::Date(uint64_t seconds) {
  Term t;
  t.kind = TermKind::kDate;
  t.number = static_cast<int64_t>(seconds);
  return t;
}
Term Term::Bytes(std::string value) {
  Term t;
  t.kind = TermKind::kBytes;
  t.text = std::move(value);
  return t;
}
Term Term::Bool(bool value) {
  Term t;
  t.kind = TermKind::kBool;
  t.number = value ? 1 : 0;
  return t;
}
Term Term::Null() { return Term(); }
Term Term::Set(std::vector<Term> items) {
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  Term t;
  t.kind = TermKind::kSet;
  t.items = std::move(items);
  return t;
}
Term Term::Array(std::vector<Term> items) {
  Term t;
  t.kind = TermKind::kArray;
  t.items = std::move(items);
  return t;
}
Term Term::Map(std::vector<std::pair<Term, Term>> entries) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  Term t;
  t.kind = TermKind::kMap;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i + 1 < entries.size() && entries[i + 1].first == entries[i].first) {
      continue;
    }
    t.items.push_back(std::move(entries[i].first));
    t.items.push_back(std::move(entries[i].second));
  }
  return t;
}

bool Term::IsGround() const {
  if (kind == TermKind::kVariable) {
    return false;
  }
  return std::all_of(items.begin(), items.end(), [](const Term& t) { return t.IsGround(); });
}

std::strong_ordering operator<=>(const Term& a, const Term& b) {
  if (a.kind != b.kind) {
    return a.kind <=> b.kind;
  }
  switch (a.kind) {
    case TermKind::kInteger:
    case TermKind::kBool:
      return a.number <=> b.number;
    case TermKind::kDate:
      return a.date() <=> b.date();
    case TermKind::kVariable:
    case TermKind::kString:
    case TermKind::kBytes:
      return a.text <=> b.text;
    case TermKind::kNull:
      return std::strong_ordering::equal;
    case TermKind::kSet:
    case TermKind::kArray:
    case TermKind::kMap:
      return CompareVectors(a.items, b.items);
  }
  return std::strong_ordering::equal;
}

Status ValidateExpression(const Expression& expression) { return ValidateOps(expression); }

bool RuleVariablesAreBound(const Rule& rule) {
  std::set<std::string> bound;
  for (const Predicate& p : rule.body) {
    for (const Term& t : p.terms) {
      CollectVariables(t, &bound);
    }
  }
  std::set<std::string> used;
  for (const Term& t : rule.head.terms) {
    CollectVariables(t, &used);
  }
  for (const Expression& e : rule.expressions) {
    CollectExpressionVariables(e, {}, &used);
  }
  return std::includes(bound.begin(), bound.end(), used.begin(), used.end());
}

uint32_t RequiredVersion(const BlockContent& content, bool has_external_signature) {
  uint32_t version = has_external_signature ? 5 : kMinDatalogVersion;
  if (!content.scopes.empty()) {
    version = std::max<uint32_t>(version, 4);
  }
  for (const Predicate& fact : content.facts) {
    if (std::any_of(fact.terms.begin(), fact.terms.end(), TermNeedsV33)) {
      return 6;
    }
  }
  for (const Rule& rule : content.rules) {
    version = std::max(version, RuleVersion(rule));
  }
  for (const Check& check : content.checks) {
    if (check.kind == Check::Kind::kReject) {
      return 6;
    }
    if (check.kind == Check::Kind::kAll) {
      version = std::max<uint32_t>(version, 4);
    }
    for (const Rule& q : check.queries) {
      version = std::max(version, RuleVersion(q));
    }
  }
  return version;
}

std::string FormatDate(uint64_t seconds) {
  // Civil-from-days (Howard Hinnant's algorithm) on the proleptic Gregorian calendar.
  int64_t days = static_cast<int64_t>(seconds / 86400);
  uint64_t rem = seconds % 86400;
  days += 719468;
  int64_t era = days / 146097;
  int64_t doe = days - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t year = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t day = doy - (153 * mp + 2) / 5 + 1;
  int64_t month = mp < 10 ? mp + 3 : mp - 9;
  if (month <= 2) {
    ++year;
  }
  char buf[64];
  snprintf(buf, sizeof(buf), "%04lld-%02lld-%02lldT%02llu:%02llu:%02lluZ",
           static_cast<long long>(year), static_cast<long long>(month), static_cast<long long>(day),
           static_cast<unsigned long long>(rem / 3600),
           static_cast<unsigned long long>(rem / 60 % 60),
           static_cast<unsigned long long>(rem % 60));
  return buf;
}

std::string ToString(const Term& term) {
  auto join = [](const std::vector<Term>& items, size_t begin, size_t step) {
    std::string out;
    for (size_t i = begin; i < items.size(); i += step) {
      if (i > begin) {
        out += ", ";
      }
      out += ToString(items[i]);
      if (step == 2) {
        out += ": " + ToString(items[i + 1]);
      }
    }
    return out;
  };
  switch (term.kind) {
    case TermKind::kVariable:
      return "$" + term.text;
    case TermKind::kInteger:
      return std::to_string(term.number);
    case TermKind::kString: {
      std::string out = "\"";
      for (char c : term.text) {
        if (c == '"' || c == '\\') {
          out += '\\';
        }
        out += c;
      }
      return out + "\"";
    }
    case TermKind::kDate:
      return FormatDate(term.date());
    case TermKind::kBytes:
      return "hex:" + HexEncode(term.text);
    case TermKind::kBool:
      return term.boolean() ? "true" : "false";
    case TermKind::kNull:
      return "null";
    case TermKind::kSet:
      return term.items.empty() ? "{,}" : "{" + join(term.items, 0, 1) + "}";
    case TermKind::kArray:
      return "[" + join(term.items, 0, 1) + "]";
    case TermKind::kMap:
      return "{" + join(term.items, 0, 2) + "}";
  }
  return "";
}

std::string ToString(const Predicate& predicate) {
  std::string out = predicate.name + "(";
  for (size_t i = 0; i < predicate.terms.size(); ++i) {
    if (i > 0) {
      out += ", ";
    }
    out += ToString(predicate.terms[i]);
  }
  return out + ")";
}

std::string ToString(const Expression& expression) { return OpsToString(expression); }

std::string ToString(const Scope& scope) {
  switch (scope.kind) {
    case Scope::Kind::kAuthority:
      return "authority";
    case Scope::Kind::kPrevious:
      return "previous";
    case Scope::Kind::kPublicKey:
      return scope.key.ToString();
  }
  return "";
}

std::string ToString(const Rule& rule) {
  return ToString(rule.head) + " <- " + QueryToString(rule);
}

std::string ToString(const Check& check) {
  const char* prefix = check.kind == Check::Kind::kIf    ? "check if "
                       : check.kind == Check::Kind::kAll ? "check all "
                                                         : "reject if ";
  return prefix + QueriesToString(check.queries);
}

std::string ToString(const Policy& policy) {
  return (policy.kind == Policy::Kind::kAllow ? "allow if " : "deny if ") +
         QueriesToString(policy.queries);
}

std::string ToString(const BlockContent& content) {
  std::string out;
  if (!content.scopes.empty()) {
    out += "trusting ";
    for (size_t i = 0; i < content.scopes.size(); ++i) {
      if (i > 0) {
        out += ", ";
      }
      out += ToString(content.scopes[i]);
    }
    out += ";\n";
  }
  for (const Predicate& fact : content.facts) {
    out += ToString(fact) + ";\n";
  }
  for (const Rule& rule : content.rules) {
    out += ToString(rule) + ";\n";
  }
  for (const Check& check : content.checks) {
    out += ToString(check) + ";\n";
  }
  for (const Policy& policy : content.policies) {
    out += ToString(policy) + ";\n";
  }
  return out;
}

}  // namespace recordstore::auth
