#include "tuple/high_contention_allocator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tuple/directory_test_util.h"
#include "tuple/tuple_test_util.h"

namespace recordstore {
namespace {

std::string Le64(uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return bytes;
}

class HighContentionAllocatorTest : public KvBackendTest {
 protected:
  HighContentionAllocatorTest() : allocator_(Subspace("h")) {}

  StatusOr<int64_t> AllocateAndCommit() {
    std::unique_ptr<kv::Transaction> txn = db_->CreateTransaction();
    StatusOr<int64_t> allocated = allocator_.Allocate(*txn);
    if (!allocated.ok()) return allocated;
    Status committed = txn->Commit();
    if (!committed.ok()) return committed;
    return allocated;
  }

  // Marks every integer of [begin, end) except `free` as handed out.
  void TakeAllBut(int64_t begin, int64_t end, int64_t free) {
    ASSERT_OK(db_->Run([&](kv::Transaction& txn) {
      for (int64_t n = begin; n < end; ++n) {
        if (n != free) txn.Set(allocator_.recent().Pack(Tuple::Of(n)), "");
      }
      return Status();
    }));
  }

  HighContentionAllocator allocator_;
};

TEST(HighContentionAllocatorWindowTest, WindowsGrowWithTheirStart) {
  EXPECT_EQ(HighContentionAllocator::WindowSize(0), 64);
  EXPECT_EQ(HighContentionAllocator::WindowSize(254), 64);
  EXPECT_EQ(HighContentionAllocator::WindowSize(255), 1024);
  EXPECT_EQ(HighContentionAllocator::WindowSize(65534), 1024);
  EXPECT_EQ(HighContentionAllocator::WindowSize(65535), 8192);
  EXPECT_EQ(HighContentionAllocator::WindowSize(int64_t{1} << 40), 8192);
}

TEST_P(HighContentionAllocatorTest, FirstAllocationWritesTheCounterAndTheRecentEntry) {
  StatusOr<int64_t> allocated = AllocateAndCommit();
  ASSERT_OK(allocated);
  EXPECT_GE(*allocated, 0);
  EXPECT_LT(*allocated, 64);
  EXPECT_EQ(allocator_.counters().key(), "h\x14");
  EXPECT_EQ(allocator_.recent().key(), "h\x15\x01");
  std::vector<kv::KeyValue> rows = ScanPrefix("h");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (kv::KeyValue{allocator_.counters().Pack(Tuple::Of(0)), Le64(1)}));
  EXPECT_EQ(rows[1], (kv::KeyValue{allocator_.recent().Pack(Tuple::Of(*allocated)), ""}));
}

TEST_P(HighContentionAllocatorTest, WindowAdvancesWhenHalfFullAndForgetsTheOldOne) {
  std::set<int64_t> first_window;
  for (int i = 0; i < 31; ++i) {
    StatusOr<int64_t> allocated = AllocateAndCommit();
    ASSERT_OK(allocated);
    EXPECT_LT(*allocated, 64);
    first_window.insert(*allocated);
  }
  EXPECT_EQ(first_window.size(), 31u);

  StatusOr<int64_t> next = AllocateAndCommit();
  ASSERT_OK(next);
  EXPECT_GE(*next, 64);
  EXPECT_LT(*next, 128);
  std::vector<kv::KeyValue> rows = ScanPrefix("h");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (kv::KeyValue{allocator_.counters().Pack(Tuple::Of(64)), Le64(1)}));
  EXPECT_EQ(rows[1], (kv::KeyValue{allocator_.recent().Pack(Tuple::Of(*next)), ""}));
}

TEST_P(HighContentionAllocatorTest, WindowsOf64ThenOf1024WithinOneTransaction) {
  std::unique_ptr<kv::Transaction> txn = db_->CreateTransaction();
  std::vector<int64_t> allocated;
  for (int i = 0; i < 400; ++i) {
    StatusOr<int64_t> n = allocator_.Allocate(*txn);
    ASSERT_OK(n);
    allocated.push_back(*n);
  }
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(std::set<int64_t>(allocated.begin(), allocated.end()).size(), 400u);
  // 31 allocations fill each 64-wide window at 0, 64, 128 and 192 to half; then the window at
  // 256 holds 1,024.
  for (int i = 0; i < 400; ++i) {
    int64_t window_start = i < 124 ? 64 * (i / 31) : 256;
    int64_t window_end = i < 124 ? window_start + 64 : 256 + 1024;
    EXPECT_GE(allocated[i], window_start) << "allocation " << i;
    EXPECT_LT(allocated[i], window_end) << "allocation " << i;
  }
  std::vector<kv::KeyValue> counters = ScanPrefix(allocator_.counters().key());
  ASSERT_EQ(counters.size(), 1u);
  EXPECT_EQ(counters[0],
            (kv::KeyValue{allocator_.counters().Pack(Tuple::Of(256)), Le64(400 - 124)}));
}

