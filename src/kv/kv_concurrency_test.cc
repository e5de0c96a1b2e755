// Concurrency properties of the KV contract under real threads: serializability of a bank
// workload with a concurrent auditor, write skew prevention, conflict-free atomic adds. Runs
// against every backend (see Backends() below). Sized to finish in well under 20 s on 2 cores.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/status_macros.h"
#include "kv/etcd/etcd_cluster.h"
#include "recordstore/kv.h"
#include "recordstore/status.h"

namespace recordstore::kv {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// Backends. An etcd backend joins by adding one entry here.

struct BackendInfo {
  std::string name;
  std::string (*url)(const std::string& dir);
};

const std::vector<BackendInfo>& Backends() {
  static const std::vector<BackendInfo> kBackends = {
      {"memory", [](const std::string&) { return std::string("memory://"); }},
      {"rocksdb", [](const std::string& dir) { return "rocksdb://" + dir + "/db"; }},
      {"etcd", [](const std::string&) { return etcd::SharedTestClusterUrl(); }},
  };
  return kBackends;
}

std::vector<std::string> BackendNames() {
  std::vector<std::string> names;
  for (const BackendInfo& b : Backends()) names.push_back(b.name);
  return names;
}

testing::AssertionResult IsOk(const Status& s) {
  if (s.ok()) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "expected OK, got " << s.ToString();
}
template <typename T>
testing::AssertionResult IsOk(const StatusOr<T>& s) {
  return IsOk(s.status());
}
testing::AssertionResult HasCode(const Status& s, ErrorCode code) {
  if (HasErrorCode(s, code)) return testing::AssertionSuccess();
  return testing::AssertionFailure()
         << "expected " << ErrorName(code) << " (" << static_cast<int>(code) << "), got "
         << (s.ok() ? std::string("OK") : s.ToString());
}

#define ASSERT_OK(expr) ASSERT_TRUE(IsOk(expr))
#define EXPECT_OK(expr) EXPECT_TRUE(IsOk(expr))

std::string Le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// -1 when `s` is not 8 bytes.
int64_t FromLe64(std::string_view s) {
  if (s.size() != 8) return -1;
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return static_cast<int64_t>(v);
}

int64_t BigEndian64(std::string_view s) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return static_cast<int64_t>(v);
}

class KvConcurrencyTest : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::path(testing::TempDir()) / "rs-kvconc-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    std::string url;
    for (const BackendInfo& b : Backends()) {
      if (b.name == GetParam()) url = b.url(dir_);
    }
    ASSERT_FALSE(url.empty()) << "unknown backend " << GetParam();
    auto db = Database::Open(url);
    ASSERT_OK(db) << " opening " << url;
    db_ = std::move(db).value();
  }
  void TearDown() override {
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::optional<std::string> Read(std::string_view key) {
    auto t = db_->CreateTransaction();
    auto v = t->Get(key);
    EXPECT_OK(v);
    return v.ok() ? *v : std::nullopt;
  }

  std::string dir_;
  std::unique_ptr<Database> db_;
};

// ---------------------------------------------------------------------------------------------

constexpr int kAccounts = 100;
constexpr int64_t kInitialBalance = 1000;
constexpr int kTransferThreads = 8;
constexpr int kTransfersPerThread = 400;

std::string AccountKey(int i) {
  char buf[32];
  snprintf(buf, sizeof(buf), "acct/%03d", i);
  return buf;
}

