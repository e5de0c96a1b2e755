#include "index/value_index.h"

#include <algorithm>
#include <utility>

#include "common/status_macros.h"

namespace recordstore::index {
namespace {

// Index entries as a cursor: unpacks each row of the entries subspace.
class IndexEntryCursor : public cursor::RecordCursor<IndexEntry> {
 public:
  IndexEntryCursor(std::unique_ptr<cursor::KeyValueCursor> rows, const Subspace& entries,
                   int key_column_count, std::string index_name)
      : rows_(std::move(rows)),
        entries_(entries),
        key_column_count_(key_column_count),
        index_name_(std::move(index_name)) {}

  StatusOr<cursor::CursorResult<IndexEntry>> Next() override {
    // Bound in place (&&), not moved out of the StatusOr.
    ASSIGN_OR_RETURN(cursor::CursorResult<cursor::KeyValueRow> && row, rows_->Next());
    if (!row.has_value()) {
      return cursor::CursorResult<IndexEntry>::WithoutValue(row.no_next_reason(),
                                                            std::move(row).continuation());
    }
    StatusOr<Tuple> key = entries_.Unpack(row.value().key());
    if (!key.ok()) return Corrupt("a key that is not a tuple: " + key.status().ToString());
    if (key->size() < static_cast<size_t>(key_column_count_)) {
      return Corrupt("an entry with fewer than " + std::to_string(key_column_count_) +
                     " key columns: " + key->ToString());
    }
    Tuple value;
    if (!row.value().value().empty()) {
      StatusOr<Tuple> unpacked = Tuple::Unpack(row.value().value());
      if (!unpacked.ok()) {
        return Corrupt("a value that is not a tuple: " + unpacked.status().ToString());
      }
      value = *std::move(unpacked);
    }
    // One allocation of the exact size: appending element by element regrew the vector.
    Tuple primary_key(std::vector<TupleElement>(key->elements().begin() + key_column_count_,
                                                key->elements().end()));
    // The entry built in place (not assigned member by member into a default one, then moved);
    // the row's continuation passed on deferred: built only if asked for.
    return cursor::CursorResult<IndexEntry>::WithValue(
        IndexEntry{*std::move(key), std::move(value), std::move(primary_key)},
        std::move(row).TakeContinuation());
  }

 private:
  Status Corrupt(const std::string& detail) const {
    return MakeError(ErrorCode::kDataCorruption, "index " + index_name_ + " holds " + detail);
  }

  std::unique_ptr<cursor::KeyValueCursor> rows_;
  Subspace entries_;
  int key_column_count_;
  std::string index_name_;
};

Tuple Concat(const Tuple& head, const Tuple& tail) {
  Tuple result = head;
  result.Extend(tail);
  return result;
}

}  // namespace

ValueIndexMaintainer::ValueIndexMaintainer(IndexMaintainerState state)
    : IndexMaintainer(std::move(state)), key_column_count_(IndexKeyColumnCount(index())) {}

StatusOr<std::vector<ValueIndexMaintainer::Entry>> ValueIndexMaintainer::EntriesOf(
    const IndexedRecord& record) const {
  ASSIGN_OR_RETURN(std::vector<Tuple> tuples,
                   index().root().Evaluate(*record.message, record.Context()));
  std::vector<Entry> entries;
  entries.reserve(tuples.size());
  for (const Tuple& tuple : tuples) {
    entries.push_back({IndexKeyColumns(index(), tuple), IndexValueColumns(index(), tuple)});
  }
  // A fan-out may repeat a key: one entry per distinct key (the first one's value).
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.key_columns < b.key_columns; });
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [](const Entry& a, const Entry& b) {
                              return a.key_columns == b.key_columns;
                            }),
                entries.end());
  return entries;
}

