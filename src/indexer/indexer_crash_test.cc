// Crash safety of the online indexer: a child process (indexer_crash_child) builds an index
// of a rocksdb:// store, throttled, reporting the records its committed batches scanned; the
// test kills it with SIGKILL at several points, then resumes the build in-process and checks
// that
//  * what the killed builders reported is recorded as built (nothing committed is lost),
//  * the resumed build scans exactly the records of the ranges still unbuilt,
//  * the count index equals a recount: no batch of a killed builder counted twice or half.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "indexer/indexer_test_util.h"
#include "indexer/online_indexer.h"

#ifndef INDEXER_CRASH_CHILD_PATH
#error "INDEXER_CRASH_CHILD_PATH must name the indexer_crash_child binary"
#endif

namespace recordstore::indexer {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using store::RecordStore;
using testing_util::InStore;
using testing_util::StoreSpace;

constexpr int64_t kRecords = 3000;

// One run of indexer_crash_child with its stdout on a pipe; killed on destruction if alive.
class Child {
 public:
  explicit Child(const std::string& db_path) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe2: " << std::strerror(errno);
      return;
    }
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      execl(INDEXER_CRASH_CHILD_PATH, INDEXER_CRASH_CHILD_PATH, db_path.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    fd_ = fds[0];
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }

  // Reads lines until one reports at least `records` scanned, "done", end of file, or the
  // deadline. Returns the records last reported.
  int64_t WaitForScanned(int64_t records, milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline && scanned_ < records && !done_ && !eof_) Pump();
    return scanned_;
  }
  // SIGKILLs the child, reads what it flushed before dying, reaps it.
  void KillAndReap() {
    kill(pid_, SIGKILL);
    while (!eof_) Pump();
    waitpid(pid_, nullptr, 0);
    reaped_ = true;
  }
  int64_t scanned() const { return scanned_; }
  bool done() const { return done_; }

 private:
  void Pump() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) return;
    char buf[4096];
    ssize_t got = read(fd_, buf, sizeof(buf));
    if (got <= 0) {
      if (got == 0 || errno != EINTR) eof_ = true;
      return;
    }
    pending_.append(buf, static_cast<size_t>(got));
    for (size_t nl; (nl = pending_.find('\n')) != std::string::npos; pending_.erase(0, nl + 1)) {
      std::string line = pending_.substr(0, nl);
      if (line.rfind("scanned ", 0) == 0) scanned_ = std::stoll(line.substr(8));
      if (line == "done") done_ = true;
    }
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  bool eof_ = false;
  bool reaped_ = false;
  bool done_ = false;
  int64_t scanned_ = 0;
  std::string pending_;
};

// The records of `store` whose primary keys lie in the unbuilt ranges of the index.
StatusOr<int64_t> RecordsLeftToBuild(kv::Database& db, const metadata::RecordMetaData& v4) {
  int64_t left = 0;
  RETURN_IF_ERROR(InStore(db, v4, [&](RecordStore& store) -> Status {
    left = 0;
    ASSIGN_OR_RETURN(
        auto missing,
        store.IndexBuiltRanges("orders_per_customer").MissingRanges(store.context().txn()));
    for (const store::RangeSet::Range& range : missing) {
      ASSIGN_OR_RETURN(auto records, store.ScanRecordsInKeyRange(range.begin, range.end,
                                                                 cursor::Continuation::Start()));
      while (true) {
        ASSIGN_OR_RETURN(auto result, records->Next());
        if (!result.has_value()) break;
        ++left;
      }
    }
    return absl::OkStatus();
  }));
  return left;
}

TEST(IndexerCrashTest, ABuilderKilledAnywhereResumesWithoutCountingTwice) {
  std::string dir = (std::filesystem::path(testing::TempDir()) / "rs-idxcrash-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string db_path = dir + "/db";
  auto v3 = testing_util::ShopMetaData(3);
  auto v4 = testing_util::ShopMetaData(4);
  ASSERT_TRUE(v3.ok() && v4.ok());
  {
    auto db = kv::Database::Open("rocksdb://" + db_path);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE(testing_util::SaveOrders(**db, *v3, 0, kRecords).ok());
    ASSERT_TRUE(testing_util::UpgradeLeavingIndexesUnbuilt(**db, *v4).ok());
  }
  // Each child resumes where the last one died and is killed after scanning a few hundred
  // more records (the child builds 2,000 records a second).
  int64_t reported_total = 0;
  for (int round = 0; round < 3; ++round) {
    Child child(db_path);
    const int64_t scanned = child.WaitForScanned(300 + 100 * round, milliseconds(30'000));
    ASSERT_GE(scanned, 300 + 100 * round) << "round " << round;
    child.KillAndReap();
    ASSERT_FALSE(child.done()) << "round " << round;
    reported_total += child.scanned();
  }

  auto db = kv::Database::Open("rocksdb://" + db_path);
  ASSERT_TRUE(db.ok()) << db.status();
  StatusOr<int64_t> left = RecordsLeftToBuild(**db, *v4);
  ASSERT_TRUE(left.ok()) << left.status();
  // What the children reported had committed; a batch may have committed unreported.
  EXPECT_LE(reported_total, kRecords - *left);
  EXPECT_GT(*left, 0);
  OnlineIndexer resumed(**db, StoreSpace(), *v4, "orders_per_customer");
  StatusOr<IndexBuildResult> result = resumed.BuildIndex();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->readable);
  EXPECT_EQ(result->records_scanned, *left);
  EXPECT_EQ(resumed.progress().estimated_total, *left);
  ASSERT_TRUE(InStore(**db, *v4, [](RecordStore& store) -> Status {
                for (int64_t customer = 0; customer < 100; ++customer) {
                  ASSIGN_OR_RETURN(Tuple count, store.EvaluateAggregate("orders_per_customer",
                                                                        Tuple::Of(customer)));
                  EXPECT_EQ(count, Tuple::Of(kRecords / 100)) << customer;
                }
                return absl::OkStatus();
              }).ok());
  db->reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace recordstore::indexer
