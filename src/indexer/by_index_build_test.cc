// By-index builds (OnlineIndexerOptions::mode): entries equal those of a records scan, a
// resumed build, concurrent writers, refusals, and kAuto's choice.
#include "indexer/by_index_build.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "indexer/index_scrubber.h"
#include "indexer/indexer_test_util.h"
#include "indexer/online_indexer.h"

namespace recordstore::indexer {
namespace {

using index::IndexState;
using store::RecordStore;
using testing_util::InStore;
using testing_util::SaveText;
using testing_util::StoreSpace;

// The shop metadata v3 plus, at version 4, the source index
//   order_by_customer_total  value on (customer_id, total), covering note
// and at version 5 the indexes to build:
//   t_total             value on total                       (covered: a key column)
//   t_total_note        value on total, covering note         (covered: key and value columns)
//   t_customer_order    unique value on (customer_id, order_id)  (order_id: primary key)
//   t_status            value on status                      (not covered)
StatusOr<metadata::RecordMetaData> Metadata(int version) {
  ASSIGN_OR_RETURN(metadata::RecordMetaData v3, testing_util::ShopMetaData(3));
  metadata::proto::RecordMetaData proto = v3.ToProto();
  if (version < 4) return v3;
  proto.set_version(version);
  std::vector<std::string> indexes = {R"(name: "order_by_customer_total" type: "value"
      root { key_with_value { inner { then { children { field { name: "customer_id" } }
                                             children { field { name: "total" } }
                                             children { field { name: "note" } } } }
                              split_point: 2 } }
      record_types: "Order" added_version: 4 last_modified_version: 4)"};
  if (version >= 5) {
    indexes.push_back(R"(name: "t_total" type: "value" root { field { name: "total" } }
        record_types: "Order" added_version: 5 last_modified_version: 5)");
    indexes.push_back(R"(name: "t_total_note" type: "value"
        root { key_with_value { inner { then { children { field { name: "total" } }
                                               children { field { name: "note" } } } }
                                split_point: 1 } }
        record_types: "Order" added_version: 5 last_modified_version: 5)");
    indexes.push_back(R"(name: "t_customer_order" type: "value"
        root { then { children { field { name: "customer_id" } }
                      children { field { name: "order_id" } } } }
        record_types: "Order" options { key: "unique" value: "true" }
        added_version: 5 last_modified_version: 5)");
    indexes.push_back(R"(name: "t_status" type: "value" root { field { name: "status" } }
        record_types: "Order" added_version: 5 last_modified_version: 5)");
  }
  for (const std::string& text : indexes) {
    if (!google::protobuf::TextFormat::ParseFromString(text, proto.add_indexes())) {
      return MakeError(ErrorCode::kInvalidArgument, text);
    }
  }
  return metadata::RecordMetaData::Build(proto);
}

std::string Order(int64_t id, int64_t total) {
  std::string text = testing_util::OrderText(id, total);
  if (id % 3 != 0) text += " note: \"n" + std::to_string(id % 7) + "\"";
  return text;
}

class ByIndexBuildTest : public testing::Test {
 protected:
  ByIndexBuildTest() {
    auto v4 = Metadata(4);
    auto v5 = Metadata(5);
    EXPECT_TRUE(v4.ok() && v5.ok()) << v4.status() << v5.status();
    v4_ = std::make_unique<metadata::RecordMetaData>(*std::move(v4));
    v5_ = std::make_unique<metadata::RecordMetaData>(*std::move(v5));
  }

  // A store with `count` Orders saved under v4 (its source index readable from the start),
  // then opened with v5, leaving the new indexes write-only with nothing built.
  std::unique_ptr<kv::Database> MakeStore(int64_t count) {
    auto db = kv::Database::Open("memory://");
    EXPECT_TRUE(db.ok()) << db.status();
    EXPECT_TRUE(InStore(**db, *v4_, [](RecordStore&) { return absl::OkStatus(); }).ok());
    for (int64_t begin = 0; begin < count; begin += 500) {
      EXPECT_TRUE(InStore(**db, *v4_, [&](RecordStore& store) -> Status {
                    for (int64_t id = begin; id < std::min(count, begin + 500); ++id) {
                      RETURN_IF_ERROR(SaveText(store, "Order", Order(id, (id * 37) % 1000)));
                    }
                    return absl::OkStatus();
                  }).ok());
    }
    EXPECT_TRUE(testing_util::UpgradeLeavingIndexesUnbuilt(**db, *v5_).ok());
    return *std::move(db);
  }

