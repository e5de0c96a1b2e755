// ReencryptionJob: rewrites every record of one record store that is not sealed with the
// tenant's current data key (sealed with an older key id, or not encrypted at all) so that it
// is, in resumable batches, like the online indexer (indexer/online_indexer.h) builds an index.
//
// Each batch is one transaction: it reads the job's progress, reads up to
// `records_per_batch` records in primary-key order from where the last batch stopped (also
// stopping early on the time and size budgets), rewrites those that need it, and records
// where it stopped, all committed together. A job stopped at any point (crash, kill, the
// object discarded) therefore leaves only whole batches behind, and the next job on the same
// progress space resumes after the last committed batch. Two jobs on one store conflict on the
// progress key and one of them retries; nothing is rewritten twice at once.
//
// Versions are kept. A record is rewritten through the split helper (cursor/split_helper.h),
// not through RecordStore::SaveRecord: the stored bytes are decrypted and re-sealed (the same
// payload, the same record key as associated data) and saved with the record's existing
// version. SaveRecord would give every record a new version: re-encryption is not a change
// of the record, and a new version would look like one to everything that uses versions
// (optimistic concurrency by version, sync by version index, "changed since" queries), and
// would rewrite every index entry for nothing. Index entries are untouched: they are not
// encrypted (docs/security.md). A concurrent SaveRecord of the same record conflicts with the
// batch (both read and write the record's keys), so no update is lost.
//
// Layering debt: this job knows two facts of src/store that src/store does not export: the
// records live under the store's subspace + (1) (record_store.h, "Layout"), and the
// record header of record_serializer.h (format 1) tells the key id. docs/security.md and the
// report of this change ask for RecordStore APIs that would replace both.
//
// Rotation while the job runs: progress remembers the key id the job is moving records to.
// When the current key changes, the next batch starts again from the first record (records
// already sealed with the new key are skipped after reading only their header).
//
// Progress, one key under `progress` (ProgressSpace puts it with the tenant's keys):
//   progress + ("state") -> (1, target key id, b"resume key", done, records scanned,
//                            records rewritten)
// "resume key" is the first records key not yet visited (empty: from the start).
//
// Thread-safety: Run/RunBatch on one thread; one job object per store at a time.
#ifndef RECORDSTORE_CRYPTO_REENCRYPTION_JOB_H_
#define RECORDSTORE_CRYPTO_REENCRYPTION_JOB_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/tenant_keys.h"
#include "recordstore/kv.h"
#include "recordstore/status.h"
#include "store/record_serializer.h"
#include "tuple/subspace.h"

namespace recordstore::crypto {

struct ReencryptionOptions {
  // Records read (not only rewritten) per batch transaction, at most.
  int64_t records_per_batch = 200;
  // A batch stops reading once its transaction is this old (the KV's read version lives 5 s).
  std::chrono::milliseconds max_transaction_time{2000};
  // A batch stops reading once its mutations reach this many bytes (the KV refuses 10 MB).
  int64_t max_transaction_bytes = 4'000'000;
  // How rewritten records are serialized: pass the server's options, so that compression
  // stays as configured. `encrypt` is forced on.
  SerializerOptions serializer;
  // A batch that fails with a retryable error is retried up to this many times in a row.
  int max_retries = 50;
};

struct ReencryptionProgress {
  // The data key records are being moved to (0 before the first batch).
  uint32_t target_key_id = 0;
  // Records read and rewritten since the job (for this target key) started, over all runs.
  int64_t records_scanned = 0;
  int64_t records_rewritten = 0;
  // Every record was visited since the target key became current.
  bool done = false;
};

// The key id a stored record (record_serializer.h, format 1) is sealed with, nullopt when it
// is not encrypted. data_corruption (8004) for a header that does not parse.
StatusOr<std::optional<uint32_t>> SealingKeyId(std::string_view stored);

class ReencryptionJob {
 public:
  // The progress space of the job for the record store in `store_subspace` of `tenant`:
  // keys.space() + (tenant, "reencrypt", b"<store subspace prefix>").
  static Subspace ProgressSpace(const TenantKeyStore& keys, const std::string& tenant,
                                const Subspace& store_subspace);

  // Moves the records of the store in `store_subspace` to keys->CurrentKey(), keeping
  // progress under `progress`. REQUIRES: `db` outlives the job; `keys` reads every key id
  // the store's records use.
  ReencryptionJob(kv::Database& db, Subspace store_subspace, Subspace progress,
                  std::shared_ptr<const KeyProvider> keys, ReencryptionOptions options = {});

  // Runs one batch. Returns true when the job is done: this batch reached the last record,
  // or an earlier one did for the same target key (then it writes nothing). Errors: not_found
  // (8002) when the subspace holds no record store; data_corruption for records that do not decode
  // (the batch commits nothing; the job stops there: fix or delete the record, or restore it);
  // not_found for a record's unknown key id (both messages start "record <primary key>: ");
  // KV errors after max_retries.
  StatusOr<bool> RunBatch();

  // Runs batches until done; returns the final progress.
  StatusOr<ReencryptionProgress> Run();

  // The committed progress.
  StatusOr<ReencryptionProgress> ReadProgress();

 private:
  StatusOr<bool> TryBatch();

  kv::Database& db_;
  Subspace store_;
  Subspace records_;
  Subspace progress_;
  std::shared_ptr<const KeyProvider> keys_;
  ReencryptionOptions options_;
};

}  // namespace recordstore::crypto

#endif  // RECORDSTORE_CRYPTO_REENCRYPTION_JOB_H_
