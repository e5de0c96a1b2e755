#include "indexer/by_index_build.h"

#include <map>
#include <set>
#include <string>
#include <utility>

#include "common/status_macros.h"

namespace recordstore::indexer {
namespace {

using metadata::FanType;
using metadata::KeyExpression;

// One column of an expression: its path ("line_items[fan-out].sku", "record_type_key",
// "lower(name)") and the fan-out nodes it lies under, outermost first.
struct FlatColumn {
  std::string path;
  std::vector<const KeyExpression*> fan_outs;
};

Status Unsupported(const metadata::Index& index, const std::string& what) {
  return MakeError(ErrorCode::kUnsupported,
                   "index " + index.name() + " cannot take part in a by-index build: " + what);
}

Status Flatten(const metadata::Index& index, const KeyExpression& expression,
               const std::string& prefix, const std::vector<const KeyExpression*>& fan_outs,
               std::vector<FlatColumn>& out) {
  switch (expression.kind()) {
    case KeyExpression::Kind::kEmpty:
      return absl::OkStatus();
    case KeyExpression::Kind::kField: {
      const auto& field = static_cast<const metadata::FieldKeyExpression&>(expression);
      FlatColumn column{prefix + field.ToString(), fan_outs};
      if (field.fan_type() == FanType::kFanOut) column.fan_outs.push_back(&expression);
      out.push_back(std::move(column));
      return absl::OkStatus();
    }
    case KeyExpression::Kind::kNest: {
      const auto& nest = static_cast<const metadata::NestingKeyExpression&>(expression);
      std::vector<const KeyExpression*> inner = fan_outs;
      if (nest.parent().fan_type() == FanType::kFanOut) inner.push_back(&expression);
      return Flatten(index, nest.child(), prefix + nest.parent().ToString() + ".", inner, out);
    }
    case KeyExpression::Kind::kThen:
      for (const auto& child :
           static_cast<const metadata::ThenKeyExpression&>(expression).children()) {
        RETURN_IF_ERROR(Flatten(index, *child, prefix, fan_outs, out));
      }
      return absl::OkStatus();
    case KeyExpression::Kind::kRecordTypeKey:
      out.push_back({prefix + expression.ToString(), fan_outs});
      return absl::OkStatus();
    case KeyExpression::Kind::kFunction: {
      // One column, compared as a whole; its arguments may not fan out on their own.
      std::vector<FlatColumn> arguments;
      RETURN_IF_ERROR(Flatten(
          index, static_cast<const metadata::FunctionKeyExpression&>(expression).arguments(),
          prefix, fan_outs, arguments));
      for (const FlatColumn& argument : arguments) {
        if (argument.fan_outs.size() != fan_outs.size()) {
          return Unsupported(index, "function `" + expression.ToString() + "` fans out");
        }
      }
      out.push_back({prefix + expression.ToString(), fan_outs});
      return absl::OkStatus();
    }
    case KeyExpression::Kind::kVersion:
      return Unsupported(index, "it has a version column");
    case KeyExpression::Kind::kGrouping:
    case KeyExpression::Kind::kKeyWithValue:
      return Unsupported(index, "`" + expression.ToString() + "` is nested in its root");
  }
  return Unsupported(index, "unknown expression");
}

// The columns of an index's entries, in order (a key-with-value root: key, then value).
StatusOr<std::vector<FlatColumn>> IndexColumns(const metadata::Index& index) {
  const KeyExpression* root = &index.root();
  if (root->kind() == KeyExpression::Kind::kKeyWithValue) {
    root = &static_cast<const metadata::KeyWithValueKeyExpression&>(*root).inner();
  }
  std::vector<FlatColumn> columns;
  RETURN_IF_ERROR(Flatten(index, *root, "", {}, columns));
  return columns;
}

// The record types `index` applies to.
std::set<std::string> TypesOf(const metadata::RecordMetaData& metadata,
                              const metadata::Index& index) {
  std::set<std::string> types;
  for (const metadata::RecordType& type : metadata.record_types()) {
    if (index.AppliesTo(type.name())) types.insert(type.name());
  }
  return types;
}

// Assigns source columns to target columns from `next` on, keeping the fan-out
// correspondence one to one (backtracking: expressions are small).
bool Assign(const std::vector<FlatColumn>& target, const std::vector<FlatColumn>& source,
            size_t next, std::map<const KeyExpression*, const KeyExpression*>& fan_map,
            std::set<const KeyExpression*>& mapped, std::vector<int>& choice) {
  if (next == target.size()) return true;
  const FlatColumn& column = target[next];
  for (size_t s = 0; s < source.size(); ++s) {
    if (source[s].path != column.path || source[s].fan_outs.size() != column.fan_outs.size()) {
      continue;
    }
    std::vector<const KeyExpression*> added;
    bool consistent = true;
    for (size_t d = 0; d < column.fan_outs.size() && consistent; ++d) {
      auto it = fan_map.find(column.fan_outs[d]);
      if (it != fan_map.end()) {
        consistent = it->second == source[s].fan_outs[d];
      } else if (mapped.count(source[s].fan_outs[d]) > 0) {
        consistent = false;
      } else {
        fan_map[column.fan_outs[d]] = source[s].fan_outs[d];
        mapped.insert(source[s].fan_outs[d]);
        added.push_back(column.fan_outs[d]);
      }
    }
    if (consistent) {
      choice[next] = static_cast<int>(s);
      if (Assign(target, source, next + 1, fan_map, mapped, choice)) return true;
    }
    for (const KeyExpression* node : added) {
      mapped.erase(fan_map[node]);
      fan_map.erase(node);
    }
  }
  return false;
}

}  // namespace

StatusOr<ByIndexBuildPlan> ByIndexBuildPlan::Make(const metadata::RecordMetaData& metadata,
                                                  std::string_view target_name,
                                                  std::string_view source_name) {
  const metadata::Index* target = metadata.FindIndex(target_name);
  const metadata::Index* source = metadata.FindIndex(source_name);
  if (target == nullptr || source == nullptr) {
    return MakeError(ErrorCode::kNotFound,
                     "no index " + std::string(target == nullptr ? target_name : source_name));
  }
  const std::string refusal =
      "index " + source->name() + " cannot build index " + target->name() + ": ";
  if (target == source) {
    return MakeError(ErrorCode::kInvalidArgument, refusal + "an index cannot build itself");
  }
  for (const metadata::Index* index : {target, source}) {
    if (index->type() != metadata::index_types::kValue) {
      return MakeError(ErrorCode::kInvalidArgument, refusal + "index " + index->name() + " is a " +
                                                        index->type() +
                                                        " index, not a value index");
    }
  }
  const std::set<std::string> types = TypesOf(metadata, *target);
  if (types != TypesOf(metadata, *source)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     refusal + "they do not index the same record types");
  }

