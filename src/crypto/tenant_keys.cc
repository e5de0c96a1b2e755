#include "crypto/tenant_keys.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/status_macros.h"
#include "store/aes_gcm.h"

namespace recordstore::crypto {
namespace {

constexpr int64_t kWrapFormat = 1;
constexpr size_t kNonceSize = 12;
constexpr std::string_view kCurrent = "current";
constexpr std::string_view kKeys = "keys";
constexpr std::string_view kRetired = "retired";

std::string WrapAad(const std::string& tenant, uint32_t id, const std::string& master_key_id) {
  return Tuple::Of("recordstore data key", kWrapFormat, tenant, int64_t{id}, master_key_id).Pack();
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string KeyName(const std::string& tenant, uint32_t id) {
  return "data key " + std::to_string(id) + " of tenant \"" + tenant + "\"";
}

// The fields of a wrapped key value.
struct WrappedFields {
  std::string master_key_id;
  std::string nonce;
  std::string sealed;
  int64_t created_micros = 0;
};

StatusOr<WrappedFields> ParseWrapped(const std::string& tenant, uint32_t id,
                                     std::string_view value) {
  StatusOr<Tuple> tuple = Tuple::Unpack(value);
  auto corrupt = [&](const std::string& what) {
    return MakeError(ErrorCode::kDataCorruption, "wrapped " + KeyName(tenant, id) + ": " + what);
  };
  if (!tuple.ok() || tuple->size() != 5) return corrupt("not a wrapped key record");
  std::optional<int64_t> format = (*tuple)[0].AsInt64();
  if (format != kWrapFormat) return corrupt("unknown wrap format");
  const auto* master_id = (*tuple)[1].get_if<std::string>();
  const auto* nonce = (*tuple)[2].get_if<ByteString>();
  const auto* sealed = (*tuple)[3].get_if<ByteString>();
  std::optional<int64_t> created = (*tuple)[4].AsInt64();
  if (master_id == nullptr || nonce == nullptr || sealed == nullptr || !created.has_value() ||
      nonce->data.size() != kNonceSize || sealed->data.size() != 32 + kAesGcmTagSize) {
    return corrupt("malformed fields");
  }
  return WrappedFields{*master_id, nonce->data, sealed->data, *created};
}

// The id of a key row (tenant, "keys", id) under the key space, or nullopt for another row.
std::optional<std::pair<std::string, uint32_t>> KeyRowId(const Subspace& space,
                                                         std::string_view key) {
  StatusOr<Tuple> tuple = space.Unpack(key);
  if (!tuple.ok() || tuple->size() != 3) return std::nullopt;
  const auto* tenant = (*tuple)[0].get_if<std::string>();
  const auto* kind = (*tuple)[1].get_if<std::string>();
  std::optional<int64_t> id = (*tuple)[2].AsInt64();
  if (tenant == nullptr || kind == nullptr || *kind != kKeys || !id.has_value() || *id < 1 ||
      *id > UINT32_MAX) {
    return std::nullopt;
  }
  return std::make_pair(*tenant, static_cast<uint32_t>(*id));
}

}  // namespace

TenantKeyStore::TenantKeyStore(Subspace space, MasterKey master, std::vector<MasterKey> previous)
    : space_(std::move(space)), master_(std::move(master)), previous_(std::move(previous)) {}

StatusOr<std::string> TenantKeyStore::Wrap(const std::string& tenant, uint32_t id,
                                           const DataKey& key) const {
  std::string nonce(kNonceSize, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), kNonceSize) != 1) {
    return MakeError(ErrorCode::kInternalError, "no randomness for a nonce");
  }
  std::string_view plain(reinterpret_cast<const char*>(key.bytes.data()), key.bytes.size());
  std::optional<std::string> sealed =
      AesGcmSeal(master_.bytes(), nonce, WrapAad(tenant, id, master_.id()), plain);
  if (!sealed.has_value()) {
    return MakeError(ErrorCode::kInternalError, "AES-256-GCM wrap failed");
  }
  return Tuple::Of(kWrapFormat, master_.id(), ByteString{nonce}, ByteString{*sealed}, NowMicros())
      .Pack();
}

