#include "cli/cli_util.h"

#include <gtest/gtest.h>

namespace recordstore::cli {
namespace {

TEST(ParseKeyArgumentTest, IntegersLookLikeIntegersEverythingElseIsAString) {
  auto key = ParseKeyArgument("42");
  ASSERT_TRUE(key.ok());
  ASSERT_EQ(key->size(), 1u);
  EXPECT_EQ((*key)[0].int64(), 42);
  EXPECT_EQ((*ParseKeyArgument("-7"))[0].int64(), -7);
  EXPECT_EQ((*ParseKeyArgument("SKU-1"))[0].string(), "SKU-1");
  EXPECT_EQ((*ParseKeyArgument("4.5"))[0].string(), "4.5");
  EXPECT_EQ((*ParseKeyArgument("+3"))[0].string(), "+3");
  // Beyond int64: a string, not a silently wrapped number.
  EXPECT_EQ((*ParseKeyArgument("99999999999999999999"))[0].string(), "99999999999999999999");
}

TEST(ParseKeyArgumentTest, JsonArraysAreCompositeKeys) {
  auto key = ParseKeyArgument(R"([42, "eu", true, null, "7"])");
  ASSERT_TRUE(key.ok()) << key.status();
  ASSERT_EQ(key->size(), 5u);
  EXPECT_EQ((*key)[0].int64(), 42);
  EXPECT_EQ((*key)[1].string(), "eu");
  EXPECT_TRUE((*key)[2].bool_());
  EXPECT_TRUE((*key)[3].has_null());
  EXPECT_EQ((*key)[4].string(), "7");                  // a quoted number stays a string
  EXPECT_EQ(ParseKeyArgument("[1, 2] ")->size(), 2u);  // as ShieldJsonArrays leaves it
  EXPECT_FALSE(ParseKeyArgument("[1,").ok());
  EXPECT_FALSE(ParseKeyArgument("[]").ok());
  EXPECT_FALSE(ParseKeyArgument(R"([{"a":1}])").ok());
}

TEST(ShieldJsonArraysTest, OnlyBracketedArgumentsGetASpace) {
  const char* argv[] = {"recordstore", "get", "[1,\"a\"]", "[", "x]", "42"};
  EXPECT_EQ(ShieldJsonArrays(6, argv),
            (std::vector<std::string>{"recordstore", "get", "[1,\"a\"] ", "[", "x]", "42"}));
}

TEST(ParseRecordsInputTest, ArrayOrLines) {
  auto array = ParseRecordsInput(R"( [{"a": 1}, {"b": "x"}] )");
  ASSERT_TRUE(array.ok());
  EXPECT_EQ(*array, (std::vector<std::string>{R"({"a":1})", R"({"b":"x"})"}));
  auto lines = ParseRecordsInput("{\"a\": 1}\n\n  \n{\"b\": 2}\n");
  ASSERT_TRUE(lines.ok());
  EXPECT_EQ(*lines, (std::vector<std::string>{R"({"a":1})", R"({"b":2})"}));
  EXPECT_TRUE(ParseRecordsInput(" \n").value().empty());
  EXPECT_EQ(ParseRecordsInput("{\"a\":1}\n{oops\n").status().message(),
            "input line 2 is not a JSON object");
  EXPECT_EQ(ParseRecordsInput("[1]").status().message(), "input element 0 is not a JSON object");
}

TEST(ParseSchemaDefinitionTest, ReadsTypesAndIndexesAndRoundTrips) {
  v1::SchemaSpec spec;
  absl::Status parsed = ParseSchemaDefinition(R"({
    "record_types": [{"name": "Order", "primary_key": ["order_id"]}],
    "indexes": [{"name": "by_total", "fields": ["total"], "record_types": ["Order"]},
                {"name": "orders", "type": "count", "unique": false}]})",
                                              &spec);
  ASSERT_TRUE(parsed.ok()) << parsed;
  ASSERT_EQ(spec.record_types_size(), 1);
  EXPECT_EQ(spec.record_types(0).primary_key(0), "order_id");
  ASSERT_EQ(spec.indexes_size(), 2);
  EXPECT_EQ(spec.indexes(0).fields(0), "total");
  EXPECT_EQ(spec.indexes(1).type(), "count");

  v1::SchemaSpec again;
  ASSERT_TRUE(ParseSchemaDefinition(SchemaDefinitionToJson(spec).dump(), &again).ok());
  EXPECT_EQ(again.indexes(0).name(), "by_total");
  EXPECT_EQ(again.indexes(0).type(), "value");
  EXPECT_EQ(again.union_name(), "RecordTypeUnion");
}

