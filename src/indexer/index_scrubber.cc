#include "indexer/index_scrubber.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "common/status_macros.h"
#include "cursor/continuation.h"
#include "index/index_maintainer.h"

namespace recordstore::indexer {
namespace {

using index::IndexState;

enum Phase : int64_t { kRecordsPhase = 0, kEntriesPhase = 1 };

// Consecutive failed transactions after which the scrub gives up.
constexpr int kMaxConsecutiveFailures = 50;

struct Position {
  int64_t phase = kRecordsPhase;
  cursor::Continuation continuation;
};

std::string EncodePosition(const Position& position) {
  return Tuple::Of(position.phase, ByteString{position.continuation.ToBytes()}).Pack();
}

StatusOr<Position> DecodePosition(std::string_view bytes) {
  if (bytes.empty()) return Position();
  StatusOr<Tuple> tuple = Tuple::Unpack(bytes);
  std::optional<int64_t> phase;
  const ByteString* cursor_bytes = nullptr;
  if (tuple.ok() && tuple->size() == 2) {
    phase = (*tuple)[0].AsInt64();
    cursor_bytes = (*tuple)[1].get_if<ByteString>();
  }
  if (!phase.has_value() || (*phase != kRecordsPhase && *phase != kEntriesPhase) ||
      cursor_bytes == nullptr) {
    return MakeError(ErrorCode::kInvalidContinuation, "not a scrub continuation");
  }
  ASSIGN_OR_RETURN(cursor::Continuation continuation,
                   cursor::Continuation::FromBytes(cursor_bytes->data));
  return Position{*phase, std::move(continuation)};
}

// The entry keys (key columns + primary key) and values `record` needs in the index.
StatusOr<std::vector<std::pair<Tuple, std::string>>> ExpectedEntries(
    const metadata::Index& index, const store::StoredRecord& record) {
  std::vector<std::pair<Tuple, std::string>> entries;
  if (!index.AppliesTo(record.type->name())) return entries;
  index::IndexedRecord indexed{record.type, record.message.get(), record.primary_key,
                               record.version};
  ASSIGN_OR_RETURN(std::vector<Tuple> tuples,
                   index.root().Evaluate(*record.message, indexed.Context()));
  for (const Tuple& tuple : tuples) {
    Tuple key = index::IndexKeyColumns(index, tuple);
    key.Extend(record.primary_key);
    Tuple value = index::IndexValueColumns(index, tuple);
    entries.emplace_back(std::move(key), value.empty() ? std::string() : value.Pack());
  }
  // A fan-out may repeat a key: one entry per distinct key (the first one's value).
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [](const auto& a, const auto& b) { return a.first == b.first; }),
                entries.end());
  return entries;
}

// One transaction's worth of scrubbing.
struct Step {
  ScrubReport found;
  Position next;
  bool done = false;
};

class Scrubber {
 public:
  Scrubber(kv::Database& db, const Subspace& subspace, const metadata::RecordMetaData& metadata,
           std::string_view index_name, const ScrubOptions& options)
      : db_(db),
        subspace_(subspace),
        metadata_(metadata),
        index_name_(index_name),
        options_(options) {
    options_.store_options.open_mode = store::OpenMode::kOpenExisting;
    options_.entries_per_transaction = std::max<int64_t>(1, options_.entries_per_transaction);
  }

