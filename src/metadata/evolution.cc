#include "metadata/evolution.h"

#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/message_differencer.h"

namespace recordstore::metadata {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::util::MessageDifferencer;

std::string_view LabelName(const FieldDescriptor& field) {
  switch (field.label()) {
    case FieldDescriptor::LABEL_OPTIONAL:
      return "optional";
    case FieldDescriptor::LABEL_REQUIRED:
      return "required";
    case FieldDescriptor::LABEL_REPEATED:
      return "repeated";
  }
  return "unknown";
}

std::string TypeName(const FieldDescriptor& field) {
  if (field.type() == FieldDescriptor::TYPE_MESSAGE ||
      field.type() == FieldDescriptor::TYPE_GROUP) {
    return field.message_type()->full_name();
  }
  if (field.type() == FieldDescriptor::TYPE_ENUM) return field.enum_type()->full_name();
  return field.type_name();
}

bool IsAllowedWidening(FieldDescriptor::Type from, FieldDescriptor::Type to) {
  return (from == FieldDescriptor::TYPE_INT32 && to == FieldDescriptor::TYPE_INT64) ||
         (from == FieldDescriptor::TYPE_SINT32 && to == FieldDescriptor::TYPE_SINT64) ||
         (from == FieldDescriptor::TYPE_UINT32 && to == FieldDescriptor::TYPE_UINT64);
}

bool IsMessage(const FieldDescriptor& field) {
  return field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
}

class Validator {
 public:
  Validator(const RecordMetaData& old_metadata, const RecordMetaData& new_metadata)
      : old_(old_metadata), new_(new_metadata) {}

  EvolutionReport Run() && {
    if (!CheckVersion()) return std::move(report_);
    CheckRecordTypes();
    CheckIndexes();
    return std::move(report_);
  }

 private:
  void Add(EvolutionRule rule, std::string message) {
    report_.violations.push_back(EvolutionViolation{rule, std::move(message)});
  }

  // False when the metadata are identical, so that nothing else needs checking.
  bool CheckVersion() {
    const int old_version = old_.version();
    const int new_version = new_.version();
    if (new_version > old_version) return true;
    if (new_version < old_version) {
      Add(EvolutionRule::kVersionNotIncreased,
          absl::StrCat("metadata version went down from ", old_version, " to ", new_version));
      return true;
    }
    if (MessageDifferencer::Equals(old_.ToProto(), new_.ToProto())) return false;
    Add(EvolutionRule::kVersionNotIncreased,
        absl::StrCat("metadata changed but its version stayed ", old_version));
    return true;
  }

  void CheckRecordTypes() {
    for (const RecordType& old_type : old_.record_types()) {
      const RecordType* new_type = new_.FindRecordType(old_type.name());
      if (new_type == nullptr) {
        Add(EvolutionRule::kRecordTypeRemoved,
            absl::StrCat("record type ", old_type.name(), " was removed"));
        continue;
      }
      if (old_type.record_type_key() != new_type->record_type_key()) {
        Add(EvolutionRule::kRecordTypeKeyChanged,
            absl::StrCat("record type ", old_type.name(), " changed record type key from ",
                         old_type.record_type_key().ToString(), " to ",
                         new_type->record_type_key().ToString()));
      }
      if (!(old_type.primary_key() == new_type->primary_key())) {
        Add(EvolutionRule::kPrimaryKeyChanged,
            absl::StrCat("record type ", old_type.name(), " changed primary key from ",
                         old_type.primary_key().ToString(), " to ",
                         new_type->primary_key().ToString()));
      }
      CompareMessages(old_type.descriptor(), new_type->descriptor());
    }
  }

  // Compares the fields of two versions of one message type, then of the message types its
  // fields hold; each pair once, so recursive types terminate.
  void CompareMessages(const Descriptor& old_message, const Descriptor& new_message) {
    if (!compared_.emplace(old_message.full_name(), new_message.full_name()).second) return;
    const std::string& type = old_message.name();
    for (int i = 0; i < old_message.field_count(); ++i) {
      const FieldDescriptor& old_field = *old_message.field(i);
      const std::string label =
          absl::StrCat("field ", type, ".", old_field.name(), " (", old_field.number(), ")");
      const FieldDescriptor* new_field = new_message.FindFieldByNumber(old_field.number());
      if (new_field == nullptr) {
        const FieldDescriptor* moved = new_message.FindFieldByName(old_field.name());
        if (moved != nullptr) {
          Add(EvolutionRule::kFieldRenumbered,
              absl::StrCat("field ", type, ".", old_field.name(), " changed number from ",
                           old_field.number(), " to ", moved->number()));
        } else {
          Add(EvolutionRule::kFieldRemoved, absl::StrCat(label, " was removed"));
        }
        continue;
      }
      if (new_field->name() != old_field.name()) {
        Add(EvolutionRule::kFieldRenamed,
            absl::StrCat(label, " was renamed to ", new_field->name()));
      }
      if (new_field->label() != old_field.label()) {
        Add(EvolutionRule::kFieldLabelChanged,
            absl::StrCat(label, " changed label from ", std::string(LabelName(old_field)), " to ",
                         std::string(LabelName(*new_field))));
      }
      if (IsMessage(old_field) && IsMessage(*new_field)) {
        CompareMessages(*old_field.message_type(), *new_field->message_type());
      } else if (new_field->type() != old_field.type() &&
                 !IsAllowedWidening(old_field.type(), new_field->type())) {
        Add(EvolutionRule::kFieldTypeChanged,
            absl::StrCat(label, " changed type from ", TypeName(old_field), " to ",
                         TypeName(*new_field)));
      }
    }
    for (int i = 0; i < new_message.field_count(); ++i) {
      const FieldDescriptor& new_field = *new_message.field(i);
      if (new_field.is_required() && old_message.FindFieldByNumber(new_field.number()) == nullptr) {
        Add(EvolutionRule::kRequiredFieldAdded,
            absl::StrCat("field ", new_message.name(), ".", new_field.name(), " (",
                         new_field.number(), ") is new and required"));
      }
    }
  }

