#include "crypto/tenant_keys.h"

#include <gtest/gtest.h>

#include "common/status_macros.h"
#include "crypto/crypto_test_util.h"
#include "crypto/reencryption_job.h"

namespace recordstore::crypto {
namespace {

using testing_util::InStore;
using testing_util::KeySpace;
using testing_util::RecordsSpace;
using testing_util::SaveOrder;

MasterKey Master(uint8_t fill) {
  std::array<uint8_t, kMasterKeySize> bytes{};
  bytes.fill(fill);
  return MasterKey(bytes);
}

class TenantKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StatusOr<std::unique_ptr<kv::Database>> db = kv::Database::Open("memory://");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  std::shared_ptr<TenantKeyStore> Keys(MasterKey master, std::vector<MasterKey> previous = {}) {
    return std::make_shared<TenantKeyStore>(KeySpace(), std::move(master), std::move(previous));
  }
  // Runs `body` in a committed transaction; the test fails on an error.
  void Run(const std::function<Status(kv::Transaction&)>& body) {
    Status status = db_->Run(body);
    ASSERT_TRUE(status.ok()) << status;
  }
  StatusOr<DataKey> Load(const TenantKeyStore& keys, const std::string& tenant, uint32_t id) {
    StatusOr<DataKey> key = MakeError(ErrorCode::kInternalError, "not run");
    Status status = db_->Run([&](kv::Transaction& txn) -> Status {
      key = keys.LoadKey(txn, tenant, id);
      return absl::OkStatus();
    });
    EXPECT_TRUE(status.ok()) << status;
    return key;
  }
  std::string WrappedKeyKey(const std::string& tenant, uint32_t id) {
    return KeySpace().Pack(Tuple::Of(tenant, "keys", int64_t{id}));
  }
  std::string Get(const std::string& key) {
    std::string value;
    Run([&](kv::Transaction& txn) -> Status {
      ASSIGN_OR_RETURN(std::optional<std::string> got, txn.Get(key));
      value = got.value_or("");
      return absl::OkStatus();
    });
    return value;
  }
  void Put(const std::string& key, const std::string& value) {
    Run([&](kv::Transaction& txn) -> Status {
      txn.Set(key, value);
      return absl::OkStatus();
    });
  }

  std::unique_ptr<kv::Database> db_;
};

TEST_F(TenantKeysTest, WrapUnwrapRoundTrip) {
  auto keys = Keys(Master(1));
  uint32_t id = 0;
  Run([&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(id, keys->EnsureTenantKey(txn, "acme"));
    return absl::OkStatus();
  });
  EXPECT_EQ(id, 1u);
  StatusOr<DataKey> first = Load(*keys, "acme", 1);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->id, 1u);
  EXPECT_NE(first->bytes, DataKey{}.bytes);
  // A second store object (a restarted server) unwraps the same bytes.
  StatusOr<DataKey> again = Load(*Keys(Master(1)), "acme", 1);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->bytes, first->bytes);
  // The key material is not stored in the clear.
  std::string wrapped = Get(WrappedKeyKey("acme", 1));
  EXPECT_EQ(wrapped.find(std::string(first->bytes.begin(), first->bytes.end())), std::string::npos);
  // EnsureTenantKey is idempotent.
  Run([&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(id, keys->EnsureTenantKey(txn, "acme"));
    return absl::OkStatus();
  });
  EXPECT_EQ(id, 1u);
  Run([&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(std::vector<WrappedKeyInfo> infos, keys->ListKeys(txn, "acme"));
    EXPECT_EQ(infos.size(), 1u);
    EXPECT_EQ(infos.at(0).id, 1u);
    EXPECT_EQ(infos.at(0).master_key_id, Master(1).id());
    EXPECT_GT(infos.at(0).created_micros, 0);
    return absl::OkStatus();
  });
}

TEST_F(TenantKeysTest, TenantsGetDifferentKeys) {
  auto keys = Keys(Master(1));
  Run([&](kv::Transaction& txn) -> Status {
    RETURN_IF_ERROR(keys->EnsureTenantKey(txn, "acme").status());
    return keys->EnsureTenantKey(txn, "globex").status();
  });
  EXPECT_NE(Load(*keys, "acme", 1)->bytes, Load(*keys, "globex", 1)->bytes);
}