TEST_P(HighContentionAllocatorTest, UncommittedAllocationLeavesNoTrace) {
  {
    std::unique_ptr<kv::Transaction> txn = db_->CreateTransaction();
    ASSERT_OK(allocator_.Allocate(*txn));
  }
  EXPECT_TRUE(ScanPrefix("h").empty());
}

TEST_P(HighContentionAllocatorTest, TransactionsThatPickTheSameIntegerConflict) {
  TakeAllBut(0, 64, 7);
  std::unique_ptr<kv::Transaction> first = db_->CreateTransaction();
  std::unique_ptr<kv::Transaction> second = db_->CreateTransaction();
  StatusOr<int64_t> a = allocator_.Allocate(*first);
  StatusOr<int64_t> b = allocator_.Allocate(*second);
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(*a, 7);
  EXPECT_EQ(*b, 7);
  ASSERT_OK(first->Commit());
  EXPECT_TRUE(HasCode(second->Commit(), ErrorCode::kNotCommitted));
}

TEST_P(HighContentionAllocatorTest, TransactionsThatPickDifferentIntegersBothCommit) {
  TakeAllBut(0, 64, 7);
  ASSERT_OK(db_->Run([&](kv::Transaction& txn) {
    txn.Clear(allocator_.recent().Pack(Tuple::Of(9)));
    return Status();
  }));
  std::unique_ptr<kv::Transaction> first = db_->CreateTransaction();
  StatusOr<int64_t> a = allocator_.Allocate(*first);
  ASSERT_OK(a);
  // Candidates are random: retry the second transaction until it picks the other integer.
  std::unique_ptr<kv::Transaction> second = db_->CreateTransaction();
  StatusOr<int64_t> b = allocator_.Allocate(*second);
  ASSERT_OK(b);
  while (*b == *a) {
    second->Reset();
    b = allocator_.Allocate(*second);
    ASSERT_OK(b);
  }
  EXPECT_EQ(std::set<int64_t>({*a, *b}), std::set<int64_t>({7, 9}));
  // The counter ADDs and the snapshot reads of the window leave nothing to conflict on.
  EXPECT_OK(first->Commit());
  EXPECT_OK(second->Commit());
}

// Each round, every thread allocates in a transaction whose first attempt waits until all
// threads have allocated before it commits, so the allocations of a round overlap for sure.
TEST_P(HighContentionAllocatorTest, OverlappingAllocationsAreDistinctAndRarelyConflict) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 150;
  std::barrier together(kThreads);
  std::mutex mu;
  std::vector<int64_t> all;
  std::atomic<int> retries{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < kRounds; ++round) {
        int64_t allocated = -1;
        bool first_attempt = true;
        Status status = db_->Run([&](kv::Transaction& txn) {
          if (!first_attempt) retries.fetch_add(1);
          StatusOr<int64_t> n = allocator_.Allocate(txn);
          if (first_attempt) {
            first_attempt = false;
            together.arrive_and_wait();
          }
          if (!n.ok()) return n.status();
          allocated = *n;
          return Status();
        });
        EXPECT_OK(status);
        std::lock_guard<std::mutex> lock(mu);
        all.push_back(allocated);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  constexpr size_t kAllocations = size_t{kThreads} * kRounds;
  ASSERT_EQ(all.size(), kAllocations);
  EXPECT_EQ(std::set<int64_t>(all.begin(), all.end()).size(), all.size());
  EXPECT_GE(*std::min_element(all.begin(), all.end()), 0);
  // A transaction retries when another of its round picked the same candidate (the window
  // is at most half full, so rarely) or advanced the window it read candidates in (once per
  // window). Were the counter or the window read with conflicts, all but one of each round
  // would retry: 450 retries.
  EXPECT_LT(static_cast<size_t>(retries.load()), kAllocations / 8);
}

INSTANTIATE_TEST_SUITE_P(Backends, HighContentionAllocatorTest, testing::ValuesIn(TestBackends()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace recordstore
