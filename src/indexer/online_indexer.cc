#include "indexer/online_indexer.h"

#include <algorithm>
#include <optional>
#include <thread>
#include <utility>

#include "common/status_macros.h"
#include "cursor/scan_limiter.h"
#include "store/range_set.h"

namespace recordstore::indexer {
namespace {

using index::IndexState;
using store::RangeSet;

// Under the store's (9, index) space (the by-index mode key is store::kIndexBuildSourceKey).
constexpr std::string_view kRecordsBuiltKey = "records_built";
constexpr std::string_view kByIndexPositionKey = "by_index_position";

std::string BuildKey(store::RecordStore& store, std::string_view index, std::string_view key) {
  return store.IndexBuildSpace(index).Pack(Tuple::Of(std::string(key)));
}

std::string LittleEndian64(int64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<char>((static_cast<uint64_t>(value) >> (8 * i)) & 0xff);
  return bytes;
}

int64_t FromLittleEndian64(std::string_view bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes.size() && i < 8; ++i) {
    value |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  }
  return static_cast<int64_t>(value);
}

// Failures after which a smaller batch may succeed.
bool ShrinksBatch(const Status& status) {
  return HasErrorCode(status, ErrorCode::kNotCommitted) ||
         HasErrorCode(status, ErrorCode::kTransactionTooLarge) ||
         HasErrorCode(status, ErrorCode::kTransactionTooOld);
}

}  // namespace

OnlineIndexer::OnlineIndexer(kv::Database& db, Subspace store,
                             const metadata::RecordMetaData& metadata, std::string index_name,
                             OnlineIndexerOptions options)
    : db_(db),
      store_(std::move(store)),
      metadata_(metadata),
      index_name_(std::move(index_name)),
      options_(std::move(options)) {
  if (!options_.clock) options_.clock = [] { return std::chrono::steady_clock::now(); };
  if (!options_.sleep) {
    options_.sleep = [](std::chrono::nanoseconds delay) { std::this_thread::sleep_for(delay); };
  }
  options_.store_options.open_mode = store::OpenMode::kOpenExisting;
  options_.initial_records_per_transaction =
      std::clamp<int64_t>(options_.initial_records_per_transaction, 1,
                          std::max<int64_t>(1, options_.max_records_per_transaction));
}

IndexBuildProgress OnlineIndexer::progress() const {
  absl::MutexLock lock(&mutex_);
  return progress_;
}

void OnlineIndexer::UpdateProgress(const std::function<void(IndexBuildProgress&)>& change) {
  absl::MutexLock lock(&mutex_);
  change(progress_);
}

StatusOr<std::unique_ptr<store::RecordStore>> OnlineIndexer::OpenStore(
    cursor::RecordContext& context) const {
  ASSIGN_OR_RETURN(std::unique_ptr<store::RecordStore> store,
                   store::RecordStore::Open(context, store_, metadata_, options_.store_options));
  if (store->Maintainer(index_name_) == nullptr) {
    return MakeError(ErrorCode::kNotFound, "no index " + index_name_);
  }
  return store;
}

Status OnlineIndexer::RunInStore(const std::function<Status(store::RecordStore&)>& body) {
  int failures = 0;
  while (true) {
    cursor::RecordContext context(db_.CreateTransaction());
    Status status = [&]() -> Status {
      ASSIGN_OR_RETURN(std::unique_ptr<store::RecordStore> store, OpenStore(context));
      RETURN_IF_ERROR(body(*store));
      return context.Commit();
    }();
    if (status.ok() || !IsRetryable(status) || ++failures >= options_.max_consecutive_failures) {
      return status;
    }
  }
}

