// Query plans: trees of operators that execute into cursors of records. The planner
// (planner.h) builds them; Explain prints them as an indented tree, one operator per line:
//
//   Filter (note IS NULL)
//     Fetch
//       IndexScan order_by_customer [(5)]
//
// Every plan executes into a cursor whose continuations resume it exactly in a new
// transaction: each operator is a cursor combinator (cursor/combinators.h) or a leaf scan,
// and a continuation carries every input's position.
//
// Operators: primary scan (records by primary key range), index scan + fetch, covering
// index scan (records rebuilt from index entries, no fetch), filter, type filter, ordered
// union and intersection (by primary key), IN-join (one scan per value, concatenated in value
// order or merged by the sort key), bounded in-memory sort.
//
// Thread-safety: plans are immutable; executing one from several threads at once is safe.
#ifndef RECORDSTORE_QUERY_PLAN_H_
#define RECORDSTORE_QUERY_PLAN_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cursor/continuation.h"
#include "cursor/cursor.h"
#include "cursor/scan_limiter.h"
#include "index/index_maintainer.h"
#include "metadata/key_expression.h"
#include "query/query_component.h"
#include "store/record_store.h"

namespace recordstore::query {

// What every operator of one execution shares.
struct ExecutionContext {
  store::RecordStore* store = nullptr;
  // The execution's out-of-band budget; may be null (no limits).
  cursor::ScanLimiter* limiter = nullptr;
  bool snapshot = false;
};

using RecordCursorPtr = cursor::CursorPtr<store::StoredRecord>;

class RecordQueryPlan {
 public:
  virtual ~RecordQueryPlan() = default;

  // Runs the plan from `continuation` (one this plan's cursor wrote, or Start()).
  virtual StatusOr<RecordCursorPtr> Execute(const ExecutionContext& context,
                                            const cursor::Continuation& continuation) const = 0;

  // The plan as an indented tree (see the file comment), every line ending in '\n'.
  std::string Explain() const;
  // This operator's line, without indentation or newline.
  virtual std::string Describe() const = 0;
  virtual std::vector<const RecordQueryPlan*> Children() const { return {}; }

  // True when the plan returns records in primary key order (needed by union and
  // intersection inputs).
  virtual bool OrderedByPrimaryKey() const = 0;
};

using PlanPtr = std::unique_ptr<RecordQueryPlan>;

// Records whose primary keys lie in a range, in primary key order (or reversed).
class PrimaryScanPlan final : public RecordQueryPlan {
 public:
  PrimaryScanPlan(index::TupleRange range, bool reverse)
      : range_(std::move(range)), reverse_(reverse) {}
  StatusOr<RecordCursorPtr> Execute(const ExecutionContext& context,
                                    const cursor::Continuation& continuation) const override;
  std::string Describe() const override;
  bool OrderedByPrimaryKey() const override { return !reverse_; }

 private:
  index::TupleRange range_;
  bool reverse_;
};

// The records an index range points to, in index order (or reversed).
class IndexScanPlan final : public RecordQueryPlan {
 public:
  // `ordered_by_primary_key`: every index key column is fixed by an equality, so entries
  // come in primary key order.
  IndexScanPlan(std::string index, index::TupleRange range, bool reverse,
                bool ordered_by_primary_key)
      : index_(std::move(index)),
        range_(std::move(range)),
        reverse_(reverse),
        ordered_by_primary_key_(ordered_by_primary_key) {}
  const std::string& index() const { return index_; }
  const index::TupleRange& range() const { return range_; }
  bool reverse() const { return reverse_; }

  StatusOr<cursor::CursorPtr<index::IndexEntry>> ScanEntries(
      const ExecutionContext& context, const cursor::Continuation& continuation) const;
  // Fetches each entry's record.
  StatusOr<RecordCursorPtr> Execute(const ExecutionContext& context,
                                    const cursor::Continuation& continuation) const override;
  std::string Describe() const override;
  bool OrderedByPrimaryKey() const override { return ordered_by_primary_key_ && !reverse_; }

 private:
  std::string index_;
  index::TupleRange range_;
  bool reverse_;
  bool ordered_by_primary_key_;
};

// Partial records rebuilt from index entries: each named field is set from its column of the
// entry (key columns, covering value columns, primary key columns), nothing is fetched.
class CoveringIndexPlan final : public RecordQueryPlan {
 public:
  // One field to set: a dotted path and where its value sits in the entry.
  struct FieldSource {
    std::vector<std::string> path;
    enum class From { kKey, kValue } from = From::kKey;
    int column = 0;
  };
  CoveringIndexPlan(std::unique_ptr<IndexScanPlan> scan, const metadata::RecordType* type,
                    std::vector<FieldSource> fields)
      : scan_(std::move(scan)), type_(type), fields_(std::move(fields)) {}

  StatusOr<RecordCursorPtr> Execute(const ExecutionContext& context,
                                    const cursor::Continuation& continuation) const override;
  std::string Describe() const override;
  std::vector<const RecordQueryPlan*> Children() const override { return {scan_.get()}; }
  bool OrderedByPrimaryKey() const override { return scan_->OrderedByPrimaryKey(); }

