// Parser, printer, expression evaluator and engine tests that the official samples do not
// reach (bitwise and, division, limits, malformed text, dates with offsets...).
#include <gtest/gtest.h>

#include <string>

#include "auth/biscuit.h"
#include "auth/error.h"
#include "auth/expression.h"
#include "auth/parser.h"
#include "auth/world.h"

namespace recordstore::auth {
namespace {

// Default limits but a generous clock: these tests are about semantics, and the default
// 1 ms could be exceeded on a loaded machine.
constexpr RunLimits kRelaxedLimits{.max_time = std::chrono::seconds(30)};

// Evaluates the single expression of `check if <expression>`.
StatusOr<Term> Eval(const std::string& expression) {
  auto block = ParseBlock("check if " + expression + ";");
  if (!block.ok()) {
    return block.status();
  }
  const Rule& query = block->checks.at(0).queries.at(0);
  if (query.expressions.size() != 1) {
    return MakeError(ErrorCode::kInvalidArgument, "expected one expression");
  }
  return EvaluateExpression(query.expressions[0], Bindings(), ExternFunctions());
}

std::string ExecutionDetail(const Status& status) {
  auto detail = GetAuthErrorDetail(status);
  return detail.has_value() && detail->kind() == wire::AuthErrorDetail::EXECUTION
             ? detail->detail()
             : "not an execution error: " + status.ToString();
}

TEST(DatalogExpressionTest, IntegerArithmeticAndBitwise) {
  EXPECT_EQ(*Eval("6 & 3"), Term::Integer(2));
  EXPECT_EQ(*Eval("6 | 3"), Term::Integer(7));
  EXPECT_EQ(*Eval("6 ^ 3"), Term::Integer(5));
  EXPECT_EQ(*Eval("7 / 2"), Term::Integer(3));
  EXPECT_EQ(*Eval("1 + 2 * 3 - 4"), Term::Integer(3));
  EXPECT_EQ(*Eval("(1 + 2) * 3"), Term::Integer(9));
}

TEST(DatalogExpressionTest, IntegerErrors) {
  EXPECT_EQ(ExecutionDetail(Eval("1 / 0").status()), "DivideByZero");
  EXPECT_EQ(ExecutionDetail(Eval("-9223372036854775808 / -1").status()), "Overflow");
  EXPECT_EQ(ExecutionDetail(Eval("9223372036854775807 * 2").status()), "Overflow");
  EXPECT_EQ(ExecutionDetail(Eval("1 + \"a\"").status()), "InvalidType");
  EXPECT_EQ(ExecutionDetail(Eval("1 === \"a\"").status()), "InvalidType");
  EXPECT_EQ(*Eval("1 == \"a\""), Term::Bool(false));
}

TEST(DatalogExpressionTest, StringsSetsArraysMaps) {
  EXPECT_EQ(*Eval("\"ab\" + \"cd\""), Term::String("abcd"));
  EXPECT_EQ(*Eval("\"abc\".matches(\"^a.c$\")"), Term::Bool(true));
  EXPECT_EQ(ExecutionDetail(Eval("\"abc\".matches(\"(\")").status()), "InvalidRegex");
  EXPECT_EQ(*Eval("{1, 2}.union({3}).length()"), Term::Integer(3));
  EXPECT_EQ(*Eval("[1, 2].get(-1)"), Term::Null());
  EXPECT_EQ(*Eval("{\"a\": [1]}.get(\"a\").contains(1)"), Term::Bool(true));
  EXPECT_EQ(*Eval("{\"a\": 1}.contains(true)"), Term::Bool(false));
  EXPECT_EQ(ExecutionDetail(Eval("true.length()").status()), "InvalidType");
}

TEST(DatalogExpressionTest, LazinessAndTryOr) {
  EXPECT_EQ(*Eval("false && 1 / 0 == 1"), Term::Bool(false));
  EXPECT_EQ(*Eval("true || 1 / 0 == 1"), Term::Bool(true));
  EXPECT_EQ(ExecutionDetail(Eval("true && 1 / 0 == 1").status()), "DivideByZero");
  EXPECT_EQ(*Eval("(1 / 0).try_or(7)"), Term::Integer(7));
  EXPECT_EQ(*Eval("[1, 2].all($x -> $x > 0)"), Term::Bool(true));
  EXPECT_EQ(ExecutionDetail(Eval("[1].any($x -> [2].any($x -> true))").status()),
            "ShadowedVariable");
  // Refused before evaluation, even where the inner closure would never be called.
  EXPECT_EQ(ExecutionDetail(Eval("[].any($x -> [2].any($x -> true))").status()),
            "ShadowedVariable");
}

TEST(DatalogExpressionTest, ExternFunctions) {
  auto block = ParseBlock("check if 2.extern::double() == 4;");
  ASSERT_TRUE(block.ok()) << block.status();
  const Expression& e = block->checks[0].queries[0].expressions[0];
  ExternFunctions externs;
  EXPECT_EQ(ExecutionDetail(EvaluateExpression(e, {}, externs).status()), "UndefinedExtern");
  externs["double"] = [](const Term& left, const Term*) -> StatusOr<Term> {
    return Term::Integer(left.number * 2);
  };
  EXPECT_EQ(*EvaluateExpression(e, {}, externs), Term::Bool(true));
}

TEST(DatalogParserTest, PrintsWhatItParses) {
  const char* kCode =
      "trusting authority, previous;\n"
      "fact(1, \"a\\\"b\", hex:00ff, true, null, 2024-01-02T03:04:05Z, {,}, {}, [1, [2]]);\n"
      "head($x) <- body($x, $y), $y.starts_with(\"p\") || !($x > 3) trusting previous;\n"
      "check all item($i), $i & 1 == 0;\n"
      "reject if bad($b), {1: \"one\", \"k\": [2]}.contains($b);\n";
  auto block = ParseBlock(kCode);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ(ToString(*block), kCode);
}

TEST(DatalogParserTest, DatesHonourOffsetsAndComments) {
  auto block = ParseBlock(
      "// a comment\n"
      "date(2024-01-01T02:00:00+02:00); // trailing comment\n");
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ(ToString(block->facts[0]), "date(2024-01-01T00:00:00Z)");
}

TEST(DatalogParserTest, RejectsMalformedText) {
  for (const char* bad :
       {"fact(1)", "fact($x);", "allow if true;", "check if;", "r($x) <- q(1);",
        "f(\"unterminated);", "f(1 2);", "check if 1 < 2 < 3;", "f(99999999999999999999);",
        "f({1, {2}});", "f({[1]: 2});", "check if f($x), [$x].length() > 0;",
        "check if f($x), {\"k\": $x} == {};"}) {
    auto block = ParseBlock(bad);
    EXPECT_TRUE(HasAuthErrorKind(block.status(), wire::AuthErrorDetail::PARSE)) << bad;
  }
  EXPECT_TRUE(ParseAuthorizer("allow if true; deny if false;").ok());
}

TEST(DatalogParserTest, DeepNestingIsAnErrorNotACrash) {
  std::string deep =
      "check if " + std::string(100000, '(') + "true" + std::string(100000, ')') + ";";
  EXPECT_TRUE(HasAuthErrorKind(ParseBlock(deep).status(), wire::AuthErrorDetail::PARSE));
  std::string nested = "f(" + std::string(100000, '[') + std::string(100000, ']') + ");";
  EXPECT_TRUE(HasAuthErrorKind(ParseBlock(nested).status(), wire::AuthErrorDetail::PARSE));
}

TEST(DatalogEngineTest, ScopesLimitWhatRulesSee) {
  // Block 1 asserts a right; the authorizer's default scope (authority) must not see it,
  // a rule trusting previous in block 2 does.
  World world((ExternFunctions()));
  world.AddFact({0}, Predicate{"user", {Term::String("alice")}});
  world.AddFact({1}, Predicate{"right", {Term::String("write")}});
  auto rules = ParseBlock("seen($r) <- right($r) trusting previous;");
  ASSERT_TRUE(rules.ok());
  const Rule& rule = rules->rules[0];
  world.AddRule(2, rule, ComputeTrustedOrigins(rule.scopes, {}, 2, {}));
  ASSERT_TRUE(world.Run(kRelaxedLimits).ok());
  EXPECT_TRUE(world.facts().at({1, 2}).contains(Predicate{"seen", {Term::String("write")}}));

  auto query = ParseBlock("check if right(\"write\");");
  const Rule& q = query->checks[0].queries[0];
  EXPECT_FALSE(*world.QueryMatches(q, ComputeTrustedOrigins({}, {}, kAuthorizerBlockId, {})));
  EXPECT_TRUE(*world.QueryMatches(q, ComputeTrustedOrigins({}, {}, 1, {})));
}

std::string RunLimitDetail(const std::string& code, const RunLimits& limits) {
  Authorizer authorizer;
  authorizer.SetLimits(limits);
  Status added = authorizer.AddCode(code);
  if (!added.ok()) {
    return added.ToString();
  }
  auto result = authorizer.Authorize();
  auto detail = GetAuthErrorDetail(result.status());
  return detail.has_value() && detail->kind() == wire::AuthErrorDetail::RUN_LIMIT
             ? detail->detail()
             : "not a run limit error: " + result.status().ToString();
}

TEST(DatalogEngineTest, RunLimitsStopRunawayRules) {
  // 40 values give 1600 pairs, beyond the default 1000 facts.
  std::string many;
  for (int i = 0; i < 40; ++i) {
    many += "n(" + std::to_string(i) + ");";
  }
  EXPECT_EQ(RunLimitDetail(many + "pair($x, $y) <- n($x), n($y); allow if true;",
                           RunLimits{.max_time = std::chrono::seconds(5)}),
            "TooManyFacts");
  // Each level needs one more round of rule application.
  const std::string chain = "a(1); b($x) <- a($x); c($x) <- b($x); d($x) <- c($x); allow if true;";
  EXPECT_EQ(
      RunLimitDetail(chain, RunLimits{.max_iterations = 2, .max_time = std::chrono::seconds(5)}),
      "TooManyIterations");
  EXPECT_EQ(RunLimitDetail(chain, RunLimits{.max_time = std::chrono::microseconds(0)}), "Timeout");
}

// A single rule whose body joins six 30-fact relations has 7e8 matches; the time limit
// must interrupt the enumeration itself, not wait for the round to finish.
TEST(DatalogEngineTest, HugeJoinStopsAtTheTimeLimit) {
  std::string facts;
  for (int i = 0; i < 30; ++i) {
    facts += "n(" + std::to_string(i) + ");";
  }
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(RunLimitDetail(facts + "r(1) <- n($a), n($b), n($c), n($d), n($e), n($f), "
                                   "$a + $b + $c + $d + $e + $f < 0; allow if true;",
                           RunLimits{.max_time = std::chrono::milliseconds(20)}),
            "Timeout");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// Nested closures over collections take exponential time (50^5 calls here); the time
// limit must interrupt the evaluation itself.
TEST(DatalogEngineTest, NestedClosuresStopAtTheTimeLimit) {
  std::string set = "{";
  for (int i = 0; i < 50; ++i) set += (i > 0 ? ", " : "") + std::to_string(i);
  set += "}";
  std::string expression = "true";
  for (const char* var : {"a", "b", "c", "d", "e"}) {
    expression =
        std::string(set).append(".all($").append(var).append(" -> ").append(expression).append(")");
  }
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(RunLimitDetail("check if " + expression + "; allow if true;",
                           RunLimits{.max_time = std::chrono::milliseconds(20)}),
            "Timeout");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// A token controls how long a rule body is; matching 100000 predicates must neither
// recurse that deep nor copy the bindings at every level.
TEST(DatalogEngineTest, VeryLongRuleBodiesDoNotExhaustTheStack) {
  std::string body = "f(1)";
  for (int i = 0; i < 100000; ++i) body += ", f(1)";
  Authorizer authorizer;
  authorizer.SetLimits(kRelaxedLimits);
  ASSERT_TRUE(authorizer.AddCode("f(1); g(1) <- " + body + "; allow if g(1);").ok());
  EXPECT_EQ(*authorizer.Authorize(), 0u);
}

// Request data added with AddFact stays a value: a tenant name that looks like Datalog
// cannot add facts or policies.
TEST(DatalogEngineTest, AddFactCannotInjectDatalog) {
  Authorizer authorizer;
  authorizer.SetLimits(kRelaxedLimits);
  const std::string hostile = "x\"); allow if true; //";
  ASSERT_TRUE(authorizer.AddFact(Predicate{"tenant", {Term::String(hostile)}}).ok());
  ASSERT_TRUE(authorizer.AddCode("allow if tenant(\"acme\");").ok());
  EXPECT_TRUE(
      HasAuthErrorKind(authorizer.Authorize().status(), wire::AuthErrorDetail::NO_MATCHING_POLICY));
  EXPECT_TRUE(authorizer.snapshot()
                  .facts.at({kAuthorizerBlockId})
                  .contains("tenant(\"x\\\"); allow if true; //\")"));
  EXPECT_FALSE(authorizer.AddFact(Predicate{"tenant", {Term::Variable("t")}}).ok());
}

TEST(DatalogEngineTest, PoliciesAreTriedInOrder) {
  Authorizer authorizer;
  authorizer.SetLimits(kRelaxedLimits);
  ASSERT_TRUE(authorizer.AddCode("user(\"bob\"); deny if user(\"bob\"); allow if true;").ok());
  auto result = authorizer.Authorize();
  auto detail = GetAuthErrorDetail(result.status());
  ASSERT_TRUE(detail.has_value());
  EXPECT_EQ(detail->kind(), wire::AuthErrorDetail::UNAUTHORIZED);
  EXPECT_FALSE(detail->policy_is_allow());
  EXPECT_EQ(detail->policy_index(), 0u);

  Authorizer no_policy;
  no_policy.SetLimits(kRelaxedLimits);
  ASSERT_TRUE(no_policy.AddCode("check if false;").ok());
  detail = GetAuthErrorDetail(no_policy.Authorize().status());
  ASSERT_TRUE(detail.has_value());
  EXPECT_EQ(detail->kind(), wire::AuthErrorDetail::NO_MATCHING_POLICY);
  ASSERT_EQ(detail->failed_checks_size(), 1);
  EXPECT_FALSE(detail->failed_checks(0).has_block_id());
  EXPECT_EQ(detail->failed_checks(0).rule(), "check if false");
}

}  // namespace
}  // namespace recordstore::auth
