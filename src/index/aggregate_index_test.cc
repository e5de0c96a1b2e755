#include "index/aggregate_index.h"

#include <gtest/gtest.h>

#include <barrier>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cursor/record_context.h"
#include "google/protobuf/text_format.h"
#include "metadata/proto_source.h"
#include "metadata/record_metadata.h"
#include "recordstore/kv.h"
#include "tuple/subspace.h"
#include "tuple/tuple_test_util.h"

namespace recordstore::index {
namespace {

constexpr char kSchema[] = R"pb(
  syntax = "proto2"
  ;
  package agg;
  message Sale {
    optional int64 id = 1;
    optional string store = 2;
    optional int64 amount = 3;
    optional string item = 4;
    repeated string tags = 5;
    repeated int64 quantities = 6;
    optional uint64 units = 7;
  }
  message Note {
    optional int64 id = 1;
  }
  message RecordTypeUnion {
    optional Sale sale = 1;
    optional Note note = 2;
  }
)pb";

// One index of each aggregate type, grouped and ungrouped, some over a fan-out.
constexpr char kMetadata[] = R"pb(
  version: 1
  record_types {
    name: "Sale"
    primary_key { field { name: "id" } }
  }
  record_types {
    name: "Note"
    primary_key { field { name: "id" } }
  }
  indexes {
    name: "count_all"
    type: "count"
    root {
      grouping {
        whole { empty {} }
        grouped_count: 0
      }
    }
  }
  indexes {
    name: "count_by_store"
    type: "count"
    root {
      grouping {
        whole { field { name: "store" } }
        grouped_count: 0
      }
    }
    record_types: "Sale"
  }
  indexes {
    name: "updates_by_store"
    type: "count_updates"
    root {
      grouping {
        whole { field { name: "store" } }
        grouped_count: 0
      }
    }
    record_types: "Sale"
  }
  indexes {
    name: "amounts_by_store"
    type: "count_not_null"
    root {
      grouping {
        whole {
          then {
            children { field { name: "store" } }
            children { field { name: "amount" } }
          }
        }
        grouped_count: 1
      }
    }
    record_types: "Sale"
  }
  indexes {
    name: "sum_by_store"
    type: "sum"
    root {
      grouping {
        whole {
          then {
            children { field { name: "store" } }
            children { field { name: "amount" } }
          }
        }
        grouped_count: 1
      }
    }
    record_types: "Sale"
  }
  indexes {
    name: "sum_all"
    type: "sum"
    root {
      grouping {
        whole { field { name: "amount" } }
        grouped_count: 1
      }
    }
    record_types: "Sale"
  }
  indexes {
    name: "min_by_store"
    type: "min_ever"
    root {
      grouping {
        whole {
          then {
            children { field { name: "store" } }
            children { field { name: "amount" } }
          }
        }
        grouped_count: 1
      }
    }
    record_types: "Sale"
  }
  indexes {
    name: "max_by_store"
    type: "max_ever"
    root {
      grouping {
        whole {
          then {
            children { field { name: "store" } }
            children { field { name: "amount" } }
          }
        }
        grouped_count: 1
      }
    }
    record_types: "Sale"
  }
  indexes {
    name: "min_item"
    type: "min_ever"
    root {
      grouping {
        whole { field { name: "item" } }
        grouped_count: 1
      }
    }
    record_types: "Sale"
  }
  indexes {
    name: "max_item_amount_by_store"
    type: "max_ever"
    root {
      grouping {
        whole {
          then {
            children { field { name: "store" } }
            children { field { name: "item" } }
            children { field { name: "amount" } }
          }
        }
        grouped_count: 2
      }
    }
    record_types: "Sale"
  }
  indexes {
    name: "count_by_tag"
    type: "count"
    root {
      grouping {
        whole { field { name: "tags" fan_type: FAN_TYPE_FAN_OUT } }
        grouped_count: 0
      }
    }
    record_types: "Sale"
  }
  indexes {
    name: "quantity_by_store"
    type: "sum"
    root {
      grouping {
        whole {
          then {
            children { field { name: "store" } }
            children { field { name: "quantities" fan_type: FAN_TYPE_FAN_OUT } }
          }
        }
        grouped_count: 1
      }
    }
    record_types: "Sale"
  }
  indexes {
    name: "max_quantity_by_store"
    type: "max_ever"
    root {
      grouping {
        whole {
          then {
            children { field { name: "store" } }
            children { field { name: "quantities" fan_type: FAN_TYPE_FAN_OUT } }
          }
        }
        grouped_count: 1
      }
    }
    record_types: "Sale"
  }
  indexes {
    name: "sum_units"
    type: "sum"
    root {
      grouping {
        whole { field { name: "units" } }
        grouped_count: 1
      }
    }
    record_types: "Sale"
  }
)pb";