StatusOr<ValueIndexMaintainer::Change> ValueIndexMaintainer::Diff(
    const IndexedRecord* old_record, const IndexedRecord* new_record) const {
  std::vector<Entry> old_entries;
  std::vector<Entry> new_entries;
  if (old_record != nullptr) {
    ASSIGN_OR_RETURN(old_entries, EntriesOf(*old_record));
  }
  if (new_record != nullptr) {
    ASSIGN_OR_RETURN(new_entries, EntriesOf(*new_record));
  }
  // Both lists are sorted by key: walk them together and keep only what changed, so an
  // update that leaves the indexed fields alone writes nothing and conflicts with nobody.
  Change change;
  auto old_it = old_entries.begin();
  auto new_it = new_entries.begin();
  while (old_it != old_entries.end() || new_it != new_entries.end()) {
    if (new_it == new_entries.end() ||
        (old_it != old_entries.end() && old_it->key_columns < new_it->key_columns)) {
      change.removed.push_back(std::move(*old_it++));
    } else if (old_it == old_entries.end() || new_it->key_columns < old_it->key_columns) {
      change.added.push_back(std::move(*new_it++));
    } else {
      // Same key; a version in it is the record's own, which changes with every save.
      if (old_it->value_columns != new_it->value_columns ||
          new_it->key_columns.HasIncompleteVersionstamp()) {
        change.removed.push_back(std::move(*old_it));
        change.added.push_back(std::move(*new_it));
      }
      ++old_it;
      ++new_it;
    }
  }
  return change;
}

Status ValueIndexMaintainer::CheckUpdate(const IndexedRecord* old_record,
                                         const IndexedRecord* new_record) {
  if (!index().unique() || new_record == nullptr || state().state == IndexState::kWriteOnly) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(Change change, Diff(old_record, new_record));
  for (const Entry& entry : change.added) {
    RETURN_IF_ERROR(CheckUnique(entry.key_columns, new_record->primary_key));
  }
  return absl::OkStatus();
}

Status ValueIndexMaintainer::Update(const IndexedRecord* old_record,
                                    const IndexedRecord* new_record) {
  ASSIGN_OR_RETURN(Change change, Diff(old_record, new_record));
  const Tuple& primary_key =
      new_record != nullptr ? new_record->primary_key : old_record->primary_key;
  // Uniqueness first, so that a refused record leaves this index untouched.
  if (index().unique()) {
    for (const Entry& entry : change.added) {
      RETURN_IF_ERROR(CheckUnique(entry.key_columns, primary_key));
    }
  }
  for (const Entry& entry : change.removed) RETURN_IF_ERROR(RemoveEntry(entry, primary_key));
  for (const Entry& entry : change.added) RETURN_IF_ERROR(AddEntry(entry, primary_key));
  return absl::OkStatus();
}

Status ValueIndexMaintainer::RemoveEntry(const Entry& entry, const Tuple& primary_key) {
  Tuple key = Concat(entry.key_columns, primary_key);
  if (key.HasIncompleteVersionstamp()) {
    // Written earlier in this transaction; it only exists in the context so far.
    state().context->CancelVersionstampedKey(state().entries.Pack(key));
    return absl::OkStatus();
  }
  txn().Clear(state().entries.Pack(key));
  if (index().unique() && state().state == IndexState::kWriteOnly) {
    return RemoveViolations(entry.key_columns, primary_key);
  }
  return absl::OkStatus();
}

Status ValueIndexMaintainer::AddEntry(const Entry& entry, const Tuple& primary_key) {
  Tuple key = Concat(entry.key_columns, primary_key);
  std::string value = entry.value_columns.empty() ? std::string() : entry.value_columns.Pack();
  if (key.HasIncompleteVersionstamp()) {
    ASSIGN_OR_RETURN(std::string operand, state().entries.PackWithVersionstamp(key));
    state().context->SetVersionstampedKeyAtCommit(state().entries.Pack(key), std::move(operand),
                                                  std::move(value));
    return absl::OkStatus();
  }
  txn().Set(state().entries.Pack(key), value);
  return absl::OkStatus();
}

