#include "metadata/index.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "metadata/errors.h"

namespace recordstore::metadata {

StatusOr<Index> Index::FromProto(const proto::Index& proto) {
  if (proto.name().empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "an index has no name");
  }
  Index index;
  index.name_ = proto.name();
  index.type_ = proto.type();
  StatusOr<std::unique_ptr<KeyExpression>> root = KeyExpression::FromProto(proto.root());
  if (!root.ok()) {
    return WithContext(absl::StrCat("index ", proto.name()), root.status());
  }
  index.root_ = *std::move(root);
  index.record_types_.assign(proto.record_types().begin(), proto.record_types().end());
  index.options_.insert(proto.options().begin(), proto.options().end());
  if (std::optional<std::string_view> unique = index.option(index_options::kUnique)) {
    if (*unique != "true" && *unique != "false") {
      return MakeError(ErrorCode::kInvalidArgument,
                       absl::StrCat("index ", proto.name(), " has option unique=\"",
                                    std::string(*unique), "\"; it must be \"true\" or \"false\""));
    }
    index.unique_ = *unique == "true";
  }
  index.added_version_ = proto.added_version();
  index.last_modified_version_ = proto.last_modified_version();
  return index;
}

bool Index::AppliesTo(std::string_view record_type) const {
  return record_types_.empty() ||
         std::find(record_types_.begin(), record_types_.end(), record_type) != record_types_.end();
}

std::optional<std::string_view> Index::option(std::string_view name) const {
  auto it = options_.find(name);
  if (it == options_.end()) return std::nullopt;
  return it->second;
}

proto::Index Index::ToProto() const {
  proto::Index result;
  result.set_name(name_);
  result.set_type(type_);
  *result.mutable_root() = root_->ToProto();
  for (const std::string& type : record_types_) result.add_record_types(type);
  result.mutable_options()->insert(options_.begin(), options_.end());
  result.set_added_version(added_version_);
  result.set_last_modified_version(last_modified_version_);
  return result;
}

}  // namespace recordstore::metadata
