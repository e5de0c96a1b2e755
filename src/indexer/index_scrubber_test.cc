#include "indexer/index_scrubber.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "indexer/indexer_test_util.h"

namespace recordstore::indexer {
namespace {

using store::RecordStore;
using testing_util::InStore;
using testing_util::SaveText;
using testing_util::StoreSpace;

class IndexScrubberTest : public testing::Test {
 protected:
  IndexScrubberTest() {
    auto db = kv::Database::Open("memory://");
    EXPECT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    auto v3 = testing_util::ShopMetaData(3);
    EXPECT_TRUE(v3.ok()) << v3.status();
    v3_ = std::make_unique<metadata::RecordMetaData>(*std::move(v3));
    Run([](RecordStore& store) -> Status {
      RETURN_IF_ERROR(SaveText(store, "Customer", R"(customer_id: 5 email: "ada@example.com")"));
      RETURN_IF_ERROR(SaveText(store, "Customer", R"(customer_id: 6 email: "bob@example.com")"));
      RETURN_IF_ERROR(SaveText(store, "Customer", R"(customer_id: 7 name: "Cy")"));
      RETURN_IF_ERROR(SaveText(store, "Order", R"(order_id: 1 customer_id: 5)"));
      return SaveText(store, "Order", R"(order_id: 2 customer_id: 6)");
    });
  }

  void Run(const std::function<Status(RecordStore&)>& body) {
    ASSERT_TRUE(InStore(*db_, *v3_, body).ok());
  }
  std::string EntryKey(const Tuple& entry) {
    return StoreSpace().Pack(Tuple::Of(2, "customer_by_email").Extend(entry));
  }
  // Drops Ada's entry, adds one for a record that does not exist and one with a stale email.
  void Corrupt() {
    Run([&](RecordStore& store) {
      store.context().txn().Clear(EntryKey(Tuple::Of("ada@example.com", 1, 5)));
      store.context().txn().Set(EntryKey(Tuple::Of("ghost@example.com", 1, 9)), "");
      store.context().txn().Set(EntryKey(Tuple::Of("old@example.com", 1, 6)), "");
      return absl::OkStatus();
    });
  }

  std::unique_ptr<kv::Database> db_;
  std::unique_ptr<metadata::RecordMetaData> v3_;
};

using Entries = std::vector<ScrubbedEntry>;
const Entries kMissing{{Tuple::Of("ada@example.com", 1, 5), Tuple::Of(1, 5)}};
const Entries kDangling{{Tuple::Of("ghost@example.com", 1, 9), Tuple::Of(1, 9)},
                        {Tuple::Of("old@example.com", 1, 6), Tuple::Of(1, 6)}};

TEST_F(IndexScrubberTest, AHealthyIndexHasNoDifferences) {
  StatusOr<ScrubReport> report = ScrubIndex(*db_, StoreSpace(), *v3_, "customer_by_email");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->records_scanned, 5);
  EXPECT_EQ(report->entries_scanned, 3);  // Cy has no email: a null entry
  EXPECT_EQ(report->missing, Entries{});
  EXPECT_EQ(report->dangling, Entries{});
  EXPECT_EQ(report->continuation, "");
  // A fan-out index: one entry per distinct key.
  report = ScrubIndex(*db_, StoreSpace(), *v3_, "order_by_sku");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->missing.size() + report->dangling.size(), 0u);
}

TEST_F(IndexScrubberTest, ReportsMissingAndDanglingEntriesExactly) {
  Corrupt();
  StatusOr<ScrubReport> report = ScrubIndex(*db_, StoreSpace(), *v3_, "customer_by_email");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->records_scanned, 5);
  EXPECT_EQ(report->entries_scanned, 4);
  EXPECT_EQ(report->missing, kMissing);
  EXPECT_EQ(report->dangling, kDangling);
  EXPECT_EQ(report->repaired, 0);
  // Reporting changed nothing.
  report = ScrubIndex(*db_, StoreSpace(), *v3_, "customer_by_email");
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->missing, kMissing);
}

TEST_F(IndexScrubberTest, ResumesInBatchesWithTheSameReport) {
  Corrupt();
  ScrubOptions options;
  options.entries_per_transaction = 1;
  options.max_transactions = 1;
  ScrubReport total;
  std::string continuation;
  int calls = 0;
  do {
    StatusOr<ScrubReport> step =
        ScrubIndex(*db_, StoreSpace(), *v3_, "customer_by_email", options, continuation);
    ASSERT_TRUE(step.ok()) << step.status();
    ++calls;
    total.records_scanned += step->records_scanned;
    total.entries_scanned += step->entries_scanned;
    total.missing.insert(total.missing.end(), step->missing.begin(), step->missing.end());
    total.dangling.insert(total.dangling.end(), step->dangling.begin(), step->dangling.end());
    continuation = step->continuation;
  } while (!continuation.empty());
  // Five records and four entries, one a transaction, and one more for the records' end (the
  // record cursor cannot tell it reached the end before it reads on; the entry cursor can).
  EXPECT_EQ(calls, 10);
  EXPECT_EQ(total.records_scanned, 5);
  EXPECT_EQ(total.entries_scanned, 4);
  EXPECT_EQ(total.missing, kMissing);
  EXPECT_EQ(total.dangling, kDangling);
}

TEST_F(IndexScrubberTest, RepairsWhatItReports) {
  Corrupt();
  ScrubOptions repair;
  repair.repair = true;
  StatusOr<ScrubReport> report = ScrubIndex(*db_, StoreSpace(), *v3_, "customer_by_email", repair);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->missing, kMissing);
  EXPECT_EQ(report->dangling, kDangling);
  EXPECT_EQ(report->repaired, 3);
  report = ScrubIndex(*db_, StoreSpace(), *v3_, "customer_by_email");
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->entries_scanned, 3);
  EXPECT_EQ(report->missing.size() + report->dangling.size(), 0u);
  // The unique index works again: Ada's email is taken.
  cursor::RecordContext context(db_->CreateTransaction());
  auto store = RecordStore::Open(context, StoreSpace(), *v3_);
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE(
      HasErrorCode(SaveText(**store, "Customer", R"(customer_id: 8 email: "ada@example.com")"),
                   ErrorCode::kUniquenessViolation));
}

TEST_F(IndexScrubberTest, RefusesWhatItCannotScrub) {
  EXPECT_EQ(ScrubIndex(*db_, StoreSpace(), *v3_, "records_by_type").status().message(),
            "unsupported (8006): index records_by_type is a count index; only value and version "
            "indexes can be scrubbed");
  EXPECT_EQ(ScrubIndex(*db_, StoreSpace(), *v3_, "nope").status().message(),
            "not_found (8002): no index nope");
  EXPECT_TRUE(HasErrorCode(
      ScrubIndex(*db_, StoreSpace(), *v3_, "customer_by_email", {}, "garbage").status(),
      ErrorCode::kInvalidContinuation));
  Run([](RecordStore& store) {
    return store.SetIndexState("order_by_sku", index::IndexState::kWriteOnly);
  });
  EXPECT_EQ(ScrubIndex(*db_, StoreSpace(), *v3_, "order_by_sku").status().message(),
            "index_not_readable (8013): index order_by_sku is write_only; only a readable index "
            "can be scrubbed");
}

}  // namespace
}  // namespace recordstore::indexer
