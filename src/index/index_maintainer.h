// Index maintainers: one class per index type keeps that type's entries in step with the
// records, inside the transaction that saves or deletes them, and reads them back (scans for
// value-like indexes, aggregate evaluation for aggregate indexes). The record store owns one
// maintainer per index of its metadata and calls Update for every record it saves or deletes;
// it knows nothing about any index type. The registry maps type names to factories.
//
// Key layout inside the record store's subspace (docs/key-layout.md):
//   (2, index name, ...)  entries              -> IndexMaintainerState::entries
//   (3, index name, ...)  secondary space      -> IndexMaintainerState::secondary
//   (7, index name, ...)  uniqueness violations -> IndexMaintainerState::violations
//
// Thread-safety: a maintainer belongs to one record store, used by one thread at a time.
#ifndef RECORDSTORE_INDEX_INDEX_MAINTAINER_H_
#define RECORDSTORE_INDEX_INDEX_MAINTAINER_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cursor/continuation.h"
#include "cursor/cursor.h"
#include "cursor/key_value_cursor.h"
#include "cursor/record_context.h"
#include "cursor/record_version.h"
#include "google/protobuf/message.h"
#include "metadata/index.h"
#include "metadata/record_metadata.h"
#include "recordstore/status.h"
#include "tuple/subspace.h"
#include "tuple/tuple.h"

namespace recordstore::index {

// Whether an index is kept up to date and whether reads may use it.
enum class IndexState : int64_t {
  // Maintained and complete: queries and scans may use it.
  kReadable = 0,
  // Being built: maintained by writes to records in its built ranges only (the online
  // indexer covers the rest; store/range_set.h), not complete: scans refuse it.
  kWriteOnly = 1,
  // Neither maintained nor readable; its data is cleared.
  kDisabled = 2,
};

// "readable", "write_only", "disabled".
std::string_view IndexStateName(IndexState state);

// A record as index maintainers see it.
struct IndexedRecord {
  const metadata::RecordType* type = nullptr;
  const google::protobuf::Message* message = nullptr;
  Tuple primary_key;
  // The record's version: complete for a stored record, incomplete for one saved in the
  // current transaction, nullopt when the store keeps no versions.
  std::optional<cursor::RecordVersion> version;

  // What the record's key expressions evaluate in: its record type key and its version.
  metadata::EvaluationContext Context() const;
};

// One entry of a value-like index.
struct IndexEntry {
  // The index key columns followed by the record's primary key.
  Tuple key;
  // The covering columns of a key-with-value index; empty otherwise.
  Tuple value;
  // The primary key of the record the entry points to (the tail of `key`).
  Tuple primary_key;
};

// A range of tuples, with the Record Layer's prefix semantics: an inclusive bound takes in
// every key that starts with it, an exclusive bound leaves them all out. So on an index over
// `price` with entries (price, pk...), Between((10), kInclusive, (20), kExclusive) holds the
// entries with 10 <= price < 20, whatever their primary keys.
struct TupleRange {
  enum class Bound { kOpen, kInclusive, kExclusive };

  Tuple low;
  Bound low_bound = Bound::kOpen;
  Tuple high;
  Bound high_bound = Bound::kOpen;

  // Every key.
  static TupleRange All() { return {}; }
  // Every key that starts with `prefix`.
  static TupleRange Prefix(const Tuple& prefix) {
    return {prefix, Bound::kInclusive, prefix, Bound::kInclusive};
  }
  static TupleRange Between(Tuple low, Bound low_bound, Tuple high, Bound high_bound) {
    return {std::move(low), low_bound, std::move(high), high_bound};
  }