StatusOr<DataKey> TenantKeyStore::Unwrap(const std::string& tenant, uint32_t id,
                                         std::string_view wrapped) const {
  ASSIGN_OR_RETURN(WrappedFields fields, ParseWrapped(tenant, id, wrapped));
  const MasterKey* master = nullptr;
  if (fields.master_key_id == master_.id()) master = &master_;
  for (const MasterKey& previous : previous_) {
    if (master == nullptr && fields.master_key_id == previous.id()) master = &previous;
  }
  if (master == nullptr) {
    std::string held = master_.id();
    for (const MasterKey& previous : previous_) held += ", " + previous.id();
    return MakeError(ErrorCode::kPermissionDenied,
                     KeyName(tenant, id) + " is wrapped by master key " + fields.master_key_id +
                         ", which this server does not hold (it holds " + held +
                         "): start it with that master key, or list it as a previous master "
                         "key while rotating");
  }
  std::optional<std::string> plain = AesGcmOpen(
      master->bytes(), fields.nonce, WrapAad(tenant, id, fields.master_key_id), fields.sealed);
  if (!plain.has_value() || plain->size() != 32) {
    return MakeError(ErrorCode::kDataCorruption,
                     "wrapped " + KeyName(tenant, id) +
                         " fails authentication: tampered, or copied from another tenant or id");
  }
  DataKey key;
  key.id = id;
  std::memcpy(key.bytes.data(), plain->data(), key.bytes.size());
  OPENSSL_cleanse(plain->data(), plain->size());
  return key;
}

StatusOr<WrappedKeyInfo> TenantKeyStore::ParseInfo(uint32_t id, std::string_view wrapped) const {
  ASSIGN_OR_RETURN(WrappedFields fields, ParseWrapped("", id, wrapped));
  return WrappedKeyInfo{id, fields.master_key_id, fields.created_micros};
}

StatusOr<uint32_t> TenantKeyStore::CurrentKeyId(kv::Transaction& txn,
                                                const std::string& tenant) const {
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   txn.Get(TenantSpace(tenant).Pack(Tuple::Of(kCurrent))));
  if (!value.has_value()) {
    return MakeError(ErrorCode::kNotFound, "tenant \"" + tenant + "\" has no data key");
  }
  StatusOr<Tuple> tuple = Tuple::Unpack(*value);
  std::optional<int64_t> id;
  if (tuple.ok() && tuple->size() == 1) id = (*tuple)[0].AsInt64();
  if (!id.has_value() || *id < 1 || *id > UINT32_MAX) {
    return MakeError(ErrorCode::kDataCorruption,
                     "the current data key id of tenant \"" + tenant + "\" does not parse");
  }
  return static_cast<uint32_t>(*id);
}

StatusOr<uint32_t> TenantKeyStore::EnsureTenantKey(kv::Transaction& txn,
                                                   const std::string& tenant) const {
  StatusOr<uint32_t> current = CurrentKeyId(txn, tenant);
  if (!HasErrorCode(current.status(), ErrorCode::kNotFound)) return current;
  return RotateTenantKey(txn, tenant);
}

StatusOr<int64_t> TenantKeyStore::HighestKeyId(kv::Transaction& txn,
                                               const std::string& tenant) const {
  auto [begin, end] = TenantSpace(tenant).Sub(Tuple::Of(kKeys)).Range();
  ASSIGN_OR_RETURN(kv::RangeResult last, txn.GetRange(begin, end, {.limit = 1, .reverse = true}));
  if (!last.rows.empty()) {
    std::optional<std::pair<std::string, uint32_t>> row = KeyRowId(space_, last.rows[0].key);
    if (!row.has_value()) {
      return MakeError(ErrorCode::kDataCorruption,
                       "an unexpected key among the data keys of tenant \"" + tenant + "\"");
    }
    return int64_t{row->second};
  }
  ASSIGN_OR_RETURN(std::optional<std::string> retired,
                   txn.Get(TenantSpace(tenant).Pack(Tuple::Of(kRetired))));
  if (!retired.has_value()) return 0;
  StatusOr<Tuple> tuple = Tuple::Unpack(*retired);
  std::optional<int64_t> id;
  if (tuple.ok() && tuple->size() == 1) id = (*tuple)[0].AsInt64();
  if (!id.has_value() || *id < 1 || *id > UINT32_MAX) {
    return MakeError(ErrorCode::kDataCorruption,
                     "the retired data key ids of tenant \"" + tenant + "\" do not parse");
  }
  return *id;
}

StatusOr<uint32_t> TenantKeyStore::RotateTenantKey(kv::Transaction& txn,
                                                   const std::string& tenant) const {
  Subspace keys = TenantSpace(tenant).Sub(Tuple::Of(kKeys));
  ASSIGN_OR_RETURN(int64_t highest, HighestKeyId(txn, tenant));
  int64_t next_id = highest + 1;
  if (next_id > UINT32_MAX) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "tenant \"" + tenant + "\" has used every data key id");
  }
  auto id = static_cast<uint32_t>(next_id);
  DataKey key;
  key.id = id;
  if (RAND_bytes(key.bytes.data(), static_cast<int>(key.bytes.size())) != 1) {
    return MakeError(ErrorCode::kInternalError, "no randomness for a data key");
  }
  StatusOr<std::string> wrapped = Wrap(tenant, id, key);
  OPENSSL_cleanse(key.bytes.data(), key.bytes.size());
  if (!wrapped.ok()) return wrapped.status();
  txn.Set(keys.Pack(Tuple::Of(int64_t{id})), *wrapped);
  txn.Set(TenantSpace(tenant).Pack(Tuple::Of(kCurrent)), Tuple::Of(int64_t{id}).Pack());
  return id;
}

