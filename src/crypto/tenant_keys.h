// Envelope encryption: one 256-bit data key per tenant, generated at random, stored in the KV
// store wrapped (AES-256-GCM) by the master key (master_key.h), and handed to the record
// serializer through a KeyProvider.
//
// Key layout, all under a subspace K chosen by the caller (the server is expected to use its
// directory /recordstore/system/keys); docs/security.md has the same table:
//   K + (tenant, "current")       -> (id)   the data key id new records are sealed with
//   K + (tenant, "keys", id)      -> (1, master_key_id, b"nonce", b"ciphertext+tag", created_us)
//                                    one wrapped data key; ids are 1, 2, 3, ... per tenant
//                                    name and never reused, not even after the tenant's
//                                    deletion
//   K + (tenant, "reencrypt", b"store prefix", ...)   re-encryption progress
//                                    (reencryption_job.h)
//   K + (tenant, "retired")       -> (id)   after DeleteTenantKeys: the highest id used
// `tenant` is a string element, `id` an integer. Values are packed tuples. Only
// DeleteTenantKeys deletes data keys.
//
// Why AES-256-GCM and not AES key wrap (RFC 5649): GCM authenticates associated data, and the
// wrap binds each key to its place: AAD = ("recordstore data key", 1, tenant, id,
// master_key_id).Pack(). A wrapped key copied to another tenant or id, or relabelled with
// another master key id, fails to unwrap. RFC 5649 has no associated data (only an 8-byte
// integrity check of the key itself). The nonce is 96 random bits; one master key wraps at
// most a few keys per tenant and rotation, far below GCM's 2^32 random-nonce bound. The AAD
// names no KV prefix, so the key space can be moved or restored elsewhere.
//
// Master key rotation: a TenantKeyStore holds the current master key and, during a rotation,
// the previous ones. It unwraps with whichever master key wrapped a data key (by id) and
// always wraps with the current one; RewrapDataKeys re-wraps every data key wrapped by a
// previous master key. When it returns, the previous master keys can be retired.
//
// Thread-safety: TenantKeyStore is immutable; TenantKeyProvider is safe for concurrent use.
#ifndef RECORDSTORE_CRYPTO_TENANT_KEYS_H_
#define RECORDSTORE_CRYPTO_TENANT_KEYS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "crypto/master_key.h"
#include "recordstore/kv.h"
#include "recordstore/status.h"
#include "store/record_serializer.h"
#include "tuple/subspace.h"

namespace recordstore::crypto {

// What a wrapped data key says about itself (no key material).
struct WrappedKeyInfo {
  uint32_t id = 0;
  // The id of the master key that wrapped it (MasterKey::id).
  std::string master_key_id;
  // When it was generated, microseconds since the Unix epoch.
  int64_t created_micros = 0;
};

class TenantKeyStore {
 public:
  // Data keys under `space`, wrapped with `master`; `previous` master keys are used only to
  // unwrap keys not yet re-wrapped (master key rotation).
  TenantKeyStore(Subspace space, MasterKey master, std::vector<MasterKey> previous = {});

  const Subspace& space() const { return space_; }
  const MasterKey& master() const { return master_; }

  // The tenant's current data key id, creating data key 1 when the tenant has none.
  // Concurrent first calls conflict in the KV store; the retried one finds the key.
  StatusOr<uint32_t> EnsureTenantKey(kv::Transaction& txn, const std::string& tenant) const;

  // Generates a new data key (id = the highest id so far + 1), makes it current and returns
  // its id. Older keys stay for reading records sealed with them. Works for a tenant without
  // keys too (its first key is then 1). invalid_argument when the ids are exhausted (2^32-1).
  StatusOr<uint32_t> RotateTenantKey(kv::Transaction& txn, const std::string& tenant) const;

  // The tenant's current data key id; not_found (8002) when it has none.
  StatusOr<uint32_t> CurrentKeyId(kv::Transaction& txn, const std::string& tenant) const;

  // Unwraps data key `id` of `tenant`. Errors:
  //   not_found (8002)          no such key;
  //   permission_denied (8009)  it was wrapped by a master key this store does not hold (a
  //                             server started with the wrong master key); the message names
  //                             both master key ids;
  //   data_corruption (8004)    the wrapped key fails authentication (tampered bytes, a key
  //                             copied from another tenant or id) or does not parse.
  StatusOr<DataKey> LoadKey(kv::Transaction& txn, const std::string& tenant, uint32_t id) const;

