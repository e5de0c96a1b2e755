// RecordQuery: what a caller asks of a record store — record types, a filter, a sort, the
// fields it needs — and ExecuteProperties: how much of it one call may do. The planner
// (planner.h) turns a query into a plan that only runs what the indexes make cheap.
#ifndef RECORDSTORE_QUERY_RECORD_QUERY_H_
#define RECORDSTORE_QUERY_RECORD_QUERY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cursor/scan_limiter.h"
#include "metadata/key_expression.h"
#include "query/query_component.h"

namespace recordstore::query {

enum class AggregateFunction { kCount, kSum, kMin, kMax };

// COUNT(*), or SUM / MIN / MAX of one field (a dotted path into singular nested messages).
struct Aggregate {
  AggregateFunction function = AggregateFunction::kCount;
  // Empty for COUNT(*).
  std::string field;
};

struct RecordQuery {
  // The record types to return; empty means every type.
  std::vector<std::string> record_types;
  // Null means every record.
  ComponentPtr filter;
  // Null means no order asked for (the plan's natural order: primary key or index order).
  std::unique_ptr<metadata::KeyExpression> sort;
  bool sort_descending = false;
  // The fields the caller needs (dotted paths). Empty means whole records; otherwise a plan
  // may return partial records holding at least these fields (a covering index scan).
  std::vector<std::string> required_fields;
  // Set for an aggregate query (SELECT COUNT(*) ...), answered from an aggregate index.
  std::optional<Aggregate> aggregate;

  RecordQuery() = default;
  RecordQuery(RecordQuery&&) = default;
  RecordQuery& operator=(RecordQuery&&) = default;
  RecordQuery Clone() const;
  // "SELECT * FROM Order WHERE total > 100 ORDER BY total DESC": for logs and errors.
  std::string ToString() const;
};

struct ExecuteProperties {
  // Records to return before stopping with RETURN_LIMIT_REACHED; 0 means no limit. Counts
  // over the whole query: a continuation remembers how many are left.
  int64_t row_limit = 0;
  // Records to skip first.
  int64_t skip = 0;
  // Out-of-band limits of one execution (records and bytes scanned, time).
  cursor::ScanLimits scan_limits;
  // Snapshot reads add no read conflicts (a long read-only query then never conflicts).
  bool snapshot = false;
  // Lets the planner sort in memory when no index provides the order; only with a row_limit,
  // which bounds the memory (row_limit + skip records).
  bool allow_in_memory_sort = false;
};

}  // namespace recordstore::query

#endif  // RECORDSTORE_QUERY_RECORD_QUERY_H_
