// The Biscuit Datalog data model, independent of any symbol table: strings, names and
// variables are held as text, so facts from blocks with different symbol tables (third-party
// blocks) compare directly. codec.h converts to and from the wire form; parser.h reads the
// text form and the ToString functions below print the canonical text form.
//
// Thread-safety: plain values.
#ifndef RECORDSTORE_AUTH_DATALOG_H_
#define RECORDSTORE_AUTH_DATALOG_H_

#include <compare>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "auth/crypto.h"

namespace recordstore::auth {

// Declaration order is the ordering between kinds (sets and maps print in term order).
enum class TermKind : uint8_t {
  kVariable,
  kInteger,
  kString,
  kDate,
  kBytes,
  kBool,
  kSet,
  kNull,
  kArray,
  kMap,
};

struct Term {
  TermKind kind = TermKind::kNull;
  // kInteger value; kBool as 0/1; kDate as seconds since the epoch (bit pattern of uint64).
  int64_t number = 0;
  // kVariable name (without '$'), kString text, kBytes raw bytes.
  std::string text;
  // kSet: sorted, unique. kArray: in order. kMap: key, value, key, value... sorted by key,
  // keys unique and each an integer or string.
  std::vector<Term> items;

  static Term Variable(std::string name);
  static Term Integer(int64_t value);
  static Term String(std::string value);
  static Term Date(uint64_t seconds);
  static Term Bytes(std::string value);
  static Term Bool(bool value);
  static Term Null();
  // Sorts and deduplicates.
  static Term Set(std::vector<Term> items);
  static Term Array(std::vector<Term> items);
  // Sorts by key; a repeated key keeps its last value.
  static Term Map(std::vector<std::pair<Term, Term>> entries);

  uint64_t date() const { return static_cast<uint64_t>(number); }
  bool boolean() const { return number != 0; }
  // True when no variable occurs in the term.
  bool IsGround() const;

  friend std::strong_ordering operator<=>(const Term& a, const Term& b);
  friend bool operator==(const Term& a, const Term& b) { return std::is_eq(a <=> b); }
};

struct Predicate {
  std::string name;
  std::vector<Term> terms;

  friend bool operator==(const Predicate&, const Predicate&) = default;
  friend bool operator<(const Predicate& a, const Predicate& b) {
    return std::tie(a.name, a.terms) < std::tie(b.name, b.terms);
  }
};

enum class UnaryKind : uint8_t { kNegate, kParens, kLength, kTypeOf, kFfi };

// Values are the wire enum numbers.
enum class BinaryKind : uint8_t {
  kLessThan,
  kGreaterThan,
  kLessOrEqual,
  kGreaterOrEqual,
  kEqual,
  kContains,
  kPrefix,
  kSuffix,
  kRegex,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kAnd,
  kOr,
  kIntersection,
  kUnion,
  kBitwiseAnd,
  kBitwiseOr,
  kBitwiseXor,
  kNotEqual,
  kHeterogeneousEqual,
  kHeterogeneousNotEqual,
  kLazyAnd,
  kLazyOr,
  kAll,
  kAny,
  kGet,
  kFfi,
  kTryOr,
};
inline constexpr int kMaxBinaryKind = static_cast<int>(BinaryKind::kTryOr);

// One instruction of the expression stack machine (see SPECIFICATIONS.md, "Execution").
struct Op {
  enum class Kind : uint8_t { kValue, kUnary, kBinary, kClosure };
  Kind kind = Kind::kValue;
  Term value;  // kValue
  UnaryKind unary = UnaryKind::kNegate;
  BinaryKind binary = BinaryKind::kEqual;
  std::string ffi_name;             // kUnary/kBinary with kFfi
  std::vector<std::string> params;  // kClosure
  std::vector<Op> body;             // kClosure

  friend bool operator==(const Op&, const Op&) = default;
};

// Postfix program. Well-formed (see ValidateExpression) means it leaves exactly one value.
using Expression = std::vector<Op>;

struct Scope {
  enum class Kind : uint8_t { kAuthority, kPrevious, kPublicKey };
  Kind kind = Kind::kAuthority;
  PublicKey key;  // kPublicKey

  friend bool operator==(const Scope&, const Scope&) = default;
};

struct Rule {
  Predicate head;
  std::vector<Predicate> body;
  std::vector<Expression> expressions;
  std::vector<Scope> scopes;
};

struct Check {
  enum class Kind : uint8_t { kIf, kAll, kReject };
  Kind kind = Kind::kIf;
  std::vector<Rule> queries;  // heads are unused
};

struct Policy {
  enum class Kind : uint8_t { kAllow, kDeny };
  Kind kind = Kind::kAllow;
  std::vector<Rule> queries;
};

// The Datalog content of one token block, or of an authorizer's code.
struct BlockContent {
  std::vector<Predicate> facts;
  std::vector<Rule> rules;
  std::vector<Check> checks;
  std::vector<Policy> policies;  // authorizer only
  std::vector<Scope> scopes;     // block-level "trusting" clause
  std::string context;
};

// Block id of the authorizer in origins (the reference implementations use usize::MAX).
inline constexpr uint64_t kAuthorizerBlockId = std::numeric_limits<uint64_t>::max();

// Datalog versions, as encoded in Block.version: v3.0 = 3 ... v3.3 = 6.
inline constexpr uint32_t kMinDatalogVersion = 3;
inline constexpr uint32_t kMaxDatalogVersion = 6;

// OK when `expression` is a well-formed stack program (every op has its operands, closures
// leave one value, exactly one value is left). Malformed programs are a format error.
Status ValidateExpression(const Expression& expression);

// True when every variable of the head and of the expressions (other than closure
// parameters) occurs in a body predicate: a rule must not invent values.
bool RuleVariablesAreBound(const Rule& rule);

// The lowest Datalog version able to carry `content` (what a minted block declares).
uint32_t RequiredVersion(const BlockContent& content, bool has_external_signature);

// Canonical text forms (SPECIFICATIONS.md grammar). REQUIRES: expressions are well-formed.
std::string ToString(const Term& term);
std::string ToString(const Predicate& predicate);
std::string ToString(const Expression& expression);
std::string ToString(const Scope& scope);
std::string ToString(const Rule& rule);
std::string ToString(const Check& check);
std::string ToString(const Policy& policy);
// Every element followed by ";\n": the block-level `trusting` clause, then facts, rules,
// checks and policies (the layout of the samples' "code" fields).
std::string ToString(const BlockContent& content);
// RFC 3339 UTC ("2018-12-20T00:00:00Z").
std::string FormatDate(uint64_t seconds);

}  // namespace recordstore::auth

#endif  // RECORDSTORE_AUTH_DATALOG_H_