TEST_P(KvConcurrencyTest, BankTransfersPreserveTotalUnderContentionWithConsistentAudits) {
  {
    auto t = db_->CreateTransaction();
    for (int i = 0; i < kAccounts; ++i) t->Set(AccountKey(i), Le64(kInitialBalance));
    ASSERT_OK(t->Commit());
  }
  const int64_t kTotal = kAccounts * kInitialBalance;

  std::atomic<bool> transfers_done{false};
  std::atomic<int64_t> attempts{0};
  std::atomic<int64_t> committed{0};
  std::atomic<int64_t> transfer_failures{0};
  std::atomic<int64_t> audits{0};
  std::atomic<int64_t> bad_audits{0};
  std::mutex failure_mu;
  std::string first_failure;
  auto record_failure = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(failure_mu);
    if (first_failure.empty()) first_failure = what;
  };

  const TransactionOptions run_options{.max_retry_delay = milliseconds(20)};
  std::vector<std::thread> workers;
  for (int w = 0; w < kTransferThreads; ++w) {
    workers.emplace_back([&, w] {
      std::mt19937 rng(1234 + w);
      std::uniform_int_distribution<int> pick(0, kAccounts - 1);
      std::uniform_int_distribution<int> amount_dist(1, 100);
      for (int i = 0; i < kTransfersPerThread; ++i) {
        int from = pick(rng);
        int to = pick(rng);
        while (to == from) to = pick(rng);
        const int64_t amount = amount_dist(rng);
        Status s = db_->Run(
            [&](Transaction& t) -> Status {
              attempts.fetch_add(1);
              ASSIGN_OR_RETURN(auto from_value, t.Get(AccountKey(from)));
              ASSIGN_OR_RETURN(auto to_value, t.Get(AccountKey(to)));
              if (!from_value || !to_value) {
                return MakeError(ErrorCode::kInternalError, "account missing");
              }
              int64_t from_balance = FromLe64(*from_value);
              int64_t to_balance = FromLe64(*to_value);
              // Widen the window between read and write so transactions overlap.
              std::this_thread::sleep_for(microseconds(200));
              if (from_balance < amount) return absl::OkStatus();
              t.Set(AccountKey(from), Le64(from_balance - amount));
              t.Set(AccountKey(to), Le64(to_balance + amount));
              return absl::OkStatus();
            },
            run_options);
        if (s.ok()) {
          committed.fetch_add(1);
        } else {
          transfer_failures.fetch_add(1);
          record_failure("transfer: " + s.ToString());
        }
      }
    });
  }

  std::thread auditor([&] {
    auto t = db_->CreateTransaction({.max_retry_delay = milliseconds(10)});
    while (!transfers_done.load()) {
      auto r = t->GetRange("acct/", "acct0");
      if (!r.ok()) {
        Status retry = t->OnError(r.status());
        if (!retry.ok()) {
          bad_audits.fetch_add(1);
          record_failure("audit read: " + r.status().ToString());
          return;
        }
        continue;
      }
      int64_t sum = 0;
      bool all_valid = r->rows.size() == static_cast<size_t>(kAccounts);
      for (const KeyValue& kv : r->rows) {
        int64_t balance = FromLe64(kv.value);
        if (balance < 0) all_valid = false;
        sum += balance;
      }
      audits.fetch_add(1);
      if (!all_valid || sum != kTotal) {
        bad_audits.fetch_add(1);
        record_failure("audit saw " + std::to_string(r->rows.size()) + " accounts totalling " +
                       std::to_string(sum));
      }
      Status c = t->Commit();
      if (!c.ok()) {
        bad_audits.fetch_add(1);
        record_failure("read-only audit commit: " + c.ToString());
      }
      t->Reset();
      std::this_thread::sleep_for(milliseconds(1));
    }
  });

  for (auto& w : workers) w.join();
  transfers_done.store(true);
  auditor.join();

  EXPECT_EQ(transfer_failures.load(), 0) << first_failure;
  EXPECT_EQ(bad_audits.load(), 0) << first_failure;
  EXPECT_EQ(committed.load(), kTransferThreads * kTransfersPerThread);
  EXPECT_GT(audits.load(), 0);
  const int64_t retries = attempts.load() - committed.load() - transfer_failures.load();
  EXPECT_GT(retries, 0) << "no transaction was ever retried: the test produced no contention";
  std::printf("[ bank ] %s: %lld transfers, %lld retries, %lld consistent audits\n",
              GetParam().c_str(), static_cast<long long>(committed.load()),
              static_cast<long long>(retries), static_cast<long long>(audits.load()));

  auto t = db_->CreateTransaction();
  auto r = t->GetRange("acct/", "acct0");
  ASSERT_OK(r);
  ASSERT_EQ(r->rows.size(), static_cast<size_t>(kAccounts));
  int64_t sum = 0;
  for (const KeyValue& kv : r->rows) {
    EXPECT_GE(FromLe64(kv.value), 0) << kv.key;
    sum += FromLe64(kv.value);
  }
  EXPECT_EQ(sum, kTotal);
}