StatusOr<DataKey> TenantKeyStore::LoadKey(kv::Transaction& txn, const std::string& tenant,
                                          uint32_t id) const {
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   txn.Get(TenantSpace(tenant).Pack(Tuple::Of(kKeys, int64_t{id}))));
  if (!value.has_value()) {
    return MakeError(ErrorCode::kNotFound, KeyName(tenant, id) + " does not exist");
  }
  return Unwrap(tenant, id, *value);
}

Status TenantKeyStore::CheckMasterKey(kv::Transaction& txn) const {
  auto [begin, end] = space_.Range();
  kv::RangeReader reader(txn, kv::RangeEndpoint::Inclusive(begin),
                         kv::RangeEndpoint::Exclusive(end));
  while (true) {
    ASSIGN_OR_RETURN(const kv::KeyValue* row, reader.Next());
    if (row == nullptr) return absl::OkStatus();
    // The first tenant's "current" row sorts before its key rows; skip such rows.
    std::optional<std::pair<std::string, uint32_t>> id = KeyRowId(space_, row->key);
    if (!id.has_value()) continue;
    StatusOr<DataKey> key = Unwrap(id->first, id->second, row->value);
    if (key.ok()) OPENSSL_cleanse(key->bytes.data(), key->bytes.size());
    return key.status();
  }
}

Status TenantKeyStore::DeleteTenantKeys(kv::Transaction& txn, const std::string& tenant) const {
  ASSIGN_OR_RETURN(int64_t highest, HighestKeyId(txn, tenant));
  auto [begin, end] = TenantSpace(tenant).Range();
  txn.ClearRange(begin, end);
  if (highest > 0) {
    txn.Set(TenantSpace(tenant).Pack(Tuple::Of(kRetired)), Tuple::Of(highest).Pack());
  }
  return absl::OkStatus();
}

StatusOr<std::vector<WrappedKeyInfo>> TenantKeyStore::ListKeys(kv::Transaction& txn,
                                                               const std::string& tenant) const {
  auto [begin, end] = TenantSpace(tenant).Sub(Tuple::Of(kKeys)).Range();
  kv::RangeReader reader(txn, kv::RangeEndpoint::Inclusive(begin),
                         kv::RangeEndpoint::Exclusive(end));
  std::vector<WrappedKeyInfo> infos;
  while (true) {
    ASSIGN_OR_RETURN(const kv::KeyValue* row, reader.Next());
    if (row == nullptr) break;
    std::optional<std::pair<std::string, uint32_t>> id = KeyRowId(space_, row->key);
    if (!id.has_value()) {
      return MakeError(ErrorCode::kDataCorruption,
                       "an unexpected key among the data keys of tenant \"" + tenant + "\"");
    }
    ASSIGN_OR_RETURN(WrappedKeyInfo info, ParseInfo(id->second, row->value));
    infos.push_back(std::move(info));
  }
  return infos;
}

StatusOr<int64_t> TenantKeyStore::RewrapDataKeys(kv::Database& db, int batch_size) const {
  auto [begin, end] = space_.Range();
  std::string resume = begin;
  int64_t rewrapped = 0;
  while (true) {
    int64_t batch_rewrapped = 0;
    std::string next_resume;
    bool done = false;
    RETURN_IF_ERROR(db.Run([&](kv::Transaction& txn) -> Status {
      batch_rewrapped = 0;
      ASSIGN_OR_RETURN(kv::RangeResult rows, txn.GetRange(kv::RangeEndpoint::Inclusive(resume),
                                                          kv::RangeEndpoint::Exclusive(end),
                                                          {.limit = std::max(1, batch_size)}));
      for (const kv::KeyValue& row : rows.rows) {
        std::optional<std::pair<std::string, uint32_t>> id = KeyRowId(space_, row.key);
        if (!id.has_value()) continue;  // "current" ids, re-encryption progress
        ASSIGN_OR_RETURN(WrappedFields fields, ParseWrapped(id->first, id->second, row.value));
        if (fields.master_key_id == master_.id()) continue;
        ASSIGN_OR_RETURN(DataKey key, Unwrap(id->first, id->second, row.value));
        StatusOr<std::string> wrapped = Wrap(id->first, id->second, key);
        OPENSSL_cleanse(key.bytes.data(), key.bytes.size());
        if (!wrapped.ok()) return wrapped.status();
        txn.Set(row.key, *wrapped);
        ++batch_rewrapped;
      }
      done = !rows.more;
      if (!rows.rows.empty()) next_resume = rows.rows.back().key + '\0';
      return absl::OkStatus();
    }));
    rewrapped += batch_rewrapped;
    if (done) return rewrapped;
    resume = next_resume;
  }
}