Status ValueIndexMaintainer::CheckUnique(const Tuple& key_columns, const Tuple& primary_key) {
  // A key holding this transaction's versionstamp cannot collide with a stored one. A key
  // with a null column collides with nothing, as in SQL: null is no value.
  if (key_columns.HasIncompleteVersionstamp()) return absl::OkStatus();
  for (const TupleElement& column : key_columns) {
    if (column.is_null()) return absl::OkStatus();
  }
  // Two rows are enough: ours (from an earlier save of this record) and another one. The read
  // also makes two concurrent saves of the same key conflict.
  auto [begin, end] = state().entries.Range(key_columns);
  ASSIGN_OR_RETURN(kv::RangeResult rows,
                   txn().GetRange(begin, end, {.limit = 2}));
  for (const kv::KeyValue& row : rows.rows) {
    ASSIGN_OR_RETURN(Tuple existing, state().entries.Unpack(row.key));
    Tuple other;
    for (size_t i = key_column_count_; i < existing.size(); ++i) other.Append(existing[i]);
    if (other == primary_key) continue;
    if (state().state != IndexState::kWriteOnly) {
      return MakeError(ErrorCode::kUniquenessViolation,
                       "index " + index().name() + " already has key " + key_columns.ToString() +
                           " for record " + other.ToString() + "; record " +
                           primary_key.ToString() + " cannot have it too");
    }
    txn().Set(state().violations.Pack(Concat(key_columns, primary_key)), other.Pack());
    txn().Set(state().violations.Pack(Concat(key_columns, other)), primary_key.Pack());
    return absl::OkStatus();
  }
  return absl::OkStatus();
}

Status ValueIndexMaintainer::RemoveViolations(const Tuple& key_columns,
                                              const Tuple& primary_key) {
  txn().Clear(state().violations.Pack(Concat(key_columns, primary_key)));
  // The record left alone with the key is no longer in violation.
  auto [begin, end] = state().violations.Range(key_columns);
  ASSIGN_OR_RETURN(kv::RangeResult rows, txn().GetRange(begin, end, {.limit = 2}));
  if (rows.rows.size() == 1) txn().Clear(rows.rows[0].key);
  return absl::OkStatus();
}

StatusOr<cursor::CursorPtr<IndexEntry>> ValueIndexMaintainer::ScanEntries(
    const TupleRange& range, const cursor::Continuation& continuation,
    const ScanOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<cursor::KeyValueCursor> rows,
                   cursor::KeyValueCursor::Create(txn(), state().entries, range.LowEndpoint(),
                                                  range.HighEndpoint(), continuation, options));
  return cursor::CursorPtr<IndexEntry>(std::make_unique<IndexEntryCursor>(
      std::move(rows), state().entries, key_column_count_, index().name()));
}

StatusOr<std::vector<UniquenessViolation>> ValueIndexMaintainer::ScanUniquenessViolations() {
  std::vector<UniquenessViolation> violations;
  auto [begin, end] = state().violations.Range();
  kv::RangeReader reader(txn(), kv::RangeEndpoint::Inclusive(begin),
                         kv::RangeEndpoint::Exclusive(end));
  while (true) {
    ASSIGN_OR_RETURN(const kv::KeyValue* row, reader.Next());
    if (row == nullptr) break;
    ASSIGN_OR_RETURN(Tuple key, state().violations.Unpack(row->key));
    ASSIGN_OR_RETURN(Tuple other, Tuple::Unpack(row->value));
    UniquenessViolation violation;
    for (size_t i = 0; i < key.size(); ++i) {
      (i < static_cast<size_t>(key_column_count_) ? violation.index_key : violation.primary_key)
          .Append(key[i]);
    }
    violation.other_primary_key = std::move(other);
    violations.push_back(std::move(violation));
  }
  return violations;
}

void RegisterValueMaintainers(IndexMaintainerRegistry& registry) {
  for (std::string_view type : {metadata::index_types::kValue, metadata::index_types::kVersion}) {
    registry.Register(std::string(type), [](IndexMaintainerState state) {
      return std::make_unique<ValueIndexMaintainer>(std::move(state));
    });
  }
}

}  // namespace recordstore::index
