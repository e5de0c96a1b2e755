#include "kv/engine/engine_transaction.h"

#include <algorithm>
#include <iterator>
#include <random>
#include <thread>

#include "common/status_macros.h"
#include "kv/atomic_ops.h"

namespace recordstore::kv {
namespace {

// FDB starts at 10 ms, tuned for a cluster; a local resolver answers in microseconds, so the
// first retry comes sooner here. Doubles up to TransactionOptions::max_retry_delay.
constexpr std::chrono::milliseconds kInitialRetryDelay{1};

bool IsSystemKey(std::string_view key) {
  return !key.empty() && static_cast<unsigned char>(key[0]) == kSystemKeyPrefix;
}

// Range reads may end at "\xff" exactly (the end of the user key space) but not beyond.
bool IsLegalRangeEnd(std::string_view key) {
  return !IsSystemKey(key) || key == std::string_view("\xff", 1);
}

// The value a local write shows over the stored value `base`: nullopt when absent.
// REQUIRES: write.kind is neither kUnreadable nor (for a caller without a base) kPendingOps.
std::optional<std::string> LocalValue(const LocalWrite& write,
                                      std::optional<std::string_view> base) {
  switch (write.kind) {
    case LocalWrite::Kind::kValue:
      return write.value;
    case LocalWrite::Kind::kCleared:
    case LocalWrite::Kind::kUnreadable:
      return std::nullopt;
    case LocalWrite::Kind::kPendingOps: {
      std::optional<std::string> value;
      if (base.has_value()) value.emplace(*base);
      for (const auto& [type, operand] : write.ops) {
        std::optional<std::string_view> current;
        if (value.has_value()) current = *value;
        value = ApplyAtomicOp(type, current, operand);
      }
      return value;
    }
  }
  return std::nullopt;
}

Status Unreadable(std::string_view key) {
  return MakeError(ErrorCode::kAccessedUnreadable,
                   "the key was set with a versionstamped value in this transaction and is "
                   "unknown until commit");
}

// Collects rows of a range read and decides when to stop.
class RangeCollector {
 public:
  explicit RangeCollector(const RangeOptions& options) : options_(options) {
    if (options.limit > 0) result_.rows.reserve(std::min(options.limit, 4096));
  }
  // Adds a row; returns false once the result is complete and one more row proved `more`.
  bool Add(std::string_view key, std::string_view value) {
    if (full_) {
      result_.more = true;
      return false;
    }
    result_.rows.push_back({std::string(key), std::string(value)});  // the caller owns rows
    bytes_ += static_cast<int64_t>(key.size() + value.size());
    if ((options_.limit > 0 && static_cast<int>(result_.rows.size()) >= options_.limit) ||
        (options_.target_bytes > 0 && bytes_ >= options_.target_bytes)) {
      full_ = true;
    }
    return true;
  }
  RangeResult& result() { return result_; }