TEST_F(TenantKeysTest, WrongMasterKeyIsPermissionDeniedNamingBothIds) {
  Run([&](kv::Transaction& txn) { return Keys(Master(1))->EnsureTenantKey(txn, "acme").status(); });
  StatusOr<DataKey> key = Load(*Keys(Master(2)), "acme", 1);
  EXPECT_TRUE(HasErrorCode(key.status(), ErrorCode::kPermissionDenied)) << key.status();
  EXPECT_NE(key.status().message().find(Master(1).id()), std::string::npos) << key.status();
  EXPECT_NE(key.status().message().find(Master(2).id()), std::string::npos) << key.status();
  // A provider fails at open, not at the first read of an old record.
  StatusOr<std::shared_ptr<TenantKeyProvider>> provider =
      TenantKeyProvider::Open(*db_, Keys(Master(2)), "acme");
  EXPECT_TRUE(HasErrorCode(provider.status(), ErrorCode::kPermissionDenied)) << provider.status();
}

// Rewrites the wrapped key's ciphertext field with one byte flipped.
std::string FlipCiphertextByte(const std::string& wrapped, size_t index) {
  Tuple tuple = *Tuple::Unpack(wrapped);
  std::string sealed = tuple[3].get_if<ByteString>()->data;
  sealed[index] ^= 0x01;
  return Tuple::Of(tuple[0], tuple[1], tuple[2], ByteString{sealed}, tuple[4]).Pack();
}

TEST_F(TenantKeysTest, CheckMasterKeyUnwrapsTheFirstStoredKey) {
  // Nothing stored yet: any master key is fine.
  Run([&](kv::Transaction& txn) { return Keys(Master(2))->CheckMasterKey(txn); });
  Run([&](kv::Transaction& txn) -> Status {
    RETURN_IF_ERROR(Keys(Master(1))->EnsureTenantKey(txn, "acme").status());
    return Keys(Master(1))->EnsureTenantKey(txn, "globex").status();
  });
  Run([&](kv::Transaction& txn) { return Keys(Master(1))->CheckMasterKey(txn); });
  // The first key row comes after acme's "current" row; it names the tenant and id.
  Status wrong =
      db_->Run([&](kv::Transaction& txn) { return Keys(Master(2))->CheckMasterKey(txn); });
  EXPECT_TRUE(HasErrorCode(wrong, ErrorCode::kPermissionDenied)) << wrong;
  EXPECT_NE(wrong.message().find("data key 1 of tenant \"acme\" is wrapped by master key " +
                                 Master(1).id()),
            std::string::npos)
      << wrong;
  // During a master key rotation the previous key opens it.
  Run([&](kv::Transaction& txn) { return Keys(Master(2), {Master(1)})->CheckMasterKey(txn); });
  // A tampered first key is data_corruption.
  Put(WrappedKeyKey("acme", 1), FlipCiphertextByte(Get(WrappedKeyKey("acme", 1)), 0));
  Status tampered =
      db_->Run([&](kv::Transaction& txn) { return Keys(Master(1))->CheckMasterKey(txn); });
  EXPECT_TRUE(HasErrorCode(tampered, ErrorCode::kDataCorruption)) << tampered;
}

TEST_F(TenantKeysTest, DeletedTenantKeysAreGoneAndTheirIdsNeverReturn) {
  auto keys = Keys(Master(1));
  Run([&](kv::Transaction& txn) -> Status {
    RETURN_IF_ERROR(keys->EnsureTenantKey(txn, "acme").status());
    RETURN_IF_ERROR(keys->RotateTenantKey(txn, "acme").status());
    return keys->EnsureTenantKey(txn, "globex").status();
  });
  StatusOr<DataKey> old_key = Load(*keys, "acme", 2);
  ASSERT_TRUE(old_key.ok());
  Run([&](kv::Transaction& txn) { return keys->DeleteTenantKeys(txn, "acme"); });
  EXPECT_TRUE(HasErrorCode(Load(*keys, "acme", 1).status(), ErrorCode::kNotFound));
  EXPECT_TRUE(HasErrorCode(Load(*keys, "acme", 2).status(), ErrorCode::kNotFound));
  Run([&](kv::Transaction& txn) -> Status {
    EXPECT_TRUE(HasErrorCode(keys->CurrentKeyId(txn, "acme").status(), ErrorCode::kNotFound));
    ASSIGN_OR_RETURN(std::vector<WrappedKeyInfo> infos, keys->ListKeys(txn, "acme"));
    EXPECT_TRUE(infos.empty());
    return absl::OkStatus();
  });
  // Other tenants keep theirs.
  EXPECT_TRUE(Load(*keys, "globex", 1).ok());
  // The name's next key is id 3, a new random key; deleting it again keeps the floor.
  uint32_t id = 0;
  Run([&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(id, keys->EnsureTenantKey(txn, "acme"));
    return absl::OkStatus();
  });
  EXPECT_EQ(id, 3u);
  EXPECT_NE(Load(*keys, "acme", 3)->bytes, old_key->bytes);
  Run([&](kv::Transaction& txn) { return keys->DeleteTenantKeys(txn, "acme"); });
  Run([&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(id, keys->EnsureTenantKey(txn, "acme"));
    return absl::OkStatus();
  });
  EXPECT_EQ(id, 4u);
}