TEST_P(KvConcurrencyTest, WriteSkewIsPreventedSequentially) {
  {
    auto t = db_->CreateTransaction();
    t->Set("x", "1");
    t->Set("y", "1");
    ASSERT_OK(t->Commit());
  }
  auto a = db_->CreateTransaction();
  auto b = db_->CreateTransaction();
  ASSERT_OK(a->Get("x"));
  ASSERT_OK(a->Get("y"));
  ASSERT_OK(b->Get("x"));
  ASSERT_OK(b->Get("y"));
  a->Set("x", "0");
  b->Set("y", "0");
  EXPECT_OK(a->Commit());
  EXPECT_TRUE(HasCode(b->Commit(), ErrorCode::kNotCommitted));
  EXPECT_EQ(Read("x"), "0");
  EXPECT_EQ(Read("y"), "1");
}

TEST_P(KvConcurrencyTest, WriteSkewIsPreventedWithConcurrentCommits) {
  constexpr int kRounds = 30;
  for (int round = 0; round < kRounds; ++round) {
    {
      auto t = db_->CreateTransaction();
      t->Set("x", "1");
      t->Set("y", "1");
      ASSERT_OK(t->Commit());
    }
    std::barrier both_read(2);
    Status results[2];
    auto body = [&](int who) {
      auto t = db_->CreateTransaction();
      auto x = t->Get("x");
      auto y = t->Get("y");
      both_read.arrive_and_wait();  // both read versions precede both commits
      if (!x.ok() || !y.ok()) {
        results[who] = !x.ok() ? x.status() : y.status();
        return;
      }
      // The invariant "x + y >= 1" holds for each transaction alone.
      if (*x == "1" && *y == "1") t->Set(who == 0 ? "x" : "y", "0");
      results[who] = t->Commit();
    };
    std::thread t0(body, 0);
    std::thread t1(body, 1);
    t0.join();
    t1.join();
    int ok = 0;
    for (const Status& s : results) {
      if (s.ok()) {
        ++ok;
      } else {
        EXPECT_TRUE(HasCode(s, ErrorCode::kNotCommitted)) << "round " << round;
      }
    }
    EXPECT_EQ(ok, 1) << "round " << round << ": exactly one of the two must commit";
    auto x = Read("x");
    auto y = Read("y");
    EXPECT_TRUE((x == "0" && y == "1") || (x == "1" && y == "0"))
        << "round " << round << ": x=" << x.value_or("<none>") << " y=" << y.value_or("<none>");
  }
}

