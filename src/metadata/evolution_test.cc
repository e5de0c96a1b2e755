#include "metadata/evolution.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "metadata/metadata_test_util.h"

namespace recordstore::metadata {
namespace {

using Sources = std::map<std::string, std::string>;
using Edit = std::function<void(proto::RecordMetaData&)>;
using Strings = std::vector<std::string>;

// The shop's sources with the first `from` in `file` replaced by `to`.
Sources ShopWith(const std::string& file, std::string_view from, std::string_view to,
                 Sources sources = ShopSources()) {
  size_t at = sources[file].find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) sources[file].replace(at, from.size(), to);
  return sources;
}

// The shop metadata over `sources`, changed by `edit`.
RecordMetaData Shop(const Sources& sources = ShopSources(), const Edit& edit = nullptr) {
  proto::RecordMetaData proto = ShopProto(sources);
  if (edit) edit(proto);
  return BuildOrDie(proto);
}

// The shop metadata at version 4 over `sources`, changed by `edit`.
RecordMetaData NextShop(const Sources& sources = ShopSources(), const Edit& edit = nullptr) {
  return Shop(sources, [&](proto::RecordMetaData& proto) {
    proto.set_version(4);
    if (edit) edit(proto);
  });
}

Strings Violations(const RecordMetaData& old_metadata, const RecordMetaData& new_metadata) {
  Strings messages;
  for (const EvolutionViolation& violation :
       ValidateEvolution(old_metadata, new_metadata).violations) {
    messages.push_back(std::string(EvolutionRuleName(violation.rule)) + ": " + violation.message);
  }
  return messages;
}

proto::Index* FindIndex(proto::RecordMetaData& proto, std::string_view name) {
  for (proto::Index& index : *proto.mutable_indexes()) {
    if (index.name() == name) return &index;
  }
  ADD_FAILURE() << name;
  return nullptr;
}

void RemoveIndex(proto::RecordMetaData& proto, std::string_view name) {
  auto* indexes = proto.mutable_indexes();
  for (auto it = indexes->begin(); it != indexes->end(); ++it) {
    if (it->name() == name) {
      indexes->erase(it);
      return;
    }
  }
  ADD_FAILURE() << name;
}

void AddFormer(proto::RecordMetaData& proto, std::string name, int added, int removed) {
  proto::FormerIndex* former = proto.add_former_indexes();
  former->set_name(std::move(name));
  former->set_added_version(added);
  former->set_removed_version(removed);
}

TEST(EvolutionTest, IdenticalMetadataIsAccepted) {
  EXPECT_EQ(Violations(Shop(), Shop()), Strings{});
  EXPECT_TRUE(ValidateEvolution(Shop(), Shop()).ToStatus().ok());
}

TEST(EvolutionTest, AdditionsUnderANewVersionAreAccepted) {
  Sources sources = ShopWith("shop/shop.proto", "repeated string coupons = 8;",
                             "repeated string coupons = 8;\n  optional string gift_message = 9;");
  sources = ShopWith("shop/shop.proto", "Product _Product = 3;",
                     "Product _Product = 3;\n  Invoice _Invoice = 4;", sources);
  sources["shop/shop.proto"] += "message Invoice { int64 invoice_id = 1; }\n";
  RecordMetaData next = NextShop(sources, [](proto::RecordMetaData& proto) {
    *proto.add_record_types() =
        ParseText<proto::RecordType>(R"pb(name: "Invoice"
                                          primary_key {
                                            then {
                                              children { record_type_key {} }
                                              children { field { name: "invoice_id" } }
                                            }
                                          })pb");
    *proto.add_indexes() = ParseText<proto::Index>(R"pb(
      name: "order_by_gift_message"
      type: "value"
      root { field { name: "gift_message" } }
      record_types: "Order"
      added_version: 4
      last_modified_version: 4
    )pb");
  });
  EXPECT_EQ(Violations(Shop(), next), Strings{});
}

TEST(EvolutionTest, VersionMustNotGoDown) {
  EXPECT_EQ(Violations(NextShop(), Shop()),
            Strings{"version_not_increased: metadata version went down from 4 to 3"});
}

TEST(EvolutionTest, EqualVersionWithOtherContentIsRefused) {
  Sources sources = ShopWith("shop/shop.proto", "repeated string coupons = 8;",
                             "repeated string coupons = 8;\n  optional string gift_message = 9;");
  EXPECT_EQ(Violations(Shop(), Shop(sources)),
            Strings{"version_not_increased: metadata changed but its version stayed 3"});
}

TEST(EvolutionTest, RecordTypeMustNotBeRemoved) {
  Sources sources = ShopWith("shop/shop.proto", "Product _Product = 3;", "");
  RecordMetaData next = NextShop(sources, [](proto::RecordMetaData& proto) {
    proto.mutable_record_types()->RemoveLast();
    RemoveIndex(proto, "product_by_tag");
    AddFormer(proto, "product_by_tag", 2, 4);
  });
  EXPECT_EQ(Violations(Shop(), next),
            Strings{"record_type_removed: record type Product was removed"});
}

TEST(EvolutionTest, RecordTypeKeyMustNotChange) {
  RecordMetaData next = NextShop(ShopSources(), [](proto::RecordMetaData& proto) {
    proto.mutable_record_types(2)->set_record_type_key_string("item");
  });
  EXPECT_EQ(Violations(Shop(), next),
            Strings{"record_type_key_changed: record type Product changed record type key from "
                    "\"product\" to \"item\""});
}

TEST(EvolutionTest, UnionRenumberingChangesTheDefaultRecordTypeKey) {
  Sources sources =
      ShopWith("shop/shop.proto", "Customer _Customer = 1;", "Customer _Customer = 5;");
  EXPECT_EQ(Violations(Shop(), NextShop(sources)),
            Strings{"record_type_key_changed: record type Customer changed record type key from 1 "
                    "to 5"});
}

TEST(EvolutionTest, PrimaryKeyMustNotChange) {
  RecordMetaData next = NextShop(ShopSources(), [](proto::RecordMetaData& proto) {
    *proto.mutable_record_types(1)->mutable_primary_key() =
        ParseText<proto::KeyExpression>(R"pb(then {
                                               children { record_type_key {} }
                                               children { field { name: "order_id" } }
                                             })pb");
  });
  EXPECT_EQ(Violations(Shop(), next),
            Strings{"primary_key_changed: record type Order changed primary key from "
                    "(record_type(), customer_id, order_id) to (record_type(), order_id)"});
}

