// Query filters: a tree of components evaluated on a record (a protobuf message), as the
// Record Layer's QueryComponent.
//
// Values. A field's value is what a key expression on it yields (metadata/key_expression.h):
// integers of every width and enums (by number) are integers, float and double keep their
// kind, strings and bytes theirs; an unset field with explicit presence, or any field under
// an absent nested message, is null. Comparisons use the tuple order (tuple/tuple.h), the
// order of index keys: so a filter evaluated on a record and an index scan for it always
// agree. Strings compare by their UTF-8 bytes; NaN equals NaN and sorts above +infinity; an
// int64 field and a uint64 field compare as the integers they hold.
//
// Nulls follow SQL's three-valued logic: a comparison with a null field is unknown (nullopt)
// except IS NULL / NOT NULL; NOT unknown is unknown; AND is false if any side is false,
// unknown if any is unknown; OR is true if any side is true. A query returns the records whose
// filter is true.
//
// Types are checked before anything runs (Bind): comparing a field with a value of another
// type is an error naming both, not a query that silently matches nothing. Bind also converts
// the values a user writes naturally: an integer for a float or double field, a double for a
// float field (to the float nearest it), an enum value's name for an enum field.
//
// Thread-safety: immutable after construction; concurrent use is safe.
#ifndef RECORDSTORE_QUERY_QUERY_COMPONENT_H_
#define RECORDSTORE_QUERY_QUERY_COMPONENT_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "metadata/key_expression.h"
#include "recordstore/status.h"
#include "tuple/tuple.h"

namespace recordstore::query {

enum class ComparisonType {
  kEquals,
  kNotEquals,
  kLessThan,
  kLessThanOrEquals,
  kGreaterThan,
  kGreaterThanOrEquals,
  kStartsWith,  // strings and bytes
  kIsNull,
  kNotNull,
  kIn,  // equal to one of a list of values
};

// "=", "!=", "<", "<=", ">", ">=", "STARTS WITH", "IS NULL", "IS NOT NULL", "IN".
std::string_view ComparisonTypeName(ComparisonType type);

// A comparison of one value (a field's) with constants.
class Comparison {
 public:
  // kIsNull, kNotNull.
  static Comparison Unary(ComparisonType type) { return Comparison(type, {}); }
  // Binary comparisons. REQUIRES: `value` is not null (use kIsNull).
  static Comparison Binary(ComparisonType type, TupleElement value) {
    return Comparison(type, {std::move(value)});
  }
  static Comparison In(std::vector<TupleElement> values) {
    return Comparison(ComparisonType::kIn, std::move(values));
  }

  ComparisonType type() const { return type_; }
  // The constant of a binary comparison.
  const TupleElement& value() const { return values_.front(); }
  // The list of kIn (as given; Bind sorts it and removes duplicates).
  const std::vector<TupleElement>& values() const { return values_; }
  bool IsEquality() const { return type_ == ComparisonType::kEquals; }
  // <, <=, >, >=, starts-with: what an index scan answers with one range.
  bool IsRange() const;

  // True, false or unknown (nullopt) for a field holding `field_value`.
  std::optional<bool> Evaluate(const TupleElement& field_value) const;

  // This comparison with its constants converted for a column of `kind` (see the file
  // comment); kInvalidArgument naming `what` (e.g. "field Order.total") when a constant does
  // not fit the column or the comparison does not apply to it (starts-with on an integer).
  StatusOr<Comparison> Bind(metadata::ColumnKind kind, const google::protobuf::FieldDescriptor* field,
                            std::string_view what) const;

  // "= 42", "IN (1, 2)", "STARTS WITH \"ab\"", "IS NULL".
  std::string ToString() const;

  friend bool operator==(const Comparison&, const Comparison&) = default;

 private:
  Comparison(ComparisonType type, std::vector<TupleElement> values)
      : type_(type), values_(std::move(values)) {}

