// The etcd backend under a leader crash: bank transfers keep their invariant, every
// acknowledged transfer is durable, and the workload continues once a new leader is elected.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/status_macros.h"
#include "kv/etcd/etcd_cluster.h"
#include "recordstore/kv.h"

namespace recordstore::kv::etcd {
namespace {

using std::chrono::milliseconds;

constexpr int kAccounts = 20;
constexpr int64_t kInitialBalance = 1000;
constexpr int kThreads = 8;
constexpr int kTransfersPerThread = 80;

std::string AccountKey(int i) { return "acct/" + std::to_string(100 + i); }
std::string TransferKey(int thread, int i) {
  return "xfer/" + std::to_string(thread) + "/" + std::to_string(1000 + i);
}

std::string Le64(int64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i)
    s[i] = static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
  return s;
}

int64_t FromLe64(std::string_view s) {
  uint64_t v = 0;
  for (int i = static_cast<int>(s.size()) - 1; i >= 0; --i)
    v = (v << 8) | static_cast<uint8_t>(s[i]);
  return static_cast<int64_t>(v);
}

TEST(EtcdFaultTest, BankTransfersSurviveKillingTheLeader) {
  auto cluster = EtcdCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto opened = Database::Open((*cluster)->Url("fault"));
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<Database> db = *std::move(opened);
  ASSERT_TRUE(db->Run([](Transaction& t) {
                  for (int i = 0; i < kAccounts; ++i) t.Set(AccountKey(i), Le64(kInitialBalance));
                  return absl::OkStatus();
                }).ok());

  std::atomic<int64_t> acknowledged_count{0};
  std::mutex mu;
  std::vector<std::string> acknowledged;  // GUARDED_BY(mu)
  std::string first_failure;              // GUARDED_BY(mu)
  std::vector<std::thread> workers;
  workers.reserve(kThreads);
  for (int w = 0; w < kThreads; ++w) {
    workers.emplace_back([&, w] {
      std::mt19937 rng(77 + w);
      for (int i = 0; i < kTransfersPerThread; ++i) {
        int from = static_cast<int>(rng() % kAccounts);
        int to = static_cast<int>(rng() % (kAccounts - 1));
        if (to >= from) ++to;
        int64_t amount = 1 + static_cast<int64_t>(rng() % 50);
        const std::string marker = TransferKey(w, i);
        // Idempotent: a retry after commit_unknown_result finds its own marker and stops.
        Status s = db->Run(
            [&](Transaction& t) -> Status {
              ASSIGN_OR_RETURN(auto done, t.Get(marker));
              if (done.has_value()) return absl::OkStatus();
              ASSIGN_OR_RETURN(auto a, t.Get(AccountKey(from)));
              ASSIGN_OR_RETURN(auto b, t.Get(AccountKey(to)));
              if (!a || !b) return MakeError(ErrorCode::kInternalError, "account missing");
              int64_t moved = std::min(amount, FromLe64(*a));
              t.Set(AccountKey(from), Le64(FromLe64(*a) - moved));
              t.Set(AccountKey(to), Le64(FromLe64(*b) + moved));
              t.Set(marker, Le64(moved));
              return absl::OkStatus();
            },
            {.max_retry_delay = milliseconds(100)});
        std::lock_guard lock(mu);
        if (s.ok()) {
          acknowledged.push_back(marker);
          acknowledged_count.fetch_add(1);
        } else if (first_failure.empty()) {
          first_failure = marker + ": " + s.ToString();
        }
      }
    });
  }

  // Kill the leader once the workload is running, and bring it back later.
  while (acknowledged_count.load() < 40) std::this_thread::sleep_for(milliseconds(10));
  auto leader = (*cluster)->Leader();
  ASSERT_TRUE(leader.ok()) << leader.status();
  (*cluster)->Kill(*leader);
  const int64_t at_kill = acknowledged_count.load();
  const auto killed_at = std::chrono::steady_clock::now();
  // The remaining two members elect a new leader and the transfers resume.
  while (acknowledged_count.load() < at_kill + 20 &&
         std::chrono::steady_clock::now() - killed_at < std::chrono::seconds(20)) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  const int64_t before_restart = acknowledged_count.load();
  const auto resumed_ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - killed_at)
          .count();
  ASSERT_TRUE((*cluster)->Restart(*leader).ok());
  for (auto& worker : workers) worker.join();

  EXPECT_TRUE(first_failure.empty()) << first_failure;
  EXPECT_GE(before_restart, at_kill + 20) << "the transfers did not resume within 20 s";
  EXPECT_EQ(acknowledged_count.load(), kThreads * kTransfersPerThread);
  std::printf("[ fault ] %lld transfers before the kill; 20 more committed %lld ms after it\n",
              static_cast<long long>(at_kill), static_cast<long long>(resumed_ms));

  auto t = db->CreateTransaction();
  auto accounts = t->GetRange("acct/", "acct0");
  ASSERT_TRUE(accounts.ok()) << accounts.status();
  ASSERT_EQ(accounts->rows.size(), static_cast<size_t>(kAccounts));
  int64_t total = 0;
  for (const KeyValue& row : accounts->rows) {
    EXPECT_GE(FromLe64(row.value), 0) << row.key;
    total += FromLe64(row.value);
  }
  EXPECT_EQ(total, kAccounts * kInitialBalance);
  auto transfers = t->GetRange("xfer/", "xfer0");
  ASSERT_TRUE(transfers.ok()) << transfers.status();
  std::set<std::string> present;
  for (const KeyValue& row : transfers->rows) present.insert(row.key);
  for (const std::string& marker : acknowledged) {
    EXPECT_TRUE(present.count(marker)) << "acknowledged transfer " << marker << " is missing";
  }
}

}  // namespace
}  // namespace recordstore::kv::etcd
