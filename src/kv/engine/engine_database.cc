#include "kv/engine/engine_database.h"

#include <algorithm>

#include "kv/atomic_ops.h"
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
class BatchView {
 public:
  explicit BatchView(const StorageSnapshot& base) : base_(base) {}

  StatusOr<std::optional<std::string>> Get(const std::string& key) const {
    auto it = touched_.find(key);
    if (it != touched_.end()) return it->second;
    for (const auto& [begin, end] : cleared_) {
      if (begin <= key && key < end) return std::optional<std::string>();
    }
    return base_.Get(key);
  }
  void Put(const std::string& key, std::optional<std::string> value) {
    touched_[key] = std::move(value);
  }
  void DeleteRange(const std::string& begin, const std::string& end) {
    touched_.erase(touched_.lower_bound(begin), touched_.lower_bound(end));
    cleared_.emplace_back(begin, end);
  }

 private:
  const StorageSnapshot& base_;
  std::map<std::string, std::optional<std::string>> touched_;
  std::vector<KeyRange> cleared_;
};

// Appends one transaction's mutations to `batch`, resolving atomic and versionstamped ones
// against `view` (when given), and records its write ranges in `resolver`.
Status ApplyTransaction(const WriteSet& writes, const std::vector<KeyRange>& extra_write_ranges,
                        const std::string& stamp, Version version, StorageBatch& batch,
                        BatchView* view, Resolver& resolver) {
  for (const Mutation& m : writes.log()) {
    switch (m.kind) {
      case Mutation::Kind::kSet:
        batch.Put(m.key, m.param);
        if (view) view->Put(m.key, m.param);
        resolver.RecordWrite(m.key, KeyAfter(m.key), version);
        break;
      case Mutation::Kind::kClear:
        batch.Delete(m.key);
        if (view) view->Put(m.key, std::nullopt);
        resolver.RecordWrite(m.key, KeyAfter(m.key), version);
        break;
      case Mutation::Kind::kClearRange:
        if (m.key >= m.param) break;
        batch.DeleteRange(m.key, m.param);
        if (view) view->DeleteRange(m.key, m.param);
        resolver.RecordWrite(m.key, m.param, version);
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
          result = ApplyAtomicOp(m.atomic_type, base, m.param);
        }
        if (result.has_value()) {
          batch.Put(key, *result);
        } else {
          batch.Delete(key);
        }
        if (view) view->Put(key, std::move(result));
        resolver.RecordWrite(key, KeyAfter(key), version);
        break;
      }
    }
  }
  for (const auto& [begin, end] : extra_write_ranges) resolver.RecordWrite(begin, end, version);
  return absl::OkStatus();
}

}  // namespace

EngineDatabase::EngineDatabase(std::unique_ptr<Storage> storage, const DatabaseOptions& options)
    : storage_(std::move(storage)),
      options_(options),
      watches_(options.max_watches),
      last_version_(storage_->RecoveredVersion()),
      published_(storage_->Snapshot()) {}

EngineDatabase::~EngineDatabase() = default;

std::unique_ptr<Transaction> EngineDatabase::CreateTransaction(const TransactionOptions& options) {
  return std::make_unique<EngineTransaction>(this, options);
}

ReadSnapshot EngineDatabase::AcquireReadVersion() {
  ReadSnapshot read;
  read.taken = Clock::now();
  std::lock_guard lock(published_mu_);
  read.snapshot = published_;
  read.live = live_reads_.emplace(published_->version(), read.taken);
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
    snapshot = published_;
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
  CommitGroup(group);
  lock.lock();
  for (CommitRequest* r : group) {
    queue_.pop_front();
    r->done = true;
    if (r != &request) r->cv.notify_one();
  }
  if (!queue_.empty()) queue_.front()->cv.notify_one();
  return request.status;
}

void EngineDatabase::CommitGroup(const std::vector<CommitRequest*>& group) {
  // Versions are never reused, even when the write below fails.
  Version version = std::max(last_version_ + 1, WallClockMicros());
  last_version_ = version;
  Clock::time_point now = Clock::now();

  std::shared_ptr<const StorageSnapshot> base;
  {
    std::lock_guard lock(published_mu_);
    base = published_;
  }
  bool needs_view = std::any_of(group.begin(), group.end(),
                                [](const CommitRequest* r) { return r->writes->has_atomic_ops(); });
  std::optional<BatchView> view;
  if (needs_view) view.emplace(*base);

  std::unique_ptr<StorageBatch> batch = storage_->NewBatch();
  std::vector<CommitRequest*> committed;
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
                              "a key or range read by the transaction was written after its "
                              "read version");
        continue;
      }
    }
    std::string stamp = MakeVersionstamp(version, order);
    group_error = ApplyTransaction(*r->writes, *r->extra_write_ranges, stamp, version, *batch,
                                   view ? &*view : nullptr, resolver_);
    if (!group_error.ok()) break;
    r->commit_version = version;
    r->batch_order = order++;
    r->status = absl::OkStatus();
    committed.push_back(r);
  }

  if (group_error.ok() && !committed.empty()) {
    group_error = storage_->Apply(*batch, version, options_.sync_commits);
  }
  if (!group_error.ok()) {
    // Nothing of this batch was written; a partial batch is never applied.
    for (CommitRequest* r : group) {
      if (r->status.ok()) r->status = group_error;
    }
    committed.clear();
  } else if (!committed.empty()) {
    std::shared_ptr<const StorageSnapshot> next = storage_->Snapshot();
    std::lock_guard lock(published_mu_);
    published_ = std::move(next);
  }

  if (!committed.empty() && !watches_.empty()) NotifyWatches(committed);
  resolver_.Forget(ResolverHorizon(now));
}

Version EngineDatabase::ResolverHorizon(Clock::time_point now) {
  std::lock_guard lock(published_mu_);
  for (const auto& [version, taken] : live_reads_) {
    // Transactions past the 5 s window will fail with transaction_too_old anyway.
    if (now - taken <= kMaxReadVersionAge) return version;
  }
  return published_->version();
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
