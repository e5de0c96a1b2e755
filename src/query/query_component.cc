#include "query/query_component.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/status_macros.h"

namespace recordstore::query {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using metadata::ColumnKind;

// Concatenates strings, string views and literals (absl::StrCat takes absl::string_view,
// which Debian's absl does not alias to std::string_view).
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string out;
  (out.append(parts), ...);
  return out;
}

std::optional<bool> And3(std::optional<bool> a, std::optional<bool> b) {
  if (a == false || b == false) return false;
  if (!a.has_value() || !b.has_value()) return std::nullopt;
  return true;
}

std::optional<bool> Or3(std::optional<bool> a, std::optional<bool> b) {
  if (a == true || b == true) return true;
  if (!a.has_value() || !b.has_value()) return std::nullopt;
  return false;
}

// The order of two values as index keys order them.
std::strong_ordering Order(const TupleElement& a, const TupleElement& b) { return a <=> b; }

Status Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, message);
}

std::string FieldLabel(const Descriptor& type, std::string_view field) {
  return Cat("field ", type.name(), ".", field);
}

StatusOr<const FieldDescriptor*> FindField(const Descriptor& type, const std::string& name) {
  const FieldDescriptor* field = type.FindFieldByName(name);
  if (field == nullptr) return Invalid(FieldLabel(type, name) + " does not exist");
  return field;
}

// A constant converted for a column of `kind`, or an error naming `what`.
StatusOr<TupleElement> BindValue(const TupleElement& value, ColumnKind kind,
                                 const FieldDescriptor* field, std::string_view what) {
  using Type = TupleElement::Type;
  const Type type = value.type();
  auto mismatch = [&] {
    return Invalid(Cat(what, " holds ", metadata::ColumnKindName(kind),
                                " values; it cannot be compared with ", value.ToString()));
  };
  switch (kind) {
    case ColumnKind::kInteger:
      if (type == Type::kInteger) return value;
      if (type == Type::kString && field != nullptr &&
          field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
        const auto* enum_value = field->enum_type()->FindValueByName(*value.get_if<std::string>());
        if (enum_value == nullptr) {
          return Invalid(Cat(what, " is an enum ", field->enum_type()->name(),
                                      ", which has no value ", value.ToString()));
        }
        return TupleElement(enum_value->number());
      }
      return mismatch();
    case ColumnKind::kDouble:
      if (type == Type::kDouble) return value;
      if (type == Type::kFloat) return TupleElement(static_cast<double>(*value.get_if<float>()));
      if (type == Type::kInteger) {
        std::optional<int64_t> integer = value.AsInt64();
        if (!integer.has_value()) return mismatch();
        return TupleElement(static_cast<double>(*integer));
      }
      return mismatch();
    case ColumnKind::kFloat:
      if (type == Type::kFloat) return value;
      if (type == Type::kDouble) return TupleElement(static_cast<float>(*value.get_if<double>()));
      if (type == Type::kInteger) {
        std::optional<int64_t> integer = value.AsInt64();
        if (!integer.has_value()) return mismatch();
        return TupleElement(static_cast<float>(*integer));
      }
      return mismatch();
    case ColumnKind::kBool:
      if (type == Type::kBool) return value;
      return mismatch();
    case ColumnKind::kString:
      if (type == Type::kString) return value;
      return mismatch();
    case ColumnKind::kBytes:
      if (type == Type::kBytes) return value;
      return mismatch();
    case ColumnKind::kTuple:
    case ColumnKind::kRecordTypeKey:
    case ColumnKind::kVersion:
      break;
  }
  return Invalid(Cat(what, " holds ", metadata::ColumnKindName(kind),
                              " values, which filters cannot compare"));
}

// The value of a singular field through the same key expression an index would use.
TupleElement ValueOf(const metadata::KeyExpression& expression, const Message* message) {
  StatusOr<std::vector<Tuple>> tuples = expression.EvaluateOn(message, {});
  // A bound field expression cannot fail (no functions) and yields exactly one tuple.
  if (!tuples.ok() || tuples->size() != 1 || (*tuples)[0].size() != 1) return TupleElement();
  return (*tuples)[0][0];
}

}  // namespace