StatusOr<int64_t> OnlineIndexer::CountUnbuiltRecords() {
  std::vector<RangeSet::Range> missing;
  size_t range = 0;
  cursor::Continuation position;
  int64_t count = 0;
  int failures = 0;
  while (true) {
    cursor::RecordContext context(db_.CreateTransaction());
    Status status = [&]() -> Status {
      ASSIGN_OR_RETURN(std::unique_ptr<store::RecordStore> store, OpenStore(context));
      if (range == 0 && missing.empty()) {
        ASSIGN_OR_RETURN(missing,
                         store->IndexBuiltRanges(index_name_).MissingRanges(context.txn()));
      }
      cursor::ScanLimiter limiter({.max_time = options_.max_transaction_time});
      index::ScanOptions scan;
      scan.snapshot = true;
      scan.limiter = &limiter;
      for (; range < missing.size(); ++range, position = cursor::Continuation::Start()) {
        ASSIGN_OR_RETURN(
            cursor::CursorPtr<store::StoredRecord> records,
            store->ScanRecordsInKeyRange(missing[range].begin, missing[range].end, position, scan));
        while (true) {
          ASSIGN_OR_RETURN(cursor::CursorResult<store::StoredRecord> result, records->Next());
          if (result.has_value()) {
            ++count;
            position = std::move(result).continuation();
            continue;
          }
          if (result.no_next_reason() != cursor::NoNextReason::kSourceExhausted) {
            return absl::OkStatus();  // out of time: a new transaction resumes at `position`
          }
          break;
        }
      }
      return absl::OkStatus();
    }();
    if (!status.ok()) {
      if (!IsRetryable(status) || ++failures >= options_.max_consecutive_failures) return status;
      continue;
    }
    failures = 0;
    if (range >= missing.size()) return count;
  }
}

StatusOr<IndexBuildResult> OnlineIndexer::Finish(store::RecordStore& store) {
  IndexBuildResult result;
  const metadata::Index& index = store.Maintainer(index_name_)->index();
  if (index.unique()) {
    ASSIGN_OR_RETURN(result.violations, store.ScanUniquenessViolations(index_name_));
    if (!result.violations.empty()) return result;
  }
  RETURN_IF_ERROR(store.SetIndexState(index_name_, IndexState::kReadable));
  result.readable = true;
  return result;
}

StatusOr<bool> OnlineIndexer::StillBuilding(const store::RecordStore& store, Batch& batch) const {
  switch (store.GetIndexState(index_name_)) {
    case IndexState::kReadable:
      batch.finished = true;
      batch.final.readable = true;
      return false;
    case IndexState::kDisabled:
      return MakeError(ErrorCode::kIndexNotReadable,
                       "index " + index_name_ + " was disabled during its build");
    case IndexState::kWriteOnly:
      break;
  }
  return true;
}

