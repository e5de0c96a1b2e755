// Helpers shared by the cursor tests: databases on both engines and draining cursors.
#ifndef RECORDSTORE_CURSOR_CURSOR_TEST_UTIL_H_
#define RECORDSTORE_CURSOR_CURSOR_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cursor/cursor.h"
#include "recordstore/kv.h"

namespace recordstore::cursor::testing_util {

// What a cursor returned until it stopped.
template <typename T>
struct Drained {
  std::vector<T> items;
  // continuations[i] follows items[i].
  std::vector<Continuation> continuations;
  NoNextReason reason = NoNextReason::kSourceExhausted;
  Continuation stop;
};

// Calls Next until a result without an item (or an error).
template <typename T>
StatusOr<Drained<T>> Drain(RecordCursor<T>& cursor) {
  Drained<T> out;
  while (true) {
    StatusOr<CursorResult<T>> result = cursor.Next();
    if (!result.ok()) return result.status();
    if (!result->has_value()) {
      out.reason = result->no_next_reason();
      out.stop = result->continuation();
      return out;
    }
    out.items.push_back(result->TakeValue());
    out.continuations.push_back(std::move(*result).continuation());
  }
}

// A database on "memory" or "rocksdb" (in a fresh temporary directory).
class TestDatabase {
 public:
  explicit TestDatabase(const std::string& engine) {
    std::string url = "memory://";
    if (engine == "rocksdb") {
      std::string tmpl = (std::filesystem::path(testing::TempDir()) / "rs-cursor-XXXXXX").string();
      if (mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
      dir_ = tmpl;
      url = "rocksdb://" + dir_;
    }
    auto db = kv::Database::Open(url);
    EXPECT_TRUE(db.ok()) << db.status();
    if (db.ok()) db_ = *std::move(db);
  }
  ~TestDatabase() {
    db_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  kv::Database& db() { return *db_; }

 private:
  std::string dir_;
  std::unique_ptr<kv::Database> db_;
};

}  // namespace recordstore::cursor::testing_util

#endif  // RECORDSTORE_CURSOR_CURSOR_TEST_UTIL_H_