TEST_F(TenantKeysTest, TamperedWrappedKeyIsDataCorruption) {
  auto keys = Keys(Master(1));
  Run([&](kv::Transaction& txn) { return keys->EnsureTenantKey(txn, "acme").status(); });
  std::string original = Get(WrappedKeyKey("acme", 1));
  for (size_t index : {0, 31, 32, 47}) {  // key bytes, then tag bytes
    Put(WrappedKeyKey("acme", 1), FlipCiphertextByte(original, index));
    StatusOr<DataKey> key = Load(*keys, "acme", 1);
    EXPECT_TRUE(HasErrorCode(key.status(), ErrorCode::kDataCorruption)) << key.status();
    EXPECT_EQ(key.status().code(), absl::StatusCode::kDataLoss);
  }
  // The nonce is authenticated too (it is the GCM IV).
  Tuple tuple = *Tuple::Unpack(original);
  std::string nonce = tuple[2].get_if<ByteString>()->data;
  nonce[0] ^= 0x80;
  Put(WrappedKeyKey("acme", 1),
      Tuple::Of(tuple[0], tuple[1], ByteString{nonce}, tuple[3], tuple[4]).Pack());
  EXPECT_TRUE(HasErrorCode(Load(*keys, "acme", 1).status(), ErrorCode::kDataCorruption));
  // Garbage that is not a wrapped key record.
  Put(WrappedKeyKey("acme", 1), "garbage");
  EXPECT_TRUE(HasErrorCode(Load(*keys, "acme", 1).status(), ErrorCode::kDataCorruption));
  Put(WrappedKeyKey("acme", 1), original);
  EXPECT_TRUE(Load(*keys, "acme", 1).ok());
}

TEST_F(TenantKeysTest, WrappedKeyCopiedToAnotherTenantOrIdFailsToUnwrap) {
  auto keys = Keys(Master(1));
  Run([&](kv::Transaction& txn) -> Status {
    RETURN_IF_ERROR(keys->EnsureTenantKey(txn, "acme").status());
    RETURN_IF_ERROR(keys->RotateTenantKey(txn, "acme").status());
    return keys->EnsureTenantKey(txn, "globex").status();
  });
  Put(WrappedKeyKey("globex", 1), Get(WrappedKeyKey("acme", 1)));
  EXPECT_TRUE(HasErrorCode(Load(*keys, "globex", 1).status(), ErrorCode::kDataCorruption));
  Put(WrappedKeyKey("acme", 2), Get(WrappedKeyKey("acme", 1)));
  EXPECT_TRUE(HasErrorCode(Load(*keys, "acme", 2).status(), ErrorCode::kDataCorruption));
}

TEST_F(TenantKeysTest, UnknownKeyIdIsNotFound) {
  auto keys = Keys(Master(1));
  Run([&](kv::Transaction& txn) { return keys->EnsureTenantKey(txn, "acme").status(); });
  EXPECT_TRUE(HasErrorCode(Load(*keys, "acme", 2).status(), ErrorCode::kNotFound));
  EXPECT_TRUE(HasErrorCode(Load(*keys, "nobody", 1).status(), ErrorCode::kNotFound));
  auto provider = TenantKeyProvider::Open(*db_, keys, "acme");
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_TRUE(HasErrorCode((*provider)->KeyById(2).status(), ErrorCode::kNotFound));
  TenantKeyProviderOptions no_create;
  no_create.create_if_missing = false;
  auto missing = TenantKeyProvider::Open(*db_, keys, "nobody", no_create);
  EXPECT_TRUE(HasErrorCode(missing.status(), ErrorCode::kNotFound));
}