StatusOr<OnlineIndexer::Batch> OnlineIndexer::RunBatch(const std::string& from, int64_t limit) {
  cursor::RecordContext context(db_.CreateTransaction());
  kv::Transaction& txn = context.txn();
  ASSIGN_OR_RETURN(std::unique_ptr<store::RecordStore> store, OpenStore(context));
  Batch batch;
  ASSIGN_OR_RETURN(bool building, StillBuilding(*store, batch));
  if (!building) return batch;
  RangeSet ranges = store->IndexBuiltRanges(index_name_);
  ASSIGN_OR_RETURN(std::optional<RangeSet::Range> gap, ranges.FirstMissingRange(txn, from));
  // Ranges behind `from` only grow, unless the index was cleared meanwhile: look once more
  // from the start before declaring it built.
  if (!gap.has_value() && !from.empty()) {
    ASSIGN_OR_RETURN(gap, ranges.FirstMissingRange(txn, ""));
  }
  if (!gap.has_value()) {
    ASSIGN_OR_RETURN(batch.final, Finish(*store));
    RETURN_IF_ERROR(context.Commit());
    batch.finished = true;
    return batch;
  }

  index::IndexMaintainer& maintainer = *store->Maintainer(index_name_);
  const metadata::Index& index = maintainer.index();
  const auto time_left = std::max<std::chrono::nanoseconds>(
      std::chrono::milliseconds(1), options_.max_transaction_time - context.Age());
  cursor::ScanLimiter limiter({.max_time = time_left});
  index::ScanOptions scan;
  scan.row_limit = static_cast<int>(std::min<int64_t>(limit, INT32_MAX));
  scan.limiter = &limiter;
  ASSIGN_OR_RETURN(
      cursor::CursorPtr<store::StoredRecord> records,
      store->ScanRecordsInKeyRange(gap->begin, gap->end, cursor::Continuation::Start(), scan));
  batch.end = gap->end;
  std::optional<Tuple> last_key;
  while (true) {
    ASSIGN_OR_RETURN(cursor::CursorResult<store::StoredRecord> result, records->Next());
    if (!result.has_value()) {
      if (result.no_next_reason() != cursor::NoNextReason::kSourceExhausted && last_key) {
        // Everything up to the last record's keys (no other primary key extends it).
        batch.end = std::min(gap->end, last_key->Pack() + "\xff");
      }
      break;
    }
    const store::StoredRecord& record = result.value();
    ++batch.scanned;
    if (index.AppliesTo(record.type->name())) {
      index::IndexedRecord indexed{record.type, record.message.get(), record.primary_key,
                                   record.version};
      RETURN_IF_ERROR(maintainer.Update(nullptr, &indexed));
      ++batch.indexed;
    }
    last_key = record.primary_key;
    if (txn.GetApproximateSize() >= options_.max_transaction_bytes) {
      batch.end = std::min(gap->end, last_key->Pack() + "\xff");
      break;
    }
  }
  RETURN_IF_ERROR(ranges.InsertRange(txn, gap->begin, batch.end).status());
  if (batch.indexed > 0) {
    txn.AtomicOp(kv::MutationType::kAdd,
                 store->IndexBuildSpace(index_name_).Pack(Tuple::Of(std::string(kRecordsBuiltKey))),
                 LittleEndian64(batch.indexed));
  }
  RETURN_IF_ERROR(context.Commit());
  return batch;
}

void OnlineIndexer::Throttle(std::chrono::steady_clock::time_point start, int64_t scanned) {
  if (options_.max_records_per_second <= 0) return;
  const auto due =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(
          static_cast<double>(scanned) / options_.max_records_per_second));
  const auto elapsed = options_.clock() - start;
  if (elapsed < due) options_.sleep(due - elapsed);
}

StatusOr<IndexBuildResult> OnlineIndexer::BuildIndex() {
  UpdateProgress([&](IndexBuildProgress& p) {
    p = IndexBuildProgress();
    p.phase = options_.count_records_first ? IndexBuildProgress::Phase::kCounting
                                           : IndexBuildProgress::Phase::kBuilding;
    p.batch_size = options_.initial_records_per_transaction;
  });
  auto fail = [&](Status status) -> Status {
    UpdateProgress([](IndexBuildProgress& p) { p.phase = IndexBuildProgress::Phase::kFailed; });
    return status;
  };
  // A disabled index starts write-only with nothing built; a readable one is done.
  IndexState state = IndexState::kWriteOnly;
  Status prepared = RunInStore([&](store::RecordStore& store) -> Status {
    state = store.GetIndexState(index_name_);
    if (state != IndexState::kDisabled) return absl::OkStatus();
    return store.ClearAndMarkIndexWriteOnly(index_name_);
  });
  if (!prepared.ok()) return fail(prepared);
  if (state == IndexState::kReadable) {
    UpdateProgress([](IndexBuildProgress& p) {
      p.phase = IndexBuildProgress::Phase::kDone;
      p.eta_seconds = 0;
    });
    IndexBuildResult result;
    result.readable = true;
    return result;
  }

  std::string source;
  if (options_.mode != IndexBuildMode::kRecordsScan) {
    StatusOr<std::string> chosen = StartByIndexBuild();
    if (!chosen.ok()) return fail(chosen.status());
    source = *std::move(chosen);
  }
  if (!source.empty()) {
    StatusOr<ByIndexBuildPlan> plan = ByIndexBuildPlan::Make(metadata_, index_name_, source);
    if (!plan.ok()) return fail(plan.status());
    UpdateProgress([&](IndexBuildProgress& p) { p.source_index = source; });
    if (options_.count_records_first) {
      StatusOr<int64_t> total = CountSourceEntries(*plan);
      if (!total.ok()) return fail(total.status());
      UpdateProgress([&](IndexBuildProgress& p) {
        p.estimated_total = *total;
        p.phase = IndexBuildProgress::Phase::kBuilding;
      });
    }
    StatusOr<IndexBuildResult> result =
        RunBatches([&](int64_t limit) { return RunIndexBatch(*plan, limit); });
    if (result.ok()) result->source_index = source;
    return result;
  }

  if (options_.count_records_first) {
    StatusOr<int64_t> total = CountUnbuiltRecords();
    if (!total.ok()) return fail(total.status());
    UpdateProgress([&](IndexBuildProgress& p) {
      p.estimated_total = *total;
      p.phase = IndexBuildProgress::Phase::kBuilding;
    });
  }
  std::string from;
  return RunBatches([&](int64_t limit) -> StatusOr<Batch> {
    StatusOr<Batch> batch = RunBatch(from, limit);
    if (batch.ok() && !batch->finished) from = batch->end;
    return batch;
  });
}

