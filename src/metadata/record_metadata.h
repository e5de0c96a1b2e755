// RecordMetaData: everything a record store needs to know about its records, built from a
// proto::RecordMetaData (metadata.proto) and validated as a whole.
//
// Record types are the message fields of the union message ("RecordTypeUnion" unless the
// proto names another): each union field is one record type, named by its message's simple
// name. Each record type has a primary key expression and a record type key that tells its
// records apart from other types' (the union field number unless set explicitly). Indexes
// apply to some record types or, with none listed, to all.
//
// Build validates, failing with kInvalidArgument and a message naming the type, index or field:
//   * the descriptor set links (imports present, no cycles, no duplicate files);
//   * the union message exists; its fields are singular messages, each type once;
//   * every union type has a definition with a primary key, every definition a union type;
//   * primary keys refer to existing fields, yield exactly one tuple (no fan-out) and do not
//     use the record version;
//   * no two record types share a record type key;
//   * primary keys of different lengths both start with record_type_key() (otherwise one
//     type's primary key could be a prefix of another's, and its record would own the other
//     record's keys);
//   * index names are unique; an index may reuse a former index's name only with an
//     added_version above that former index's removed_version; each index has a known type
//     (index.h), applies to existing record types and has a root expression valid on each of
//     them and fitting its type:
//       count, count_updates: a grouping with grouped count 0;
//       count_not_null, min_ever, max_ever, rank: a grouping with at least one grouped column;
//       sum: a grouping with exactly one grouped column, an integer;
//       version: some column is version(), which no other type may use;
//       text: the first column after the grouping columns (or the first) is a string;
//       unique: only value and version indexes;
//   * versions are consistent: 0 <= added_version <= last_modified_version <= version for
//     indexes, added_version <= removed_version <= version for former indexes.
//
// Thread-safety: immutable after Build; concurrent reads are safe. Movable, not copyable;
// moving keeps every pointer it handed out valid.
#ifndef RECORDSTORE_METADATA_RECORD_METADATA_H_
#define RECORDSTORE_METADATA_RECORD_METADATA_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"
#include "metadata/index.h"
#include "metadata/key_expression.h"
#include "metadata/metadata.pb.h"
#include "recordstore/status.h"
#include "tuple/tuple.h"

namespace recordstore::metadata {

// The default name of the union message.
inline constexpr std::string_view kDefaultUnionName = "RecordTypeUnion";

class RecordType {
 public:
  const std::string& name() const { return name_; }
  // The message type; owned by the RecordMetaData.
  const google::protobuf::Descriptor& descriptor() const { return *descriptor_; }
  const KeyExpression& primary_key() const { return *primary_key_; }
  // An integer (the union field number unless explicit) or a string.
  const TupleElement& record_type_key() const { return record_type_key_; }
  bool has_explicit_record_type_key() const { return explicit_record_type_key_; }
  // The number of this type's field in the union message.
  int union_field_number() const { return union_field_number_; }

  // The context to evaluate this type's key expressions in (its record type key; no version).
  EvaluationContext Context() const { return EvaluationContext{record_type_key_, {}}; }
  // False when neither the message nor any message it can contain has a required field, so
  // that every record of the type is initialized (checking it costs a reflection walk).
  bool may_miss_required_fields() const { return may_miss_required_fields_; }

 private:
  friend class RecordMetaData;

  std::string name_;
  const google::protobuf::Descriptor* descriptor_ = nullptr;
  std::unique_ptr<KeyExpression> primary_key_;
  TupleElement record_type_key_;
  bool explicit_record_type_key_ = false;
  int union_field_number_ = 0;
  bool may_miss_required_fields_ = true;
};

class RecordMetaData {
 public:
  // Validates `proto` (see the file comment) and builds the metadata from a copy of it.
  static StatusOr<RecordMetaData> Build(const proto::RecordMetaData& proto);

  RecordMetaData(RecordMetaData&&) = default;
  RecordMetaData& operator=(RecordMetaData&&) = default;

  int version() const { return proto_.version(); }
  // The proto this was built from, as given (union_name may be empty).
  const proto::RecordMetaData& ToProto() const { return proto_; }

  const google::protobuf::Descriptor& union_descriptor() const { return *union_descriptor_; }
  // In union field order.
  const std::vector<RecordType>& record_types() const { return record_types_; }
  // The record type called `name`, or null.
  const RecordType* FindRecordType(std::string_view name) const;
  // The record type whose message type is `descriptor` (compared by full name, so messages
  // from another pool with the same schema match), or null.
  const RecordType* FindRecordTypeFor(const google::protobuf::Descriptor& descriptor) const;

  // In proto order.
  const std::vector<Index>& indexes() const { return indexes_; }
  // The index called `name`, or null.
  const Index* FindIndex(std::string_view name) const;
  // The indexes that apply to `record_type`, in proto order.
  std::vector<const Index*> IndexesFor(const RecordType& record_type) const;
  const std::vector<FormerIndex>& former_indexes() const { return former_indexes_; }

  // A new, empty message of `record_type`, owned by the caller; it may not outlive this.
  // REQUIRES: record_type belongs to this RecordMetaData.
  std::unique_ptr<google::protobuf::Message> NewRecord(const RecordType& record_type) const;

 private:
  RecordMetaData() = default;

  Status BuildRecordTypes();
  Status BuildIndexes();

  proto::RecordMetaData proto_;
  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
  std::unique_ptr<google::protobuf::DynamicMessageFactory> factory_;
  const google::protobuf::Descriptor* union_descriptor_ = nullptr;
  std::vector<RecordType> record_types_;
  std::vector<Index> indexes_;
  std::vector<FormerIndex> former_indexes_;
};

}  // namespace recordstore::metadata

#endif  // RECORDSTORE_METADATA_RECORD_METADATA_H_
