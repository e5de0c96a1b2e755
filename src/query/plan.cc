#include "query/plan.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "cursor/combinators.h"

namespace recordstore::query {
namespace {

using cursor::Continuation;
using cursor::CursorResult;
using store::StoredRecord;

index::ScanOptions OptionsOf(const ExecutionContext& context, bool reverse) {
  index::ScanOptions options;
  options.reverse = reverse;
  options.snapshot = context.snapshot;
  options.limiter = context.limiter;
  return options;
}

// The records of index entries, loaded by primary key; continuations are the entries'.
class FetchCursor : public cursor::RecordCursor<StoredRecord> {
 public:
  FetchCursor(cursor::CursorPtr<index::IndexEntry> entries, store::RecordStore& store,
              std::string index)
      : entries_(std::move(entries)), store_(store), index_(std::move(index)) {}

  StatusOr<CursorResult<StoredRecord>> Next() override {
    // Bound in place (&&), not moved out: a move and a destruction of the entry's three
    // tuples and continuation per row.
    ASSIGN_OR_RETURN(CursorResult<index::IndexEntry> && entry, entries_->Next());
    if (!entry.has_value()) {
      return CursorResult<StoredRecord>::WithoutValue(entry.no_next_reason(),
                                                      std::move(entry).continuation());
    }
    ASSIGN_OR_RETURN(std::optional<StoredRecord> record,
                     store_.LoadRecord(entry.value().primary_key));
    if (!record.has_value()) {
      return MakeError(ErrorCode::kDataCorruption,
                       "index " + index_ + " has entry " + entry.value().key.ToString() +
                           " for record " + entry.value().primary_key.ToString() +
                           ", which does not exist");
    }
    // The entry's continuation, still deferred (cursor.h, DeferredContinuation).
    return CursorResult<StoredRecord>::WithValue(*std::move(record),
                                                 std::move(entry).TakeContinuation());
  }

 private:
  cursor::CursorPtr<index::IndexEntry> entries_;
  store::RecordStore& store_;
  std::string index_;
};

// The fields along `path` (field names, outermost first) from `type`, or an error naming the
// first that does not exist.
StatusOr<std::vector<const google::protobuf::FieldDescriptor*>> ResolvePath(
    const google::protobuf::Descriptor& type, const std::vector<std::string>& path) {
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  const google::protobuf::Descriptor* scope = &type;
  for (const std::string& name : path) {
    const google::protobuf::FieldDescriptor* field =
        scope == nullptr ? nullptr : scope->FindFieldByName(name);
    if (field == nullptr) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "no field " + name + " on the path " + absl::StrJoin(path, ".") +
                           " of " + type.full_name());
    }
    fields.push_back(field);
    scope = field->message_type();
  }
  return fields;
}