  // The KeyValueCursor endpoints of this range inside a subspace.
  cursor::KeyEndpoint LowEndpoint() const;
  cursor::KeyEndpoint HighEndpoint() const;
  // "[(10), (20))", "(-inf, +inf)": for errors and plans.
  std::string ToString() const;
};

// How to read an index: direction, page size, limits (as for KeyValueCursor).
using ScanOptions = cursor::KeyValueCursorOptions;

// A unique index entry that a write-only unique index could not refuse: two records with the
// same key. Kept until the records change or the index is rebuilt.
struct UniquenessViolation {
  Tuple index_key;          // the index key columns (no primary key)
  Tuple primary_key;        // the record that holds the key
  Tuple other_primary_key;  // the record it collides with
};

// Everything a maintainer needs about its index and store.
struct IndexMaintainerState {
  cursor::RecordContext* context = nullptr;
  const metadata::RecordMetaData* metadata = nullptr;
  const metadata::Index* index = nullptr;
  IndexState state = IndexState::kReadable;
  Subspace entries;
  Subspace secondary;
  Subspace violations;
};

class IndexMaintainer {
 public:
  explicit IndexMaintainer(IndexMaintainerState state) : state_(std::move(state)) {}
  virtual ~IndexMaintainer() = default;
  IndexMaintainer(const IndexMaintainer&) = delete;
  IndexMaintainer& operator=(const IndexMaintainer&) = delete;

  const IndexMaintainerState& state() const { return state_; }
  const metadata::Index& index() const { return *state_.index; }

  // Brings the index in line with one record changing from `old_record` to `new_record`: an
  // insert has no old record, a delete no new one; when both are given they have the same
  // primary key (their types may differ). A record whose type the index does not apply to is
  // passed as null. Writes go to the state's transaction. Errors: a unique index refusing a
  // duplicate (record_index_uniqueness_violation 8010), key expression errors.
  virtual Status Update(const IndexedRecord* old_record, const IndexedRecord* new_record) = 0;

  // Whether Update(old_record, new_record) would be accepted, without writing anything: the
  // record store asks every readable index before its first write, so that a refused save
  // leaves the transaction untouched. Unique value indexes check for a duplicate here
  // (uniqueness_violation 8010); the default accepts everything.
  virtual Status CheckUpdate(const IndexedRecord* old_record, const IndexedRecord* new_record);

  // The entries of a value-like index in `range` (of index key columns, primary key columns
  // after them), in key order or reversed, resumed at `continuation`. Other index types fail
  // with unsupported (8006).
  virtual StatusOr<cursor::CursorPtr<IndexEntry>> ScanEntries(
      const TupleRange& range, const cursor::Continuation& continuation,
      const ScanOptions& options);

  // The aggregate of the group `group` (the grouping columns' values) of an aggregate index:
  // a one-element tuple (the count, the sum, the minimum...); an empty tuple when the group
  // has never held a record (min/max). Other index types fail with unsupported (8006).
  virtual StatusOr<Tuple> EvaluateAggregate(const Tuple& group);

  // The violations a write-only unique index recorded. Other indexes have none.
  virtual StatusOr<std::vector<UniquenessViolation>> ScanUniquenessViolations();

  // Removes every entry, secondary key and violation of the index.
  virtual void ClearAll();

 protected:
  kv::Transaction& txn() const { return state_.context->txn(); }

 private:
  IndexMaintainerState state_;
};

// Maps index type names to maintainer factories. Default() knows every type our metadata
// accepts that has a maintainer; Create fails with unsupported (8006) for the others.
class IndexMaintainerRegistry {
 public:
  using Factory = std::function<std::unique_ptr<IndexMaintainer>(IndexMaintainerState)>;

  static const IndexMaintainerRegistry& Default();

  void Register(std::string type, Factory factory);
  bool Supports(std::string_view type) const;
  // OK when `index`'s type has a maintainer; else the unsupported error Create returns.
  Status CheckSupported(const metadata::Index& index) const;
  StatusOr<std::unique_ptr<IndexMaintainer>> Create(IndexMaintainerState state) const;

 private:
  std::map<std::string, Factory, std::less<>> factories_;
};

// The entry key columns of `tuple` (one evaluation of the index root): all of them, or the
// key part of a key-with-value root. And the covering value columns (empty unless
// key-with-value).
Tuple IndexKeyColumns(const metadata::Index& index, const Tuple& tuple);
Tuple IndexValueColumns(const metadata::Index& index, const Tuple& tuple);
// The number of index key columns of each entry (before the primary key).
int IndexKeyColumnCount(const metadata::Index& index);

}  // namespace recordstore::index

#endif  // RECORDSTORE_INDEX_INDEX_MAINTAINER_H_
