#include "metadata/record_metadata.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "metadata/errors.h"

namespace recordstore::metadata {
namespace {

// True when `type` or a message type reachable through its fields declares a required field.
bool HasRequiredFields(const google::protobuf::Descriptor* type,
                       std::set<const google::protobuf::Descriptor*>& visited) {
  if (!visited.insert(type).second) return false;
  for (int i = 0; i < type->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = type->field(i);
    if (field->is_required()) return true;
    if (field->message_type() != nullptr && HasRequiredFields(field->message_type(), visited)) {
      return true;
    }
  }
  return false;
}

// Whether the first column of `expression` is the record type key.
bool StartsWithRecordTypeKey(const KeyExpression& expression) {
  if (expression.kind() == KeyExpression::Kind::kRecordTypeKey) return true;
  if (expression.kind() != KeyExpression::Kind::kThen) return false;
  const auto& children = static_cast<const ThenKeyExpression&>(expression).children();
  return !children.empty() && StartsWithRecordTypeKey(*children.front());
}

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;
using google::protobuf::FileDescriptorProto;

Status Invalid(std::string_view detail) { return MakeError(ErrorCode::kInvalidArgument, detail); }

class PoolErrors : public DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name,
                const google::protobuf::Message* descriptor, ErrorLocation location,
                const std::string& message) override {
    errors_.push_back(absl::StrCat(filename, ": ", element_name, ": ", message));
  }
  std::string Joined() const { return absl::StrJoin(errors_, "; "); }

 private:
  std::vector<std::string> errors_;
};

// Builds the files of `set` into `pool`, each after its imports, whatever their order in the
// set. An import missing from the set is taken from the protobuf library when it is a
// well-known file (google/protobuf/...) the library carries.
class PoolBuilder {
 public:
  PoolBuilder(const google::protobuf::FileDescriptorSet& set, DescriptorPool& pool) : pool_(pool) {
    for (const FileDescriptorProto& file : set.file()) {
      if (!files_.emplace(file.name(), &file).second) {
        duplicate_ = file.name();
      }
    }
  }

  Status BuildAll() {
    if (!duplicate_.empty()) {
      return Invalid(absl::StrCat("file ", duplicate_, " appears twice in the descriptor set"));
    }
    for (const auto& [name, file] : files_) RETURN_IF_ERROR(Build(name, ""));
    return Status();
  }

 private:
  Status Build(const std::string& name, const std::string& importer) {
    if (done_.contains(name)) return Status();
    if (!in_progress_.insert(name).second) {
      return Invalid(
          absl::StrCat("import cycle: ", importer, " imports ", name, ", which imports it back"));
    }
    const FileDescriptorProto* file = nullptr;
    FileDescriptorProto well_known;
    if (auto it = files_.find(name); it != files_.end()) {
      file = it->second;
    } else if (const FileDescriptor* library =
                   name.starts_with("google/protobuf/")
                       ? DescriptorPool::generated_pool()->FindFileByName(name)
                       : nullptr) {
      library->CopyTo(&well_known);
      file = &well_known;
    } else {
      return Invalid(absl::StrCat("file ", importer, " imports ", name,
                                  ", which is not in the descriptor set"));
    }
    for (const std::string& dependency : file->dependency()) {
      RETURN_IF_ERROR(Build(dependency, name));
    }
    PoolErrors errors;
    if (pool_.BuildFileCollectingErrors(*file, &errors) == nullptr) {
      return Invalid(errors.Joined());
    }
    in_progress_.erase(name);
    done_.insert(name);
    return Status();
  }

  DescriptorPool& pool_;
  std::map<std::string, const FileDescriptorProto*> files_;
  std::string duplicate_;
  std::set<std::string> in_progress_;
  std::set<std::string> done_;
};

bool IsKnownIndexType(std::string_view type) {
  for (std::string_view known :
       {index_types::kValue, index_types::kCount, index_types::kCountUpdates,
        index_types::kCountNotNull, index_types::kSum, index_types::kMinEver, index_types::kMaxEver,
        index_types::kVersion, index_types::kRank, index_types::kText}) {
    if (type == known) return true;
  }
  return false;
}

