// Key expressions: how a record (a protobuf message) becomes the tuples of its primary key and
// of its index entries, as in the FoundationDB Record Layer.
//
// An expression is an immutable tree. Evaluating it on a message yields a list of Tuples, each
// with ColumnSize() elements: one tuple for most expressions, several (or none) when a
// repeated field fans out. Messages are read through protobuf reflection, so generated and
// dynamic messages both work.
//
// Field values become tuple elements as follows: every integer type and enums (their number)
// become integers, float and double become float and double, bool, string (UTF-8 string) and
// bytes (byte string) keep their kind. Message-typed fields cannot be a column; use Nest.
//
// Nulls are explicit. A singular field with explicit presence (proto2 `optional`, proto3
// `optional`, members of a oneof) that is unset evaluates to null. A proto3 scalar without
// `optional` (implicit presence) is never null: unset, it evaluates to its default (0, "",
// false, the first enum value). Under an absent nested message every scalar column is null,
// implicit presence or not, a fan-out yields no result and a concatenation an empty tuple.
//
// Thread-safety: expressions are immutable; concurrent use is safe.
#ifndef RECORDSTORE_METADATA_KEY_EXPRESSION_H_
#define RECORDSTORE_METADATA_KEY_EXPRESSION_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "metadata/metadata.pb.h"
#include "recordstore/status.h"
#include "tuple/tuple.h"

namespace recordstore::metadata {

class KeyFunction;

// How a field expression treats a repeated field (metadata.proto's FanType).
enum class FanType {
  kScalar,       // singular field: one column
  kFanOut,       // repeated field: one result per element
  kConcatenate,  // repeated field: one column holding all elements as a nested tuple
};

// What a column holds, as far as the schema tells; used to type-check functions and indexes.
enum class ColumnKind {
  kInteger,
  kFloat,
  kDouble,
  kBool,
  kString,
  kBytes,
  kTuple,          // a concatenated repeated field
  kRecordTypeKey,  // an integer or a string, whichever the record type keys are
  kVersion,
};

// "integer", "string", ...: for error messages.
std::string_view ColumnKindName(ColumnKind kind);

// What validation learns about an expression on one message type.
struct ExpressionShape {
  std::vector<ColumnKind> columns;  // one per column, ColumnSize() in all
  bool fans_out = false;            // some repeated field fans out: zero or several tuples
  bool uses_version = false;        // some column is the record's version
};

// Record-level inputs of an evaluation that the message itself does not hold.
struct EvaluationContext {
  // What RecordTypeKey evaluates to.
  TupleElement record_type_key;
  // What Version evaluates to; an incomplete versionstamp (user version 0) when unset, as
  // for a record not committed yet.
  std::optional<Versionstamp> version;
};

class KeyExpression {
 public:
  enum class Kind {
    kEmpty,
    kField,
    kNest,
    kThen,
    kRecordTypeKey,
    kVersion,
    kGrouping,
    kKeyWithValue,
    kFunction,
  };

  virtual ~KeyExpression() = default;

  virtual Kind kind() const = 0;
  // The number of elements in each tuple that Evaluate returns.
  virtual int ColumnSize() const = 0;

  // Checks the expression against the message type it will be evaluated on: fields exist,
  // fan types match the fields' labels, nested fields are messages, functions are registered
  // and get arguments of their kinds. Fails with kInvalidArgument naming the field
  // ("field Order.totl does not exist"), function or problem.
  virtual StatusOr<ExpressionShape> Validate(const google::protobuf::Descriptor& type) const = 0;

  // The tuples for `record`, in order: a fan-out yields its elements in field order, and a
  // concatenation of expressions yields their cartesian product (the first expression varies
  // slowest). Fails only where a function fails (e.g. integer overflow, kInvalidArgument).
  // REQUIRES: Validate(*record.GetDescriptor()) succeeded.
  StatusOr<std::vector<Tuple>> Evaluate(const google::protobuf::Message& record,
                                        const EvaluationContext& context = {}) const;
  // Evaluate on a message that may be absent (null): an unset nested message, see the file
  // comment. Nested expressions call it on their children.
  virtual StatusOr<std::vector<Tuple>> EvaluateOn(const google::protobuf::Message* message,
                                                  const EvaluationContext& context) const = 0;

  // A readable, unambiguous form for errors and EXPLAIN: `total`, `tags[fan-out]`,
  // `shipping.city`, `(customer_id, lower(name))`, `grouping((sku, price), grouped=1)`.
  virtual std::string ToString() const = 0;

  virtual proto::KeyExpression ToProto() const = 0;
  // The expression a ToProto output describes. Fails with kInvalidArgument when no member is
  // set, a field name is empty or a count is negative or out of range. Unknown function names
  // are accepted here and refused by Validate.
  static StatusOr<std::unique_ptr<KeyExpression>> FromProto(const proto::KeyExpression& proto);

  // Structural equality (same proto form).
  friend bool operator==(const KeyExpression& a, const KeyExpression& b);

