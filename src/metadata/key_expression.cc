#include "metadata/key_expression.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "google/protobuf/util/message_differencer.h"
#include "metadata/key_function.h"

namespace recordstore::metadata {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

Status Invalid(std::string_view detail) { return MakeError(ErrorCode::kInvalidArgument, detail); }

std::string FieldLabel(const Descriptor& type, const std::string& field) {
  return absl::StrCat("field ", std::string(type.name()), ".", field);
}

StatusOr<ColumnKind> KindOfField(const Descriptor& type, const FieldDescriptor& field) {
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
    case FieldDescriptor::CPPTYPE_ENUM:
      return ColumnKind::kInteger;
    case FieldDescriptor::CPPTYPE_FLOAT:
      return ColumnKind::kFloat;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return ColumnKind::kDouble;
    case FieldDescriptor::CPPTYPE_BOOL:
      return ColumnKind::kBool;
    case FieldDescriptor::CPPTYPE_STRING:
      return field.type() == FieldDescriptor::TYPE_BYTES ? ColumnKind::kBytes : ColumnKind::kString;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return Invalid(absl::StrCat(FieldLabel(type, field.name()),
                              " is a message; nest into it to use its fields"));
}

// The element for one value of a non-message field; `index` < 0 reads a singular field.
TupleElement ReadValue(const Message& message, const FieldDescriptor& field, int index) {
  const Reflection& r = *message.GetReflection();
  const bool repeated = index >= 0;
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return repeated ? r.GetRepeatedInt32(message, &field, index) : r.GetInt32(message, &field);
    case FieldDescriptor::CPPTYPE_INT64:
      return repeated ? r.GetRepeatedInt64(message, &field, index) : r.GetInt64(message, &field);
    case FieldDescriptor::CPPTYPE_UINT32:
      return repeated ? r.GetRepeatedUInt32(message, &field, index) : r.GetUInt32(message, &field);
    case FieldDescriptor::CPPTYPE_UINT64:
      return repeated ? r.GetRepeatedUInt64(message, &field, index) : r.GetUInt64(message, &field);
    case FieldDescriptor::CPPTYPE_ENUM:
      return repeated ? r.GetRepeatedEnumValue(message, &field, index)
                      : r.GetEnumValue(message, &field);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return repeated ? r.GetRepeatedFloat(message, &field, index) : r.GetFloat(message, &field);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return repeated ? r.GetRepeatedDouble(message, &field, index) : r.GetDouble(message, &field);
    case FieldDescriptor::CPPTYPE_BOOL:
      return repeated ? r.GetRepeatedBool(message, &field, index) : r.GetBool(message, &field);
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string value =
          repeated ? r.GetRepeatedString(message, &field, index) : r.GetString(message, &field);
      if (field.type() == FieldDescriptor::TYPE_BYTES) return ByteString{std::move(value)};
      return value;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;  // Validate refuses message-typed columns.
  }
  return TupleElement();
}

std::string_view FanSuffix(FanType fan_type) {
  switch (fan_type) {
    case FanType::kScalar:
      return "";
    case FanType::kFanOut:
      return "[fan-out]";
    case FanType::kConcatenate:
      return "[concatenate]";
  }
  return "";
}

proto::FanType FanTypeToProto(FanType fan_type) {
  switch (fan_type) {
    case FanType::kScalar:
      return proto::FAN_TYPE_SCALAR;
    case FanType::kFanOut:
      return proto::FAN_TYPE_FAN_OUT;
    case FanType::kConcatenate:
      return proto::FAN_TYPE_CONCATENATE;
  }
  return proto::FAN_TYPE_SCALAR;
}

StatusOr<FieldKeyExpression> FieldFromProto(const proto::Field& field) {
  if (field.name().empty()) return Invalid("a field expression has no field name");
  switch (field.fan_type()) {
    case proto::FAN_TYPE_SCALAR:
      return FieldKeyExpression(field.name(), FanType::kScalar);
    case proto::FAN_TYPE_FAN_OUT:
      return FieldKeyExpression(field.name(), FanType::kFanOut);
    case proto::FAN_TYPE_CONCATENATE:
      return FieldKeyExpression(field.name(), FanType::kConcatenate);
    default:
      break;
  }
  return Invalid(absl::StrCat("field ", field.name(), " has unknown fan type ",
                              static_cast<int>(field.fan_type())));
}