// The rules an index type puts on its root expression (listed in record_metadata.h), checked
// on the shape the root has on one record type.
Status ValidateIndexShape(const Index& index, const ExpressionShape& shape) {
  const std::string& type = index.type();
  const std::string label = absl::StrCat("index ", index.name(), " of type ", type);
  const auto* grouping = index.root().kind() == KeyExpression::Kind::kGrouping
                             ? static_cast<const GroupingKeyExpression*>(&index.root())
                             : nullptr;
  const bool aggregate = type == index_types::kCount || type == index_types::kCountUpdates ||
                         type == index_types::kCountNotNull || type == index_types::kSum ||
                         type == index_types::kMinEver || type == index_types::kMaxEver ||
                         type == index_types::kRank;
  if (aggregate && grouping == nullptr) {
    return Invalid(
        absl::StrCat(label, " needs a grouping root expression, not ", index.root().ToString()));
  }
  if (type == index_types::kCount || type == index_types::kCountUpdates) {
    if (grouping->grouped_count() != 0) {
      return Invalid(absl::StrCat(label, " aggregates no column; its grouped count must be 0, not ",
                                  grouping->grouped_count()));
    }
  } else if (type == index_types::kSum) {
    if (grouping->grouped_count() != 1) {
      return Invalid(absl::StrCat(label, " needs exactly one grouped column, not ",
                                  grouping->grouped_count()));
    }
    const ColumnKind summed = shape.columns.back();
    if (summed != ColumnKind::kInteger) {
      return Invalid(absl::StrCat(label, " sums a ", std::string(ColumnKindName(summed)),
                                  " column; it needs an integer"));
    }
  } else if (aggregate && grouping->grouped_count() < 1) {
    return Invalid(absl::StrCat(label, " needs at least one grouped column"));
  }
  if (type == index_types::kVersion && !shape.uses_version) {
    return Invalid(absl::StrCat(label, " has no version() column"));
  }
  if (type != index_types::kVersion && shape.uses_version) {
    return Invalid(absl::StrCat(label, " uses version(); only version indexes may"));
  }
  if (type == index_types::kText) {
    const size_t text_column = grouping == nullptr ? 0 : grouping->grouping_count();
    if (text_column >= shape.columns.size() || shape.columns[text_column] != ColumnKind::kString) {
      return Invalid(
          absl::StrCat(label, " needs a string column to tokenize at position ", text_column + 1));
    }
  }
  if (index.unique() && type != index_types::kValue && type != index_types::kVersion) {
    return Invalid(absl::StrCat(label, " cannot be unique"));
  }
  return Status();
}

}  // namespace

StatusOr<RecordMetaData> RecordMetaData::Build(const proto::RecordMetaData& proto) {
  RecordMetaData metadata;
  metadata.proto_ = proto;
  metadata.pool_ = std::make_unique<DescriptorPool>();
  RETURN_IF_ERROR(PoolBuilder(proto.files(), *metadata.pool_).BuildAll());
  metadata.factory_ =
      std::make_unique<google::protobuf::DynamicMessageFactory>(metadata.pool_.get());
  RETURN_IF_ERROR(metadata.BuildRecordTypes());
  RETURN_IF_ERROR(metadata.BuildIndexes());
  return metadata;
}

