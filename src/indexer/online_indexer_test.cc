#include "indexer/online_indexer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "indexer/index_scrubber.h"
#include "indexer/indexer_test_util.h"

namespace recordstore::indexer {
namespace {

using index::IndexState;
using store::RecordStore;
using testing_util::InStore;
using testing_util::OrderText;
using testing_util::SaveOrders;
using testing_util::SaveText;
using testing_util::StoreSpace;
using testing_util::UpgradeLeavingIndexesUnbuilt;

class OnlineIndexerTest : public testing::Test {
 protected:
  OnlineIndexerTest() {
    auto db = kv::Database::Open("memory://");
    EXPECT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    auto v3 = testing_util::ShopMetaData(3);
    auto v4 = testing_util::ShopMetaData(4);
    EXPECT_TRUE(v3.ok() && v4.ok()) << v3.status() << v4.status();
    v3_ = std::make_unique<metadata::RecordMetaData>(*std::move(v3));
    v4_ = std::make_unique<metadata::RecordMetaData>(*std::move(v4));
  }

  void Run(const std::function<Status(RecordStore&)>& body,
           const metadata::RecordMetaData* metadata = nullptr) {
    ASSERT_TRUE(InStore(*db_, metadata ? *metadata : *v4_, body).ok());
  }

  // The aggregate of `group` of a readable aggregate index, or the error.
  std::string Aggregate(std::string_view index, int64_t group) {
    std::string out;
    Run([&](RecordStore& store) {
      StatusOr<Tuple> value = store.EvaluateAggregate(index, Tuple::Of(group));
      out = value.ok() ? value->ToString() : std::string(value.status().message());
      return absl::OkStatus();
    });
    return out;
  }

  IndexState State(std::string_view index) {
    IndexState state = IndexState::kDisabled;
    Run([&](RecordStore& store) {
      state = store.GetIndexState(index);
      return absl::OkStatus();
    });
    return state;
  }

  // "name state records_built built_ranges fully_built" for each index.
  std::vector<std::string> Listing() {
    std::vector<std::string> lines;
    Run([&](RecordStore& store) -> Status {
      ASSIGN_OR_RETURN(std::vector<IndexStatus> statuses, ListIndexes(store));
      for (const IndexStatus& s : statuses) {
        lines.push_back(s.name + " " + std::string(index::IndexStateName(s.state)) + " " +
                        std::to_string(s.records_built) + " " + std::to_string(s.built_ranges) +
                        (s.fully_built ? " built" : " unbuilt"));
      }
      return absl::OkStatus();
    });
    return lines;
  }

  std::unique_ptr<kv::Database> db_;
  std::unique_ptr<metadata::RecordMetaData> v3_;
  std::unique_ptr<metadata::RecordMetaData> v4_;
};

using Strings = std::vector<std::string>;

TEST_F(OnlineIndexerTest, BuildsAWriteOnlyIndexInBatchesAndMarksItReadable) {
  ASSERT_TRUE(SaveOrders(*db_, *v3_, 0, 1000).ok());
  Run(
      [](RecordStore& store) {
        return SaveText(store, "Customer", "customer_id: 5 name: \"Ada\"");
      },
      v3_.get());
  ASSERT_TRUE(UpgradeLeavingIndexesUnbuilt(*db_, *v4_).ok());
  EXPECT_EQ(
      Listing(),
      (Strings{"customer_by_email readable 0 0 built", "order_by_sku readable 0 0 built",
               "product_by_tag readable 0 0 built", "revenue_by_customer readable 0 0 built",
               "records_by_type readable 0 0 built", "customer_by_name write_only 0 0 unbuilt",
               "orders_per_customer write_only 0 0 unbuilt",
               "order_by_total write_only 0 0 unbuilt",
               "total_by_customer write_only 0 0 unbuilt"}));

  OnlineIndexerOptions options;
  options.initial_records_per_transaction = 100;
  options.max_records_per_transaction = 100;
  OnlineIndexer indexer(*db_, StoreSpace(), *v4_, "orders_per_customer", options);
  StatusOr<IndexBuildResult> result = indexer.BuildIndex();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->readable);
  EXPECT_EQ(result->records_scanned, 1001);
  EXPECT_EQ(result->transactions, 11);
  EXPECT_EQ(result->violations.size(), 0u);
  IndexBuildProgress progress = indexer.progress();
  EXPECT_EQ(progress.phase, IndexBuildProgress::Phase::kDone);
  EXPECT_EQ(progress.records_scanned, 1001);
  EXPECT_EQ(progress.estimated_total, 1001);
  EXPECT_EQ(progress.transactions_committed, 11);
  EXPECT_EQ(progress.transactions_retried, 0);
  EXPECT_EQ(progress.eta_seconds, 0);

