#include "server/encryption.h"

#include <cstdlib>
#include <filesystem>

#include "common/status_macros.h"
#include "common/status_util.h"
#include "tuple/directory_layer.h"

namespace recordstore::server {
namespace {

// `error` with "encryption at rest: " in front; the error number (payload) stays.
Status Explain(const Status& error) {
  return WithMessage(error, "encryption at rest: " + std::string(error.message()));
}

struct FoundKey {
  std::optional<crypto::MasterKey> key;
  std::string source;
  // The key file this start created (empty when none).
  std::string generated_file;
};

StatusOr<FoundKey> FindMasterKey(const EncryptionOptions& options) {
  if (!options.master_key_file.empty()) {
    ASSIGN_OR_RETURN(crypto::MasterKey key, crypto::LoadMasterKeyFile(options.master_key_file));
    return FoundKey{std::move(key), "file " + options.master_key_file, std::string()};
  }
  if (std::getenv(crypto::kMasterKeyEnvVar) != nullptr) {
    ASSIGN_OR_RETURN(crypto::MasterKey key, crypto::LoadMasterKeyFromEnv(crypto::kMasterKeyEnvVar));
    return FoundKey{std::move(key), std::string("environment variable ") + crypto::kMasterKeyEnvVar,
                    std::string()};
  }
  if (!options.generated_key_file.empty()) {
    const bool existed = std::filesystem::exists(options.generated_key_file);
    StatusOr<crypto::MasterKey> key = crypto::LoadMasterKeyFile(
        options.generated_key_file, {.create_if_missing = options.enabled});
    // Encryption off never creates a key; without one, nothing encrypted can be read.
    if (!options.enabled && HasErrorCode(key.status(), ErrorCode::kNotFound)) return FoundKey{};
    RETURN_IF_ERROR(key.status());
    return FoundKey{
        *std::move(key),
        std::string(existed ? "file " : "file generated now: ") + options.generated_key_file,
        existed ? std::string() : options.generated_key_file};
  }
  if (!options.enabled) return FoundKey{};
  ASSIGN_OR_RETURN(crypto::MasterKey key, crypto::MasterKey::Generate());
  return FoundKey{std::move(key), "generated in memory, lost on exit with the memory:// data",
                  std::string()};
}

}  // namespace

StatusOr<std::unique_ptr<TenantEncryption>> TenantEncryption::Open(
    kv::Database& db, const EncryptionOptions& options) {
  std::unique_ptr<TenantEncryption> encryption(new TenantEncryption(db, options.enabled));
  StatusOr<FoundKey> found = FindMasterKey(options);
  if (!found.ok()) return Explain(found.status());
  if (!found->key.has_value()) {
    encryption->description_ = "no master key";
    return encryption;
  }
  std::vector<crypto::MasterKey> previous;
  for (const std::string& path : options.previous_master_key_files) {
    StatusOr<crypto::MasterKey> key = crypto::LoadMasterKeyFile(path);
    if (!key.ok()) return Explain(key.status());
    previous.push_back(*std::move(key));
  }
  encryption->description_ = "master key " + found->key->id() + " (" + found->source + ")";

  Subspace space;
  Status opened = db.Run([&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(DirectorySubspace directory,
                     DirectoryLayer().CreateOrOpen(txn, {"recordstore", "system", "keys"}));
    space = Subspace(directory.key());
    return absl::OkStatus();
  });
  if (!opened.ok()) return Explain(opened);
  auto keys = std::make_shared<const crypto::TenantKeyStore>(space, *std::move(found->key),
                                                             std::move(previous));
  if (!options.previous_master_key_files.empty()) {
    StatusOr<int64_t> rewrapped = keys->RewrapDataKeys(db);
    if (!rewrapped.ok()) return Explain(rewrapped.status());
    encryption->rewrapped_ = *rewrapped;
  }
  Status checked = db.Run([&](kv::Transaction& txn) { return keys->CheckMasterKey(txn); });
  if (!checked.ok()) {
    // A key generated now for data written under another one (its key file lost or moved)
    // must not stay: it would stand in the way of restoring the right file.
    if (!found->generated_file.empty()) {
      std::error_code ignored;
      std::filesystem::remove(found->generated_file, ignored);
    }
    return Explain(checked);
  }
  encryption->keys_ = std::move(keys);
  return encryption;
}

StatusOr<std::shared_ptr<crypto::TenantKeyProvider>> TenantEncryption::Provider(
    const std::string& tenant) {
  {
    absl::MutexLock lock(&mutex_);
    auto found = providers_.find(tenant);
    if (found != providers_.end()) return found->second;
  }
  if (keys_ == nullptr) return std::shared_ptr<crypto::TenantKeyProvider>();
  // Opened outside the lock: it runs a transaction. Two first requests of a tenant may both
  // open one; the KV store makes them agree on the tenant's key, and the first one is kept.
  crypto::TenantKeyProviderOptions provider_options;
  provider_options.create_if_missing = enabled_;
  StatusOr<std::shared_ptr<crypto::TenantKeyProvider>> opened =
      crypto::TenantKeyProvider::Open(db_, keys_, tenant, provider_options);
  if (!enabled_ && HasErrorCode(opened.status(), ErrorCode::kNotFound)) {
    // Never encrypted: nothing to read with a key. Not cached, so a key created later (by
    // another server with encryption on) is found.
    return std::shared_ptr<crypto::TenantKeyProvider>();
  }
  if (!opened.ok()) return Explain(opened.status());
  absl::MutexLock lock(&mutex_);
  return providers_.emplace(tenant, *std::move(opened)).first->second;
}

Status TenantEncryption::Apply(const std::string& tenant, store::RecordStoreOptions& options) {
  ASSIGN_OR_RETURN(std::shared_ptr<crypto::TenantKeyProvider> provider, Provider(tenant));
  options.keys = provider;
  options.serializer.encrypt = enabled_;
  return absl::OkStatus();
}

Status TenantEncryption::DeleteTenantKeys(const std::string& tenant) {
  {
    absl::MutexLock lock(&mutex_);
    providers_.erase(tenant);
  }
  if (keys_ == nullptr) return absl::OkStatus();
  Status deleted =
      db_.Run([&](kv::Transaction& txn) { return keys_->DeleteTenantKeys(txn, tenant); });
  return deleted.ok() ? deleted : Explain(deleted);
}

StatusOr<uint32_t> TenantEncryption::RotateTenantKey(const std::string& tenant,
                                                     const RotationStep& also) {
  if (keys_ == nullptr) {
    return MakeError(ErrorCode::kUnsupported,
                     "encryption at rest: no master key, so no data key to rotate");
  }
  uint32_t id = 0;
  Status rotated = db_.Run([&](kv::Transaction& txn) -> Status {
    uint32_t previous = 0;
    StatusOr<uint32_t> current = keys_->CurrentKeyId(txn, tenant);
    if (current.ok()) {
      previous = *current;
    } else if (!HasErrorCode(current.status(), ErrorCode::kNotFound)) {
      return current.status();
    }
    ASSIGN_OR_RETURN(id, keys_->RotateTenantKey(txn, tenant));
    if (also) RETURN_IF_ERROR(also(txn, previous, id));
    return absl::OkStatus();
  });
  if (!rotated.ok()) return Explain(rotated);
  RETURN_IF_ERROR(RefreshedProvider(tenant).status());
  return id;
}

StatusOr<std::shared_ptr<crypto::TenantKeyProvider>> TenantEncryption::RefreshedProvider(
    const std::string& tenant) {
  ASSIGN_OR_RETURN(std::shared_ptr<crypto::TenantKeyProvider> provider, Provider(tenant));
  if (provider != nullptr) RETURN_IF_ERROR(provider->Refresh());
  return provider;
}

}  // namespace recordstore::server