Status RecordMetaData::BuildRecordTypes() {
  const std::string union_name =
      proto_.union_name().empty() ? std::string(kDefaultUnionName) : proto_.union_name();
  if (union_name.find('.') != std::string::npos) {
    union_descriptor_ = pool_->FindMessageTypeByName(union_name);
  } else {
    std::vector<std::string> candidates;
    for (const FileDescriptorProto& file_proto : proto_.files().file()) {
      const FileDescriptor* file = pool_->FindFileByName(file_proto.name());
      for (int i = 0; i < file->message_type_count(); ++i) {
        if (file->message_type(i)->name() == union_name) {
          union_descriptor_ = file->message_type(i);
          candidates.push_back(union_descriptor_->full_name());
        }
      }
    }
    if (candidates.size() > 1) {
      return Invalid(absl::StrCat("union message name ", union_name,
                                  " is ambiguous: ", absl::StrJoin(candidates, ", ")));
    }
  }
  if (union_descriptor_ == nullptr) {
    return Invalid(absl::StrCat("union message ", union_name, " is not in the descriptor set"));
  }

  std::map<std::string, const proto::RecordType*> definitions;
  for (const proto::RecordType& definition : proto_.record_types()) {
    if (!definitions.emplace(definition.name(), &definition).second) {
      return Invalid(absl::StrCat("record type ", definition.name(), " is defined twice"));
    }
  }
  std::map<std::string, int> union_numbers;  // record type name -> union field number
  for (int i = 0; i < union_descriptor_->field_count(); ++i) {
    const FieldDescriptor* field = union_descriptor_->field(i);
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || field->is_repeated()) {
      return Invalid(absl::StrCat("union field ", union_descriptor_->name(), ".", field->name(),
                                  " (", field->number(), ") is not a singular message field"));
    }
    const Descriptor* type = field->message_type();
    auto [it, inserted] = union_numbers.emplace(type->name(), field->number());
    if (!inserted) {
      return Invalid(absl::StrCat("record type ", type->name(), " appears twice in union ",
                                  union_descriptor_->name(), " (fields ", it->second, " and ",
                                  field->number(), ")"));
    }
    auto definition = definitions.find(type->name());
    if (definition == definitions.end() || !definition->second->has_primary_key()) {
      return Invalid(absl::StrCat("record type ", type->name(), " has no primary key"));
    }
    const proto::RecordType& def = *definition->second;
    RecordType record_type;
    record_type.name_ = type->name();
    record_type.descriptor_ = type;
    record_type.union_field_number_ = field->number();
    std::set<const google::protobuf::Descriptor*> visited;
    record_type.may_miss_required_fields_ = HasRequiredFields(type, visited);
    const std::string context = absl::StrCat("primary key of ", type->name());
    StatusOr<std::unique_ptr<KeyExpression>> primary_key =
        KeyExpression::FromProto(def.primary_key());
    if (!primary_key.ok()) return WithContext(context, primary_key.status());
    record_type.primary_key_ = *std::move(primary_key);
    StatusOr<ExpressionShape> shape = record_type.primary_key_->Validate(*type);
    if (!shape.ok()) return WithContext(context, shape.status());
    if (shape->fans_out) {
      return Invalid(absl::StrCat(context, " (", record_type.primary_key_->ToString(),
                                  ") fans out over a repeated field"));
    }
    if (shape->uses_version) {
      return Invalid(absl::StrCat(context, " (", record_type.primary_key_->ToString(),
                                  ") uses the record version"));
    }
    switch (def.explicit_record_type_key_case()) {
      case proto::RecordType::kRecordTypeKeyInt:
        record_type.record_type_key_ = def.record_type_key_int();
        record_type.explicit_record_type_key_ = true;
        break;
      case proto::RecordType::kRecordTypeKeyString:
        record_type.record_type_key_ = def.record_type_key_string();
        record_type.explicit_record_type_key_ = true;
        break;
      case proto::RecordType::EXPLICIT_RECORD_TYPE_KEY_NOT_SET:
        record_type.record_type_key_ = field->number();
        break;
    }
    for (const RecordType& other : record_types_) {
      if (other.record_type_key_ == record_type.record_type_key_) {
        return Invalid(absl::StrCat("record types ", other.name_, " and ", record_type.name_,
                                    " share record type key ",
                                    record_type.record_type_key_.ToString()));
      }
    }
    record_types_.push_back(std::move(record_type));
  }
  // Records live under (pk..., suffix), and a record owns every key under its primary key:
  // a primary key that is a proper prefix of another type's would swallow its records.
  // Only primary keys of different lengths can be, so those must start with the record type
  // key, which tells the types apart in the first column.
  for (const RecordType& a : record_types_) {
    for (const RecordType& b : record_types_) {
      if (a.primary_key_->ColumnSize() < b.primary_key_->ColumnSize() &&
          !(StartsWithRecordTypeKey(*a.primary_key_) &&
            StartsWithRecordTypeKey(*b.primary_key_))) {
        return Invalid(absl::StrCat(
            "primary keys of ", a.name_, " (", a.primary_key_->ToString(), ") and ", b.name_,
            " (", b.primary_key_->ToString(),
            ") differ in length, so one could be a prefix of the other: both must start with "
            "record_type_key()"));
      }
    }
  }
  for (const auto& [name, definition] : definitions) {
    if (!union_numbers.contains(name)) {
      return Invalid(absl::StrCat("record type ", name, " is not a field of union ",
                                  union_descriptor_->name()));
    }
  }
  return Status();
}