// Looks up `field` in `type` and checks it against the fan type.
StatusOr<const FieldDescriptor*> ResolveField(const Descriptor& type,
                                              const FieldKeyExpression& field) {
  const FieldDescriptor* descriptor = type.FindFieldByName(field.name());
  if (descriptor == nullptr) {
    return Invalid(absl::StrCat(FieldLabel(type, field.name()), " does not exist"));
  }
  if (field.fan_type() == FanType::kScalar && descriptor->is_repeated()) {
    return Invalid(absl::StrCat(FieldLabel(type, field.name()),
                                " is repeated; it needs fan-out or concatenate"));
  }
  if (field.fan_type() != FanType::kScalar && !descriptor->is_repeated()) {
    return Invalid(
        absl::StrCat(FieldLabel(type, field.name()), " is not repeated; it cannot ",
                     field.fan_type() == FanType::kFanOut ? "fan out" : "be concatenated"));
  }
  return descriptor;
}

std::vector<Tuple> One(Tuple tuple) {
  std::vector<Tuple> result;
  result.push_back(std::move(tuple));
  return result;
}

}  // namespace

std::string_view ColumnKindName(ColumnKind kind) {
  switch (kind) {
    case ColumnKind::kInteger:
      return "integer";
    case ColumnKind::kFloat:
      return "float";
    case ColumnKind::kDouble:
      return "double";
    case ColumnKind::kBool:
      return "bool";
    case ColumnKind::kString:
      return "string";
    case ColumnKind::kBytes:
      return "bytes";
    case ColumnKind::kTuple:
      return "tuple";
    case ColumnKind::kRecordTypeKey:
      return "record type key";
    case ColumnKind::kVersion:
      return "version";
  }
  return "unknown";
}

StatusOr<std::vector<Tuple>> KeyExpression::Evaluate(const Message& record,
                                                     const EvaluationContext& context) const {
  return EvaluateOn(&record, context);
}

bool operator==(const KeyExpression& a, const KeyExpression& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a.ToProto(), b.ToProto());
}

StatusOr<std::unique_ptr<KeyExpression>> KeyExpression::FromProto(
    const proto::KeyExpression& proto) {
  switch (proto.expression_case()) {
    case proto::KeyExpression::kEmpty:
      return key::Empty();
    case proto::KeyExpression::kField: {
      ASSIGN_OR_RETURN(FieldKeyExpression field, FieldFromProto(proto.field()));
      return std::unique_ptr<KeyExpression>(std::make_unique<FieldKeyExpression>(std::move(field)));
    }
    case proto::KeyExpression::kNest: {
      ASSIGN_OR_RETURN(FieldKeyExpression parent, FieldFromProto(proto.nest().parent()));
      ASSIGN_OR_RETURN(std::unique_ptr<KeyExpression> child, FromProto(proto.nest().child()));
      return std::unique_ptr<KeyExpression>(
          std::make_unique<NestingKeyExpression>(std::move(parent), std::move(child)));
    }
    case proto::KeyExpression::kThen: {
      if (proto.then().children().empty()) {
        return Invalid("a concatenation has no children");
      }
      std::vector<std::unique_ptr<KeyExpression>> children;
      for (const proto::KeyExpression& child : proto.then().children()) {
        ASSIGN_OR_RETURN(std::unique_ptr<KeyExpression> expression, FromProto(child));
        children.push_back(std::move(expression));
      }
      return key::Concat(std::move(children));
    }
    case proto::KeyExpression::kRecordTypeKey:
      return key::RecordTypeKey();
    case proto::KeyExpression::kVersion:
      return key::Version();
    case proto::KeyExpression::kGrouping: {
      ASSIGN_OR_RETURN(std::unique_ptr<KeyExpression> whole, FromProto(proto.grouping().whole()));
      const int count = proto.grouping().grouped_count();
      if (count < 0 || count > whole->ColumnSize()) {
        return Invalid(absl::StrCat("grouped count ", count, " is outside 0..", whole->ColumnSize(),
                                    " for ", whole->ToString()));
      }
      return key::Grouping(std::move(whole), count);
    }
    case proto::KeyExpression::kKeyWithValue: {
      ASSIGN_OR_RETURN(std::unique_ptr<KeyExpression> inner,
                       FromProto(proto.key_with_value().inner()));
      const int split = proto.key_with_value().split_point();
      if (split < 0 || split > inner->ColumnSize()) {
        return Invalid(absl::StrCat("split point ", split, " is outside 0..", inner->ColumnSize(),
                                    " for ", inner->ToString()));
      }
      return key::KeyWithValue(std::move(inner), split);
    }
    case proto::KeyExpression::kFunction: {
      if (proto.function().name().empty()) return Invalid("a function expression has no name");
      ASSIGN_OR_RETURN(std::unique_ptr<KeyExpression> arguments,
                       FromProto(proto.function().arguments()));
      return key::Function(proto.function().name(), std::move(arguments));
    }
    case proto::KeyExpression::EXPRESSION_NOT_SET:
      break;
  }
  return Invalid("a key expression has no kind set");
}