 private:
  const RangeOptions& options_;
  RangeResult result_;
  int64_t bytes_ = 0;
  bool full_ = false;
};

}  // namespace

EngineTransaction::EngineTransaction(EngineDatabase* db, const TransactionOptions& options)
    : db_(db), options_(options), created_(Clock::now()) {}

EngineTransaction::~EngineTransaction() {
  AbandonWatches(MakeError(ErrorCode::kTransactionCancelled, "transaction destroyed"));
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

void EngineTransaction::Defer(Status error) {
  if (deferred_error_.ok()) deferred_error_ = std::move(error);
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

void EngineTransaction::AddReadRange(std::string begin, std::string end) {
  conflict_bytes_ += static_cast<int64_t>(begin.size() + end.size());
  read_ranges_.emplace_back(std::move(begin), std::move(end));
}

StatusOr<std::optional<std::string>> EngineTransaction::ReadKey(std::string_view key,
                                                                bool snapshot) {
  const LocalWrite* local = writes_.Find(key);
  if (local != nullptr && local->kind != LocalWrite::Kind::kPendingOps) {
    RETURN_IF_ERROR(CheckUsable());
    if (local->kind == LocalWrite::Kind::kUnreadable) return Unreadable(key);
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

StatusOr<RangeResult> EngineTransaction::GetRange(const RangeEndpoint& begin_endpoint,
                                                  const RangeEndpoint& end_endpoint,
                                                  const RangeOptions& options) {
  std::string begin = begin_endpoint.inclusive ? begin_endpoint.key : KeyAfter(begin_endpoint.key);
  std::string end = end_endpoint.inclusive ? KeyAfter(end_endpoint.key) : end_endpoint.key;
  if (!IsLegalRangeEnd(begin) || !IsLegalRangeEnd(end)) {
    return MakeError(ErrorCode::kKeyOutsideLegalRange, "range reaches past \\xff");
  }
  if (options.limit < 0 || options.target_bytes < 0) {
    return MakeError(ErrorCode::kInvalidArgument, "limit and target_bytes must not be negative");
  }
  RETURN_IF_ERROR(CheckUsable());
  if (begin >= end) return RangeResult{};
  ASSIGN_OR_RETURN(const StorageSnapshot* storage, ReadSnapshotForUse());

  RangeCollector collector(options);
  std::unique_ptr<StorageIterator> it = storage->NewIterator(begin, end);
  const WriteSet::WriteMap& local = writes_.writes();
  bool checks_cleared = writes_.has_cleared_ranges();
  // Merges storage rows with local writes. A local write at a key replaces the stored row
  // (pending atomic ops use it as their base); stored rows inside cleared ranges are skipped.
  if (!options.reverse) {
    it->Seek(begin);
    auto w = local.lower_bound(begin);
    auto w_end = local.lower_bound(end);
    while (true) {
      if (it->Valid() && checks_cleared && writes_.IsCleared(it->key())) {
        it->Seek(writes_.ClearedRangeEnd(it->key()));
        continue;
      }
      bool stored = it->Valid();
      bool written = w != w_end;
      if (!stored && !written) break;
      int cmp = !stored ? 1 : !written ? -1 : it->key().compare(w->first);
      if (cmp < 0) {
        if (!collector.Add(it->key(), it->value())) break;
        it->Next();
        continue;
      }
      if (w->second.kind == LocalWrite::Kind::kUnreadable) return Unreadable(w->first);
      std::optional<std::string_view> base;
      if (cmp == 0) base = it->value();
      std::optional<std::string> value = LocalValue(w->second, base);
      if (value.has_value() && !collector.Add(w->first, *value)) break;
      if (cmp == 0) it->Next();
      ++w;
    }
  } else {
    it->SeekToLast();
    auto w = std::make_reverse_iterator(local.lower_bound(end));
    auto w_end = std::make_reverse_iterator(local.lower_bound(begin));
    while (true) {
      if (it->Valid() && checks_cleared && writes_.IsCleared(it->key())) {
        std::string cleared_begin = writes_.ClearedRangeBegin(it->key());
        it->SeekForPrev(cleared_begin);
        if (it->Valid() && it->key() == cleared_begin) it->Prev();
        continue;
      }
      bool stored = it->Valid();
      bool written = w != w_end;
      if (!stored && !written) break;
      int cmp = !stored ? 1 : !written ? -1 : w->first.compare(it->key());
      if (cmp < 0) {
        if (!collector.Add(it->key(), it->value())) break;
        it->Prev();
        continue;
      }
      if (w->second.kind == LocalWrite::Kind::kUnreadable) return Unreadable(w->first);
      std::optional<std::string_view> base;
      if (cmp == 0) base = it->value();
      std::optional<std::string> value = LocalValue(w->second, base);
      if (value.has_value() && !collector.Add(w->first, *value)) break;
      if (cmp == 0) it->Prev();
      ++w;
    }
  }
  RETURN_IF_ERROR(it->status());

  RangeResult& result = collector.result();
  if (!options.snapshot) {
    // A read cut short depends only on the keys up to its last row.
    if (!result.more) {
      AddReadRange(std::move(begin), std::move(end));
    } else if (!options.reverse) {
      AddReadRange(std::move(begin), KeyAfter(result.rows.back().key));
    } else {
      AddReadRange(result.rows.back().key, std::move(end));
    }
  }
  return std::move(result);
}

bool EngineTransaction::CheckWritableKey(std::string_view key) {
  if (key.size() > kMaxKeySize) {
    Defer(MakeError(ErrorCode::kKeyTooLarge,
                    "key of " + std::to_string(key.size()) + " bytes exceeds 10,000"));
    return false;
  }
  if (IsSystemKey(key)) {
    Defer(MakeError(ErrorCode::kKeyOutsideLegalRange, "keys must sort below \\xff"));
    return false;
  }
  return true;
}

void EngineTransaction::Set(std::string_view key, std::string_view value) {
  if (!CheckWritableKey(key)) return;
  if (value.size() > kMaxValueSize) {
    Defer(MakeError(ErrorCode::kValueTooLarge,
                    "value of " + std::to_string(value.size()) + " bytes exceeds 100,000"));
    return;
  }
  writes_.Set(key, value);
}

void EngineTransaction::Clear(std::string_view key) {
  if (!CheckWritableKey(key)) return;
  writes_.Clear(key);
}

void EngineTransaction::ClearRange(std::string_view begin, std::string_view end) {
  if (begin > end) {
    Defer(MakeError(ErrorCode::kInvertedRange, "ClearRange begin sorts after its end"));
    return;
  }
  if (!IsLegalRangeEnd(begin) || !IsLegalRangeEnd(end)) {
    Defer(MakeError(ErrorCode::kKeyOutsideLegalRange, "range reaches past \\xff"));
    return;
  }
  writes_.ClearRange(begin, end);
}

void EngineTransaction::AtomicOp(MutationType type, std::string_view key,
                                 std::string_view operand) {
  std::string_view checked_key = key;
  std::string_view checked_value = operand;
  if (type == MutationType::kSetVersionstampedKey) {
    Status valid = ValidateVersionstampParam(key);
    if (!valid.ok()) return Defer(valid);
    checked_key = key.substr(0, key.size() - 4);
  } else if (type == MutationType::kSetVersionstampedValue) {
    Status valid = ValidateVersionstampParam(operand);
    if (!valid.ok()) return Defer(valid);
    checked_value = operand.substr(0, operand.size() - 4);
  }
  if (!CheckWritableKey(checked_key)) return;
  if (checked_value.size() > kMaxValueSize) {
    Defer(MakeError(ErrorCode::kValueTooLarge,
                    "operand of " + std::to_string(operand.size()) + " bytes exceeds 100,000"));
    return;
  }
  writes_.Atomic(type, key, operand);
}

void EngineTransaction::AddReadConflictRange(std::string_view begin, std::string_view end) {
  if (begin < end) AddReadRange(std::string(begin), std::string(end));
}

void EngineTransaction::AddReadConflictKey(std::string_view key) {
  AddReadRange(std::string(key), KeyAfter(key));
}

void EngineTransaction::AddWriteConflictRange(std::string_view begin, std::string_view end) {
  if (begin >= end) return;
  conflict_bytes_ += static_cast<int64_t>(begin.size() + end.size());
  write_ranges_.emplace_back(std::string(begin), std::string(end));
}

void EngineTransaction::AddWriteConflictKey(std::string_view key) {
  AddWriteConflictRange(key, KeyAfter(key));
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

int64_t EngineTransaction::GetApproximateSize() const {
  return writes_.bytes() + conflict_bytes_;
}

Status EngineTransaction::Commit() {
  Status status = CheckUsable();
  if (status.ok()) status = deferred_error_;
  if (status.ok() && GetApproximateSize() > kMaxTransactionSize) {
    status = MakeError(ErrorCode::kTransactionTooLarge,
                       "transaction of " + std::to_string(GetApproximateSize()) +
                           " bytes exceeds 10,000,000");
  }
  if (status.ok() && read_.has_value() && Clock::now() - read_->taken > kMaxReadVersionAge) {
    status = MakeError(ErrorCode::kTransactionTooOld, "read version is older than 5 seconds");
  }
  if (status.ok() && (!writes_.empty() || !write_ranges_.empty())) {
    CommitRequest request;
    request.writes = &writes_;
    request.read_ranges = &read_ranges_;
    request.extra_write_ranges = &write_ranges_;
    if (read_.has_value()) {
      request.has_read_version = true;
      request.read_version = read_->snapshot->version();
      request.read_version_time = read_->taken;
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
  if (!IsRetryable(error)) return error;
  if (options_.retry_limit >= 0 && retries_ >= options_.retry_limit) return error;
  std::chrono::microseconds delay = std::min<std::chrono::microseconds>(
      kInitialRetryDelay * (int64_t{1} << std::min(retries_, 20)), options_.max_retry_delay);
  // Jitter in [delay/2, delay] spreads retries of transactions that conflicted together.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  int64_t half = delay.count() / 2;
  std::chrono::microseconds jittered(half + static_cast<int64_t>(rng() % (half + 1)));
  if (options_.timeout.count() > 0 && Clock::now() + jittered - created_ > options_.timeout) {
    return MakeError(ErrorCode::kTransactionTimedOut,
                     "timeout of " + std::to_string(options_.timeout.count()) +
                         " ms elapsed while retrying");
  }
  std::this_thread::sleep_for(jittered);
  ++retries_;
  Reset();
  return absl::OkStatus();
}

void EngineTransaction::Reset() {
  AbandonWatches(MakeError(ErrorCode::kTransactionCancelled, "transaction reset"));
  ReleaseReadVersion();
  requested_read_version_.reset();
  writes_.Reset();
  read_ranges_.clear();
  write_ranges_.clear();
  conflict_bytes_ = 0;
  deferred_error_ = absl::OkStatus();
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
