#include "kv/engine/engine_transaction.h"

#include <algorithm>
#include <iterator>
#include <thread>

#include "common/status_macros.h"
#include "kv/atomic_ops.h"
#include "kv/read_your_writes.h"

namespace recordstore::kv {
namespace {

// FDB starts at 10 ms, tuned for a cluster; a local resolver answers in microseconds, so the
// first retry comes sooner here. Doubles up to TransactionOptions::max_retry_delay.
constexpr std::chrono::milliseconds kInitialRetryDelay{1};

// The committed rows of a range read from a storage snapshot, in the read's direction
// (the StoredRows of MergeRange).
class SnapshotRows {
 public:
  SnapshotRows(StorageIterator& it, bool reverse) : it_(it), reverse_(reverse) {
    if (reverse_) {
      it_.SeekToLast();
    } else {
      it_.SeekToFirst();
    }
  }
  bool Valid() const { return it_.Valid(); }
  std::string_view key() const { return it_.key(); }
  std::string_view value() const { return it_.value(); }
  void Next() {
    if (reverse_) {
      it_.Prev();
    } else {
      it_.Next();
    }
  }
  void SkipTo(std::string_view key) {
    if (!reverse_) return it_.Seek(key);
    it_.SeekForPrev(key);
    if (it_.Valid() && it_.key() == key) it_.Prev();
  }
  Status status() const { return it_.status(); }