  ComparisonType type_;
  std::vector<TupleElement> values_;
};

class QueryComponent {
 public:
  enum class Kind { kField, kOneOfThem, kNested, kOneOfThemMatches, kAnd, kOr, kNot };

  virtual ~QueryComponent() = default;
  virtual Kind kind() const = 0;

  // The filter on `message`, a message of the type the component was bound to; null stands
  // for an absent nested message (its fields are null).
  virtual std::optional<bool> Evaluate(const google::protobuf::Message* message) const = 0;

  // A copy checked against (and with constants converted for) message type `type`.
  virtual StatusOr<std::unique_ptr<QueryComponent>> Bind(
      const google::protobuf::Descriptor& type) const = 0;

  // "total > 100", "shipping.city = \"Paris\"", "(a = 1 AND (b = 2 OR c IS NULL))",
  // "ANY(tags) = \"x\"", "ANY(line_items MATCHES (sku = \"pot\" AND quantity > 1))".
  virtual std::string ToString() const = 0;
  virtual std::unique_ptr<QueryComponent> Clone() const = 0;
};

using ComponentPtr = std::unique_ptr<QueryComponent>;

// A singular field compared with constants.
class FieldComponent final : public QueryComponent {
 public:
  FieldComponent(std::string field, Comparison comparison);
  const std::string& field() const { return field_; }
  const Comparison& comparison() const { return comparison_; }

  Kind kind() const override { return Kind::kField; }
  std::optional<bool> Evaluate(const google::protobuf::Message* message) const override;
  StatusOr<ComponentPtr> Bind(const google::protobuf::Descriptor& type) const override;
  std::string ToString() const override;
  ComponentPtr Clone() const override;

 private:
  std::string field_;
  Comparison comparison_;
  std::unique_ptr<metadata::KeyExpression> value_of_;  // Field(field_)
};

// A repeated scalar field: true when some element satisfies the comparison.
class OneOfThemComponent final : public QueryComponent {
 public:
  OneOfThemComponent(std::string field, Comparison comparison);
  const std::string& field() const { return field_; }
  const Comparison& comparison() const { return comparison_; }

  Kind kind() const override { return Kind::kOneOfThem; }
  std::optional<bool> Evaluate(const google::protobuf::Message* message) const override;
  StatusOr<ComponentPtr> Bind(const google::protobuf::Descriptor& type) const override;
  std::string ToString() const override;
  ComponentPtr Clone() const override;

 private:
  std::string field_;
  Comparison comparison_;
  std::unique_ptr<metadata::KeyExpression> values_of_;  // Field(field_, kFanOut)
};

// `child` evaluated on the message in singular message field `field` (`a.b = 1`).
class NestedComponent final : public QueryComponent {
 public:
  NestedComponent(std::string field, ComponentPtr child)
      : field_(std::move(field)), child_(std::move(child)) {}
  const std::string& field() const { return field_; }
  const QueryComponent& child() const { return *child_; }

  Kind kind() const override { return Kind::kNested; }
  std::optional<bool> Evaluate(const google::protobuf::Message* message) const override;
  StatusOr<ComponentPtr> Bind(const google::protobuf::Descriptor& type) const override;
  std::string ToString() const override;
  ComponentPtr Clone() const override;

 private:
  std::string field_;
  ComponentPtr child_;
};

// A repeated message field: true when one element satisfies all of `child` at once.
class OneOfThemMatchesComponent final : public QueryComponent {
 public:
  OneOfThemMatchesComponent(std::string field, ComponentPtr child)
      : field_(std::move(field)), child_(std::move(child)) {}
  const std::string& field() const { return field_; }
  const QueryComponent& child() const { return *child_; }

  Kind kind() const override { return Kind::kOneOfThemMatches; }
  std::optional<bool> Evaluate(const google::protobuf::Message* message) const override;
  StatusOr<ComponentPtr> Bind(const google::protobuf::Descriptor& type) const override;
  std::string ToString() const override;
  ComponentPtr Clone() const override;