StatusOr<IndexBuildResult> OnlineIndexer::RunBatches(
    const std::function<StatusOr<Batch>(int64_t)>& run_batch) {
  auto fail = [&](Status status) -> Status {
    UpdateProgress([](IndexBuildProgress& p) { p.phase = IndexBuildProgress::Phase::kFailed; });
    return status;
  };
  const auto start = options_.clock();
  int64_t batch_size = options_.initial_records_per_transaction;
  int64_t scanned = 0;
  int64_t committed = 0;
  int failures = 0;
  while (true) {
    StatusOr<Batch> batch = run_batch(batch_size);
    if (!batch.ok()) {
      const Status& error = batch.status();
      const bool shrink = ShrinksBatch(error);
      if ((!shrink && !IsRetryable(error)) || ++failures >= options_.max_consecutive_failures) {
        return fail(error);
      }
      if (shrink) batch_size = std::max<int64_t>(1, batch_size / 2);
      UpdateProgress([&](IndexBuildProgress& p) {
        ++p.transactions_retried;
        if (shrink && p.batch_size != batch_size) ++p.batch_size_decreases;
        p.batch_size = batch_size;
      });
      continue;
    }
    failures = 0;
    // A by-index batch may index entries and finish the build in one transaction.
    if (batch->scanned > 0) {
      scanned += batch->scanned;
      ++committed;
    }
    if (batch->finished) {
      IndexBuildResult result = std::move(batch->final);
      result.records_scanned = scanned;
      result.transactions = committed;
      UpdateProgress([&](IndexBuildProgress& p) {
        p.phase = IndexBuildProgress::Phase::kDone;
        p.records_scanned = scanned;
        p.transactions_committed = committed;
        p.eta_seconds = 0;
      });
      return result;
    }
    if (batch->scanned == 0) ++committed;
    // Grow back by a quarter after each success.
    batch_size = std::min(options_.max_records_per_transaction,
                          batch_size + std::max<int64_t>(1, batch_size / 4));
    const double seconds = std::chrono::duration<double>(options_.clock() - start).count();
    UpdateProgress([&](IndexBuildProgress& p) {
      p.records_scanned = scanned;
      p.transactions_committed = committed;
      p.batch_size = batch_size;
      p.records_per_second = seconds > 0 ? static_cast<double>(scanned) / seconds : 0;
      if (p.estimated_total >= 0 && p.records_per_second > 0) {
        p.eta_seconds = static_cast<double>(std::max<int64_t>(0, p.estimated_total - scanned)) /
                        p.records_per_second;
      }
    });
    Throttle(start, scanned);
  }
}

