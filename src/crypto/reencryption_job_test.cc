#include "crypto/reencryption_job.h"

#include <gtest/gtest.h>

#include <map>

#include "common/status_macros.h"
#include "crypto/crypto_test_util.h"

namespace recordstore::crypto {
namespace {

using testing_util::InStore;
using testing_util::KeySpace;
using testing_util::RecordsSpace;
using testing_util::SaveOrder;
using testing_util::StoreSpace;

class ReencryptionJobTest : public ::testing::Test {
 protected:
  static constexpr int kRecords = 50;

  void SetUp() override {
    StatusOr<std::unique_ptr<kv::Database>> db = kv::Database::Open("memory://");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    StatusOr<metadata::RecordMetaData> metadata = testing_util::ShopMetaData();
    ASSERT_TRUE(metadata.ok()) << metadata.status();
    metadata_ = std::make_unique<metadata::RecordMetaData>(std::move(*metadata));
    std::array<uint8_t, kMasterKeySize> master{};
    master.fill(7);
    keys_ = std::make_shared<TenantKeyStore>(KeySpace(), MasterKey(master));
    auto provider = TenantKeyProvider::Open(*db_, keys_, "acme");
    ASSERT_TRUE(provider.ok()) << provider.status();
    provider_ = *provider;
  }

  // Saves Orders [first, last) with encryption on or off.
  void SaveOrders(int first, int last, bool encrypt) {
    Status status = InStore(*db_, *metadata_, testing_util::EncryptedOptions(provider_, encrypt),
                            [&](store::RecordStore& store) -> Status {
                              for (int id = first; id < last; ++id) {
                                RETURN_IF_ERROR(SaveOrder(store, id, Note(id)).status());
                              }
                              return absl::OkStatus();
                            });
    ASSERT_TRUE(status.ok()) << status;
  }
  static std::string Note(int id) { return "note of order " + std::to_string(id); }

  void Rotate() {
    Status status = db_->Run(
        [&](kv::Transaction& txn) { return keys_->RotateTenantKey(txn, "acme").status(); });
    ASSERT_TRUE(status.ok()) << status;
    ASSERT_TRUE(provider_->Refresh().ok());
  }

  // The stored bytes under `suffix` of record `pk` ((pk..., 0) an unsplit record, (pk..., n)
  // chunk n), as the KV store holds them; nullopt when the key is absent.
  std::optional<std::string> ReadRecordKey(const Tuple& pk, int64_t suffix) {
    std::optional<std::string> value;
    EXPECT_TRUE(db_->Run([&](kv::Transaction& txn) -> Status {
                     ASSIGN_OR_RETURN(value,
                                      txn.Get(RecordsSpace().Sub(pk).Pack(Tuple::Of(suffix))));
                     return absl::OkStatus();
                   })
                    .ok());
    return value;
  }

  // Every record as (serialized message, version) by primary key, read through the store.
  std::map<Tuple, std::pair<std::string, std::string>> ReadAll() {
    std::map<Tuple, std::pair<std::string, std::string>> all;
    Status status =
        InStore(*db_, *metadata_, testing_util::EncryptedOptions(provider_),
                [&](store::RecordStore& store) -> Status {
                  all.clear();
                  ASSIGN_OR_RETURN(auto scan, store.ScanRecords(index::TupleRange::All(),
                                                                cursor::Continuation::Start()));
                  while (true) {
                    ASSIGN_OR_RETURN(auto result, scan->Next());
                    if (!result.has_value()) break;
                    const store::StoredRecord& record = result.value();
                    all[record.primary_key] = {
                        record.message->SerializeAsString(),
                        record.version.has_value() ? record.version->ToBytes() : "none"};
                  }
                  return absl::OkStatus();
                });
    EXPECT_TRUE(status.ok()) << status;
    return all;
  }

