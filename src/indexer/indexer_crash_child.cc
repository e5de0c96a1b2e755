// The child process of indexer_crash_test: opens "rocksdb://<path>" with sync_commits and
// builds the index orders_per_customer of the shop store there, throttled, printing
// "scanned <n>" each time the records scanned by committed batches grow, until it is killed
// or the build finishes ("done").
//
// Usage: indexer_crash_child <rocksdb path>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "indexer/indexer_test_util.h"
#include "indexer/online_indexer.h"

int main(int argc, char** argv) {
  using namespace recordstore;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <rocksdb path>\n", argv[0]);
    return 1;
  }
  kv::DatabaseOptions db_options;
  db_options.sync_commits = true;
  auto db = kv::Database::Open(std::string("rocksdb://") + argv[1], db_options);
  auto v4 = indexer::testing_util::ShopMetaData(4);
  if (!db.ok() || !v4.ok()) {
    std::fprintf(stderr, "indexer_crash_child: %s %s\n", db.status().ToString().c_str(),
                 v4.status().ToString().c_str());
    return 2;
  }
  indexer::OnlineIndexerOptions options;
  options.initial_records_per_transaction = 20;
  options.max_records_per_transaction = 20;
  options.max_records_per_second = 2000;
  options.count_records_first = false;
  indexer::OnlineIndexer builder(**db, indexer::testing_util::StoreSpace(), *v4,
                                 "orders_per_customer", options);
  std::atomic<bool> done{false};
  std::thread reporter([&] {
    int64_t reported = 0;
    while (!done.load()) {
      int64_t scanned = builder.progress().records_scanned;
      if (scanned != reported) {
        std::printf("scanned %lld\n", static_cast<long long>(scanned));
        std::fflush(stdout);
        reported = scanned;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  auto result = builder.BuildIndex();
  done = true;
  reporter.join();
  if (!result.ok()) {
    std::fprintf(stderr, "indexer_crash_child: %s\n", result.status().ToString().c_str());
    return 3;
  }
  std::printf("done\n");
  std::fflush(stdout);
  return 0;
}
