#include "metadata/record_metadata.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "metadata/metadata_test_util.h"

namespace recordstore::metadata {
namespace {

// Concatenates text pieces (absl::StrCat takes absl's own string_view on Debian, not std's).
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string out;
  (out.append(parts), ...);
  return out;
}

// A two-type schema for the validation tests; each test changes one thing.
constexpr std::string_view kSmallProto = R"(
syntax = "proto3";
package small;
message Item {
  int64 id = 1;
  string name = 2;
  repeated string tags = 3;
  int64 amount = 4;
}
message Note { int64 id = 1; string text = 2; }
message RecordTypeUnion {
  Item _Item = 1;
  Note _Note = 2;
}
)";

constexpr std::string_view kSmallTypes = R"pb(
  version: 5
  record_types {
    name: "Item"
    primary_key { field { name: "id" } }
  }
  record_types {
    name: "Note"
    primary_key { field { name: "id" } }
  }
)pb";

proto::RecordMetaData SmallProto(std::string_view proto_text, std::string_view metadata_text) {
  auto metadata = ParseText<proto::RecordMetaData>(metadata_text);
  StatusOr<google::protobuf::FileDescriptorSet> files =
      ParseProtoFiles({{"small.proto", std::string(proto_text)}});
  EXPECT_TRUE(files.ok()) << files.status();
  if (files.ok()) *metadata.mutable_files() = *files;
  return metadata;
}

// The error of building the small schema with `extra` metadata text appended.
std::string BuildError(std::string_view extra, std::string_view proto_text = kSmallProto,
                       std::string_view types = kSmallTypes) {
  StatusOr<RecordMetaData> metadata =
      RecordMetaData::Build(SmallProto(proto_text, Cat(types, extra)));
  EXPECT_FALSE(metadata.ok());
  return static_cast<std::string>(metadata.status().message());
}

// `proto` with the first occurrence of `from` replaced by `to`.
std::string Replace(std::string_view text, std::string_view from, std::string_view to) {
  std::string result(text);
  size_t at = result.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) result.replace(at, from.size(), to);
  return result;
}

std::vector<std::string> Names(const std::vector<const Index*>& indexes) {
  std::vector<std::string> names;
  names.reserve(indexes.size());
  for (const Index* index : indexes) names.push_back(index->name());
  return names;
}

TEST(RecordMetaDataTest, ShopBuilds) {
  RecordMetaData metadata = BuildOrDie(ShopProto());
  EXPECT_EQ(metadata.version(), 3);
  EXPECT_EQ(metadata.union_descriptor().full_name(), "shop.RecordTypeUnion");
  ASSERT_EQ(metadata.record_types().size(), 3u);
  const RecordType& customer = metadata.record_types()[0];
  const RecordType& order = metadata.record_types()[1];
  const RecordType& product = metadata.record_types()[2];
  EXPECT_EQ(customer.name(), "Customer");
  EXPECT_EQ(customer.record_type_key(), TupleElement(1));
  EXPECT_FALSE(customer.has_explicit_record_type_key());
  EXPECT_EQ(order.name(), "Order");
  EXPECT_EQ(order.union_field_number(), 2);
  EXPECT_EQ(order.primary_key().ToString(), "(record_type(), customer_id, order_id)");
  EXPECT_EQ(product.record_type_key(), TupleElement("product"));
  EXPECT_TRUE(product.has_explicit_record_type_key());
  EXPECT_EQ(&order, metadata.FindRecordTypeFor(order.descriptor()));
  EXPECT_EQ(metadata.FindRecordType("Invoice"), nullptr);

  EXPECT_EQ(Names(metadata.IndexesFor(order)),
            (std::vector<std::string>{"order_by_sku", "revenue_by_customer", "records_by_type"}));
  EXPECT_EQ(Names(metadata.IndexesFor(customer)),
            (std::vector<std::string>{"customer_by_email", "records_by_type"}));
  const Index& by_email = *metadata.FindIndex("customer_by_email");
  EXPECT_TRUE(by_email.unique());
  EXPECT_EQ(by_email.option("unique"), "true");
  EXPECT_EQ(by_email.option("language"), std::nullopt);
  const Index& revenue = *metadata.FindIndex("revenue_by_customer");
  EXPECT_EQ(revenue.type(), index_types::kSum);
  EXPECT_FALSE(revenue.unique());
  EXPECT_EQ(revenue.added_version(), 2);
  EXPECT_EQ(revenue.last_modified_version(), 3);
  EXPECT_EQ(revenue.root().ToString(), "grouping((customer_id, total), grouped=1)");
  ASSERT_EQ(metadata.former_indexes().size(), 1u);
  EXPECT_EQ(metadata.former_indexes()[0].name, "order_by_note");
  EXPECT_EQ(metadata.former_indexes()[0].removed_version, 2);
}