metadata::RecordMetaData BuildMetadata() {
  metadata::proto::RecordMetaData proto;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(kMetadata, &proto));
  StatusOr<google::protobuf::FileDescriptorSet> files =
      metadata::ParseProtoFiles({{"agg.proto", kSchema}});
  EXPECT_TRUE(files.ok()) << files.status();
  *proto.mutable_files() = *files;
  StatusOr<metadata::RecordMetaData> built = metadata::RecordMetaData::Build(proto);
  if (!built.ok()) {
    ADD_FAILURE() << built.status();
    std::abort();
  }
  return *std::move(built);
}

// A record and the IndexedRecord view of it that maintainers take.
struct TestRecord {
  std::unique_ptr<google::protobuf::Message> message;
  IndexedRecord indexed;
  const IndexedRecord* operator->() const { return &indexed; }
  const IndexedRecord* get() const { return &indexed; }
};

class AggregateIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterAggregateMaintainers(registry_);
    StatusOr<std::unique_ptr<kv::Database>> db = kv::Database::Open("memory://");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
  }

  // A record of `type` with primary key `id`, its other fields from text format.
  TestRecord Record(std::string_view type, int64_t id, std::string_view text = "") {
    const metadata::RecordType* record_type = metadata_.FindRecordType(type);
    EXPECT_NE(record_type, nullptr) << type;
    TestRecord record;
    record.message = metadata_.NewRecord(*record_type);
    std::string full = "id: " + std::to_string(id) + " " + std::string(text);
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(full, record.message.get())) << full;
    record.indexed.type = record_type;
    record.indexed.message = record.message.get();
    record.indexed.primary_key = Tuple::Of(id);
    return record;
  }
  TestRecord Sale(int64_t id, std::string_view text = "") { return Record("Sale", id, text); }

  std::unique_ptr<cursor::RecordContext> NewContext() {
    return std::make_unique<cursor::RecordContext>(db_->CreateTransaction());
  }

  std::unique_ptr<IndexMaintainer> Maintainer(cursor::RecordContext& context,
                                              std::string_view name) {
    const metadata::Index* index = metadata_.FindIndex(name);
    EXPECT_NE(index, nullptr) << name;
    std::string index_name(name);
    StatusOr<std::unique_ptr<IndexMaintainer>> maintainer = registry_.Create(IndexMaintainerState{
        &context, &metadata_, index, IndexState::kReadable, Subspace(Tuple::Of(2, index_name)),
        Subspace(Tuple::Of(3, index_name)), Subspace(Tuple::Of(7, index_name))});
    EXPECT_TRUE(maintainer.ok()) << maintainer.status();
    return *std::move(maintainer);
  }

  // Updates every index in `context` as the record store would for a record changing from
  // `old_record` to `new_record` (either may be null).
  void UpdateAll(cursor::RecordContext& context, const IndexedRecord* old_record,
                 const IndexedRecord* new_record) {
    for (const metadata::Index& index : metadata_.indexes()) {
      auto applies = [&](const IndexedRecord* record) {
        return record != nullptr && index.AppliesTo(record->type->name()) ? record : nullptr;
      };
      const IndexedRecord* old_applied = applies(old_record);
      const IndexedRecord* new_applied = applies(new_record);
      if (old_applied == nullptr && new_applied == nullptr) continue;
      Status status = Maintainer(context, index.name())->Update(old_applied, new_applied);
      ASSERT_TRUE(status.ok()) << index.name() << ": " << status;
    }
  }

  // UpdateAll in a transaction of its own, committed.
  void Save(const IndexedRecord* old_record, const IndexedRecord* new_record) {
    auto context = NewContext();
    UpdateAll(*context, old_record, new_record);
    Status committed = context->Commit();
    ASSERT_TRUE(committed.ok()) << committed;
  }
  void Insert(const TestRecord& record) { Save(nullptr, record.get()); }
  void Delete(const TestRecord& record) { Save(record.get(), nullptr); }
  void Replace(const TestRecord& old_record, const TestRecord& new_record) {
    Save(old_record.get(), new_record.get());
  }

  // The aggregate of `group` in index `name`, read in a fresh transaction.
  StatusOr<Tuple> Aggregate(std::string_view name, const Tuple& group) {
    auto context = NewContext();
    return Maintainer(*context, name)->EvaluateAggregate(group);
  }
  // The aggregate, failing the test on an error.
  Tuple Value(std::string_view name, const Tuple& group) {
    StatusOr<Tuple> value = Aggregate(name, group);
    EXPECT_TRUE(value.ok()) << name << " " << group.ToString() << ": " << value.status();
    return value.ok() ? *value : Tuple::Of("error");
  }

  std::optional<std::string> RawGet(const std::string& key) {
    auto txn = db_->CreateTransaction();
    StatusOr<std::optional<std::string>> value = txn->Get(key);
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() ? *value : std::nullopt;
  }
  static std::string EntryKey(std::string_view index, const Tuple& group) {
    return Subspace(Tuple::Of(2, index)).Pack(group);
  }

  metadata::RecordMetaData metadata_ = BuildMetadata();
  IndexMaintainerRegistry registry_;
  std::unique_ptr<kv::Database> db_;
};

