#include "index/index_maintainer.h"

#include <utility>

#include "metadata/key_expression.h"

namespace recordstore::index {

std::string_view IndexStateName(IndexState state) {
  switch (state) {
    case IndexState::kReadable:
      return "readable";
    case IndexState::kWriteOnly:
      return "write_only";
    case IndexState::kDisabled:
      return "disabled";
  }
  return "unknown";
}

metadata::EvaluationContext IndexedRecord::Context() const {
  metadata::EvaluationContext context{type->record_type_key(), {}};
  if (version.has_value()) context.version = version->ToVersionstamp();
  return context;
}

cursor::KeyEndpoint TupleRange::LowEndpoint() const {
  switch (low_bound) {
    case Bound::kOpen:
      return cursor::KeyEndpoint::Open();
    case Bound::kInclusive:
      return cursor::KeyEndpoint::InclusiveRaw(low.Pack());
    case Bound::kExclusive:
      // Past every key that extends `low`: their next byte is a type code below \xff.
      return cursor::KeyEndpoint::ExclusiveRaw(low.Pack() + "\xff");
  }
  return cursor::KeyEndpoint::Open();
}

cursor::KeyEndpoint TupleRange::HighEndpoint() const {
  switch (high_bound) {
    case Bound::kOpen:
      return cursor::KeyEndpoint::Open();
    case Bound::kInclusive:
      return cursor::KeyEndpoint::ExclusiveRaw(high.Pack() + "\xff");
    case Bound::kExclusive:
      return cursor::KeyEndpoint::ExclusiveRaw(high.Pack());
  }
  return cursor::KeyEndpoint::Open();
}

std::string TupleRange::ToString() const {
  std::string text;
  switch (low_bound) {
    case Bound::kOpen:
      text = "(-inf";
      break;
    case Bound::kInclusive:
      text = "[" + low.ToString();
      break;
    case Bound::kExclusive:
      text = "(" + low.ToString();
      break;
  }
  text += ", ";
  switch (high_bound) {
    case Bound::kOpen:
      text += "+inf)";
      break;
    case Bound::kInclusive:
      text += high.ToString() + "]";
      break;
    case Bound::kExclusive:
      text += high.ToString() + ")";
      break;
  }
  return text;
}

Status IndexMaintainer::CheckUpdate(const IndexedRecord* /*old_record*/,
                                    const IndexedRecord* /*new_record*/) {
  return absl::OkStatus();
}

StatusOr<cursor::CursorPtr<IndexEntry>> IndexMaintainer::ScanEntries(
    const TupleRange& /*range*/, const cursor::Continuation& /*continuation*/,
    const ScanOptions& /*options*/) {
  return MakeError(ErrorCode::kUnsupported,
                   "index " + index().name() + " of type " + index().type() +
                       " has no entries to scan");
}

StatusOr<Tuple> IndexMaintainer::EvaluateAggregate(const Tuple& /*group*/) {
  return MakeError(ErrorCode::kUnsupported,
                   "index " + index().name() + " of type " + index().type() +
                       " is not an aggregate index");
}

StatusOr<std::vector<UniquenessViolation>> IndexMaintainer::ScanUniquenessViolations() {
  return std::vector<UniquenessViolation>{};
}

void IndexMaintainer::ClearAll() {
  for (const Subspace* subspace : {&state_.entries, &state_.secondary, &state_.violations}) {
    auto [begin, end] = subspace->Range();
    txn().ClearRange(begin, end);
  }
}

void IndexMaintainerRegistry::Register(std::string type, Factory factory) {
  factories_[std::move(type)] = std::move(factory);
}

bool IndexMaintainerRegistry::Supports(std::string_view type) const {
  return factories_.find(type) != factories_.end();
}

Status IndexMaintainerRegistry::CheckSupported(const metadata::Index& index) const {
  if (Supports(index.type())) return absl::OkStatus();
  return MakeError(ErrorCode::kUnsupported, "index " + index.name() + " has type " +
                                                index.type() + ", which has no index maintainer yet");
}

StatusOr<std::unique_ptr<IndexMaintainer>> IndexMaintainerRegistry::Create(
    IndexMaintainerState state) const {
  auto found = factories_.find(state.index->type());
  if (found == factories_.end()) return CheckSupported(*state.index);
  return found->second(std::move(state));
}

Tuple IndexKeyColumns(const metadata::Index& index, const Tuple& tuple) {
  if (index.root().kind() != metadata::KeyExpression::Kind::kKeyWithValue) return tuple;
  return static_cast<const metadata::KeyWithValueKeyExpression&>(index.root()).Split(tuple).first;
}

Tuple IndexValueColumns(const metadata::Index& index, const Tuple& tuple) {
  if (index.root().kind() != metadata::KeyExpression::Kind::kKeyWithValue) return Tuple();
  return static_cast<const metadata::KeyWithValueKeyExpression&>(index.root()).Split(tuple).second;
}

int IndexKeyColumnCount(const metadata::Index& index) {
  if (index.root().kind() != metadata::KeyExpression::Kind::kKeyWithValue) {
    return index.root().ColumnSize();
  }
  return static_cast<const metadata::KeyWithValueKeyExpression&>(index.root()).split_point();
}

}  // namespace recordstore::index