TenantKeyProvider::TenantKeyProvider(kv::Database& db, std::shared_ptr<const TenantKeyStore> keys,
                                     std::string tenant, TenantKeyProviderOptions options)
    : db_(db), keys_(std::move(keys)), tenant_(std::move(tenant)), options_(std::move(options)) {}

std::chrono::steady_clock::time_point TenantKeyProvider::Now() const {
  return options_.clock ? options_.clock() : std::chrono::steady_clock::now();
}

StatusOr<std::shared_ptr<TenantKeyProvider>> TenantKeyProvider::Open(
    kv::Database& db, std::shared_ptr<const TenantKeyStore> keys, std::string tenant,
    TenantKeyProviderOptions options) {
  std::shared_ptr<TenantKeyProvider> provider(
      new TenantKeyProvider(db, std::move(keys), std::move(tenant), std::move(options)));
  std::map<uint32_t, DataKey> loaded;
  uint32_t current = 0;
  RETURN_IF_ERROR(db.Run([&](kv::Transaction& txn) -> Status {
    loaded.clear();
    const TenantKeyStore& store = *provider->keys_;
    if (provider->options_.create_if_missing) {
      ASSIGN_OR_RETURN(current, store.EnsureTenantKey(txn, provider->tenant_));
    } else {
      ASSIGN_OR_RETURN(current, store.CurrentKeyId(txn, provider->tenant_));
    }
    // Every key is unwrapped now, so a wrong master key or a tampered key fails here, at
    // startup, rather than at the first read of an old record.
    ASSIGN_OR_RETURN(std::vector<WrappedKeyInfo> infos, store.ListKeys(txn, provider->tenant_));
    for (const WrappedKeyInfo& info : infos) {
      ASSIGN_OR_RETURN(loaded[info.id], store.LoadKey(txn, provider->tenant_, info.id));
    }
    if (!loaded.contains(current)) {
      return MakeError(ErrorCode::kDataCorruption,
                       "the current data key of tenant \"" + provider->tenant_ + "\" is missing");
    }
    return absl::OkStatus();
  }));
  absl::MutexLock lock(&provider->mutex_);
  provider->cache_ = std::move(loaded);
  provider->current_id_ = current;
  provider->current_read_at_ = provider->Now();
  return provider;
}

Status TenantKeyProvider::Refresh() const {
  uint32_t current = 0;
  std::optional<DataKey> key;
  RETURN_IF_ERROR(db_.Run([&](kv::Transaction& txn) -> Status {
    key.reset();
    ASSIGN_OR_RETURN(current, keys_->CurrentKeyId(txn, tenant_));
    {
      absl::MutexLock lock(&mutex_);
      if (cache_.contains(current)) return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(key, keys_->LoadKey(txn, tenant_, current));
    return absl::OkStatus();
  }));
  absl::MutexLock lock(&mutex_);
  if (key.has_value()) cache_.emplace(current, *key);
  current_id_ = current;
  current_read_at_ = Now();
  return absl::OkStatus();
}

StatusOr<DataKey> TenantKeyProvider::CurrentKey() const {
  {
    absl::MutexLock lock(&mutex_);
    if (options_.current_key_refresh.count() > 0 &&
        Now() - current_read_at_ < options_.current_key_refresh) {
      return cache_.at(current_id_);
    }
  }
  RETURN_IF_ERROR(Refresh());
  absl::MutexLock lock(&mutex_);
  return cache_.at(current_id_);
}

StatusOr<DataKey> TenantKeyProvider::KeyById(uint32_t id) const {
  {
    absl::MutexLock lock(&mutex_);
    auto it = cache_.find(id);
    if (it != cache_.end()) return it->second;
  }
  // A key rotated in by another process after this provider loaded.
  std::optional<DataKey> key;
  RETURN_IF_ERROR(db_.Run([&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(key, keys_->LoadKey(txn, tenant_, id));
    return absl::OkStatus();
  }));
  absl::MutexLock lock(&mutex_);
  cache_.emplace(id, *key);
  return *key;
}

}  // namespace recordstore::crypto