TEST_F(TenantKeysTest, RotateMakesANewCurrentKeyAndKeepsTheOldOnes) {
  auto keys = Keys(Master(1));
  std::vector<uint32_t> ids;
  Run([&](kv::Transaction& txn) -> Status {
    ids.clear();
    ASSIGN_OR_RETURN(ids.emplace_back(), keys->EnsureTenantKey(txn, "acme"));
    ASSIGN_OR_RETURN(ids.emplace_back(), keys->RotateTenantKey(txn, "acme"));
    ASSIGN_OR_RETURN(ids.emplace_back(), keys->RotateTenantKey(txn, "acme"));
    ASSIGN_OR_RETURN(ids.emplace_back(), keys->CurrentKeyId(txn, "acme"));
    return absl::OkStatus();
  });
  EXPECT_EQ(ids, (std::vector<uint32_t>{1, 2, 3, 3}));
  EXPECT_NE(Load(*keys, "acme", 1)->bytes, Load(*keys, "acme", 2)->bytes);
  EXPECT_NE(Load(*keys, "acme", 2)->bytes, Load(*keys, "acme", 3)->bytes);
}

TEST_F(TenantKeysTest, MasterKeyRotationRewrapsEveryDataKey) {
  auto old_keys = Keys(Master(1));
  Run([&](kv::Transaction& txn) -> Status {
    RETURN_IF_ERROR(old_keys->EnsureTenantKey(txn, "acme").status());
    RETURN_IF_ERROR(old_keys->RotateTenantKey(txn, "acme").status());
    return old_keys->EnsureTenantKey(txn, "globex").status();
  });
  std::vector<DataKey> before = {*Load(*old_keys, "acme", 1), *Load(*old_keys, "acme", 2),
                                 *Load(*old_keys, "globex", 1)};

  // Without the old master key listed, the new one cannot re-wrap anything.
  StatusOr<int64_t> refused = Keys(Master(2))->RewrapDataKeys(*db_);
  EXPECT_TRUE(HasErrorCode(refused.status(), ErrorCode::kPermissionDenied)) << refused.status();

  auto rotating = Keys(Master(2), {Master(1)});
  // During the rotation both master keys read every data key.
  EXPECT_EQ(Load(*rotating, "acme", 1)->bytes, before[0].bytes);
  StatusOr<int64_t> rewrapped = rotating->RewrapDataKeys(*db_, /*batch_size=*/2);
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status();
  EXPECT_EQ(*rewrapped, 3);
  EXPECT_EQ(*rotating->RewrapDataKeys(*db_), 0);  // idempotent

  auto rotated = Keys(Master(2));
  EXPECT_EQ(Load(*rotated, "acme", 1)->bytes, before[0].bytes);
  EXPECT_EQ(Load(*rotated, "acme", 2)->bytes, before[1].bytes);
  EXPECT_EQ(Load(*rotated, "globex", 1)->bytes, before[2].bytes);
  EXPECT_TRUE(HasErrorCode(Load(*old_keys, "acme", 1).status(), ErrorCode::kPermissionDenied));
  Run([&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(std::vector<WrappedKeyInfo> infos, rotated->ListKeys(txn, "acme"));
    EXPECT_EQ(infos.size(), 2u);
    for (const WrappedKeyInfo& info : infos) EXPECT_EQ(info.master_key_id, Master(2).id());
    return absl::OkStatus();
  });
}

TEST_F(TenantKeysTest, ProviderPicksUpARotationByAnotherProcessAfterTheRefreshInterval) {
  auto keys = Keys(Master(1));
  auto now = std::chrono::steady_clock::time_point{};
  TenantKeyProviderOptions options;
  options.current_key_refresh = std::chrono::seconds(30);
  options.clock = [&now] { return now; };
  auto provider = TenantKeyProvider::Open(*db_, keys, "acme", options);
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_EQ((*provider)->CurrentKey()->id, 1u);
  Run([&](kv::Transaction& txn) { return keys->RotateTenantKey(txn, "acme").status(); });
  now += std::chrono::seconds(29);
  EXPECT_EQ((*provider)->CurrentKey()->id, 1u);
  // Records sealed elsewhere with key 2 are readable before the refresh.
  EXPECT_EQ((*provider)->KeyById(2)->bytes, Load(*keys, "acme", 2)->bytes);
  now += std::chrono::seconds(1);
  EXPECT_EQ((*provider)->CurrentKey()->id, 2u);
}

