#include "query/planner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "google/protobuf/text_format.h"
#include "metadata/metadata_test_util.h"
#include "recordstore/kv.h"

namespace recordstore::query {
namespace {

using cursor::Continuation;
using cursor::CursorResult;
using cursor::RecordContext;
using metadata::ParseText;
using metadata::RecordMetaData;
using store::RecordStore;
using store::StoredRecord;
namespace key = metadata::key;

const Subspace kStore(Tuple::Of("q"));

// The shop plus the indexes the plan tests need.
metadata::proto::RecordMetaData QueryShop() {
  metadata::proto::RecordMetaData proto = metadata::ShopProto();
  for (std::string_view text : {
           R"pb(name: "order_by_customer_total" type: "value"
                root { then { children { field { name: "customer_id" } }
                              children { field { name: "total" } } } }
                record_types: "Order" added_version: 3 last_modified_version: 3)pb",
           R"pb(name: "order_by_total" type: "value" root { field { name: "total" } }
                record_types: "Order" added_version: 3 last_modified_version: 3)pb",
           R"pb(name: "order_by_status" type: "value" root { field { name: "status" } }
                record_types: "Order" added_version: 3 last_modified_version: 3)pb",
           R"pb(name: "customer_by_city" type: "value"
                root { nest { parent { name: "address" } child { field { name: "city" } } } }
                record_types: "Customer" added_version: 3 last_modified_version: 3)pb",
       }) {
    *proto.add_indexes() = ParseText<metadata::proto::Index>(text);
  }
  return proto;
}

