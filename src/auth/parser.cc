#include "auth/parser.h"

#include <charconv>
#include <optional>
#include <string>

#include "auth/error.h"
#include "common/status_macros.h"

namespace recordstore::auth {
namespace {

// Deepest nesting of parentheses, collections and closures accepted.
constexpr int kMaxNesting = 64;

bool IsLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || static_cast<unsigned char>(c) >= 0x80;
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsNameChar(char c) { return IsLetter(c) || IsDigit(c) || c == '_' || c == ':'; }

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  StatusOr<Rule> ParseSingleRule() {
    Rule rule;
    ASSIGN_OR_RETURN(rule.head, ParsePredicate());
    RETURN_IF_ERROR(Expect("<-"));
    RETURN_IF_ERROR(ParseRuleBody(&rule));
    if (!RuleVariablesAreBound(rule)) {
      return Error("rule head or expression uses a variable its body does not bind");
    }
    SkipSpace();
    Consume(";");
    SkipSpace();
    if (!AtEnd()) {
      return Error("unexpected text after the rule");
    }
    return rule;
  }

  StatusOr<BlockContent> Parse(bool authorizer) {
    BlockContent content;
    SkipSpace();
    if (!authorizer && PeekWord("trusting")) {
      ASSIGN_OR_RETURN(content.scopes, ParseScopes());
      RETURN_IF_ERROR(Expect(";"));
    }
    while (true) {
      SkipSpace();
      if (AtEnd()) {
        break;
      }
      if (PeekWord("check") || PeekWord("reject")) {
        ASSIGN_OR_RETURN(Check check, ParseCheck());
        content.checks.push_back(std::move(check));
      } else if (PeekWord("allow") || PeekWord("deny")) {
        if (!authorizer) {
          return Error("policies are only allowed in the authorizer");
        }
        ASSIGN_OR_RETURN(Policy policy, ParsePolicy());
        content.policies.push_back(std::move(policy));
      } else {
        ASSIGN_OR_RETURN(Predicate head, ParsePredicate());
        SkipSpace();
        if (Consume("<-")) {
          Rule rule;
          rule.head = std::move(head);
          RETURN_IF_ERROR(ParseRuleBody(&rule));
          if (!RuleVariablesAreBound(rule)) {
            return Error("rule head or expression uses a variable its body does not bind");
          }
          content.rules.push_back(std::move(rule));
        } else {
          for (const Term& t : head.terms) {
            if (!t.IsGround()) {
              return Error("facts cannot contain variables");
            }
          }
          content.facts.push_back(std::move(head));
        }
      }
      RETURN_IF_ERROR(Expect(";"));
    }
    return content;
  }

 private:
  Status Error(std::string_view what) const {
    return MakeAuthError(wire::AuthErrorDetail::PARSE,
                         std::string(what) + " at offset " + std::to_string(pos_));
  }

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }

  void SkipSpace() {
    while (!AtEnd()) {
      char c = Peek();
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else if (c == '/' && Peek(1) == '/') {
        while (!AtEnd() && Peek() != '\n') {
          ++pos_;
        }
      } else {
        break;
      }
    }
  }

  bool Consume(std::string_view token) {
    if (text_.substr(pos_).starts_with(token)) {
      pos_ += token.size();
      return true;
    }
    return false;
  }

  Status Expect(std::string_view token) {
    SkipSpace();
    if (!Consume(token)) {
      return Error("expected '" + std::string(token) + "'");
    }
    return Status();
  }

  // True when the next characters are `word` not followed by a name character.
  bool PeekWord(std::string_view word) const {
    return text_.substr(pos_).starts_with(word) && !IsNameChar(Peek(word.size()));
  }
  bool ConsumeWord(std::string_view word) {
    if (!PeekWord(word)) {
      return false;
    }
    pos_ += word.size();
    return true;
  }