TEST_F(AggregateIndexTest, RegistersEveryAggregateTypeAndNoOther) {
  for (const char* type :
       {"count", "count_updates", "count_not_null", "sum", "min_ever", "max_ever"}) {
    EXPECT_TRUE(registry_.Supports(type)) << type;
  }
  EXPECT_FALSE(registry_.Supports("value"));
  EXPECT_FALSE(registry_.Supports("rank"));
  auto context = NewContext();
  auto maintainer = Maintainer(*context, "max_by_store");
  auto* aggregate = dynamic_cast<AggregateIndexMaintainer*>(maintainer.get());
  ASSERT_NE(aggregate, nullptr);
  EXPECT_EQ(aggregate->kind(), AggregateIndexMaintainer::Kind::kMaxEver);
}

TEST_F(AggregateIndexTest, CountsInsertsAndDeletesPerGroup) {
  TestRecord a1 = Sale(1, R"(store: "a")");
  TestRecord a2 = Sale(2, R"(store: "a")");
  TestRecord b3 = Sale(3, R"(store: "b")");
  TestRecord note = Record("Note", 4);
  Insert(a1);
  Insert(a2);
  Insert(b3);
  Insert(note);
  EXPECT_EQ(Value("count_all", Tuple()), Tuple::Of(4));
  EXPECT_EQ(Value("count_by_store", Tuple::Of("a")), Tuple::Of(2));
  EXPECT_EQ(Value("count_by_store", Tuple::Of("b")), Tuple::Of(1));
  EXPECT_EQ(Value("count_by_store", Tuple::Of("never")), Tuple::Of(0));

  Delete(a1);
  Delete(note);
  EXPECT_EQ(Value("count_all", Tuple()), Tuple::Of(2));
  EXPECT_EQ(Value("count_by_store", Tuple::Of("a")), Tuple::Of(1));

  Delete(b3);
  EXPECT_EQ(Value("count_by_store", Tuple::Of("b")), Tuple::Of(0));
  // The emptied group's key was cleared, not left holding zero.
  EXPECT_EQ(RawGet(EntryKey("count_by_store", Tuple::Of("b"))), std::nullopt);
}