// Through a real RecordStore on memory://.
class EncryptedStoreTest : public TenantKeysTest {
 protected:
  void SetUp() override {
    TenantKeysTest::SetUp();
    StatusOr<metadata::RecordMetaData> metadata = testing_util::ShopMetaData();
    ASSERT_TRUE(metadata.ok()) << metadata.status();
    metadata_ = std::make_unique<metadata::RecordMetaData>(std::move(*metadata));
    keys_ = Keys(Master(1));
    auto provider = TenantKeyProvider::Open(*db_, keys_, "acme");
    ASSERT_TRUE(provider.ok()) << provider.status();
    provider_ = *provider;
  }
  store::RecordStoreOptions Options() { return testing_util::EncryptedOptions(provider_); }
  // The stored bytes of the record with `pk` (unsplit).
  std::string StoredValue(const Tuple& pk) {
    return Get(RecordsSpace().Sub(pk).Pack(Tuple::Of(0)));
  }
  StatusOr<std::optional<store::StoredRecord>> LoadOrder(const Tuple& pk) {
    StatusOr<std::optional<store::StoredRecord>> loaded =
        MakeError(ErrorCode::kInternalError, "not run");
    Status status = InStore(*db_, *metadata_, Options(), [&](store::RecordStore& store) {
      loaded = store.LoadRecord(pk);
      return absl::OkStatus();
    });
    EXPECT_TRUE(status.ok()) << status;
    return loaded;
  }
  std::string NoteOf(const store::StoredRecord& record) {
    const auto* field = record.message->GetDescriptor()->FindFieldByName("note");
    return record.message->GetReflection()->GetString(*record.message, field);
  }

  std::unique_ptr<metadata::RecordMetaData> metadata_;
  std::shared_ptr<TenantKeyStore> keys_;
  std::shared_ptr<TenantKeyProvider> provider_;
};

TEST_F(EncryptedStoreTest, PlaintextMarkerIsNotStoredAndReadsBack) {
  Tuple pk;
  ASSERT_TRUE(InStore(*db_, *metadata_, Options(), [&](store::RecordStore& store) -> Status {
                ASSIGN_OR_RETURN(pk, SaveOrder(store, 1, "MARKER-plaintext-4711"));
                return absl::OkStatus();
              }).ok());
  std::string stored = StoredValue(pk);
  EXPECT_EQ(stored.find("MARKER-plaintext-4711"), std::string::npos);
  EXPECT_EQ(*SealingKeyId(stored), std::optional<uint32_t>(1));
  auto loaded = LoadOrder(pk);
  ASSERT_TRUE(loaded.ok() && loaded->has_value()) << loaded.status();
  EXPECT_EQ(NoteOf(**loaded), "MARKER-plaintext-4711");
}

TEST_F(EncryptedStoreTest, CiphertextMovedToAnotherRecordKeyIsDataLossNeverGarbage) {
  Tuple pk1;
  Tuple pk2;
  ASSERT_TRUE(InStore(*db_, *metadata_, Options(), [&](store::RecordStore& store) -> Status {
                ASSIGN_OR_RETURN(pk1, SaveOrder(store, 1, "first"));
                ASSIGN_OR_RETURN(pk2, SaveOrder(store, 2, "second"));
                return absl::OkStatus();
              }).ok());
  Put(RecordsSpace().Sub(pk2).Pack(Tuple::Of(0)), StoredValue(pk1));
  auto loaded = LoadOrder(pk2);
  EXPECT_TRUE(HasErrorCode(loaded.status(), ErrorCode::kDataCorruption)) << loaded.status();
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  // The record it was copied from still reads.
  ASSERT_TRUE(LoadOrder(pk1).ok());
  EXPECT_EQ(NoteOf(**LoadOrder(pk1)), "first");
}

