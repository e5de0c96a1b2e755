// Index definitions: what RecordMetaData holds for each secondary index, and for each index
// that was removed (a former index, whose data a store must clear).
//
// Thread-safety: immutable after construction.
#ifndef RECORDSTORE_METADATA_INDEX_H_
#define RECORDSTORE_METADATA_INDEX_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "metadata/key_expression.h"
#include "metadata/metadata.pb.h"
#include "recordstore/status.h"

namespace recordstore::metadata {

// The index types, by the names the Record Layer gives them. Each needs a maintainer in
// src/index/; RecordMetaData refuses other names.
namespace index_types {
inline constexpr std::string_view kValue = "value";
inline constexpr std::string_view kCount = "count";
inline constexpr std::string_view kCountUpdates = "count_updates";
inline constexpr std::string_view kCountNotNull = "count_not_null";
inline constexpr std::string_view kSum = "sum";
inline constexpr std::string_view kMinEver = "min_ever";
inline constexpr std::string_view kMaxEver = "max_ever";
inline constexpr std::string_view kVersion = "version";
inline constexpr std::string_view kRank = "rank";
inline constexpr std::string_view kText = "text";
}  // namespace index_types

// Option names with a meaning for every index type.
namespace index_options {
// "true" makes a value or version index refuse two records with the same key; "false" or
// absent allows them.
inline constexpr std::string_view kUnique = "unique";
}  // namespace index_options

class Index {
 public:
  // The index a proto describes, with its root expression parsed but not yet validated
  // against record types (RecordMetaData does that). Fails with kInvalidArgument for an
  // empty name, a malformed root expression or a "unique" option other than "true"/"false".
  static StatusOr<Index> FromProto(const proto::Index& proto);

  const std::string& name() const { return name_; }
  const std::string& type() const { return type_; }
  const KeyExpression& root() const { return *root_; }
  // The record type names it applies to; empty means every record type.
  const std::vector<std::string>& record_types() const { return record_types_; }
  bool AppliesTo(std::string_view record_type) const;
  bool unique() const { return unique_; }
  const std::map<std::string, std::string, std::less<>>& options() const { return options_; }
  // The option's value, or nullopt when it is not set.
  std::optional<std::string_view> option(std::string_view name) const;
  int added_version() const { return added_version_; }
  int last_modified_version() const { return last_modified_version_; }

  proto::Index ToProto() const;

 private:
  Index() = default;

  std::string name_;
  std::string type_;
  std::unique_ptr<KeyExpression> root_;
  std::vector<std::string> record_types_;
  std::map<std::string, std::string, std::less<>> options_;
  bool unique_ = false;
  int added_version_ = 0;
  int last_modified_version_ = 0;
};

// An index that was removed at `removed_version`; it had been added at `added_version`.
struct FormerIndex {
  std::string name;
  int removed_version = 0;
  int added_version = 0;
};

}  // namespace recordstore::metadata

#endif  // RECORDSTORE_METADATA_INDEX_H_
