// RangeReader: streaming a range in growing batches, on every backend.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "recordstore/kv.h"

namespace recordstore::kv {
namespace {

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "r%05d", i);
  return buf;
}

class RangeReaderTest : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string url = "memory://";
    if (GetParam() == "rocksdb") {
      std::string tmpl = (std::filesystem::path(testing::TempDir()) / "rs-reader-XXXXXX").string();
      ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
      dir_ = tmpl;
      url = "rocksdb://" + dir_;
    }
    auto db = Database::Open(url);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(db_->Run([](Transaction& txn) {
                     for (int i = 0; i < 1000; ++i) txn.Set(Key(i), std::to_string(i));
                     return absl::OkStatus();
                   })
                    .ok());
  }
  void TearDown() override {
    db_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Streams and returns the keys; `batches` receives the number of GetRange calls.
  std::vector<std::string> Stream(Transaction& txn, RangeEndpoint begin, RangeEndpoint end,
                                  RangeOptions options, int* batches) {
    RangeReader reader(txn, std::move(begin), std::move(end), options, {4, 64});
    std::vector<std::string> keys;
    while (true) {
      auto row = reader.Next();
      EXPECT_TRUE(row.ok()) << row.status();
      if (!row.ok() || *row == nullptr) break;
      keys.push_back((*row)->key);
    }
    *batches = reader.batches_fetched();
    return keys;
  }

  std::string dir_;
  std::unique_ptr<Database> db_;
};

TEST_P(RangeReaderTest, StreamsEveryRowInGrowingBatches) {
  auto txn = db_->CreateTransaction();
  int batches = 0;
  auto keys =
      Stream(*txn, RangeEndpoint::Inclusive(Key(0)), RangeEndpoint::Exclusive("s"), {}, &batches);
  ASSERT_EQ(keys.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(keys[i], Key(i));
  // 4 + 8 + 16 + 32 = 60 rows in 4 growing batches, then 64-row batches: the 15th ends the
  // range with the last 44 rows (more = false, so no empty batch follows).
  EXPECT_EQ(batches, 19);
}

TEST_P(RangeReaderTest, ReverseWithLimitAndExclusiveEndpoints) {
  auto txn = db_->CreateTransaction();
  RangeOptions options;
  options.reverse = true;
  options.limit = 10;
  int batches = 0;
  auto keys = Stream(*txn, RangeEndpoint::Exclusive(Key(100)), RangeEndpoint::Exclusive(Key(200)),
                     options, &batches);
  ASSERT_EQ(keys.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(keys[i], Key(199 - i));
  EXPECT_EQ(batches, 2);  // 4 rows, then the remaining 6
}

TEST_P(RangeReaderTest, SeesUncommittedWritesAndClears) {
  auto txn = db_->CreateTransaction();
  txn->ClearRange(Key(10), Key(990));
  txn->Set(Key(500), "new");
  int batches = 0;
  auto keys =
      Stream(*txn, RangeEndpoint::Inclusive(""), RangeEndpoint::Exclusive("s"), {}, &batches);
  ASSERT_EQ(keys.size(), 21u);
  EXPECT_EQ(keys[9], Key(9));
  EXPECT_EQ(keys[10], Key(500));
  EXPECT_EQ(keys[11], Key(990));
}

TEST_P(RangeReaderTest, StreamedRangeConflictsWithAnInsertIntoIt) {
  auto reader_txn = db_->CreateTransaction();
  int batches = 0;
  auto keys = Stream(*reader_txn, RangeEndpoint::Inclusive(Key(0)),
                     RangeEndpoint::Exclusive(Key(50)), {}, &batches);
  ASSERT_EQ(keys.size(), 50u);
  ASSERT_TRUE(db_->Run([](Transaction& txn) {
                   txn.Set(Key(40) + "x", "phantom");
                   return absl::OkStatus();
                 })
                  .ok());
  reader_txn->Set("elsewhere", "1");
  Status commit = reader_txn->Commit();
  EXPECT_TRUE(HasErrorCode(commit, ErrorCode::kNotCommitted)) << commit;
}

TEST_P(RangeReaderTest, ErrorsSurfaceFromNext) {
  auto txn = db_->CreateTransaction();
  txn->Cancel();
  RangeReader reader(*txn, RangeEndpoint::Inclusive(""), RangeEndpoint::Exclusive("s"));
  auto row = reader.Next();
  EXPECT_TRUE(HasErrorCode(row.status(), ErrorCode::kTransactionCancelled)) << row.status();
}

INSTANTIATE_TEST_SUITE_P(Backends, RangeReaderTest, testing::Values("memory", "rocksdb"),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace recordstore::kv