  EXPECT_EQ(State("orders_per_customer"), IndexState::kReadable);
  EXPECT_EQ(Aggregate("orders_per_customer", 7), "(10)");
  EXPECT_EQ(Aggregate("total_by_customer", 7),
            "index_not_readable (8013): index total_by_customer is write_only, not readable");
  // Readable again: the built ranges and the bookkeeping are gone.
  EXPECT_EQ(Listing()[6], "orders_per_customer readable 0 0 built");
}

TEST_F(OnlineIndexerTest, AWriterRacingTheBuildConflictsInsteadOfCountingTwice) {
  ASSERT_TRUE(SaveOrders(*db_, *v3_, 0, 50).ok());
  ASSERT_TRUE(UpgradeLeavingIndexesUnbuilt(*db_, *v4_).ok());
  // The writer saves an order where nothing is built yet: it leaves the index to the builder.
  cursor::RecordContext writer(db_->CreateTransaction());
  auto store = RecordStore::Open(writer, StoreSpace(), *v4_);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(SaveText(**store, "Order", OrderText(1000, 3)).ok());

  OnlineIndexer indexer(*db_, StoreSpace(), *v4_, "orders_per_customer");
  ASSERT_TRUE(indexer.BuildIndex().ok());
  EXPECT_EQ(Aggregate("orders_per_customer", 0), "(1)");
  // The build marked the writer's key built after the writer looked: one of them must fail.
  EXPECT_TRUE(HasErrorCode(writer.Commit(), ErrorCode::kNotCommitted));
  Run([](RecordStore& store) { return SaveText(store, "Order", OrderText(1000, 3)); });
  EXPECT_EQ(Aggregate("orders_per_customer", 0), "(2)");
}

TEST_F(OnlineIndexerTest, AUniqueIndexWithDuplicatesStaysWriteOnlyAndNamesThem) {
  auto unique = testing_util::ShopMetaData(4, /*unique_names=*/true);
  ASSERT_TRUE(unique.ok()) << unique.status();
  Run(
      [](RecordStore& store) -> Status {
        RETURN_IF_ERROR(SaveText(store, "Customer", "customer_id: 5 name: \"Ada\""));
        RETURN_IF_ERROR(SaveText(store, "Customer", "customer_id: 6 name: \"Bob\""));
        return SaveText(store, "Customer", "customer_id: 7 name: \"Ada\"");
      },
      v3_.get());
  ASSERT_TRUE(UpgradeLeavingIndexesUnbuilt(*db_, *unique).ok());
  OnlineIndexer indexer(*db_, StoreSpace(), *unique, "customer_by_name");
  StatusOr<IndexBuildResult> result = indexer.BuildIndex();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->readable);
  ASSERT_EQ(result->violations.size(), 2u);
  EXPECT_EQ(result->violations[0].index_key, Tuple::Of("Ada"));
  EXPECT_EQ(result->violations[0].primary_key, Tuple::Of(1, 5));
  EXPECT_EQ(result->violations[0].other_primary_key, Tuple::Of(1, 7));
  EXPECT_EQ(result->violations[1].primary_key, Tuple::Of(1, 7));
  EXPECT_EQ(result->violations[1].other_primary_key, Tuple::Of(1, 5));
  EXPECT_EQ(State("customer_by_name"), IndexState::kWriteOnly);
  Strings listing;
  Run(
      [&](RecordStore& store) -> Status {
        ASSIGN_OR_RETURN(std::vector<IndexStatus> statuses, ListIndexes(store));
        EXPECT_EQ(statuses[5].name, "customer_by_name");
        EXPECT_EQ(statuses[5].records_built, 3);
        EXPECT_EQ(statuses[5].built_ranges, 1);
        EXPECT_TRUE(statuses[5].fully_built);
        return absl::OkStatus();
      },
      &*unique);

  // Fully built, so writers keep it current: renaming one duplicate clears the violation,
  // and the next build only marks it readable.
  Run([](RecordStore& store) { return SaveText(store, "Customer", "customer_id: 7 name: \"Cy\""); },
      &*unique);
  result = indexer.BuildIndex();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->readable);
  EXPECT_EQ(result->records_scanned, 0);
}