class PlannerTest : public testing::Test {
 protected:
  PlannerTest() : metadata_(metadata::BuildOrDie(QueryShop())) {
    auto db = kv::Database::Open("memory://");
    EXPECT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    context_ = std::make_unique<RecordContext>(db_->CreateTransaction());
    auto store = RecordStore::Open(*context_, kStore, metadata_);
    EXPECT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  static RecordQuery Query(std::string type, ComponentPtr filter = nullptr) {
    RecordQuery query;
    query.record_types = {std::move(type)};
    query.filter = std::move(filter);
    return query;
  }

  std::string Explain(const RecordQuery& query, const ExecuteProperties& properties = {}) {
    StatusOr<PlanPtr> plan = PlanQuery(*store_, query, properties);
    if (!plan.ok()) return std::string(plan.status().message());
    return (*plan)->Explain();
  }

  RecordMetaData metadata_;
  std::unique_ptr<kv::Database> db_;
  std::unique_ptr<RecordContext> context_;
  std::unique_ptr<RecordStore> store_;
};

TEST_F(PlannerTest, EqualityOnThePrimaryKeyPrefixScansRecords) {
  EXPECT_EQ(Explain(Query("Order", Field("customer_id").Equals(5))), "Scan [(2, 5)]\n");
  EXPECT_EQ(Explain(Query("Order")), "Scan [(2)]\n");
  // Every type: a full scan, no type filter.
  RecordQuery all;
  EXPECT_EQ(Explain(all), "Scan (-inf, +inf)\n");
}

TEST_F(PlannerTest, EqualityAndRangeUseTheLongestIndexPrefix) {
  EXPECT_EQ(Explain(Query("Order", And(Field("customer_id").Equals(5),
                                       Field("total").GreaterThan(100)))),
            "IndexScan order_by_customer_total ((5, 100), (5)]\n");
  EXPECT_EQ(Explain(Query("Order", And(Field("total").GreaterThanOrEquals(10),
                                       Field("total").LessThan(20)))),
            "IndexScan order_by_total [(10), (20))\n");
  // A range alone excludes nulls: they sort first.
  EXPECT_EQ(Explain(Query("Order", Field("total").LessThanOrEquals(7))),
            "IndexScan order_by_total ((null), (7)]\n");
  EXPECT_EQ(Explain(Query("Customer", Nested("address", Field("city").StartsWith("Pa")))),
            "IndexScan customer_by_city [(\"Pa\"), (\"Pa\\xff\"))\n");
}

TEST_F(PlannerTest, ResidualFiltersAndTypeFilters) {
  EXPECT_EQ(Explain(Query("Order", And(Field("customer_id").Equals(5), Field("note").IsNull()))),
            "Filter note IS NULL\n  Scan [(2, 5)]\n");
  EXPECT_EQ(Explain(Query("Order", And(Field("total").GreaterThan(1),
                                       Not(Field("status").Equals(2))))),
            "Filter NOT status = 2\n  IndexScan order_by_total ((1), +inf)\n");
  // records_by_type is a count index; no value index covers Customer and Order together.
  RecordQuery two;
  two.record_types = {"Customer", "Order"};
  EXPECT_EQ(Explain(two), "TypeFilter Customer, Order\n  Scan (-inf, +inf)\n");
}

TEST_F(PlannerTest, SortsComeFromIndexOrderOrAreRefused) {
  RecordQuery by_total = Query("Order", Field("total").GreaterThan(100));
  by_total.sort = key::Field("total");
  by_total.sort_descending = true;
  EXPECT_EQ(Explain(by_total), "IndexScan order_by_total ((100), +inf) reverse\n");

  RecordQuery by_customer = Query("Order", Field("customer_id").Equals(5));
  by_customer.sort = key::Field("total");
  EXPECT_EQ(Explain(by_customer), "IndexScan order_by_customer_total [(5)]\n");

  RecordQuery by_note = Query("Order");
  by_note.sort = key::Field("note");
  EXPECT_EQ(Explain(by_note),
            "missing_index (8015): no index provides ORDER BY note for Order with this filter; "
            "add a value index on note (after the columns the filter fixes by equality), or "
            "allow an in-memory sort with a row limit");
  ExecuteProperties bounded;
  bounded.allow_in_memory_sort = true;
  bounded.row_limit = 10;
  EXPECT_EQ(Explain(by_note, bounded), "Sort note in memory, top 10\n  Scan [(2)]\n");
}

TEST_F(PlannerTest, OrBecomesAUnionAndAndAnIntersection) {
  EXPECT_EQ(Explain(Query("Order", Or(Field("customer_id").Equals(5),
                                      Field("line_items").OneOfThemMatches(
                                          Field("sku").Equals("pot"))))),
            "Union by primary key\n  Scan [(2, 5)]\n  IndexScan order_by_sku [(\"pot\")]\n");
  // A branch no index narrows: one filtered scan instead.
  EXPECT_EQ(Explain(Query("Order", Or(Field("customer_id").Equals(5), Field("note").IsNull()))),
            "Filter (customer_id = 5 OR note IS NULL)\n  Scan [(2)]\n");
  EXPECT_EQ(Explain(Query("Order", And(Field("status").Equals(1),
                                       Field("line_items").OneOfThemMatches(
                                           Field("sku").Equals("pot"))))),
            "Intersection by primary key\n  IndexScan order_by_sku [(\"pot\")]\n"
            "  IndexScan order_by_status [(1)]\n");
}

TEST_F(PlannerTest, InListsJoinOneScanPerValue) {
  EXPECT_EQ(Explain(Query("Order", Field("status").In({2, 1, 2}))),
            "InJoin status IN (1, 2)\n  IndexScan order_by_status [(1)]\n");
  RecordQuery sorted = Query("Order", Field("customer_id").In({7, 5}));
  sorted.sort = key::Field("total");
  EXPECT_EQ(Explain(sorted),
            "InJoin customer_id IN (5, 7)\n  IndexScan order_by_customer_total [(5)]\n");
}

TEST_F(PlannerTest, CoveringScansSkipTheFetch) {
  RecordQuery query = Query("Order", And(Field("customer_id").Equals(5),
                                         Field("total").GreaterThan(10)));
  query.required_fields = {"total", "order_id"};
  EXPECT_EQ(Explain(query),
            "Covering Order (order_id, total)\n"
            "  IndexScan order_by_customer_total ((5, 10), (5)]\n");
  query.required_fields = {"total", "note"};
  EXPECT_EQ(Explain(query), "IndexScan order_by_customer_total ((5, 10), (5)]\n");
}

TEST_F(PlannerTest, TypeErrorsAreRefusedBeforeRunning) {
  EXPECT_EQ(Explain(Query("Order", Field("total").Equals("abc"))),
            "invalid_argument (8001): field Order.total holds integer values; it cannot be "
            "compared with \"abc\"");
  EXPECT_EQ(Explain(Query("Order", Field("nope").Equals(1))),
            "invalid_argument (8001): field Order.nope does not exist");
  EXPECT_EQ(Explain(Query("Order", Field("line_items").Equals(1))),
            "invalid_argument (8001): field Order.line_items is repeated; compare its elements "
            "with ANY(line_items)");
  EXPECT_EQ(Explain(Query("Order", Field("status").Equals("ORDER_STATUS_NOPE"))),
            "invalid_argument (8001): field Order.status is an enum OrderStatus, which has no "
            "value \"ORDER_STATUS_NOPE\"");
  EXPECT_EQ(Explain(Query("Nope")), "invalid_argument (8001): no record type Nope");
  // Enum names and integer constants for doubles are converted.
  EXPECT_EQ(Explain(Query("Order", Field("status").Equals("ORDER_STATUS_SHIPPED"))),
            "IndexScan order_by_status [(2)]\n");
}

// Random shop data and random queries: every plan's results, fetched page by page under small
// limits in new transactions, equal the filter evaluated on every record.
class PlannerDifferentialTest : public PlannerTest {
 protected:
  void Populate(std::mt19937_64& random) {
    const char* skus[] = {"pot", "pan", "cup", "mug"};
    const char* cities[] = {"Paris", "Lyon", "Pau"};
    for (int id = 1; id <= 120; ++id) {
      auto order = metadata_.NewRecord(*metadata_.FindRecordType("Order"));
      std::string text = "order_id: " + std::to_string(id) +
                         " customer_id: " + std::to_string(random() % 6) +
                         " total: " + std::to_string(static_cast<int64_t>(random() % 300) - 50) +
                         " status: " + std::to_string(random() % 3);
      if (random() % 3 == 0) text += " note: \"n" + std::to_string(random() % 4) + "\"";
      for (uint64_t i = random() % 4; i > 0; --i) {
        text += " line_items { sku: \"" + std::string(skus[random() % 4]) + "\" quantity: " +
                std::to_string(random() % 3) + " }";
      }
      if (random() % 2 == 0) {
        text += " shipping { city: \"" + std::string(cities[random() % 3]) + "\" }";
      }
      ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, order.get()));
      ASSERT_TRUE(store_->SaveRecord(*order).ok());
    }
    ASSERT_TRUE(context_->Commit().ok());
  }

  static ComponentPtr RandomAtom(std::mt19937_64& random) {
    switch (random() % 11) {
      case 0:
        return Field("customer_id").Equals(static_cast<int64_t>(random() % 6));
      case 1:
        return Field("customer_id").In({static_cast<int64_t>(random() % 6),
                                        static_cast<int64_t>(random() % 6)});
      case 2:
        return Field("total").GreaterThan(static_cast<int64_t>(random() % 300) - 50);
      case 3:
        return Field("total").LessThanOrEquals(static_cast<int64_t>(random() % 300) - 50);
      case 4:
        return Field("status").Equals(static_cast<int64_t>(random() % 3));
      case 5:
        return Field("status").In({static_cast<int64_t>(random() % 3), 2});
      case 6:
        return random() % 2 ? Field("note").IsNull() : Field("note").NotNull();
      case 7:
        return Field("note").StartsWith(random() % 2 ? "n" : "n1");
      case 8:
        return Field("line_items").OneOfThemMatches(
            Field("sku").Equals(random() % 2 ? "pot" : "mug"));
      case 9:
        return Nested("shipping", Field("city").Equals(random() % 2 ? "Paris" : "Pau"));
      default:
        return Not(Field("status").NotEquals(static_cast<int64_t>(random() % 3)));
    }
  }

  static ComponentPtr RandomFilter(std::mt19937_64& random) {
    switch (random() % 5) {
      case 0:
        return RandomAtom(random);
      case 1:
      case 2:
        return And(RandomAtom(random), RandomAtom(random));
      case 3:
        return Or(RandomAtom(random), RandomAtom(random));
      default:
        return And(RandomAtom(random), Or(RandomAtom(random), RandomAtom(random)));
    }
  }
};