TEST(RecordMetaDataTest, PrimaryKeyAndIndexEntriesOfARecord) {
  RecordMetaData metadata = BuildOrDie(ShopProto());
  const RecordType& order_type = *metadata.FindRecordType("Order");
  auto order = MakeRecord(metadata, "Order", R"pb(
    order_id: 7
    customer_id: 42
    total: 900
    line_items { sku: "tea" }
    line_items { sku: "pot" }
  )pb");
  EXPECT_EQ(*order_type.primary_key().Evaluate(*order, order_type.Context()),
            std::vector<Tuple>{Tuple::Of(2, 42, 7)});
  EXPECT_EQ(*metadata.FindIndex("order_by_sku")->root().Evaluate(*order, order_type.Context()),
            (std::vector<Tuple>{Tuple::Of("tea"), Tuple::Of("pot")}));
  EXPECT_EQ(*metadata.FindIndex("records_by_type")->root().Evaluate(*order, order_type.Context()),
            std::vector<Tuple>{Tuple::Of(2)});
}

TEST(RecordMetaDataTest, MovedMetaDataKeepsItsRecordTypes) {
  RecordMetaData first = BuildOrDie(ShopProto());
  const RecordType* order = first.FindRecordType("Order");
  RecordMetaData moved = std::move(first);
  EXPECT_EQ(moved.FindRecordType("Order"), order);
  EXPECT_EQ(moved.NewRecord(*order)->GetDescriptor()->full_name(), "shop.Order");
}

TEST(RecordMetaDataTest, DescriptorSetInAnyOrderBuilds) {
  proto::RecordMetaData proto = ShopProto();
  ASSERT_EQ(proto.files().file(0).name(), "shop/common.proto");
  std::reverse(proto.mutable_files()->mutable_file()->begin(),
               proto.mutable_files()->mutable_file()->end());
  ASSERT_EQ(proto.files().file(0).name(), "shop/shop.proto");
  EXPECT_TRUE(RecordMetaData::Build(proto).ok());
}

TEST(RecordMetaDataTest, MissingImportIsNamed) {
  proto::RecordMetaData proto = ShopProto();
  proto.mutable_files()->mutable_file()->erase(proto.mutable_files()->mutable_file()->begin());
  EXPECT_EQ(RecordMetaData::Build(proto).status().message(),
            "invalid_argument (8001): file shop/shop.proto imports shop/common.proto, which is "
            "not in the descriptor set");
}

TEST(RecordMetaDataTest, DuplicateFileIsRefused) {
  proto::RecordMetaData proto = ShopProto();
  *proto.mutable_files()->add_file() = proto.files().file(0);
  EXPECT_EQ(RecordMetaData::Build(proto).status().message(),
            "invalid_argument (8001): file shop/common.proto appears twice in the descriptor set");
}

TEST(RecordMetaDataTest, ImportCycleIsRefused) {
  proto::RecordMetaData proto = ShopProto();
  proto.mutable_files()->mutable_file(0)->add_dependency("shop/shop.proto");
  EXPECT_EQ(RecordMetaData::Build(proto).status().message(),
            "invalid_argument (8001): import cycle: shop/shop.proto imports shop/common.proto, "
            "which imports it back");
}