  StatusOr<Step> RunStep(const Position& position) {
    cursor::RecordContext context(db_.CreateTransaction());
    ASSIGN_OR_RETURN(
        std::unique_ptr<store::RecordStore> store,
        store::RecordStore::Open(context, subspace_, metadata_, options_.store_options));
    index::IndexMaintainer* maintainer = store->Maintainer(index_name_);
    if (maintainer == nullptr) {
      return MakeError(ErrorCode::kNotFound, "no index " + index_name_);
    }
    const metadata::Index& index = maintainer->index();
    if (index.type() != metadata::index_types::kValue &&
        index.type() != metadata::index_types::kVersion) {
      return MakeError(ErrorCode::kUnsupported,
                       "index " + index_name_ + " is a " + index.type() +
                           " index; only value and version indexes can be scrubbed");
    }
    if (IndexState state = store->GetIndexState(index_name_); state != IndexState::kReadable) {
      return MakeError(ErrorCode::kIndexNotReadable, "index " + index_name_ + " is " +
                                                         std::string(index::IndexStateName(state)) +
                                                         "; only a readable index can be scrubbed");
    }
    index::ScanOptions scan;
    scan.row_limit =
        static_cast<int>(std::min<int64_t>(options_.entries_per_transaction, INT32_MAX));
    scan.snapshot = !options_.repair;
    const Subspace& entries = maintainer->state().entries;
    kv::Transaction& txn = context.txn();
    Step step;
    step.next = position;
    if (position.phase == kRecordsPhase) {
      ASSIGN_OR_RETURN(cursor::CursorPtr<store::StoredRecord> records,
                       store->ScanRecords(index::TupleRange::All(), position.continuation, scan));
      while (true) {
        ASSIGN_OR_RETURN(cursor::CursorResult<store::StoredRecord> result, records->Next());
        if (!result.has_value()) {
          step.next.continuation = result.continuation();
          if (result.no_next_reason() == cursor::NoNextReason::kSourceExhausted) {
            step.next = Position{kEntriesPhase, cursor::Continuation::Start()};
          }
          break;
        }
        ++step.found.records_scanned;
        ASSIGN_OR_RETURN(auto expected, ExpectedEntries(index, result.value()));
        for (auto& [key, value] : expected) {
          std::string packed = entries.Pack(key);
          ASSIGN_OR_RETURN(std::optional<std::string> stored, txn.Get(packed, scan.snapshot));
          if (stored.has_value()) continue;
          step.found.missing.push_back({key, result.value().primary_key});
          if (options_.repair) {
            txn.Set(packed, value);
            ++step.found.repaired;
          }
        }
      }
    } else {
      ASSIGN_OR_RETURN(
          cursor::CursorPtr<index::IndexEntry> cursor,
          maintainer->ScanEntries(index::TupleRange::All(), position.continuation, scan));
      while (true) {
        ASSIGN_OR_RETURN(cursor::CursorResult<index::IndexEntry> result, cursor->Next());
        if (!result.has_value()) {
          step.next.continuation = result.continuation();
          step.done = result.no_next_reason() == cursor::NoNextReason::kSourceExhausted;
          break;
        }
        ++step.found.entries_scanned;
        const index::IndexEntry& entry = result.value();
        ASSIGN_OR_RETURN(std::optional<store::StoredRecord> record,
                         store->LoadRecord(entry.primary_key));
        bool expected = false;
        if (record.has_value()) {
          ASSIGN_OR_RETURN(auto wanted, ExpectedEntries(index, *record));
          expected = std::any_of(wanted.begin(), wanted.end(),
                                 [&](const auto& want) { return want.first == entry.key; });
        }
        if (expected) continue;
        step.found.dangling.push_back({entry.key, entry.primary_key});
        if (options_.repair) {
          txn.Clear(entries.Pack(entry.key));
          ++step.found.repaired;
        }
      }
    }
    if (options_.repair) RETURN_IF_ERROR(context.Commit());
    return step;
  }

 private:
  kv::Database& db_;
  Subspace subspace_;
  const metadata::RecordMetaData& metadata_;
  std::string index_name_;
  ScrubOptions options_;
};

}  // namespace

StatusOr<ScrubReport> ScrubIndex(kv::Database& db, const Subspace& subspace,
                                 const metadata::RecordMetaData& metadata,
                                 std::string_view index_name, const ScrubOptions& options,
                                 std::string_view continuation) {
  ASSIGN_OR_RETURN(Position position, DecodePosition(continuation));
  Scrubber scrubber(db, subspace, metadata, index_name, options);
  ScrubReport report;
  int failures = 0;
  while (true) {
    StatusOr<Step> step = scrubber.RunStep(position);
    if (!step.ok()) {
      if (!IsRetryable(step.status()) || ++failures >= kMaxConsecutiveFailures) {
        return step.status();
      }
      continue;
    }
    failures = 0;
    ++report.transactions;
    report.records_scanned += step->found.records_scanned;
    report.entries_scanned += step->found.entries_scanned;
    report.repaired += step->found.repaired;
    for (ScrubbedEntry& entry : step->found.missing) report.missing.push_back(std::move(entry));
    for (ScrubbedEntry& entry : step->found.dangling) report.dangling.push_back(std::move(entry));
    if (step->done) return report;
    position = std::move(step->next);
    if (options.max_transactions > 0 && report.transactions >= options.max_transactions) {
      report.continuation = EncodePosition(position);
      return report;
    }
  }
}

}  // namespace recordstore::indexer