TEST_F(EncryptedStoreTest, TamperedCiphertextIsDataLoss) {
  Tuple pk;
  ASSERT_TRUE(InStore(*db_, *metadata_, Options(), [&](store::RecordStore& store) -> Status {
                ASSIGN_OR_RETURN(pk, SaveOrder(store, 1, "note"));
                return absl::OkStatus();
              }).ok());
  std::string stored = StoredValue(pk);
  // Layout: version, flags, key id (bytes 2-5), nonce (6-17), ciphertext, 16-byte tag.
  for (size_t index : {size_t{0}, size_t{9}, size_t{17}, stored.size() - 20, stored.size() - 1}) {
    std::string tampered = stored;
    tampered[index] ^= 0x01;
    Put(RecordsSpace().Sub(pk).Pack(Tuple::Of(0)), tampered);
    auto loaded = LoadOrder(pk);
    EXPECT_TRUE(HasErrorCode(loaded.status(), ErrorCode::kDataCorruption))
        << index << loaded.status();
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss) << index;
  }
  // A key id edited to one the tenant does not have is looked up before authentication:
  // not_found, still never garbage.
  std::string other_id = stored;
  other_id[5] ^= 0x01;  // key 1 -> key 0
  Put(RecordsSpace().Sub(pk).Pack(Tuple::Of(0)), other_id);
  EXPECT_TRUE(HasErrorCode(LoadOrder(pk).status(), ErrorCode::kNotFound));
}

TEST_F(EncryptedStoreTest, RecordsUnderKey1StillReadAfterRotationAndNewWritesUseKey2) {
  Tuple old_pk;
  ASSERT_TRUE(InStore(*db_, *metadata_, Options(), [&](store::RecordStore& store) -> Status {
                ASSIGN_OR_RETURN(old_pk, SaveOrder(store, 1, "under key 1"));
                return absl::OkStatus();
              }).ok());
  uint32_t rotated = 0;
  Run([&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(rotated, keys_->RotateTenantKey(txn, "acme"));
    return absl::OkStatus();
  });
  EXPECT_EQ(rotated, 2u);
  ASSERT_TRUE(provider_->Refresh().ok());
  Tuple new_pk;
  ASSERT_TRUE(InStore(*db_, *metadata_, Options(), [&](store::RecordStore& store) -> Status {
                ASSIGN_OR_RETURN(new_pk, SaveOrder(store, 2, "under key 2"));
                return absl::OkStatus();
              }).ok());
  EXPECT_EQ(*SealingKeyId(StoredValue(old_pk)), std::optional<uint32_t>(1));
  EXPECT_EQ(*SealingKeyId(StoredValue(new_pk)), std::optional<uint32_t>(2));
  EXPECT_EQ(NoteOf(**LoadOrder(old_pk)), "under key 1");
  EXPECT_EQ(NoteOf(**LoadOrder(new_pk)), "under key 2");
  // A restarted server (a fresh provider) reads both.
  provider_ = *TenantKeyProvider::Open(*db_, Keys(Master(1)), "acme");
  EXPECT_EQ(NoteOf(**LoadOrder(old_pk)), "under key 1");
  EXPECT_EQ(NoteOf(**LoadOrder(new_pk)), "under key 2");
}

TEST_F(EncryptedStoreTest, RecordsSurviveMasterKeyRotation) {
  Tuple pk;
  ASSERT_TRUE(InStore(*db_, *metadata_, Options(), [&](store::RecordStore& store) -> Status {
                ASSIGN_OR_RETURN(pk, SaveOrder(store, 1, "kept"));
                return absl::OkStatus();
              }).ok());
  ASSERT_EQ(*Keys(Master(2), {Master(1)})->RewrapDataKeys(*db_), 1);
  provider_ = *TenantKeyProvider::Open(*db_, Keys(Master(2)), "acme");
  EXPECT_EQ(NoteOf(**LoadOrder(pk)), "kept");
}

TEST(SealingKeyId, ReadsTheHeaderOfEveryFormat) {
  EXPECT_EQ(*SealingKeyId(std::string("\x01\x00payload", 9)), std::nullopt);
  EXPECT_EQ(*SealingKeyId(std::string("\x01\x04\x00\x00\x01\x02nonce", 11)),
            std::optional<uint32_t>(258));
  // zstd-compressed (flags 1) and encrypted: a two-byte size varint comes first.
  EXPECT_EQ(*SealingKeyId(std::string("\x01\x05\x80\x01\x00\x00\x00\x07", 8)),
            std::optional<uint32_t>(7));
  EXPECT_TRUE(HasErrorCode(SealingKeyId("\x02\x00").status(), ErrorCode::kDataCorruption));
  EXPECT_TRUE(HasErrorCode(SealingKeyId(std::string("\x01\x04\x00", 3)).status(),
                           ErrorCode::kDataCorruption));
  EXPECT_TRUE(
      HasErrorCode(SealingKeyId(std::string("\x01\x08", 2)).status(), ErrorCode::kDataCorruption));
}

}  // namespace
}  // namespace recordstore::crypto