Status RecordMetaData::BuildIndexes() {
  const int version = proto_.version();
  std::map<std::string, const FormerIndex*> former_by_name;
  for (const proto::FormerIndex& former : proto_.former_indexes()) {
    former_indexes_.push_back(
        FormerIndex{former.name(), former.removed_version(), former.added_version()});
  }
  for (const FormerIndex& former : former_indexes_) {
    if (!former_by_name.emplace(former.name, &former).second) {
      return Invalid(absl::StrCat("former index ", former.name, " is listed twice"));
    }
    if (former.removed_version > version) {
      return Invalid(absl::StrCat("former index ", former.name, " has removed_version ",
                                  former.removed_version, " above metadata version ", version));
    }
    if (former.added_version > former.removed_version) {
      return Invalid(absl::StrCat("former index ", former.name, " has added_version ",
                                  former.added_version, " above its removed_version ",
                                  former.removed_version));
    }
  }
  for (const proto::Index& index_proto : proto_.indexes()) {
    ASSIGN_OR_RETURN(Index index, Index::FromProto(index_proto));
    const std::string& name = index.name();
    if (FindIndex(name) != nullptr) {
      return Invalid(absl::StrCat("index name ", name, " is used twice"));
    }
    if (auto former = former_by_name.find(name);
        former != former_by_name.end() &&
        index.added_version() <= former->second->removed_version) {
      return Invalid(absl::StrCat("index ", name, " has added_version ", index.added_version(),
                                  ", not after former index ", name, " removed at version ",
                                  former->second->removed_version));
    }
    if (!IsKnownIndexType(index.type())) {
      return Invalid(absl::StrCat("index ", name, " has unknown type \"", index.type(), "\""));
    }
    if (index.added_version() < 0 || index.added_version() > index.last_modified_version() ||
        index.last_modified_version() > version) {
      return Invalid(absl::StrCat("index ", name, " needs 0 <= added_version (",
                                  index.added_version(), ") <= last_modified_version (",
                                  index.last_modified_version(), ") <= metadata version (", version,
                                  ")"));
    }
    for (const std::string& type_name : index.record_types()) {
      if (FindRecordType(type_name) == nullptr) {
        return Invalid(absl::StrCat("index ", name, " applies to unknown record type ", type_name));
      }
    }
    for (const RecordType& record_type : record_types_) {
      if (!index.AppliesTo(record_type.name())) continue;
      StatusOr<ExpressionShape> shape = index.root().Validate(record_type.descriptor());
      if (!shape.ok()) {
        return WithContext(absl::StrCat("index ", name, " on ", record_type.name()),
                           shape.status());
      }
      RETURN_IF_ERROR(ValidateIndexShape(index, *shape));
    }
    indexes_.push_back(std::move(index));
  }
  return Status();
}

const RecordType* RecordMetaData::FindRecordType(std::string_view name) const {
  for (const RecordType& type : record_types_) {
    if (type.name() == name) return &type;
  }
  return nullptr;
}

const RecordType* RecordMetaData::FindRecordTypeFor(const Descriptor& descriptor) const {
  for (const RecordType& type : record_types_) {
    if (type.descriptor().full_name() == descriptor.full_name()) return &type;
  }
  return nullptr;
}

const Index* RecordMetaData::FindIndex(std::string_view name) const {
  for (const Index& index : indexes_) {
    if (index.name() == name) return &index;
  }
  return nullptr;
}

std::vector<const Index*> RecordMetaData::IndexesFor(const RecordType& record_type) const {
  std::vector<const Index*> result;
  for (const Index& index : indexes_) {
    if (index.AppliesTo(record_type.name())) result.push_back(&index);
  }
  return result;
}

std::unique_ptr<google::protobuf::Message> RecordMetaData::NewRecord(
    const RecordType& record_type) const {
  return std::unique_ptr<google::protobuf::Message>(
      factory_->GetPrototype(&record_type.descriptor())->New());
}

}  // namespace recordstore::metadata