// Sets the field at the end of `path` (resolved by ResolvePath; nested messages are created)
// of `message` to `value`; null leaves it unset.
Status SetPath(google::protobuf::Message& message,
               const std::vector<const google::protobuf::FieldDescriptor*>& path,
               const TupleElement& value) {
  using google::protobuf::FieldDescriptor;
  if (value.is_null()) return absl::OkStatus();
  google::protobuf::Message* target = &message;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    target = target->GetReflection()->MutableMessage(target, path[i]);
  }
  const FieldDescriptor* field = path.back();
  const google::protobuf::Reflection& reflection = *target->GetReflection();
  auto mismatch = [&] {
    return MakeError(ErrorCode::kDataCorruption, "index value " + value.ToString() +
                                                     " does not fit field " + field->full_name());
  };
  // Read once: cpp_type() is an out-of-line call (with a lazy-init check) on every use, and
  // covering scans set a few fields per row.
  const FieldDescriptor::CppType cpp_type = field->cpp_type();
  switch (cpp_type) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_ENUM: {
      std::optional<int64_t> integer = value.AsInt64();
      if (!integer.has_value()) return mismatch();
      if (cpp_type == FieldDescriptor::CPPTYPE_INT32) {
        reflection.SetInt32(target, field, static_cast<int32_t>(*integer));
      } else if (cpp_type == FieldDescriptor::CPPTYPE_INT64) {
        reflection.SetInt64(target, field, *integer);
      } else if (cpp_type == FieldDescriptor::CPPTYPE_UINT32) {
        reflection.SetUInt32(target, field, static_cast<uint32_t>(*integer));
      } else {
        reflection.SetEnumValue(target, field, static_cast<int>(*integer));
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      if (std::optional<int64_t> integer = value.AsInt64()) {
        reflection.SetUInt64(target, field, static_cast<uint64_t>(*integer));
        return absl::OkStatus();
      }
      const BigInteger* big = value.get_if<BigInteger>();
      std::optional<uint64_t> unsigned_value;
      if (big != nullptr) unsigned_value = big->ToUint64();
      if (!unsigned_value.has_value()) return mismatch();
      reflection.SetUInt64(target, field, *unsigned_value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_FLOAT:
      if (const float* f = value.get_if<float>()) {
        reflection.SetFloat(target, field, *f);
        return absl::OkStatus();
      }
      return mismatch();
    case FieldDescriptor::CPPTYPE_DOUBLE:
      if (const double* d = value.get_if<double>()) {
        reflection.SetDouble(target, field, *d);
        return absl::OkStatus();
      }
      return mismatch();
    case FieldDescriptor::CPPTYPE_BOOL:
      if (const bool* b = value.get_if<bool>()) {
        reflection.SetBool(target, field, *b);
        return absl::OkStatus();
      }
      return mismatch();
    case FieldDescriptor::CPPTYPE_STRING:
      if (const std::string* s = value.get_if<std::string>()) {
        reflection.SetString(target, field, *s);
        return absl::OkStatus();
      }
      if (const ByteString* b = value.get_if<ByteString>()) {
        reflection.SetString(target, field, b->data);
        return absl::OkStatus();
      }
      return mismatch();
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return mismatch();
}

class CoveringCursor : public cursor::RecordCursor<StoredRecord> {
 public:
  CoveringCursor(cursor::CursorPtr<index::IndexEntry> entries, const store::RecordStore& store,
                 const metadata::RecordType* type,
                 const std::vector<CoveringIndexPlan::FieldSource>& fields)
      : entries_(std::move(entries)),
        type_(type),
        fields_(fields),
        prototype_(store.metadata().NewRecord(*type)) {
    // Once per cursor, not per row: a descriptor-pool lookup per field per row cost ~10% of a
    // covering scan (callgrind).
    for (const CoveringIndexPlan::FieldSource& source : fields_) {
      StatusOr<std::vector<const google::protobuf::FieldDescriptor*>> path =
          ResolvePath(type_->descriptor(), source.path);
      if (!path.ok()) {
        resolve_error_ = path.status();
        break;
      }
      paths_.push_back(*std::move(path));
    }
  }

  StatusOr<CursorResult<StoredRecord>> Next() override {
    RETURN_IF_ERROR(resolve_error_);
    // Bound in place, as in FetchCursor.
    ASSIGN_OR_RETURN(CursorResult<index::IndexEntry> && entry, entries_->Next());
    if (!entry.has_value()) {
      return CursorResult<StoredRecord>::WithoutValue(entry.no_next_reason(),
                                                      std::move(entry).continuation());
    }
    StoredRecord record;
    record.type = type_;
    // New() on a message of the type, not NewRecord: the factory's GetPrototype takes a lock
    // and a map lookup per call, ~6% of a covering scan (callgrind).
    record.message.reset(prototype_->New());
    for (size_t i = 0; i < fields_.size(); ++i) {
      const CoveringIndexPlan::FieldSource& source = fields_[i];
      const Tuple& tuple = source.from == CoveringIndexPlan::FieldSource::From::kKey
                               ? entry.value().key
                               : entry.value().value;
      if (static_cast<size_t>(source.column) >= tuple.size()) {
        return MakeError(ErrorCode::kDataCorruption,
                         "index entry " + entry.value().key.ToString() + " has too few columns");
      }
      RETURN_IF_ERROR(SetPath(*record.message, paths_[i], tuple[source.column]));
    }
    // Taken, not copied.
    record.primary_key = entry.TakeValue().primary_key;
    return CursorResult<StoredRecord>::WithValue(std::move(record),
                                                 std::move(entry).TakeContinuation());
  }

 private:
  cursor::CursorPtr<index::IndexEntry> entries_;
  const metadata::RecordType* type_;
  const std::vector<CoveringIndexPlan::FieldSource>& fields_;
  // An empty record of type_, whose New() makes each row's message.
  std::unique_ptr<google::protobuf::Message> prototype_;
  // fields_[i]'s path as field descriptors.
  std::vector<std::vector<const google::protobuf::FieldDescriptor*>> paths_;
  Status resolve_error_;
};

// The first `limit` records of a fully read input, in order; then the end.
class SortedCursor : public cursor::RecordCursor<StoredRecord> {
 public:
  explicit SortedCursor(std::vector<StoredRecord> records) : records_(std::move(records)) {}

  StatusOr<CursorResult<StoredRecord>> Next() override {
    if (next_ >= records_.size()) {
      return CursorResult<StoredRecord>::WithoutValue(cursor::NoNextReason::kSourceExhausted,
                                                      Continuation::End());
    }
    // The page cannot be resumed part-way: every continuation is the end.
    return CursorResult<StoredRecord>::WithValue(std::move(records_[next_++]), Continuation::End());
  }

 private:
  std::vector<StoredRecord> records_;
  size_t next_ = 0;
};

void AppendExplain(const RecordQueryPlan& plan, int depth, std::string* out) {
  out->append(static_cast<size_t>(depth) * 2, ' ');
  out->append(plan.Describe());
  out->push_back('\n');
  for (const RecordQueryPlan* child : plan.Children()) AppendExplain(*child, depth + 1, out);
}

std::string RangeText(const index::TupleRange& range) {
  // An equality range prints as the prefix itself: [(5)].
  if (range.low_bound == index::TupleRange::Bound::kInclusive &&
      range.high_bound == index::TupleRange::Bound::kInclusive && range.low == range.high) {
    return "[" + range.low.ToString() + "]";
  }
  return range.ToString();
}

std::weak_ordering ByPrimaryKey(const StoredRecord& a, const StoredRecord& b) {
  return a.primary_key <=> b.primary_key;
}

}  // namespace

std::string RecordQueryPlan::Explain() const {
  std::string out;
  AppendExplain(*this, 0, &out);
  return out;
}

StatusOr<RecordCursorPtr> PrimaryScanPlan::Execute(const ExecutionContext& context,
                                                   const Continuation& continuation) const {
  return context.store->ScanRecords(range_, continuation, OptionsOf(context, reverse_));
}

std::string PrimaryScanPlan::Describe() const {
  return "Scan " + RangeText(range_) + (reverse_ ? " reverse" : "");
}

StatusOr<cursor::CursorPtr<index::IndexEntry>> IndexScanPlan::ScanEntries(
    const ExecutionContext& context, const Continuation& continuation) const {
  return context.store->ScanIndex(index_, range_, continuation, OptionsOf(context, reverse_));
}

StatusOr<RecordCursorPtr> IndexScanPlan::Execute(const ExecutionContext& context,
                                                 const Continuation& continuation) const {
  ASSIGN_OR_RETURN(cursor::CursorPtr<index::IndexEntry> entries,
                   ScanEntries(context, continuation));
  return RecordCursorPtr(std::make_unique<FetchCursor>(std::move(entries), *context.store, index_));
}

std::string IndexScanPlan::Describe() const {
  return "IndexScan " + index_ + " " + RangeText(range_) + (reverse_ ? " reverse" : "");
}

StatusOr<RecordCursorPtr> CoveringIndexPlan::Execute(const ExecutionContext& context,
                                                     const Continuation& continuation) const {
  ASSIGN_OR_RETURN(cursor::CursorPtr<index::IndexEntry> entries,
                   scan_->ScanEntries(context, continuation));
  return RecordCursorPtr(
      std::make_unique<CoveringCursor>(std::move(entries), *context.store, type_, fields_));
}

std::string CoveringIndexPlan::Describe() const {
  std::vector<std::string> names;
  for (const FieldSource& field : fields_) names.push_back(absl::StrJoin(field.path, "."));
  return "Covering " + type_->name() + " (" + absl::StrJoin(names, ", ") + ")";
}

FilterPlan::FilterPlan(PlanPtr input, std::vector<std::pair<std::string, ComponentPtr>> filters)
    : input_(std::move(input)), filters_(std::move(filters)) {}

StatusOr<RecordCursorPtr> FilterPlan::Execute(const ExecutionContext& context,
                                              const Continuation& continuation) const {
  ASSIGN_OR_RETURN(RecordCursorPtr input, input_->Execute(context, continuation));
  const auto* filters = &filters_;
  return cursor::Filter<StoredRecord>(std::move(input), [filters](const StoredRecord& record) {
    for (const auto& [type, filter] : *filters) {
      if (type == record.type->name()) return filter->Evaluate(record.message.get()) == true;
    }
    return false;
  });
}

std::string FilterPlan::Describe() const { return "Filter " + filters_.front().second->ToString(); }

StatusOr<RecordCursorPtr> TypeFilterPlan::Execute(const ExecutionContext& context,
                                                  const Continuation& continuation) const {
  ASSIGN_OR_RETURN(RecordCursorPtr input, input_->Execute(context, continuation));
  const auto* types = &types_;
  return cursor::Filter<StoredRecord>(std::move(input), [types](const StoredRecord& record) {
    return std::find(types->begin(), types->end(), record.type->name()) != types->end();
  });
}

std::string TypeFilterPlan::Describe() const {
  return "TypeFilter " + absl::StrJoin(types_, ", ");
}

StatusOr<RecordCursorPtr> SetOperationPlan::Execute(const ExecutionContext& context,
                                                    const Continuation& continuation) const {
  std::vector<cursor::CursorFactory<StoredRecord>> factories;
  for (const PlanPtr& input : inputs_) {
    const RecordQueryPlan* plan = input.get();
    factories.push_back([plan, context](const Continuation& position) {
      return plan->Execute(context, position);
    });
  }
  if (kind_ == Kind::kUnion) {
    return cursor::UnionCursor<StoredRecord>::Create(std::move(factories), ByPrimaryKey,
                                                     continuation);
  }
  return cursor::IntersectionCursor<StoredRecord>::Create(std::move(factories), ByPrimaryKey,
                                                          continuation);
}

std::string SetOperationPlan::Describe() const {
  return kind_ == Kind::kUnion ? "Union by primary key" : "Intersection by primary key";
}

std::vector<const RecordQueryPlan*> SetOperationPlan::Children() const {
  std::vector<const RecordQueryPlan*> children;
  for (const PlanPtr& input : inputs_) children.push_back(input.get());
  return children;
}

StatusOr<RecordCursorPtr> InJoinPlan::Execute(const ExecutionContext& context,
                                              const Continuation& continuation) const {
  std::vector<cursor::CursorFactory<StoredRecord>> factories;
  for (const PlanPtr& input : per_value_) {
    const RecordQueryPlan* plan = input.get();
    factories.push_back([plan, context](const Continuation& position) {
      return plan->Execute(context, position);
    });
  }
  if (merge_key_ == nullptr) {
    return cursor::ConcatCursor<StoredRecord>::Create(std::move(factories), continuation);
  }
  std::shared_ptr<const metadata::KeyExpression> key = merge_key_;
  const bool descending = merge_descending_;
  return cursor::UnionCursor<StoredRecord>::Create(
      std::move(factories),
      [key, descending](const StoredRecord& a, const StoredRecord& b) {
        return descending ? CompareRecordsBy(*key, b, a) : CompareRecordsBy(*key, a, b);
      },
      continuation);
}

std::string InJoinPlan::Describe() const { return "InJoin " + description_; }

std::vector<const RecordQueryPlan*> InJoinPlan::Children() const {
  // Every input has the same shape: show the first.
  return {per_value_.front().get()};
}

StatusOr<RecordCursorPtr> InMemorySortPlan::Execute(const ExecutionContext& context,
                                                    const Continuation& continuation) const {
  if (continuation.is_end()) return RecordCursorPtr(std::make_unique<SortedCursor>(
      std::vector<StoredRecord>{}));
  if (!continuation.is_start()) {
    return MakeError(ErrorCode::kInvalidContinuation,
                     "an in-memory sort cannot be resumed part-way");
  }
  ASSIGN_OR_RETURN(RecordCursorPtr input, input_->Execute(context, Continuation::Start()));
  std::vector<StoredRecord> kept;
  auto before = [this](const StoredRecord& a, const StoredRecord& b) {
    std::weak_ordering order = CompareRecordsBy(*key_, a, b);
    return descending_ ? std::is_gt(order) : std::is_lt(order);
  };
  auto trim = [&] {
    std::nth_element(kept.begin(), kept.begin() + (limit_ - 1), kept.end(), before);
    kept.resize(static_cast<size_t>(limit_));
  };
  while (true) {
    ASSIGN_OR_RETURN(CursorResult<StoredRecord> result, input->Next());
    if (!result.has_value()) {
      if (cursor::IsOutOfBand(result.no_next_reason())) {
        return MakeError(ErrorCode::kUnsupported,
                         "the in-memory sort stopped at " +
                             std::string(cursor::NoNextReasonName(result.no_next_reason())) +
                             " before it read every record; raise the limit or add an index "
                             "that provides the order");
      }
      break;
    }
    kept.push_back(result.TakeValue());
    // Memory stays within twice the limit.
    if (kept.size() >= static_cast<size_t>(2 * limit_)) trim();
  }
  if (kept.size() > static_cast<size_t>(limit_)) trim();
  std::sort(kept.begin(), kept.end(), before);
  return RecordCursorPtr(std::make_unique<SortedCursor>(std::move(kept)));
}

std::string InMemorySortPlan::Describe() const {
  return absl::StrCat("Sort ", key_->ToString(), descending_ ? " desc" : "", " in memory, top ",
                      limit_);
}

std::weak_ordering CompareRecordsBy(const metadata::KeyExpression& key, const StoredRecord& a,
                                    const StoredRecord& b) {
  StatusOr<std::vector<Tuple>> a_key = key.Evaluate(*a.message, a.type->Context());
  StatusOr<std::vector<Tuple>> b_key = key.Evaluate(*b.message, b.type->Context());
  Tuple a_first = a_key.ok() && !a_key->empty() ? (*a_key)[0] : Tuple();
  Tuple b_first = b_key.ok() && !b_key->empty() ? (*b_key)[0] : Tuple();
  if (std::strong_ordering order = a_first <=> b_first; order != 0) return order;
  return a.primary_key <=> b.primary_key;
}

}  // namespace recordstore::query
