#include "kv/engine/engine_database.h"

#include <algorithm>

#include "kv/atomic_ops.h"
#include "kv/buffered_transaction.h"
#include "kv/engine/engine_transaction.h"

namespace recordstore::kv {
namespace {

// At most this many transactions share one commit batch (the versionstamp order is 16 bits).
constexpr size_t kMaxGroupSize = 4096;
// A group stops growing past this many bytes of mutations.
constexpr int64_t kMaxGroupBytes = 16 << 20;

Version WallClockMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The state a commit batch sees while it is being built: the published snapshot plus the
// mutations of the transactions already placed in the batch. Atomic mutations read it, so a
// later transaction in the batch builds on an earlier one's result.
//
// The results of atomic mutations are not written to the batch one by one: a key that is the
// target of many (a COUNT index's key, once per saved record) would otherwise cost one
// memtable entry per mutation. Each result waits in the view, marked deferred, and
// WriteDeferred puts the final value once. A later plain write of the key (set, clear, range
// clear) drops the deferral, since it goes to the batch after the atomic results it hides.
class BatchView {
 public:
  explicit BatchView(const StorageSnapshot& base) : base_(base) {}

  StatusOr<std::optional<std::string>> Get(const std::string& key) const {
    auto it = touched_.find(key);
    if (it != touched_.end()) return it->second.value;
    for (const auto& [begin, end] : cleared_) {
      if (begin <= key && key < end) return std::optional<std::string>();
    }
    return base_.Get(key);
  }
  // `deferred`: the value is an atomic mutation's result that WriteDeferred must write.
  void Put(const std::string& key, std::optional<std::string> value, bool deferred = false) {
    Touched& touched = touched_[key];
    touched.value = std::move(value);
    touched.deferred = deferred;
  }
  void DeleteRange(const std::string& begin, const std::string& end) {
    touched_.erase(touched_.lower_bound(begin), touched_.lower_bound(end));
    cleared_.emplace_back(begin, end);
  }
  // Appends the final value of every key whose last write was an atomic mutation.
  void WriteDeferred(StorageBatch& batch) const {
    for (const auto& [key, touched] : touched_) {
      if (!touched.deferred) continue;
      if (touched.value.has_value()) {
        batch.Put(key, *touched.value);
      } else {
        batch.Delete(key);
      }
    }
  }