std::string_view ComparisonTypeName(ComparisonType type) {
  switch (type) {
    case ComparisonType::kEquals:
      return "=";
    case ComparisonType::kNotEquals:
      return "!=";
    case ComparisonType::kLessThan:
      return "<";
    case ComparisonType::kLessThanOrEquals:
      return "<=";
    case ComparisonType::kGreaterThan:
      return ">";
    case ComparisonType::kGreaterThanOrEquals:
      return ">=";
    case ComparisonType::kStartsWith:
      return "STARTS WITH";
    case ComparisonType::kIsNull:
      return "IS NULL";
    case ComparisonType::kNotNull:
      return "IS NOT NULL";
    case ComparisonType::kIn:
      return "IN";
  }
  return "?";
}

bool Comparison::IsRange() const {
  switch (type_) {
    case ComparisonType::kLessThan:
    case ComparisonType::kLessThanOrEquals:
    case ComparisonType::kGreaterThan:
    case ComparisonType::kGreaterThanOrEquals:
    case ComparisonType::kStartsWith:
      return true;
    default:
      return false;
  }
}

std::optional<bool> Comparison::Evaluate(const TupleElement& field_value) const {
  if (type_ == ComparisonType::kIsNull) return field_value.is_null();
  if (type_ == ComparisonType::kNotNull) return !field_value.is_null();
  if (field_value.is_null()) return std::nullopt;
  switch (type_) {
    case ComparisonType::kEquals:
      return Order(field_value, value()) == 0;
    case ComparisonType::kNotEquals:
      return Order(field_value, value()) != 0;
    case ComparisonType::kLessThan:
      return Order(field_value, value()) < 0;
    case ComparisonType::kLessThanOrEquals:
      return Order(field_value, value()) <= 0;
    case ComparisonType::kGreaterThan:
      return Order(field_value, value()) > 0;
    case ComparisonType::kGreaterThanOrEquals:
      return Order(field_value, value()) >= 0;
    case ComparisonType::kStartsWith: {
      if (const auto* text = field_value.get_if<std::string>()) {
        const auto* prefix = value().get_if<std::string>();
        return prefix != nullptr && text->starts_with(*prefix);
      }
      if (const auto* bytes = field_value.get_if<ByteString>()) {
        const auto* prefix = value().get_if<ByteString>();
        return prefix != nullptr && bytes->data.starts_with(prefix->data);
      }
      return false;
    }
    case ComparisonType::kIn:
      return std::any_of(values_.begin(), values_.end(),
                         [&](const TupleElement& v) { return Order(field_value, v) == 0; });
    case ComparisonType::kIsNull:
    case ComparisonType::kNotNull:
      break;
  }
  return std::nullopt;
}

StatusOr<Comparison> Comparison::Bind(ColumnKind kind, const FieldDescriptor* field,
                                      std::string_view what) const {
  if (type_ == ComparisonType::kIsNull || type_ == ComparisonType::kNotNull) return *this;
  if (type_ == ComparisonType::kStartsWith && kind != ColumnKind::kString &&
      kind != ColumnKind::kBytes) {
    return Invalid(Cat("STARTS WITH needs a string or bytes field; ", what, " holds ",
                                metadata::ColumnKindName(kind), " values"));
  }
  if (type_ == ComparisonType::kIn && values_.empty()) {
    return Invalid(Cat("IN on ", what, " needs at least one value"));
  }
  std::vector<TupleElement> bound;
  bound.reserve(values_.size());
  for (const TupleElement& value : values_) {
    if (value.is_null()) {
      return Invalid(Cat(what, " is compared with null; use IS NULL"));
    }
    ASSIGN_OR_RETURN(TupleElement converted, BindValue(value, kind, field, what));
    bound.push_back(std::move(converted));
  }
  if (type_ == ComparisonType::kIn) {
    // In index order without repeats: an IN-join scans the values in this order.
    std::sort(bound.begin(), bound.end(), [](const TupleElement& a, const TupleElement& b) {
      return Order(a, b) < 0;
    });
    bound.erase(std::unique(bound.begin(), bound.end(),
                            [](const TupleElement& a, const TupleElement& b) {
                              return Order(a, b) == 0;
                            }),
                bound.end());
  }
  return Comparison(type_, std::move(bound));
}

