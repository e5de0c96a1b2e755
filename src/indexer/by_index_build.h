// By-index builds: which readable index can build a VALUE index without reading records, and
// how one entry of it becomes entries of the index being built (indexer/online_indexer.h runs
// the build).
//
// A source index can build a target index when both are VALUE indexes over the same record
// types and every column of the target (key columns, then covering value columns) can be read
// from each source entry: from its key columns, its covering value columns, or the primary key
// of its record (when every record type of the index has the same primary key expression).
// Columns are compared structurally: the paths of Field / Nest / Then expressions (a field's
// name and fan type, the parents it is nested in), record type keys and functions as whole
// expressions. Fan-outs must correspond one to one: each fan-out of the target maps to its
// own fan-out of the source and every fan-out of the source is one of the target's (a record
// with no elements in a repeated field the target does not fan out over has no source
// entries, so it would be missed). Covering value columns of the target may not fan out (the
// maintainer keeps the first element's value; source order would keep another). Version
// columns are refused.
//
// Thread-safety: a plan is immutable once made.
#ifndef RECORDSTORE_INDEXER_BY_INDEX_BUILD_H_
#define RECORDSTORE_INDEXER_BY_INDEX_BUILD_H_

#include <string_view>
#include <vector>

#include "index/index_maintainer.h"
#include "metadata/record_metadata.h"
#include "recordstore/status.h"
#include "tuple/tuple.h"

namespace recordstore::indexer {

class ByIndexBuildPlan {
 public:
  // The plan for building `target` from `source`, both indexes of `metadata`. Errors
  // (invalid_argument 8001 unless said otherwise): unknown index (not_found 8002), same
  // index, an index that is not VALUE, different record types, unsupported expressions
  // (unsupported 8006), and a target column the source does not hold:
  //   "index <source> cannot build index <target>: it does not hold column `<column>`".
  static StatusOr<ByIndexBuildPlan> Make(const metadata::RecordMetaData& metadata,
                                         std::string_view target, std::string_view source);

  const metadata::Index& target() const { return *target_; }
  const metadata::Index& source() const { return *source_; }

  // The target's entry for one source entry: its key columns and its covering columns.
  // data_corruption (8004) for a source entry without the columns its index defines.
  struct TargetEntry {
    Tuple key_columns;
    Tuple value_columns;
  };
  StatusOr<TargetEntry> Project(const index::IndexEntry& source_entry) const;

 private:
  const metadata::Index* target_ = nullptr;
  const metadata::Index* source_ = nullptr;
  int source_key_columns_ = 0;
  int source_value_columns_ = 0;
  int target_key_columns_ = 0;
  // For each target column: its position among the source's key columns, then value
  // columns, then primary key columns.
  std::vector<int> columns_;
};

}  // namespace recordstore::indexer

#endif  // RECORDSTORE_INDEXER_BY_INDEX_BUILD_H_