TEST_F(AggregateIndexTest, CountKeyHoldsAnEightByteLittleEndianCounter) {
  Insert(Sale(1, R"(store: "a")"));
  Insert(Sale(2, R"(store: "a")"));
  // (2, "count_by_store", "a"): 15 02, then the two strings, each 02 ... 00.
  const std::string key = HexToBytes(
      "1502"
      "02"
      "636f756e745f62795f73746f7265"
      "00"
      "02"
      "61"
      "00");
  EXPECT_EQ(EntryKey("count_by_store", Tuple::Of("a")), key);
  std::optional<std::string> value = RawGet(key);
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(BytesToHex(*value), "0200000000000000");
}

TEST_F(AggregateIndexTest, ReadsItsOwnTransactionsUpdates) {
  Insert(Sale(1, R"(store: "a" amount: 4)"));
  TestRecord second = Sale(2, R"(store: "a" amount: 6)");
  auto context = NewContext();
  UpdateAll(*context, nullptr, second.get());
  StatusOr<Tuple> count = Maintainer(*context, "count_by_store")->EvaluateAggregate(Tuple::Of("a"));
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, Tuple::Of(2));
  StatusOr<Tuple> sum = Maintainer(*context, "sum_by_store")->EvaluateAggregate(Tuple::Of("a"));
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(*sum, Tuple::Of(10));
  // Not committed: others still see the old values.
  EXPECT_EQ(Value("count_by_store", Tuple::Of("a")), Tuple::Of(1));
  EXPECT_EQ(Value("sum_by_store", Tuple::Of("a")), Tuple::Of(4));
}

TEST_F(AggregateIndexTest, UpdateMovingGroupsMovesCountAndSum) {
  TestRecord before = Sale(1, R"(store: "a" amount: 5)");
  TestRecord after = Sale(1, R"(store: "b" amount: 7)");
  Insert(before);
  Replace(before, after);
  EXPECT_EQ(Value("count_by_store", Tuple::Of("a")), Tuple::Of(0));
  EXPECT_EQ(Value("count_by_store", Tuple::Of("b")), Tuple::Of(1));
  EXPECT_EQ(Value("amounts_by_store", Tuple::Of("a")), Tuple::Of(0));
  EXPECT_EQ(Value("amounts_by_store", Tuple::Of("b")), Tuple::Of(1));
  EXPECT_EQ(Value("sum_by_store", Tuple::Of("a")), Tuple::Of(0));
  EXPECT_EQ(Value("sum_by_store", Tuple::Of("b")), Tuple::Of(7));
  EXPECT_EQ(Value("sum_all", Tuple()), Tuple::Of(7));
  EXPECT_EQ(Value("count_all", Tuple()), Tuple::Of(1));
  EXPECT_EQ(RawGet(EntryKey("count_by_store", Tuple::Of("a"))), std::nullopt);
  EXPECT_EQ(RawGet(EntryKey("sum_by_store", Tuple::Of("a"))), std::nullopt);
}

TEST_F(AggregateIndexTest, UpdateWithinOneGroupWritesNothingForCount) {
  TestRecord before = Sale(1, R"(store: "a" amount: 5)");
  TestRecord after = Sale(1, R"(store: "a" amount: 9)");
  Insert(before);
  auto context = NewContext();
  ASSERT_TRUE(Maintainer(*context, "count_by_store")->Update(before.get(), after.get()).ok());
  ASSERT_TRUE(Maintainer(*context, "count_all")->Update(before.get(), after.get()).ok());
  EXPECT_EQ(context->txn().GetApproximateSize(), 0);
  // The sum does change: by +4.
  ASSERT_TRUE(Maintainer(*context, "sum_by_store")->Update(before.get(), after.get()).ok());
  EXPECT_GT(context->txn().GetApproximateSize(), 0);
  ASSERT_TRUE(context->Commit().ok());
  EXPECT_EQ(Value("count_by_store", Tuple::Of("a")), Tuple::Of(1));
  EXPECT_EQ(Value("sum_by_store", Tuple::Of("a")), Tuple::Of(9));
}