  // Every key and value of the index's entries subspace (2, index).
  std::vector<kv::KeyValue> Entries(kv::Database& db, const std::string& index) {
    std::vector<kv::KeyValue> rows;
    EXPECT_TRUE(InStore(db, *v5_, [&](RecordStore& store) -> Status {
                  rows.clear();
                  auto [begin, end] = store.subspace().Range(Tuple::Of(int64_t{2}, index));
                  kv::RangeReader reader(store.context().txn(), kv::RangeEndpoint::Inclusive(begin),
                                         kv::RangeEndpoint::Exclusive(end));
                  while (true) {
                    ASSIGN_OR_RETURN(const kv::KeyValue* row, reader.Next());
                    if (row == nullptr) break;
                    rows.push_back(*row);
                  }
                  return absl::OkStatus();
                }).ok());
    return rows;
  }

  IndexState State(kv::Database& db, const std::string& index) {
    IndexState state = IndexState::kDisabled;
    EXPECT_TRUE(InStore(db, *v5_, [&](RecordStore& store) {
                  state = store.GetIndexState(index);
                  return absl::OkStatus();
                }).ok());
    return state;
  }

  // The value of (9, index, key), or "" when absent.
  std::string BuildValue(kv::Database& db, const std::string& index, const std::string& key) {
    std::string value = "<absent>";
    EXPECT_TRUE(InStore(db, *v5_, [&](RecordStore& store) -> Status {
                  ASSIGN_OR_RETURN(
                      std::optional<std::string> stored,
                      store.context().txn().Get(store.IndexBuildSpace(index).Pack(Tuple::Of(key))));
                  value = stored.value_or("<absent>");
                  return absl::OkStatus();
                }).ok());
    return value;
  }

  OnlineIndexerOptions ByIndex(std::string source, int64_t batch = 100) {
    OnlineIndexerOptions options;
    options.mode = IndexBuildMode::kByIndex;
    options.source_index = std::move(source);
    options.initial_records_per_transaction = batch;
    options.max_records_per_transaction = batch;
    return options;
  }

  std::unique_ptr<metadata::RecordMetaData> v4_;
  std::unique_ptr<metadata::RecordMetaData> v5_;
};

TEST_F(ByIndexBuildTest, EntriesEqualThoseOfARecordsScan) {
  for (const std::string target : {"t_total", "t_total_note", "t_customer_order"}) {
    SCOPED_TRACE(target);
    auto by_index_db = MakeStore(1000);
    auto records_db = MakeStore(1000);
    OnlineIndexer by_index(*by_index_db, StoreSpace(), *v5_, target,
                           ByIndex("order_by_customer_total"));
    StatusOr<IndexBuildResult> result = by_index.BuildIndex();
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(result->readable);
    EXPECT_EQ(result->source_index, "order_by_customer_total");
    EXPECT_EQ(result->records_scanned, 1000);
    EXPECT_EQ(result->transactions, 10);
    IndexBuildProgress progress = by_index.progress();
    EXPECT_EQ(progress.phase, IndexBuildProgress::Phase::kDone);
    EXPECT_EQ(progress.source_index, "order_by_customer_total");
    EXPECT_EQ(progress.estimated_total, 1000);
    EXPECT_EQ(progress.records_scanned, 1000);

    OnlineIndexer records(*records_db, StoreSpace(), *v5_, target);
    ASSERT_TRUE(records.BuildIndex().ok());

    EXPECT_EQ(State(*by_index_db, target), IndexState::kReadable);
    std::vector<kv::KeyValue> built = Entries(*by_index_db, target);
    EXPECT_EQ(built.size(), 1000u);
    EXPECT_EQ(built, Entries(*records_db, target));
    // The by-index keys are gone with the rest of the build data.
    EXPECT_EQ(BuildValue(*by_index_db, target, "by_index"), "<absent>");
    EXPECT_EQ(BuildValue(*by_index_db, target, "by_index_position"), "<absent>");
  }
}

struct Stop {};

TEST_F(ByIndexBuildTest, ResumesFromTheLastSourceEntry) {
  auto db = MakeStore(1000);
  OnlineIndexerOptions options = ByIndex("order_by_customer_total");
  // Throttled, with a sleep that abandons the builder after its first batch.
  options.max_records_per_second = 1;
  options.sleep = [](std::chrono::nanoseconds) { throw Stop(); };
  {
    OnlineIndexer first(*db, StoreSpace(), *v5_, "t_total_note", options);
    EXPECT_THROW((void)first.BuildIndex(), Stop);
  }
  EXPECT_EQ(State(*db, "t_total_note"), IndexState::kWriteOnly);
  EXPECT_EQ(Entries(*db, "t_total_note").size(), 100u);
  EXPECT_EQ(BuildValue(*db, "t_total_note", "by_index"), "order_by_customer_total");
  EXPECT_NE(BuildValue(*db, "t_total_note", "by_index_position"), "<absent>");

  OnlineIndexer second(*db, StoreSpace(), *v5_, "t_total_note", ByIndex("order_by_customer_total"));
  StatusOr<IndexBuildResult> result = second.BuildIndex();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->readable);
  EXPECT_EQ(result->records_scanned, 900);
  EXPECT_EQ(second.progress().estimated_total, 900);

