#include "server/key_rotation.h"

#include <algorithm>
#include <iostream>
#include <utility>

#include "absl/time/time.h"
#include "common/status_macros.h"
#include "common/status_util.h"
#include "tuple/directory_layer.h"
#include "tuple/tuple.h"

namespace recordstore::server {
namespace {

constexpr int64_t kPendingFormat = 1;

Status Precondition(const std::string& message) {
  return Status(absl::StatusCode::kFailedPrecondition, "encryption at rest: " + message);
}

// `error` naming the record space it happened in; the code and the error number stay.
Status InSpace(const Status& error, const std::string& tenant, const std::string& space) {
  return WithMessage(error,
                     "record space " + tenant + "/" + space + ": " + std::string(error.message()));
}

}  // namespace

StatusOr<std::unique_ptr<KeyRotations>> KeyRotations::Open(kv::Database& db, Catalog& catalog,
                                                           TenantEncryption& encryption,
                                                           StoreOptions store_options,
                                                           KeyRotationOptions options) {
  Subspace pending;
  RETURN_IF_ERROR(db.Run([&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(
        DirectorySubspace directory,
        DirectoryLayer().CreateOrOpen(txn, {"recordstore", "system", "key_rotations"}));
    pending = Subspace(directory.key());
    return absl::OkStatus();
  }));
  return std::unique_ptr<KeyRotations>(new KeyRotations(db, std::move(pending), catalog, encryption,
                                                        std::move(store_options), options));
}

KeyRotations::~KeyRotations() { Shutdown(); }

Status KeyRotations::CheckEncryption(bool rotating) const {
  if (encryption_.keys() == nullptr) {
    return Precondition(
        "the server has no master key (it runs with --encryption=off and found no key file or "
        "RECORDSTORE_MASTER_KEY), so tenants have no data keys; start it with encryption on");
  }
  if (rotating && !encryption_.enabled()) {
    return Precondition(
        "the server runs with --encryption=off, so new records would not be sealed with a new "
        "data key; restart it with --encryption=on to rotate data keys");
  }
  return absl::OkStatus();
}

StatusOr<std::optional<uint32_t>> KeyRotations::ReadPending(kv::Transaction& txn,
                                                            const std::string& tenant) const {
  ASSIGN_OR_RETURN(std::optional<std::string> value, txn.Get(pending_.Pack(Tuple::Of(tenant))));
  if (!value.has_value()) return std::optional<uint32_t>();
  StatusOr<Tuple> tuple = Tuple::Unpack(*value);
  std::optional<int64_t> format;
  std::optional<int64_t> oldest;
  if (tuple.ok() && tuple->size() == 2) {
    format = (*tuple)[0].AsInt64();
    oldest = (*tuple)[1].AsInt64();
  }
  if (format != kPendingFormat || !oldest.has_value() || *oldest < 0 || *oldest > UINT32_MAX) {
    return MakeError(ErrorCode::kDataCorruption,
                     "the pending re-encryption of tenant " + tenant + " does not parse");
  }
  return std::optional<uint32_t>(static_cast<uint32_t>(*oldest));
}

StatusOr<KeyRotationResult> KeyRotations::Rotate(const std::string& tenant) {
  RETURN_IF_ERROR(CheckEncryption(/*rotating=*/true));
  KeyRotationResult result;
  // Also the tenant's existence check: no key is made for a tenant that does not exist.
  ASSIGN_OR_RETURN(result.record_spaces, catalog_.ListSpaces(tenant));
  ASSIGN_OR_RETURN(
      result.new_key_id,
      encryption_.RotateTenantKey(
          tenant, [&](kv::Transaction& txn, uint32_t previous_id, uint32_t new_id) -> Status {
            result.previous_key_id = previous_id;
            ASSIGN_OR_RETURN(std::optional<uint32_t> oldest, ReadPending(txn, tenant));
            // A rotation during a pending re-encryption keeps the older key in use; a first
            // rotation makes the previous key the oldest (none: the new key is the only one).
            if (!oldest.has_value()) oldest = previous_id != 0 ? previous_id : new_id;
            txn.Set(pending_.Pack(Tuple::Of(tenant)),
                    Tuple::Of(kPendingFormat, int64_t{*oldest}).Pack());
            return absl::OkStatus();
          }));
  StartWorker(tenant);
  return result;
}

StatusOr<TenantKeyStatus> KeyRotations::GetStatus(const std::string& tenant) {
  RETURN_IF_ERROR(CheckEncryption(/*rotating=*/false));
  ASSIGN_OR_RETURN(std::vector<std::string> names, catalog_.ListSpaces(tenant));
  const crypto::TenantKeyStore& keys = *encryption_.keys();
  TenantKeyStatus status;
  std::optional<uint32_t> oldest;
  std::vector<ResolvedSpace> spaces;
  RETURN_IF_ERROR(db_.Run([&](kv::Transaction& txn) -> Status {
    spaces.clear();
    StatusOr<uint32_t> current = keys.CurrentKeyId(txn, tenant);
    if (!current.ok() && !HasErrorCode(current.status(), ErrorCode::kNotFound)) {
      return current.status();
    }
    status.current_key_id = current.value_or(0);
    ASSIGN_OR_RETURN(status.keys, keys.ListKeys(txn, tenant));
    ASSIGN_OR_RETURN(oldest, ReadPending(txn, tenant));
    for (const std::string& name : names) {
      StatusOr<ResolvedSpace> space = catalog_.Resolve(txn, tenant, name);
      // Deleted since it was listed.
      if (HasErrorCode(space.status(), ErrorCode::kNotFound)) continue;
      RETURN_IF_ERROR(space.status());
      spaces.push_back(*std::move(space));
    }
    return absl::OkStatus();
  }));
  status.reencrypting = oldest.has_value();
  for (const crypto::WrappedKeyInfo& key : status.keys) {
    if (key.id == status.current_key_id ||
        (oldest.has_value() && key.id >= *oldest && key.id <= status.current_key_id)) {
      status.referenced_key_ids.push_back(key.id);
    }
  }
  for (const ResolvedSpace& space : spaces) {
    TenantKeyStatus::Space entry;
    entry.name = space.name;
    if (space.schema != nullptr) {
      // ReadProgress reads the job's state only, never a key: no provider is needed.
      crypto::ReencryptionJob job(db_, space.data,
                                  crypto::ReencryptionJob::ProgressSpace(keys, tenant, space.data),
                                  nullptr);
      ASSIGN_OR_RETURN(entry.progress, job.ReadProgress());
    }
    entry.done = !status.reencrypting || space.schema == nullptr ||
                 (entry.progress.done && entry.progress.target_key_id == status.current_key_id);
    status.spaces.push_back(std::move(entry));
  }
  absl::MutexLock lock(&mutex_);
  auto worker = workers_.find(tenant);
  if (worker != workers_.end()) status.error = worker->second->error;
  return status;
}

Status KeyRotations::Forget(const std::string& tenant) {
  return db_.Run([&](kv::Transaction& txn) -> Status {
    txn.Clear(pending_.Pack(Tuple::Of(tenant)));
    return absl::OkStatus();
  });
}

Status KeyRotations::ResumePending() {
  // Without a master key nothing can be re-encrypted: the rows wait for a start with it.
  if (encryption_.keys() == nullptr) return absl::OkStatus();
  std::vector<std::string> tenants;
  RETURN_IF_ERROR(db_.Run([&](kv::Transaction& txn) -> Status {
    tenants.clear();
    auto [begin, end] = pending_.Range();
    kv::RangeReader reader(txn, kv::RangeEndpoint::Inclusive(begin),
                           kv::RangeEndpoint::Exclusive(end));
    while (true) {
      ASSIGN_OR_RETURN(const kv::KeyValue* row, reader.Next());
      if (row == nullptr) return absl::OkStatus();
      ASSIGN_OR_RETURN(Tuple key, pending_.Unpack(row->key));
      const auto* tenant = key.size() == 1 ? key[0].get_if<std::string>() : nullptr;
      if (tenant == nullptr) {
        return MakeError(ErrorCode::kDataCorruption, "a pending re-encryption key does not parse");
      }
      tenants.push_back(*tenant);
    }
  }));
  for (const std::string& tenant : tenants) StartWorker(tenant);
  return absl::OkStatus();
}

void KeyRotations::StartWorker(const std::string& tenant) {
  absl::MutexLock lock(&mutex_);
  if (shut_down_) return;
  std::unique_ptr<Worker>& slot = workers_[tenant];
  if (slot != nullptr && slot->running) {
    slot->again = true;
    return;
  }
  if (slot != nullptr && slot->thread.joinable()) slot->thread.join();
  slot = std::make_unique<Worker>();
  Worker* worker = slot.get();
  worker->thread = std::thread([this, tenant, worker] { RunWorker(tenant, worker); });
}

void KeyRotations::RunWorker(const std::string& tenant, Worker* worker) {
  while (true) {
    StatusOr<bool> complete = RunPass(tenant);
    if (!complete.ok()) {
      if (stoppable_.stopped()) {
        std::cerr << "recordstore: re-encrypting tenant " << tenant
                  << " paused by shutdown; it resumes on the next start\n";
      } else {
        std::cerr << "recordstore: re-encrypting tenant " << tenant
                  << " failed: " << complete.status().message() << "\n";
      }
    }
    absl::MutexLock lock(&mutex_);
    worker->error = complete.ok() ? "" : std::string(complete.status().message());
    // A rotation during the pass (again) gets one more pass, even after a failure: it may have
    // been the fix (a record deleted) or not, and the pass says which.
    if (!worker->again && (!complete.ok() || *complete || shut_down_)) {
      worker->running = false;
      return;
    }
    worker->again = false;
  }
}

StatusOr<bool> KeyRotations::RunPass(const std::string& tenant) {
  // Checked before the provider is opened, which would make a deleted tenant a key again:
  // DeleteTenant forgets the re-encryption after deleting the tenant, before its keys.
  std::optional<uint32_t> pending;
  RETURN_IF_ERROR(stoppable_.Run([&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(pending, ReadPending(txn, tenant));
    return absl::OkStatus();
  }));
  if (!pending.has_value()) return true;
  StatusOr<std::vector<std::string>> names = catalog_.ListSpaces(tenant);
  if (HasErrorCode(names.status(), ErrorCode::kNotFound)) return true;
  RETURN_IF_ERROR(names.status());
  // Re-read now: the key may have been rotated through another server.
  ASSIGN_OR_RETURN(std::shared_ptr<crypto::TenantKeyProvider> provider,
                   encryption_.RefreshedProvider(tenant));
  // Encryption off (a restart with --encryption=off) and the tenant never got a key.
  if (provider == nullptr) return true;
  const crypto::TenantKeyStore& keys = *encryption_.keys();
  ASSIGN_OR_RETURN(DataKey target, provider->CurrentKey());
  ASSIGN_OR_RETURN(store::RecordStoreOptions store_options, store_options_(tenant));
  for (const std::string& name : *names) {
    StatusOr<ResolvedSpace> space;
    RETURN_IF_ERROR(stoppable_.Run([&](kv::Transaction& txn) -> Status {
      space = catalog_.Resolve(txn, tenant, name);
      return absl::OkStatus();
    }));
    if (HasErrorCode(space.status(), ErrorCode::kNotFound)) continue;  // deleted meanwhile
    RETURN_IF_ERROR(space.status());
    // Without a schema there is no record store, so no record.
    if (space->schema == nullptr) continue;
    Status done = ReencryptSpace(tenant, *space, provider, store_options.serializer);
    if (HasErrorCode(done, ErrorCode::kNotFound)) {
      // The space deleted while its job ran, or a record sealed with a key the tenant lacks.
      Status exists = stoppable_.Run(
          [&](kv::Transaction& txn) { return catalog_.Resolve(txn, tenant, name).status(); });
      if (HasErrorCode(exists, ErrorCode::kNotFound)) continue;
    }
    if (!done.ok()) return InSpace(done, tenant, name);
  }
  bool complete = false;
  RETURN_IF_ERROR(stoppable_.Run([&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<uint32_t> oldest, ReadPending(txn, tenant));
    complete = true;
    if (!oldest.has_value()) return absl::OkStatus();  // forgotten meanwhile
    ASSIGN_OR_RETURN(uint32_t current, keys.CurrentKeyId(txn, tenant));
    // Cleared only while the key the spaces moved to is current: a rotation committed since
    // conflicts with this transaction or changed the key, and the worker passes again.
    complete = current == target.id;
    if (complete) txn.Clear(pending_.Pack(Tuple::Of(tenant)));
    return absl::OkStatus();
  }));
  return complete;
}

