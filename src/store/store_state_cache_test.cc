// The store state cache (store_state_cache.h): unit tests of the cache itself, and record
// store opens through it, each checked against what a read from the transaction gives.
#include "store/store_state_cache.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "metadata/metadata_test_util.h"
#include "recordstore/kv.h"
#include "store/record_store.h"
#include "tuple/directory_layer.h"

namespace recordstore::store {
namespace {

using cursor::RecordContext;
using index::IndexState;
using metadata::RecordMetaData;

const Subspace kStore(Tuple::Of("store"));

std::shared_ptr<const StoreState> StateWithUserVersion(int user_version) {
  auto state = std::make_shared<StoreState>();
  state->header.set_user_version(user_version);
  return state;
}

TEST(StoreStateCacheTest, FindsAnEntryOnlyAtItsMetadataVersion) {
  StoreStateCache cache(100);
  cache.Insert(1, "s", std::string("v1"), StateWithUserVersion(1));
  ASSERT_NE(cache.Find(1, "s", std::string("v1")), nullptr);
  EXPECT_EQ(cache.Find(1, "s", std::string("v1"))->header.user_version(), 1);
  EXPECT_EQ(cache.Find(1, "s", std::string("v2")), nullptr);
  EXPECT_EQ(cache.Find(1, "s", std::nullopt), nullptr);
  EXPECT_EQ(cache.Find(1, "t", std::string("v1")), nullptr);
  EXPECT_EQ(cache.Find(2, "s", std::string("v1")), nullptr);
  EXPECT_EQ(cache.hits(), 2);
  EXPECT_EQ(cache.misses(), 4);
}

// A transaction with an old read version must not replace what current transactions need.
TEST(StoreStateCacheTest, KeepsTheNewerOfTwoMetadataVersions) {
  StoreStateCache cache(100);
  cache.Insert(1, "s", std::string("v2"), StateWithUserVersion(2));
  cache.Insert(1, "s", std::string("v1"), StateWithUserVersion(1));
  cache.Insert(1, "s", std::nullopt, StateWithUserVersion(0));
  EXPECT_EQ(cache.Find(1, "s", std::string("v1")), nullptr);
  ASSERT_NE(cache.Find(1, "s", std::string("v2")), nullptr);
  cache.Insert(1, "s", std::string("v3"), StateWithUserVersion(3));
  EXPECT_EQ(cache.Find(1, "s", std::string("v2")), nullptr);
  ASSERT_NE(cache.Find(1, "s", std::string("v3")), nullptr);
  EXPECT_EQ(cache.Find(1, "s", std::string("v3"))->header.user_version(), 3);
}

// "s3" for 3. (Spelled out because GCC 12 warns falsely on "s" + std::to_string(3).)
std::string Name(int number) {
  std::string name = "s";
  name += std::to_string(number);
  return name;
}

TEST(StoreStateCacheTest, HoldsAtMostItsCapacityEvictingTheLeastRecentlyUsed) {
  StoreStateCache cache(32);
  cache.Insert(1, "kept", std::nullopt, StateWithUserVersion(0));
  for (int i = 0; i < 1000; ++i) {
    cache.Insert(1, Name(i), std::nullopt, StateWithUserVersion(i));
    // Used all along: never the least recently used of its shard.
    ASSERT_NE(cache.Find(1, "kept", std::nullopt), nullptr) << "after " << i;
  }
  int cached = 0;
  for (int i = 0; i < 1000; ++i) {
    if (cache.Find(1, Name(i), std::nullopt) != nullptr) ++cached;
  }
  // 16 shards of 2 entries, one of which holds "kept".
  EXPECT_LE(cached, 31);
  EXPECT_GT(cached, 0);
  // The newest entries survived, the oldest did not.
  EXPECT_NE(cache.Find(1, "s999", std::nullopt), nullptr);
  EXPECT_EQ(cache.Find(1, "s0", std::nullopt), nullptr);
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::path(testing::TempDir()) / "rs-statecache-XXXXXX").string();
    EXPECT_NE(mkdtemp(tmpl.data()), nullptr) << tmpl;
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::unique_ptr<kv::Database> OpenDatabase(const std::string& url) {
  auto db = kv::Database::Open(url);
  EXPECT_TRUE(db.ok()) << db.status();
  return db.ok() ? *std::move(db) : nullptr;
}

class StoreStateCacheOpenTest : public testing::Test {
 protected:
  StoreStateCacheOpenTest()
      : metadata_(metadata::BuildOrDie(metadata::ShopProto())), db_(OpenDatabase("memory://")) {}

