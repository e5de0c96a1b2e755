// Test support shared by the directory layer and allocator tests: a fixture that opens a fresh
// database per test on each backend, status assertions and raw key-space helpers.
#ifndef RECORDSTORE_TUPLE_DIRECTORY_TEST_UTIL_H_
#define RECORDSTORE_TUPLE_DIRECTORY_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "recordstore/kv.h"
#include "recordstore/status.h"

namespace recordstore {

inline testing::AssertionResult IsOk(const Status& status) {
  if (status.ok()) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "expected OK, got " << status.ToString();
}
template <typename T>
testing::AssertionResult IsOk(const StatusOr<T>& status_or) {
  return IsOk(status_or.status());
}
inline testing::AssertionResult HasCode(const Status& status, ErrorCode code) {
  if (HasErrorCode(status, code)) return testing::AssertionSuccess();
  return testing::AssertionFailure()
         << "expected " << ErrorName(code) << " (" << static_cast<int>(code) << "), got "
         << (status.ok() ? std::string("OK") : status.ToString());
}
template <typename T>
testing::AssertionResult HasCode(const StatusOr<T>& status_or, ErrorCode code) {
  return HasCode(status_or.status(), code);
}

#define ASSERT_OK(expr) ASSERT_TRUE(::recordstore::IsOk(expr))
#define EXPECT_OK(expr) EXPECT_TRUE(::recordstore::IsOk(expr))

// The first key after every key that starts with `prefix` (which has a byte below 0xff).
inline std::string TestPrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (static_cast<uint8_t>(end.back()) == 0xff) end.pop_back();
  end.back() = static_cast<char>(static_cast<uint8_t>(end.back()) + 1);
  return end;
}

// Runs each test on a fresh memory:// database and a fresh rocksdb:// one in a temporary
// directory. Commits are not fsynced: durability is the KV tests' subject, not this one's.
class KvBackendTest : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string url = "memory://";
    if (GetParam() == "rocksdb") {
      std::string dir =
          (std::filesystem::path(testing::TempDir()) / "rs-directory-XXXXXX").string();
      ASSERT_NE(mkdtemp(dir.data()), nullptr);
      dir_ = dir;
      url = "rocksdb://" + dir_ + "/db";
    }
    kv::DatabaseOptions options;
    options.sync_commits = false;
    StatusOr<std::unique_ptr<kv::Database>> db = kv::Database::Open(url, options);
    ASSERT_OK(db) << " opening " << url;
    db_ = *std::move(db);
  }

  void TearDown() override {
    db_.reset();
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  // Every committed row in [begin, end), read in a fresh transaction.
  std::vector<kv::KeyValue> Scan(std::string_view begin, std::string_view end) {
    std::unique_ptr<kv::Transaction> txn = db_->CreateTransaction();
    StatusOr<kv::RangeResult> rows = txn->GetRange(begin, end);
    EXPECT_OK(rows);
    return rows.ok() ? rows->rows : std::vector<kv::KeyValue>();
  }
  std::vector<kv::KeyValue> ScanPrefix(std::string_view prefix) {
    return Scan(prefix, TestPrefixEnd(prefix));
  }

  std::string dir_;
  std::unique_ptr<kv::Database> db_;
};

inline std::vector<std::string> TestBackends() { return {"memory", "rocksdb"}; }

}  // namespace recordstore

#endif  // RECORDSTORE_TUPLE_DIRECTORY_TEST_UTIL_H_