StatusOr<std::string> OnlineIndexer::StartByIndexBuild() {
  // The sources that cover the index, by metadata alone; readability is the store's.
  std::vector<std::string> candidates;
  if (options_.mode == IndexBuildMode::kByIndex) {
    RETURN_IF_ERROR(ByIndexBuildPlan::Make(metadata_, index_name_, options_.source_index).status());
    candidates.push_back(options_.source_index);
  } else {
    for (const metadata::Index& index : metadata_.indexes()) {
      if (index.name() == index_name_) continue;
      if (ByIndexBuildPlan::Make(metadata_, index_name_, index.name()).ok()) {
        candidates.push_back(index.name());
      }
    }
    if (candidates.empty()) return std::string();
  }
  std::string chosen;
  RETURN_IF_ERROR(RunInStore([&](store::RecordStore& store) -> Status {
    chosen.clear();
    kv::Transaction& txn = store.context().txn();
    // Readable or disabled: BuildIndex handled those; fully built (a unique index left with
    // violations): the records path finishes it.
    if (store.GetIndexState(index_name_) != IndexState::kWriteOnly) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::optional<RangeSet::Range> gap,
                     store.IndexBuiltRanges(index_name_).FirstMissingRange(txn, ""));
    if (!gap.has_value()) return absl::OkStatus();
    const std::string mode_key = BuildKey(store, index_name_, store::kIndexBuildSourceKey);
    ASSIGN_OR_RETURN(std::optional<std::string> current, txn.Get(mode_key));
    if (options_.mode == IndexBuildMode::kByIndex) {
      const IndexState source_state = store.GetIndexState(options_.source_index);
      if (source_state != IndexState::kReadable) {
        return MakeError(ErrorCode::kIndexNotReadable,
                         "index " + options_.source_index + " cannot build index " + index_name_ +
                             ": it is " + std::string(index::IndexStateName(source_state)) +
                             ", not readable");
      }
      chosen = options_.source_index;
    } else {
      // The source a by-index build already uses, else the first readable candidate.
      for (const std::string& candidate : candidates) {
        if (store.GetIndexState(candidate) != IndexState::kReadable) continue;
        if (current.has_value() && *current == candidate) {
          chosen = candidate;
          break;
        }
        if (chosen.empty()) chosen = candidate;
      }
      if (chosen.empty()) return absl::OkStatus();
    }
    if (current != chosen) {
      // Another source starts from its beginning; entries written so far are current.
      txn.Set(mode_key, chosen);
      txn.Clear(BuildKey(store, index_name_, kByIndexPositionKey));
    }
    return absl::OkStatus();
  }));
  return chosen;
}

StatusOr<int64_t> OnlineIndexer::CountSourceEntries(const ByIndexBuildPlan& plan) {
  const std::string& source = plan.source().name();
  std::optional<Tuple> from;
  bool positioned = false;
  index::TupleRange range = index::TupleRange::All();
  cursor::Continuation position;
  int64_t count = 0;
  int failures = 0;
  while (true) {
    cursor::RecordContext context(db_.CreateTransaction());
    bool done = false;
    Status status = [&]() -> Status {
      ASSIGN_OR_RETURN(std::unique_ptr<store::RecordStore> store, OpenStore(context));
      if (!positioned) {
        ASSIGN_OR_RETURN(std::optional<std::string> stored,
                         context.txn().Get(BuildKey(*store, index_name_, kByIndexPositionKey),
                                           /*snapshot=*/true));
        if (stored.has_value()) {
          ASSIGN_OR_RETURN(Tuple key, Tuple::Unpack(*stored));
          range = index::TupleRange::Between(key, index::TupleRange::Bound::kInclusive, Tuple(),
                                             index::TupleRange::Bound::kOpen);
          from = std::move(key);
        }
        positioned = true;
      }
      cursor::ScanLimiter limiter({.max_time = options_.max_transaction_time});
      index::ScanOptions scan;
      scan.snapshot = true;
      scan.limiter = &limiter;
      ASSIGN_OR_RETURN(cursor::CursorPtr<index::IndexEntry> entries,
                       store->ScanIndex(source, range, position, scan));
      while (true) {
        ASSIGN_OR_RETURN(cursor::CursorResult<index::IndexEntry> result, entries->Next());
        if (!result.has_value()) {
          done = result.no_next_reason() == cursor::NoNextReason::kSourceExhausted;
          return absl::OkStatus();
        }
        if (!from.has_value() || result.value().key != *from) ++count;
        position = std::move(result).continuation();
      }
    }();
    if (!status.ok()) {
      if (!IsRetryable(status) || ++failures >= options_.max_consecutive_failures) return status;
      continue;
    }
    failures = 0;
    if (done) return count;
  }
}