TEST(RecordMetaDataTest, UnlinkableFileNamesTheElement) {
  proto::RecordMetaData proto = ShopProto();
  ASSERT_EQ(proto.files().file(1).message_type(0).field(3).name(), "address");
  proto.mutable_files()->mutable_file(1)->mutable_message_type(0)->mutable_field(3)->set_type_name(
      ".shop.Adress");
  EXPECT_EQ(RecordMetaData::Build(proto).status().message(),
            "invalid_argument (8001): shop/shop.proto: shop.Customer.address: \".shop.Adress\" "
            "is not defined.");
}

TEST(RecordMetaDataTest, WellKnownImportNeedNotBeInTheSet) {
  std::string text = Replace(kSmallProto, "package small;",
                             "package small;\nimport \"google/protobuf/timestamp.proto\";");
  text = Replace(text, "string text = 2;", "string text = 2; google.protobuf.Timestamp at = 3;");
  proto::RecordMetaData proto = SmallProto(text, kSmallTypes);
  ASSERT_EQ(proto.files().file_size(), 2);
  proto.mutable_files()->mutable_file()->erase(proto.mutable_files()->mutable_file()->begin());
  StatusOr<RecordMetaData> metadata = RecordMetaData::Build(proto);
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->FindRecordType("Note")
                ->descriptor()
                .FindFieldByName("at")
                ->message_type()
                ->full_name(),
            "google.protobuf.Timestamp");
}

TEST(RecordMetaDataTest, UnionMessageByQualifiedOrMissingName) {
  EXPECT_TRUE(
      RecordMetaData::Build(
          SmallProto(kSmallProto, Cat(kSmallTypes, "union_name: \"small.RecordTypeUnion\"")))
          .ok());
  EXPECT_EQ(BuildError("union_name: \"Catalog\""),
            "invalid_argument (8001): union message Catalog is not in the descriptor set");
}

TEST(RecordMetaDataTest, UnionFieldMustBeASingularMessage) {
  EXPECT_EQ(BuildError("", Replace(kSmallProto, "Note _Note = 2;", "Note _Note = 2; int64 n = 3;")),
            "invalid_argument (8001): union field RecordTypeUnion.n (3) is not a singular "
            "message field");
  EXPECT_EQ(BuildError("", Replace(kSmallProto, "Note _Note = 2;", "repeated Note _Note = 2;")),
            "invalid_argument (8001): union field RecordTypeUnion._Note (2) is not a singular "
            "message field");
}

TEST(RecordMetaDataTest, RecordTypeTwiceInUnion) {
  EXPECT_EQ(
      BuildError("", Replace(kSmallProto, "Note _Note = 2;", "Note _Note = 2; Item again = 7;")),
      "invalid_argument (8001): record type Item appears twice in union RecordTypeUnion "
      "(fields 1 and 7)");
}

TEST(RecordMetaDataTest, UnionTypeWithoutDefinition) {
  EXPECT_EQ(BuildError("", kSmallProto, R"pb(record_types {
                                               name: "Item"
                                               primary_key { field { name: "id" } }
                                             })pb"),
            "invalid_argument (8001): record type Note has no primary key");
}

TEST(RecordMetaDataTest, DefinitionOfUnknownType) {
  EXPECT_EQ(BuildError(R"pb(record_types {
                              name: "Invoice"
                              primary_key { field { name: "id" } }
                            })pb"),
            "invalid_argument (8001): record type Invoice is not a field of union "
            "RecordTypeUnion");
}

TEST(RecordMetaDataTest, TypeDefinedTwice) {
  EXPECT_EQ(BuildError(R"pb(record_types {
                              name: "Note"
                              primary_key { field { name: "text" } }
                            })pb"),
            "invalid_argument (8001): record type Note is defined twice");
}

TEST(RecordMetaDataTest, PrimaryKeyFieldMustExist) {
  EXPECT_EQ(BuildError("", kSmallProto, Replace(kSmallTypes, "\"id\"", "\"item_id\"")),
            "invalid_argument (8001): primary key of Item: field Item.item_id does not exist");
}