  std::string ReadName() {
    size_t start = pos_;
    if (IsLetter(Peek())) {
      while (!AtEnd() && IsNameChar(Peek())) {
        ++pos_;
      }
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  StatusOr<std::vector<Scope>> ParseScopes() {
    if (!ConsumeWord("trusting")) {
      return Error("expected 'trusting'");
    }
    std::vector<Scope> scopes;
    do {
      SkipSpace();
      Scope scope;
      if (ConsumeWord("authority")) {
        scope.kind = Scope::Kind::kAuthority;
      } else if (ConsumeWord("previous")) {
        scope.kind = Scope::Kind::kPrevious;
      } else {
        size_t start = pos_;
        while (!AtEnd() && (IsNameChar(Peek()) || Peek() == '/')) {
          ++pos_;
        }
        auto key = PublicKey::FromString(text_.substr(start, pos_ - start));
        if (!key.ok()) {
          return Error("expected authority, previous or a public key");
        }
        scope.kind = Scope::Kind::kPublicKey;
        scope.key = *std::move(key);
      }
      scopes.push_back(std::move(scope));
      SkipSpace();
    } while (Consume(","));
    return scopes;
  }

  StatusOr<Predicate> ParsePredicate() {
    SkipSpace();
    Predicate predicate;
    predicate.name = ReadName();
    if (predicate.name.empty()) {
      return Error("expected a predicate name");
    }
    RETURN_IF_ERROR(Expect("("));
    SkipSpace();
    if (Consume(")")) {
      return Error("a predicate needs at least one term");
    }
    do {
      SkipSpace();
      ASSIGN_OR_RETURN(Term term, ParseTerm(0));
      predicate.terms.push_back(std::move(term));
      SkipSpace();
    } while (Consume(","));
    RETURN_IF_ERROR(Expect(")"));
    return predicate;
  }

  // True when a predicate (name then '(') starts here, as opposed to an expression. No
  // expression starts that way, so `null($t)` is a predicate named "null".
  bool AtPredicate() const {
    if (!IsLetter(Peek())) {
      return false;
    }
    size_t end = pos_;
    while (end < text_.size() && IsNameChar(text_[end])) {
      ++end;
    }
    return end < text_.size() && text_[end] == '(';
  }

  Status ParseRuleBody(Rule* rule) {
    do {
      SkipSpace();
      if (AtPredicate()) {
        ASSIGN_OR_RETURN(Predicate p, ParsePredicate());
        rule->body.push_back(std::move(p));
      } else {
        Expression expression;
        RETURN_IF_ERROR(ParseExpression(&expression, 0));
        rule->expressions.push_back(std::move(expression));
      }
      SkipSpace();
    } while (Consume(","));
    if (PeekWord("trusting")) {
      ASSIGN_OR_RETURN(rule->scopes, ParseScopes());
    }
    return Status();
  }

  StatusOr<std::vector<Rule>> ParseQueries() {
    std::vector<Rule> queries;
    do {
      Rule query;
      query.head.name = "query";
      RETURN_IF_ERROR(ParseRuleBody(&query));
      if (!RuleVariablesAreBound(query)) {
        return Error("expression uses a variable no predicate binds");
      }
      queries.push_back(std::move(query));
      SkipSpace();
    } while (ConsumeWord("or"));
    return queries;
  }

  StatusOr<Check> ParseCheck() {
    Check check;
    if (ConsumeWord("reject")) {
      check.kind = Check::Kind::kReject;
      SkipSpace();
      if (!ConsumeWord("if")) {
        return Error("expected 'if'");
      }
    } else {
      ConsumeWord("check");
      SkipSpace();
      if (ConsumeWord("if")) {
        check.kind = Check::Kind::kIf;
      } else if (ConsumeWord("all")) {
        check.kind = Check::Kind::kAll;
      } else {
        return Error("expected 'if' or 'all'");
      }
    }
    ASSIGN_OR_RETURN(check.queries, ParseQueries());
    return check;
  }

  StatusOr<Policy> ParsePolicy() {
    Policy policy;
    policy.kind = ConsumeWord("allow") ? Policy::Kind::kAllow : Policy::Kind::kDeny;
    if (policy.kind == Policy::Kind::kDeny) {
      ConsumeWord("deny");
    }
    SkipSpace();
    if (!ConsumeWord("if")) {
      return Error("expected 'if'");
    }
    ASSIGN_OR_RETURN(policy.queries, ParseQueries());
    return policy;
  }

  // ---- terms ----

  StatusOr<Term> ParseTerm(int depth) {
    if (depth > kMaxNesting) {
      return Error("nesting too deep");
    }
    SkipSpace();
    char c = Peek();
    if (c == '$') {
      ++pos_;
      size_t start = pos_;
      while (!AtEnd() && IsNameChar(Peek())) {
        ++pos_;
      }
      if (pos_ == start) {
        return Error("expected a variable name");
      }
      return Term::Variable(std::string(text_.substr(start, pos_ - start)));
    }
    if (c == '"') {
      return ParseString();
    }
    if (ConsumeWord("true")) {
      return Term::Bool(true);
    }
    if (ConsumeWord("false")) {
      return Term::Bool(false);
    }
    if (ConsumeWord("null")) {
      return Term::Null();
    }
    if (Consume("hex:")) {
      size_t start = pos_;
      while (!AtEnd() && (IsDigit(Peek()) || (Peek() >= 'a' && Peek() <= 'f') ||
                          (Peek() >= 'A' && Peek() <= 'F'))) {
        ++pos_;
      }
      auto bytes = HexDecode(text_.substr(start, pos_ - start));
      if (!bytes.ok()) {
        return Error("invalid hex bytes");
      }
      return Term::Bytes(*std::move(bytes));
    }
    if (c == '[') {
      ++pos_;
      std::vector<Term> items;
      SkipSpace();
      if (!Consume("]")) {
        do {
          ASSIGN_OR_RETURN(Term item, ParseTerm(depth + 1));
          if (item.kind == TermKind::kVariable) {
            return Error("arrays cannot contain variables");
          }
          items.push_back(std::move(item));
          SkipSpace();
        } while (Consume(","));
        RETURN_IF_ERROR(Expect("]"));
      }
      return Term::Array(std::move(items));
    }
    if (c == '{') {
      return ParseSetOrMap(depth);
    }
    if (IsDigit(c) || (c == '-' && IsDigit(Peek(1)))) {
      if (AtDate()) {
        return ParseDate();
      }
      return ParseInteger();
    }
    return Error("expected a term");
  }

  StatusOr<Term> ParseString() {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      if (AtEnd()) {
        return Error("unterminated string");
      }
      char c = text_[pos_++];
      if (c == '"') {
        break;
      }
      if (c == '\\') {
        if (AtEnd()) {
          return Error("unterminated string");
        }
        char e = text_[pos_++];
        switch (e) {
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case 'r':
            out += '\r';
            break;
          case '"':
            out += '"';
            break;
          case '\\':
            out += '\\';
            break;
          default:
            return Error("unknown string escape");
        }
      } else {
        out += c;
      }
    }
    return Term::String(std::move(out));
  }

  StatusOr<Term> ParseInteger() {
    size_t start = pos_;
    if (Peek() == '-') {
      ++pos_;
    }
    while (!AtEnd() && IsDigit(Peek())) {
      ++pos_;
    }
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text_.data() + start, text_.data() + pos_, value);
    if (ec != std::errc() || end != text_.data() + pos_) {
      return Error("integer out of range");
    }
    return Term::Integer(value);
  }

