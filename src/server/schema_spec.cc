#include "server/schema_spec.h"

#include <map>
#include <set>

#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "google/protobuf/util/message_differencer.h"
#include "metadata/index.h"
#include "metadata/proto_source.h"

namespace recordstore::server {
namespace {

namespace key = metadata::key;
using metadata::FanType;

Status Invalid(std::string message) { return MakeError(ErrorCode::kInvalidArgument, message); }

bool ValidName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return !std::isdigit(static_cast<unsigned char>(name[0]));
}

// One path: parts separated by '.', each a field name optionally followed by "[]".
StatusOr<std::unique_ptr<metadata::KeyExpression>> ExpressionOfPath(const std::string& path) {
  if (path == "$record_type") return key::RecordTypeKey();
  if (path == "$version") return key::Version();
  std::vector<std::string> parts = absl::StrSplit(path, '.');
  std::unique_ptr<metadata::KeyExpression> expression;
  for (size_t i = parts.size(); i-- > 0;) {
    std::string name = parts[i];
    FanType fan = FanType::kScalar;
    if (name.size() > 2 && name.ends_with("[]")) {
      name.resize(name.size() - 2);
      fan = FanType::kFanOut;
    }
    if (!ValidName(name)) {
      return Invalid("field path \"" + path + "\": \"" + parts[i] +
                     "\" is not a field name (letters, digits, _; [] after a repeated field)");
    }
    expression =
        expression == nullptr ? key::Field(name, fan) : key::Nest(name, std::move(expression), fan);
  }
  return expression;
}

bool SameIndex(const metadata::proto::Index& a, const metadata::proto::Index& b) {
  metadata::proto::Index a_copy = a;
  metadata::proto::Index b_copy = b;
  for (auto* index : {&a_copy, &b_copy}) {
    index->clear_added_version();
    index->clear_last_modified_version();
  }
  return google::protobuf::util::MessageDifferencer::Equals(a_copy, b_copy);
}

}  // namespace

StatusOr<std::unique_ptr<metadata::KeyExpression>> ExpressionOfPaths(
    const std::vector<std::string>& paths) {
  if (paths.empty()) return key::Empty();
  std::vector<std::unique_ptr<metadata::KeyExpression>> columns;
  for (const std::string& path : paths) {
    ASSIGN_OR_RETURN(std::unique_ptr<metadata::KeyExpression> column, ExpressionOfPath(path));
    columns.push_back(std::move(column));
  }
  if (columns.size() == 1) return std::move(columns[0]);
  return key::Concat(std::move(columns));
}