TEST(ParseSchemaDefinitionTest, TyposAreErrors) {
  v1::SchemaSpec spec;
  EXPECT_EQ(ParseSchemaDefinition(R"({"indexs": []})", &spec).message(),
            "the schema definition has an unknown key \"indexs\" (known: indexes, "
            "record_types, union)");
  EXPECT_EQ(
      ParseSchemaDefinition(R"({"indexes": [{"name": "a", "field": ["x"]}]})", &spec).message(),
      "indexes[0] has an unknown key \"field\" (known: fields, name, record_types, "
      "type, unique, value_fields)");
  EXPECT_EQ(ParseSchemaDefinition(R"({"indexes": [{"fields": ["x"]}]})", &spec).message(),
            "indexes[0] needs \"name\"");
  EXPECT_FALSE(ParseSchemaDefinition("{", &spec).ok());
}

TEST(ProtoFileNamesTest, ImportedNamesThenProtoPathThenBaseName) {
  std::vector<std::string> names = ProtoFileNames(
      {"src/metadata/testdata/shop/shop.proto", "src/metadata/testdata/shop/common.proto"},
      {"syntax = \"proto3\";\nimport \"shop/common.proto\";\n", "syntax = \"proto3\";\n"}, "");
  EXPECT_EQ(names, (std::vector<std::string>{"shop.proto", "shop/common.proto"}));
  EXPECT_EQ(ProtoFileNames({"defs/a/b.proto"}, {""}, "defs"),
            (std::vector<std::string>{"a/b.proto"}));
  EXPECT_EQ(ProtoFileNames({"other/b.proto"}, {""}, "defs"), (std::vector<std::string>{"b.proto"}));
}

TEST(RenderTest, TablesPadColumnsWithoutTrailingSpaces) {
  EXPECT_EQ(RenderTable({"A", "LONG"}, {{"xyz", ""}, {"1", "2"}}),
            "A    LONG\n"
            "xyz\n"
            "1    2\n");
  std::vector<Json> records = {Json::parse(R"({"id": "1", "name": "a"})"),
                               Json::parse(R"({"id": "2", "email": "e", "name": "b"})")};
  EXPECT_EQ(RenderRecordTable(records, {"C", "C"}),
            "id  email  name\n"
            "1          a\n"
            "2   e      b\n");
  EXPECT_EQ(RenderRecordTable(records, {"C", "D"}),
            "record_type  id  email  name\n"
            "C            1          a\n"
            "D            2   e      b\n");
  EXPECT_EQ(ProgressBar(1, 4, 8), "[##------]  25.0%");
  EXPECT_EQ(ProgressBar(5, 0, 4), "[----]   0.0%");
}

TEST(RenderTest, UtcTimeTextTruncatesToSeconds) {
  EXPECT_EQ(UtcTimeText(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(UtcTimeText(1'795'297'807'999'999), "2026-11-21T21:50:07Z");
  EXPECT_EQ(UtcTimeText(-1), "1969-12-31T23:59:59Z");
}

TEST(RenderTest, ValuesAsJsonAndText) {
  v1::Value value;
  value.set_bytes("\x01\x02");
  EXPECT_EQ(ValueToJson(value), "AQI=");
  value.set_int64(-3);
  EXPECT_EQ(ValueToText(value), "-3");
  value.set_string("s");
  EXPECT_EQ(ValueToText(value), "s");
  value.set_null(true);
  EXPECT_TRUE(ValueToJson(value).is_null());
}

TEST(ParseDurationTest, UnitsAndErrors) {
  EXPECT_EQ(*ParseDuration("90s"), std::chrono::seconds(90));
  EXPECT_EQ(*ParseDuration("30m"), std::chrono::seconds(1800));
  EXPECT_EQ(*ParseDuration("24h"), std::chrono::seconds(86400));
  EXPECT_EQ(*ParseDuration("7d"), std::chrono::seconds(604800));
  for (const char* bad : {"", "h", "10", "10w", "-5m", "0h", "1.5h", "1234567890s"}) {
    absl::StatusOr<std::chrono::seconds> parsed = ParseDuration(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ParseDuration("10w").status().message(),
            "duration \"10w\" is not a number followed by s, m, h or d (e.g. 24h)");
}

}  // namespace
}  // namespace recordstore::cli
