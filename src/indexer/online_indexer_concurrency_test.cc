// The acceptance test: indexes built online over many records while four writer
// threads insert, update and delete; afterwards the scrubber finds no difference and the
// aggregate indexes equal a recount of the records.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "indexer/index_scrubber.h"
#include "indexer/indexer_test_util.h"
#include "indexer/online_indexer.h"

namespace recordstore::indexer {
namespace {

using store::RecordStore;
using testing_util::InStore;
using testing_util::StoreSpace;

// Sized to stay well under a minute on two cores in a Release build.
constexpr int64_t kRecords = 200'000;
constexpr int kWriters = 4;

TEST(OnlineIndexerConcurrencyTest, BuildsWhileFourWritersInsertUpdateAndDelete) {
  auto db = kv::Database::Open("memory://");
  ASSERT_TRUE(db.ok()) << db.status();
  auto v3 = testing_util::ShopMetaData(3);
  auto v4 = testing_util::ShopMetaData(4);
  ASSERT_TRUE(v3.ok() && v4.ok()) << v3.status() << v4.status();
  ASSERT_TRUE(testing_util::SaveOrders(**db, *v3, 0, kRecords).ok());
  ASSERT_TRUE(testing_util::UpgradeLeavingIndexesUnbuilt(**db, *v4).ok());

  std::atomic<bool> stop{false};
  std::atomic<int64_t> writes{0};
  std::vector<Status> writer_errors(kWriters);
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      std::mt19937_64 random(1234 + w);
      while (!stop.load()) {
        // Ids past the initial records insert; others update or delete.
        const int64_t id = static_cast<int64_t>(random() % (kRecords + kRecords / 5));
        const int op = static_cast<int>(random() % 3);
        const int64_t total = static_cast<int64_t>(random() % 1000);
        Status status = InStore(**db, *v4, [&](RecordStore& store) -> Status {
          if (op == 2) return store.DeleteRecord(Tuple::Of(2, id % 100, id)).status();
          return testing_util::SaveText(store, "Order", testing_util::OrderText(id, total));
        });
        if (!status.ok()) {
          writer_errors[w] = status;
          return;
        }
        ++writes;
      }
    });
  }

  const std::vector<std::string> built = {"order_by_total", "orders_per_customer",
                                          "total_by_customer"};
  std::vector<std::unique_ptr<OnlineIndexer>> indexers;
  std::vector<StatusOr<IndexBuildResult>> results(built.size(),
                                                  MakeError(ErrorCode::kInternalError));
  std::vector<std::thread> builders;
  for (size_t i = 0; i < built.size(); ++i) {
    indexers.push_back(std::make_unique<OnlineIndexer>(**db, StoreSpace(), *v4, built[i]));
  }
  for (size_t i = 0; i < built.size(); ++i) {
    builders.emplace_back([&, i] { results[i] = indexers[i]->BuildIndex(); });
  }
  // Progress is readable while the builds run, and never goes backwards.
  std::atomic<bool> builds_done{false};
  int64_t last_scanned = 0;
  bool regressed = false;
  std::thread watcher([&] {
    while (!builds_done.load()) {
      IndexBuildProgress progress = indexers[0]->progress();
      if (progress.records_scanned < last_scanned) regressed = true;
      last_scanned = progress.records_scanned;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  for (std::thread& builder : builders) builder.join();
  builds_done = true;
  watcher.join();
  // Writers keep going for a while against the readable indexes.
  const int64_t writes_at_end_of_build = writes.load();
  while (writes.load() < writes_at_end_of_build + 200 && !stop.load()) {
    std::this_thread::yield();
    bool any_failed = false;
    for (const Status& s : writer_errors) any_failed |= !s.ok();
    if (any_failed) break;
  }
  stop = true;
  for (std::thread& writer : writers) writer.join();
  for (const Status& error : writer_errors) EXPECT_TRUE(error.ok()) << error;
  EXPECT_FALSE(regressed);
  for (size_t i = 0; i < built.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << built[i] << ": " << results[i].status();
    EXPECT_TRUE(results[i]->readable) << built[i];
    EXPECT_GT(indexers[i]->progress().estimated_total, kRecords * 9 / 10) << built[i];
    EXPECT_GE(results[i]->records_scanned, 1) << built[i];
  }
  EXPECT_LE(last_scanned, results[0]->records_scanned);
  EXPECT_EQ(indexers[0]->progress().records_scanned, results[0]->records_scanned);
  EXPECT_GT(writes_at_end_of_build, 0);

  StatusOr<ScrubReport> scrub = ScrubIndex(**db, StoreSpace(), *v4, "order_by_total");
  ASSERT_TRUE(scrub.ok()) << scrub.status();
  EXPECT_EQ(scrub->missing, std::vector<ScrubbedEntry>{});
  EXPECT_EQ(scrub->dangling, std::vector<ScrubbedEntry>{});
  EXPECT_EQ(scrub->entries_scanned, scrub->records_scanned);

  // The recount, a transaction per 20,000 records.
  std::map<int64_t, int64_t> counts;
  std::map<int64_t, int64_t> sums;
  int64_t records = 0;
  cursor::Continuation position;
  while (true) {
    bool exhausted = false;
    ASSERT_TRUE(InStore(**db, *v4, [&](RecordStore& store) -> Status {
                  index::ScanOptions scan;
                  scan.row_limit = 20'000;
                  scan.snapshot = true;
                  ASSIGN_OR_RETURN(auto cursor,
                                   store.ScanRecords(index::TupleRange::All(), position, scan));
                  while (true) {
                    ASSIGN_OR_RETURN(auto result, cursor->Next());
                    if (!result.has_value()) {
                      exhausted = result.no_next_reason() == cursor::NoNextReason::kSourceExhausted;
                      position = result.continuation();
                      return absl::OkStatus();
                    }
                    const auto* message = result.value().message.get();
                    const auto* descriptor = message->GetDescriptor();
                    const auto* reflection = message->GetReflection();
                    int64_t customer =
                        reflection->GetInt64(*message, descriptor->FindFieldByName("customer_id"));
                    ++counts[customer];
                    sums[customer] +=
                        reflection->GetInt64(*message, descriptor->FindFieldByName("total"));
                    ++records;
                  }
                }).ok());
    if (exhausted) break;
  }
  EXPECT_EQ(records, scrub->records_scanned);
  ASSERT_TRUE(InStore(**db, *v4, [&](RecordStore& store) -> Status {
                for (int64_t customer = 0; customer < 100; ++customer) {
                  ASSIGN_OR_RETURN(Tuple count, store.EvaluateAggregate("orders_per_customer",
                                                                        Tuple::Of(customer)));
                  ASSIGN_OR_RETURN(
                      Tuple sum, store.EvaluateAggregate("total_by_customer", Tuple::Of(customer)));
                  EXPECT_EQ(count, Tuple::Of(counts[customer])) << customer;
                  EXPECT_EQ(sum, Tuple::Of(sums[customer])) << customer;
                }
                return absl::OkStatus();
              }).ok());
}

}  // namespace
}  // namespace recordstore::indexer
