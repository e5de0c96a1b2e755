// Engine-specific behaviour beyond the shared KV contract: group commit and the resolver's
// bounded history.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "recordstore/kv.h"

namespace recordstore::kv {
namespace {

int64_t CommitVersionOf(const std::string& stamp) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(stamp[i]);
  return static_cast<int64_t>(v);
}

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::path(testing::TempDir()) / "rs-engine-XXXXXX").string();
    EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
    path_ = tmpl;
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(EngineTest, GroupCommitPutsConcurrentTransactionsInOneBatch) {
  ScratchDir dir;
  DatabaseOptions options;
  options.sync_commits = true;  // an fsync per batch gives committers time to queue up
  std::mutex batches_mu;
  std::vector<int> batch_sizes;
  options.on_commit_batch = [&](int transactions) {
    std::lock_guard lock(batches_mu);
    batch_sizes.push_back(transactions);
  };
  auto db = Database::Open("rocksdb://" + dir.path(), options);
  ASSERT_TRUE(db.ok()) << db.status();
  constexpr int kThreads = 8;
  constexpr int kCommitsPerThread = 40;
  std::mutex mu;
  std::vector<std::string> stamps;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCommitsPerThread; ++i) {
        auto txn = (*db)->CreateTransaction();
        txn->Set("t" + std::to_string(t) + "/" + std::to_string(i), "v");
        Status s = txn->Commit();
        ASSERT_TRUE(s.ok()) << s;
        auto stamp = txn->GetVersionstamp();
        ASSERT_TRUE(stamp.ok()) << stamp.status();
        EXPECT_EQ(CommitVersionOf(*stamp), txn->GetCommittedVersion());
        std::lock_guard lock(mu);
        stamps.push_back(*stamp);
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(stamps.size(), size_t{kThreads * kCommitsPerThread});
  // Every versionstamp is unique; some batches held several transactions, numbered 0, 1, ...
  std::set<std::string> unique(stamps.begin(), stamps.end());
  EXPECT_EQ(unique.size(), stamps.size());
  std::map<int64_t, std::set<int>> orders_by_version;
  for (const std::string& stamp : stamps) {
    int order = (static_cast<unsigned char>(stamp[8]) << 8) | static_cast<unsigned char>(stamp[9]);
    orders_by_version[CommitVersionOf(stamp)].insert(order);
  }
  EXPECT_LT(orders_by_version.size(), stamps.size()) << "no two commits ever shared a batch";
  for (const auto& [version, orders] : orders_by_version) {
    EXPECT_EQ(*orders.rbegin(), static_cast<int>(orders.size()) - 1)
        << "batch orders of version " << version << " are not 0..n-1";
  }
  // on_commit_batch heard of each batch once, with its size.
  std::lock_guard lock(batches_mu);
  EXPECT_EQ(batch_sizes.size(), orders_by_version.size());
  std::multiset<int> reported(batch_sizes.begin(), batch_sizes.end());
  std::multiset<int> expected;
  for (const auto& [version, orders] : orders_by_version) {
    expected.insert(static_cast<int>(orders.size()));
  }
  EXPECT_EQ(reported, expected);
}

TEST(EngineTest, CommitBatchObserverCountsOnlyWrittenTransactions) {
  std::vector<int> batch_sizes;
  DatabaseOptions options;
  options.on_commit_batch = [&](int transactions) { batch_sizes.push_back(transactions); };
  auto db = Database::Open("memory://", options);
  ASSERT_TRUE(db.ok());
  auto reader = (*db)->CreateTransaction();
  ASSERT_TRUE(reader->Get("k").ok());
  auto writer = (*db)->CreateTransaction();
  writer->Set("k", "1");
  ASSERT_TRUE(writer->Commit().ok());
  // A conflict writes nothing; a read-only commit never reaches the group commit.
  reader->Set("other", "2");
  EXPECT_TRUE(HasErrorCode(reader->Commit(), ErrorCode::kNotCommitted));
  auto read_only = (*db)->CreateTransaction();
  ASSERT_TRUE(read_only->Get("k").ok());
  ASSERT_TRUE(read_only->Commit().ok());
  auto second = (*db)->CreateTransaction();
  second->Set("k", "2");
  ASSERT_TRUE(second->Commit().ok());
  EXPECT_EQ(batch_sizes, (std::vector<int>{1, 1}));
}

TEST(EngineTest, ReadWriteTransactionBelowTheKeptHistoryFailsRetryably) {
  auto db = Database::Open("memory://");
  ASSERT_TRUE(db.ok());
  auto first = (*db)->CreateTransaction();
  first->Set("k", "1");
  ASSERT_TRUE(first->Commit().ok());
  Version v1 = first->GetCommittedVersion();
  auto second = (*db)->CreateTransaction();
  second->Set("other", "2");
  ASSERT_TRUE(second->Commit().ok());

  // No transaction was live at v1, so the resolver no longer holds history back to it: a
  // read-write transaction reading at v1 cannot be checked and must not commit.
  auto stale = (*db)->CreateTransaction();
  stale->SetReadVersion(v1);
  auto value = stale->Get("k");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, "1");
  stale->Set("k", "from the past");
  Status commit = stale->Commit();
  EXPECT_TRUE(HasErrorCode(commit, ErrorCode::kNotCommitted)) << commit;
  EXPECT_TRUE(IsRetryable(commit));
  EXPECT_NE(std::string(commit.message()).find("predates the conflict history"), std::string::npos)
      << commit;

  // The retry reads at the latest version and commits.
  ASSERT_TRUE(stale->OnError(commit).ok());
  ASSERT_TRUE(stale->Get("k").ok());
  stale->Set("k", "now");
  EXPECT_TRUE(stale->Commit().ok());
}

TEST(EngineTest, ALiveReaderKeepsTheHistoryItNeeds) {
  auto db = Database::Open("memory://");
  ASSERT_TRUE(db.ok());
  auto reader = (*db)->CreateTransaction();
  ASSERT_TRUE(reader->Get("k").ok());  // read version taken, read conflict on k

  // Many unrelated batches commit while the reader is open, then one writes k.
  for (int i = 0; i < 50; ++i) {
    auto writer = (*db)->CreateTransaction();
    writer->Set("x" + std::to_string(i), "v");
    ASSERT_TRUE(writer->Commit().ok());
  }
  auto conflicting = (*db)->CreateTransaction();
  conflicting->Set("k", "changed");
  ASSERT_TRUE(conflicting->Commit().ok());

  reader->Set("y", "1");
  Status commit = reader->Commit();
  EXPECT_TRUE(HasErrorCode(commit, ErrorCode::kNotCommitted)) << commit;
  EXPECT_NE(std::string(commit.message()).find("was written after its read version"),
            std::string::npos)
      << commit;
}

}  // namespace
}  // namespace recordstore::kv