TEST(EvolutionTest, FieldMustNotBeRemoved) {
  Sources sources = ShopWith("shop/shop.proto", "optional string note = 6;", "");
  EXPECT_EQ(Violations(Shop(), NextShop(sources)),
            Strings{"field_removed: field Order.note (6) was removed"});
}

TEST(EvolutionTest, FieldMustNotBeRenumbered) {
  Sources sources =
      ShopWith("shop/shop.proto", "optional string note = 6;", "optional string note = 9;");
  EXPECT_EQ(Violations(Shop(), NextShop(sources)),
            Strings{"field_renumbered: field Order.note changed number from 6 to 9"});
}

TEST(EvolutionTest, FieldMustNotBeRenamed) {
  Sources sources =
      ShopWith("shop/shop.proto", "optional string note = 6;", "optional string remark = 6;");
  EXPECT_EQ(Violations(Shop(), NextShop(sources)),
            Strings{"field_renamed: field Order.note (6) was renamed to remark"});
}

TEST(EvolutionTest, FieldTypeMustNotChange) {
  Sources sources = ShopWith("shop/shop.proto", "  string name = 2;", "  bytes name = 2;");
  EXPECT_EQ(Violations(Shop(), NextShop(sources)),
            Strings{"field_type_changed: field Customer.name (2) changed type from string to "
                    "bytes"});
}

TEST(EvolutionTest, NestedFieldTypeChangeIsReportedOnce) {
  // Address is reached from Customer and from Order; the change is one violation.
  Sources sources =
      ShopWith("shop/common.proto", "optional string zip = 3;", "optional int64 zip = 3;");
  EXPECT_EQ(Violations(Shop(), NextShop(sources)),
            Strings{"field_type_changed: field Address.zip (3) changed type from string to "
                    "int64"});
}

TEST(EvolutionTest, FloatToDoubleIsRefused) {
  Sources sources = ShopWith("shop/shop.proto", "float rating = 9;", "double rating = 9;");
  EXPECT_EQ(Violations(Shop(), NextShop(sources)),
            Strings{"field_type_changed: field Product.rating (9) changed type from float to "
                    "double"});
}