  static bool SameDefinition(const Index& a, const Index& b) {
    proto::Index a_proto = a.ToProto();
    proto::Index b_proto = b.ToProto();
    a_proto.clear_last_modified_version();
    b_proto.clear_last_modified_version();
    return MessageDifferencer::Equals(a_proto, b_proto);
  }

  void CheckIndexes() {
    const int old_version = old_.version();
    for (const Index& old_index : old_.indexes()) {
      if (new_.FindIndex(old_index.name()) != nullptr) continue;
      const FormerIndex* former = FindFormer(new_, old_index.name());
      if (former == nullptr) {
        Add(EvolutionRule::kIndexRemovedWithoutFormerIndex,
            absl::StrCat("index ", old_index.name(), " was removed without a former index"));
        continue;
      }
      if (former->removed_version <= old_version) {
        Add(EvolutionRule::kFormerIndexMismatch,
            absl::StrCat("former index ", former->name, " has removed_version ",
                         former->removed_version, ", not above the old metadata version ",
                         old_version));
      }
      if (former->added_version != old_index.added_version()) {
        Add(EvolutionRule::kFormerIndexMismatch,
            absl::StrCat("former index ", former->name, " has added_version ",
                         former->added_version, " but the index was added at version ",
                         old_index.added_version()));
      }
    }
    for (const Index& new_index : new_.indexes()) {
      const Index* old_index = old_.FindIndex(new_index.name());
      if (old_index == nullptr) {
        if (new_index.added_version() <= old_version) {
          Add(EvolutionRule::kIndexAddedWithOldVersion,
              absl::StrCat("index ", new_index.name(), " is new but its added_version ",
                           new_index.added_version(), " is not above the old metadata version ",
                           old_version));
        }
        continue;
      }
      if (!SameDefinition(*old_index, new_index) &&
          new_index.last_modified_version() <= old_version) {
        Add(EvolutionRule::kIndexChangedWithOldVersion,
            absl::StrCat("index ", new_index.name(), " changed but its last_modified_version ",
                         new_index.last_modified_version(),
                         " is not above the old metadata version ", old_version));
      }
    }
    for (const FormerIndex& old_former : old_.former_indexes()) {
      if (FindFormer(new_, old_former.name) == nullptr) {
        Add(EvolutionRule::kFormerIndexDropped,
            absl::StrCat("former index ", old_former.name, " was dropped"));
      }
    }
  }

  static const FormerIndex* FindFormer(const RecordMetaData& metadata, std::string_view name) {
    for (const FormerIndex& former : metadata.former_indexes()) {
      if (former.name == name) return &former;
    }
    return nullptr;
  }

  const RecordMetaData& old_;
  const RecordMetaData& new_;
  std::set<std::pair<std::string, std::string>> compared_;
  EvolutionReport report_;
};

}  // namespace

std::string_view EvolutionRuleName(EvolutionRule rule) {
  switch (rule) {
    case EvolutionRule::kVersionNotIncreased:
      return "version_not_increased";
    case EvolutionRule::kRecordTypeRemoved:
      return "record_type_removed";
    case EvolutionRule::kRecordTypeKeyChanged:
      return "record_type_key_changed";
    case EvolutionRule::kPrimaryKeyChanged:
      return "primary_key_changed";
    case EvolutionRule::kFieldRemoved:
      return "field_removed";
    case EvolutionRule::kFieldRenumbered:
      return "field_renumbered";
    case EvolutionRule::kFieldRenamed:
      return "field_renamed";
    case EvolutionRule::kFieldTypeChanged:
      return "field_type_changed";
    case EvolutionRule::kFieldLabelChanged:
      return "field_label_changed";
    case EvolutionRule::kRequiredFieldAdded:
      return "required_field_added";
    case EvolutionRule::kIndexAddedWithOldVersion:
      return "index_added_with_old_version";
    case EvolutionRule::kIndexChangedWithOldVersion:
      return "index_changed_with_old_version";
    case EvolutionRule::kIndexRemovedWithoutFormerIndex:
      return "index_removed_without_former_index";
    case EvolutionRule::kFormerIndexMismatch:
      return "former_index_mismatch";
    case EvolutionRule::kFormerIndexDropped:
      return "former_index_dropped";
  }
  return "unknown";
}

Status EvolutionReport::ToStatus() const {
  if (ok()) return Status();
  return MakeError(
      ErrorCode::kInvalidArgument,
      absl::StrCat("metadata evolution refused: ",
                   absl::StrJoin(violations, "; ",
                                 [](std::string* out, const EvolutionViolation& violation) {
                                   out->append(violation.message);
                                 })));
}

EvolutionReport ValidateEvolution(const RecordMetaData& old_metadata,
                                  const RecordMetaData& new_metadata) {
  return Validator(old_metadata, new_metadata).Run();
}

}  // namespace recordstore::metadata