 private:
  StorageIterator& it_;
  const bool reverse_;
};

}  // namespace

EngineTransaction::EngineTransaction(EngineDatabase* db, const TransactionOptions& options)
    : db_(db), options_(options), created_(Clock::now()) {}

EngineTransaction::~EngineTransaction() {
  // The error is built only for watches to complete: most transactions have none.
  if (!pending_watches_.empty()) {
    AbandonWatches(MakeError(ErrorCode::kTransactionCancelled, "transaction destroyed"));
  }
  ReleaseReadVersion();
}

Status EngineTransaction::CheckUsable() const {
  if (cancelled_) return MakeError(ErrorCode::kTransactionCancelled);
  if (options_.timeout.count() > 0 && Clock::now() - created_ > options_.timeout) {
    return MakeError(ErrorCode::kTransactionTimedOut,
                     "timeout of " + std::to_string(options_.timeout.count()) + " ms elapsed");
  }
  if (committed_) {
    return MakeError(ErrorCode::kClientInvalidOperation,
                     "the transaction has committed; Reset() it before reuse");
  }
  return absl::OkStatus();
}

StatusOr<const StorageSnapshot*> EngineTransaction::ReadSnapshotForUse() {
  RETURN_IF_ERROR(CheckUsable());
  if (!read_.has_value()) {
    ASSIGN_OR_RETURN(read_, db_->AcquireReadVersion(requested_read_version_));
  }
  if (Clock::now() - read_->taken > kMaxReadVersionAge) {
    return MakeError(ErrorCode::kTransactionTooOld, "read version is older than 5 seconds");
  }
  return read_->snapshot.get();
}

void EngineTransaction::ReleaseReadVersion() {
  if (read_.has_value()) {
    db_->ReleaseReadVersion(*read_);
    read_.reset();
  }
}

StatusOr<Version> EngineTransaction::GetReadVersion() {
  ASSIGN_OR_RETURN(const StorageSnapshot* snapshot, ReadSnapshotForUse());
  return snapshot->version();
}

void EngineTransaction::SetReadVersion(Version version) { requested_read_version_ = version; }

StatusOr<std::optional<std::string>> EngineTransaction::ReadKey(std::string_view key,
                                                                bool snapshot) {
  const LocalWrite* local = writes_.Find(key);
  if (local != nullptr && local->kind != LocalWrite::Kind::kPendingOps) {
    RETURN_IF_ERROR(CheckUsable());
    if (local->kind == LocalWrite::Kind::kUnreadable) return UnreadableError();
    return LocalValue(*local, std::nullopt);
  }
  if (local == nullptr && writes_.IsCleared(key)) {
    RETURN_IF_ERROR(CheckUsable());
    return std::optional<std::string>();
  }
  ASSIGN_OR_RETURN(const StorageSnapshot* storage, ReadSnapshotForUse());
  ASSIGN_OR_RETURN(std::optional<std::string> stored, storage->Get(key));
  if (!snapshot) AddReadRange(std::string(key), KeyAfter(key));
  if (local == nullptr) return stored;
  std::optional<std::string_view> base;
  if (stored.has_value()) base = *stored;
  return LocalValue(*local, base);
}

StatusOr<std::optional<std::string>> EngineTransaction::Get(std::string_view key, bool snapshot) {
  if (IsSystemKey(key)) {
    return MakeError(ErrorCode::kKeyOutsideLegalRange, "keys must sort below \\xff");
  }
  return ReadKey(key, snapshot);
}

StatusOr<RangeResult> EngineTransaction::GetRange(const RangeEndpoint& begin,
                                                  const RangeEndpoint& end,
                                                  const RangeOptions& options) {
  ASSIGN_OR_RETURN(ByteRange range, ResolveRange(begin, end, options));
  RETURN_IF_ERROR(CheckUsable());
  if (range.begin >= range.end) return RangeResult{};
  ASSIGN_OR_RETURN(const StorageSnapshot* storage, ReadSnapshotForUse());
  std::unique_ptr<StorageIterator> it = storage->NewIterator(range.begin, range.end);
  SnapshotRows stored(*it, options.reverse);
  ASSIGN_OR_RETURN(RangeResult result, MergeRange(stored, writes_, range, options));
  if (!options.snapshot) {
    ByteRange observed = ObservedRange(std::move(range), result, options.reverse);
    AddReadRange(std::move(observed.begin), std::move(observed.end));
  }
  return result;
}

StatusOr<std::optional<std::string>> EngineTransaction::GetMetadataVersion(bool snapshot) {
  if (bumped_metadata_version_) {
    RETURN_IF_ERROR(CheckUsable());
    return UnreadableError();
  }
  // The value came with the read version: no storage read.
  RETURN_IF_ERROR(ReadSnapshotForUse().status());
  if (!snapshot) AddReadRange(std::string(kMetadataVersionKey), KeyAfter(kMetadataVersionKey));
  return read_->metadata_version;
}

StatusOr<std::shared_ptr<Watch>> EngineTransaction::WatchKey(std::string_view key) {
  if (IsSystemKey(key)) {
    return MakeError(ErrorCode::kKeyOutsideLegalRange, "keys must sort below \\xff");
  }
  // The watch compares against the value this transaction sees now (without a conflict).
  ASSIGN_OR_RETURN(std::optional<std::string> expected, ReadKey(key, /*snapshot=*/true));
  RETURN_IF_ERROR(db_->watches().Reserve());
  auto watch = std::make_shared<WatchState>(std::string(key), std::move(expected));
  pending_watches_.push_back(watch);
  return std::shared_ptr<Watch>(watch);
}

void EngineTransaction::AbandonWatches(const Status& why) {
  for (const auto& watch : pending_watches_) {
    watch->Complete(why);
    db_->watches().Release();
  }
  pending_watches_.clear();
}

Status EngineTransaction::Commit() {
  Status status = CheckUsable();
  if (status.ok()) status = deferred_error_;
  if (status.ok() && GetApproximateSize() > kMaxTransactionSize) {
    status = MakeError(
        ErrorCode::kTransactionTooLarge,
        "transaction of " + std::to_string(GetApproximateSize()) + " bytes exceeds 10,000,000");
  }
  if (status.ok() && read_.has_value() && Clock::now() - read_->taken > kMaxReadVersionAge) {
    status = MakeError(ErrorCode::kTransactionTooOld, "read version is older than 5 seconds");
  }
  if (status.ok() && (!writes_.empty() || !write_ranges_.empty())) {
    CommitRequest request;
    request.writes = &writes_;
    request.read_ranges = &read_ranges_;
    request.extra_write_ranges = &write_ranges_;
    request.bumps_metadata_version = bumped_metadata_version_;
    if (read_.has_value()) {
      request.has_read_version = true;
      request.read_version = read_->snapshot->version();
      request.read_version_time = read_->taken;
      request.live_read = read_->live;
    }
    status = db_->Commit(request);
    if (status.ok()) {
      committed_version_ = request.commit_version;
      versionstamp_ = MakeVersionstamp(request.commit_version, request.batch_order);
    }
  }
  ReleaseReadVersion();
  if (!status.ok()) {
    AbandonWatches(status);
    return status;
  }
  committed_ = true;
  auto reader = [this](std::string_view key) { return db_->ReadLatest(key); };
  for (const auto& watch : pending_watches_) db_->watches().Activate(watch, reader);
  pending_watches_.clear();
  return absl::OkStatus();
}

StatusOr<std::string> EngineTransaction::GetVersionstamp() const {
  if (!committed_ || versionstamp_.empty()) {
    return MakeError(ErrorCode::kNoCommitVersion,
                     "only a committed transaction with mutations has a versionstamp");
  }
  return versionstamp_;
}

Status EngineTransaction::OnError(const Status& error) {
  ASSIGN_OR_RETURN(std::chrono::microseconds delay,
                   RetryDelay(error, options_, retries_, created_, kInitialRetryDelay));
  std::this_thread::sleep_for(delay);
  ++retries_;
  Reset();
  return absl::OkStatus();
}

void EngineTransaction::Reset() {
  AbandonWatches(MakeError(ErrorCode::kTransactionCancelled, "transaction reset"));
  ReleaseReadVersion();
  requested_read_version_.reset();
  ClearBuffered();
  cancelled_ = false;
  committed_ = false;
  committed_version_ = -1;
  versionstamp_.clear();
}

void EngineTransaction::Cancel() {
  cancelled_ = true;
  AbandonWatches(MakeError(ErrorCode::kTransactionCancelled));
  ReleaseReadVersion();
}

}  // namespace recordstore::kv
