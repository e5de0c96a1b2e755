// The value index maintainer, which also maintains version indexes.
//
// Entries: (2, index, key columns..., primary key...) -> the covering columns of a
// key-with-value root packed as a tuple, or empty. A record fanning out over a repeated field
// has one entry per distinct key. A version index is a value index whose key holds the
// record's version: entries of records saved in the current transaction hold an incomplete
// versionstamp and are written at commit with SET_VERSIONSTAMPED_KEY (RecordContext defers
// them, so a record saved twice in one transaction leaves one entry).
//
// Unique indexes: saving a record whose key another record already has fails with
// uniqueness_violation (8010) naming the index, the key and both primary keys, and writes
// nothing. Keys with a null column are exempt (as in SQL, null equals nothing). A write-only unique index (being built, when refusing would make the build fail
// for records saved before it existed) accepts the duplicate and records the violation
// under (7, index, key columns..., primary key...) -> the other record's primary key, for each
// of the two records; deleting or changing a record removes its violations, and the other
// record's when it is left alone with that key.
#ifndef RECORDSTORE_INDEX_VALUE_INDEX_H_
#define RECORDSTORE_INDEX_VALUE_INDEX_H_

#include "index/index_maintainer.h"

namespace recordstore::index {

class ValueIndexMaintainer : public IndexMaintainer {
 public:
  explicit ValueIndexMaintainer(IndexMaintainerState state);

  Status CheckUpdate(const IndexedRecord* old_record, const IndexedRecord* new_record) override;
  Status Update(const IndexedRecord* old_record, const IndexedRecord* new_record) override;
  StatusOr<cursor::CursorPtr<IndexEntry>> ScanEntries(const TupleRange& range,
                                                      const cursor::Continuation& continuation,
                                                      const ScanOptions& options) override;
  StatusOr<std::vector<UniquenessViolation>> ScanUniquenessViolations() override;

 private:
  // One entry a record needs: its key columns and covering columns.
  struct Entry {
    Tuple key_columns;
    Tuple value_columns;
  };
  StatusOr<std::vector<Entry>> EntriesOf(const IndexedRecord& record) const;
  // The entries to remove and to add to go from `old_record` to `new_record`.
  struct Change {
    std::vector<Entry> removed;
    std::vector<Entry> added;
  };
  StatusOr<Change> Diff(const IndexedRecord* old_record, const IndexedRecord* new_record) const;
  Status RemoveEntry(const Entry& entry, const Tuple& primary_key);
  Status AddEntry(const Entry& entry, const Tuple& primary_key);
  // Fails (readable index) or records the violation (write-only index) when another record
  // has `key_columns`.
  Status CheckUnique(const Tuple& key_columns, const Tuple& primary_key);
  Status RemoveViolations(const Tuple& key_columns, const Tuple& primary_key);

  int key_column_count_;
};

// Registers "value" and "version".
void RegisterValueMaintainers(IndexMaintainerRegistry& registry);

}  // namespace recordstore::index

#endif  // RECORDSTORE_INDEX_VALUE_INDEX_H_