TEST(EvolutionTest, EnumTypeChangeNamesTheTypes) {
  Sources sources = ShopWith("shop/shop.proto", "OrderStatus status = 7;", "int32 status = 7;");
  EXPECT_EQ(Violations(Shop(), NextShop(sources)),
            Strings{"field_type_changed: field Order.status (7) changed type from "
                    "shop.OrderStatus to int32"});
}

TEST(EvolutionTest, Int32ToInt64IsAccepted) {
  Sources sources = ShopWith("shop/shop.proto", "int32 quantity = 2;", "int64 quantity = 2;");
  sources = ShopWith("shop/shop.proto", "optional int32 loyalty_points = 5;",
                     "optional int64 loyalty_points = 5;", sources);
  EXPECT_EQ(Violations(Shop(), NextShop(sources)), Strings{});
}

TEST(EvolutionTest, Sint32ToSint64AndUint32ToUint64AreAccepted) {
  Sources old_sources = ShopWith("shop/shop.proto", "int32 quantity = 2;", "sint32 quantity = 2;");
  old_sources = ShopWith("shop/shop.proto", "optional int32 loyalty_points = 5;",
                         "optional uint32 loyalty_points = 5;", old_sources);
  Sources new_sources = ShopWith("shop/shop.proto", "int32 quantity = 2;", "sint64 quantity = 2;");
  new_sources = ShopWith("shop/shop.proto", "optional int32 loyalty_points = 5;",
                         "optional uint64 loyalty_points = 5;", new_sources);
  EXPECT_EQ(Violations(Shop(old_sources), NextShop(new_sources)), Strings{});
}

TEST(EvolutionTest, Int64ToInt32IsRefused) {
  Sources sources = ShopWith("shop/shop.proto", "int64 price = 3;", "int32 price = 3;");
  EXPECT_EQ(Violations(Shop(), NextShop(sources)),
            Strings{"field_type_changed: field LineItem.price (3) changed type from int64 to "
                    "int32"});
}

TEST(EvolutionTest, LabelMustNotChange) {
  Sources sources =
      ShopWith("shop/shop.proto", "optional string note = 6;", "repeated string note = 6;");
  sources =
      ShopWith("shop/shop.proto", "repeated string coupons = 8;", "string coupons = 8;", sources);
  EXPECT_EQ(Violations(Shop(), NextShop(sources)),
            (Strings{"field_label_changed: field Order.note (6) changed label from optional to "
                     "repeated",
                     "field_label_changed: field Order.coupons (8) changed label from repeated "
                     "to optional"}));
}

TEST(EvolutionTest, NewRequiredFieldIsRefused) {
  constexpr std::string_view kLegacy = R"(
syntax = "proto2";
message Item { optional int64 id = 1; }
message RecordTypeUnion { optional Item _Item = 1; }
)";
  auto build = [](std::string_view text, int version) {
    auto proto = ParseText<proto::RecordMetaData>(R"pb(record_types {
                                                         name: "Item"
                                                         primary_key { field { name: "id" } }
                                                       })pb");
    proto.set_version(version);
    *proto.mutable_files() = *ParseProtoFiles({{"legacy.proto", std::string(text)}});
    return BuildOrDie(proto);
  };
  std::string with_sku(kLegacy);
  with_sku.replace(with_sku.find("optional int64 id = 1;"), 22,
                   "optional int64 id = 1; required string sku = 2;");
  EXPECT_EQ(Violations(build(kLegacy, 1), build(with_sku, 2)),
            Strings{"required_field_added: field Item.sku (2) is new and required"});
}

TEST(EvolutionTest, NewIndexNeedsANewAddedVersion) {
  auto add_index = [](int added_version) {
    return [added_version](proto::RecordMetaData& proto) {
      proto::Index* index = proto.add_indexes();
      *index = ParseText<proto::Index>(R"pb(
        name: "order_by_total"
        type: "value"
        root { field { name: "total" } }
        record_types: "Order"
      )pb");
      index->set_added_version(added_version);
      index->set_last_modified_version(added_version);
    };
  };
  EXPECT_EQ(Violations(Shop(), NextShop(ShopSources(), add_index(3))),
            Strings{"index_added_with_old_version: index order_by_total is new but its "
                    "added_version 3 is not above the old metadata version 3"});
  EXPECT_EQ(Violations(Shop(), NextShop(ShopSources(), add_index(4))), Strings{});
}