// ---- Empty

StatusOr<ExpressionShape> EmptyKeyExpression::Validate(const Descriptor& type) const {
  return ExpressionShape{};
}

StatusOr<std::vector<Tuple>> EmptyKeyExpression::EvaluateOn(
    const Message* message, const EvaluationContext& context) const {
  return One(Tuple());
}

std::string EmptyKeyExpression::ToString() const { return "empty()"; }

proto::KeyExpression EmptyKeyExpression::ToProto() const {
  proto::KeyExpression result;
  result.mutable_empty();
  return result;
}

// ---- Field

StatusOr<ExpressionShape> FieldKeyExpression::Validate(const Descriptor& type) const {
  ASSIGN_OR_RETURN(const FieldDescriptor* field, ResolveField(type, *this));
  ASSIGN_OR_RETURN(ColumnKind kind, KindOfField(type, *field));
  ExpressionShape shape;
  shape.columns.push_back(fan_type_ == FanType::kConcatenate ? ColumnKind::kTuple : kind);
  shape.fans_out = fan_type_ == FanType::kFanOut;
  return shape;
}

const FieldDescriptor* FieldKeyExpression::FieldIn(const Descriptor& type) const {
  const int hint = field_index_hint_.load(std::memory_order_relaxed);
  if (hint >= 0 && hint < type.field_count() && type.field(hint)->name() == name_) {
    return type.field(hint);
  }
  const FieldDescriptor* field = type.FindFieldByName(name_);
  if (field != nullptr) field_index_hint_.store(field->index(), std::memory_order_relaxed);
  return field;
}

StatusOr<std::vector<Tuple>> FieldKeyExpression::EvaluateOn(
    const Message* message, const EvaluationContext& context) const {
  if (message == nullptr) {
    switch (fan_type_) {
      case FanType::kScalar:
        return One(Tuple().AppendNull());
      case FanType::kFanOut:
        return std::vector<Tuple>();
      case FanType::kConcatenate:
        return One(Tuple().Append(Tuple()));
    }
  }
  const FieldDescriptor& field = *FieldIn(*message->GetDescriptor());
  const Reflection& reflection = *message->GetReflection();
  switch (fan_type_) {
    case FanType::kScalar:
      if (field.has_presence() && !reflection.HasField(*message, &field)) {
        return One(Tuple().AppendNull());
      }
      return One(Tuple().Append(ReadValue(*message, field, -1)));
    case FanType::kFanOut: {
      std::vector<Tuple> result;
      const int size = reflection.FieldSize(*message, &field);
      result.reserve(size);
      for (int i = 0; i < size; ++i)
        result.push_back(Tuple().Append(ReadValue(*message, field, i)));
      return result;
    }
    case FanType::kConcatenate: {
      Tuple all;
      const int size = reflection.FieldSize(*message, &field);
      for (int i = 0; i < size; ++i) all.Append(ReadValue(*message, field, i));
      return One(Tuple().Append(std::move(all)));
    }
  }
  return std::vector<Tuple>();
}

