#include "query/query_parser.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "common/status_macros.h"
#include "metadata/key_expression.h"
#include "query/query_component.h"
#include "tuple/big_integer.h"
#include "tuple/tuple.h"

namespace recordstore::query {
namespace {

// ---------------------------------------------------------------------------------------------
// Tokens

enum class TokenKind {
  kWord,        // an unquoted name or keyword
  kQuotedName,  // `name`
  kInteger,     // -?[0-9]+
  kDecimal,     // a number with a fraction or an exponent
  kString,      // 'text'
  kBytes,       // X'0aff'
  kSymbol,      // = != <> < <= > >= ( ) , . * ;
  kEnd,
  kError,  // a lexical error; `value` holds the message, and tokenizing stopped here
};

struct Token {
  TokenKind kind;
  size_t begin;  // byte offsets into the text
  size_t end;
  // The name (without backquotes), the symbol, the decoded string or bytes, or the error.
  std::string value;
};

bool IsNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsNameChar(char c) { return IsNameStart(c) || IsDigit(c); }
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

// The byte length of the well-formed UTF-8 sequence at `text[i]`, or 0 when it is not one
// (overlong forms, surrogates and code points above U+10FFFF are ill-formed).
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t length;
  uint8_t low = 0x80, high = 0xBF;  // the range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) low = 0xA0;
    if (b0 == 0xED) high = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) low = 0x90;
    if (b0 == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

class Tokenizer {
 public:
  explicit Tokenizer(std::string_view text) : text_(text) {}

  // Every token up to kEnd, or up to and including the first kError.
  std::vector<Token> Run() {
    std::vector<Token> tokens;
    while (true) {
      SkipSpaceAndComments();
      if (i_ >= text_.size()) {
        tokens.push_back({TokenKind::kEnd, end_of_content_, end_of_content_, ""});
        return tokens;
      }
      Token token = Next();
      bool error = token.kind == TokenKind::kError;
      end_of_content_ = token.end;
      tokens.push_back(std::move(token));
      if (error) return tokens;
    }
  }

 private:
  void SkipSpaceAndComments() {
    while (i_ < text_.size()) {
      if (IsSpace(text_[i_])) {
        ++i_;
      } else if (text_.substr(i_, 2) == "--") {
        while (i_ < text_.size() && text_[i_] != '\n') ++i_;
      } else {
        return;
      }
    }
  }

  Token Error(size_t at, std::string message) {
    return {TokenKind::kError, at, at, std::move(message)};
  }

  Token Next() {
    size_t begin = i_;
    char c = text_[i_];
    if ((c == 'x' || c == 'X') && i_ + 1 < text_.size() && text_[i_ + 1] == '\'') {
      return Bytes();
    }
    if (IsNameStart(c)) {
      while (i_ < text_.size() && IsNameChar(text_[i_])) ++i_;
      return {TokenKind::kWord, begin, i_, std::string(text_.substr(begin, i_ - begin))};
    }
    if (IsDigit(c) || (c == '-' && i_ + 1 < text_.size() && IsDigit(text_[i_ + 1]))) {
      return Number();
    }
    if (c == '\'') return String();
    if (c == '`') return QuotedName();
    static constexpr std::array<std::string_view, 4> kTwoCharSymbols = {"!=", "<>", "<=", ">="};
    for (std::string_view symbol : kTwoCharSymbols) {
      if (text_.substr(i_, 2) == symbol) {
        i_ += 2;
        return {TokenKind::kSymbol, begin, i_, std::string(symbol)};
      }
    }
    if (std::string_view("=<>(),.*;").find(c) != std::string_view::npos) {
      ++i_;
      return {TokenKind::kSymbol, begin, i_, std::string(1, c)};
    }
    if (c == '"') {
      return Error(begin,
                   "unexpected '\"': strings are written in single quotes ('text') and names that "
                   "are keywords in backquotes (`name`)");
    }
    if (static_cast<uint8_t>(c) < 0x20 || static_cast<uint8_t>(c) >= 0x7F) {
      return Error(begin, "unexpected character outside a string literal");
    }
    return Error(begin, std::string("unexpected character '") + c + "'");
  }

  Token Number() {
    size_t begin = i_;
    bool decimal = false;
    if (text_[i_] == '-') ++i_;
    while (i_ < text_.size() && IsDigit(text_[i_])) ++i_;
    if (i_ < text_.size() && text_[i_] == '.') {
      ++i_;
      if (i_ >= text_.size() || !IsDigit(text_[i_])) {
        return Error(i_, "expected a digit after the decimal point");
      }
      while (i_ < text_.size() && IsDigit(text_[i_])) ++i_;
      decimal = true;
    }
    if (i_ < text_.size() && (text_[i_] == 'e' || text_[i_] == 'E')) {
      ++i_;
      if (i_ < text_.size() && (text_[i_] == '+' || text_[i_] == '-')) ++i_;
      if (i_ >= text_.size() || !IsDigit(text_[i_])) {
        return Error(i_, "expected the digits of an exponent");
      }
      while (i_ < text_.size() && IsDigit(text_[i_])) ++i_;
      decimal = true;
    }
    if (i_ < text_.size() && (IsNameChar(text_[i_]) || text_[i_] == '.')) {
      return Error(begin,
                   "invalid number '" + std::string(text_.substr(begin, i_ + 1 - begin)) + "'");
    }
    return {decimal ? TokenKind::kDecimal : TokenKind::kInteger, begin, i_,
            std::string(text_.substr(begin, i_ - begin))};
  }

  Token String() {
    size_t begin = i_;
    ++i_;
    std::string value;
    while (true) {
      if (i_ >= text_.size()) return Error(begin, "unterminated string literal");
      char c = text_[i_];
      if (c == '\'') {
        if (i_ + 1 < text_.size() && text_[i_ + 1] == '\'') {
          value += '\'';
          i_ += 2;
          continue;
        }
        ++i_;
        return {TokenKind::kString, begin, i_, std::move(value)};
      }
      size_t length = Utf8SequenceLength(text_, i_);
      if (length == 0) return Error(i_, "invalid UTF-8 in a string literal");
      value.append(text_.substr(i_, length));
      i_ += length;
    }
  }

  Token Bytes() {
    size_t begin = i_;
    i_ += 2;
    std::string value;
    size_t digits_begin = i_;
    while (i_ < text_.size() && text_[i_] != '\'') {
      if (HexValue(text_[i_]) < 0) {
        return Error(i_, "expected a hexadecimal digit or a closing quote in a bytes literal");
      }
      ++i_;
    }
    if (i_ >= text_.size()) return Error(begin, "unterminated bytes literal");
    if ((i_ - digits_begin) % 2 != 0) {
      return Error(begin, "a bytes literal needs an even number of hexadecimal digits");
    }
    for (size_t k = digits_begin; k < i_; k += 2) {
      value += static_cast<char>(HexValue(text_[k]) * 16 + HexValue(text_[k + 1]));
    }
    ++i_;
    return {TokenKind::kBytes, begin, i_, std::move(value)};
  }

  Token QuotedName() {
    size_t begin = i_;
    ++i_;
    size_t name_begin = i_;
    while (i_ < text_.size() && text_[i_] != '`' && text_[i_] != '\n') ++i_;
    if (i_ >= text_.size() || text_[i_] != '`') return Error(begin, "unterminated `name`");
    std::string_view name = text_.substr(name_begin, i_ - name_begin);
    ++i_;
    if (name.empty() || !IsNameStart(name.front()) ||
        !std::all_of(name.begin(), name.end(), IsNameChar)) {
      return Error(begin, "`" + std::string(name) +
                              "` is not a valid name: names are letters, digits and '_', not "
                              "starting with a digit");
    }
    return {TokenKind::kQuotedName, begin, i_, std::string(name)};
  }

  std::string_view text_;
  size_t i_ = 0;
  size_t end_of_content_ = 0;  // where kEnd is reported: after the last token
};

// Keywords that cannot be unquoted names. ORDER, BY, STARTS, WITH, ANY and the aggregate
// names are keywords only where the grammar expects them (so `FROM Order` works).
constexpr std::array<std::string_view, 15> kReservedWords = {
    "SELECT", "FROM", "WHERE", "AND", "OR",   "NOT",   "IN",    "IS",
    "NULL",   "TRUE", "FALSE", "ASC", "DESC", "LIMIT", "OFFSET"};
constexpr std::array<std::string_view, 9> kContextualKeywords = {
    "ORDER", "BY", "STARTS", "WITH", "ANY", "COUNT", "SUM", "MIN", "MAX"};

bool IsReserved(std::string_view word) {
  return std::any_of(kReservedWords.begin(), kReservedWords.end(),
                     [&](std::string_view k) { return EqualsIgnoreCase(k, word); });
}
bool IsKeyword(std::string_view word) {
  return IsReserved(word) ||
         std::any_of(kContextualKeywords.begin(), kContextualKeywords.end(),
                     [&](std::string_view k) { return EqualsIgnoreCase(k, word); });
}

std::string JoinPath(const std::vector<std::string>& path) {
  std::string joined;
  for (const std::string& segment : path) {
    if (!joined.empty()) joined += '.';
    joined += segment;
  }
  return joined;
}

// `leaf` built on the last segment of `path`, under Nested components for the others.
ComponentPtr NestAlong(const std::vector<std::string>& path, size_t first, ComponentPtr leaf) {
  for (size_t k = path.size() - 1; k > first; --k) {
    leaf = std::make_unique<NestedComponent>(path[k - 1], std::move(leaf));
  }
  return leaf;
}

std::unique_ptr<metadata::KeyExpression> KeyForPath(const std::vector<std::string>& path) {
  std::unique_ptr<metadata::KeyExpression> key = metadata::key::Field(path.back());
  for (size_t k = path.size() - 1; k > 0; --k) {
    key = metadata::key::Nest(path[k - 1], std::move(key));
  }
  return key;
}

// ---------------------------------------------------------------------------------------------
// Parser

class Parser {
 public:
  Parser(std::string_view text, std::vector<Token> tokens)
      : text_(text), tokens_(std::move(tokens)) {}

  StatusOr<Statement> ParseStatement() {
    Statement statement;
    if (!IsWord("SELECT")) return Expected("SELECT");
    Advance();
    RETURN_IF_ERROR(ParseSelectList(statement.query));
    if (!IsWord("FROM")) {
      return Expected(statement.query.aggregate.has_value() ? "FROM" : "',' or FROM");
    }
    Advance();
    RETURN_IF_ERROR(ParseFrom(statement.query));
    std::string allowed = "',', WHERE, ORDER BY, LIMIT, OFFSET";
    if (IsWord("WHERE")) {
      Advance();
      ASSIGN_OR_RETURN(statement.query.filter, ParseOr(0));
      allowed = "AND, OR, ORDER BY, LIMIT, OFFSET";
    }
    bool aggregate = statement.query.aggregate.has_value();
    if (IsWord("ORDER") && !NextIsWord("BY")) {
      Advance();
      return Expected("BY after 'ORDER'");
    }
    if (IsWord("ORDER")) {
      if (aggregate) return Error(Peek(), "ORDER BY does not apply to an aggregate");
      Advance();
      Advance();
      ASSIGN_OR_RETURN(bool direction_given, ParseOrderBy(statement.query));
      allowed = direction_given ? "',', LIMIT, OFFSET" : "',', ASC, DESC, LIMIT, OFFSET";
    }
    bool seen_limit = false, seen_offset = false;
    while (IsWord("LIMIT") || IsWord("OFFSET")) {
      bool limit = IsWord("LIMIT");
      const Token& keyword = Peek();
      if (aggregate) {
        return Error(keyword, Upper(keyword) + " does not apply to an aggregate");
      }
      if (limit ? seen_limit : seen_offset) {
        return Error(keyword, Upper(keyword) + " is given twice");
      }
      Advance();
      ASSIGN_OR_RETURN(int64_t n, ParseCount(limit));
      (limit ? statement.properties.row_limit : statement.properties.skip) = n;
      (limit ? seen_limit : seen_offset) = true;
      allowed = seen_limit && seen_offset ? "" : seen_limit ? "OFFSET" : "LIMIT";
    }
    if (IsSymbol(";")) {
      Advance();
      if (Peek().kind != TokenKind::kEnd) return Expected("the end of the query after ';'");
    }
    if (Peek().kind != TokenKind::kEnd) {
      if (IsSymbol(")")) return Error(Peek(), "unmatched ')'");
      return Expected(allowed.empty() ? std::string("the end of the query")
                                      : allowed + " or the end of the query");
    }
    return statement;
  }

 private:
  // --- Token access.

  const Token& Peek() const { return tokens_[pos_]; }
  const Token& PeekAt(size_t ahead) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  void Advance() {
    if (pos_ + 1 < tokens_.size()) ++pos_;
  }
  std::string_view SourceOf(const Token& token) const {
    return text_.substr(token.begin, token.end - token.begin);
  }
  std::string Upper(const Token& token) const {
    std::string upper(SourceOf(token));
    for (char& c : upper) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    }
    return upper;
  }
  static bool TokenIsWord(const Token& token, std::string_view word) {
    return token.kind == TokenKind::kWord && EqualsIgnoreCase(token.value, word);
  }
  bool IsWord(std::string_view word) const { return TokenIsWord(Peek(), word); }
  bool NextIsWord(std::string_view word) const { return TokenIsWord(PeekAt(1), word); }
  bool IsSymbol(std::string_view symbol) const {
    return Peek().kind == TokenKind::kSymbol && Peek().value == symbol;
  }
  bool NextIsSymbol(std::string_view symbol) const {
    return PeekAt(1).kind == TokenKind::kSymbol && PeekAt(1).value == symbol;
  }
  // A name: an unquoted word that is not reserved, or a `quoted` one.
  bool IsName() const {
    return Peek().kind == TokenKind::kQuotedName ||
           (Peek().kind == TokenKind::kWord && !IsReserved(Peek().value));
  }

  // --- Errors.

  // "'ORDER'", "end of input", "the string 'abc'": what was found, for messages.
  std::string Describe(const Token& token) const {
    if (token.kind == TokenKind::kEnd) return "end of input";
    std::string source(SourceOf(token));
    constexpr size_t kMaxShown = 30;
    if (source.size() > kMaxShown) {
      size_t cut = kMaxShown;
      while (cut > 0 && (static_cast<uint8_t>(source[cut]) & 0xC0) == 0x80) --cut;
      source = source.substr(0, cut) + "...";
    }
    switch (token.kind) {
      case TokenKind::kString:
        return "the string " + source;
      case TokenKind::kBytes:
        return "the bytes " + source;
      case TokenKind::kQuotedName:
        return source;
      default:
        return "'" + source + "'";
    }
  }

  // "syntax error at line L, column C: <detail>", then the line and a caret under the column.
  Status Error(const Token& token, std::string_view detail) const {
    size_t offset = token.begin;
    if (token.kind == TokenKind::kError) detail = token.value;
    size_t line_begin = offset == 0 ? std::string_view::npos : text_.rfind('\n', offset - 1);
    line_begin = line_begin == std::string_view::npos ? 0 : line_begin + 1;
    size_t line_end = text_.find('\n', offset);
    if (line_end == std::string_view::npos) line_end = text_.size();
    if (line_end > line_begin && text_[line_end - 1] == '\r') --line_end;
    size_t line = 1 + std::count(text_.begin(), text_.begin() + offset, '\n');
    size_t column = 1;
    std::string caret = "  ";
    for (size_t k = line_begin; k < offset && k < line_end; ++k) {
      if ((static_cast<uint8_t>(text_[k]) & 0xC0) == 0x80) continue;  // inside a character
      ++column;
      caret += text_[k] == '\t' ? '\t' : ' ';
    }
    caret += '^';
    std::string message = "syntax error at line " + std::to_string(line) + ", column " +
                          std::to_string(column) + ": " + std::string(detail) + "\n  " +
                          std::string(text_.substr(line_begin, line_end - line_begin)) + "\n" +
                          caret;
    return MakeError(ErrorCode::kInvalidArgument, message);
  }

  // "expected <what>, found <the current token>", with a hint when the token is a keyword
  // standing where a name belongs or a bare word standing where a value belongs.
  Status Expected(std::string_view what) const {
    const Token& token = Peek();
    std::string detail = "expected " + std::string(what) + ", found " + Describe(token);
    return Error(token, detail);
  }
  Status ExpectedName(std::string_view what) const {
    const Token& token = Peek();
    std::string detail = "expected " + std::string(what) + ", found " + Describe(token);
    if (token.kind == TokenKind::kWord && IsReserved(token.value)) {
      detail += " (a keyword: write `" + token.value + "` to use it as a name)";
    }
    return Error(token, detail);
  }
  std::string AfterPrevious() const { return "'" + std::string(SourceOf(tokens_[pos_ - 1])) + "'"; }

  // --- Names and paths.

  StatusOr<std::string> ParseName(std::string_view what) {
    if (!IsName()) return ExpectedName(what);
    std::string name = Peek().value;
    Advance();
    return name;
  }

  StatusOr<std::vector<std::string>> ParsePath(std::string_view what) {
    std::vector<std::string> path;
    ASSIGN_OR_RETURN(std::string first, ParseName(what));
    path.push_back(std::move(first));
    while (IsSymbol(".")) {
      Advance();
      ASSIGN_OR_RETURN(std::string next, ParseName("a field name after '.'"));
      path.push_back(std::move(next));
    }
    return path;
  }

  // --- SELECT list.

  Status ParseSelectList(RecordQuery& query) {
    if (IsSymbol("*")) {
      Advance();
      return absl::OkStatus();
    }
    while (true) {
      if (Peek().kind == TokenKind::kWord && NextIsSymbol("(")) {
        const Token& function = Peek();
        if (!query.required_fields.empty()) {
          return Error(function, "an aggregate cannot be selected together with fields");
        }
        RETURN_IF_ERROR(ParseAggregate(query));
        if (IsSymbol(",")) {
          return Error(Peek(), "an aggregate cannot be selected together with other columns");
        }
        return absl::OkStatus();
      }
      ASSIGN_OR_RETURN(
          std::vector<std::string> path,
          ParsePath(query.required_fields.empty() ? "'*', a field name or an aggregate after SELECT"
                                                  : "a field name after ','"));
      std::string field = JoinPath(path);
      if (std::find(query.required_fields.begin(), query.required_fields.end(), field) ==
          query.required_fields.end()) {
        query.required_fields.push_back(std::move(field));
      }
      if (!IsSymbol(",")) return absl::OkStatus();
      Advance();
    }
  }

  Status ParseAggregate(RecordQuery& query) {
    const Token& function = Peek();
    Aggregate aggregate;
    if (TokenIsWord(function, "COUNT")) {
      aggregate.function = AggregateFunction::kCount;
    } else if (TokenIsWord(function, "SUM")) {
      aggregate.function = AggregateFunction::kSum;
    } else if (TokenIsWord(function, "MIN")) {
      aggregate.function = AggregateFunction::kMin;
    } else if (TokenIsWord(function, "MAX")) {
      aggregate.function = AggregateFunction::kMax;
    } else {
      return Error(function, "unknown function " + Describe(function) +
                                 ": the aggregates are COUNT(*), SUM(field), MIN(field) and "
                                 "MAX(field)");
    }
    Advance();  // the name
    Advance();  // '('
    if (aggregate.function == AggregateFunction::kCount) {
      if (!IsSymbol("*")) return Expected("'*' in COUNT(*) (COUNT of a field is not supported)");
      Advance();
    } else {
      ASSIGN_OR_RETURN(std::vector<std::string> path,
                       ParsePath("a field name after " + AfterPrevious()));
      aggregate.field = JoinPath(path);
    }
    if (!IsSymbol(")")) return Expected("')'");
    Advance();
    query.aggregate = std::move(aggregate);
    return absl::OkStatus();
  }

  // --- FROM.

  Status ParseFrom(RecordQuery& query) {
    while (true) {
      ASSIGN_OR_RETURN(std::string type, ParseName("a record type name after " + AfterPrevious()));
      if (std::find(query.record_types.begin(), query.record_types.end(), type) ==
          query.record_types.end()) {
        query.record_types.push_back(std::move(type));
      }
      if (!IsSymbol(",")) return absl::OkStatus();
      Advance();
    }
  }

  // --- WHERE.

  Status CheckDepth(int depth) const {
    if (depth >= kMaxQueryNestingDepth) {
      return Error(Peek(), "the condition nests deeper than " +
                               std::to_string(kMaxQueryNestingDepth) + " levels");
    }
    return absl::OkStatus();
  }

  StatusOr<ComponentPtr> ParseOr(int depth) {
    std::vector<ComponentPtr> children;
    ASSIGN_OR_RETURN(ComponentPtr first, ParseAnd(depth));
    children.push_back(std::move(first));
    while (IsWord("OR")) {
      Advance();
      ASSIGN_OR_RETURN(ComponentPtr next, ParseAnd(depth));
      children.push_back(std::move(next));
    }
    if (children.size() == 1) return std::move(children.front());
    return ComponentPtr(
        std::make_unique<BooleanComponent>(QueryComponent::Kind::kOr, std::move(children)));
  }

  StatusOr<ComponentPtr> ParseAnd(int depth) {
    std::vector<ComponentPtr> children;
    ASSIGN_OR_RETURN(ComponentPtr first, ParseNot(depth));
    children.push_back(std::move(first));
    while (IsWord("AND")) {
      Advance();
      ASSIGN_OR_RETURN(ComponentPtr next, ParseNot(depth));
      children.push_back(std::move(next));
    }
    if (children.size() == 1) return std::move(children.front());
    return ComponentPtr(
        std::make_unique<BooleanComponent>(QueryComponent::Kind::kAnd, std::move(children)));
  }

  StatusOr<ComponentPtr> ParseNot(int depth) {
    if (IsWord("NOT")) {
      RETURN_IF_ERROR(CheckDepth(depth + 1));
      Advance();
      ASSIGN_OR_RETURN(ComponentPtr child, ParseNot(depth + 1));
      return ComponentPtr(std::make_unique<NotComponent>(std::move(child)));
    }
    return ParsePrimary(depth);
  }

  StatusOr<ComponentPtr> ParsePrimary(int depth) {
    if (IsSymbol("(")) {
      RETURN_IF_ERROR(CheckDepth(depth + 1));
      Advance();
      ASSIGN_OR_RETURN(ComponentPtr inner, ParseOr(depth + 1));
      if (!IsSymbol(")")) return Expected("AND, OR or ')'");
      Advance();
      return inner;
    }
    if (IsWord("ANY") && NextIsSymbol("(")) return ParseAny(depth);
    ASSIGN_OR_RETURN(std::vector<std::string> path,
                     ParsePath("a condition after " + AfterPrevious()));
    std::string path_text = JoinPath(path);
    ASSIGN_OR_RETURN(ParsedComparison comparison, ParseComparison(path_text, false));
    ComponentPtr leaf =
        std::make_unique<FieldComponent>(path.back(), std::move(comparison.comparison));
    ComponentPtr predicate = NestAlong(path, 0, std::move(leaf));
    if (comparison.negated) predicate = std::make_unique<NotComponent>(std::move(predicate));
    return predicate;
  }

  // ANY(path) <comparison> or ANY(path WHERE <condition>).
  StatusOr<ComponentPtr> ParseAny(int depth) {
    Advance();  // ANY
    Advance();  // '('
    ASSIGN_OR_RETURN(std::vector<std::string> path,
                     ParsePath("a repeated field name after 'ANY('"));
    if (IsWord("WHERE")) {
      RETURN_IF_ERROR(CheckDepth(depth + 1));
      Advance();
      ASSIGN_OR_RETURN(ComponentPtr condition, ParseOr(depth + 1));
      if (!IsSymbol(")")) return Expected("AND, OR or ')'");
      Advance();
      // The first segment is the repeated field; the rest is a path inside each element.
      for (size_t k = path.size() - 1; k > 0; --k) {
        condition = std::make_unique<NestedComponent>(path[k], std::move(condition));
      }
      return ComponentPtr(
          std::make_unique<OneOfThemMatchesComponent>(path.front(), std::move(condition)));
    }
    if (!IsSymbol(")")) return Expected(path.size() == 1 ? "'.', WHERE or ')'" : "WHERE or ')'");
    Advance();
    ASSIGN_OR_RETURN(ParsedComparison comparison,
                     ParseComparison("ANY(" + JoinPath(path) + ")", true));
    if (path.size() == 1) {
      return ComponentPtr(
          std::make_unique<OneOfThemComponent>(path.front(), std::move(comparison.comparison)));
    }
    ComponentPtr leaf =
        std::make_unique<FieldComponent>(path.back(), std::move(comparison.comparison));
    return ComponentPtr(std::make_unique<OneOfThemMatchesComponent>(
        path.front(), NestAlong(path, 1, std::move(leaf))));
  }

  struct ParsedComparison {
    Comparison comparison;
    bool negated;  // NOT IN, NOT STARTS WITH
  };

  // The comparison after the field `subject` (for messages).
  StatusOr<ParsedComparison> ParseComparison(const std::string& subject, bool after_any) {
    if (Peek().kind == TokenKind::kSymbol) {
      static constexpr std::array<std::pair<std::string_view, ComparisonType>, 7> kOperators = {{
          {"=", ComparisonType::kEquals},
          {"!=", ComparisonType::kNotEquals},
          {"<>", ComparisonType::kNotEquals},
          {"<", ComparisonType::kLessThan},
          {"<=", ComparisonType::kLessThanOrEquals},
          {">", ComparisonType::kGreaterThan},
          {">=", ComparisonType::kGreaterThanOrEquals},
      }};
      for (const auto& [symbol, type] : kOperators) {
        if (Peek().value != symbol) continue;
        Advance();
        ASSIGN_OR_RETURN(TupleElement value, ParseValue(type));
        return ParsedComparison{Comparison::Binary(type, std::move(value)), false};
      }
    }
    bool negated = false;
    if (IsWord("NOT") && (NextIsWord("IN") || NextIsWord("STARTS"))) {
      if (after_any) {
        return Error(Peek(), "NOT cannot follow ANY(...): write NOT before ANY for \"no element\"");
      }
      negated = true;
      Advance();
    }
    if (IsWord("IN")) {
      Advance();
      if (!IsSymbol("(")) return Expected("'(' after IN");
      std::vector<TupleElement> values;
      do {
        Advance();  // '(' or ','
        ASSIGN_OR_RETURN(TupleElement value, ParseValue(ComparisonType::kIn));
        values.push_back(std::move(value));
      } while (IsSymbol(","));
      if (!IsSymbol(")")) return Expected("',' or ')'");
      Advance();
      return ParsedComparison{Comparison::In(std::move(values)), negated};
    }
    if (IsWord("STARTS") && NextIsWord("WITH")) {
      Advance();
      Advance();
      const Token& token = Peek();
      if (token.kind != TokenKind::kString && token.kind != TokenKind::kBytes) {
        return Expected("a string or bytes literal after " + AfterPrevious());
      }
      ASSIGN_OR_RETURN(TupleElement prefix, ParseValue(ComparisonType::kStartsWith));
      return ParsedComparison{Comparison::Binary(ComparisonType::kStartsWith, std::move(prefix)),
                              negated};
    }
    if (IsWord("IS")) {
      Advance();
      ComparisonType type = ComparisonType::kIsNull;
      if (IsWord("NOT")) {
        type = ComparisonType::kNotNull;
        Advance();
      }
      if (!IsWord("NULL")) {
        return Expected(type == ComparisonType::kIsNull ? "NULL or NOT NULL after 'IS'"
                                                        : "NULL after 'IS NOT'");
      }
      Advance();
      return ParsedComparison{Comparison::Unary(type), false};
    }
    return Expected("a comparison (=, !=, <, <=, >, >=, IN, IS, STARTS WITH) after '" + subject +
                    "'");
  }

  // A literal after an operator (`type` says which, for messages).
  StatusOr<TupleElement> ParseValue(ComparisonType type) {
    const Token& token = Peek();
    switch (token.kind) {
      case TokenKind::kInteger: {
        int64_t value = 0;
        const char* first = token.value.data();
        const char* last = first + token.value.size();
        auto [end, error] = std::from_chars(first, last, value);
        if (error == std::errc() && end == last) {
          Advance();
          return TupleElement(value);
        }
        StatusOr<BigInteger> big = BigInteger::FromDecimal(token.value);
        if (!big.ok()) return Error(token, "integer literal too large");
        Advance();
        return TupleElement(*std::move(big));
      }
      case TokenKind::kDecimal: {
        double value = 0;
        const char* first = token.value.data();
        const char* last = first + token.value.size();
        auto [end, error] = std::from_chars(first, last, value);
        if (error != std::errc() || end != last) {
          return Error(token, "number " + Describe(token) + " is outside the range of a double");
        }
        Advance();
        return TupleElement(value);
      }
      case TokenKind::kString: {
        std::string value = token.value;
        Advance();
        return TupleElement(std::move(value));
      }
      case TokenKind::kBytes: {
        ByteString value{token.value};
        Advance();
        return TupleElement(std::move(value));
      }
      case TokenKind::kWord:
        if (IsWord("TRUE") || IsWord("FALSE")) {
          bool value = IsWord("TRUE");
          Advance();
          return TupleElement(value);
        }
        if (IsWord("NULL")) {
          if (type == ComparisonType::kEquals) {
            return Error(token, "'= NULL' is never true: use IS NULL");
          }
          if (type == ComparisonType::kNotEquals) {
            return Error(token, "'" + std::string(SourceOf(tokens_[pos_ - 1])) +
                                    " NULL' is never true: use IS NOT NULL");
          }
          if (type == ComparisonType::kIn) {
            return Error(token, "NULL cannot be in an IN list: use IS NULL");
          }
          return Error(token, "NULL cannot be compared with " + AfterPrevious() +
                                  ": use IS NULL or IS NOT NULL");
        }
        if (!IsKeyword(token.value)) {
          return Error(token, "expected a value after " + AfterPrevious() + ", found " +
                                  Describe(token) + " (strings and enum values are quoted: '" +
                                  token.value + "')");
        }
        break;
      default:
        break;
    }
    return Expected("a value after " + AfterPrevious());
  }

  // --- ORDER BY, LIMIT, OFFSET.

  // Returns whether the last column has an explicit direction.
  StatusOr<bool> ParseOrderBy(RecordQuery& query) {
    std::vector<std::unique_ptr<metadata::KeyExpression>> keys;
    std::optional<bool> descending;
    std::string first_column;
    bool direction_given = false;
    while (true) {
      const Token& column = Peek();
      ASSIGN_OR_RETURN(std::vector<std::string> path,
                       ParsePath("a field name after " + AfterPrevious()));
      if (first_column.empty()) first_column = JoinPath(path);
      bool desc = false;
      direction_given = IsWord("ASC") || IsWord("DESC");
      if (direction_given) {
        desc = IsWord("DESC");
        Advance();
      }
      if (descending.has_value() && *descending != desc) {
        return Error(column, "mixed sort directions are not supported: '" + JoinPath(path) +
                                 "' is " + (desc ? "DESC" : "ASC") + " but '" + first_column +
                                 "' is " + (*descending ? "DESC" : "ASC") +
                                 " (a direction applies to its own column only)");
      }
      descending = desc;
      keys.push_back(KeyForPath(path));
      if (!IsSymbol(",")) break;
      Advance();
    }
    query.sort =
        keys.size() == 1 ? std::move(keys.front()) : metadata::key::Concat(std::move(keys));
    query.sort_descending = descending.value_or(false);
    return direction_given;
  }

  // The non-negative integer after LIMIT or OFFSET.
  StatusOr<int64_t> ParseCount(bool limit) {
    const Token& token = Peek();
    std::string what =
        std::string(limit ? "a positive" : "a non-negative") + " integer after " + AfterPrevious();
    if (token.kind != TokenKind::kInteger) return Expected(what);
    int64_t value = 0;
    const char* first = token.value.data();
    const char* last = first + token.value.size();
    auto [end, error] = std::from_chars(first, last, value);
    if (error != std::errc() || end != last || value < 0 || (limit && value == 0)) {
      if (limit && error == std::errc() && value == 0) {
        return Error(token, "LIMIT 0 is not supported (leave LIMIT out for no limit)");
      }
      return Expected(what);
    }
    Advance();
    return value;
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

}  // namespace

StatusOr<Statement> ParseQuery(std::string_view text) {
  Parser parser(text, Tokenizer(text).Run());
  return parser.ParseStatement();
}

}  // namespace recordstore::query