  ASSIGN_OR_RETURN(std::vector<FlatColumn> target_columns, IndexColumns(*target));
  ASSIGN_OR_RETURN(std::vector<FlatColumn> source_columns, IndexColumns(*source));
  // The source's fan-outs, which the target must all have.
  std::map<const KeyExpression*, std::string> source_fan_outs;
  for (const FlatColumn& column : source_columns) {
    for (size_t d = 0; d < column.fan_outs.size(); ++d) {
      source_fan_outs.emplace(column.fan_outs[d], column.path);
    }
  }
  // The primary key columns, when every record type has the same primary key expression
  // and it does not fan out.
  const metadata::KeyExpression* primary_key = nullptr;
  bool shared_primary_key = true;
  for (const metadata::RecordType& type : metadata.record_types()) {
    if (types.count(type.name()) == 0) continue;
    if (primary_key == nullptr) {
      primary_key = &type.primary_key();
    } else if (!(*primary_key == type.primary_key())) {
      shared_primary_key = false;
    }
  }
  ByIndexBuildPlan plan;
  plan.target_ = target;
  plan.source_ = source;
  plan.source_key_columns_ = index::IndexKeyColumnCount(*source);
  plan.source_value_columns_ = static_cast<int>(source_columns.size()) - plan.source_key_columns_;
  plan.target_key_columns_ = index::IndexKeyColumnCount(*target);
  if (shared_primary_key && primary_key != nullptr) {
    std::vector<FlatColumn> key_columns;
    if (Flatten(*source, *primary_key, "", {}, key_columns).ok()) {
      bool fans_out = false;
      for (const FlatColumn& column : key_columns) fans_out |= !column.fan_outs.empty();
      if (!fans_out) {
        for (FlatColumn& column : key_columns) source_columns.push_back(std::move(column));
      }
    }
  }

  for (size_t t = 0; t < target_columns.size(); ++t) {
    const FlatColumn& column = target_columns[t];
    bool held = false;
    for (const FlatColumn& candidate : source_columns) {
      held |= candidate.path == column.path && candidate.fan_outs.size() == column.fan_outs.size();
    }
    if (!held) {
      return MakeError(ErrorCode::kInvalidArgument,
                       refusal + "it does not hold column `" + column.path + "`");
    }
    if (static_cast<int>(t) >= plan.target_key_columns_ && !column.fan_outs.empty()) {
      return MakeError(ErrorCode::kUnsupported,
                       refusal + "covering column `" + column.path + "` fans out");
    }
  }
  std::map<const KeyExpression*, const KeyExpression*> fan_map;
  std::set<const KeyExpression*> mapped;
  plan.columns_.assign(target_columns.size(), -1);
  if (!Assign(target_columns, source_columns, 0, fan_map, mapped, plan.columns_)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     refusal + "its fan-outs do not correspond to those of " + target->name());
  }
  for (const auto& [node, path] : source_fan_outs) {
    if (mapped.count(node) == 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       refusal + "it fans out over `" + path + "`, which " + target->name() +
                           " does not (records without elements have no entries in " +
                           source->name() + ")");
    }
  }
  return plan;
}

StatusOr<ByIndexBuildPlan::TargetEntry> ByIndexBuildPlan::Project(
    const index::IndexEntry& source_entry) const {
  const size_t key_columns = static_cast<size_t>(source_key_columns_);
  if (source_entry.key.size() < key_columns ||
      source_entry.value.size() != static_cast<size_t>(source_value_columns_)) {
    return MakeError(ErrorCode::kDataCorruption,
                     "index " + source_->name() +
                         " holds an entry without its columns: " + source_entry.key.ToString());
  }
  TargetEntry entry;
  for (size_t t = 0; t < columns_.size(); ++t) {
    const size_t s = static_cast<size_t>(columns_[t]);
    const TupleElement* element = nullptr;
    if (s < key_columns) {
      element = &source_entry.key[s];
    } else if (s < key_columns + source_entry.value.size()) {
      element = &source_entry.value[s - key_columns];
    } else if (s - key_columns - source_entry.value.size() < source_entry.primary_key.size()) {
      element = &source_entry.primary_key[s - key_columns - source_entry.value.size()];
    } else {
      return MakeError(ErrorCode::kDataCorruption,
                       "index " + source_->name() + " holds an entry with a short primary key: " +
                           source_entry.key.ToString());
    }
    (static_cast<int>(t) < target_key_columns_ ? entry.key_columns : entry.value_columns)
        .Append(*element);
  }
  return entry;
}

}  // namespace recordstore::indexer