Status KeyRotations::ReencryptSpace(const std::string& tenant, const ResolvedSpace& space,
                                    std::shared_ptr<const KeyProvider> provider,
                                    const SerializerOptions& serializer) {
  crypto::ReencryptionOptions job_options;
  job_options.serializer = serializer;
  job_options.records_per_batch = options_.records_per_batch;
  double pause_seconds = 0;
  if (options_.records_per_second > 0) {
    job_options.records_per_batch = static_cast<int64_t>(std::clamp(
        options_.records_per_second, 1.0, static_cast<double>(options_.records_per_batch)));
    pause_seconds =
        static_cast<double>(job_options.records_per_batch) / options_.records_per_second;
  }
  crypto::ReencryptionJob job(
      stoppable_, space.data,
      crypto::ReencryptionJob::ProgressSpace(*encryption_.keys(), tenant, space.data),
      std::move(provider), job_options);
  ASSIGN_OR_RETURN(crypto::ReencryptionProgress before, job.ReadProgress());
  while (true) {
    ASSIGN_OR_RETURN(bool done, job.RunBatch());
    ASSIGN_OR_RETURN(crypto::ReencryptionProgress after, job.ReadProgress());
    // A new target restarts the job's counts.
    const bool same_run = after.target_key_id == before.target_key_id &&
                          after.records_rewritten >= before.records_rewritten;
    records_reencrypted_.fetch_add(after.records_rewritten -
                                   (same_run ? before.records_rewritten : 0));
    before = after;
    if (done) return absl::OkStatus();
    if (pause_seconds > 0 && !Pace(pause_seconds)) {
      return MakeError(ErrorCode::kTransactionCancelled, "re-encryption stopped by shutdown");
    }
  }
}