StatusOr<OnlineIndexer::Batch> OnlineIndexer::RunIndexBatch(const ByIndexBuildPlan& plan,
                                                            int64_t limit) {
  const std::string& source = plan.source().name();
  cursor::RecordContext context(db_.CreateTransaction());
  kv::Transaction& txn = context.txn();
  ASSIGN_OR_RETURN(std::unique_ptr<store::RecordStore> store, OpenStore(context));
  Batch batch;
  ASSIGN_OR_RETURN(bool building, StillBuilding(*store, batch));
  if (!building) return batch;
  const std::string mode_key = BuildKey(*store, index_name_, store::kIndexBuildSourceKey);
  const std::string position_key = BuildKey(*store, index_name_, kByIndexPositionKey);
  // Serializable reads: concurrent builders of the index conflict on them.
  ASSIGN_OR_RETURN(std::optional<std::string> current, txn.Get(mode_key));
  if (!current.has_value()) {
    // Another builder finished with violations (the whole key space built), or the index was
    // cleared (its build data with it): finish, or start the source over.
    ASSIGN_OR_RETURN(std::optional<RangeSet::Range> gap,
                     store->IndexBuiltRanges(index_name_).FirstMissingRange(txn, ""));
    if (!gap.has_value()) {
      ASSIGN_OR_RETURN(batch.final, Finish(*store));
      RETURN_IF_ERROR(context.Commit());
      batch.finished = true;
      return batch;
    }
    txn.Set(mode_key, source);
  } else if (*current != source) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "index " + index_name_ + " is being built from index " + *current + ", not " + source);
  }
  std::optional<Tuple> from;
  if (current.has_value()) {
    ASSIGN_OR_RETURN(std::optional<std::string> stored, txn.Get(position_key));
    if (stored.has_value()) {
      ASSIGN_OR_RETURN(Tuple key, Tuple::Unpack(*stored));
      from = std::move(key);
    }
  }
  // From the resume point on, itself included (its entry is skipped): an exclusive tuple bound
  // would also skip entries whose keys extend it.
  const index::TupleRange range =
      from.has_value() ? index::TupleRange::Between(*from, index::TupleRange::Bound::kInclusive,
                                                    Tuple(), index::TupleRange::Bound::kOpen)
                       : index::TupleRange::All();
  const auto time_left = std::max<std::chrono::nanoseconds>(
      std::chrono::milliseconds(1), options_.max_transaction_time - context.Age());
  cursor::ScanLimiter limiter({.max_time = time_left});
  index::ScanOptions scan;
  scan.row_limit = static_cast<int>(std::min<int64_t>(limit + 1, INT32_MAX));
  scan.limiter = &limiter;
  ASSIGN_OR_RETURN(cursor::CursorPtr<index::IndexEntry> entries,
                   store->ScanIndex(source, range, cursor::Continuation::Start(), scan));

  const index::IndexMaintainerState& target = store->Maintainer(index_name_)->state();
  const bool unique = target.index->unique();
  const size_t key_column_count = static_cast<size_t>(index::IndexKeyColumnCount(*target.index));
  std::optional<Tuple> last;
  bool exhausted = false;
  while (true) {
    if (batch.scanned >= limit || txn.GetApproximateSize() >= options_.max_transaction_bytes) {
      break;
    }
    ASSIGN_OR_RETURN(cursor::CursorResult<index::IndexEntry> result, entries->Next());
    if (!result.has_value()) {
      exhausted = result.no_next_reason() == cursor::NoNextReason::kSourceExhausted;
      break;
    }
    const index::IndexEntry& entry = result.value();
    if (from.has_value() && entry.key == *from) continue;
    ++batch.scanned;
    last = entry.key;
    ASSIGN_OR_RETURN(ByIndexBuildPlan::TargetEntry projected, plan.Project(entry));
    Tuple key = projected.key_columns;
    key.Extend(entry.primary_key);
    if (unique) {
      // As the write-only unique maintainer does (index/value_index.h): a key another record
      // holds records a violation for both; a null column collides with nothing.
      bool has_null = false;
      for (const TupleElement& column : projected.key_columns) has_null |= column.is_null();
      if (!has_null) {
        auto [begin, end] = target.entries.Range(projected.key_columns);
        ASSIGN_OR_RETURN(kv::RangeResult rows, txn.GetRange(begin, end, {.limit = 2}));
        for (const kv::KeyValue& row : rows.rows) {
          ASSIGN_OR_RETURN(Tuple existing, target.entries.Unpack(row.key));
          Tuple other;
          for (size_t i = key_column_count; i < existing.size(); ++i) other.Append(existing[i]);
          if (other == entry.primary_key) continue;
          Tuple mine = projected.key_columns;
          mine.Extend(entry.primary_key);
          Tuple theirs = projected.key_columns;
          theirs.Extend(other);
          txn.Set(target.violations.Pack(mine), other.Pack());
          txn.Set(target.violations.Pack(theirs), entry.primary_key.Pack());
          break;
        }
      }
    }
    txn.Set(target.entries.Pack(key),
            projected.value_columns.empty() ? std::string() : projected.value_columns.Pack());
  }
  if (last.has_value()) txn.Set(position_key, last->Pack());
  if (batch.scanned > 0) {
    txn.AtomicOp(kv::MutationType::kAdd, BuildKey(*store, index_name_, kRecordsBuiltKey),
                 LittleEndian64(batch.scanned));
  }
  if (exhausted) {
    IndexBuildResult result;
    if (unique) {
      ASSIGN_OR_RETURN(result.violations, store->ScanUniquenessViolations(index_name_));
    }
    if (result.violations.empty()) {
      // Clears the build data, the by-index keys with it.
      RETURN_IF_ERROR(store->SetIndexState(index_name_, IndexState::kReadable));
      result.readable = true;
    } else {
      // Fully built, as after a records scan: writers keep it current through the range set.
      RETURN_IF_ERROR(
          store->IndexBuiltRanges(index_name_).InsertRange(txn, "", RangeSet::kEnd).status());
      txn.Clear(mode_key);
      txn.Clear(position_key);
    }
    batch.finished = true;
    batch.final = std::move(result);
  }
  RETURN_IF_ERROR(context.Commit());
  return batch;
}