  auto records_db = MakeStore(1000);
  ASSERT_TRUE(OnlineIndexer(*records_db, StoreSpace(), *v5_, "t_total_note").BuildIndex().ok());
  EXPECT_EQ(Entries(*db, "t_total_note"), Entries(*records_db, "t_total_note"));
}

TEST_F(ByIndexBuildTest, ConcurrentWritersLeaveNoDifferences) {
  auto db = MakeStore(3000);
  std::atomic<bool> done{false};
  std::atomic<int64_t> writes{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      std::mt19937 random(w + 1);
      while (!done.load()) {
        const int64_t id = static_cast<int64_t>(random() % 3500);
        const int action = static_cast<int>(random() % 4);
        Status status = InStore(*db, *v5_, [&](RecordStore& store) -> Status {
          const std::string text = Order(id, static_cast<int64_t>(random() % 50));
          if (action == 0) {
            const metadata::RecordType* type = store.metadata().FindRecordType("Order");
            std::unique_ptr<google::protobuf::Message> order = store.metadata().NewRecord(*type);
            google::protobuf::TextFormat::ParseFromString(text, order.get());
            ASSIGN_OR_RETURN(std::vector<Tuple> keys,
                             type->primary_key().Evaluate(*order, type->Context()));
            return store.DeleteRecord(keys.front()).status();
          }
          // Inserts (ids past 3000) and updates of total (other source entry, other target
          // entries for t_total_note, the same for t_customer_order).
          return SaveText(store, "Order", text);
        });
        EXPECT_TRUE(status.ok()) << status;
        ++writes;
      }
    });
  }
  for (const std::string target : {"t_total_note", "t_customer_order"}) {
    OnlineIndexer indexer(*db, StoreSpace(), *v5_, target, ByIndex("order_by_customer_total", 50));
    StatusOr<IndexBuildResult> result = indexer.BuildIndex();
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(result->readable);
  }
  done = true;
  for (std::thread& writer : writers) writer.join();
  EXPECT_GT(writes.load(), 0);
  for (const std::string target : {"t_total_note", "t_customer_order"}) {
    StatusOr<ScrubReport> report = ScrubIndex(*db, StoreSpace(), *v5_, target);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->missing.size(), 0u) << target;
    EXPECT_EQ(report->dangling.size(), 0u) << target;
    EXPECT_GT(report->records_scanned, 2000);
  }
}

TEST_F(ByIndexBuildTest, RefusesASourceThatDoesNotCoverAColumn) {
  auto db = MakeStore(10);
  OnlineIndexer indexer(*db, StoreSpace(), *v5_, "t_status", ByIndex("order_by_customer_total"));
  StatusOr<IndexBuildResult> result = indexer.BuildIndex();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(),
            "invalid_argument (8001): index order_by_customer_total cannot build index "
            "t_status: it does not hold column `status`");
  EXPECT_EQ(indexer.progress().phase, IndexBuildProgress::Phase::kFailed);
  // Nothing recorded: writers still go by the (empty) range set.
  EXPECT_EQ(BuildValue(*db, "t_status", "by_index"), "<absent>");

  // Fan-outs: a source that fans out over line_items misses orders without any.
  StatusOr<ByIndexBuildPlan> plan = ByIndexBuildPlan::Make(*v5_, "t_total", "order_by_sku");
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().message(),
            "invalid_argument (8001): index order_by_sku cannot build index t_total: it does "
            "not hold column `total`");
  plan = ByIndexBuildPlan::Make(*v5_, "t_total", "revenue_by_customer");
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().message(),
            "invalid_argument (8001): index revenue_by_customer cannot build index t_total: "
            "index revenue_by_customer is a sum index, not a value index");
}

TEST_F(ByIndexBuildTest, AutoPicksACoveringSourceOrScansRecords) {
  auto db = MakeStore(500);
  OnlineIndexerOptions options;
  options.mode = IndexBuildMode::kAuto;
  StatusOr<IndexBuildResult> covered =
      OnlineIndexer(*db, StoreSpace(), *v5_, "t_total", options).BuildIndex();
  ASSERT_TRUE(covered.ok()) << covered.status();
  EXPECT_EQ(covered->source_index, "order_by_customer_total");
  EXPECT_TRUE(covered->readable);
  StatusOr<IndexBuildResult> scanned =
      OnlineIndexer(*db, StoreSpace(), *v5_, "t_status", options).BuildIndex();
  ASSERT_TRUE(scanned.ok()) << scanned.status();
  EXPECT_EQ(scanned->source_index, "");
  EXPECT_TRUE(scanned->readable);
  EXPECT_EQ(scanned->records_scanned, 500);
  for (const std::string target : {"t_total", "t_status"}) {
    StatusOr<ScrubReport> report = ScrubIndex(*db, StoreSpace(), *v5_, target);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->missing.size() + report->dangling.size(), 0u) << target;
  }
}

}  // namespace
}  // namespace recordstore::indexer