bool KeyRotations::Pace(double seconds) {
  absl::MutexLock lock(&mutex_);
  return !mutex_.AwaitWithTimeout(absl::Condition(&shut_down_), absl::Seconds(seconds));
}

int KeyRotations::running() const {
  absl::MutexLock lock(&mutex_);
  return static_cast<int>(std::count_if(workers_.begin(), workers_.end(),
                                        [](const auto& entry) { return entry.second->running; }));
}

void KeyRotations::Shutdown() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mutex_);
    shut_down_ = true;
    stoppable_.Stop();
    for (auto& [tenant, worker] : workers_) {
      if (worker->thread.joinable()) threads.push_back(std::move(worker->thread));
    }
  }
  for (std::thread& thread : threads) thread.join();
}

void ToProto(const KeyRotationResult& result, v1::RotateTenantKeyResponse* response) {
  response->set_new_key_id(result.new_key_id);
  response->set_previous_key_id(result.previous_key_id);
  *response->mutable_record_spaces() = {result.record_spaces.begin(), result.record_spaces.end()};
}

void ToProto(const TenantKeyStatus& status, v1::GetTenantKeyStatusResponse* response) {
  response->set_current_key_id(status.current_key_id);
  for (const crypto::WrappedKeyInfo& key : status.keys) {
    v1::TenantDataKey* out = response->add_keys();
    out->set_id(key.id);
    out->set_master_key_id(key.master_key_id);
    out->set_created_micros(key.created_micros);
  }
  *response->mutable_referenced_key_ids() = {status.referenced_key_ids.begin(),
                                             status.referenced_key_ids.end()};
  response->set_reencrypting(status.reencrypting);
  for (const TenantKeyStatus::Space& space : status.spaces) {
    v1::RecordSpaceReencryption* out = response->add_record_spaces();
    out->set_record_space(space.name);
    out->set_target_key_id(space.progress.target_key_id);
    out->set_records_scanned(space.progress.records_scanned);
    out->set_records_rewritten(space.progress.records_rewritten);
    out->set_done(space.done);
  }
  response->set_error(status.error);
}

}  // namespace recordstore::server