TEST_P(KvConcurrencyTest, ConcurrentAtomicAddsNeverConflictAndSumExactly) {
  constexpr int kThreads = 8;
  constexpr int kAddsPerThread = 150;
  std::atomic<int> commit_failures{0};
  std::mutex mu;
  std::string first_failure;
  std::vector<std::string> stamps;
  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; ++w) {
    threads.emplace_back([&, w] {
      std::vector<std::string> mine;
      Version last = -1;
      for (int i = 0; i < kAddsPerThread; ++i) {
        auto t = db_->CreateTransaction();
        t->AtomicOp(MutationType::kAdd, "counter", Le64(1));
        t->AtomicOp(MutationType::kAdd, "sum", Le64(w + 1));
        t->AtomicOp(MutationType::kMax, "max", Le64(static_cast<uint64_t>(w) * 1000 + i));
        Status s = t->Commit();
        if (!s.ok()) {
          commit_failures.fetch_add(1);
          std::lock_guard<std::mutex> lock(mu);
          if (first_failure.empty()) first_failure = s.ToString();
          continue;
        }
        Version v = t->GetCommittedVersion();
        if (v <= last) {
          std::lock_guard<std::mutex> lock(mu);
          if (first_failure.empty()) first_failure = "commit versions went backwards in a thread";
          commit_failures.fetch_add(1);
        }
        last = v;
        auto vs = t->GetVersionstamp();
        if (!vs.ok() || vs->size() != 10 || BigEndian64(*vs) != v) {
          std::lock_guard<std::mutex> lock(mu);
          if (first_failure.empty()) {
            first_failure =
                "versionstamp does not start with the commit version " + std::to_string(v) + ": " +
                (vs.ok() ? std::to_string(vs->size()) + " bytes" : vs.status().ToString());
          }
          commit_failures.fetch_add(1);
          continue;
        }
        mine.push_back(*vs);
      }
      std::lock_guard<std::mutex> lock(mu);
      stamps.insert(stamps.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();

  EXPECT_EQ(commit_failures.load(), 0)
      << "blind atomic adds must never fail; first failure: " << first_failure;
  EXPECT_EQ(Read("counter"), Le64(kThreads * kAddsPerThread));
  int64_t expected_sum = 0;
  for (int w = 0; w < kThreads; ++w) expected_sum += static_cast<int64_t>(w + 1) * kAddsPerThread;
  EXPECT_EQ(FromLe64(Read("sum").value_or("")), expected_sum);
  EXPECT_EQ(FromLe64(Read("max").value_or("")),
            static_cast<int64_t>(kThreads - 1) * 1000 + kAddsPerThread - 1);
  EXPECT_EQ(stamps.size(), static_cast<size_t>(kThreads * kAddsPerThread));
  std::set<std::string> distinct(stamps.begin(), stamps.end());
  EXPECT_EQ(distinct.size(), stamps.size()) << "every commit must get a distinct versionstamp";
}

TEST_P(KvConcurrencyTest, ConcurrentReadersSeeAtomicMultiKeyUpdates) {
  // A writer keeps x == y; readers must never see them differ.
  {
    auto t = db_->CreateTransaction();
    t->Set("x", Le64(0));
    t->Set("y", Le64(0));
    ASSERT_OK(t->Commit());
  }
  constexpr int kReaders = 2;
  constexpr int kMinReadsPerReader = 200;
  std::atomic<bool> done{false};
  std::atomic<int> readers_started{0};
  std::atomic<int> torn{0};
  std::atomic<int> reads{0};
  std::thread writer([&] {
    while (readers_started.load() < kReaders) std::this_thread::yield();
    for (int i = 1; i <= 300; ++i) {
      auto t = db_->CreateTransaction();
      t->Set("x", Le64(i));
      t->Set("y", Le64(i));
      EXPECT_OK(t->Commit());
    }
    done.store(true);
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&] {
      int64_t last_seen = 0;
      int my_reads = 0;
      readers_started.fetch_add(1);
      // Keep reading while the writer runs, and at least kMinReadsPerReader times.
      for (; !done.load() || my_reads < kMinReadsPerReader; ++my_reads) {
        auto t = db_->CreateTransaction();
        auto x = t->Get("x");
        std::this_thread::yield();
        auto y = t->Get("y");
        if (!x.ok() || !y.ok() || !x->has_value() || !y->has_value()) {
          torn.fetch_add(1);
          continue;
        }
        int64_t xv = FromLe64(**x);
        if (xv != FromLe64(**y) || xv < last_seen) torn.fetch_add(1);
        last_seen = xv;
        reads.fetch_add(1);
      }
    });
  }
  writer.join();
  for (auto& r : readers) r.join();
  EXPECT_EQ(torn.load(), 0) << "a reader saw x != y, a failed read, or time going backwards";
  EXPECT_GE(reads.load(), kReaders * kMinReadsPerReader);
}

INSTANTIATE_TEST_SUITE_P(Backends, KvConcurrencyTest, testing::ValuesIn(BackendNames()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace recordstore::kv