 private:
  std::unique_ptr<IndexScanPlan> scan_;
  const metadata::RecordType* type_;
  std::vector<FieldSource> fields_;
};

// The input's records for which `filter` is true. `filters` holds the filter bound to each
// record type the input may return (by type name).
class FilterPlan final : public RecordQueryPlan {
 public:
  FilterPlan(PlanPtr input, std::vector<std::pair<std::string, ComponentPtr>> filters);
  StatusOr<RecordCursorPtr> Execute(const ExecutionContext& context,
                                    const cursor::Continuation& continuation) const override;
  std::string Describe() const override;
  std::vector<const RecordQueryPlan*> Children() const override { return {input_.get()}; }
  bool OrderedByPrimaryKey() const override { return input_->OrderedByPrimaryKey(); }

 private:
  PlanPtr input_;
  std::vector<std::pair<std::string, ComponentPtr>> filters_;
};

// The input's records of the given types.
class TypeFilterPlan final : public RecordQueryPlan {
 public:
  TypeFilterPlan(PlanPtr input, std::vector<std::string> types)
      : input_(std::move(input)), types_(std::move(types)) {}
  StatusOr<RecordCursorPtr> Execute(const ExecutionContext& context,
                                    const cursor::Continuation& continuation) const override;
  std::string Describe() const override;
  std::vector<const RecordQueryPlan*> Children() const override { return {input_.get()}; }
  bool OrderedByPrimaryKey() const override { return input_->OrderedByPrimaryKey(); }

 private:
  PlanPtr input_;
  std::vector<std::string> types_;
};

// Union (OR) or intersection (AND) of inputs ordered by primary key, by primary key, each
// record once.
class SetOperationPlan final : public RecordQueryPlan {
 public:
  enum class Kind { kUnion, kIntersection };
  // REQUIRES: every input is OrderedByPrimaryKey().
  SetOperationPlan(Kind kind, std::vector<PlanPtr> inputs)
      : kind_(kind), inputs_(std::move(inputs)) {}
  StatusOr<RecordCursorPtr> Execute(const ExecutionContext& context,
                                    const cursor::Continuation& continuation) const override;
  std::string Describe() const override;
  std::vector<const RecordQueryPlan*> Children() const override;
  bool OrderedByPrimaryKey() const override { return true; }

 private:
  Kind kind_;
  std::vector<PlanPtr> inputs_;
};

// One input per value of an IN list: concatenated in value order (which is the index order
// when the IN column leads the order), or merged by `merge_key` then primary key when the
// order continues on later columns.
class InJoinPlan final : public RecordQueryPlan {
 public:
  InJoinPlan(std::string description, std::vector<PlanPtr> per_value,
             std::shared_ptr<const metadata::KeyExpression> merge_key, bool merge_descending)
      : description_(std::move(description)),
        per_value_(std::move(per_value)),
        merge_key_(std::move(merge_key)),
        merge_descending_(merge_descending) {}
  StatusOr<RecordCursorPtr> Execute(const ExecutionContext& context,
                                    const cursor::Continuation& continuation) const override;
  std::string Describe() const override;
  std::vector<const RecordQueryPlan*> Children() const override;
  bool OrderedByPrimaryKey() const override { return false; }

 private:
  std::string description_;
  std::vector<PlanPtr> per_value_;
  std::shared_ptr<const metadata::KeyExpression> merge_key_;
  bool merge_descending_;
};

// The first `limit` records of the input in `key` order (then primary key), sorted in memory:
// reads the whole input, keeps at most `limit` records. Its cursor returns them and then
// stops for good (its continuation is the end): a page that needs sorting is never resumed.
// An out-of-band stop of the input before its end fails the sort (a partial input would
// give a wrong order), with an error naming the limit.
class InMemorySortPlan final : public RecordQueryPlan {
 public:
  InMemorySortPlan(PlanPtr input, std::shared_ptr<const metadata::KeyExpression> key,
                   bool descending, int64_t limit)
      : input_(std::move(input)), key_(std::move(key)), descending_(descending), limit_(limit) {}
  StatusOr<RecordCursorPtr> Execute(const ExecutionContext& context,
                                    const cursor::Continuation& continuation) const override;
  std::string Describe() const override;
  std::vector<const RecordQueryPlan*> Children() const override { return {input_.get()}; }
  bool OrderedByPrimaryKey() const override { return false; }

 private:
  PlanPtr input_;
  std::shared_ptr<const metadata::KeyExpression> key_;
  bool descending_;
  int64_t limit_;
};

// The order of two records by `key` (evaluated on each, first tuple), then primary key.
std::weak_ordering CompareRecordsBy(const metadata::KeyExpression& key,
                                    const store::StoredRecord& a, const store::StoredRecord& b);

}  // namespace recordstore::query

#endif  // RECORDSTORE_QUERY_PLAN_H_