  RecordStoreOptions Cached() {
    RecordStoreOptions options;
    options.state_cache = &cache_;
    return options;
  }
  static RecordStoreOptions Uncached() {
    RecordStoreOptions options;
    options.state_cache = nullptr;
    return options;
  }

  std::unique_ptr<RecordStore> Open(RecordContext& context, const RecordStoreOptions& options,
                                    const RecordMetaData* metadata = nullptr) {
    auto store = RecordStore::Open(context, kStore, metadata ? *metadata : metadata_, options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::unique_ptr<RecordContext> NewContext(kv::Database* db = nullptr) {
    return std::make_unique<RecordContext>((db ? db : db_.get())->CreateTransaction());
  }

  // Runs `body` on the store, opened through the test's cache, and commits.
  void InStore(const std::function<void(RecordStore&)>& body, kv::Database* db = nullptr) {
    std::unique_ptr<RecordContext> context = NewContext(db);
    std::unique_ptr<RecordStore> store = Open(*context, Cached());
    ASSERT_NE(store, nullptr);
    body(*store);
    ASSERT_TRUE(context->Commit().ok());
  }

  // The header and every index state, as one string to compare.
  std::string Describe(const RecordStore& store) {
    std::string out = store.header().ShortDebugString();
    for (const metadata::Index& index : metadata_.indexes()) {
      out += " " + index.name() + "=" +
             std::string(index::IndexStateName(store.GetIndexState(index.name())));
    }
    return out;
  }

  // What a fresh transaction sees through the cache, checking that it came from the cache,
  // and through a read from the transaction.
  std::string OpenedFromCache(kv::Database* db = nullptr) {
    const int64_t hits = cache_.hits();
    std::unique_ptr<RecordContext> context = NewContext(db);
    std::unique_ptr<RecordStore> store = Open(*context, Cached());
    EXPECT_EQ(cache_.hits(), hits + 1) << "the open did not use the cache";
    return store ? Describe(*store) : "";
  }
  std::string OpenedUncached(kv::Database* db = nullptr) {
    std::unique_ptr<RecordContext> context = NewContext(db);
    std::unique_ptr<RecordStore> store = Open(*context, Uncached());
    return store ? Describe(*store) : "";
  }

  // Writes a header straight to the KV store, without bumping the metadata version, as
  // stores written before the metadata version existed have it.
  void WriteRawHeader(kv::Database& db, int user_version) {
    std::unique_ptr<kv::Transaction> txn = db.CreateTransaction();
    proto::StoreHeader header;
    header.set_format_version(kStoreFormatVersion);
    header.set_metadata_version(metadata_.version());
    header.set_user_version(user_version);
    txn->Set(kStore.Pack(Tuple::Of(0)), header.SerializeAsString());
    ASSERT_TRUE(txn->Commit().ok());
  }

  StoreStateCache cache_{1000};
  RecordMetaData metadata_;
  std::unique_ptr<kv::Database> db_;
};

// Removing a directory clears the store inside it with a range clear, not through the
// store: the directory layer bumps the metadata version, so a cached header is not served for
// the gone store.
TEST_F(StoreStateCacheOpenTest, AStoreInARemovedDirectoryIsNotServedFromTheCache) {
  const DirectoryLayer directories;
  const DirectoryPath path = {"tenant", "space"};
  std::optional<Subspace> space;
  {
    std::unique_ptr<kv::Transaction> txn = db_->CreateTransaction();
    auto created = directories.Create(*txn, path);
    ASSERT_TRUE(created.ok()) << created.status();
    space.emplace(*created);
    ASSERT_TRUE(txn->Commit().ok());
  }
  auto open = [&](OpenMode mode) {
    RecordStoreOptions options = Cached();
    options.open_mode = mode;
    RecordContext context(db_->CreateTransaction());
    StatusOr<std::unique_ptr<RecordStore>> store =
        RecordStore::Open(context, *space, metadata_, options);
    if (store.ok()) {
      EXPECT_TRUE(context.Commit().ok());
    }
    return store.status();
  };
  ASSERT_TRUE(open(OpenMode::kCreate).ok());
  const int64_t hits = cache_.hits();
  ASSERT_TRUE(open(OpenMode::kOpenExisting).ok());  // fills the cache
  ASSERT_TRUE(open(OpenMode::kOpenExisting).ok());
  EXPECT_EQ(cache_.hits(), hits + 1);
  {
    std::unique_ptr<kv::Transaction> txn = db_->CreateTransaction();
    ASSERT_TRUE(directories.Remove(*txn, path).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  Status gone = open(OpenMode::kOpenExisting);
  EXPECT_TRUE(HasErrorCode(gone, ErrorCode::kNotFound)) << gone;
}

TEST_F(StoreStateCacheOpenTest, AnOpenFromTheCacheSeesWhatAReadSees) {
  InStore([](RecordStore& store) {
    ASSERT_TRUE(store.SetUserVersion(7).ok());
    ASSERT_TRUE(store.SetIndexState("order_by_sku", IndexState::kDisabled).ok());
    ASSERT_TRUE(store.SetIndexState("customer_by_email", IndexState::kWriteOnly).ok());
  });
  const int64_t misses = cache_.misses();
  InStore([](RecordStore&) {});  // fills the cache
  EXPECT_EQ(cache_.misses(), misses + 1);
  const std::string uncached = OpenedUncached();
  EXPECT_NE(uncached.find("user_version: 7"), std::string::npos) << uncached;
  EXPECT_NE(uncached.find("order_by_sku=disabled"), std::string::npos) << uncached;
  EXPECT_NE(uncached.find("customer_by_email=write_only"), std::string::npos) << uncached;
  EXPECT_EQ(OpenedFromCache(), uncached);
  EXPECT_EQ(OpenedFromCache(), uncached);
}

TEST_F(StoreStateCacheOpenTest, EveryHeaderOrIndexStateChangeIsSeenByTheNextOpen) {
  InStore([](RecordStore&) {});
  const std::vector<std::function<void(RecordStore&)>> changes = {
      [](RecordStore& store) { ASSERT_TRUE(store.SetUserVersion(3).ok()); },
      [](RecordStore& store) {
        ASSERT_TRUE(store.SetIndexState("order_by_sku", IndexState::kDisabled).ok());
      },
      // order_by_sku stays disabled, so only the index state range changes, not the header.
      [](RecordStore& store) {
        ASSERT_TRUE(store.SetIndexState("customer_by_email", IndexState::kWriteOnly).ok());
      },
      [](RecordStore& store) {
        ASSERT_TRUE(store.SetIndexState("order_by_sku", IndexState::kReadable).ok());
      },
      [](RecordStore& store) {
        ASSERT_TRUE(store.ClearAndMarkIndexWriteOnly("order_by_sku").ok());
      },
      [](RecordStore& store) {
        ASSERT_TRUE(store.SetIndexState("customer_by_email", IndexState::kReadable).ok());
        ASSERT_TRUE(store.SetIndexState("order_by_sku", IndexState::kReadable).ok());
      },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    SCOPED_TRACE("change " + std::to_string(i));
    OpenedUncached();
    InStore([](RecordStore&) {});  // cached before the change
    InStore(changes[i]);
    const std::string expected = OpenedUncached();
    InStore([&](RecordStore& store) { EXPECT_EQ(Describe(store), expected); });
    EXPECT_EQ(OpenedFromCache(), expected);
  }
}

TEST_F(StoreStateCacheOpenTest, AMetadataUpgradeIsSeenByTheNextOpen) {
  InStore([](RecordStore&) {});
  InStore([](RecordStore&) {});
  metadata::proto::RecordMetaData next = metadata::ShopProto();
  next.set_version(4);
  *next.add_indexes() = metadata::ParseText<metadata::proto::Index>(R"pb(
    name: "customer_by_name"
    type: "value"
    root { field { name: "name" } }
    record_types: "Customer"
    added_version: 4
    last_modified_version: 4
  )pb");
  RecordMetaData upgraded = metadata::BuildOrDie(next);
  RecordStoreOptions large = Cached();
  large.inline_build_record_limit = -1;  // leaves the new index write-only
  {
    std::unique_ptr<RecordContext> context = NewContext();
    std::unique_ptr<RecordStore> store = Open(*context, large, &upgraded);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(context->Commit().ok());
  }
  std::unique_ptr<RecordContext> context = NewContext();
  std::unique_ptr<RecordStore> store = Open(*context, Cached(), &upgraded);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->header().metadata_version(), upgraded.version());
  EXPECT_EQ(store->GetIndexState("customer_by_name"), IndexState::kWriteOnly);
  // The old metadata is now refused, also when the store is opened from the cache.
  std::unique_ptr<RecordContext> old = NewContext();
  EXPECT_TRUE(HasErrorCode(RecordStore::Open(*old, kStore, metadata_, Cached()).status(),
                           ErrorCode::kMetadataTooOld));
}

TEST_F(StoreStateCacheOpenTest, ChangesOfTheSameTransactionAreSeenByItsLaterOpens) {
  InStore([](RecordStore&) {});
  InStore([](RecordStore&) {});
  std::unique_ptr<RecordContext> context = NewContext();
  std::unique_ptr<RecordStore> first = Open(*context, Cached());
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(first->SetUserVersion(9).ok());
  ASSERT_TRUE(first->SetIndexState("order_by_sku", IndexState::kDisabled).ok());
  std::unique_ptr<RecordStore> second = Open(*context, Cached());
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->header().user_version(), 9);
  EXPECT_EQ(second->GetIndexState("order_by_sku"), IndexState::kDisabled);
  ASSERT_TRUE(context->Commit().ok());
}

// What an open reads after its transaction's own changes must not be cached: the
// transaction may never commit. (With a header never bumped, the tag it would get is the
// current one.)
TEST_F(StoreStateCacheOpenTest, AnUncommittedChangeNeverReachesTheCache) {
  WriteRawHeader(*db_, 1);
  InStore([](RecordStore&) {});
  {
    std::unique_ptr<RecordContext> context = NewContext();
    std::unique_ptr<RecordStore> first = Open(*context, Cached());
    ASSERT_NE(first, nullptr);
    ASSERT_TRUE(first->SetUserVersion(5).ok());
    std::unique_ptr<RecordStore> second = Open(*context, Cached());
    ASSERT_NE(second, nullptr);
    EXPECT_EQ(second->header().user_version(), 5);
    // Not committed.
  }
  InStore([](RecordStore& store) { EXPECT_EQ(store.header().user_version(), 1); });
}

// An open served from the cache takes the read conflicts the reads would have taken.
TEST_F(StoreStateCacheOpenTest, AnOpenFromTheCacheConflictsWithALaterHeaderChange) {
  InStore([](RecordStore&) {});
  InStore([](RecordStore&) {});
  const int64_t hits = cache_.hits();
  std::unique_ptr<RecordContext> reader = NewContext();
  std::unique_ptr<RecordStore> opened = Open(*reader, Cached());
  ASSERT_NE(opened, nullptr);
  EXPECT_EQ(cache_.hits(), hits + 1);
  InStore([](RecordStore& store) { ASSERT_TRUE(store.SetUserVersion(4).ok()); });
  // A write of a key nothing else touches: only the open's conflict ranges can conflict.
  reader->txn().Set("unrelated", "x");
  EXPECT_TRUE(HasErrorCode(reader->Commit(), ErrorCode::kNotCommitted));
}

// With index states stored, a state change that leaves the header alone still conflicts:
// the open took a conflict on the index state range.
TEST_F(StoreStateCacheOpenTest, AnOpenFromTheCacheConflictsWithALaterIndexStateChange) {
  InStore([](RecordStore& store) {
    ASSERT_TRUE(store.SetIndexState("order_by_sku", IndexState::kDisabled).ok());
  });
  InStore([](RecordStore&) {});
  const int64_t hits = cache_.hits();
  std::unique_ptr<RecordContext> reader = NewContext();
  std::unique_ptr<RecordStore> opened = Open(*reader, Cached());
  ASSERT_NE(opened, nullptr);
  EXPECT_EQ(cache_.hits(), hits + 1);
  InStore([](RecordStore& store) {
    ASSERT_TRUE(store.SetIndexState("customer_by_email", IndexState::kDisabled).ok());
    EXPECT_TRUE(store.header().has_index_states());
  });
  // A write of a key nothing else touches: only the open's conflict ranges can conflict.
  reader->txn().Set("unrelated", "x");
  EXPECT_TRUE(HasErrorCode(reader->Commit(), ErrorCode::kNotCommitted));
}

TEST_F(StoreStateCacheOpenTest, AnOldReadVersionNeverSeesANewerHeader) {
  InStore([](RecordStore& store) { ASSERT_TRUE(store.SetUserVersion(1).ok()); });
  std::unique_ptr<RecordContext> old = NewContext();
  ASSERT_TRUE(old->txn().GetReadVersion().ok());
  InStore([](RecordStore& store) { ASSERT_TRUE(store.SetUserVersion(2).ok()); });
  InStore([](RecordStore& store) { EXPECT_EQ(store.header().user_version(), 2); });
  std::unique_ptr<RecordStore> store = Open(*old, Cached());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->header().user_version(), 1);
  // And its read did not replace the current entry.
  EXPECT_NE(OpenedFromCache().find("user_version: 2"), std::string::npos);
}

// Stores written before the metadata version existed (or by raw KV writes) share the
// "never bumped" version across databases: only the database id tells their entries apart.
TEST_F(StoreStateCacheOpenTest, TwoDatabasesNeverShareEntries) {
  std::unique_ptr<kv::Database> other = OpenDatabase("memory://");
  WriteRawHeader(*db_, 1);
  WriteRawHeader(*other, 2);
  InStore([](RecordStore& store) { EXPECT_EQ(store.header().user_version(), 1); });
  InStore([](RecordStore& store) { EXPECT_EQ(store.header().user_version(), 2); }, other.get());
  EXPECT_NE(OpenedFromCache().find("user_version: 1"), std::string::npos);
  EXPECT_NE(OpenedFromCache(other.get()).find("user_version: 2"), std::string::npos);
}

TEST_F(StoreStateCacheOpenTest, ADatabaseReopenedAtThePathWithOtherContentIsNotServedOldEntries) {
  TempDir dir;
  const std::string url = "rocksdb://" + dir.path() + "/db";
  std::unique_ptr<kv::Database> db = OpenDatabase(url);
  WriteRawHeader(*db, 1);
  InStore([](RecordStore& store) { EXPECT_EQ(store.header().user_version(), 1); }, db.get());
  db.reset();
  std::filesystem::remove_all(dir.path() + "/db");
  db = OpenDatabase(url);
  WriteRawHeader(*db, 2);
  InStore([](RecordStore& store) { EXPECT_EQ(store.header().user_version(), 2); }, db.get());
}

TEST_F(StoreStateCacheOpenTest, ChangesAfterARestartAreSeen) {
  TempDir dir;
  const std::string url = "rocksdb://" + dir.path();
  std::unique_ptr<kv::Database> db = OpenDatabase(url);
  InStore([](RecordStore& store) { ASSERT_TRUE(store.SetUserVersion(1).ok()); }, db.get());
  db.reset();
  db = OpenDatabase(url);
  InStore([](RecordStore& store) { EXPECT_EQ(store.header().user_version(), 1); }, db.get());
  EXPECT_NE(OpenedFromCache(db.get()).find("user_version: 1"), std::string::npos);
  InStore([](RecordStore& store) { ASSERT_TRUE(store.SetUserVersion(2).ok()); }, db.get());
  InStore([](RecordStore& store) { EXPECT_EQ(store.header().user_version(), 2); }, db.get());
  EXPECT_NE(OpenedFromCache(db.get()).find("user_version: 2"), std::string::npos);
}

// Under concurrent header changes, every open served from the cache agrees with a read of
// the header at the same read version (a second open, uncached, in the same transaction).
// It would not if a snapshot and its metadata version were ever published apart.
TEST_F(StoreStateCacheOpenTest, CachedOpensAgreeWithReadsUnderConcurrentChanges) {
  InStore([](RecordStore&) {});
  std::atomic<bool> done{false};
  std::atomic<int> compared{0};
  std::atomic<bool> reader_failed{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!done.load()) {
        std::unique_ptr<RecordContext> context = NewContext();
        auto cached = RecordStore::Open(*context, kStore, metadata_, Cached());
        auto read = RecordStore::Open(*context, kStore, metadata_, Uncached());
        if (!cached.ok() || !read.ok()) {
          ADD_FAILURE() << cached.status() << " " << read.status();
          reader_failed = true;
          return;
        }
        EXPECT_EQ((*cached)->header().user_version(), (*read)->header().user_version());
        ++compared;
      }
    });
  }
  // The readers never write, so the writer never conflicts.
  for (int version = 1; version <= 200; ++version) {
    RecordContext context(db_->CreateTransaction());
    auto store = RecordStore::Open(context, kStore, metadata_, Cached());
    Status status = store.ok() ? (*store)->SetUserVersion(version) : store.status();
    if (status.ok()) status = context.Commit();
    if (!status.ok()) {
      ADD_FAILURE() << status;
      break;
    }
    // Lets the readers compare at least once between two changes, however the threads
    // are scheduled.
    const int seen = compared.load();
    while (compared.load() == seen && !reader_failed.load()) std::this_thread::yield();
  }
  done = true;
  for (std::thread& reader : readers) reader.join();
  EXPECT_GE(compared.load(), 200);
  EXPECT_NE(OpenedUncached().find("user_version: 200"), std::string::npos);
  InStore([](RecordStore&) {});  // fills the cache, unless a reader did after the last change
  EXPECT_NE(OpenedFromCache().find("user_version: 200"), std::string::npos);
}

}  // namespace
}  // namespace recordstore::store
