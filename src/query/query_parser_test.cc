#include "query/query_parser.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "metadata/key_expression.h"
#include "query/query_component.h"
#include "recordstore/status.h"
#include "tuple/big_integer.h"
#include "tuple/tuple.h"

namespace recordstore::query {
namespace {

namespace key = metadata::key;

Statement Parse(std::string_view text) {
  StatusOr<Statement> statement = ParseQuery(text);
  EXPECT_TRUE(statement.ok()) << text << "\n" << statement.status();
  if (!statement.ok()) return Statement{};
  return *std::move(statement);
}

// The filter of `SELECT * FROM T WHERE <condition>`, as text.
std::string Filter(std::string_view condition) {
  Statement statement = Parse("SELECT * FROM T WHERE " + std::string(condition));
  if (statement.query.filter == nullptr) return "<no filter>";
  return statement.query.filter->ToString();
}

// The full error message of a text that must not parse.
std::string Error(std::string_view text) {
  StatusOr<Statement> statement = ParseQuery(text);
  if (statement.ok()) return "<parsed>";
  EXPECT_TRUE(HasErrorCode(statement.status(), ErrorCode::kInvalidArgument));
  EXPECT_EQ(statement.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(statement.status().message());
}

// The first line of the error: position and detail.
std::string ErrorLine(std::string_view text) {
  std::string message = Error(text);
  return message.substr(0, message.find('\n'));
}

std::string WhereError(std::string_view condition) {
  return ErrorLine("SELECT * FROM T WHERE " + std::string(condition));
}

// --- The statement as a whole.

TEST(QueryParserTest, ExampleFromTheIssue) {
  Statement statement = Parse(
      "SELECT * FROM Order WHERE customer_id = 42 AND total > 100 ORDER BY created_at DESC "
      "LIMIT 50");
  EXPECT_EQ(statement.query.record_types, std::vector<std::string>{"Order"});
  ASSERT_NE(statement.query.filter, nullptr);
  EXPECT_EQ(statement.query.filter->ToString(),
            And(Field("customer_id").Equals(42), Field("total").GreaterThan(100))->ToString());
  ASSERT_NE(statement.query.sort, nullptr);
  EXPECT_EQ(*statement.query.sort, *key::Field("created_at"));
  EXPECT_EQ(statement.query.sort->ToString(), key::Field("created_at")->ToString());
  EXPECT_TRUE(statement.query.sort_descending);
  EXPECT_TRUE(statement.query.required_fields.empty());
  EXPECT_FALSE(statement.query.aggregate.has_value());
  EXPECT_EQ(statement.properties.row_limit, 50);
  EXPECT_EQ(statement.properties.skip, 0);
}

TEST(QueryParserTest, MinimalStatementHasNoFilterSortOrLimit) {
  Statement statement = Parse("SELECT * FROM Product");
  EXPECT_EQ(statement.query.record_types, std::vector<std::string>{"Product"});
  EXPECT_EQ(statement.query.filter, nullptr);
  EXPECT_EQ(statement.query.sort, nullptr);
  EXPECT_FALSE(statement.query.sort_descending);
  EXPECT_TRUE(statement.query.required_fields.empty());
  EXPECT_FALSE(statement.query.aggregate.has_value());
  EXPECT_EQ(statement.properties.row_limit, 0);
  EXPECT_EQ(statement.properties.skip, 0);
  EXPECT_FALSE(statement.properties.snapshot);
  EXPECT_FALSE(statement.properties.allow_in_memory_sort);
}

TEST(QueryParserTest, KeywordsAreCaseInsensitive) {
  Statement statement = Parse(
      "select * from Order where total >= 1 and not note is null or total in (1) "
      "order by total asc limit 5 offset 2");
  EXPECT_EQ(statement.query.filter->ToString(),
            Or(And(Field("total").GreaterThanOrEquals(1), Not(Field("note").IsNull())),
               Field("total").In({1}))
                ->ToString());
  EXPECT_FALSE(statement.query.sort_descending);
  EXPECT_EQ(statement.properties.row_limit, 5);
  EXPECT_EQ(statement.properties.skip, 2);
}

TEST(QueryParserTest, SeveralRecordTypes) {
  EXPECT_EQ(Parse("SELECT * FROM Order, Customer").query.record_types,
            (std::vector<std::string>{"Order", "Customer"}));
  EXPECT_EQ(Parse("SELECT * FROM Order,Customer , Order").query.record_types,
            (std::vector<std::string>{"Order", "Customer"}));
}

TEST(QueryParserTest, OrderIsATypeNameAfterFrom) {
  Statement statement = Parse("SELECT * FROM Order ORDER BY order_id");
  EXPECT_EQ(statement.query.record_types, std::vector<std::string>{"Order"});
  EXPECT_EQ(*statement.query.sort, *key::Field("order_id"));
}

TEST(QueryParserTest, ContextualKeywordsAreNamesElsewhere) {
  EXPECT_EQ(Filter("order = 1 AND by = 2 AND starts = 3 AND with = 4"),
            And(Field("order").Equals(1), Field("by").Equals(2), Field("starts").Equals(3),
                Field("with").Equals(4))
                ->ToString());
  EXPECT_EQ(
      Filter("any = 1 AND count = 2 AND max.min = 3"),
      And(Field("any").Equals(1), Field("count").Equals(2), Nested("max", Field("min").Equals(3)))
          ->ToString());
  EXPECT_EQ(Parse("SELECT count, sum FROM T").query.required_fields,
            (std::vector<std::string>{"count", "sum"}));
}

TEST(QueryParserTest, BackquotedNamesEscapeKeywords) {
  Statement statement = Parse(
      "SELECT `select`, a.`from` FROM `Limit` WHERE `not` = 1 AND `desc`.`in` IS NULL "
      "ORDER BY `desc` DESC");
  EXPECT_EQ(statement.query.required_fields, (std::vector<std::string>{"select", "a.from"}));
  EXPECT_EQ(statement.query.record_types, std::vector<std::string>{"Limit"});
  EXPECT_EQ(statement.query.filter->ToString(),
            And(Field("not").Equals(1), Nested("desc", Field("in").IsNull()))->ToString());
  EXPECT_EQ(*statement.query.sort, *key::Field("desc"));
}

TEST(QueryParserTest, TrailingSemicolonCommentsAndNewlines) {
  Statement statement = Parse(
      "-- orders of one customer\n"
      "SELECT *\n"
      "  FROM Order  -- the type\n"
      " WHERE customer_id = 7\r\n"
      " LIMIT 3;  -- done\n");
  EXPECT_EQ(statement.query.filter->ToString(), Field("customer_id").Equals(7)->ToString());
  EXPECT_EQ(statement.properties.row_limit, 3);
}

// --- SELECT list.

TEST(QueryParserTest, RequiredFields) {
  Statement statement = Parse("SELECT order_id, shipping.city, total, order_id FROM Order");
  EXPECT_EQ(statement.query.required_fields,
            (std::vector<std::string>{"order_id", "shipping.city", "total"}));
  EXPECT_FALSE(statement.query.aggregate.has_value());
}

TEST(QueryParserTest, CountStar) {
  Statement statement = Parse("SELECT COUNT(*) FROM Order WHERE customer_id = 42");
  ASSERT_TRUE(statement.query.aggregate.has_value());
  EXPECT_EQ(statement.query.aggregate->function, AggregateFunction::kCount);
  EXPECT_EQ(statement.query.aggregate->field, "");
  EXPECT_TRUE(statement.query.required_fields.empty());
  EXPECT_EQ(statement.query.filter->ToString(), Field("customer_id").Equals(42)->ToString());
  EXPECT_TRUE(Parse("select count ( * ) from Order").query.aggregate.has_value());
}

TEST(QueryParserTest, SumMinMax) {
  struct Case {
    std::string_view text;
    AggregateFunction function;
    std::string_view field;
  };
  for (const Case& c :
       {Case{"SELECT SUM(total) FROM Order", AggregateFunction::kSum, "total"},
        Case{"SELECT min(shipping.zip) FROM Order", AggregateFunction::kMin, "shipping.zip"},
        Case{"SELECT Max(`limit`) FROM Order", AggregateFunction::kMax, "limit"}}) {
    Statement statement = Parse(c.text);
    ASSERT_TRUE(statement.query.aggregate.has_value()) << c.text;
    EXPECT_EQ(statement.query.aggregate->function, c.function) << c.text;
    EXPECT_EQ(statement.query.aggregate->field, c.field) << c.text;
  }
}

// --- WHERE: precedence and structure.

TEST(QueryParserTest, OrBindsLooserThanAndLooserThanNot) {
  EXPECT_EQ(Filter("a = 1 OR b = 2 AND NOT c = 3 OR d = 4"),
            Or(Field("a").Equals(1), And(Field("b").Equals(2), Not(Field("c").Equals(3))),
               Field("d").Equals(4))
                ->ToString());
}

TEST(QueryParserTest, ParenthesesGroup) {
  EXPECT_EQ(Filter("(a = 1 OR b = 2) AND c = 3"),
            And(Or(Field("a").Equals(1), Field("b").Equals(2)), Field("c").Equals(3))->ToString());
  EXPECT_EQ(Filter("NOT (a = 1 AND b = 2)"),
            Not(And(Field("a").Equals(1), Field("b").Equals(2)))->ToString());
  EXPECT_EQ(Filter("((a = 1))"), Field("a").Equals(1)->ToString());
  EXPECT_EQ(Filter("NOT NOT a = 1"), Not(Not(Field("a").Equals(1)))->ToString());
}

TEST(QueryParserTest, ChainsAreFlatAndParenthesesAreKept) {
  Statement statement = Parse("SELECT * FROM T WHERE a = 1 AND b = 2 AND c = 3");
  ASSERT_EQ(statement.query.filter->kind(), QueryComponent::Kind::kAnd);
  EXPECT_EQ(static_cast<const BooleanComponent&>(*statement.query.filter).children().size(), 3u);
  statement = Parse("SELECT * FROM T WHERE (a = 1 AND b = 2) AND c = 3");
  ASSERT_EQ(statement.query.filter->kind(), QueryComponent::Kind::kAnd);
  EXPECT_EQ(static_cast<const BooleanComponent&>(*statement.query.filter).children().size(), 2u);
}

TEST(QueryParserTest, NestedFieldPaths) {
  EXPECT_EQ(Filter("address.city = 'Paris'"),
            Nested("address", Field("city").Equals("Paris"))->ToString());
  EXPECT_EQ(Filter("a.b.c.d >= 2"),
            Nested("a", Nested("b", Nested("c", Field("d").GreaterThanOrEquals(2))))->ToString());
  Statement statement = Parse("SELECT * FROM T WHERE a . b = 1");
  ASSERT_EQ(statement.query.filter->kind(), QueryComponent::Kind::kNested);
  const auto& nested = static_cast<const NestedComponent&>(*statement.query.filter);
  EXPECT_EQ(nested.field(), "a");
  ASSERT_EQ(nested.child().kind(), QueryComponent::Kind::kField);
  EXPECT_EQ(static_cast<const FieldComponent&>(nested.child()).field(), "b");
}

TEST(QueryParserTest, AnyOfARepeatedScalar) {
  EXPECT_EQ(Filter("ANY(tags) = 'x'"), Field("tags").OneOfThem().Equals("x")->ToString());
  EXPECT_EQ(Filter("any ( tags ) STARTS WITH 'gar'"),
            Field("tags").OneOfThem().StartsWith("gar")->ToString());
  EXPECT_EQ(Filter("ANY(tags) IN ('a', 'b')"),
            Field("tags").OneOfThem().In({"a", "b"})->ToString());
  Statement statement = Parse("SELECT * FROM T WHERE ANY(tags) != 'x'");
  ASSERT_EQ(statement.query.filter->kind(), QueryComponent::Kind::kOneOfThem);
  const auto& any = static_cast<const OneOfThemComponent&>(*statement.query.filter);
  EXPECT_EQ(any.field(), "tags");
  EXPECT_EQ(any.comparison(), Comparison::Binary(ComparisonType::kNotEquals, "x"));
}

TEST(QueryParserTest, AnyOfAPathInsideRepeatedMessages) {
  EXPECT_EQ(Filter("ANY(line_items.sku) = 'x'"),
            Field("line_items").OneOfThemMatches(Field("sku").Equals("x"))->ToString());
  EXPECT_EQ(Filter("ANY(a.b.c) < 3"),
            Field("a").OneOfThemMatches(Nested("b", Field("c").LessThan(3)))->ToString());
  Statement statement = Parse("SELECT * FROM T WHERE ANY(line_items.sku) IS NOT NULL");
  ASSERT_EQ(statement.query.filter->kind(), QueryComponent::Kind::kOneOfThemMatches);
  const auto& any = static_cast<const OneOfThemMatchesComponent&>(*statement.query.filter);
  EXPECT_EQ(any.field(), "line_items");
  ASSERT_EQ(any.child().kind(), QueryComponent::Kind::kField);
  EXPECT_EQ(static_cast<const FieldComponent&>(any.child()).comparison(),
            Comparison::Unary(ComparisonType::kNotNull));
}

TEST(QueryParserTest, AnyWhereOneElementSatisfiesTheWholeCondition) {
  EXPECT_EQ(Filter("ANY(line_items WHERE sku = 'pot' AND quantity > 1)"),
            Field("line_items")
                .OneOfThemMatches(And(Field("sku").Equals("pot"), Field("quantity").GreaterThan(1)))
                ->ToString());
  EXPECT_EQ(Filter("ANY(line_items WHERE ANY(options) = 'gift' OR price < 5) AND total > 9"),
            And(Field("line_items")
                    .OneOfThemMatches(Or(Field("options").OneOfThem().Equals("gift"),
                                         Field("price").LessThan(5))),
                Field("total").GreaterThan(9))
                ->ToString());
  EXPECT_EQ(Filter("ANY(a.b WHERE c = 1)"),
            Field("a").OneOfThemMatches(Nested("b", Field("c").Equals(1)))->ToString());
  EXPECT_EQ(
      Filter("NOT ANY(line_items WHERE (quantity > 1))"),
      Not(Field("line_items").OneOfThemMatches(Field("quantity").GreaterThan(1)))->ToString());
}

TEST(QueryParserTest, NotInAndNotStartsWithNegateThePredicate) {
  EXPECT_EQ(Filter("status NOT IN ('A', 'B')"), Not(Field("status").In({"A", "B"}))->ToString());
  EXPECT_EQ(Filter("a.b NOT STARTS WITH 'x'"),
            Not(Nested("a", Field("b").StartsWith("x")))->ToString());
}

// --- Every operator, checked both as text and as the component the builders make.

TEST(QueryParserTest, RoundTripThroughEveryOperator) {
  struct Case {
    std::string_view condition;
    ComponentPtr expected;
  };
  std::vector<Case> cases;
  cases.push_back({"f = 1", Field("f").Equals(1)});
  cases.push_back({"f != 1", Field("f").NotEquals(1)});
  cases.push_back({"f <> 1", Field("f").NotEquals(1)});
  cases.push_back({"f < 1", Field("f").LessThan(1)});
  cases.push_back({"f <= 1", Field("f").LessThanOrEquals(1)});
  cases.push_back({"f > 1", Field("f").GreaterThan(1)});
  cases.push_back({"f >= 1", Field("f").GreaterThanOrEquals(1)});
  cases.push_back({"f IN (3, 1, 2)", Field("f").In({3, 1, 2})});
  cases.push_back({"f IN ('x')", Field("f").In({"x"})});
  cases.push_back({"f IS NULL", Field("f").IsNull()});
  cases.push_back({"f IS NOT NULL", Field("f").NotNull()});
  cases.push_back({"f STARTS WITH 'ab'", Field("f").StartsWith("ab")});
  cases.push_back(
      {"f STARTS WITH X'00ff'", Field("f").StartsWith(ByteString{std::string("\x00\xff", 2)})});
  cases.push_back({"f NOT IN (1)", Not(Field("f").In({1}))});
  cases.push_back({"NOT f = 1", Not(Field("f").Equals(1))});
  cases.push_back({"f = 1 AND g = 2", And(Field("f").Equals(1), Field("g").Equals(2))});
  cases.push_back({"f = 1 OR g = 2", Or(Field("f").Equals(1), Field("g").Equals(2))});
  cases.push_back({"f.g = 1", Nested("f", Field("g").Equals(1))});
  cases.push_back({"ANY(f) = 1", Field("f").OneOfThem().Equals(1)});
  cases.push_back({"ANY(f) IS NULL", Field("f").OneOfThem().IsNull()});
  cases.push_back({"ANY(f WHERE g = 1)", Field("f").OneOfThemMatches(Field("g").Equals(1))});
  for (const Case& c : cases) {
    std::string text = "SELECT * FROM T WHERE " + std::string(c.condition);
    Statement statement = Parse(text);
    ASSERT_NE(statement.query.filter, nullptr) << text;
    EXPECT_EQ(statement.query.filter->kind(), c.expected->kind()) << text;
    EXPECT_EQ(statement.query.filter->ToString(), c.expected->ToString()) << text;
  }
}

TEST(QueryParserTest, ComparisonTypesOfEveryOperator) {
  struct Case {
    std::string_view op;
    ComparisonType type;
  };
  for (const Case& c :
       {Case{"=", ComparisonType::kEquals}, Case{"!=", ComparisonType::kNotEquals},
        Case{"<>", ComparisonType::kNotEquals}, Case{"<", ComparisonType::kLessThan},
        Case{"<=", ComparisonType::kLessThanOrEquals}, Case{">", ComparisonType::kGreaterThan},
        Case{">=", ComparisonType::kGreaterThanOrEquals},
        Case{"STARTS WITH", ComparisonType::kStartsWith}}) {
    // No spaces around symbols: the tokenizer splits them.
    std::string text = "SELECT * FROM T WHERE f" + std::string(c.op) + "'v'";
    if (c.op == "STARTS WITH") text = "SELECT * FROM T WHERE f STARTS WITH'v'";
    Statement statement = Parse(text);
    ASSERT_NE(statement.query.filter, nullptr) << text;
    ASSERT_EQ(statement.query.filter->kind(), QueryComponent::Kind::kField) << text;
    EXPECT_EQ(static_cast<const FieldComponent&>(*statement.query.filter).comparison(),
              Comparison::Binary(c.type, "v"))
        << text;
  }
}

// --- Literals.

TupleElement ValueOf(std::string_view literal) {
  Statement statement = Parse("SELECT * FROM T WHERE f = " + std::string(literal));
  if (statement.query.filter == nullptr ||
      statement.query.filter->kind() != QueryComponent::Kind::kField) {
    ADD_FAILURE() << literal;
    return TupleElement();
  }
  return static_cast<const FieldComponent&>(*statement.query.filter).comparison().value();
}

TEST(QueryParserTest, IntegerLiterals) {
  EXPECT_EQ(ValueOf("0"), TupleElement(0));
  EXPECT_EQ(ValueOf("42").type(), TupleElement::Type::kInteger);
  EXPECT_EQ(ValueOf("-42"), TupleElement(-42));
  EXPECT_EQ(ValueOf("007"), TupleElement(7));
  EXPECT_EQ(ValueOf("9223372036854775807"), TupleElement(INT64_MAX));
  EXPECT_EQ(ValueOf("-9223372036854775808"), TupleElement(INT64_MIN));
  EXPECT_NE(ValueOf("9223372036854775807").get_if<int64_t>(), nullptr);
}

TEST(QueryParserTest, IntegersBeyondInt64AreBigIntegers) {
  TupleElement above = ValueOf("18446744073709551615");
  EXPECT_EQ(above, TupleElement(UINT64_MAX));
  ASSERT_NE(above.get_if<BigInteger>(), nullptr);
  TupleElement below = ValueOf("-9223372036854775809");
  ASSERT_NE(below.get_if<BigInteger>(), nullptr);
  EXPECT_EQ(below.get_if<BigInteger>()->ToDecimal(), "-9223372036854775809");
  std::string huge(100, '9');
  EXPECT_EQ(ValueOf(huge).get_if<BigInteger>()->ToDecimal(), huge);
}

TEST(QueryParserTest, DecimalLiterals) {
  EXPECT_EQ(ValueOf("1.5"), TupleElement(1.5));
  EXPECT_EQ(ValueOf("-0.25"), TupleElement(-0.25));
  EXPECT_EQ(ValueOf("1e3"), TupleElement(1000.0));
  EXPECT_EQ(ValueOf("2.5E-1"), TupleElement(0.25));
  EXPECT_EQ(ValueOf("1e+2"), TupleElement(100.0));
  EXPECT_EQ(ValueOf("3.0").type(), TupleElement::Type::kDouble);
}

TEST(QueryParserTest, StringLiterals) {
  EXPECT_EQ(ValueOf("'Paris'"), TupleElement("Paris"));
  EXPECT_EQ(ValueOf("''"), TupleElement(""));
  EXPECT_EQ(ValueOf("'it''s'"), TupleElement("it's"));
  EXPECT_EQ(ValueOf("''''"), TupleElement("'"));
  EXPECT_EQ(ValueOf("'a\\nb'"), TupleElement("a\\nb"));  // no backslash escapes
  EXPECT_EQ(ValueOf("'two\nlines'"), TupleElement("two\nlines"));
  EXPECT_EQ(ValueOf("'Zürich 東京 🙂'"), TupleElement("Zürich 東京 🙂"));
  EXPECT_EQ(ValueOf("'ORDER_STATUS_PLACED'"), TupleElement("ORDER_STATUS_PLACED"));
  EXPECT_EQ(ValueOf("'42'").type(), TupleElement::Type::kString);
}

TEST(QueryParserTest, BytesLiterals) {
  EXPECT_EQ(ValueOf("X'0aFF'"), TupleElement(ByteString{"\x0a\xff"}));
  EXPECT_EQ(ValueOf("x'00'"), TupleElement(ByteString{std::string(1, '\0')}));
  EXPECT_EQ(ValueOf("X''"), TupleElement(ByteString{""}));
  EXPECT_EQ(ValueOf("X'0aFF'").type(), TupleElement::Type::kBytes);
}

TEST(QueryParserTest, BooleanLiterals) {
  EXPECT_EQ(ValueOf("TRUE"), TupleElement(true));
  EXPECT_EQ(ValueOf("false"), TupleElement(false));
  EXPECT_EQ(Filter("discontinued = true"), Field("discontinued").Equals(true)->ToString());
}

TEST(QueryParserTest, AnXNameIsNotABytesLiteral) {
  EXPECT_EQ(Filter("x = 1 AND X.y = 2"),
            And(Field("x").Equals(1), Nested("X", Field("y").Equals(2)))->ToString());
}

// --- ORDER BY, LIMIT, OFFSET.

TEST(QueryParserTest, OrderByKeys) {
  Statement statement = Parse("SELECT * FROM Order ORDER BY shipping.city");
  EXPECT_EQ(*statement.query.sort, *key::Nest("shipping", key::Field("city")));
  EXPECT_FALSE(statement.query.sort_descending);

  statement = Parse("SELECT * FROM Order ORDER BY customer_id, a.b.c, total");
  auto expected = key::Concat(key::Field("customer_id"),
                              key::Nest("a", key::Nest("b", key::Field("c"))), key::Field("total"));
  EXPECT_EQ(*statement.query.sort, *expected);
  EXPECT_EQ(statement.query.sort->ToString(), expected->ToString());
}

TEST(QueryParserTest, OneDirectionForEveryColumn) {
  Statement statement = Parse("SELECT * FROM Order ORDER BY customer_id DESC, total DESC");
  EXPECT_TRUE(statement.query.sort_descending);
  EXPECT_EQ(*statement.query.sort, *key::Concat(key::Field("customer_id"), key::Field("total")));
  EXPECT_FALSE(Parse("SELECT * FROM Order ORDER BY a ASC, b").query.sort_descending);
  EXPECT_FALSE(Parse("SELECT * FROM Order ORDER BY a asc").query.sort_descending);
}

TEST(QueryParserTest, MixedDirectionsAreRejected) {
  EXPECT_EQ(ErrorLine("SELECT * FROM Order ORDER BY customer_id, total DESC"),
            "invalid_argument (8001): syntax error at line 1, column 43: mixed sort directions "
            "are not supported: 'total' is DESC but 'customer_id' is ASC (a direction applies to "
            "its own column only)");
  EXPECT_EQ(ErrorLine("SELECT * FROM Order ORDER BY a DESC, b.c ASC"),
            "invalid_argument (8001): syntax error at line 1, column 38: mixed sort directions "
            "are not supported: 'b.c' is ASC but 'a' is DESC (a direction applies to its own "
            "column only)");
}

TEST(QueryParserTest, LimitAndOffsetInEitherOrder) {
  Statement statement = Parse("SELECT * FROM Order LIMIT 10 OFFSET 20");
  EXPECT_EQ(statement.properties.row_limit, 10);
  EXPECT_EQ(statement.properties.skip, 20);
  statement = Parse("SELECT * FROM Order WHERE a = 1 OFFSET 0 LIMIT 9223372036854775807");
  EXPECT_EQ(statement.properties.row_limit, INT64_MAX);
  EXPECT_EQ(statement.properties.skip, 0);
  statement = Parse("SELECT * FROM Order OFFSET 5");
  EXPECT_EQ(statement.properties.row_limit, 0);
  EXPECT_EQ(statement.properties.skip, 5);
}

// --- Errors: exact messages and positions.

TEST(QueryParserTest, ErrorShowsTheLineAndACaret) {
  EXPECT_EQ(Error("SELECT * FROM Order WHERE total > ORDER BY total"),
            "invalid_argument (8001): syntax error at line 1, column 35: expected a value after "
            "'>', found 'ORDER'\n"
            "  SELECT * FROM Order WHERE total > ORDER BY total\n"
            "                                    ^");
}

TEST(QueryParserTest, ErrorOnALaterLine) {
  EXPECT_EQ(Error("SELECT *\nFROM Order\nWHERE total >\nORDER BY total"),
            "invalid_argument (8001): syntax error at line 4, column 1: expected a value after "
            "'>', found 'ORDER'\n"
            "  ORDER BY total\n"
            "  ^");
  EXPECT_EQ(Error("SELECT *\r\nFROM Order\r\nWHERE total >> 1\r\n"),
            "invalid_argument (8001): syntax error at line 3, column 14: expected a value after "
            "'>', found '>'\n"
            "  WHERE total >> 1\n"
            "               ^");
}

TEST(QueryParserTest, ErrorColumnsCountCharactersAndKeepTabs) {
  EXPECT_EQ(Error("SELECT * FROM T WHERE name = 'é' AND"),
            "invalid_argument (8001): syntax error at line 1, column 37: expected a condition "
            "after 'AND', found end of input\n"
            "  SELECT * FROM T WHERE name = 'é' AND\n"
            "                                      ^");
  EXPECT_EQ(Error("SELECT *\tFROM T\tWHERE ?"),
            "invalid_argument (8001): syntax error at line 1, column 23: unexpected character "
            "'?'\n"
            "  SELECT *\tFROM T\tWHERE ?\n"
            "          \t      \t      ^");
}

TEST(QueryParserTest, EndOfInputIsReportedAfterTheLastToken) {
  EXPECT_EQ(Error("SELECT * FROM   \n  \n"),
            "invalid_argument (8001): syntax error at line 1, column 14: expected a record type "
            "name after 'FROM', found end of input\n"
            "  SELECT * FROM   \n"
            "               ^");
}

TEST(QueryParserTest, StatementStructureErrors) {
  EXPECT_EQ(ErrorLine(""),
            "invalid_argument (8001): syntax error at line 1, column 1: expected SELECT, found "
            "end of input");
  EXPECT_EQ(ErrorLine("DELETE FROM Order"),
            "invalid_argument (8001): syntax error at line 1, column 1: expected SELECT, found "
            "'DELETE'");
  EXPECT_EQ(ErrorLine("SELECT * WHERE a = 1"),
            "invalid_argument (8001): syntax error at line 1, column 10: expected ',' or FROM, "
            "found 'WHERE'");
  EXPECT_EQ(ErrorLine("SELECT FROM Order"),
            "invalid_argument (8001): syntax error at line 1, column 8: expected '*', a field "
            "name or an aggregate after SELECT, found 'FROM' (a keyword: write `FROM` to use it "
            "as a name)");
  EXPECT_EQ(ErrorLine("SELECT *, a FROM Order"),
            "invalid_argument (8001): syntax error at line 1, column 9: expected ',' or FROM, "
            "found ','");
  EXPECT_EQ(ErrorLine("SELECT a, FROM Order"),
            "invalid_argument (8001): syntax error at line 1, column 11: expected a field name "
            "after ',', found 'FROM' (a keyword: write `FROM` to use it as a name)");
  EXPECT_EQ(ErrorLine("SELECT * FROM Order Customer"),
            "invalid_argument (8001): syntax error at line 1, column 21: expected ',', WHERE, "
            "ORDER BY, LIMIT, OFFSET or the end of the query, found 'Customer'");
  EXPECT_EQ(ErrorLine("SELECT * FROM Order,"),
            "invalid_argument (8001): syntax error at line 1, column 21: expected a record type "
            "name after ',', found end of input");
  EXPECT_EQ(ErrorLine("SELECT * FROM Order WHERE a = 1 LIMIT 5 WHERE b = 2"),
            "invalid_argument (8001): syntax error at line 1, column 41: expected OFFSET or the "
            "end of the query, found 'WHERE'");
  EXPECT_EQ(ErrorLine("SELECT * FROM Order WHERE a = 1 b = 2"),
            "invalid_argument (8001): syntax error at line 1, column 33: expected AND, OR, ORDER "
            "BY, LIMIT, OFFSET or the end of the query, found 'b'");
  EXPECT_EQ(ErrorLine("SELECT * FROM Order; SELECT * FROM Order"),
            "invalid_argument (8001): syntax error at line 1, column 22: expected the end of the "
            "query after ';', found 'SELECT'");
  EXPECT_EQ(ErrorLine("SELECT * FROM Order WHERE a = 1)"),
            "invalid_argument (8001): syntax error at line 1, column 32: unmatched ')'");
  EXPECT_EQ(ErrorLine("SELECT * FROM Order ORDER total"),
            "invalid_argument (8001): syntax error at line 1, column 27: expected BY after "
            "'ORDER', found 'total'");
}

TEST(QueryParserTest, SelectListErrors) {
  EXPECT_EQ(ErrorLine("SELECT AVG(total) FROM Order"),
            "invalid_argument (8001): syntax error at line 1, column 8: unknown function 'AVG': "
            "the aggregates are COUNT(*), SUM(field), MIN(field) and MAX(field)");
  EXPECT_EQ(ErrorLine("SELECT COUNT(total) FROM Order"),
            "invalid_argument (8001): syntax error at line 1, column 14: expected '*' in "
            "COUNT(*) (COUNT of a field is not supported), found 'total'");
  EXPECT_EQ(ErrorLine("SELECT SUM(*) FROM Order"),
            "invalid_argument (8001): syntax error at line 1, column 12: expected a field name "
            "after '(', found '*'");
  EXPECT_EQ(ErrorLine("SELECT SUM(total FROM Order"),
            "invalid_argument (8001): syntax error at line 1, column 18: expected ')', found "
            "'FROM'");
  EXPECT_EQ(ErrorLine("SELECT COUNT(*), total FROM Order"),
            "invalid_argument (8001): syntax error at line 1, column 16: an aggregate cannot be "
            "selected together with other columns");
  EXPECT_EQ(ErrorLine("SELECT total, COUNT(*) FROM Order"),
            "invalid_argument (8001): syntax error at line 1, column 15: an aggregate cannot be "
            "selected together with fields");
  EXPECT_EQ(ErrorLine("SELECT COUNT(*) Order"),
            "invalid_argument (8001): syntax error at line 1, column 17: expected FROM, found "
            "'Order'");
  EXPECT_EQ(ErrorLine("SELECT COUNT(*) FROM Order ORDER BY total"),
            "invalid_argument (8001): syntax error at line 1, column 28: ORDER BY does not apply "
            "to an aggregate");
  EXPECT_EQ(ErrorLine("SELECT SUM(total) FROM Order limit 5"),
            "invalid_argument (8001): syntax error at line 1, column 30: LIMIT does not apply to "
            "an aggregate");
  EXPECT_EQ(ErrorLine("SELECT a.  FROM Order"),
            "invalid_argument (8001): syntax error at line 1, column 12: expected a field name "
            "after '.', found 'FROM' (a keyword: write `FROM` to use it as a name)");
}

TEST(QueryParserTest, ConditionErrors) {
  EXPECT_EQ(WhereError(""),
            "invalid_argument (8001): syntax error at line 1, column 22: expected a condition "
            "after 'WHERE', found end of input");
  EXPECT_EQ(WhereError("total"),
            "invalid_argument (8001): syntax error at line 1, column 28: expected a comparison "
            "(=, !=, <, <=, >, >=, IN, IS, STARTS WITH) after 'total', found end of input");
  EXPECT_EQ(WhereError("a.b LIKE 'x%'"),
            "invalid_argument (8001): syntax error at line 1, column 27: expected a comparison "
            "(=, !=, <, <=, >, >=, IN, IS, STARTS WITH) after 'a.b', found 'LIKE'");
  EXPECT_EQ(WhereError("a == 1"),
            "invalid_argument (8001): syntax error at line 1, column 26: expected a value after "
            "'=', found '='");
  EXPECT_EQ(WhereError("a = 1 AND OR b = 2"),
            "invalid_argument (8001): syntax error at line 1, column 33: expected a condition "
            "after 'AND', found 'OR' (a keyword: write `OR` to use it as a name)");
  EXPECT_EQ(WhereError("(a = 1 OR b = 2"),
            "invalid_argument (8001): syntax error at line 1, column 38: expected AND, OR or "
            "')', found end of input");
  EXPECT_EQ(WhereError("NOT"),
            "invalid_argument (8001): syntax error at line 1, column 26: expected a condition "
            "after 'NOT', found end of input");
  EXPECT_EQ(WhereError("a IS 1"),
            "invalid_argument (8001): syntax error at line 1, column 28: expected NULL or NOT "
            "NULL after 'IS', found '1'");
  EXPECT_EQ(WhereError("a IS NOT 1"),
            "invalid_argument (8001): syntax error at line 1, column 32: expected NULL after "
            "'IS NOT', found '1'");
  EXPECT_EQ(WhereError("a STARTS 'x'"),
            "invalid_argument (8001): syntax error at line 1, column 25: expected a comparison "
            "(=, !=, <, <=, >, >=, IN, IS, STARTS WITH) after 'a', found 'STARTS'");
  EXPECT_EQ(WhereError("a STARTS WITH 1"),
            "invalid_argument (8001): syntax error at line 1, column 37: expected a string or "
            "bytes literal after 'WITH', found '1'");
  EXPECT_EQ(WhereError("a NOT = 1"),
            "invalid_argument (8001): syntax error at line 1, column 25: expected a comparison "
            "(=, !=, <, <=, >, >=, IN, IS, STARTS WITH) after 'a', found 'NOT'");
}

TEST(QueryParserTest, InListErrors) {
  EXPECT_EQ(WhereError("a IN 1"),
            "invalid_argument (8001): syntax error at line 1, column 28: expected '(' after IN, "
            "found '1'");
  EXPECT_EQ(WhereError("a IN ()"),
            "invalid_argument (8001): syntax error at line 1, column 29: expected a value after "
            "'(', found ')'");
  EXPECT_EQ(WhereError("a IN (1, )"),
            "invalid_argument (8001): syntax error at line 1, column 32: expected a value after "
            "',', found ')'");
  EXPECT_EQ(WhereError("a IN (1 2)"),
            "invalid_argument (8001): syntax error at line 1, column 31: expected ',' or ')', "
            "found '2'");
  EXPECT_EQ(WhereError("a IN (1, NULL)"),
            "invalid_argument (8001): syntax error at line 1, column 32: NULL cannot be in an IN "
            "list: use IS NULL");
}

TEST(QueryParserTest, NullOutsideIsNullIsAnError) {
  EXPECT_EQ(WhereError("note = NULL"),
            "invalid_argument (8001): syntax error at line 1, column 30: '= NULL' is never true: "
            "use IS NULL");
  EXPECT_EQ(WhereError("note != null"),
            "invalid_argument (8001): syntax error at line 1, column 31: '!= NULL' is never "
            "true: use IS NOT NULL");
  EXPECT_EQ(WhereError("note <> NULL"),
            "invalid_argument (8001): syntax error at line 1, column 31: '<> NULL' is never "
            "true: use IS NOT NULL");
  EXPECT_EQ(WhereError("total > NULL"),
            "invalid_argument (8001): syntax error at line 1, column 31: NULL cannot be compared "
            "with '>': use IS NULL or IS NOT NULL");
}

TEST(QueryParserTest, UnquotedWordWhereAValueBelongs) {
  EXPECT_EQ(WhereError("status = ORDER_STATUS_PLACED"),
            "invalid_argument (8001): syntax error at line 1, column 32: expected a value after "
            "'=', found 'ORDER_STATUS_PLACED' (strings and enum values are quoted: "
            "'ORDER_STATUS_PLACED')");
  EXPECT_EQ(WhereError("a = `b`"),
            "invalid_argument (8001): syntax error at line 1, column 27: expected a value after "
            "'=', found `b`");
  EXPECT_EQ(WhereError("a = b.c"),
            "invalid_argument (8001): syntax error at line 1, column 27: expected a value after "
            "'=', found 'b' (strings and enum values are quoted: 'b')");
}

TEST(QueryParserTest, AnyErrors) {
  EXPECT_EQ(WhereError("ANY(tags)"),
            "invalid_argument (8001): syntax error at line 1, column 32: expected a comparison "
            "(=, !=, <, <=, >, >=, IN, IS, STARTS WITH) after 'ANY(tags)', found end of input");
  EXPECT_EQ(WhereError("ANY(tags = 'x')"),
            "invalid_argument (8001): syntax error at line 1, column 32: expected '.', WHERE or "
            "')', found '='");
  EXPECT_EQ(WhereError("ANY(a.b = 'x')"),
            "invalid_argument (8001): syntax error at line 1, column 31: expected WHERE or ')', "
            "found '='");
  EXPECT_EQ(WhereError("ANY() = 1"),
            "invalid_argument (8001): syntax error at line 1, column 27: expected a repeated "
            "field name after 'ANY(', found ')'");
  EXPECT_EQ(WhereError("ANY(items WHERE a = 1"),
            "invalid_argument (8001): syntax error at line 1, column 44: expected AND, OR or "
            "')', found end of input");
  EXPECT_EQ(WhereError("ANY(items WHERE a = 1) = 1"),
            "invalid_argument (8001): syntax error at line 1, column 46: expected AND, OR, ORDER "
            "BY, LIMIT, OFFSET or the end of the query, found '='");
  EXPECT_EQ(WhereError("ANY(tags) NOT IN ('x')"),
            "invalid_argument (8001): syntax error at line 1, column 33: NOT cannot follow "
            "ANY(...): write NOT before ANY for \"no element\"");
}

TEST(QueryParserTest, OrderByLimitOffsetErrors) {
  EXPECT_EQ(ErrorLine("SELECT * FROM Order ORDER BY"),
            "invalid_argument (8001): syntax error at line 1, column 29: expected a field name "
            "after 'BY', found end of input");
  EXPECT_EQ(ErrorLine("SELECT * FROM Order ORDER BY a DESC DESC"),
            "invalid_argument (8001): syntax error at line 1, column 37: expected ',', LIMIT, "
            "OFFSET or the end of the query, found 'DESC'");
  EXPECT_EQ(ErrorLine("SELECT * FROM Order ORDER BY a b"),
            "invalid_argument (8001): syntax error at line 1, column 32: expected ',', ASC, DESC, "
            "LIMIT, OFFSET or the end of the query, found 'b'");
  EXPECT_EQ(ErrorLine("SELECT * FROM Order ORDER BY ANY(tags)"),
            "invalid_argument (8001): syntax error at line 1, column 33: expected ',', ASC, DESC, "
            "LIMIT, OFFSET or the end of the query, found '('");
  EXPECT_EQ(ErrorLine("SELECT * FROM Order LIMIT"),
            "invalid_argument (8001): syntax error at line 1, column 26: expected a positive "
            "integer after 'LIMIT', found end of input");
  EXPECT_EQ(ErrorLine("SELECT * FROM Order LIMIT -1"),
            "invalid_argument (8001): syntax error at line 1, column 27: expected a positive "
            "integer after 'LIMIT', found '-1'");
  EXPECT_EQ(ErrorLine("SELECT * FROM Order LIMIT 1.5"),
            "invalid_argument (8001): syntax error at line 1, column 27: expected a positive "
            "integer after 'LIMIT', found '1.5'");
  EXPECT_EQ(ErrorLine("SELECT * FROM Order LIMIT 0"),
            "invalid_argument (8001): syntax error at line 1, column 27: LIMIT 0 is not supported "
            "(leave LIMIT out for no limit)");
  EXPECT_EQ(ErrorLine("SELECT * FROM Order LIMIT 9223372036854775808"),
            "invalid_argument (8001): syntax error at line 1, column 27: expected a positive "
            "integer after 'LIMIT', found '9223372036854775808'");
  EXPECT_EQ(ErrorLine("SELECT * FROM Order OFFSET 'a'"),
            "invalid_argument (8001): syntax error at line 1, column 28: expected a "
            "non-negative integer after 'OFFSET', found the string 'a'");
  EXPECT_EQ(ErrorLine("SELECT * FROM Order LIMIT 1 LIMIT 2"),
            "invalid_argument (8001): syntax error at line 1, column 29: LIMIT is given twice");
  EXPECT_EQ(ErrorLine("SELECT * FROM Order OFFSET 1 LIMIT 2 OFFSET 3"),
            "invalid_argument (8001): syntax error at line 1, column 38: OFFSET is given twice");
}

TEST(QueryParserTest, LexicalErrors) {
  EXPECT_EQ(WhereError("a = 'open"),
            "invalid_argument (8001): syntax error at line 1, column 27: unterminated string "
            "literal");
  EXPECT_EQ(WhereError("a = \"x\""),
            "invalid_argument (8001): syntax error at line 1, column 27: unexpected '\"': strings "
            "are written in single quotes ('text') and names that are keywords in backquotes "
            "(`name`)");
  EXPECT_EQ(WhereError("a = X'0g'"),
            "invalid_argument (8001): syntax error at line 1, column 30: expected a hexadecimal "
            "digit or a closing quote in a bytes literal");
  EXPECT_EQ(WhereError("a = X'abc'"),
            "invalid_argument (8001): syntax error at line 1, column 27: a bytes literal needs "
            "an even number of hexadecimal digits");
  EXPECT_EQ(WhereError("a = X'ab"),
            "invalid_argument (8001): syntax error at line 1, column 27: unterminated bytes "
            "literal");
  EXPECT_EQ(WhereError("a = 12abc"),
            "invalid_argument (8001): syntax error at line 1, column 27: invalid number '12a'");
  EXPECT_EQ(WhereError("a = 1.x"),
            "invalid_argument (8001): syntax error at line 1, column 29: expected a digit after "
            "the decimal point");
  EXPECT_EQ(WhereError("a = 1e"),
            "invalid_argument (8001): syntax error at line 1, column 29: expected the digits of "
            "an exponent");
  EXPECT_EQ(WhereError("a = 1.2.3"),
            "invalid_argument (8001): syntax error at line 1, column 27: invalid number '1.2.'");
  EXPECT_EQ(WhereError("a = 1e999"),
            "invalid_argument (8001): syntax error at line 1, column 27: number '1e999' is "
            "outside the range of a double");
  EXPECT_EQ(WhereError("a = - 1"),
            "invalid_argument (8001): syntax error at line 1, column 27: unexpected character "
            "'-'");
  EXPECT_EQ(WhereError("`a b` = 1"),
            "invalid_argument (8001): syntax error at line 1, column 23: `a b` is not a valid "
            "name: names are letters, digits and '_', not starting with a digit");
  EXPECT_EQ(WhereError("`` = 1"),
            "invalid_argument (8001): syntax error at line 1, column 23: `` is not a valid name: "
            "names are letters, digits and '_', not starting with a digit");
  EXPECT_EQ(WhereError("`a = 1"),
            "invalid_argument (8001): syntax error at line 1, column 23: unterminated `name`");
  EXPECT_EQ(WhereError("café = 1"),
            "invalid_argument (8001): syntax error at line 1, column 26: unexpected character "
            "outside a string literal");
  EXPECT_EQ(WhereError(std::string("a = 1\0", 6)),
            "invalid_argument (8001): syntax error at line 1, column 28: unexpected character "
            "outside a string literal");
}

TEST(QueryParserTest, ErrorsQuotedInTheDocs) {
  EXPECT_EQ(ErrorLine("SELECT desc FROM Order"),
            "invalid_argument (8001): syntax error at line 1, column 8: expected '*', a field "
            "name or an aggregate after SELECT, found 'desc' (a keyword: write `desc` to use it "
            "as a name)");
  EXPECT_EQ(ErrorLine("SELECT * FROM Order WHERE name = 'open"),
            "invalid_argument (8001): syntax error at line 1, column 34: unterminated string "
            "literal");
}

TEST(QueryParserTest, NamesAreNotCheckedByTheParser) {
  EXPECT_EQ(Filter("totl > 1"), Field("totl").GreaterThan(1)->ToString());
}

TEST(QueryParserTest, TheFirstErrorWinsOverALaterLexicalError) {
  EXPECT_EQ(WhereError("a = = 'unterminated"),
            "invalid_argument (8001): syntax error at line 1, column 27: expected a value after "
            "'=', found '='");
}

TEST(QueryParserTest, IntegerTooLargeForATuple) {
  std::string huge(700, '9');
  EXPECT_EQ(WhereError("a = " + huge),
            "invalid_argument (8001): syntax error at line 1, column 27: integer literal too "
            "large");
}

TEST(QueryParserTest, InvalidUtf8InAStringIsRejected) {
  EXPECT_EQ(WhereError("a = 'ok\xff'"),
            "invalid_argument (8001): syntax error at line 1, column 30: invalid UTF-8 in a "
            "string literal");
  EXPECT_EQ(WhereError("a = 'x\xc0\xaf'"),  // overlong '/'
            "invalid_argument (8001): syntax error at line 1, column 29: invalid UTF-8 in a "
            "string literal");
  EXPECT_EQ(WhereError("a = '\xed\xa0\x80'"),  // a surrogate
            "invalid_argument (8001): syntax error at line 1, column 28: invalid UTF-8 in a "
            "string literal");
  EXPECT_EQ(WhereError("a = '\xe2\x82'"),  // truncated
            "invalid_argument (8001): syntax error at line 1, column 28: invalid UTF-8 in a "
            "string literal");
}

TEST(QueryParserTest, LongTokensAreShortenedInMessages) {
  EXPECT_EQ(WhereError("a = 1 '" + std::string(40, 'x') + "'"),
            "invalid_argument (8001): syntax error at line 1, column 29: expected AND, OR, ORDER "
            "BY, LIMIT, OFFSET or the end of the query, found the string '" +
                std::string(29, 'x') + "...");
}

TEST(QueryParserTest, NestingIsBounded) {
  std::string deep = std::string(kMaxQueryNestingDepth - 1, '(') + "a = 1" +
                     std::string(kMaxQueryNestingDepth - 1, ')');
  EXPECT_EQ(Filter(deep), Field("a").Equals(1)->ToString());
  std::string too_deep =
      std::string(kMaxQueryNestingDepth, '(') + "a = 1" + std::string(kMaxQueryNestingDepth, ')');
  EXPECT_EQ(WhereError(too_deep),
            "invalid_argument (8001): syntax error at line 1, column 86: the condition nests "
            "deeper than 64 levels");
  std::string nots;
  for (int i = 0; i < 100000; ++i) nots += "NOT ";
  EXPECT_NE(WhereError(nots + "a = 1").find("nests deeper than 64 levels"), std::string::npos);
  EXPECT_NE(WhereError(std::string(100000, '(')).find("nests deeper"), std::string::npos);
}

// --- Examples from docs/query.md on the shop schema (metadata/testdata/shop/shop.proto).

TEST(QueryParserTest, ShopExamplesFromTheDocs) {
  Statement statement = Parse(
      "SELECT * FROM Order WHERE customer_id = 42 AND status = 'ORDER_STATUS_PLACED' "
      "ORDER BY total DESC LIMIT 20");
  EXPECT_EQ(statement.query.filter->ToString(),
            And(Field("customer_id").Equals(42), Field("status").Equals("ORDER_STATUS_PLACED"))
                ->ToString());
  EXPECT_EQ(*statement.query.sort, *key::Field("total"));
  EXPECT_TRUE(statement.query.sort_descending);
  EXPECT_EQ(statement.properties.row_limit, 20);

  statement = Parse("SELECT name, address.city FROM Customer WHERE email IS NULL");
  EXPECT_EQ(statement.query.required_fields, (std::vector<std::string>{"name", "address.city"}));
  EXPECT_EQ(statement.query.filter->ToString(), Field("email").IsNull()->ToString());

  statement = Parse(
      "SELECT * FROM Order WHERE ANY(line_items WHERE sku = 'pot' AND quantity > 1) "
      "OR ANY(coupons) STARTS WITH 'WELCOME'");
  EXPECT_EQ(
      statement.query.filter->ToString(),
      Or(Field("line_items")
             .OneOfThemMatches(And(Field("sku").Equals("pot"), Field("quantity").GreaterThan(1))),
         Field("coupons").OneOfThem().StartsWith("WELCOME"))
          ->ToString());

  statement = Parse(
      "SELECT sku, price FROM Product WHERE ANY(tags) IN ('garden', 'kitchen') AND "
      "NOT discontinued = TRUE AND weight_kg < 2.5 AND thumbnail IS NOT NULL "
      "ORDER BY price LIMIT 10 OFFSET 10");
  EXPECT_EQ(statement.query.filter->ToString(),
            And(Field("tags").OneOfThem().In({"garden", "kitchen"}),
                Not(Field("discontinued").Equals(true)), Field("weight_kg").LessThan(2.5),
                Field("thumbnail").NotNull())
                ->ToString());
  EXPECT_EQ(statement.properties.skip, 10);

  statement = Parse("SELECT SUM(total) FROM Order WHERE shipping.city = 'Paris'");
  EXPECT_EQ(statement.query.aggregate->function, AggregateFunction::kSum);
  EXPECT_EQ(statement.query.filter->ToString(),
            Nested("shipping", Field("city").Equals("Paris"))->ToString());
}

}  // namespace
}  // namespace recordstore::query