 private:
  struct Touched {
    std::optional<std::string> value;
    bool deferred = false;
  };
  const StorageSnapshot& base_;
  std::map<std::string, Touched> touched_;
  std::vector<KeyRange> cleared_;
};

// Records the ranges a committed transaction wrote at `version` (its point writes, cleared
// ranges, resolved versionstamped keys and explicit write conflict ranges).
void RecordWrites(const CommitRequest& r, Resolver& resolver) {
  std::string stamp = MakeVersionstamp(r.commit_version, r.batch_order);
  for (const Mutation& m : r.writes->log()) {
    if (m.kind == Mutation::Kind::kClearRange) {
      resolver.RecordWrite(m.key, m.param, r.commit_version);
    } else if (m.kind == Mutation::Kind::kAtomic &&
               m.atomic_type == MutationType::kSetVersionstampedKey) {
      auto key = SpliceVersionstamp(m.key, stamp);
      if (key.ok()) resolver.RecordWrite(*key, KeyAfter(*key), r.commit_version);
    } else {
      resolver.RecordWrite(m.key, KeyAfter(m.key), r.commit_version);
    }
  }
  for (const auto& [begin, end] : *r.extra_write_ranges) {
    resolver.RecordWrite(begin, end, r.commit_version);
  }
}

// Appends one transaction's mutations to `batch`, resolving atomic and versionstamped ones
// against `view` (REQUIRES: given when the transaction has atomic ops; the results of atomic
// mutations reach the batch through view->WriteDeferred).
Status ApplyTransaction(const WriteSet& writes, const std::string& stamp, StorageBatch& batch,
                        BatchView* view) {
  for (const Mutation& m : writes.log()) {
    switch (m.kind) {
      case Mutation::Kind::kSet:
        batch.Put(m.key, m.param);
        if (view) view->Put(m.key, m.param);
        break;
      case Mutation::Kind::kClear:
        batch.Delete(m.key);
        if (view) view->Put(m.key, std::nullopt);
        break;
      case Mutation::Kind::kClearRange:
        if (m.key >= m.param) break;
        batch.DeleteRange(m.key, m.param);
        if (view) view->DeleteRange(m.key, m.param);
        break;
      case Mutation::Kind::kAtomic: {
        std::string key = m.key;
        std::optional<std::string> result;
        if (m.atomic_type == MutationType::kSetVersionstampedKey) {
          auto spliced = SpliceVersionstamp(m.key, stamp);
          if (!spliced.ok()) return spliced.status();
          key = *std::move(spliced);
          result = m.param;
        } else if (m.atomic_type == MutationType::kSetVersionstampedValue) {
          auto spliced = SpliceVersionstamp(m.param, stamp);
          if (!spliced.ok()) return spliced.status();
          result = *std::move(spliced);
        } else {
          auto existing = view->Get(key);
          if (!existing.ok()) return existing.status();
          std::optional<std::string_view> base;
          if (existing->has_value()) base = **existing;
          view->Put(key, ApplyAtomicOp(m.atomic_type, base, m.param), /*deferred=*/true);
          break;
        }
        if (result.has_value()) {
          batch.Put(key, *result);
        } else {
          batch.Delete(key);
        }
        if (view) view->Put(key, std::move(result));
        break;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::unique_ptr<EngineDatabase>> EngineDatabase::Open(std::unique_ptr<Storage> storage,
                                                               const DatabaseOptions& options) {
  StatusOr<std::optional<std::string>> metadata_version =
      storage->Snapshot()->Get(kMetadataVersionKey);
  if (!metadata_version.ok()) return metadata_version.status();
  return std::unique_ptr<EngineDatabase>(
      new EngineDatabase(std::move(storage), options, *std::move(metadata_version)));
}

EngineDatabase::EngineDatabase(std::unique_ptr<Storage> storage, const DatabaseOptions& options,
                               std::optional<std::string> metadata_version)
    : storage_(std::move(storage)),
      options_(options),
      watches_(options.max_watches),
      last_version_(storage_->RecoveredVersion()) {
  history_.push_back({storage_->Snapshot(), Clock::now(), std::move(metadata_version)});
}

EngineDatabase::~EngineDatabase() = default;

std::unique_ptr<Transaction> EngineDatabase::CreateTransaction(const TransactionOptions& options) {
  return std::make_unique<EngineTransaction>(this, options);
}

StatusOr<ReadSnapshot> EngineDatabase::AcquireReadVersion(std::optional<Version> at) {
  ReadSnapshot read;
  Clock::time_point now = Clock::now();
  std::lock_guard lock(published_mu_);
  if (!at.has_value() || *at >= history_.back().snapshot->version()) {
    if (at.has_value() && *at > history_.back().snapshot->version()) {
      return MakeError(ErrorCode::kFutureVersion,
                       "version " + std::to_string(*at) + " is newer than the latest commit " +
                           std::to_string(history_.back().snapshot->version()));
    }
    read.snapshot = history_.back().snapshot;
    read.taken = now;
    read.metadata_version = history_.back().metadata_version;
  } else {
    // The newest snapshot at or below `at`: it was current from its publication until its
    // successor's, and its age counts from the latter.
    auto next =
        std::upper_bound(history_.begin(), history_.end(), *at,
                         [](Version v, const Published& p) { return v < p.snapshot->version(); });
    if (next == history_.begin() || now - next->time > kMaxReadVersionAge) {
      return MakeError(ErrorCode::kTransactionTooOld,
                       "version " + std::to_string(*at) + " is older than the 5 s MVCC window");
    }
    read.snapshot = std::prev(next)->snapshot;
    read.taken = next->time;
    read.metadata_version = std::prev(next)->metadata_version;
  }
  read.live = live_reads_.emplace(read.snapshot->version(), read.taken);
  return read;
}

void EngineDatabase::ReleaseReadVersion(const ReadSnapshot& read) {
  std::lock_guard lock(published_mu_);
  live_reads_.erase(read.live);
}

StatusOr<std::optional<std::string>> EngineDatabase::ReadLatest(std::string_view key) {
  std::shared_ptr<const StorageSnapshot> snapshot;
  {
    std::lock_guard lock(published_mu_);
    snapshot = history_.back().snapshot;
  }
  return snapshot->Get(key);
}

Status EngineDatabase::Commit(CommitRequest& request) {
  std::unique_lock lock(queue_mu_);
  queue_.push_back(&request);
  while (!request.done && &request != queue_.front()) request.cv.wait(lock);
  if (request.done) return request.status;

  // This thread leads: it commits itself and whatever queued behind it.
  std::vector<CommitRequest*> group;
  int64_t group_bytes = 0;
  for (CommitRequest* r : queue_) {
    if (group.size() == kMaxGroupSize || (!group.empty() && group_bytes > kMaxGroupBytes)) break;
    group.push_back(r);
    group_bytes += r->writes->bytes();
  }
  lock.unlock();
  const int written = CommitGroup(group);
  lock.lock();
  for (CommitRequest* r : group) {
    queue_.pop_front();
    r->done = true;
    if (r != &request) r->cv.notify_one();
  }
  if (!queue_.empty()) queue_.front()->cv.notify_one();
  lock.unlock();
  // Outside the queue lock: the next leader is already writing its batch.
  if (written > 0 && options_.on_commit_batch) options_.on_commit_batch(written);
  return request.status;
}

int EngineDatabase::CommitGroup(const std::vector<CommitRequest*>& group) {
  // Versions are never reused, even when the write below fails.
  Version version = std::max(last_version_ + 1, WallClockMicros());
  last_version_ = version;
  Clock::time_point now = Clock::now();

  std::shared_ptr<const StorageSnapshot> base;
  {
    std::lock_guard lock(published_mu_);
    base = history_.back().snapshot;
  }
  bool needs_view = std::any_of(group.begin(), group.end(),
                                [](const CommitRequest* r) { return r->writes->has_atomic_ops(); });
  std::optional<BatchView> view;
  if (needs_view) view.emplace(*base);
  // A transaction later in the group that read something must see the writes of the earlier
  // ones: record them as they are placed. Otherwise recording can wait until the batch is
  // published, and is skipped when no live transaction could conflict with it.
  bool record_now =
      group.size() > 1 && std::any_of(group.begin() + 1, group.end(), [](const CommitRequest* r) {
        return r->has_read_version && !r->read_ranges->empty();
      });

  std::unique_ptr<StorageBatch> batch = storage_->NewBatch();
  std::vector<CommitRequest*> committed;
  // The versionstamp of the batch's last bumper: what the storage holds at
  // kMetadataVersionKey once the batch is applied (ApplyTransaction writes it).
  std::optional<std::string> bumped_metadata_version;
  uint16_t order = 0;
  Status group_error;
  for (CommitRequest* r : group) {
    if (r->has_read_version) {
      if (now - r->read_version_time > kMaxReadVersionAge) {
        r->status = MakeError(ErrorCode::kTransactionTooOld,
                              "read version is older than 5 seconds at commit");
        continue;
      }
      if (resolver_.Conflicts(*r->read_ranges, r->read_version)) {
        r->status = MakeError(ErrorCode::kNotCommitted,
                              r->read_version < resolver_.horizon()
                                  ? "the read version predates the conflict history kept"
                                  : "a key or range read by the transaction was written after "
                                    "its read version");
        continue;
      }
    }
    group_error = ApplyTransaction(*r->writes, MakeVersionstamp(version, order), *batch,
                                   view ? &*view : nullptr);
    if (!group_error.ok()) break;
    r->commit_version = version;
    r->batch_order = order++;
    r->status = absl::OkStatus();
    if (r->bumps_metadata_version) {
      bumped_metadata_version = MakeVersionstamp(version, r->batch_order);
    }
    committed.push_back(r);
    if (record_now) RecordWrites(*r, resolver_);
  }

  if (group_error.ok() && !committed.empty()) {
    if (view) view->WriteDeferred(*batch);
    group_error = storage_->Apply(*batch, version, options_.sync_commits);
  }
  if (!group_error.ok()) {
    // Nothing of this batch was written; a partial batch is never applied. (Writes recorded
    // in the resolver can only cause spurious conflicts.)
    for (CommitRequest* r : group) {
      if (r->status.ok()) r->status = group_error;
    }
    committed.clear();
  } else if (!committed.empty()) {
    std::shared_ptr<const StorageSnapshot> next = storage_->Snapshot();
    Clock::time_point published_at = Clock::now();
    std::lock_guard lock(published_mu_);
    std::optional<std::string> metadata_version = bumped_metadata_version.has_value()
                                                      ? std::move(bumped_metadata_version)
                                                      : history_.back().metadata_version;
    history_.push_back({std::move(next), published_at, std::move(metadata_version)});
    PruneHistoryLocked(published_at);
  }

  // Every transaction that could conflict with this batch read below `version`, and is live
  // now: from here on, new transactions read at `version` or later.
  Version horizon = ResolverHorizon(Clock::now(), group);
  if (!record_now && horizon < version) {
    for (const CommitRequest* r : committed) RecordWrites(*r, resolver_);
  }
  resolver_.Forget(horizon);
  if (!committed.empty() && !watches_.empty()) NotifyWatches(committed);
  return static_cast<int>(committed.size());
}

void EngineDatabase::PruneHistoryLocked(Clock::time_point now) {
  while (history_.size() > 1 && now - history_[1].time > kMaxReadVersionAge) {
    history_.pop_front();
  }
}

Version EngineDatabase::ResolverHorizon(Clock::time_point now,
                                        const std::vector<CommitRequest*>& finishing) {
  std::lock_guard lock(published_mu_);
  for (auto live = live_reads_.begin(); live != live_reads_.end(); ++live) {
    // Transactions past the 5 s window will fail with transaction_too_old anyway.
    if (now - live->second > kMaxReadVersionAge) continue;
    // The committing transactions end now (one that failed retries at a newer version):
    // a lone writer then records nothing.
    bool is_finishing = std::any_of(finishing.begin(), finishing.end(), [&](const CommitRequest* r) {
      return r->live_read.has_value() && *r->live_read == live;
    });
    if (!is_finishing) return live->first;
  }
  return history_.back().snapshot->version();
}

void EngineDatabase::NotifyWatches(const std::vector<CommitRequest*>& group) {
  auto reader = [this](std::string_view key) { return ReadLatest(key); };
  for (const CommitRequest* r : group) {
    std::string stamp = MakeVersionstamp(r->commit_version, r->batch_order);
    for (const Mutation& m : r->writes->log()) {
      if (m.kind == Mutation::Kind::kClearRange) {
        watches_.RangeCleared(m.key, m.param, reader);
      } else if (m.kind == Mutation::Kind::kAtomic &&
                 m.atomic_type == MutationType::kSetVersionstampedKey) {
        auto key = SpliceVersionstamp(m.key, stamp);
        if (key.ok()) watches_.KeyChanged(*key, reader);
      } else {
        watches_.KeyChanged(m.key, reader);
      }
    }
  }
}

}  // namespace recordstore::kv