std::string Comparison::ToString() const {
  std::string text(ComparisonTypeName(type_));
  switch (type_) {
    case ComparisonType::kIsNull:
    case ComparisonType::kNotNull:
      return text;
    case ComparisonType::kIn: {
      text += " (";
      for (size_t i = 0; i < values_.size(); ++i) {
        if (i > 0) text += ", ";
        text += values_[i].ToString();
      }
      return text + ")";
    }
    default:
      return text + " " + value().ToString();
  }
}

FieldComponent::FieldComponent(std::string field, Comparison comparison)
    : field_(std::move(field)),
      comparison_(std::move(comparison)),
      value_of_(metadata::key::Field(field_)) {}

std::optional<bool> FieldComponent::Evaluate(const Message* message) const {
  return comparison_.Evaluate(ValueOf(*value_of_, message));
}

StatusOr<ComponentPtr> FieldComponent::Bind(const Descriptor& type) const {
  ASSIGN_OR_RETURN(const FieldDescriptor* field, FindField(type, field_));
  if (field->is_repeated()) {
    return Invalid(FieldLabel(type, field_) +
                   " is repeated; compare its elements with ANY(" + field_ + ")");
  }
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    if (comparison_.type() == ComparisonType::kIsNull ||
        comparison_.type() == ComparisonType::kNotNull) {
      return Invalid(FieldLabel(type, field_) +
                     " is a message; test one of its fields (" + field_ + ".<field>)");
    }
    return Invalid(FieldLabel(type, field_) + " is a message; compare one of its fields");
  }
  ASSIGN_OR_RETURN(metadata::ExpressionShape shape, value_of_->Validate(type));
  ASSIGN_OR_RETURN(Comparison bound,
                   comparison_.Bind(shape.columns[0], field, FieldLabel(type, field_)));
  return ComponentPtr(std::make_unique<FieldComponent>(field_, std::move(bound)));
}

std::string FieldComponent::ToString() const {
  return field_ + " " + comparison_.ToString();
}

ComponentPtr FieldComponent::Clone() const {
  return std::make_unique<FieldComponent>(field_, comparison_);
}

OneOfThemComponent::OneOfThemComponent(std::string field, Comparison comparison)
    : field_(std::move(field)),
      comparison_(std::move(comparison)),
      values_of_(metadata::key::Field(field_, metadata::FanType::kFanOut)) {}

std::optional<bool> OneOfThemComponent::Evaluate(const Message* message) const {
  StatusOr<std::vector<Tuple>> elements = values_of_->EvaluateOn(message, {});
  if (!elements.ok()) return std::nullopt;
  std::optional<bool> any = false;
  for (const Tuple& element : *elements) {
    any = Or3(any, comparison_.Evaluate(element[0]));
    if (any == true) break;
  }
  return any;
}

StatusOr<ComponentPtr> OneOfThemComponent::Bind(const Descriptor& type) const {
  ASSIGN_OR_RETURN(const FieldDescriptor* field, FindField(type, field_));
  if (!field->is_repeated() || field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    return Invalid(FieldLabel(type, field_) +
                   (field->is_repeated() ? " holds messages; match them with ANY(" + field_ +
                                               " WHERE ...)"
                                         : " is not repeated; compare it without ANY"));
  }
  if (comparison_.type() == ComparisonType::kIsNull ||
      comparison_.type() == ComparisonType::kNotNull) {
    return Invalid("elements of " + FieldLabel(type, field_) + " are never null");
  }
  ASSIGN_OR_RETURN(metadata::ExpressionShape shape, values_of_->Validate(type));
  ASSIGN_OR_RETURN(Comparison bound,
                   comparison_.Bind(shape.columns[0], field, FieldLabel(type, field_)));
  return ComponentPtr(std::make_unique<OneOfThemComponent>(field_, std::move(bound)));
}