TEST_F(PlannerDifferentialTest, PlansReturnExactlyTheMatchingRecords) {
  const uint64_t seed = testing::UnitTest::GetInstance()->random_seed();
  std::mt19937_64 random(seed);
  Populate(random);
  // Every record, for the expected answers.
  std::vector<StoredRecord> all;
  {
    RecordContext context(db_->CreateTransaction());
    auto store = RecordStore::Open(context, kStore, metadata_);
    ASSERT_TRUE(store.ok());
    auto scan = (*store)->ScanRecords(index::TupleRange::Prefix(Tuple::Of(2)), Continuation::Start());
    ASSERT_TRUE(scan.ok());
    while (true) {
      auto result = (*scan)->Next();
      ASSERT_TRUE(result.ok());
      if (!result->has_value()) break;
      all.push_back(result->TakeValue());
    }
  }
  ASSERT_EQ(all.size(), 120u);
  int planned = 0;
  int refused = 0;
  for (int round = 0; round < 2000; ++round) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " round " + std::to_string(round));
    RecordQuery query = Query("Order", RandomFilter(random));
    switch (random() % 5) {
      case 0:
        query.sort = key::Field("total");
        break;
      case 1:
        query.sort = key::Field("total");
        query.sort_descending = true;
        break;
      case 2:
        // No index has notes: refused, then sorted in memory.
        query.sort = key::Field("note");
        query.sort_descending = random() % 2;
        break;
      default:
        break;
    }
    ExecuteProperties properties;
    if (random() % 2) {
      properties.scan_limits.max_records = 1 + static_cast<int64_t>(random() % 5);
    }
    if (random() % 3 == 0) properties.skip = static_cast<int64_t>(random() % 3);
    StatusOr<PlanPtr> plan = PlanQuery(*store_, query, properties);
    if (!plan.ok()) {
      ASSERT_NE(plan.status().message().find("no index provides ORDER BY"), std::string::npos)
          << plan.status() << " for " << query.ToString();
      ++refused;
      // A bounded in-memory sort reads everything in one go: no scan limit.
      properties.allow_in_memory_sort = true;
      properties.row_limit = 1000;
      properties.scan_limits = {};
      plan = PlanQuery(*store_, query, properties);
      ASSERT_TRUE(plan.ok()) << plan.status();
    }
    ++planned;
    SCOPED_TRACE(query.ToString() + "\n" + (*plan)->Explain());
    // Expected: the filter on every record, ordered like the plan promises.
    ComponentPtr bound = *query.filter->Bind(metadata_.FindRecordType("Order")->descriptor());
    std::vector<const StoredRecord*> expected;
    for (const StoredRecord& record : all) {
      if (bound->Evaluate(record.message.get()) == true) expected.push_back(&record);
    }
    if (query.sort != nullptr) {
      std::stable_sort(expected.begin(), expected.end(),
                       [&](const StoredRecord* a, const StoredRecord* b) {
                         auto order = CompareRecordsBy(*query.sort, *a, *b);
                         return query.sort_descending ? std::is_gt(order) : std::is_lt(order);
                       });
    }
    // Pages, each in a new transaction, resumed from the continuation's bytes.
    std::vector<Tuple> got;
    std::vector<Tuple> got_sort_keys;
    auto sort_key = [&](const StoredRecord& record) {
      if (query.sort == nullptr) return Tuple();
      return (*query.sort->Evaluate(*record.message))[0];
    };
    std::string continuation_bytes;
    for (int page = 0;; ++page) {
      ASSERT_LT(page, 1000);
      RecordContext context(db_->CreateTransaction());
      auto store = RecordStore::Open(context, kStore, metadata_);
      ASSERT_TRUE(store.ok());
      auto continuation = Continuation::FromBytes(continuation_bytes);
      ASSERT_TRUE(continuation.ok());
      auto cursor = ExecuteQuery(**store, **plan, *continuation, properties);
      ASSERT_TRUE(cursor.ok()) << cursor.status();
      bool done = false;
      while (true) {
        auto result = (*cursor)->Next();
        ASSERT_TRUE(result.ok()) << result.status();
        continuation_bytes = result->continuation().ToBytes();
        if (!result->has_value()) {
          done = result->continuation().is_end();
          break;
        }
        got.push_back(result->value().primary_key);
        got_sort_keys.push_back(sort_key(result->value()));
      }
      if (done) break;
    }
    size_t skip = std::min<size_t>(properties.skip, expected.size());
    if (query.sort != nullptr) {
      // Sorted: the same sequence of sort keys (ties may come in any order).
      std::vector<Tuple> want_sort_keys;
      for (size_t i = skip; i < expected.size(); ++i) {
        want_sort_keys.push_back(sort_key(*expected[i]));
      }
      ASSERT_EQ(got_sort_keys, want_sort_keys);
    }
    std::vector<Tuple> want;
    for (const StoredRecord* record : expected) want.push_back(record->primary_key);
    if (query.sort == nullptr && skip == 0) {
      std::sort(got.begin(), got.end());
      ASSERT_EQ(got, want);
    } else {
      // With skip, which records are skipped depends on the plan's order.
      ASSERT_EQ(got.size(), want.size() - skip);
      std::set<Tuple> wanted(want.begin(), want.end());
      std::set<Tuple> got_set(got.begin(), got.end());
      ASSERT_EQ(got_set.size(), got.size()) << "duplicates";
      for (const Tuple& pk : got) ASSERT_TRUE(wanted.contains(pk)) << pk.ToString();
    }
  }
  // Some sorts had no index and went to memory.
  EXPECT_EQ(planned, 2000);
  EXPECT_GT(refused, 0);
}

