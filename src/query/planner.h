// The query planner: turns a RecordQuery into a plan (plan.h) that only runs what the
// store's readable indexes make cheap, and executes plans with ExecuteProperties.
//
// Rules, in order:
//   * The filter is bound to each queried record type (types and constants checked, see
//     query_component.h) and split into conjuncts.
//   * Each candidate — the primary key and every readable value index that covers all the
//     queried types — is matched column by column: equalities (=, IS NULL, and the record
//     type key of a single-type query) fix a prefix of columns; an IN list fixes the next
//     column once per value (an IN-join); then one range (<, <=, >, >=, STARTS WITH on a
//     string) may bound the following column. Fan-out (repeated) columns take equality only:
//     one entry per record and value, so no record comes back twice.
//   * A sort is satisfied when its columns are the candidate's columns starting at or before
//     the first column not fixed by an equality; a descending sort scans in reverse.
//   * Among candidates that satisfy the sort, the one fixing the most columns wins; ties go
//     to the primary key, then to the index that needs no fetch (covering), then to
//     metadata order. Conjuncts the scan does not answer stay as a residual filter.
//   * A filter that is an OR whose every branch is answered by a scan in primary key order
//     (equality on all of an index's key columns, or the primary key) becomes an ordered
//     union of those scans; an AND with several such equality conjuncts on different indexes
//     becomes an intersection.
//   * When no candidate satisfies the sort, planning fails with an error naming the index to
//     add, unless ExecuteProperties allows a bounded in-memory sort (with a row limit).
//   * A covering scan replaces index scan + fetch when the query names required fields and
//     the index entry holds them and every residual field.
//
// Thread-safety: planning reads the store's metadata and index states; plans are immutable.
#ifndef RECORDSTORE_QUERY_PLANNER_H_
#define RECORDSTORE_QUERY_PLANNER_H_

#include "cursor/continuation.h"
#include "query/plan.h"
#include "query/record_query.h"
#include "store/record_store.h"

namespace recordstore::query {

// The plan for `query` on `store` (its metadata and its indexes' states). Errors:
// invalid_argument (8001) for unknown record types or fields, type mismatches, and a sort no
// index provides (naming the index to add); unsupported (8006) for an aggregate query (use
// EvaluateAggregateQuery).
StatusOr<PlanPtr> PlanQuery(const store::RecordStore& store, const RecordQuery& query,
                            const ExecuteProperties& properties = {});

// Runs `plan` on `store` from `continuation` (Start(), or the continuation of an earlier
// result of the same plan and properties), applying skip, row limit and scan limits. The
// cursor owns the execution's scan limiter.
StatusOr<RecordCursorPtr> ExecuteQuery(store::RecordStore& store, const RecordQueryPlan& plan,
                                       const cursor::Continuation& continuation,
                                       const ExecuteProperties& properties = {});

// The value of an aggregate query (query.aggregate set): COUNT(*) and SUM(f) from a count /
// sum index whose grouping columns the filter fixes by equality (and nothing else);
// MIN(f) / MAX(f) from the first / last entry of a value index on f under such a prefix
// (null when no record matches). Fails with missing_index (8015) naming the index to add
// when no index answers the query.
StatusOr<TupleElement> EvaluateAggregateQuery(store::RecordStore& store, const RecordQuery& query);

}  // namespace recordstore::query

#endif  // RECORDSTORE_QUERY_PLANNER_H_