 protected:
  // Copying is for the concrete classes only (no slicing through the base).
  KeyExpression() = default;
  KeyExpression(const KeyExpression&) = default;
  KeyExpression(KeyExpression&&) = default;
  KeyExpression& operator=(const KeyExpression&) = default;
  KeyExpression& operator=(KeyExpression&&) = default;
};

// No columns; one empty tuple.
class EmptyKeyExpression final : public KeyExpression {
 public:
  Kind kind() const override { return Kind::kEmpty; }
  int ColumnSize() const override { return 0; }
  StatusOr<ExpressionShape> Validate(const google::protobuf::Descriptor& type) const override;
  StatusOr<std::vector<Tuple>> EvaluateOn(const google::protobuf::Message* message,
                                          const EvaluationContext& context) const override;
  std::string ToString() const override;
  proto::KeyExpression ToProto() const override;
};

// One field of the message.
class FieldKeyExpression final : public KeyExpression {
 public:
  FieldKeyExpression(std::string name, FanType fan_type)
      : name_(std::move(name)), fan_type_(fan_type) {}
  FieldKeyExpression(const FieldKeyExpression& other)
      : name_(other.name_), fan_type_(other.fan_type_) {}
  const std::string& name() const { return name_; }
  FanType fan_type() const { return fan_type_; }
  // The field called name() in `type`, or null. Remembers the field's index, so that the
  // usual case (records of one schema) costs a name comparison instead of a descriptor-pool
  // lookup; checked by name, so messages of another pool or schema are still right.
  const google::protobuf::FieldDescriptor* FieldIn(const google::protobuf::Descriptor& type) const;

  Kind kind() const override { return Kind::kField; }
  int ColumnSize() const override { return 1; }
  StatusOr<ExpressionShape> Validate(const google::protobuf::Descriptor& type) const override;
  StatusOr<std::vector<Tuple>> EvaluateOn(const google::protobuf::Message* message,
                                          const EvaluationContext& context) const override;
  std::string ToString() const override;
  proto::KeyExpression ToProto() const override;

 private:
  std::string name_;
  FanType fan_type_;
  mutable std::atomic<int> field_index_hint_{-1};
};

// `child` evaluated on the message in field `parent`; a fan-out parent evaluates the child on
// each element. The parent's fan type cannot be kConcatenate.
class NestingKeyExpression final : public KeyExpression {
 public:
  NestingKeyExpression(FieldKeyExpression parent, std::unique_ptr<KeyExpression> child)
      : parent_(std::move(parent)), child_(std::move(child)) {}
  const FieldKeyExpression& parent() const { return parent_; }
  const KeyExpression& child() const { return *child_; }

  Kind kind() const override { return Kind::kNest; }
  int ColumnSize() const override { return child_->ColumnSize(); }
  StatusOr<ExpressionShape> Validate(const google::protobuf::Descriptor& type) const override;
  StatusOr<std::vector<Tuple>> EvaluateOn(const google::protobuf::Message* message,
                                          const EvaluationContext& context) const override;
  std::string ToString() const override;
  proto::KeyExpression ToProto() const override;

 private:
  FieldKeyExpression parent_;
  std::unique_ptr<KeyExpression> child_;
};

// The children's columns side by side; the cartesian product of their results.
class ThenKeyExpression final : public KeyExpression {
 public:
  explicit ThenKeyExpression(std::vector<std::unique_ptr<KeyExpression>> children)
      : children_(std::move(children)) {}
  const std::vector<std::unique_ptr<KeyExpression>>& children() const { return children_; }

  Kind kind() const override { return Kind::kThen; }
  int ColumnSize() const override;
  StatusOr<ExpressionShape> Validate(const google::protobuf::Descriptor& type) const override;
  StatusOr<std::vector<Tuple>> EvaluateOn(const google::protobuf::Message* message,
                                          const EvaluationContext& context) const override;
  std::string ToString() const override;
  proto::KeyExpression ToProto() const override;

 private:
  std::vector<std::unique_ptr<KeyExpression>> children_;
};

// One column: EvaluationContext::record_type_key.
class RecordTypeKeyExpression final : public KeyExpression {
 public:
  Kind kind() const override { return Kind::kRecordTypeKey; }
  int ColumnSize() const override { return 1; }
  StatusOr<ExpressionShape> Validate(const google::protobuf::Descriptor& type) const override;
  StatusOr<std::vector<Tuple>> EvaluateOn(const google::protobuf::Message* message,
                                          const EvaluationContext& context) const override;
  std::string ToString() const override;
  proto::KeyExpression ToProto() const override;
};

// One column: the record's version (EvaluationContext::version), a placeholder until commit.
class VersionKeyExpression final : public KeyExpression {
 public:
  Kind kind() const override { return Kind::kVersion; }
  int ColumnSize() const override { return 1; }
  StatusOr<ExpressionShape> Validate(const google::protobuf::Descriptor& type) const override;
  StatusOr<std::vector<Tuple>> EvaluateOn(const google::protobuf::Message* message,
                                          const EvaluationContext& context) const override;
  std::string ToString() const override;
  proto::KeyExpression ToProto() const override;
};

// `whole`, read as grouping columns (the leading grouping_count()) followed by the
// grouped_count() columns an aggregate index aggregates. Evaluates like `whole`.
class GroupingKeyExpression final : public KeyExpression {
 public:
  // REQUIRES: 0 <= grouped_count <= whole->ColumnSize().
  GroupingKeyExpression(std::unique_ptr<KeyExpression> whole, int grouped_count)
      : whole_(std::move(whole)), grouped_count_(grouped_count) {}
  const KeyExpression& whole() const { return *whole_; }
  int grouped_count() const { return grouped_count_; }
  int grouping_count() const { return whole_->ColumnSize() - grouped_count_; }