TEST_F(AggregateIndexTest, CountUpdatesCountsEverySaveAndIgnoresDeletes) {
  TestRecord v1 = Sale(1, R"(store: "a" amount: 1)");
  TestRecord v2 = Sale(1, R"(store: "a" amount: 2)");
  TestRecord v3 = Sale(1, R"(store: "b" amount: 3)");
  Insert(v1);
  Replace(v1, v2);
  Replace(v2, v2);  // saving an unchanged record still counts
  EXPECT_EQ(Value("updates_by_store", Tuple::Of("a")), Tuple::Of(3));
  Replace(v2, v3);  // moving to b counts for b and leaves a's count alone
  Delete(v3);
  EXPECT_EQ(Value("updates_by_store", Tuple::Of("a")), Tuple::Of(3));
  EXPECT_EQ(Value("updates_by_store", Tuple::Of("b")), Tuple::Of(1));
  EXPECT_EQ(Value("count_by_store", Tuple::Of("a")), Tuple::Of(0));
  EXPECT_EQ(Value("count_by_store", Tuple::Of("b")), Tuple::Of(0));
}

TEST_F(AggregateIndexTest, CountNotNullAndSumSkipNullGroupedColumns) {
  TestRecord with_amount = Sale(1, R"(store: "a" amount: 8)");
  TestRecord without_amount = Sale(2, R"(store: "a")");
  Insert(with_amount);
  Insert(without_amount);
  EXPECT_EQ(Value("count_by_store", Tuple::Of("a")), Tuple::Of(2));
  EXPECT_EQ(Value("amounts_by_store", Tuple::Of("a")), Tuple::Of(1));
  EXPECT_EQ(Value("sum_by_store", Tuple::Of("a")), Tuple::Of(8));
  EXPECT_EQ(Value("min_by_store", Tuple::Of("a")), Tuple::Of(8));
  EXPECT_EQ(Value("max_by_store", Tuple::Of("a")), Tuple::Of(8));

  // Deleting the null one takes nothing away; giving it an amount adds it.
  Delete(without_amount);
  EXPECT_EQ(Value("amounts_by_store", Tuple::Of("a")), Tuple::Of(1));
  TestRecord now_null = Sale(1, R"(store: "a")");
  Replace(with_amount, now_null);
  EXPECT_EQ(Value("amounts_by_store", Tuple::Of("a")), Tuple::Of(0));
  EXPECT_EQ(Value("sum_by_store", Tuple::Of("a")), Tuple::Of(0));
  EXPECT_EQ(Value("count_by_store", Tuple::Of("a")), Tuple::Of(1));

  // A null grouping column is a group like any other.
  Insert(Sale(3, "amount: 2"));
  EXPECT_EQ(Value("count_by_store", Tuple::Of(nullptr)), Tuple::Of(1));
  EXPECT_EQ(Value("sum_by_store", Tuple::Of(nullptr)), Tuple::Of(2));
}

TEST_F(AggregateIndexTest, SumAddsNegativesAndSubtractsOnUpdateAndDelete) {
  TestRecord ten = Sale(1, R"(store: "a" amount: 10)");
  TestRecord minus = Sale(2, R"(store: "a" amount: -25)");
  TestRecord seven = Sale(3, R"(store: "a" amount: 7)");
  Insert(ten);
  Insert(minus);
  Insert(seven);
  EXPECT_EQ(Value("sum_by_store", Tuple::Of("a")), Tuple::Of(-8));
  EXPECT_EQ(Value("sum_all", Tuple()), Tuple::Of(-8));
  Delete(minus);
  EXPECT_EQ(Value("sum_by_store", Tuple::Of("a")), Tuple::Of(17));
  TestRecord negative_seven = Sale(3, R"(store: "a" amount: -20)");
  Replace(seven, negative_seven);
  EXPECT_EQ(Value("sum_by_store", Tuple::Of("a")), Tuple::Of(-10));
  EXPECT_EQ(BytesToHex(*RawGet(EntryKey("sum_by_store", Tuple::Of("a")))), "f6ffffffffffffff");
}