TEST_F(OnlineIndexerTest, ThrottlesToTheRecordRate) {
  ASSERT_TRUE(SaveOrders(*db_, *v3_, 0, 128).ok());
  ASSERT_TRUE(UpgradeLeavingIndexesUnbuilt(*db_, *v4_).ok());
  // A clock that only moves when the indexer sleeps: the sleeps are exactly the throttle's.
  auto now = std::chrono::steady_clock::time_point();
  std::vector<std::chrono::nanoseconds> sleeps;
  // What progress() showed at each sleep: after each batch.
  std::vector<IndexBuildProgress> seen;
  OnlineIndexer* running = nullptr;
  OnlineIndexerOptions options;
  options.initial_records_per_transaction = 32;
  options.max_records_per_transaction = 32;
  options.max_records_per_second = 128;
  options.clock = [&] { return now; };
  options.sleep = [&](std::chrono::nanoseconds delay) {
    sleeps.push_back(delay);
    seen.push_back(running->progress());
    now += delay;
  };
  OnlineIndexer indexer(*db_, StoreSpace(), *v4_, "total_by_customer", options);
  running = &indexer;
  StatusOr<IndexBuildResult> result = indexer.BuildIndex();
  ASSERT_TRUE(result.ok()) << result.status();
  // Four full batches, and a fifth that finds the rest of the key space empty.
  EXPECT_EQ(result->transactions, 5);
  EXPECT_EQ(sleeps, std::vector<std::chrono::nanoseconds>(4, std::chrono::milliseconds(250)));
  EXPECT_EQ(indexer.progress().records_per_second, 128);  // 128 records in one (fake) second
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].phase, IndexBuildProgress::Phase::kBuilding);
  EXPECT_EQ(seen[0].estimated_total, 128);
  EXPECT_EQ(seen[0].records_scanned, 32);
  EXPECT_EQ(seen[0].eta_seconds, -1);  // no time has passed: no rate yet
  // 64 records in 0.25 s: 256 a second, 64 to go.
  EXPECT_EQ(seen[1].records_scanned, 64);
  EXPECT_EQ(seen[1].records_per_second, 256);
  EXPECT_EQ(seen[1].eta_seconds, 0.25);
  EXPECT_EQ(seen[1].transactions_committed, 2);
  EXPECT_EQ(Aggregate("total_by_customer", 3), "(106)");  // orders 3 and 103
}

TEST_F(OnlineIndexerTest, AnIndexDisabledDuringItsBuildStopsIt) {
  ASSERT_TRUE(SaveOrders(*db_, *v3_, 0, 128).ok());
  ASSERT_TRUE(UpgradeLeavingIndexesUnbuilt(*db_, *v4_).ok());
  // After the first batch, an administrator disables the index.
  OnlineIndexerOptions options;
  options.initial_records_per_transaction = 32;
  options.max_records_per_transaction = 32;
  // The throttle's sleep runs between batches: a clock that only moves when it sleeps makes
  // it sleep after every batch.
  options.max_records_per_second = 128;
  options.count_records_first = false;
  auto now = std::chrono::steady_clock::time_point();
  options.clock = [&] { return now; };
  int sleeps = 0;
  options.sleep = [&](std::chrono::nanoseconds delay) {
    now += delay;
    if (++sleeps == 1) {
      Run([](RecordStore& store) {
        return store.SetIndexState("total_by_customer", IndexState::kDisabled);
      });
    }
  };
  OnlineIndexer indexer(*db_, StoreSpace(), *v4_, "total_by_customer", options);
  StatusOr<IndexBuildResult> result = indexer.BuildIndex();
  EXPECT_EQ(result.status().message(),
            "index_not_readable (8013): index total_by_customer was disabled during its build");
  EXPECT_EQ(State("total_by_customer"), IndexState::kDisabled);
  EXPECT_EQ(sleeps, 1);
}

TEST_F(OnlineIndexerTest, ShrinksTheBatchWhenTheTransactionIsTooLargeThenGrowsIt) {
  // Index entries of 9,000 bytes: 2,000 of them exceed the 10 MB transaction limit.
  const std::string long_name(9000, 'n');
  for (int first = 0; first < 1500; first += 300) {
    Run(
        [&](RecordStore& store) -> Status {
          for (int id = first; id < first + 300; ++id) {
            RETURN_IF_ERROR(SaveText(store, "Customer",
                                     "customer_id: " + std::to_string(id) + " name: \"" +
                                         long_name + std::to_string(id) + "\""));
          }
          return absl::OkStatus();
        },
        v3_.get());
  }
  ASSERT_TRUE(UpgradeLeavingIndexesUnbuilt(*db_, *v4_).ok());
  OnlineIndexerOptions options;
  options.initial_records_per_transaction = 2000;
  options.max_records_per_transaction = 2000;
  options.max_transaction_bytes = 100'000'000;  // leave the limit to the KV
  OnlineIndexer indexer(*db_, StoreSpace(), *v4_, "customer_by_name", options);
  StatusOr<IndexBuildResult> result = indexer.BuildIndex();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->readable);
  EXPECT_EQ(result->transactions, 2);  // 1,000 then the remaining 500
  IndexBuildProgress progress = indexer.progress();
  EXPECT_EQ(progress.transactions_retried, 1);
  EXPECT_EQ(progress.batch_size_decreases, 1);
  EXPECT_EQ(progress.batch_size, 1250 + 312);  // 1000 grew by a quarter twice

  // With the indexer's own byte budget the batches stop early and nothing fails.
  OnlineIndexerOptions budget;
  budget.initial_records_per_transaction = 2000;
  budget.max_records_per_transaction = 2000;
  budget.max_transaction_bytes = 1'000'000;
  OnlineIndexer rebuilder(*db_, StoreSpace(), *v4_, "customer_by_name", budget);
  result = rebuilder.RebuildIndex();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->records_scanned, 1500);
  EXPECT_GE(result->transactions, 14);
  EXPECT_EQ(rebuilder.progress().transactions_retried, 0);
}