TEST(RecordMetaDataTest, PrimaryKeyMustNotFanOut) {
  EXPECT_EQ(BuildError("", kSmallProto,
                       Replace(kSmallTypes, R"(field { name: "id" })",
                               R"(field { name: "tags" fan_type: FAN_TYPE_FAN_OUT })")),
            "invalid_argument (8001): primary key of Item (tags[fan-out]) fans out over a "
            "repeated field");
}

TEST(RecordMetaDataTest, PrimaryKeyMustNotUseTheVersion) {
  EXPECT_EQ(
      BuildError("", kSmallProto,
                 Replace(kSmallTypes, R"(field { name: "id" })",
                         R"(then { children { field { name: "id" } } children { version {} } })")),
      "invalid_argument (8001): primary key of Item ((id, version())) uses the record "
      "version");
}

TEST(RecordMetaDataTest, PrimaryKeysOfDifferentLengthsMustStartWithTheRecordTypeKey) {
  // Note (id, text) could otherwise hold keys under Item (id)'s primary key.
  constexpr std::string_view kNoteWithLongerKey = R"pb(
    version: 5
    record_types {
      name: "Item"
      primary_key { field { name: "id" } }
    }
    record_types {
      name: "Note"
      primary_key {
        then {
          children { field { name: "id" } }
          children { field { name: "text" } }
        }
      }
    }
  )pb";
  EXPECT_EQ(BuildError("", kSmallProto, kNoteWithLongerKey),
            "invalid_argument (8001): primary keys of Item (id) and Note ((id, text)) differ in "
            "length, so one could be a prefix of the other: both must start with "
            "record_type_key()");
  // One of the two starting with it is not enough.
  constexpr std::string_view kItemWithType = R"pb(
    version: 5
    record_types {
      name: "Item"
      primary_key {
        then {
          children { record_type_key {} }
          children { field { name: "id" } }
        }
      }
    }
    record_types {
      name: "Note"
      primary_key { field { name: "id" } }
    }
  )pb";
  EXPECT_EQ(BuildError("", kSmallProto, kItemWithType),
            "invalid_argument (8001): primary keys of Note (id) and Item ((record_type(), id)) "
            "differ in length, so one could be a prefix of the other: both must start with "
            "record_type_key()");
  std::string both_with_type =
      Replace(kItemWithType, R"(primary_key { field { name: "id" } })",
              R"(primary_key {
                   then {
                     children { record_type_key {} }
                     children { field { name: "id" } }
                     children { field { name: "text" } }
                   }
                 })");
  EXPECT_TRUE(RecordMetaData::Build(SmallProto(kSmallProto, both_with_type)).ok());
  // Keys of equal length need no record type key (the small schema itself).
  EXPECT_TRUE(RecordMetaData::Build(SmallProto(kSmallProto, kSmallTypes)).ok());
}

TEST(RecordMetaDataTest, ExplicitRecordTypeKeyCollidesWithUnionNumber) {
  EXPECT_EQ(
      BuildError("", kSmallProto,
                 Replace(kSmallTypes, R"(name: "Item")", R"(name: "Item" record_type_key_int: 2)")),
      "invalid_argument (8001): record types Item and Note share record type key 2");
}

TEST(RecordMetaDataTest, ExplicitStringRecordTypeKeysCollide) {
  std::string types =
      Replace(kSmallTypes, R"(name: "Item")", R"(name: "Item" record_type_key_string: "x")");
  types = Replace(types, R"(name: "Note")", R"(name: "Note" record_type_key_string: "x")");
  EXPECT_EQ(BuildError("", kSmallProto, types),
            "invalid_argument (8001): record types Item and Note share record type key \"x\"");
}

constexpr std::string_view kValueIndex = R"pb(
  indexes {
    name: "item_by_name"
    type: "value"
    root { field { name: "name" } }
    record_types: "Item"
    added_version: 1
    last_modified_version: 1
  })pb";