TEST_F(AggregateIndexTest, SumReachingZeroClearsItsKey) {
  Insert(Sale(1, R"(store: "z" amount: 5)"));
  ASSERT_TRUE(RawGet(EntryKey("sum_by_store", Tuple::Of("z"))).has_value());
  Insert(Sale(2, R"(store: "z" amount: -5)"));
  EXPECT_EQ(Value("sum_by_store", Tuple::Of("z")), Tuple::Of(0));
  EXPECT_EQ(RawGet(EntryKey("sum_by_store", Tuple::Of("z"))), std::nullopt);
  // The group still has records, which count does not lose.
  EXPECT_EQ(Value("count_by_store", Tuple::Of("z")), Tuple::Of(2));
}

TEST_F(AggregateIndexTest, SumOfUint64AboveInt64MaxWrapsLikeTwosComplement) {
  Insert(Sale(1, "units: 18446744073709551615"));  // 2^64 - 1: adds -1
  Insert(Sale(2, "units: 3"));
  EXPECT_EQ(Value("sum_units", Tuple()), Tuple::Of(2));
}

TEST_F(AggregateIndexTest, MinAndMaxEverHandleNegativesAndIgnoreDeletes) {
  TestRecord three = Sale(1, R"(store: "a" amount: 3)");
  TestRecord minus_seven = Sale(2, R"(store: "a" amount: -7)");
  TestRecord twelve = Sale(3, R"(store: "a" amount: 12)");
  Insert(three);
  Insert(minus_seven);
  Insert(twelve);
  EXPECT_EQ(Value("min_by_store", Tuple::Of("a")), Tuple::Of(-7));
  EXPECT_EQ(Value("max_by_store", Tuple::Of("a")), Tuple::Of(12));

  Delete(minus_seven);
  Delete(twelve);
  EXPECT_EQ(Value("min_by_store", Tuple::Of("a")), Tuple::Of(-7));
  EXPECT_EQ(Value("max_by_store", Tuple::Of("a")), Tuple::Of(12));

  TestRecord hundred = Sale(1, R"(store: "a" amount: 100)");
  Replace(three, hundred);
  EXPECT_EQ(Value("max_by_store", Tuple::Of("a")), Tuple::Of(100));
  TestRecord minus_big = Sale(1, R"(store: "a" amount: -1000000000000)");
  Replace(hundred, minus_big);
  EXPECT_EQ(Value("min_by_store", Tuple::Of("a")), Tuple::Of(int64_t{-1000000000000}));
  EXPECT_EQ(Value("max_by_store", Tuple::Of("a")), Tuple::Of(100));

  // The value is the packed grouped columns.
  EXPECT_EQ(RawGet(EntryKey("max_by_store", Tuple::Of("a"))), Tuple::Of(100).Pack());

  // Never had a record; only records with a null amount.
  EXPECT_EQ(Value("min_by_store", Tuple::Of("never")), Tuple());
  Insert(Sale(9, R"(store: "nulls")"));
  EXPECT_EQ(Value("min_by_store", Tuple::Of("nulls")), Tuple());
  EXPECT_EQ(Value("max_by_store", Tuple::Of("nulls")), Tuple());
}

TEST_F(AggregateIndexTest, MinAndMaxEverCompareStringsAndSeveralColumnsInTupleOrder) {
  Insert(Sale(1, R"(store: "a" item: "pear" amount: 1)"));
  Insert(Sale(2, R"(store: "a" item: "apple" amount: 99)"));
  Insert(Sale(3, R"(store: "a" item: "pear" amount: 3)"));
  Insert(Sale(4, R"(store: "b" item: "banana" amount: -2)"));
  Insert(Sale(5, R"(store: "b" item: "pea" amount: 50)"));  // a prefix of "pear" sorts first
  EXPECT_EQ(Value("min_item", Tuple()), Tuple::Of("apple"));
  EXPECT_EQ(Value("max_item_amount_by_store", Tuple::Of("a")), Tuple::Of("pear", 3));
  EXPECT_EQ(Value("max_item_amount_by_store", Tuple::Of("b")), Tuple::Of("pea", 50));
  // A record missing one of the grouped columns is skipped.
  Insert(Sale(6, R"(store: "b" item: "zucchini")"));
  EXPECT_EQ(Value("max_item_amount_by_store", Tuple::Of("b")), Tuple::Of("pea", 50));
}