std::string FieldKeyExpression::ToString() const {
  return absl::StrCat(name_, std::string(FanSuffix(fan_type_)));
}

proto::KeyExpression FieldKeyExpression::ToProto() const {
  proto::KeyExpression result;
  result.mutable_field()->set_name(name_);
  result.mutable_field()->set_fan_type(FanTypeToProto(fan_type_));
  return result;
}

// ---- Nest

StatusOr<ExpressionShape> NestingKeyExpression::Validate(const Descriptor& type) const {
  if (parent_.fan_type() == FanType::kConcatenate) {
    return Invalid(absl::StrCat(FieldLabel(type, parent_.name()),
                                " cannot be concatenated when nesting into it"));
  }
  ASSIGN_OR_RETURN(const FieldDescriptor* field, ResolveField(type, parent_));
  if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
    return Invalid(absl::StrCat(FieldLabel(type, parent_.name()),
                                " is not a message; it cannot be nested into"));
  }
  ASSIGN_OR_RETURN(ExpressionShape shape, child_->Validate(*field->message_type()));
  shape.fans_out = shape.fans_out || parent_.fan_type() == FanType::kFanOut;
  return shape;
}

StatusOr<std::vector<Tuple>> NestingKeyExpression::EvaluateOn(
    const Message* message, const EvaluationContext& context) const {
  if (message == nullptr) {
    if (parent_.fan_type() == FanType::kFanOut) return std::vector<Tuple>();
    return child_->EvaluateOn(nullptr, context);
  }
  const FieldDescriptor& field = *parent_.FieldIn(*message->GetDescriptor());
  const Reflection& reflection = *message->GetReflection();
  if (parent_.fan_type() == FanType::kScalar) {
    const Message* child =
        reflection.HasField(*message, &field) ? &reflection.GetMessage(*message, &field) : nullptr;
    return child_->EvaluateOn(child, context);
  }
  std::vector<Tuple> result;
  const int size = reflection.FieldSize(*message, &field);
  for (int i = 0; i < size; ++i) {
    ASSIGN_OR_RETURN(
        std::vector<Tuple> part,
        child_->EvaluateOn(&reflection.GetRepeatedMessage(*message, &field, i), context));
    for (Tuple& tuple : part) result.push_back(std::move(tuple));
  }
  return result;
}

std::string NestingKeyExpression::ToString() const {
  return absl::StrCat(parent_.ToString(), ".", child_->ToString());
}

proto::KeyExpression NestingKeyExpression::ToProto() const {
  proto::KeyExpression result;
  *result.mutable_nest()->mutable_parent() = parent_.ToProto().field();
  *result.mutable_nest()->mutable_child() = child_->ToProto();
  return result;
}

// ---- Then

int ThenKeyExpression::ColumnSize() const {
  int size = 0;
  for (const auto& child : children_) size += child->ColumnSize();
  return size;
}

StatusOr<ExpressionShape> ThenKeyExpression::Validate(const Descriptor& type) const {
  ExpressionShape shape;
  for (const auto& child : children_) {
    ASSIGN_OR_RETURN(ExpressionShape part, child->Validate(type));
    shape.columns.insert(shape.columns.end(), part.columns.begin(), part.columns.end());
    shape.fans_out = shape.fans_out || part.fans_out;
    shape.uses_version = shape.uses_version || part.uses_version;
  }
  return shape;
}

StatusOr<std::vector<Tuple>> ThenKeyExpression::EvaluateOn(const Message* message,
                                                           const EvaluationContext& context) const {
  std::vector<Tuple> product = One(Tuple());
  for (const auto& child : children_) {
    ASSIGN_OR_RETURN(std::vector<Tuple> part, child->EvaluateOn(message, context));
    std::vector<Tuple> next;
    next.reserve(product.size() * part.size());
    for (const Tuple& prefix : product) {
      for (const Tuple& suffix : part) next.push_back(Tuple(prefix).Extend(suffix));
    }
    product = std::move(next);
  }
  return product;
}