  Kind kind() const override { return Kind::kGrouping; }
  int ColumnSize() const override { return whole_->ColumnSize(); }
  StatusOr<ExpressionShape> Validate(const google::protobuf::Descriptor& type) const override;
  StatusOr<std::vector<Tuple>> EvaluateOn(const google::protobuf::Message* message,
                                          const EvaluationContext& context) const override;
  std::string ToString() const override;
  proto::KeyExpression ToProto() const override;

 private:
  std::unique_ptr<KeyExpression> whole_;
  int grouped_count_;
};

// A covering index entry: the first split_point() columns of `inner` form the index key, the
// rest the index value. Evaluates like `inner`.
class KeyWithValueKeyExpression final : public KeyExpression {
 public:
  // REQUIRES: 0 <= split_point <= inner->ColumnSize().
  KeyWithValueKeyExpression(std::unique_ptr<KeyExpression> inner, int split_point)
      : inner_(std::move(inner)), split_point_(split_point) {}
  const KeyExpression& inner() const { return *inner_; }
  int split_point() const { return split_point_; }
  // Splits one evaluated tuple into (key columns, value columns).
  // REQUIRES: tuple.size() == ColumnSize().
  std::pair<Tuple, Tuple> Split(const Tuple& tuple) const;

  Kind kind() const override { return Kind::kKeyWithValue; }
  int ColumnSize() const override { return inner_->ColumnSize(); }
  StatusOr<ExpressionShape> Validate(const google::protobuf::Descriptor& type) const override;
  StatusOr<std::vector<Tuple>> EvaluateOn(const google::protobuf::Message* message,
                                          const EvaluationContext& context) const override;
  std::string ToString() const override;
  proto::KeyExpression ToProto() const override;

 private:
  std::unique_ptr<KeyExpression> inner_;
  int split_point_;
};

// A function from KeyFunctionRegistry::Default() applied to each tuple of `arguments`; one
// column. The function is looked up when the expression is built.
class FunctionKeyExpression final : public KeyExpression {
 public:
  FunctionKeyExpression(std::string name, std::unique_ptr<KeyExpression> arguments);
  const std::string& name() const { return name_; }
  const KeyExpression& arguments() const { return *arguments_; }

  Kind kind() const override { return Kind::kFunction; }
  int ColumnSize() const override { return 1; }
  StatusOr<ExpressionShape> Validate(const google::protobuf::Descriptor& type) const override;
  StatusOr<std::vector<Tuple>> EvaluateOn(const google::protobuf::Message* message,
                                          const EvaluationContext& context) const override;
  std::string ToString() const override;
  proto::KeyExpression ToProto() const override;

 private:
  std::string name_;
  std::unique_ptr<KeyExpression> arguments_;
  const KeyFunction* function_;  // null when `name_` is not registered; Validate says so
};

// Builders that read like the Record Layer's Key.Expressions:
//   key::Concat(key::Field("customer_id"), key::Nest("shipping", key::Field("city")))
namespace key {
std::unique_ptr<KeyExpression> Empty();
std::unique_ptr<KeyExpression> Field(std::string name, FanType fan_type = FanType::kScalar);
std::unique_ptr<KeyExpression> Nest(std::string parent, std::unique_ptr<KeyExpression> child,
                                    FanType parent_fan_type = FanType::kScalar);
std::unique_ptr<KeyExpression> Concat(std::vector<std::unique_ptr<KeyExpression>> children);
template <typename... Children>
std::unique_ptr<KeyExpression> Concat(std::unique_ptr<KeyExpression> first, Children... rest) {
  std::vector<std::unique_ptr<KeyExpression>> children;
  children.push_back(std::move(first));
  (children.push_back(std::move(rest)), ...);
  return Concat(std::move(children));
}
std::unique_ptr<KeyExpression> RecordTypeKey();
std::unique_ptr<KeyExpression> Version();
// REQUIRES: 0 <= grouped_count <= whole->ColumnSize().
std::unique_ptr<KeyExpression> Grouping(std::unique_ptr<KeyExpression> whole, int grouped_count);
// REQUIRES: 0 <= split_point <= inner->ColumnSize().
std::unique_ptr<KeyExpression> KeyWithValue(std::unique_ptr<KeyExpression> inner, int split_point);
std::unique_ptr<KeyExpression> Function(std::string name, std::unique_ptr<KeyExpression> arguments);
}  // namespace key

}  // namespace recordstore::metadata

#endif  // RECORDSTORE_METADATA_KEY_EXPRESSION_H_