// Index scans build each result's continuation only when it is asked for (cursor.h,
// DeferredContinuation), through the fetch and covering cursors above them. Asked for after
// the cursor, its batches and its transaction are gone, it is the one asked for at once and
// resumes right after its record.
TEST_F(PlannerTest, KeptResultsKeepTheirContinuations) {
  // More entries than the first batch of a scan holds (64), so that kept results span batches.
  for (int id = 1; id <= 150; ++id) {
    std::string text = "order_id: " + std::to_string(id) +
                       " customer_id: 5 total: " + std::to_string(id % 40);
    ASSERT_TRUE(store_->SaveRecord(*metadata::MakeRecord(metadata_, "Order", text)).ok());
  }
  ASSERT_TRUE(context_->Commit().ok());
  for (bool covering : {false, true}) {
    SCOPED_TRACE(covering ? "covering" : "fetch");
    RecordQuery query =
        Query("Order", And(Field("customer_id").Equals(5), Field("total").GreaterThan(3)));
    if (covering) query.required_fields = {"total", "order_id"};
    StatusOr<PlanPtr> plan = PlanQuery(*store_, query);
    ASSERT_TRUE(plan.ok()) << plan.status();
    ASSERT_NE((*plan)->Explain().find(covering ? "Covering" : "IndexScan"), std::string::npos)
        << (*plan)->Explain();
    // Runs the plan from `continuation` in a new transaction: the primary keys it returns.
    auto run = [&](const Continuation& continuation) {
      std::vector<Tuple> keys;
      RecordContext context(db_->CreateTransaction());
      auto store = RecordStore::Open(context, kStore, metadata_);
      EXPECT_TRUE(store.ok()) << store.status();
      auto cursor = ExecuteQuery(**store, **plan, continuation);
      EXPECT_TRUE(cursor.ok()) << cursor.status();
      while (cursor.ok()) {
        auto result = (*cursor)->Next();
        EXPECT_TRUE(result.ok()) << result.status();
        if (!result.ok() || !result->has_value()) break;
        keys.push_back(result->value().primary_key);
      }
      return keys;
    };
    std::vector<CursorResult<StoredRecord>> kept;
    std::vector<Continuation> at_once;
    std::vector<Tuple> keys;
    {
      RecordContext context(db_->CreateTransaction());
      auto store = RecordStore::Open(context, kStore, metadata_);
      ASSERT_TRUE(store.ok()) << store.status();
      auto cursor = ExecuteQuery(**store, **plan, Continuation::Start());
      ASSERT_TRUE(cursor.ok()) << cursor.status();
      while (true) {
        auto result = (*cursor)->Next();
        ASSERT_TRUE(result.ok()) << result.status();
        if (!result->has_value()) break;
        at_once.push_back(result->continuation());
        keys.push_back(result->value().primary_key);
        kept.push_back(*std::move(result));
      }
    }
    ASSERT_EQ(kept.size(), 135u);
    for (size_t i = 0; i < kept.size(); ++i) {
      Continuation later = kept[i].continuation();
      ASSERT_EQ(later, at_once[i]) << i;
      auto parsed = Continuation::FromBytes(later.ToBytes());
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      std::vector<Tuple> rest = run(*parsed);
      ASSERT_EQ(rest, std::vector<Tuple>(keys.begin() + static_cast<ptrdiff_t>(i) + 1, keys.end()))
          << i;
    }
  }
}