std::string ThenKeyExpression::ToString() const {
  return absl::StrCat(
      "(",
      absl::StrJoin(children_, ", ",
                    [](std::string* out, const std::unique_ptr<KeyExpression>& child) {
                      out->append(child->ToString());
                    }),
      ")");
}

proto::KeyExpression ThenKeyExpression::ToProto() const {
  proto::KeyExpression result;
  for (const auto& child : children_) *result.mutable_then()->add_children() = child->ToProto();
  return result;
}

// ---- RecordTypeKey

StatusOr<ExpressionShape> RecordTypeKeyExpression::Validate(const Descriptor& type) const {
  ExpressionShape shape;
  shape.columns.push_back(ColumnKind::kRecordTypeKey);
  return shape;
}

StatusOr<std::vector<Tuple>> RecordTypeKeyExpression::EvaluateOn(
    const Message* message, const EvaluationContext& context) const {
  return One(Tuple().Append(context.record_type_key));
}

std::string RecordTypeKeyExpression::ToString() const { return "record_type()"; }

proto::KeyExpression RecordTypeKeyExpression::ToProto() const {
  proto::KeyExpression result;
  result.mutable_record_type_key();
  return result;
}

// ---- Version

StatusOr<ExpressionShape> VersionKeyExpression::Validate(const Descriptor& type) const {
  ExpressionShape shape;
  shape.columns.push_back(ColumnKind::kVersion);
  shape.uses_version = true;
  return shape;
}

StatusOr<std::vector<Tuple>> VersionKeyExpression::EvaluateOn(
    const Message* message, const EvaluationContext& context) const {
  return One(Tuple().Append(context.version.value_or(Versionstamp::Incomplete())));
}

std::string VersionKeyExpression::ToString() const { return "version()"; }

proto::KeyExpression VersionKeyExpression::ToProto() const {
  proto::KeyExpression result;
  result.mutable_version();
  return result;
}

// ---- Grouping

StatusOr<ExpressionShape> GroupingKeyExpression::Validate(const Descriptor& type) const {
  return whole_->Validate(type);
}

StatusOr<std::vector<Tuple>> GroupingKeyExpression::EvaluateOn(
    const Message* message, const EvaluationContext& context) const {
  return whole_->EvaluateOn(message, context);
}

std::string GroupingKeyExpression::ToString() const {
  return absl::StrCat("grouping(", whole_->ToString(), ", grouped=", grouped_count_, ")");
}

proto::KeyExpression GroupingKeyExpression::ToProto() const {
  proto::KeyExpression result;
  *result.mutable_grouping()->mutable_whole() = whole_->ToProto();
  result.mutable_grouping()->set_grouped_count(grouped_count_);
  return result;
}

// ---- KeyWithValue

std::pair<Tuple, Tuple> KeyWithValueKeyExpression::Split(const Tuple& tuple) const {
  const auto& elements = tuple.elements();
  return {Tuple(std::vector<TupleElement>(elements.begin(), elements.begin() + split_point_)),
          Tuple(std::vector<TupleElement>(elements.begin() + split_point_, elements.end()))};
}

StatusOr<ExpressionShape> KeyWithValueKeyExpression::Validate(const Descriptor& type) const {
  return inner_->Validate(type);
}

StatusOr<std::vector<Tuple>> KeyWithValueKeyExpression::EvaluateOn(
    const Message* message, const EvaluationContext& context) const {
  return inner_->EvaluateOn(message, context);
}

std::string KeyWithValueKeyExpression::ToString() const {
  return absl::StrCat("key_with_value(", inner_->ToString(), ", split=", split_point_, ")");
}

proto::KeyExpression KeyWithValueKeyExpression::ToProto() const {
  proto::KeyExpression result;
  *result.mutable_key_with_value()->mutable_inner() = inner_->ToProto();
  result.mutable_key_with_value()->set_split_point(split_point_);
  return result;
}

// ---- Function

FunctionKeyExpression::FunctionKeyExpression(std::string name,
                                             std::unique_ptr<KeyExpression> arguments)
    : name_(std::move(name)),
      arguments_(std::move(arguments)),
      function_(KeyFunctionRegistry::Default().Find(name_)) {}