std::string OneOfThemComponent::ToString() const {
  return "ANY(" + field_ + ") " + comparison_.ToString();
}

ComponentPtr OneOfThemComponent::Clone() const {
  return std::make_unique<OneOfThemComponent>(field_, comparison_);
}

std::optional<bool> NestedComponent::Evaluate(const Message* message) const {
  const Message* nested = nullptr;
  if (message != nullptr) {
    const FieldDescriptor* field = message->GetDescriptor()->FindFieldByName(field_);
    const google::protobuf::Reflection& reflection = *message->GetReflection();
    if (field != nullptr && reflection.HasField(*message, field)) {
      nested = &reflection.GetMessage(*message, field);
    }
  }
  return child_->Evaluate(nested);
}

StatusOr<ComponentPtr> NestedComponent::Bind(const Descriptor& type) const {
  ASSIGN_OR_RETURN(const FieldDescriptor* field, FindField(type, field_));
  if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || field->is_repeated()) {
    return Invalid(FieldLabel(type, field_) +
                   (field->is_repeated() ? " is repeated; match its elements with ANY(" +
                                               field_ + " WHERE ...)"
                                         : " is not a message"));
  }
  ASSIGN_OR_RETURN(ComponentPtr child, child_->Bind(*field->message_type()));
  return ComponentPtr(std::make_unique<NestedComponent>(field_, std::move(child)));
}

std::string NestedComponent::ToString() const {
  // `a.b = 1` for one comparison, `a.(b = 1 AND c = 2)` otherwise.
  std::string child = child_->ToString();
  if (child_->kind() == Kind::kAnd || child_->kind() == Kind::kOr ||
      child_->kind() == Kind::kNot) {
    return field_ + ".(" + child + ")";
  }
  return field_ + "." + child;
}

ComponentPtr NestedComponent::Clone() const {
  return std::make_unique<NestedComponent>(field_, child_->Clone());
}

std::optional<bool> OneOfThemMatchesComponent::Evaluate(const Message* message) const {
  if (message == nullptr) return false;
  const FieldDescriptor* field = message->GetDescriptor()->FindFieldByName(field_);
  if (field == nullptr) return std::nullopt;
  const google::protobuf::Reflection& reflection = *message->GetReflection();
  std::optional<bool> any = false;
  const int size = reflection.FieldSize(*message, field);
  for (int i = 0; i < size && any != true; ++i) {
    any = Or3(any, child_->Evaluate(&reflection.GetRepeatedMessage(*message, field, i)));
  }
  return any;
}

StatusOr<ComponentPtr> OneOfThemMatchesComponent::Bind(const Descriptor& type) const {
  ASSIGN_OR_RETURN(const FieldDescriptor* field, FindField(type, field_));
  if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || !field->is_repeated()) {
    return Invalid(FieldLabel(type, field_) + " is not a repeated message field");
  }
  ASSIGN_OR_RETURN(ComponentPtr child, child_->Bind(*field->message_type()));
  return ComponentPtr(std::make_unique<OneOfThemMatchesComponent>(field_, std::move(child)));
}

std::string OneOfThemMatchesComponent::ToString() const {
  return "ANY(" + field_ + " WHERE " + child_->ToString() + ")";
}

ComponentPtr OneOfThemMatchesComponent::Clone() const {
  return std::make_unique<OneOfThemMatchesComponent>(field_, child_->Clone());
}

std::optional<bool> BooleanComponent::Evaluate(const Message* message) const {
  std::optional<bool> result = kind_ == Kind::kAnd;
  for (const ComponentPtr& child : children_) {
    result = kind_ == Kind::kAnd ? And3(result, child->Evaluate(message))
                                 : Or3(result, child->Evaluate(message));
    if (result == (kind_ == Kind::kOr)) break;  // decided
  }
  return result;
}

StatusOr<ComponentPtr> BooleanComponent::Bind(const Descriptor& type) const {
  std::vector<ComponentPtr> children;
  children.reserve(children_.size());
  for (const ComponentPtr& child : children_) {
    ASSIGN_OR_RETURN(ComponentPtr bound, child->Bind(type));
    children.push_back(std::move(bound));
  }
  return ComponentPtr(std::make_unique<BooleanComponent>(kind_, std::move(children)));
}