TEST_F(PlannerTest, AggregatesComeFromAggregateAndValueIndexes) {
  for (std::string_view text : {
           R"pb(order_id: 1 customer_id: 5 total: 30)pb",
           R"pb(order_id: 2 customer_id: 5 total: 12)pb",
           R"pb(order_id: 3 customer_id: 6 total: 7)pb",
       }) {
    ASSERT_TRUE(store_->SaveRecord(*metadata::MakeRecord(metadata_, "Order", text)).ok());
  }
  auto aggregate = [&](AggregateFunction function, std::string field,
                       ComponentPtr filter) -> std::string {
    RecordQuery query = Query("Order", std::move(filter));
    query.aggregate = Aggregate{function, std::move(field)};
    StatusOr<TupleElement> value = EvaluateAggregateQuery(*store_, query);
    return value.ok() ? value->ToString() : std::string(value.status().message());
  };
  EXPECT_EQ(aggregate(AggregateFunction::kCount, "", nullptr), "3");
  EXPECT_EQ(aggregate(AggregateFunction::kSum, "total", Field("customer_id").Equals(5)), "42");
  EXPECT_EQ(aggregate(AggregateFunction::kMin, "total", nullptr), "7");
  EXPECT_EQ(aggregate(AggregateFunction::kMax, "total", Field("customer_id").Equals(5)), "30");
  EXPECT_EQ(aggregate(AggregateFunction::kMax, "total", Field("customer_id").Equals(9)), "null");
  EXPECT_EQ(aggregate(AggregateFunction::kCount, "", Field("customer_id").Equals(5)),
            "missing_index (8015): no readable index answers COUNT(*) of Order where "
            "customer_id = 5; add a count index grouped by the fields the filter fixes by "
            "equality");
}

}  // namespace
}  // namespace recordstore::query