TEST_F(AggregateIndexTest, FanOutCountsAndSumsEveryElement) {
  TestRecord tagged = Sale(1, R"(store: "a" tags: "x" tags: "y" tags: "x")");
  Insert(tagged);
  EXPECT_EQ(Value("count_by_tag", Tuple::Of("x")), Tuple::Of(2));
  EXPECT_EQ(Value("count_by_tag", Tuple::Of("y")), Tuple::Of(1));
  TestRecord retagged = Sale(1, R"(store: "a" tags: "y" tags: "z")");
  Replace(tagged, retagged);
  EXPECT_EQ(Value("count_by_tag", Tuple::Of("x")), Tuple::Of(0));
  EXPECT_EQ(Value("count_by_tag", Tuple::Of("y")), Tuple::Of(1));
  EXPECT_EQ(Value("count_by_tag", Tuple::Of("z")), Tuple::Of(1));
  // No tags: the fan-out yields nothing, so the record is in no group.
  Replace(retagged, Sale(1, R"(store: "a")"));
  EXPECT_EQ(Value("count_by_tag", Tuple::Of("y")), Tuple::Of(0));
  EXPECT_EQ(Value("count_by_tag", Tuple::Of("z")), Tuple::Of(0));

  TestRecord quantities = Sale(2, R"(store: "q" quantities: 2 quantities: 3 quantities: -1)");
  Insert(quantities);
  EXPECT_EQ(Value("quantity_by_store", Tuple::Of("q")), Tuple::Of(4));
  EXPECT_EQ(Value("max_quantity_by_store", Tuple::Of("q")), Tuple::Of(3));
  Insert(Sale(3, R"(store: "q" quantities: 10)"));
  Delete(quantities);
  EXPECT_EQ(Value("quantity_by_store", Tuple::Of("q")), Tuple::Of(10));
  EXPECT_EQ(Value("max_quantity_by_store", Tuple::Of("q")), Tuple::Of(10));
}

TEST_F(AggregateIndexTest, EvaluateAggregateRejectsAGroupOfTheWrongSize) {
  StatusOr<Tuple> too_few = Aggregate("count_by_store", Tuple());
  EXPECT_TRUE(HasErrorCode(too_few.status(), ErrorCode::kInvalidArgument)) << too_few.status();
  StatusOr<Tuple> too_many = Aggregate("sum_by_store", Tuple::Of("a", 1));
  EXPECT_TRUE(HasErrorCode(too_many.status(), ErrorCode::kInvalidArgument)) << too_many.status();
  StatusOr<Tuple> ungrouped = Aggregate("count_all", Tuple::Of("a"));
  EXPECT_TRUE(HasErrorCode(ungrouped.status(), ErrorCode::kInvalidArgument)) << ungrouped.status();
  StatusOr<Tuple> min = Aggregate("max_item_amount_by_store", Tuple::Of("a", "pear"));
  EXPECT_TRUE(HasErrorCode(min.status(), ErrorCode::kInvalidArgument)) << min.status();
}

TEST_F(AggregateIndexTest, ScanEntriesIsUnsupported) {
  auto context = NewContext();
  auto scan = Maintainer(*context, "count_by_store")
                  ->ScanEntries(TupleRange::All(), cursor::Continuation::Start(), ScanOptions());
  EXPECT_TRUE(HasErrorCode(scan.status(), ErrorCode::kUnsupported)) << scan.status();
}