  // Checks that this store holds the master key the stored data keys are wrapped with, by
  // unwrapping the first data key of the key space (normally 2 reads: the first tenant's
  // "current" row and its key 1). OK when there is no data key yet. LoadKey's errors
  // otherwise: permission_denied naming the tenant, the key id and both master key ids when
  // the server was started with another master key.
  Status CheckMasterKey(kv::Transaction& txn) const;

  // Deletes every data key of `tenant` with its current id and re-encryption progress
  // (crypto-shredding: what is left of the tenant's records can no longer be decrypted),
  // keeping only the highest id used: a later key of a tenant of the same name gets the next
  // id, so that a process still caching a deleted key by its id never takes it for the new
  // one. Errors: KV errors, data_corruption for a key row that does not parse.
  Status DeleteTenantKeys(kv::Transaction& txn, const std::string& tenant) const;

  // Every data key of `tenant`, by ascending id.
  StatusOr<std::vector<WrappedKeyInfo>> ListKeys(kv::Transaction& txn,
                                                 const std::string& tenant) const;

  // Re-wraps with the current master key every data key (of every tenant) wrapped by another
  // one, `batch_size` keys per transaction, and returns how many it re-wrapped. Idempotent and
  // restartable: keys already under the current master key are skipped. Fails (leaving the
  // batches before committed) with LoadKey's errors, e.g. permission_denied for a key wrapped
  // by a master key that is neither current nor listed as previous.
  StatusOr<int64_t> RewrapDataKeys(kv::Database& db, int batch_size = 100) const;

 private:
  Subspace TenantSpace(const std::string& tenant) const { return space_.Sub(Tuple::Of(tenant)); }
  StatusOr<std::string> Wrap(const std::string& tenant, uint32_t id, const DataKey& key) const;
  StatusOr<DataKey> Unwrap(const std::string& tenant, uint32_t id, std::string_view wrapped) const;
  StatusOr<WrappedKeyInfo> ParseInfo(uint32_t id, std::string_view wrapped) const;
  // The highest data key id the tenant has, or had before DeleteTenantKeys; 0 for none.
  StatusOr<int64_t> HighestKeyId(kv::Transaction& txn, const std::string& tenant) const;

  Subspace space_;
  MasterKey master_;
  std::vector<MasterKey> previous_;
};

struct TenantKeyProviderOptions {
  // Create the tenant's first data key when it has none (false: Open fails with not_found).
  bool create_if_missing = true;
  // CurrentKey re-reads the tenant's current key id when its cached id is older than this, so
  // a rotation made by another process is picked up. 0: re-read on every call.
  std::chrono::milliseconds current_key_refresh{30'000};
  // Time source; default std::chrono::steady_clock::now. Tests pass fakes.
  std::function<std::chrono::steady_clock::time_point()> clock;
};

// The KeyProvider of one tenant (record_serializer.h): the current data key for new records,
// any older one by id for reads. Unwrapped keys are cached for the provider's lifetime (a data
// key never changes once written); a cache miss reads the KV store in its own short
// transaction, never the caller's.
class TenantKeyProvider : public KeyProvider {
 public:
  // Loads (or, per options, creates) the tenant's keys. Errors: TenantKeyStore::LoadKey's,
  // not_found without keys and create_if_missing false, KV errors.
  // REQUIRES: `db` outlives the provider.
  static StatusOr<std::shared_ptr<TenantKeyProvider>> Open(
      kv::Database& db, std::shared_ptr<const TenantKeyStore> keys, std::string tenant,
      TenantKeyProviderOptions options = {});

  StatusOr<DataKey> CurrentKey() const override;
  // not_found (8002) for an id the tenant does not have (after one re-read of the KV store);
  // LoadKey's errors otherwise.
  StatusOr<DataKey> KeyById(uint32_t id) const override;

  // Re-reads the current key id now (e.g. right after RotateTenantKey).
  Status Refresh() const;

  const std::string& tenant() const { return tenant_; }

 private:
  TenantKeyProvider(kv::Database& db, std::shared_ptr<const TenantKeyStore> keys,
                    std::string tenant, TenantKeyProviderOptions options);
  std::chrono::steady_clock::time_point Now() const;

  kv::Database& db_;
  std::shared_ptr<const TenantKeyStore> keys_;
  std::string tenant_;
  TenantKeyProviderOptions options_;

  mutable absl::Mutex mutex_;
  mutable std::map<uint32_t, DataKey> cache_ ABSL_GUARDED_BY(mutex_);
  mutable uint32_t current_id_ ABSL_GUARDED_BY(mutex_) = 0;
  mutable std::chrono::steady_clock::time_point current_read_at_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace recordstore::crypto

#endif  // RECORDSTORE_CRYPTO_TENANT_KEYS_H_