TEST(RecordMetaDataTest, IndexNamesAreUnique) {
  EXPECT_EQ(BuildError(Cat(kValueIndex, kValueIndex)),
            "invalid_argument (8001): index name item_by_name is used twice");
}

TEST(RecordMetaDataTest, IndexTypeMustBeKnown) {
  EXPECT_EQ(BuildError(Replace(kValueIndex, "\"value\"", "\"bitmap\"")),
            "invalid_argument (8001): index item_by_name has unknown type \"bitmap\"");
}

TEST(RecordMetaDataTest, IndexRecordTypeMustExist) {
  EXPECT_EQ(BuildError(Replace(kValueIndex, "\"Item\"", "\"Invoice\"")),
            "invalid_argument (8001): index item_by_name applies to unknown record type Invoice");
}

TEST(RecordMetaDataTest, IndexFieldMustExist) {
  EXPECT_EQ(BuildError(Replace(kValueIndex, "\"name\" }", "\"title\" }")),
            "invalid_argument (8001): index item_by_name on Item: field Item.title does not exist");
}

TEST(RecordMetaDataTest, UniversalIndexMustFitEveryType) {
  EXPECT_EQ(BuildError(Replace(kValueIndex, R"(record_types: "Item")", "")),
            "invalid_argument (8001): index item_by_name on Note: field Note.name does not exist");
}

TEST(RecordMetaDataTest, UniqueOptionMustBeABoolean) {
  EXPECT_EQ(BuildError(Replace(kValueIndex, "added_version: 1",
                               R"(options { key: "unique" value: "yes" } added_version: 1)")),
            "invalid_argument (8001): index item_by_name has option unique=\"yes\"; it must be "
            "\"true\" or \"false\"");
}

TEST(RecordMetaDataTest, IndexVersionsMustBeOrdered) {
  EXPECT_EQ(
      BuildError(Replace(kValueIndex, "last_modified_version: 1", "last_modified_version: 6")),
      "invalid_argument (8001): index item_by_name needs 0 <= added_version (1) <= "
      "last_modified_version (6) <= metadata version (5)");
  EXPECT_EQ(BuildError(Replace(kValueIndex, "added_version: 1", "added_version: 2")),
            "invalid_argument (8001): index item_by_name needs 0 <= added_version (2) <= "
            "last_modified_version (1) <= metadata version (5)");
}

TEST(RecordMetaDataTest, FormerIndexVersionsMustBeOrdered) {
  EXPECT_EQ(BuildError(R"pb(former_indexes { name: "old" added_version: 1 removed_version: 6 })pb"),
            "invalid_argument (8001): former index old has removed_version 6 above metadata "
            "version 5");
  EXPECT_EQ(BuildError(R"pb(former_indexes { name: "old" added_version: 4 removed_version: 3 })pb"),
            "invalid_argument (8001): former index old has added_version 4 above its "
            "removed_version 3");
  EXPECT_EQ(BuildError(R"pb(former_indexes { name: "old" removed_version: 3 }
                            former_indexes { name: "old" removed_version: 4 })pb"),
            "invalid_argument (8001): former index old is listed twice");
}

TEST(RecordMetaDataTest, IndexMayReuseAFormerNameOnlyWhenAddedLater) {
  EXPECT_EQ(BuildError(Cat(kValueIndex,
                           R"pb(former_indexes { name: "item_by_name" removed_version: 2 })pb")),
            "invalid_argument (8001): index item_by_name has added_version 1, not after former "
            "index item_by_name removed at version 2");
  std::string readded = Cat(Replace(Replace(kValueIndex, "added_version: 1", "added_version: 3"),
                                    "last_modified_version: 1", "last_modified_version: 3"),
                            R"pb(former_indexes { name: "item_by_name" removed_version: 2 })pb");
  EXPECT_TRUE(RecordMetaData::Build(SmallProto(kSmallProto, Cat(kSmallTypes, readded))).ok());
}