TEST_F(AggregateIndexTest, ClearAllRemovesEveryGroup) {
  Insert(Sale(1, R"(store: "a" amount: 1)"));
  Insert(Sale(2, R"(store: "b" amount: 2)"));
  auto context = NewContext();
  Maintainer(*context, "sum_by_store")->ClearAll();
  ASSERT_TRUE(context->Commit().ok());
  EXPECT_EQ(Value("sum_by_store", Tuple::Of("a")), Tuple::Of(0));
  EXPECT_EQ(Value("sum_by_store", Tuple::Of("b")), Tuple::Of(0));
  EXPECT_EQ(Value("count_by_store", Tuple::Of("a")), Tuple::Of(1));
}

// Runs kThreads threads of kTransactionsPerThread transactions each; transaction `id`
// (0, 1, ...) runs `body` and commits with a plain Commit, no retry. Each round, all threads
// take a read version and run their body before any of them commits, so every transaction
// overlaps the others' commits. Returns the errors of the failed transactions.
constexpr int kThreads = 4;
constexpr int kTransactionsPerThread = 50;

template <typename Body>
std::vector<Status> RunOverlappingRounds(kv::Database& db, const Body& body) {
  std::barrier round(kThreads);
  std::vector<std::vector<Status>> errors(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kTransactionsPerThread; ++i) {
        cursor::RecordContext context(db.CreateTransaction());
        Status status = context.txn().GetReadVersion().status();
        if (status.ok()) status = body(context, int64_t{t} * kTransactionsPerThread + i);
        round.arrive_and_wait();
        if (status.ok()) status = context.Commit();
        if (!status.ok()) errors[t].push_back(status);
        round.arrive_and_wait();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<Status> all;
  for (const auto& thread_errors : errors)
    all.insert(all.end(), thread_errors.begin(), thread_errors.end());
  return all;
}

// Writers of one group never conflict: Update reads nothing and writes atomic mutations.
TEST_F(AggregateIndexTest, ConcurrentWritersOfOneGroupAllCommit) {
  std::vector<Status> errors =
      RunOverlappingRounds(*db_, [&](cursor::RecordContext& context, int64_t id) -> Status {
        TestRecord sale =
            Sale(id, "store: \"hot\" amount: " + std::to_string(id % 2 == 0 ? id : -id));
        for (const char* name : {"count_by_store", "sum_by_store", "count_all", "max_by_store"}) {
          Status status = Maintainer(context, name)->Update(nullptr, sale.get());
          if (!status.ok()) return status;
        }
        return Status();
      });
  EXPECT_TRUE(errors.empty()) << errors.size()
                              << " failed, first: " << (errors.empty() ? Status() : errors.front());

  constexpr int kRecords = kThreads * kTransactionsPerThread;
  // Ids 0..199 with odd ones negated: (0 - 1) + (2 - 3) + ... = -100.
  EXPECT_EQ(Value("count_by_store", Tuple::Of("hot")), Tuple::Of(kRecords));
  EXPECT_EQ(Value("count_all", Tuple()), Tuple::Of(kRecords));
  EXPECT_EQ(Value("sum_by_store", Tuple::Of("hot")), Tuple::Of(-100));
  EXPECT_EQ(Value("max_by_store", Tuple::Of("hot")), Tuple::Of(198));
}

// The control for the test above: the same rounds with a read-modify-write counter do
// conflict, so the rounds really overlap.
TEST_F(AggregateIndexTest, ReadModifyWriteCounterConflictsInTheSameRounds) {
  const std::string key = EntryKey("counter", Tuple());
  std::vector<Status> errors =
      RunOverlappingRounds(*db_, [&](cursor::RecordContext& context, int64_t) -> Status {
        StatusOr<std::optional<std::string>> value = context.txn().Get(key);
        if (!value.ok()) return value.status();
        context.txn().Set(key, std::to_string(value->has_value() ? std::stoi(**value) + 1 : 1));
        return Status();
      });
  // One commit per round wins.
  ASSERT_EQ(errors.size(), static_cast<size_t>(kThreads - 1) * kTransactionsPerThread);
  for (const Status& error : errors) {
    EXPECT_TRUE(HasErrorCode(error, ErrorCode::kNotCommitted)) << error;
  }
  EXPECT_EQ(RawGet(key), std::to_string(kTransactionsPerThread));
}

}  // namespace
}  // namespace recordstore::index