  bool AtDate() const {
    size_t i = pos_;
    while (i < text_.size() && IsDigit(text_[i])) {
      ++i;
    }
    return i > pos_ && i + 6 < text_.size() && text_[i] == '-' && IsDigit(text_[i + 1]) &&
           IsDigit(text_[i + 2]) && text_[i + 3] == '-' && IsDigit(text_[i + 4]) &&
           IsDigit(text_[i + 5]) && text_[i + 6] == 'T';
  }

  // RFC 3339: YYYY-MM-DDTHH:MM:SS[.fraction](Z|(+|-)HH:MM).
  StatusOr<Term> ParseDate() {
    auto number = [&](size_t digits, int64_t* out) {
      *out = 0;
      for (size_t i = 0; i < digits; ++i) {
        if (!IsDigit(Peek())) {
          return false;
        }
        *out = *out * 10 + (text_[pos_++] - '0');
      }
      return true;
    };
    int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    size_t start = pos_;
    while (!AtEnd() && IsDigit(Peek())) {
      ++pos_;
    }
    if (pos_ - start > 9) {
      return Error("date year out of range");
    }
    for (size_t i = start; i < pos_; ++i) {
      year = year * 10 + (text_[i] - '0');
    }
    if (!Consume("-") || !number(2, &month) || !Consume("-") || !number(2, &day) || !Consume("T") ||
        !number(2, &hour) || !Consume(":") || !number(2, &minute) || !Consume(":") ||
        !number(2, &second)) {
      return Error("malformed date");
    }
    if (Consume(".")) {
      while (!AtEnd() && IsDigit(Peek())) {
        ++pos_;
      }
    }
    int64_t offset = 0;
    if (!Consume("Z") && !Consume("z")) {
      char sign = Peek();
      int64_t oh = 0, om = 0;
      if ((sign != '+' && sign != '-')) {
        return Error("date needs a time zone");
      }
      ++pos_;
      if (!number(2, &oh) || !Consume(":") || !number(2, &om)) {
        return Error("malformed offset");
      }
      offset = (oh * 3600 + om * 60) * (sign == '+' ? 1 : -1);
    }
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
      return Error("date field out of range");
    }
    int64_t seconds =
        DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
    if (seconds < 0) {
      return Error("dates before 1970 are not representable");
    }
    return Term::Date(static_cast<uint64_t>(seconds));
  }

  StatusOr<Term> ParseSetOrMap(int depth) {
    ++pos_;  // '{'
    SkipSpace();
    if (Consume("}")) {
      return Term::Map({});
    }
    if (Consume(",")) {
      RETURN_IF_ERROR(Expect("}"));
      return Term::Set({});
    }
    ASSIGN_OR_RETURN(Term first, ParseTerm(depth + 1));
    SkipSpace();
    if (Consume(":")) {
      std::vector<std::pair<Term, Term>> entries;
      Term key = std::move(first);
      while (true) {
        if (key.kind != TermKind::kInteger && key.kind != TermKind::kString) {
          return Error("map keys must be integers or strings");
        }
        ASSIGN_OR_RETURN(Term value, ParseTerm(depth + 1));
        if (value.kind == TermKind::kVariable) {
          return Error("maps cannot hold variables");
        }
        entries.emplace_back(std::move(key), std::move(value));
        SkipSpace();
        if (!Consume(",")) {
          break;
        }
        ASSIGN_OR_RETURN(key, ParseTerm(depth + 1));
        RETURN_IF_ERROR(Expect(":"));
      }
      RETURN_IF_ERROR(Expect("}"));
      return Term::Map(std::move(entries));
    }
    std::vector<Term> items;
    items.push_back(std::move(first));
    while (Consume(",")) {
      ASSIGN_OR_RETURN(Term item, ParseTerm(depth + 1));
      items.push_back(std::move(item));
      SkipSpace();
    }
    RETURN_IF_ERROR(Expect("}"));
    for (const Term& item : items) {
      if (item.kind == TermKind::kVariable || item.kind == TermKind::kSet) {
        return Error("sets cannot contain variables or sets");
      }
    }
    return Term::Set(std::move(items));
  }

  // ---- expressions ----

  static Op BinaryOp(BinaryKind kind) {
    Op op;
    op.kind = Op::Kind::kBinary;
    op.binary = kind;
    return op;
  }
  static Op UnaryOp(UnaryKind kind) {
    Op op;
    op.kind = Op::Kind::kUnary;
    op.unary = kind;
    return op;
  }
  static Op ClosureOp(std::vector<std::string> params, Expression body) {
    Op op;
    op.kind = Op::Kind::kClosure;
    op.params = std::move(params);
    op.body = std::move(body);
    return op;
  }

  // Precedence levels, loosest first.
  enum Level { kOr, kAnd, kCompare, kXor, kBitOr, kBitAnd, kAdditive, kMultiplicative, kUnary };

  Status ParseExpression(Expression* out, int depth) { return ParseLevel(kOr, out, depth); }

  // Matches an operator of `level` at the cursor (without consuming it).
  std::optional<std::pair<std::string_view, BinaryKind>> PeekOperator(Level level) const {
    std::string_view rest = text_.substr(pos_);
    auto is = [&](std::string_view op) { return rest.starts_with(op); };
    switch (level) {
      case kOr:
        if (is("||")) {
          return std::make_pair("||", BinaryKind::kLazyOr);
        }
        break;
      case kAnd:
        if (is("&&")) {
          return std::make_pair("&&", BinaryKind::kLazyAnd);
        }
        break;
      case kCompare:
        if (is("===")) {
          return std::make_pair("===", BinaryKind::kEqual);
        }
        if (is("!==")) {
          return std::make_pair("!==", BinaryKind::kNotEqual);
        }
        if (is("==")) {
          return std::make_pair("==", BinaryKind::kHeterogeneousEqual);
        }
        if (is("!=")) {
          return std::make_pair("!=", BinaryKind::kHeterogeneousNotEqual);
        }
        if (is("<=")) {
          return std::make_pair("<=", BinaryKind::kLessOrEqual);
        }
        if (is(">=")) {
          return std::make_pair(">=", BinaryKind::kGreaterOrEqual);
        }
        if (is("<") && !is("<-")) {
          return std::make_pair("<", BinaryKind::kLessThan);
        }
        if (is(">")) {
          return std::make_pair(">", BinaryKind::kGreaterThan);
        }
        break;
      case kXor:
        if (is("^")) {
          return std::make_pair("^", BinaryKind::kBitwiseXor);
        }
        break;
      case kBitOr:
        if (is("|") && !is("||")) {
          return std::make_pair("|", BinaryKind::kBitwiseOr);
        }
        break;
      case kBitAnd:
        if (is("&") && !is("&&")) {
          return std::make_pair("&", BinaryKind::kBitwiseAnd);
        }
        break;
      case kAdditive:
        if (is("+")) {
          return std::make_pair("+", BinaryKind::kAdd);
        }
        if (is("-") && !is("->")) {
          return std::make_pair("-", BinaryKind::kSub);
        }
        break;
      case kMultiplicative:
        if (is("*")) {
          return std::make_pair("*", BinaryKind::kMul);
        }
        if (is("/") && !is("//")) {
          return std::make_pair("/", BinaryKind::kDiv);
        }
        break;
      case kUnary:
        break;
    }
    return std::nullopt;
  }

  Status ParseLevel(Level level, Expression* out, int depth) {
    if (depth > kMaxNesting) {
      return Error("expression nesting too deep");
    }
    if (level == kUnary) {
      return ParseUnary(out, depth);
    }
    Level next = static_cast<Level>(level + 1);
    RETURN_IF_ERROR(ParseLevel(next, out, depth));
    while (true) {
      SkipSpace();
      auto op = PeekOperator(level);
      if (!op.has_value()) {
        return Status();
      }
      pos_ += op->first.size();
      Expression right;
      RETURN_IF_ERROR(ParseLevel(next, &right, depth + 1));
      if (level == kOr || level == kAnd) {
        out->push_back(ClosureOp({}, std::move(right)));
      } else {
        out->insert(out->end(), right.begin(), right.end());
      }
      out->push_back(BinaryOp(op->second));
      // Comparisons do not associate: `a < b < c` needs parentheses.
      if (level == kCompare) {
        SkipSpace();
        if (PeekOperator(kCompare).has_value()) {
          return Error("comparisons need parentheses");
        }
        return Status();
      }
    }
  }

  Status ParseUnary(Expression* out, int depth) {
    SkipSpace();
    if (Peek() == '!' && Peek(1) != '=') {
      ++pos_;
      RETURN_IF_ERROR(ParseLevel(kUnary, out, depth + 1));
      out->push_back(UnaryOp(UnaryKind::kNegate));
      return Status();
    }
    return ParseMethodChain(out, depth);
  }

  Status ParseMethodChain(Expression* out, int depth) {
    SkipSpace();
    const size_t chain_start = out->size();
    if (Consume("(")) {
      RETURN_IF_ERROR(ParseExpression(out, depth + 1));
      RETURN_IF_ERROR(Expect(")"));
      out->push_back(UnaryOp(UnaryKind::kParens));
    } else {
      ASSIGN_OR_RETURN(Term term, ParseTerm(depth + 1));
      Op value;
      value.value = std::move(term);
      out->push_back(std::move(value));
    }
    while (Peek() == '.' && (IsLetter(Peek(1)))) {
      ++pos_;
      RETURN_IF_ERROR(ParseMethod(out, chain_start, depth));
    }
    return Status();
  }

  // Parses `.name(args)` applied to the chain that starts at out[chain_start].
  Status ParseMethod(Expression* out, size_t chain_start, int depth) {
    std::string name = ReadName();
    RETURN_IF_ERROR(Expect("("));
    SkipSpace();
    auto no_args = [&]() { return Expect(")"); };
    auto one_arg = [&](Expression* arg) -> Status {
      RETURN_IF_ERROR(ParseExpression(arg, depth + 1));
      return Expect(")");
    };
    static const std::pair<std::string_view, BinaryKind> kBinaryMethods[] = {
        {"contains", BinaryKind::kContains},
        {"starts_with", BinaryKind::kPrefix},
        {"ends_with", BinaryKind::kSuffix},
        {"matches", BinaryKind::kRegex},
        {"intersection", BinaryKind::kIntersection},
        {"union", BinaryKind::kUnion},
        {"get", BinaryKind::kGet},
    };
    for (const auto& [method, kind] : kBinaryMethods) {
      if (name == method) {
        Expression arg;
        RETURN_IF_ERROR(one_arg(&arg));
        out->insert(out->end(), arg.begin(), arg.end());
        out->push_back(BinaryOp(kind));
        return Status();
      }
    }
    if (name == "length" || name == "type") {
      RETURN_IF_ERROR(no_args());
      out->push_back(UnaryOp(name == "length" ? UnaryKind::kLength : UnaryKind::kTypeOf));
      return Status();
    }
    if (name == "all" || name == "any") {
      std::vector<std::string> params;
      do {
        SkipSpace();
        if (!Consume("$")) {
          return Error("expected a closure parameter");
        }
        std::string param = ReadParam();
        if (param.empty()) {
          return Error("expected a closure parameter");
        }
        params.push_back(std::move(param));
        SkipSpace();
      } while (Consume(","));
      RETURN_IF_ERROR(Expect("->"));
      Expression body;
      RETURN_IF_ERROR(one_arg(&body));
      out->push_back(ClosureOp(std::move(params), std::move(body)));
      out->push_back(BinaryOp(name == "all" ? BinaryKind::kAll : BinaryKind::kAny));
      return Status();
    }
    if (name == "try_or") {
      Expression receiver(out->begin() + static_cast<ptrdiff_t>(chain_start), out->end());
      out->resize(chain_start);
      out->push_back(ClosureOp({}, std::move(receiver)));
      Expression arg;
      RETURN_IF_ERROR(one_arg(&arg));
      out->insert(out->end(), arg.begin(), arg.end());
      out->push_back(BinaryOp(BinaryKind::kTryOr));
      return Status();
    }
    if (name.starts_with("extern::") && name.size() > 8) {
      Op op;
      op.ffi_name = name.substr(8);
      if (Consume(")")) {
        op.kind = Op::Kind::kUnary;
        op.unary = UnaryKind::kFfi;
      } else {
        Expression arg;
        RETURN_IF_ERROR(one_arg(&arg));
        out->insert(out->end(), arg.begin(), arg.end());
        op.kind = Op::Kind::kBinary;
        op.binary = BinaryKind::kFfi;
      }
      out->push_back(std::move(op));
      return Status();
    }
    return Error("unknown method '" + name + "'");
  }

  std::string ReadParam() {
    size_t start = pos_;
    while (!AtEnd() && IsNameChar(Peek())) {
      ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

StatusOr<BlockContent> ParseBlock(std::string_view text) { return Parser(text).Parse(false); }

StatusOr<Rule> ParseRule(std::string_view text) { return Parser(text).ParseSingleRule(); }

StatusOr<BlockContent> ParseAuthorizer(std::string_view text) { return Parser(text).Parse(true); }

}  // namespace recordstore::auth