StatusOr<ExpressionShape> FunctionKeyExpression::Validate(const Descriptor& type) const {
  if (function_ == nullptr) return Invalid(absl::StrCat("function ", name_, " is not registered"));
  ASSIGN_OR_RETURN(ExpressionShape arguments, arguments_->Validate(type));
  const std::vector<ColumnKind>& expected = function_->argument_kinds();
  if (arguments.columns.size() != expected.size()) {
    return Invalid(absl::StrCat("function ", name_, " takes ", expected.size(), " arguments, not ",
                                arguments.columns.size(), " in ", ToString()));
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    if (arguments.columns[i] != expected[i]) {
      return Invalid(absl::StrCat("argument ", i + 1, " of ", ToString(), " is ",
                                  std::string(ColumnKindName(arguments.columns[i])), ", not ",
                                  std::string(ColumnKindName(expected[i]))));
    }
  }
  ExpressionShape shape;
  shape.columns.push_back(function_->result_kind());
  shape.fans_out = arguments.fans_out;
  shape.uses_version = arguments.uses_version;
  return shape;
}

StatusOr<std::vector<Tuple>> FunctionKeyExpression::EvaluateOn(
    const Message* message, const EvaluationContext& context) const {
  if (function_ == nullptr) return Invalid(absl::StrCat("function ", name_, " is not registered"));
  ASSIGN_OR_RETURN(std::vector<Tuple> arguments, arguments_->EvaluateOn(message, context));
  std::vector<Tuple> result;
  result.reserve(arguments.size());
  for (const Tuple& tuple : arguments) {
    ASSIGN_OR_RETURN(TupleElement value, function_->Call(tuple));
    result.push_back(Tuple().Append(std::move(value)));
  }
  return result;
}

std::string FunctionKeyExpression::ToString() const {
  std::string arguments = arguments_->ToString();
  // A concatenation already prints its own parentheses: add(a, b), not add((a, b)).
  if (arguments_->kind() == Kind::kThen) return absl::StrCat(name_, arguments);
  return absl::StrCat(name_, "(", arguments, ")");
}

proto::KeyExpression FunctionKeyExpression::ToProto() const {
  proto::KeyExpression result;
  result.mutable_function()->set_name(name_);
  *result.mutable_function()->mutable_arguments() = arguments_->ToProto();
  return result;
}

// ---- Builders

namespace key {

std::unique_ptr<KeyExpression> Empty() { return std::make_unique<EmptyKeyExpression>(); }

std::unique_ptr<KeyExpression> Field(std::string name, FanType fan_type) {
  return std::make_unique<FieldKeyExpression>(std::move(name), fan_type);
}

std::unique_ptr<KeyExpression> Nest(std::string parent, std::unique_ptr<KeyExpression> child,
                                    FanType parent_fan_type) {
  return std::make_unique<NestingKeyExpression>(
      FieldKeyExpression(std::move(parent), parent_fan_type), std::move(child));
}

std::unique_ptr<KeyExpression> Concat(std::vector<std::unique_ptr<KeyExpression>> children) {
  return std::make_unique<ThenKeyExpression>(std::move(children));
}

std::unique_ptr<KeyExpression> RecordTypeKey() {
  return std::make_unique<RecordTypeKeyExpression>();
}

std::unique_ptr<KeyExpression> Version() { return std::make_unique<VersionKeyExpression>(); }

std::unique_ptr<KeyExpression> Grouping(std::unique_ptr<KeyExpression> whole, int grouped_count) {
  return std::make_unique<GroupingKeyExpression>(std::move(whole), grouped_count);
}

std::unique_ptr<KeyExpression> KeyWithValue(std::unique_ptr<KeyExpression> inner, int split_point) {
  return std::make_unique<KeyWithValueKeyExpression>(std::move(inner), split_point);
}

std::unique_ptr<KeyExpression> Function(std::string name,
                                        std::unique_ptr<KeyExpression> arguments) {
  return std::make_unique<FunctionKeyExpression>(std::move(name), std::move(arguments));
}

}  // namespace key
}  // namespace recordstore::metadata