TEST(EvolutionTest, ChangedIndexNeedsANewLastModifiedVersion) {
  auto change_index = [](int last_modified_version) {
    return [last_modified_version](proto::RecordMetaData& proto) {
      proto::Index* index = FindIndex(proto, "order_by_sku");
      index->mutable_root()->mutable_nest()->mutable_child()->mutable_field()->set_name("price");
      index->set_last_modified_version(last_modified_version);
    };
  };
  EXPECT_EQ(Violations(Shop(), NextShop(ShopSources(), change_index(1))),
            Strings{"index_changed_with_old_version: index order_by_sku changed but its "
                    "last_modified_version 1 is not above the old metadata version 3"});
  EXPECT_EQ(Violations(Shop(), NextShop(ShopSources(), change_index(4))), Strings{});
}

TEST(EvolutionTest, ChangedIndexOptionsCountAsAChange) {
  RecordMetaData next = NextShop(ShopSources(), [](proto::RecordMetaData& proto) {
    (*FindIndex(proto, "customer_by_email")->mutable_options())["unique"] = "false";
  });
  EXPECT_EQ(Violations(Shop(), next),
            Strings{"index_changed_with_old_version: index customer_by_email changed but its "
                    "last_modified_version 1 is not above the old metadata version 3"});
}

TEST(EvolutionTest, RemovedIndexNeedsAFormerIndex) {
  RecordMetaData next = NextShop(
      ShopSources(), [](proto::RecordMetaData& proto) { RemoveIndex(proto, "product_by_tag"); });
  EXPECT_EQ(Violations(Shop(), next),
            Strings{"index_removed_without_former_index: index product_by_tag was removed "
                    "without a former index"});
  RecordMetaData with_former = NextShop(ShopSources(), [](proto::RecordMetaData& proto) {
    RemoveIndex(proto, "product_by_tag");
    AddFormer(proto, "product_by_tag", 2, 4);
  });
  EXPECT_EQ(Violations(Shop(), with_former), Strings{});
}

TEST(EvolutionTest, FormerIndexMustMatchTheRemovedIndex) {
  RecordMetaData next = NextShop(ShopSources(), [](proto::RecordMetaData& proto) {
    RemoveIndex(proto, "product_by_tag");
    AddFormer(proto, "product_by_tag", 1, 3);
  });
  EXPECT_EQ(Violations(Shop(), next),
            (Strings{"former_index_mismatch: former index product_by_tag has removed_version 3, "
                     "not above the old metadata version 3",
                     "former_index_mismatch: former index product_by_tag has added_version 1 but "
                     "the index was added at version 2"}));
}

TEST(EvolutionTest, FormerIndexMustNotBeDropped) {
  RecordMetaData next =
      NextShop(ShopSources(), [](proto::RecordMetaData& proto) { proto.clear_former_indexes(); });
  EXPECT_EQ(Violations(Shop(), next),
            Strings{"former_index_dropped: former index order_by_note was dropped"});
}

TEST(EvolutionTest, EveryViolationIsReported) {
  Sources sources = ShopWith("shop/shop.proto", "optional string note = 6;", "");
  sources = ShopWith("shop/shop.proto", "float rating = 9;", "double rating = 9;", sources);
  RecordMetaData next =
      Shop(sources, [](proto::RecordMetaData& proto) { RemoveIndex(proto, "product_by_tag"); });
  EvolutionReport report = ValidateEvolution(Shop(), next);
  EXPECT_EQ(Violations(Shop(), next),
            (Strings{"version_not_increased: metadata changed but its version stayed 3",
                     "field_removed: field Order.note (6) was removed",
                     "field_type_changed: field Product.rating (9) changed type from float to "
                     "double",
                     "index_removed_without_former_index: index product_by_tag was removed "
                     "without a former index"}));
  EXPECT_EQ(report.ToStatus().message(),
            "invalid_argument (8001): metadata evolution refused: metadata changed but its "
            "version stayed 3; field Order.note (6) was removed; field Product.rating (9) changed "
            "type from float to double; index product_by_tag was removed without a former "
            "index");
}

}  // namespace
}  // namespace recordstore::metadata