// An index over Item of `type` with root `root` (text format).
std::string IndexOfType(std::string_view type, std::string_view root,
                        std::string_view options = "") {
  return Cat(R"pb(indexes { name: "i" type: ")pb", type, R"pb(" root { )pb", root,
             " } record_types: \"Item\" ", options, " }");
}

constexpr std::string_view kSumOfAmountByName =
    R"pb(grouping {
           whole {
             then {
               children { field { name: "name" } }
               children { field { name: "amount" } }
             }
           }
           grouped_count: 1
         })pb";

TEST(RecordMetaDataTest, AggregateIndexesNeedAGroupingRoot) {
  EXPECT_EQ(BuildError(IndexOfType("sum", R"pb(field { name: "amount" })pb")),
            "invalid_argument (8001): index i of type sum needs a grouping root expression, not "
            "amount");
}

TEST(RecordMetaDataTest, SumNeedsOneIntegerGroupedColumn) {
  EXPECT_TRUE(RecordMetaData::Build(
                  SmallProto(kSmallProto, Cat(kSmallTypes, IndexOfType("sum", kSumOfAmountByName))))
                  .ok());
  EXPECT_EQ(BuildError(IndexOfType(
                "sum", Replace(kSumOfAmountByName, "grouped_count: 1", "grouped_count: 2"))),
            "invalid_argument (8001): index i of type sum needs exactly one grouped column, not 2");
  std::string sum_of_name =
      Replace(Replace(kSumOfAmountByName, "\"name\"", "\"id\""), "\"amount\"", "\"name\"");
  EXPECT_EQ(BuildError(IndexOfType("sum", sum_of_name)),
            "invalid_argument (8001): index i of type sum sums a string column; it needs an "
            "integer");
}

TEST(RecordMetaDataTest, CountAggregatesNoColumn) {
  EXPECT_EQ(BuildError(IndexOfType("count", kSumOfAmountByName)),
            "invalid_argument (8001): index i of type count aggregates no column; its grouped "
            "count must be 0, not 1");
}

TEST(RecordMetaDataTest, MaxEverNeedsAGroupedColumn) {
  EXPECT_EQ(BuildError(IndexOfType(
                "max_ever", Replace(kSumOfAmountByName, "grouped_count: 1", "grouped_count: 0"))),
            "invalid_argument (8001): index i of type max_ever needs at least one grouped column");
}

TEST(RecordMetaDataTest, VersionColumnOnlyInVersionIndexes) {
  constexpr std::string_view kByVersion =
      R"pb(then {
             children { field { name: "name" } }
             children { version {} }
           })pb";
  EXPECT_TRUE(RecordMetaData::Build(
                  SmallProto(kSmallProto, Cat(kSmallTypes, IndexOfType("version", kByVersion))))
                  .ok());
  EXPECT_EQ(BuildError(IndexOfType("value", kByVersion)),
            "invalid_argument (8001): index i of type value uses version(); only version indexes "
            "may");
  EXPECT_EQ(BuildError(IndexOfType("version", R"pb(field { name: "name" })pb")),
            "invalid_argument (8001): index i of type version has no version() column");
}

TEST(RecordMetaDataTest, TextIndexNeedsAStringColumn) {
  EXPECT_TRUE(RecordMetaData::Build(
                  SmallProto(kSmallProto, Cat(kSmallTypes, IndexOfType("text", R"pb(field {
                                                                                      name: "name"
                                                                                    })pb"))))
                  .ok());
  EXPECT_EQ(BuildError(IndexOfType("text", R"pb(field { name: "amount" })pb")),
            "invalid_argument (8001): index i of type text needs a string column to tokenize at "
            "position 1");
}

TEST(RecordMetaDataTest, OnlyValueAndVersionIndexesAreUnique) {
  EXPECT_EQ(BuildError(IndexOfType("sum", kSumOfAmountByName,
                                   R"pb(options { key: "unique" value: "true" })pb")),
            "invalid_argument (8001): index i of type sum cannot be unique");
}

}  // namespace
}  // namespace recordstore::metadata
