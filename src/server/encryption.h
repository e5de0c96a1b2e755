// Encryption at rest in the server (docs/security.md): where the master key comes from, the
// key directory /recordstore/system/keys, and one TenantKeyProvider per tenant, handed to
// every record store the services open (ServiceState::store_options).
//
// The master key, first found wins:
//   1. EncryptionOptions::master_key_file (`--master-key-file`, config "master_key_file"):
//      must exist (a mistyped path must not silently create a new key);
//   2. the environment variable RECORDSTORE_MASTER_KEY (crypto::kMasterKeyEnvVar);
//   3. generated_key_file (the server passes <data_dir>/master.key), created with mode 0600 on
//      first start when encryption is on;
//   4. none of these (a memory:// KV): a random key held only in memory, as the data is.
// Key files with group or other permissions are refused (crypto/master_key.h).
//
// At Open the first stored data key is unwrapped (TenantKeyStore::CheckMasterKey), so a
// server started with another master key than its data was written with fails at once,
// naming the tenant, key id and both master key ids, instead of failing on each request.
//
// Tenants get their first data key on first use of one of their record spaces (creating it
// when the tenant is created would cost every tenant a key even if it never stores a record).
// Deleting a tenant deletes its keys (crypto-shredding, DeleteTenantKeys).
//
// With encryption off (`--encryption=off`, for tests and benchmarks only) new records are
// written in plaintext; a master key is still loaded when one of sources 1-3 has it (never
// generated), so records written encrypted stay readable, but only with it.
//
// Thread-safety: thread-safe.
#ifndef RECORDSTORE_SERVER_ENCRYPTION_H_
#define RECORDSTORE_SERVER_ENCRYPTION_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "crypto/tenant_keys.h"
#include "recordstore/kv.h"
#include "recordstore/status.h"
#include "store/record_store.h"

namespace recordstore::server {

struct EncryptionOptions {
  // Seal new records (true: the default and the only setting for real data).
  bool enabled = true;
  // An existing master key file (32 raw bytes, mode 0600 or stricter); empty: see above.
  std::string master_key_file;
  // Master key files the data keys may still be wrapped with (master key rotation): Open
  // re-wraps every such data key with the current master key before the server serves.
  std::vector<std::string> previous_master_key_files;
  // Where a master key is generated when neither a file nor the environment gives one;
  // empty: a key held in memory only.
  std::string generated_key_file;
};

class TenantEncryption {
 public:
  // Resolves the master key, opens (or creates) the key directory and checks the master key
  // against the stored data keys. Errors: the key file's (not_found, permission_denied naming
  // the mode, invalid_argument for a wrong size), the environment variable's
  // (invalid_argument), CheckMasterKey's (permission_denied naming the key ids for another
  // master key, data_corruption for a tampered wrapped key), KV errors. Every message starts
  // with "encryption at rest:". REQUIRES: `db` outlives the object.
  static StatusOr<std::unique_ptr<TenantEncryption>> Open(kv::Database& db,
                                                          const EncryptionOptions& options);

  // Sets `options.serializer.encrypt` and `options.keys` for the record stores of `tenant`:
  // its key provider, opened (and its first data key created when encryption is on) on first
  // use and cached. With encryption off and no key for the tenant, keys stay null.
  Status Apply(const std::string& tenant, store::RecordStoreOptions& options);

  // Deletes the tenant's data keys (crypto-shredding) and forgets its provider. Records of
  // the tenant still stored anywhere (an old SST file, a backup) no longer decrypt.
  Status DeleteTenantKeys(const std::string& tenant);

  // Runs in the rotation's transaction: the key id current before (0: none) and the new one.
  using RotationStep =
      std::function<Status(kv::Transaction& txn, uint32_t previous_id, uint32_t new_id)>;
  // Makes a new data key current for `tenant`; new records are sealed with it at once
  // (old ones keep reading with their key ids until the re-encryption job moves them).
  // `also`, when set, commits with the rotation (key_rotation.h records the pending
  // re-encryption there). unsupported (8006) when there is no master key; `also`'s errors.
  // Returns the new key id.
  StatusOr<uint32_t> RotateTenantKey(const std::string& tenant, const RotationStep& also = nullptr);

  // The tenant's key provider with its current key id re-read now, so that a rotation made
  // through another server is seen at once; null when there is no master key, or with
  // encryption off for a tenant without keys. TenantKeyProvider::Open's errors.
  StatusOr<std::shared_ptr<crypto::TenantKeyProvider>> RefreshedProvider(const std::string& tenant);

  bool enabled() const { return enabled_; }
  // Null when no master key was found (encryption off only).
  const std::shared_ptr<const crypto::TenantKeyStore>& keys() const { return keys_; }
  // "master key <id> (<where it came from>)", or "no master key".
  const std::string& description() const { return description_; }
  // Data keys re-wrapped at Open (master key rotation).
  int64_t rewrapped_at_open() const { return rewrapped_; }

 private:
  TenantEncryption(kv::Database& db, bool enabled) : db_(db), enabled_(enabled) {}
  StatusOr<std::shared_ptr<crypto::TenantKeyProvider>> Provider(const std::string& tenant);

  kv::Database& db_;
  const bool enabled_;
  std::shared_ptr<const crypto::TenantKeyStore> keys_;
  std::string description_;
  int64_t rewrapped_ = 0;

  absl::Mutex mutex_;
  std::map<std::string, std::shared_ptr<crypto::TenantKeyProvider>> providers_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace recordstore::server

#endif  // RECORDSTORE_SERVER_ENCRYPTION_H_
