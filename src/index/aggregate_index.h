// Aggregate index maintainers: count, count_updates, count_not_null, sum, min_ever, max_ever,
// as in the FoundationDB Record Layer.
//
// The root of an aggregate index is a GroupingKeyExpression (RecordMetaData checks its shape
// per type, see record_metadata.h): each tuple it evaluates to on a record is split into the
// leading grouping columns, which name the group, and the trailing grouped columns, which are
// aggregated. A record fanning out over a repeated field yields several tuples; each one
// counts, as if it were a record of its own.
//
// Entries: one key per group, (2, index, grouping columns...) -> the aggregate:
//   count           records (tuples) in the group: +1 on insert, -1 on delete; an update
//                   that keeps its group writes nothing, one that moves moves the count.
//   count_updates   saves of records in the group: +1 per tuple on every save (insert or
//                   update), never decremented, deletes ignored.
//   count_not_null  as count, skipping tuples with a null grouped column.
//   sum             the sum of the one (integer) grouped column, nulls skipped: a save adds
//                   the new value and subtracts the old one, a delete subtracts.
//   min_ever        the smallest (largest for max_ever) grouped columns any record of the
//   max_ever        group has ever had, tuples with a null grouped column skipped. Deletes
//                   and updates never raise (lower) it again.
// The count-like and sum values are 8-byte little-endian two's-complement integers, changed
// with the atomic kAdd of the delta (wrapping modulo 2^64, so a uint64 column above
// INT64_MAX adds its two's-complement bits, as the Record Layer's Java longs do). A count or
// sum key whose value becomes zero is cleared, by a kCompareAndClear of eight zero bytes
// issued after the add in the same transaction (the KV applies a transaction's mutations of
// one key in order), so that emptied groups do not accumulate; an absent key reads as 0.
// The min_ever/max_ever value is the grouped columns packed as a tuple, changed with
// kByteMin/kByteMax: the tuple encoding orders bytes as it orders values, so negative
// integers, floats and strings compare correctly.
//
// Why atomic mutations: Update reads nothing, so it adds no read conflict, and atomic
// mutations commute. Any number of transactions may update the same group concurrently and
// all commit; a blind read-modify-write would make all but one fail with not_committed.
// EvaluateAggregate is a plain (serializable) Get of the group's key, which sees the
// transaction's own pending updates.
//
// Aggregate indexes have no entries to scan (ScanEntries fails with unsupported 8006, from
// the base class) and no uniqueness violations; ClearAll is the base class's.
//
// Thread-safety: as IndexMaintainer (one thread at a time).
#ifndef RECORDSTORE_INDEX_AGGREGATE_INDEX_H_
#define RECORDSTORE_INDEX_AGGREGATE_INDEX_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "index/index_maintainer.h"

namespace recordstore::index {

class AggregateIndexMaintainer : public IndexMaintainer {
 public:
  enum class Kind { kCount, kCountUpdates, kCountNotNull, kSum, kMinEver, kMaxEver };

  AggregateIndexMaintainer(IndexMaintainerState state, Kind kind);

  // Writes only atomic mutations (see the file comment). Errors: invalid_argument (8001) when
  // the root is not a grouping expression or a sum's grouped column is not an integer; key
  // expression errors.
  Status Update(const IndexedRecord* old_record, const IndexedRecord* new_record) override;

  // The group's count or sum as a one-integer tuple (0 for a group without records), or its
  // min/max grouped columns as a tuple (empty when the group never held a record). Errors:
  // invalid_argument (8001) when `group` does not have one element per grouping column;
  // data_corruption (8004) for a stored value of the wrong form; read errors of the KV.
  StatusOr<Tuple> EvaluateAggregate(const Tuple& group) override;

  Kind kind() const { return kind_; }

 private:
  // The tuples of the index root evaluated on `record`.
  StatusOr<std::vector<Tuple>> Evaluate(const IndexedRecord& record) const;
  Status CheckRoot() const;
  // Adds to `deltas` (group key -> delta, wrapping) what each tuple contributes, times `sign`.
  Status AccumulateDeltas(const std::vector<Tuple>& tuples, uint64_t sign,
                          std::map<std::string, uint64_t>& deltas) const;
  Status UpdateCounts(const IndexedRecord* old_record, const IndexedRecord* new_record);
  Status UpdateExtremes(const IndexedRecord* new_record);

  Kind kind_;
  // The root's grouping columns; -1 when the root is not a grouping expression.
  int grouping_count_;
};

// Registers "count", "count_updates", "count_not_null", "sum", "min_ever" and "max_ever".
void RegisterAggregateMaintainers(IndexMaintainerRegistry& registry);

}  // namespace recordstore::index

#endif  // RECORDSTORE_INDEX_AGGREGATE_INDEX_H_
