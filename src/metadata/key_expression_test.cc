#include "metadata/key_expression.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "metadata/key_function.h"
#include "metadata/metadata_test_util.h"

namespace recordstore::metadata {
namespace {

using google::protobuf::Message;
using Tuples = std::vector<Tuple>;

class KeyExpressionTest : public ::testing::Test {
 protected:
  const google::protobuf::Descriptor& Type(std::string_view name) {
    return metadata_.FindRecordType(name)->descriptor();
  }
  std::unique_ptr<Message> Record(std::string_view type, std::string_view text) {
    return MakeRecord(metadata_, type, text);
  }
  // Validates `expression` on the record's type, then evaluates it.
  StatusOr<Tuples> Eval(const KeyExpression& expression, const Message& record,
                        const EvaluationContext& context = {}) {
    StatusOr<ExpressionShape> shape = expression.Validate(*record.GetDescriptor());
    if (!shape.ok()) return shape.status();
    EXPECT_EQ(shape->columns.size(), static_cast<size_t>(expression.ColumnSize()));
    return expression.Evaluate(record, context);
  }
  std::string ValidateError(const KeyExpression& expression, std::string_view type) {
    return static_cast<std::string>(expression.Validate(Type(type)).status().message());
  }

  RecordMetaData metadata_ = BuildOrDie(ShopProto());
  // An order of customer 42 with two line items and a shipping address without zip.
  std::unique_ptr<Message> order_ = Record("Order", R"pb(
    order_id: 7
    customer_id: 42
    line_items { sku: "tea" quantity: 2 price: 450 options: "loose" options: "organic" }
    line_items { sku: "mug" quantity: 1 price: 1200 }
    shipping { street: "1 Rue Neuve" city: "Lyon" country: "FR" }
    total: 2100
    status: ORDER_STATUS_SHIPPED
    coupons: "WELCOME"
    coupons: "SPRING"
  )pb");
};

TEST_F(KeyExpressionTest, ScalarFieldOfEachKind) {
  auto product = Record("Product", R"pb(
    sku: "tea-1"
    title: "Green tea"
    price: 450
    weight_kg: 0.25
    discontinued: true
    thumbnail: "\x00\xff"
    stock: 18446744073709551615
    rating: 4.5
  )pb");
  EXPECT_EQ(*Eval(*key::Field("sku"), *product), Tuples{Tuple::Of("tea-1")});
  EXPECT_EQ(*Eval(*key::Field("price"), *product), Tuples{Tuple::Of(450)});
  EXPECT_EQ(*Eval(*key::Field("weight_kg"), *product), Tuples{Tuple::Of(0.25)});
  EXPECT_EQ(*Eval(*key::Field("rating"), *product), Tuples{Tuple::Of(4.5f)});
  EXPECT_EQ(*Eval(*key::Field("discontinued"), *product), Tuples{Tuple::Of(true)});
  EXPECT_EQ(*Eval(*key::Field("thumbnail"), *product),
            Tuples{Tuple::Of(ByteString{std::string("\x00\xff", 2)})});
  EXPECT_EQ(*Eval(*key::Field("stock"), *product),
            Tuples{Tuple::Of(std::numeric_limits<uint64_t>::max())});
  EXPECT_EQ(*Eval(*key::Field("status"), *order_), Tuples{Tuple::Of(2)});
}

TEST_F(KeyExpressionTest, ImplicitPresenceScalarsAreNeverNull) {
  auto empty = Record("Order", "");
  EXPECT_EQ(*Eval(*key::Field("total"), *empty), Tuples{Tuple::Of(0)});
  EXPECT_EQ(*Eval(*key::Field("status"), *empty), Tuples{Tuple::Of(0)});
  auto customer = Record("Customer", "");
  EXPECT_EQ(*Eval(*key::Field("name"), *customer), Tuples{Tuple::Of("")});
}

TEST_F(KeyExpressionTest, UnsetExplicitPresenceFieldIsNull) {
  EXPECT_EQ(*Eval(*key::Field("note"), *order_), Tuples{Tuple::Of(nullptr)});
  auto noted = Record("Order", R"pb(note: "")pb");
  EXPECT_EQ(*Eval(*key::Field("note"), *noted), Tuples{Tuple::Of("")});
  auto customer = Record("Customer", R"pb(loyalty_points: 0)pb");
  EXPECT_EQ(*Eval(*key::Field("loyalty_points"), *customer), Tuples{Tuple::Of(0)});
  EXPECT_EQ(*Eval(*key::Field("email"), *customer), Tuples{Tuple::Of(nullptr)});
}

TEST_F(KeyExpressionTest, FanOutYieldsOneTuplePerElement) {
  EXPECT_EQ(*Eval(*key::Field("coupons", FanType::kFanOut), *order_),
            (Tuples{Tuple::Of("WELCOME"), Tuple::Of("SPRING")}));
  auto none = Record("Order", "");
  EXPECT_EQ(*Eval(*key::Field("coupons", FanType::kFanOut), *none), Tuples{});
}

TEST_F(KeyExpressionTest, ConcatenateYieldsOneNestedTuple) {
  EXPECT_EQ(*Eval(*key::Field("coupons", FanType::kConcatenate), *order_),
            Tuples{Tuple::Of(Tuple::Of("WELCOME", "SPRING"))});
  auto none = Record("Order", "");
  EXPECT_EQ(*Eval(*key::Field("coupons", FanType::kConcatenate), *none),
            Tuples{Tuple::Of(Tuple())});
}

TEST_F(KeyExpressionTest, NestedFieldAndAbsentParent) {
  auto city = key::Nest("shipping", key::Field("city"));
  EXPECT_EQ(*Eval(*city, *order_), Tuples{Tuple::Of("Lyon")});
  auto city_zip = key::Nest("shipping", key::Concat(key::Field("city"), key::Field("zip")));
  EXPECT_EQ(*Eval(*city_zip, *order_), Tuples{Tuple::Of("Lyon", nullptr)});
  // Without a shipping address every column under it is null, implicit presence or not.
  auto none = Record("Order", "");
  EXPECT_EQ(*Eval(*city_zip, *none), Tuples{Tuple::Of(nullptr, nullptr)});
  auto coupons_under_nothing =
      key::Nest("shipping", key::Concat(key::Field("city"), key::Field("country")));
  EXPECT_EQ(*Eval(*coupons_under_nothing, *none), Tuples{Tuple::Of(nullptr, nullptr)});
}

TEST_F(KeyExpressionTest, NestedRepeatedFanOut) {
  auto skus = key::Nest("line_items", key::Field("sku"), FanType::kFanOut);
  EXPECT_EQ(*Eval(*skus, *order_), (Tuples{Tuple::Of("tea"), Tuple::Of("mug")}));
  auto sku_quantity = key::Nest(
      "line_items", key::Concat(key::Field("sku"), key::Field("quantity")), FanType::kFanOut);
  EXPECT_EQ(*Eval(*sku_quantity, *order_), (Tuples{Tuple::Of("tea", 2), Tuple::Of("mug", 1)}));
}

TEST_F(KeyExpressionTest, FanOutInsideFanOut) {
  // The mug has no options, so it contributes no entry.
  auto options = key::Nest("line_items",
                           key::Concat(key::Field("sku"), key::Field("options", FanType::kFanOut)),
                           FanType::kFanOut);
  EXPECT_EQ(*Eval(*options, *order_),
            (Tuples{Tuple::Of("tea", "loose"), Tuple::Of("tea", "organic")}));
}

TEST_F(KeyExpressionTest, ConcatIsCartesianProductFirstChildSlowest) {
  auto expression = key::Concat(key::Field("customer_id"), key::Field("coupons", FanType::kFanOut),
                                key::Nest("line_items", key::Field("sku"), FanType::kFanOut));
  EXPECT_EQ(expression->ColumnSize(), 3);
  EXPECT_EQ(*Eval(*expression, *order_),
            (Tuples{Tuple::Of(42, "WELCOME", "tea"), Tuple::Of(42, "WELCOME", "mug"),
                    Tuple::Of(42, "SPRING", "tea"), Tuple::Of(42, "SPRING", "mug")}));
  // A fan-out over an empty field empties the whole product.
  auto none = Record("Order", "customer_id: 42");
  EXPECT_EQ(*Eval(*expression, *none), Tuples{});
}

TEST_F(KeyExpressionTest, RecordTypeKeyComesFromTheContext) {
  const RecordType& order_type = *metadata_.FindRecordType("Order");
  auto expression = key::Concat(key::RecordTypeKey(), key::Field("order_id"));
  EXPECT_EQ(*Eval(*expression, *order_, order_type.Context()), Tuples{Tuple::Of(2, 7)});
  const RecordType& product_type = *metadata_.FindRecordType("Product");
  auto product = Record("Product", R"pb(sku: "tea-1")pb");
  EXPECT_EQ(*Eval(*key::Concat(key::RecordTypeKey(), key::Field("sku")), *product,
                  product_type.Context()),
            Tuples{Tuple::Of("product", "tea-1")});
}

TEST_F(KeyExpressionTest, VersionIsAPlaceholderUntilGiven) {
  auto expression = key::Concat(key::Field("customer_id"), key::Version());
  EXPECT_EQ(*Eval(*expression, *order_), Tuples{Tuple::Of(42, Versionstamp::Incomplete(0))});
  Versionstamp committed = *Versionstamp::Complete(std::string(10, '\x01'), 3);
  EXPECT_EQ(*Eval(*expression, *order_, EvaluationContext{TupleElement(), committed}),
            Tuples{Tuple::Of(42, committed)});
  EXPECT_TRUE(expression->Validate(Type("Order"))->uses_version);
}

TEST_F(KeyExpressionTest, GroupingEvaluatesLikeItsWholeKey) {
  auto expression =
      key::Grouping(key::Concat(key::Field("customer_id"),
                                key::Nest("shipping", key::Field("city")), key::Field("total")),
                    1);
  const auto& grouping = static_cast<const GroupingKeyExpression&>(*expression);
  EXPECT_EQ(grouping.ColumnSize(), 3);
  EXPECT_EQ(grouping.grouping_count(), 2);
  EXPECT_EQ(grouping.grouped_count(), 1);
  EXPECT_EQ(*Eval(*expression, *order_), Tuples{Tuple::Of(42, "Lyon", 2100)});
  EXPECT_EQ(expression->ToString(), "grouping((customer_id, shipping.city, total), grouped=1)");
}

TEST_F(KeyExpressionTest, KeyWithValueSplitsKeyFromValue) {
  auto expression = key::KeyWithValue(
      key::Concat(key::Field("customer_id"), key::Field("total"), key::Field("status")), 1);
  const auto& covering = static_cast<const KeyWithValueKeyExpression&>(*expression);
  Tuples tuples = *Eval(*expression, *order_);
  ASSERT_EQ(tuples, Tuples{Tuple::Of(42, 2100, 2)});
  auto [key, value] = covering.Split(tuples[0]);
  EXPECT_EQ(key, Tuple::Of(42));
  EXPECT_EQ(value, Tuple::Of(2100, 2));
  EXPECT_EQ(expression->ToString(), "key_with_value((customer_id, total, status), split=1)");
}

TEST_F(KeyExpressionTest, EmptyIsOneEmptyTuple) {
  EXPECT_EQ(key::Empty()->ColumnSize(), 0);
  EXPECT_EQ(*Eval(*key::Empty(), *order_), Tuples{Tuple()});
}

TEST_F(KeyExpressionTest, LowerCasesAsciiOnly) {
  auto customer = Record("Customer", R"pb(name: "Émile ZOLA" email: "E.Zola@Example.FR")pb");
  EXPECT_EQ(*Eval(*key::Function("lower", key::Field("name")), *customer),
            Tuples{Tuple::Of("Émile zola")});
  EXPECT_EQ(*Eval(*key::Function("lower", key::Field("email")), *customer),
            Tuples{Tuple::Of("e.zola@example.fr")});
  auto anonymous = Record("Customer", "");
  EXPECT_EQ(*Eval(*key::Function("lower", key::Field("email")), *anonymous),
            Tuples{Tuple::Of(nullptr)});
}

TEST_F(KeyExpressionTest, FunctionAppliesToEachFannedOutTuple) {
  auto product = Record("Product", R"pb(tags: "Green" tags: "TEA")pb");
  EXPECT_EQ(*Eval(*key::Function("lower", key::Field("tags", FanType::kFanOut)), *product),
            (Tuples{Tuple::Of("green"), Tuple::Of("tea")}));
}

TEST_F(KeyExpressionTest, IntegerArithmetic) {
  auto args = [] { return key::Concat(key::Field("total"), key::Field("customer_id")); };
  EXPECT_EQ(*Eval(*key::Function("add", args()), *order_), Tuples{Tuple::Of(2142)});
  EXPECT_EQ(*Eval(*key::Function("sub", args()), *order_), Tuples{Tuple::Of(2058)});
  EXPECT_EQ(*Eval(*key::Function("mul", args()), *order_), Tuples{Tuple::Of(88200)});
  auto line_totals = key::Nest(
      "line_items", key::Function("mul", key::Concat(key::Field("quantity"), key::Field("price"))),
      FanType::kFanOut);
  EXPECT_EQ(*Eval(*line_totals, *order_), (Tuples{Tuple::Of(900), Tuple::Of(1200)}));
  auto customer = Record("Customer", "customer_id: 5");
  EXPECT_EQ(*Eval(*key::Function(
                      "add", key::Concat(key::Field("customer_id"), key::Field("loyalty_points"))),
                  *customer),
            Tuples{Tuple::Of(nullptr)});
}

TEST_F(KeyExpressionTest, ArithmeticOverflowIsAnError) {
  auto order = Record("Order", "total: 9223372036854775807 customer_id: 2");
  auto args = [] { return key::Concat(key::Field("total"), key::Field("customer_id")); };
  EXPECT_EQ(Eval(*key::Function("add", args()), *order).status().message(),
            "invalid_argument (8001): add overflows: 9223372036854775807 + 2");
  EXPECT_EQ(Eval(*key::Function("mul", args()), *order).status().message(),
            "invalid_argument (8001): mul overflows: 9223372036854775807 * 2");
  auto negative = Record("Order", "total: -9223372036854775808 customer_id: 2");
  EXPECT_EQ(Eval(*key::Function("sub", args()), *negative).status().message(),
            "invalid_argument (8001): sub overflows: -9223372036854775808 - 2");
  auto product = Record("Product", "stock: 18446744073709551615 price: 1");
  EXPECT_EQ(
      Eval(*key::Function("add", key::Concat(key::Field("stock"), key::Field("price"))), *product)
          .status()
          .message(),
      "invalid_argument (8001): add overflows: 18446744073709551615 + 1");
}

TEST_F(KeyExpressionTest, RegistryFindsBuiltInsAndRefusesDuplicates) {
  KeyFunctionRegistry& registry = KeyFunctionRegistry::Default();
  ASSERT_NE(registry.Find("lower"), nullptr);
  EXPECT_EQ(registry.Find("upper"), nullptr);
  Status duplicate = registry.Register(KeyFunction(
      "add", {}, ColumnKind::kInteger, [](const Tuple&) -> StatusOr<TupleElement> { return 0; }));
  EXPECT_EQ(duplicate.message(), "already_exists (8003): function add is already registered");
}

TEST_F(KeyExpressionTest, RegisteredFunctionIsUsable) {
  // Registered once per process, so that the test can be repeated.
  static const bool registered =
      KeyFunctionRegistry::Default()
          .Register(KeyFunction("string_length", {ColumnKind::kString}, ColumnKind::kInteger,
                                [](const Tuple& arguments) -> StatusOr<TupleElement> {
                                  const auto* text = arguments[0].get_if<std::string>();
                                  if (text == nullptr) return TupleElement();
                                  return static_cast<int64_t>(text->size());
                                }))
          .ok();
  ASSERT_TRUE(registered);
  EXPECT_EQ(
      *Eval(*key::Function("string_length", key::Nest("shipping", key::Field("city"))), *order_),
      Tuples{Tuple::Of(4)});
}

TEST_F(KeyExpressionTest, ValidationNamesTheProblem) {
  EXPECT_EQ(ValidateError(*key::Field("totl"), "Order"),
            "invalid_argument (8001): field Order.totl does not exist");
  EXPECT_EQ(ValidateError(*key::Field("coupons"), "Order"),
            "invalid_argument (8001): field Order.coupons is repeated; it needs fan-out or "
            "concatenate");
  EXPECT_EQ(ValidateError(*key::Field("total", FanType::kFanOut), "Order"),
            "invalid_argument (8001): field Order.total is not repeated; it cannot fan out");
  EXPECT_EQ(ValidateError(*key::Field("total", FanType::kConcatenate), "Order"),
            "invalid_argument (8001): field Order.total is not repeated; it cannot be "
            "concatenated");
  EXPECT_EQ(ValidateError(*key::Field("shipping"), "Order"),
            "invalid_argument (8001): field Order.shipping is a message; nest into it to use its "
            "fields");
  EXPECT_EQ(ValidateError(*key::Nest("total", key::Field("x")), "Order"),
            "invalid_argument (8001): field Order.total is not a message; it cannot be nested "
            "into");
  EXPECT_EQ(ValidateError(*key::Nest("shipping", key::Field("zipcode")), "Order"),
            "invalid_argument (8001): field Address.zipcode does not exist");
  EXPECT_EQ(
      ValidateError(*key::Nest("line_items", key::Field("sku"), FanType::kConcatenate), "Order"),
      "invalid_argument (8001): field Order.line_items cannot be concatenated when nesting "
      "into it");
  EXPECT_EQ(ValidateError(*key::Function("upper", key::Field("note")), "Order"),
            "invalid_argument (8001): function upper is not registered");
  EXPECT_EQ(ValidateError(*key::Function("add", key::Field("total")), "Order"),
            "invalid_argument (8001): function add takes 2 arguments, not 1 in add(total)");
  EXPECT_EQ(ValidateError(*key::Function("lower", key::Field("total")), "Order"),
            "invalid_argument (8001): argument 1 of lower(total) is integer, not string");
}

TEST_F(KeyExpressionTest, ToStringOfEveryKind) {
  auto expression =
      key::Concat(key::RecordTypeKey(), key::Field("customer_id"),
                  key::Nest("line_items",
                            key::Concat(key::Field("sku"), key::Field("options", FanType::kFanOut)),
                            FanType::kFanOut),
                  key::Field("coupons", FanType::kConcatenate),
                  key::Function("lower", key::Nest("shipping", key::Field("city"))),
                  key::Function("add", key::Concat(key::Field("total"), key::Field("customer_id"))),
                  key::Version(), key::Empty());
  EXPECT_EQ(expression->ToString(),
            "(record_type(), customer_id, line_items[fan-out].(sku, options[fan-out]), "
            "coupons[concatenate], lower(shipping.city), add(total, customer_id), version(), "
            "empty())");
  EXPECT_EQ(expression->ColumnSize(), 8);
}

TEST_F(KeyExpressionTest, ProtoRoundTripKeepsEveryKind) {
  auto expression = key::KeyWithValue(
      key::Concat(key::Grouping(key::Concat(key::RecordTypeKey(), key::Field("total")), 1),
                  key::Nest("line_items", key::Field("sku"), FanType::kFanOut),
                  key::Field("coupons", FanType::kConcatenate),
                  key::Function("lower", key::Field("note")), key::Version(), key::Empty()),
      2);
  StatusOr<std::unique_ptr<KeyExpression>> copy = KeyExpression::FromProto(expression->ToProto());
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_TRUE(**copy == *expression);
  EXPECT_EQ((*copy)->ToString(), expression->ToString());
  EXPECT_FALSE(*key::Field("total") == *key::Field("total", FanType::kFanOut));
}

TEST_F(KeyExpressionTest, FromProtoRefusesMalformedExpressions) {
  EXPECT_EQ(KeyExpression::FromProto(proto::KeyExpression()).status().message(),
            "invalid_argument (8001): a key expression has no kind set");
  EXPECT_EQ(
      KeyExpression::FromProto(ParseText<proto::KeyExpression>("field {}")).status().message(),
      "invalid_argument (8001): a field expression has no field name");
  EXPECT_EQ(KeyExpression::FromProto(ParseText<proto::KeyExpression>("then {}")).status().message(),
            "invalid_argument (8001): a concatenation has no children");
  EXPECT_EQ(KeyExpression::FromProto(ParseText<proto::KeyExpression>(
                                         R"pb(grouping {
                                                whole { field { name: "total" } }
                                                grouped_count: 2
                                              })pb"))
                .status()
                .message(),
            "invalid_argument (8001): grouped count 2 is outside 0..1 for total");
  EXPECT_EQ(KeyExpression::FromProto(ParseText<proto::KeyExpression>(
                                         R"pb(key_with_value {
                                                inner { field { name: "total" } }
                                                split_point: -1
                                              })pb"))
                .status()
                .message(),
            "invalid_argument (8001): split point -1 is outside 0..1 for total");
}

}  // namespace
}  // namespace recordstore::metadata