 private:
  std::string field_;
  ComponentPtr child_;
};

// AND / OR of two or more children.
class BooleanComponent final : public QueryComponent {
 public:
  // REQUIRES: kind is kAnd or kOr; children not empty.
  BooleanComponent(Kind kind, std::vector<ComponentPtr> children)
      : kind_(kind), children_(std::move(children)) {}
  const std::vector<ComponentPtr>& children() const { return children_; }

  Kind kind() const override { return kind_; }
  std::optional<bool> Evaluate(const google::protobuf::Message* message) const override;
  StatusOr<ComponentPtr> Bind(const google::protobuf::Descriptor& type) const override;
  std::string ToString() const override;
  ComponentPtr Clone() const override;

 private:
  Kind kind_;
  std::vector<ComponentPtr> children_;
};

class NotComponent final : public QueryComponent {
 public:
  explicit NotComponent(ComponentPtr child) : child_(std::move(child)) {}
  const QueryComponent& child() const { return *child_; }

  Kind kind() const override { return Kind::kNot; }
  std::optional<bool> Evaluate(const google::protobuf::Message* message) const override;
  StatusOr<ComponentPtr> Bind(const google::protobuf::Descriptor& type) const override;
  std::string ToString() const override;
  ComponentPtr Clone() const override;

 private:
  ComponentPtr child_;
};

// Builders that read like the Record Layer's Query.field(...):
//   Field("total").GreaterThan(100), And(Field("a").Equals(1), Not(Field("b").IsNull())),
//   Nested("shipping", Field("city").Equals("Paris")), Field("tags").OneOfThem().Equals("x"),
//   Field("line_items").OneOfThemMatches(And(...)).
class FieldBuilder {
 public:
  explicit FieldBuilder(std::string name) : name_(std::move(name)) {}
  ComponentPtr Equals(TupleElement value) const;
  ComponentPtr NotEquals(TupleElement value) const;
  ComponentPtr LessThan(TupleElement value) const;
  ComponentPtr LessThanOrEquals(TupleElement value) const;
  ComponentPtr GreaterThan(TupleElement value) const;
  ComponentPtr GreaterThanOrEquals(TupleElement value) const;
  ComponentPtr StartsWith(TupleElement prefix) const;
  ComponentPtr IsNull() const;
  ComponentPtr NotNull() const;
  ComponentPtr In(std::vector<TupleElement> values) const;
  ComponentPtr Matches(Comparison comparison) const;
  // Comparisons on any element of a repeated scalar field.
  FieldBuilder OneOfThem() const {
    FieldBuilder any(name_);
    any.one_of_them_ = true;
    return any;
  }
  ComponentPtr OneOfThemMatches(ComponentPtr child) const;

 private:
  std::string name_;
  bool one_of_them_ = false;
};

inline FieldBuilder Field(std::string name) { return FieldBuilder(std::move(name)); }
ComponentPtr Nested(std::string field, ComponentPtr child);
ComponentPtr And(std::vector<ComponentPtr> children);
ComponentPtr Or(std::vector<ComponentPtr> children);
ComponentPtr Not(ComponentPtr child);
template <typename... Rest>
ComponentPtr And(ComponentPtr first, Rest... rest) {
  std::vector<ComponentPtr> children;
  children.push_back(std::move(first));
  (children.push_back(std::move(rest)), ...);
  return And(std::move(children));
}
template <typename... Rest>
ComponentPtr Or(ComponentPtr first, Rest... rest) {
  std::vector<ComponentPtr> children;
  children.push_back(std::move(first));
  (children.push_back(std::move(rest)), ...);
  return Or(std::move(children));
}

}  // namespace recordstore::query

#endif  // RECORDSTORE_QUERY_QUERY_COMPONENT_H_
