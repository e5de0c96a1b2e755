// Data key rotation as the server runs it (docs/security.md, "Rotating a tenant's data key";
// Admin.RotateTenantKey and Admin.GetTenantKeyStatus).
//
// Rotate makes a new data key current for a tenant (TenantEncryption::RotateTenantKey: new
// records are sealed with it at once) and, in the same transaction, records that the tenant's
// records must be re-encrypted. A background worker per tenant then runs the re-encryption job
// (crypto/reencryption_job.h) over each record space of the tenant, then clears the record,
// but only while the key it moved the records to is still current; otherwise (a rotation
// meanwhile) it goes over every record space again, and each job retargets to the new key.
// Rotating while a re-encryption runs is therefore allowed and costs one more pass.
//
// Pending re-encryptions, in the directory /recordstore/system/key_rotations (P):
//   P + (tenant) -> (1, oldest key id in use)
// "oldest key id in use" is the key that was current when the first rotation since the last
// completed re-encryption was made: records may be sealed with it or any later key, never an
// earlier one. A process that starts reads P (one range read: the cost grows with pending
// re-encryptions, not with tenants) and resumes a worker for each row; each record space's
// job resumes after its last committed batch, so a crash loses at most one batch of work.
// Progress per record space is the job's own (ReencryptionJob::ProgressSpace); every server
// sharing the KV store reads the same.
//
// Limit: another server sharing the KV store picks up the new key within its
// TenantKeyProviderOptions::current_key_refresh (30 s); records it writes until then are
// sealed with the previous key, and a re-encryption that finished meanwhile does not see them
// (docs/security.md says so; the next rotation re-encrypts them).
//
// Thread-safety: thread-safe.
#ifndef RECORDSTORE_SERVER_KEY_ROTATION_H_
#define RECORDSTORE_SERVER_KEY_ROTATION_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "crypto/reencryption_job.h"
#include "crypto/tenant_keys.h"
#include "recordstore/kv.h"
#include "recordstore/status.h"
#include "recordstore/v1/admin.pb.h"
#include "server/catalog.h"
#include "server/encryption.h"
#include "server/stoppable_database.h"
#include "store/record_store.h"
#include "tuple/subspace.h"

namespace recordstore::server {

struct KeyRotationOptions {
  // Records one re-encryption batch (one transaction) reads, at most.
  int64_t records_per_batch = 200;
  // Records per second a re-encryption may read (0: unthrottled), so that it leaves room for
  // the requests. Batches are then at most this many records, paced evenly.
  double records_per_second = 0;
};

struct KeyRotationResult {
  uint32_t new_key_id = 0;
  // 0 when the tenant had no data key.
  uint32_t previous_key_id = 0;
  // Sorted.
  std::vector<std::string> record_spaces;
};

struct TenantKeyStatus {
  struct Space {
    std::string name;
    crypto::ReencryptionProgress progress;
    // Every record of the space is sealed with the current key (a space without a schema
    // holds no record, so it is done).
    bool done = false;
  };
  // 0: the tenant has no data key yet.
  uint32_t current_key_id = 0;
  std::vector<crypto::WrappedKeyInfo> keys;
  // The current key and, while a re-encryption is pending, every key from the oldest one in
  // use on; ascending.
  std::vector<uint32_t> referenced_key_ids;
  bool reencrypting = false;
  // Sorted by name.
  std::vector<Space> spaces;
  // Why this process's worker for the tenant stopped, when it failed; empty otherwise.
  std::string error;
};

class KeyRotations {
 public:
  using StoreOptions = std::function<StatusOr<store::RecordStoreOptions>(const std::string&)>;