TEST_F(OnlineIndexerTest, TwoBuildersOfOneIndexCooperate) {
  ASSERT_TRUE(SaveOrders(*db_, *v3_, 0, 3000).ok());
  ASSERT_TRUE(UpgradeLeavingIndexesUnbuilt(*db_, *v4_).ok());
  OnlineIndexerOptions options;
  options.initial_records_per_transaction = 50;
  options.max_records_per_transaction = 50;
  std::vector<StatusOr<IndexBuildResult>> results(2, MakeError(ErrorCode::kInternalError));
  std::vector<std::thread> builders;
  for (int i = 0; i < 2; ++i) {
    builders.emplace_back([&, i] {
      OnlineIndexer indexer(*db_, StoreSpace(), *v4_, "orders_per_customer", options);
      results[i] = indexer.BuildIndex();
    });
  }
  for (std::thread& builder : builders) builder.join();
  for (const auto& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(result->readable);
  }
  // Every record was indexed by exactly one committed batch.
  EXPECT_GE(results[0]->records_scanned + results[1]->records_scanned, 3000);
  for (int customer = 0; customer < 100; ++customer) {
    EXPECT_EQ(Aggregate("orders_per_customer", customer), "(30)") << customer;
  }
}

TEST_F(OnlineIndexerTest, RebuildsACorruptedIndexAndBuildsADisabledOne) {
  Run([](RecordStore& store) -> Status {
    for (int id = 0; id < 20; ++id) {
      RETURN_IF_ERROR(SaveText(
          store, "Customer",
          "customer_id: " + std::to_string(id) + " name: \"c" + std::to_string(id) + "\""));
    }
    return absl::OkStatus();
  });
  // A stray entry for a record that does not exist.
  Run([](RecordStore& store) {
    store.context().txn().Set(store.subspace().Pack(Tuple::Of(2, "customer_by_name", "zz", 1, 99)),
                              "");
    return absl::OkStatus();
  });
  OnlineIndexer indexer(*db_, StoreSpace(), *v4_, "customer_by_name");
  StatusOr<IndexBuildResult> built = indexer.BuildIndex();
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(built->records_scanned, 0);  // readable: nothing to do
  StatusOr<ScrubReport> scrub = ScrubIndex(*db_, StoreSpace(), *v4_, "customer_by_name");
  ASSERT_TRUE(scrub.ok()) << scrub.status();
  EXPECT_EQ(scrub->dangling.size(), 1u);

  StatusOr<IndexBuildResult> rebuilt = indexer.RebuildIndex();
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_EQ(rebuilt->records_scanned, 20);
  scrub = ScrubIndex(*db_, StoreSpace(), *v4_, "customer_by_name");
  ASSERT_TRUE(scrub.ok()) << scrub.status();
  EXPECT_EQ(scrub->dangling.size() + scrub->missing.size(), 0u);
  EXPECT_EQ(scrub->entries_scanned, 20);

  Run([](RecordStore& store) {
    return store.SetIndexState("customer_by_name", IndexState::kDisabled);
  });
  built = indexer.BuildIndex();
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(built->records_scanned, 20);
  EXPECT_EQ(State("customer_by_name"), IndexState::kReadable);
}

TEST_F(OnlineIndexerTest, UnknownIndexesAndStoresAreErrors) {
  StatusOr<IndexBuildResult> result = OnlineIndexer(*db_, StoreSpace(), *v4_, "nope").BuildIndex();
  EXPECT_EQ(result.status().message(),
            "not_found (8002): no record store in subspace (b\"\\x02store\\x00\")");
  Run([](RecordStore&) { return absl::OkStatus(); });
  OnlineIndexer unknown(*db_, StoreSpace(), *v4_, "nope");
  result = unknown.BuildIndex();
  EXPECT_EQ(result.status().message(), "not_found (8002): no index nope");
  EXPECT_EQ(unknown.progress().phase, IndexBuildProgress::Phase::kFailed);
}

}  // namespace
}  // namespace recordstore::indexer