StatusOr<IndexBuildResult> OnlineIndexer::RebuildIndex() {
  RETURN_IF_ERROR(RunInStore(
      [&](store::RecordStore& store) { return store.ClearAndMarkIndexWriteOnly(index_name_); }));
  return BuildIndex();
}

StatusOr<std::vector<IndexStatus>> ListIndexes(store::RecordStore& store) {
  kv::Transaction& txn = store.context().txn();
  std::vector<IndexStatus> statuses;
  for (const metadata::Index& index : store.metadata().indexes()) {
    IndexStatus status;
    status.name = index.name();
    status.type = index.type();
    status.state = store.GetIndexState(index.name());
    ASSIGN_OR_RETURN(
        std::optional<std::string> built,
        txn.Get(
            store.IndexBuildSpace(index.name()).Pack(Tuple::Of(std::string(kRecordsBuiltKey)))));
    if (built.has_value()) status.records_built = FromLittleEndian64(*built);
    if (status.state == IndexState::kWriteOnly) {
      RangeSet ranges = store.IndexBuiltRanges(index.name());
      ASSIGN_OR_RETURN(std::vector<RangeSet::Range> stored, ranges.Ranges(txn));
      status.built_ranges = static_cast<int64_t>(stored.size());
      ASSIGN_OR_RETURN(std::optional<RangeSet::Range> gap, ranges.FirstMissingRange(txn, ""));
      status.fully_built = !gap.has_value();
    } else {
      status.fully_built = status.state == IndexState::kReadable;
    }
    statuses.push_back(std::move(status));
  }
  return statuses;
}

}  // namespace recordstore::indexer