  // Opens (creating when missing) the directory of pending re-encryptions. Starts no worker
  // (ResumePending does). `store_options` gives the serializer options re-encrypted records
  // are written with (compression as configured). REQUIRES: the arguments outlive the object.
  static StatusOr<std::unique_ptr<KeyRotations>> Open(kv::Database& db, Catalog& catalog,
                                                      TenantEncryption& encryption,
                                                      StoreOptions store_options,
                                                      KeyRotationOptions options = {});
  // Shutdown.
  ~KeyRotations();

  // Starts a worker for every pending re-encryption (those a stopped or crashed process left).
  Status ResumePending();

  // Rotates the tenant's data key and starts re-encrypting its records in the background.
  // Errors: failed_precondition (absl code, no table number: a server setting, not a request
  // error) with encryption off or without a master key; not_found "no tenant T"; KV errors.
  StatusOr<KeyRotationResult> Rotate(const std::string& tenant);

  // The tenant's keys and re-encryption progress. failed_precondition without a master key;
  // not_found "no tenant T"; KV errors.
  StatusOr<TenantKeyStatus> GetStatus(const std::string& tenant);

  // Drops the pending re-encryption of a deleted tenant (its worker ends at its next pass).
  Status Forget(const std::string& tenant);

  // Starts no more workers and stops the running ones at their next batch: what they
  // re-encrypted stays, and the next process resumes. Idempotent.
  void Shutdown();

  // Records re-encrypted by this process.
  int64_t records_reencrypted() const { return records_reencrypted_.load(); }
  // Tenants this process is re-encrypting now.
  int running() const;

 private:
  struct Worker {
    std::thread thread;
    bool running = true;
    // A rotation came while the worker ran: it makes one more pass before it ends.
    bool again = false;
    std::string error;
  };

  KeyRotations(kv::Database& db, Subspace pending, Catalog& catalog, TenantEncryption& encryption,
               StoreOptions store_options, KeyRotationOptions options)
      : db_(db),
        pending_(std::move(pending)),
        catalog_(catalog),
        encryption_(encryption),
        store_options_(std::move(store_options)),
        options_(options) {}

  // failed_precondition when the server cannot rotate (`rotating`) or read keys.
  Status CheckEncryption(bool rotating) const;
  // The oldest key id in use of the tenant's pending re-encryption, nullopt when none.
  StatusOr<std::optional<uint32_t>> ReadPending(kv::Transaction& txn,
                                                const std::string& tenant) const;
  void StartWorker(const std::string& tenant);
  void RunWorker(const std::string& tenant, Worker* worker);
  // One pass over the tenant's record spaces; true when the re-encryption is complete (or
  // no longer pending), false when the key changed during the pass.
  StatusOr<bool> RunPass(const std::string& tenant);
  // Runs the job of one record space to the end. not_found when the space was deleted.
  Status ReencryptSpace(const std::string& tenant, const ResolvedSpace& space,
                        std::shared_ptr<const KeyProvider> provider,
                        const SerializerOptions& serializer);
  // Waits `seconds` or until Shutdown; false after Shutdown.
  bool Pace(double seconds);

  kv::Database& db_;
  // The workers' view of the database, stopped by Shutdown.
  StoppableDatabase stoppable_{db_};
  const Subspace pending_;
  Catalog& catalog_;
  TenantEncryption& encryption_;
  const StoreOptions store_options_;
  const KeyRotationOptions options_;
  std::atomic<int64_t> records_reencrypted_{0};

  mutable absl::Mutex mutex_;
  bool shut_down_ ABSL_GUARDED_BY(mutex_) = false;
  std::map<std::string, std::unique_ptr<Worker>> workers_ ABSL_GUARDED_BY(mutex_);
};

// The API messages of Admin.RotateTenantKey and Admin.GetTenantKeyStatus.
void ToProto(const KeyRotationResult& result, v1::RotateTenantKeyResponse* response);
void ToProto(const TenantKeyStatus& status, v1::GetTenantKeyStatusResponse* response);

}  // namespace recordstore::server

#endif  // RECORDSTORE_SERVER_KEY_ROTATION_H_