StatusOr<SchemaChange> BuildSchemaChange(const v1::SchemaSpec& spec,
                                         const metadata::proto::RecordMetaData* current) {
  SchemaChange change;
  metadata::proto::RecordMetaData& proto = change.metadata;
  if (!spec.proto_files().empty() && spec.descriptor_set().file_size() > 0) {
    return Invalid("give the schema as proto_files or as descriptor_set, not both");
  }
  if (!spec.proto_files().empty()) {
    std::map<std::string, std::string> sources(spec.proto_files().begin(),
                                               spec.proto_files().end());
    ASSIGN_OR_RETURN(*proto.mutable_files(), metadata::ParseProtoFiles(sources));
  } else if (spec.descriptor_set().file_size() > 0) {
    *proto.mutable_files() = spec.descriptor_set();
  } else {
    return Invalid("the schema has no .proto files and no descriptor set");
  }
  proto.set_union_name(spec.union_name());
  if (spec.record_types().empty()) return Invalid("the schema has no record types");
  for (const v1::RecordTypeSpec& type : spec.record_types()) {
    if (type.primary_key().empty()) {
      return Invalid("record type " + type.name() + " has no primary key fields");
    }
    metadata::proto::RecordType* out = proto.add_record_types();
    out->set_name(type.name());
    std::vector<std::string> paths = {"$record_type"};
    paths.insert(paths.end(), type.primary_key().begin(), type.primary_key().end());
    ASSIGN_OR_RETURN(std::unique_ptr<metadata::KeyExpression> primary, ExpressionOfPaths(paths));
    *out->mutable_primary_key() = primary->ToProto();
  }

  const int version = current == nullptr ? 1 : current->version() + 1;
  proto.set_version(version);
  std::map<std::string, const metadata::proto::Index*> old_indexes;
  if (current != nullptr) {
    for (const metadata::proto::Index& index : current->indexes())
      old_indexes[index.name()] = &index;
    *proto.mutable_former_indexes() = current->former_indexes();
  }
  std::set<std::string> names;
  for (const v1::IndexSpec& spec_index : spec.indexes()) {
    if (!names.insert(spec_index.name()).second) {
      return Invalid("index " + spec_index.name() + " is defined twice");
    }
    metadata::proto::Index index;
    index.set_name(spec_index.name());
    const std::string type = spec_index.type().empty() ? "value" : spec_index.type();
    // The types the server has maintainers for (metadata also knows rank and text, which
    // would only fail later, as unimplemented, when the store opens).
    static const std::set<std::string, std::less<>> kServedTypes = {
        std::string(metadata::index_types::kValue),
        std::string(metadata::index_types::kVersion),
        std::string(metadata::index_types::kCount),
        std::string(metadata::index_types::kCountUpdates),
        std::string(metadata::index_types::kCountNotNull),
        std::string(metadata::index_types::kSum),
        std::string(metadata::index_types::kMinEver),
        std::string(metadata::index_types::kMaxEver)};
    if (!kServedTypes.contains(type)) {
      return Invalid("index " + spec_index.name() + " has type \"" + type +
                     "\"; the types are value, version, count, count_updates, "
                     "count_not_null, sum, min_ever, max_ever");
    }
    index.set_type(type);
    std::vector<std::string> fields(spec_index.fields().begin(), spec_index.fields().end());
    ASSIGN_OR_RETURN(std::unique_ptr<metadata::KeyExpression> root, ExpressionOfPaths(fields));
    if (!spec_index.value_fields().empty()) {
      if (type != metadata::index_types::kValue) {
        return Invalid("index " + spec_index.name() + ": only value indexes have value_fields");
      }
      std::vector<std::string> all = fields;
      all.insert(all.end(), spec_index.value_fields().begin(), spec_index.value_fields().end());
      ASSIGN_OR_RETURN(std::unique_ptr<metadata::KeyExpression> inner, ExpressionOfPaths(all));
      root = key::KeyWithValue(std::move(inner), static_cast<int>(fields.size()));
    } else if (type != metadata::index_types::kValue && type != metadata::index_types::kVersion) {
      const bool counts_records =
          type == metadata::index_types::kCount || type == metadata::index_types::kCountUpdates;
      if (!counts_records && fields.empty()) {
        return Invalid("index " + spec_index.name() + " of type " + type +
                       " needs the field it aggregates (the last of its fields)");
      }
      root = key::Grouping(std::move(root), counts_records ? 0 : 1);
    }
    *index.mutable_root() = root->ToProto();
    *index.mutable_record_types() = spec_index.record_types();
    if (spec_index.unique()) (*index.mutable_options())["unique"] = "true";
    auto old = old_indexes.find(index.name());
    if (old == old_indexes.end()) {
      index.set_added_version(version);
      index.set_last_modified_version(version);
      change.changed_indexes.push_back(index.name());
    } else if (SameIndex(*old->second, index)) {
      index.set_added_version(old->second->added_version());
      index.set_last_modified_version(old->second->last_modified_version());
    } else {
      index.set_added_version(old->second->added_version());
      index.set_last_modified_version(version);
      change.changed_indexes.push_back(index.name());
    }
    *proto.add_indexes() = std::move(index);
  }
  for (const auto& [name, old] : old_indexes) {
    if (names.contains(name)) continue;
    metadata::proto::FormerIndex* former = proto.add_former_indexes();
    former->set_name(name);
    former->set_added_version(old->added_version());
    former->set_removed_version(version);
    change.dropped_indexes.push_back(name);
  }
  if (current != nullptr) {
    metadata::proto::RecordMetaData same_version = proto;
    same_version.set_version(current->version());
    change.unchanged = google::protobuf::util::MessageDifferencer::Equals(same_version, *current);
    if (change.unchanged) proto = *current;
  }
  return change;
}

}  // namespace recordstore::server
