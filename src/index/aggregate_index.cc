#include "index/aggregate_index.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/status_macros.h"
#include "metadata/index.h"
#include "metadata/key_expression.h"

namespace recordstore::index {
namespace {

constexpr int kCounterBytes = 8;

std::string EncodeCounter(uint64_t value) {
  std::string bytes(kCounterBytes, '\0');
  for (int i = 0; i < kCounterBytes; ++i) {
    bytes[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  }
  return bytes;
}

uint64_t DecodeCounter(std::string_view bytes) {
  uint64_t value = 0;
  for (int i = kCounterBytes - 1; i >= 0; --i) {
    value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  }
  return value;
}

// The grouped columns (those after the first `grouping_count`) of `tuple`.
Tuple GroupedColumns(const Tuple& tuple, int grouping_count) {
  return Tuple(std::vector<TupleElement>(tuple.begin() + grouping_count, tuple.end()));
}

Tuple GroupingColumns(const Tuple& tuple, int grouping_count) {
  return Tuple(std::vector<TupleElement>(tuple.begin(), tuple.begin() + grouping_count));
}

bool HasNullGroupedColumn(const Tuple& tuple, int grouping_count) {
  return std::any_of(tuple.begin() + grouping_count, tuple.end(),
                     [](const TupleElement& element) { return element.is_null(); });
}

}  // namespace

AggregateIndexMaintainer::AggregateIndexMaintainer(IndexMaintainerState state, Kind kind)
    : IndexMaintainer(std::move(state)), kind_(kind), grouping_count_(-1) {
  const metadata::KeyExpression& root = index().root();
  if (root.kind() == metadata::KeyExpression::Kind::kGrouping) {
    grouping_count_ = static_cast<const metadata::GroupingKeyExpression&>(root).grouping_count();
  }
}

Status AggregateIndexMaintainer::CheckRoot() const {
  if (grouping_count_ >= 0) return Status();
  // RecordMetaData refuses such an index; this guards maintainers built from other metadata.
  return MakeError(ErrorCode::kInvalidArgument, "aggregate index " + index().name() + " of type " +
                                                    index().type() + " has root " +
                                                    index().root().ToString() +
                                                    ", which is not a grouping expression");
}

StatusOr<std::vector<Tuple>> AggregateIndexMaintainer::Evaluate(const IndexedRecord& record) const {
  return index().root().Evaluate(*record.message, record.Context());
}

Status AggregateIndexMaintainer::AccumulateDeltas(const std::vector<Tuple>& tuples, uint64_t sign,
                                                  std::map<std::string, uint64_t>& deltas) const {
  for (const Tuple& tuple : tuples) {
    uint64_t amount = 1;
    if (kind_ == Kind::kCountNotNull || kind_ == Kind::kSum) {
      if (HasNullGroupedColumn(tuple, grouping_count_)) continue;
    }
    if (kind_ == Kind::kSum) {
      const TupleElement& summand = tuple[grouping_count_];
      if (std::optional<int64_t> small = summand.AsInt64()) {
        amount = static_cast<uint64_t>(*small);
      } else if (const auto* big = summand.get_if<BigInteger>();
                 big != nullptr && big->ToUint64().has_value()) {
        // A uint64 above INT64_MAX: its two's-complement bits, added modulo 2^64.
        amount = *big->ToUint64();
      } else {
        return MakeError(ErrorCode::kInvalidArgument, "sum index " + index().name() +
                                                          " cannot add " + summand.ToString() +
                                                          ": not a 64-bit integer");
      }
    }
    // Unsigned arithmetic wraps, as the KV's kAdd does.
    deltas[state().entries.Pack(GroupingColumns(tuple, grouping_count_))] += sign * amount;
  }
  return Status();
}

Status AggregateIndexMaintainer::UpdateCounts(const IndexedRecord* old_record,
                                              const IndexedRecord* new_record) {
  // Group key -> the amount to add. An update that leaves a group's total unchanged nets to
  // zero here and writes nothing.
  std::map<std::string, uint64_t> deltas;
  // count_updates counts saves, so the old record takes nothing away.
  if (old_record != nullptr && kind_ != Kind::kCountUpdates) {
    ASSIGN_OR_RETURN(std::vector<Tuple> old_tuples, Evaluate(*old_record));
    RETURN_IF_ERROR(AccumulateDeltas(old_tuples, ~uint64_t{0} /* -1 */, deltas));
  }
  if (new_record != nullptr) {
    ASSIGN_OR_RETURN(std::vector<Tuple> new_tuples, Evaluate(*new_record));
    RETURN_IF_ERROR(AccumulateDeltas(new_tuples, 1, deltas));
  }
  const bool clear_when_zero = kind_ != Kind::kCountUpdates;
  const std::string zero = EncodeCounter(0);
  for (const auto& [key, delta] : deltas) {
    if (delta == 0) continue;
    txn().AtomicOp(kv::MutationType::kAdd, key, EncodeCounter(delta));
    // Applied after the add (the KV keeps a transaction's mutations of a key in order), so it
    // clears the key exactly when the sum it holds after this transaction is zero. Neither
    // mutation reads, so concurrent updates of the group still commute.
    if (clear_when_zero) txn().AtomicOp(kv::MutationType::kCompareAndClear, key, zero);
  }
  return Status();
}

Status AggregateIndexMaintainer::UpdateExtremes(const IndexedRecord* new_record) {
  if (new_record == nullptr) return Status();  // a delete never undoes a min/max
  ASSIGN_OR_RETURN(std::vector<Tuple> tuples, Evaluate(*new_record));
  const bool is_min = kind_ == Kind::kMinEver;
  // Group key -> the record's most extreme packed grouped columns, so that a fan-out writes
  // one mutation per group.
  std::map<std::string, std::string> extremes;
  for (const Tuple& tuple : tuples) {
    if (HasNullGroupedColumn(tuple, grouping_count_)) continue;
    std::string value = GroupedColumns(tuple, grouping_count_).Pack();
    auto [it, inserted] =
        extremes.try_emplace(state().entries.Pack(GroupingColumns(tuple, grouping_count_)), value);
    if (!inserted && (is_min ? value < it->second : value > it->second)) it->second = value;
  }
  const kv::MutationType op = is_min ? kv::MutationType::kByteMin : kv::MutationType::kByteMax;
  for (const auto& [key, value] : extremes) txn().AtomicOp(op, key, value);
  return Status();
}

Status AggregateIndexMaintainer::Update(const IndexedRecord* old_record,
                                        const IndexedRecord* new_record) {
  RETURN_IF_ERROR(CheckRoot());
  if (kind_ == Kind::kMinEver || kind_ == Kind::kMaxEver) return UpdateExtremes(new_record);
  return UpdateCounts(old_record, new_record);
}

StatusOr<Tuple> AggregateIndexMaintainer::EvaluateAggregate(const Tuple& group) {
  RETURN_IF_ERROR(CheckRoot());
  if (group.size() != static_cast<size_t>(grouping_count_)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "index " + index().name() + " groups by " + std::to_string(grouping_count_) +
                         " column(s), but the group " + group.ToString() + " has " +
                         std::to_string(group.size()));
  }
  std::string key = state().entries.Pack(group);
  ASSIGN_OR_RETURN(std::optional<std::string> value, txn().Get(key));
  if (kind_ == Kind::kMinEver || kind_ == Kind::kMaxEver) {
    if (!value.has_value()) return Tuple();
    StatusOr<Tuple> extreme = Tuple::Unpack(*value);
    if (!extreme.ok()) {
      std::string detail = "index " + index().name() + " group " + group.ToString() + ": ";
      const auto message = extreme.status().message();
      detail.append(message.data(), message.size());
      return MakeError(ErrorCode::kDataCorruption, detail);
    }
    return *std::move(extreme);
  }
  if (!value.has_value()) return Tuple::Of(0);
  if (value->size() != kCounterBytes) {
    return MakeError(ErrorCode::kDataCorruption,
                     "index " + index().name() + " group " + group.ToString() + " holds " +
                         std::to_string(value->size()) + " bytes, not an 8-byte counter");
  }
  return Tuple::Of(static_cast<int64_t>(DecodeCounter(*value)));
}

void RegisterAggregateMaintainers(IndexMaintainerRegistry& registry) {
  using Kind = AggregateIndexMaintainer::Kind;
  namespace types = metadata::index_types;
  const std::pair<std::string_view, Kind> kinds[] = {
      {types::kCount, Kind::kCount},
      {types::kCountUpdates, Kind::kCountUpdates},
      {types::kCountNotNull, Kind::kCountNotNull},
      {types::kSum, Kind::kSum},
      {types::kMinEver, Kind::kMinEver},
      {types::kMaxEver, Kind::kMaxEver},
  };
  for (const auto& type_and_kind : kinds) {
    const Kind kind = type_and_kind.second;
    registry.Register(std::string(type_and_kind.first), [kind](IndexMaintainerState state) {
      return std::make_unique<AggregateIndexMaintainer>(std::move(state), kind);
    });
  }
}

}  // namespace recordstore::index