  // How many records are sealed with each key id (0: not encrypted), from the raw bytes.
  std::map<uint32_t, int> CountByKeyId() {
    std::map<uint32_t, int> counts;
    Status status = db_->Run([&](kv::Transaction& txn) -> Status {
      counts.clear();
      auto [begin, end] = RecordsSpace().Range();
      ASSIGN_OR_RETURN(kv::RangeResult rows, txn.GetRange(begin, end));
      for (const kv::KeyValue& row : rows.rows) {
        ASSIGN_OR_RETURN(Tuple key, RecordsSpace().Unpack(row.key));
        if (key[key.size() - 1].AsInt64() != 0) continue;  // versions, chunks
        ASSIGN_OR_RETURN(std::optional<uint32_t> id, SealingKeyId(row.value));
        ++counts[id.value_or(0)];
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(status.ok()) << status;
    return counts;
  }

  std::unique_ptr<ReencryptionJob> NewJob(int64_t records_per_batch) {
    ReencryptionOptions options;
    options.records_per_batch = records_per_batch;
    return std::make_unique<ReencryptionJob>(
        *db_, StoreSpace(), ReencryptionJob::ProgressSpace(*keys_, "acme", StoreSpace()), provider_,
        options);
  }

  std::unique_ptr<kv::Database> db_;
  std::unique_ptr<metadata::RecordMetaData> metadata_;
  std::shared_ptr<TenantKeyStore> keys_;
  std::shared_ptr<TenantKeyProvider> provider_;
};

TEST_F(ReencryptionJobTest, MovesEveryRecordToTheCurrentKeyKeepingContentsAndVersions) {
  SaveOrders(0, 10, /*encrypt=*/false);
  SaveOrders(10, kRecords, /*encrypt=*/true);
  Rotate();
  SaveOrders(kRecords, kRecords + 5, /*encrypt=*/true);
  EXPECT_EQ(CountByKeyId(), (std::map<uint32_t, int>{{0, 10}, {1, 40}, {2, 5}}));
  auto before = ReadAll();
  ASSERT_EQ(before.size(), 55u);

  StatusOr<ReencryptionProgress> progress = NewJob(20)->Run();
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_EQ(progress->target_key_id, 2u);
  EXPECT_EQ(progress->records_scanned, 55);
  EXPECT_EQ(progress->records_rewritten, 50);
  EXPECT_TRUE(progress->done);
  EXPECT_EQ(CountByKeyId(), (std::map<uint32_t, int>{{2, 55}}));
  EXPECT_EQ(ReadAll(), before);  // same messages, same versions

  // Done: a further run writes nothing.
  StatusOr<bool> again = NewJob(20)->RunBatch();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*again);
  EXPECT_EQ(NewJob(20)->ReadProgress()->records_rewritten, 50);
}

TEST_F(ReencryptionJobTest, ResumesAfterBeingStoppedMidway) {
  SaveOrders(0, kRecords, /*encrypt=*/true);
  Rotate();
  auto before = ReadAll();

  {
    std::unique_ptr<ReencryptionJob> first = NewJob(7);
    StatusOr<bool> done = first->RunBatch();
    ASSERT_TRUE(done.ok()) << done.status();
    EXPECT_FALSE(*done);
  }  // the job object is discarded, as by a crash after its first batch committed

  EXPECT_EQ(CountByKeyId(), (std::map<uint32_t, int>{{1, 43}, {2, 7}}));
  StatusOr<ReencryptionProgress> halfway = NewJob(7)->ReadProgress();
  ASSERT_TRUE(halfway.ok());
  EXPECT_EQ(halfway->records_scanned, 7);
  EXPECT_EQ(halfway->records_rewritten, 7);
  EXPECT_FALSE(halfway->done);

  std::unique_ptr<ReencryptionJob> second = NewJob(7);
  int batches = 0;
  while (true) {
    StatusOr<bool> done = second->RunBatch();
    ASSERT_TRUE(done.ok()) << done.status();
    ++batches;
    if (*done) break;
  }
  EXPECT_EQ(batches, 7);  // 43 records left: 6 full batches of 7, the last one reaches the end
  StatusOr<ReencryptionProgress> progress = second->ReadProgress();
  EXPECT_EQ(progress->records_scanned, 50);  // nothing visited twice
  EXPECT_EQ(progress->records_rewritten, 50);
  EXPECT_EQ(CountByKeyId(), (std::map<uint32_t, int>{{2, 50}}));
  EXPECT_EQ(ReadAll(), before);
}

TEST_F(ReencryptionJobTest, StartsOverWhenTheKeyRotatesMidway) {
  SaveOrders(0, kRecords, /*encrypt=*/true);
  Rotate();
  ASSERT_FALSE(*NewJob(10)->RunBatch());
  EXPECT_EQ(CountByKeyId(), (std::map<uint32_t, int>{{1, 40}, {2, 10}}));
  Rotate();
  StatusOr<ReencryptionProgress> progress = NewJob(10)->Run();
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_EQ(progress->target_key_id, 3u);
  EXPECT_EQ(progress->records_scanned, 50);
  EXPECT_EQ(progress->records_rewritten, 50);
  EXPECT_EQ(CountByKeyId(), (std::map<uint32_t, int>{{3, 50}}));
}

TEST_F(ReencryptionJobTest, RewritesRecordsSplitOverSeveralChunks) {
  std::string big(250'000, 'x');
  Tuple big_pk;
  Status status = InStore(*db_, *metadata_, testing_util::EncryptedOptions(provider_),
                          [&](store::RecordStore& store) -> Status {
                            RETURN_IF_ERROR(SaveOrder(store, 1, "small").status());
                            ASSIGN_OR_RETURN(big_pk, SaveOrder(store, 2, big));
                            return SaveOrder(store, 3, "small").status();
                          });
  ASSERT_TRUE(status.ok()) << status;
  Rotate();
  auto before = ReadAll();
  // One record a batch, so batches end right after the split record's last chunk.
  StatusOr<ReencryptionProgress> progress = NewJob(1)->Run();
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_EQ(progress->records_scanned, 3);
  EXPECT_EQ(progress->records_rewritten, 3);
  EXPECT_EQ(ReadAll(), before);
  // The split record's first chunk is sealed with key 2 (its header is in chunk 1).
  std::optional<std::string> first_chunk = ReadRecordKey(big_pk, 1);
  ASSERT_TRUE(first_chunk.has_value());
  EXPECT_EQ(*SealingKeyId(*first_chunk), std::optional<uint32_t>(2));
}

// Sealing adds a key id, a nonce and a tag: a plaintext record just under the chunk size
// becomes split, and the store's header must stop saying that no record is (else loads
// would not find it).
TEST_F(ReencryptionJobTest, RecordsThatSealingSplitsAreStillFound) {
  constexpr size_t kStoredSize = 99'990;  // sealed: 99,990 + 4 + 12 + 16 > 100,000
  auto stored_size = [&](const Tuple& pk) {
    std::optional<std::string> unsplit = ReadRecordKey(pk, 0);
    EXPECT_TRUE(unsplit.has_value());
    return unsplit.value_or("").size();
  };
  auto save = [&](size_t note_size) {
    Tuple pk;
    Status status =
        InStore(*db_, *metadata_, testing_util::EncryptedOptions(provider_, false),
                [&](store::RecordStore& store) -> Status {
                  EXPECT_TRUE(store.header().records_unsplit());
                  ASSIGN_OR_RETURN(pk, SaveOrder(store, 1, std::string(note_size, 'n')));
                  return absl::OkStatus();
                });
    EXPECT_TRUE(status.ok()) << status;
    return pk;
  };
  // The fields besides the note take fewer than 100 bytes.
  const size_t note_size = kStoredSize - 100;
  Tuple pk = save(note_size);
  pk = save(note_size + kStoredSize - stored_size(pk));
  ASSERT_EQ(stored_size(pk), kStoredSize);
  auto before = ReadAll();

  StatusOr<ReencryptionProgress> progress = NewJob(10)->Run();
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_EQ(progress->records_rewritten, 1);
  EXPECT_EQ(ReadRecordKey(pk, 0), std::nullopt);  // split now: chunks, no unsplit value
  EXPECT_TRUE(ReadRecordKey(pk, 1).has_value());
  Status status = InStore(*db_, *metadata_, testing_util::EncryptedOptions(provider_),
                          [&](store::RecordStore& store) -> Status {
                            EXPECT_FALSE(store.header().records_unsplit());
                            ASSIGN_OR_RETURN(auto loaded, store.LoadRecord(pk));
                            EXPECT_TRUE(loaded.has_value());
                            return absl::OkStatus();
                          });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(ReadAll(), before);
}

TEST_F(ReencryptionJobTest, NoRecordStoreIsNotFound) {
  ReencryptionJob job(*db_, Subspace(Tuple::Of("elsewhere")),
                      ReencryptionJob::ProgressSpace(*keys_, "acme", Subspace(Tuple::Of("x"))),
                      provider_);
  EXPECT_TRUE(HasErrorCode(job.RunBatch().status(), ErrorCode::kNotFound));
}

TEST_F(ReencryptionJobTest, UndecodableRecordStopsTheJobWithDataLoss) {
  SaveOrders(0, 5, /*encrypt=*/true);
  Rotate();
  std::map<Tuple, std::pair<std::string, std::string>> before = ReadAll();
  Tuple victim = std::next(before.begin(), 2)->first;
  ASSERT_TRUE(db_->Run([&](kv::Transaction& txn) -> Status {
                   std::string key = RecordsSpace().Sub(victim).Pack(Tuple::Of(0));
                   ASSIGN_OR_RETURN(auto value, txn.Get(key));
                   std::string tampered = *value;
                   tampered.back() ^= 1;
                   txn.Set(key, tampered);
                   return absl::OkStatus();
                 })
                  .ok());
  StatusOr<ReencryptionProgress> progress = NewJob(10)->Run();
  EXPECT_TRUE(HasErrorCode(progress.status(), ErrorCode::kDataCorruption)) << progress.status();
  // Named, so that it can be found.
  EXPECT_EQ(progress.status().message(),
            "record " + victim.ToString() +
                ": data_corruption (8004): stored record: authentication failed (tampered "
                "bytes, or a record stored under another key)");
  // The failed batch committed nothing.
  EXPECT_EQ(CountByKeyId(), (std::map<uint32_t, int>{{1, 5}}));
}

}  // namespace
}  // namespace recordstore::crypto