std::string BooleanComponent::ToString() const {
  std::string text = "(";
  for (size_t i = 0; i < children_.size(); ++i) {
    if (i > 0) text += kind_ == Kind::kAnd ? " AND " : " OR ";
    text += children_[i]->ToString();
  }
  return text + ")";
}

ComponentPtr BooleanComponent::Clone() const {
  std::vector<ComponentPtr> children;
  for (const ComponentPtr& child : children_) children.push_back(child->Clone());
  return std::make_unique<BooleanComponent>(kind_, std::move(children));
}

std::optional<bool> NotComponent::Evaluate(const Message* message) const {
  std::optional<bool> inner = child_->Evaluate(message);
  if (!inner.has_value()) return std::nullopt;
  return !*inner;
}

StatusOr<ComponentPtr> NotComponent::Bind(const Descriptor& type) const {
  ASSIGN_OR_RETURN(ComponentPtr child, child_->Bind(type));
  return ComponentPtr(std::make_unique<NotComponent>(std::move(child)));
}

std::string NotComponent::ToString() const { return "NOT " + child_->ToString(); }

ComponentPtr NotComponent::Clone() const {
  return std::make_unique<NotComponent>(child_->Clone());
}

ComponentPtr FieldBuilder::Matches(Comparison comparison) const {
  if (one_of_them_) return std::make_unique<OneOfThemComponent>(name_, std::move(comparison));
  return std::make_unique<FieldComponent>(name_, std::move(comparison));
}

ComponentPtr FieldBuilder::Equals(TupleElement value) const {
  return Matches(Comparison::Binary(ComparisonType::kEquals, std::move(value)));
}
ComponentPtr FieldBuilder::NotEquals(TupleElement value) const {
  return Matches(Comparison::Binary(ComparisonType::kNotEquals, std::move(value)));
}
ComponentPtr FieldBuilder::LessThan(TupleElement value) const {
  return Matches(Comparison::Binary(ComparisonType::kLessThan, std::move(value)));
}
ComponentPtr FieldBuilder::LessThanOrEquals(TupleElement value) const {
  return Matches(Comparison::Binary(ComparisonType::kLessThanOrEquals, std::move(value)));
}
ComponentPtr FieldBuilder::GreaterThan(TupleElement value) const {
  return Matches(Comparison::Binary(ComparisonType::kGreaterThan, std::move(value)));
}
ComponentPtr FieldBuilder::GreaterThanOrEquals(TupleElement value) const {
  return Matches(Comparison::Binary(ComparisonType::kGreaterThanOrEquals, std::move(value)));
}
ComponentPtr FieldBuilder::StartsWith(TupleElement prefix) const {
  return Matches(Comparison::Binary(ComparisonType::kStartsWith, std::move(prefix)));
}
ComponentPtr FieldBuilder::IsNull() const {
  return Matches(Comparison::Unary(ComparisonType::kIsNull));
}
ComponentPtr FieldBuilder::NotNull() const {
  return Matches(Comparison::Unary(ComparisonType::kNotNull));
}
ComponentPtr FieldBuilder::In(std::vector<TupleElement> values) const {
  return Matches(Comparison::In(std::move(values)));
}
ComponentPtr FieldBuilder::OneOfThemMatches(ComponentPtr child) const {
  return std::make_unique<OneOfThemMatchesComponent>(name_, std::move(child));
}

ComponentPtr Nested(std::string field, ComponentPtr child) {
  return std::make_unique<NestedComponent>(std::move(field), std::move(child));
}
ComponentPtr And(std::vector<ComponentPtr> children) {
  return std::make_unique<BooleanComponent>(QueryComponent::Kind::kAnd, std::move(children));
}
ComponentPtr Or(std::vector<ComponentPtr> children) {
  return std::make_unique<BooleanComponent>(QueryComponent::Kind::kOr, std::move(children));
}
ComponentPtr Not(ComponentPtr child) { return std::make_unique<NotComponent>(std::move(child)); }

}  // namespace recordstore::query
