#include "query/planner.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "cursor/combinators.h"

namespace recordstore::query {
namespace {

using cursor::Continuation;
using index::TupleRange;
using metadata::FanType;
using metadata::KeyExpression;
using store::StoredRecord;
using Path = std::vector<std::string>;

Status Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, message);
}

// One column of a key (index key, primary key, sort key) as the planner sees it.
struct Column {
  enum class Kind { kScalar, kFanOut, kRecordTypeKey, kOpaque };
  Kind kind = Kind::kOpaque;
  Path path;
  friend bool operator==(const Column&, const Column&) = default;
};

void CollectColumns(const KeyExpression& expression, const Path& prefix, bool under_fan_out,
                    std::vector<Column>* out) {
  auto opaque = [&] {
    for (int i = 0; i < expression.ColumnSize(); ++i) out->push_back({Column::Kind::kOpaque, {}});
  };
  switch (expression.kind()) {
    case KeyExpression::Kind::kField: {
      const auto& field = static_cast<const metadata::FieldKeyExpression&>(expression);
      Path path = prefix;
      path.push_back(field.name());
      if (field.fan_type() == FanType::kConcatenate ||
          (under_fan_out && field.fan_type() == FanType::kFanOut)) {
        opaque();
        return;
      }
      const bool fan_out = under_fan_out || field.fan_type() == FanType::kFanOut;
      out->push_back({fan_out ? Column::Kind::kFanOut : Column::Kind::kScalar, std::move(path)});
      return;
    }
    case KeyExpression::Kind::kNest: {
      const auto& nest = static_cast<const metadata::NestingKeyExpression&>(expression);
      if (nest.parent().fan_type() == FanType::kConcatenate ||
          (under_fan_out && nest.parent().fan_type() == FanType::kFanOut)) {
        opaque();
        return;
      }
      Path path = prefix;
      path.push_back(nest.parent().name());
      CollectColumns(nest.child(), path,
                     under_fan_out || nest.parent().fan_type() == FanType::kFanOut, out);
      return;
    }
    case KeyExpression::Kind::kThen:
      for (const auto& child : static_cast<const metadata::ThenKeyExpression&>(expression)
                                   .children()) {
        CollectColumns(*child, prefix, under_fan_out, out);
      }
      return;
    case KeyExpression::Kind::kRecordTypeKey:
      out->push_back({Column::Kind::kRecordTypeKey, {}});
      return;
    case KeyExpression::Kind::kKeyWithValue:
      CollectColumns(static_cast<const metadata::KeyWithValueKeyExpression&>(expression).inner(),
                     prefix, under_fan_out, out);
      return;
    case KeyExpression::Kind::kGrouping:
      CollectColumns(static_cast<const metadata::GroupingKeyExpression&>(expression).whole(),
                     prefix, under_fan_out, out);
      return;
    default:
      opaque();
      return;
  }
}

std::vector<Column> ColumnsOf(const KeyExpression& expression) {
  std::vector<Column> columns;
  CollectColumns(expression, {}, false, &columns);
  return columns;
}

// A comparison on one column, from one conjunct of the filter.
struct Sarg {
  Path path;
  bool fan_out = false;
  const Comparison* comparison = nullptr;
  size_t conjunct = 0;
};

// The filter's top-level conjuncts and what an index could answer of them.
struct Conjuncts {
  std::vector<const QueryComponent*> parts;
  std::vector<Sarg> sargs;
  // parts[i] is wholly expressed by its sargs (so answering them all answers it).
  std::vector<bool> complete;
};

void FlattenAnd(const QueryComponent& component, std::vector<const QueryComponent*>* out) {
  if (component.kind() == QueryComponent::Kind::kAnd) {
    for (const ComponentPtr& child : static_cast<const BooleanComponent&>(component).children()) {
      FlattenAnd(*child, out);
    }
    return;
  }
  out->push_back(&component);
}

// Adds the sargs of `component` (under nested fields `prefix`); false when some part of it
// is not a column comparison.
bool AddSargs(const QueryComponent& component, const Path& prefix, size_t conjunct,
              std::vector<Sarg>* out) {
  switch (component.kind()) {
    case QueryComponent::Kind::kField: {
      const auto& field = static_cast<const FieldComponent&>(component);
      Path path = prefix;
      path.push_back(field.field());
      out->push_back({std::move(path), false, &field.comparison(), conjunct});
      return true;
    }
    case QueryComponent::Kind::kOneOfThem: {
      const auto& any = static_cast<const OneOfThemComponent&>(component);
      Path path = prefix;
      path.push_back(any.field());
      out->push_back({std::move(path), true, &any.comparison(), conjunct});
      return true;
    }
    case QueryComponent::Kind::kNested: {
      const auto& nested = static_cast<const NestedComponent&>(component);
      Path path = prefix;
      path.push_back(nested.field());
      // a.(x AND y) is a.x AND a.y: the nested message is one and the same.
      std::vector<const QueryComponent*> parts;
      FlattenAnd(nested.child(), &parts);
      bool complete = true;
      for (const QueryComponent* part : parts) complete &= AddSargs(*part, path, conjunct, out);
      return complete;
    }
    case QueryComponent::Kind::kOneOfThemMatches: {
      const auto& any = static_cast<const OneOfThemMatchesComponent&>(component);
      // One condition on the element: the same as a fan-out column of its field.
      if (!prefix.empty() || any.child().kind() != QueryComponent::Kind::kField) return false;
      const auto& field = static_cast<const FieldComponent&>(any.child());
      out->push_back({{any.field(), field.field()}, true, &field.comparison(), conjunct});
      return true;
    }
    default:
      return false;
  }
}

Conjuncts SplitConjuncts(const QueryComponent* filter) {
  Conjuncts conjuncts;
  if (filter == nullptr) return conjuncts;
  FlattenAnd(*filter, &conjuncts.parts);
  for (size_t i = 0; i < conjuncts.parts.size(); ++i) {
    std::vector<Sarg> sargs;
    bool complete = AddSargs(*conjuncts.parts[i], {}, i, &sargs);
    conjuncts.complete.push_back(complete);
    for (Sarg& sarg : sargs) conjuncts.sargs.push_back(std::move(sarg));
  }
  return conjuncts;
}

// How one candidate (the primary key or an index) answers the filter and the sort.
struct Match {
  const metadata::Index* index = nullptr;  // null: the primary key
  std::vector<Column> columns;             // the key columns (index: without primary key)
  int key_count = 0;
  // Leading columns fixed by equality, or (one of them) by an IN list.
  struct Fixed {
    TupleElement value;
    const Comparison* in = nullptr;
    bool counts = true;  // false for the record type key
  };
  std::vector<Fixed> fixed;
  const Comparison* low = nullptr;
  const Comparison* high = nullptr;
  const Comparison* starts_with = nullptr;
  std::set<size_t> used_sargs;
  bool reverse = false;
  // The sort continues past an IN column: its inputs merge by the sort key.
  bool merge_by_sort = false;
  // The candidate returns records in the query's sort order.
  bool sort_ok = false;
  int score = 0;

  int in_column() const {
    for (size_t i = 0; i < fixed.size(); ++i) {
      if (fixed[i].in != nullptr) return static_cast<int>(i);
    }
    return -1;
  }
  bool has_range() const { return low != nullptr || high != nullptr || starts_with != nullptr; }
  // Entries come in primary key order: every key column fixed to one value.
  bool ordered_by_primary_key() const {
    return index != nullptr && static_cast<int>(fixed.size()) == key_count && in_column() < 0 &&
           !has_range();
  }
};

struct PlanningContext {
  const store::RecordStore* store;
  const RecordQuery* query;
  const ExecuteProperties* properties;
  std::vector<const metadata::RecordType*> types;
  // The filter bound to each type (same order as types); null when there is no filter.
  std::vector<ComponentPtr> bound;
};

bool SargMatchesColumn(const Sarg& sarg, const Column& column) {
  if (sarg.path != column.path) return false;
  return column.kind == (sarg.fan_out ? Column::Kind::kFanOut : Column::Kind::kScalar);
}

// Matches the conjuncts against `columns` (see planner.h for the rules). `allowed` limits the
// sargs that may be used (for intersections); null allows all.
Match MatchColumns(const PlanningContext& context, const Conjuncts& conjuncts,
                   const metadata::Index* index, std::vector<Column> columns, int key_count,
                   const std::set<size_t>* excluded_conjuncts) {
  Match match;
  match.index = index;
  match.columns = std::move(columns);
  match.key_count = key_count;
  auto usable = [&](const Sarg& sarg) {
    return excluded_conjuncts == nullptr || !excluded_conjuncts->contains(sarg.conjunct);
  };
  for (int i = 0; i < key_count; ++i) {
    const Column& column = match.columns[i];
    if (column.kind == Column::Kind::kRecordTypeKey) {
      if (context.types.size() != 1) break;
      match.fixed.push_back({context.types[0]->record_type_key(), nullptr, false});
      continue;
    }
    if (column.kind == Column::Kind::kOpaque) break;
    bool fixed = false;
    for (size_t s = 0; s < conjuncts.sargs.size() && !fixed; ++s) {
      const Sarg& sarg = conjuncts.sargs[s];
      if (!usable(sarg) || !SargMatchesColumn(sarg, column)) continue;
      const Comparison& comparison = *sarg.comparison;
      if (comparison.type() == ComparisonType::kEquals) {
        match.fixed.push_back({comparison.value(), nullptr, true});
      } else if (comparison.type() == ComparisonType::kIsNull && !sarg.fan_out) {
        match.fixed.push_back({TupleElement(), nullptr, true});
      } else {
        continue;
      }
      match.used_sargs.insert(s);
      fixed = true;
    }
    if (fixed) {
      // Two fan-out columns need not come from the same element: stop after one.
      if (column.kind == Column::Kind::kFanOut) break;
      continue;
    }
    if (column.kind == Column::Kind::kFanOut) break;
    // One IN list per scan, on a scalar column.
    if (match.in_column() < 0) {
      for (size_t s = 0; s < conjuncts.sargs.size() && !fixed; ++s) {
        const Sarg& sarg = conjuncts.sargs[s];
        if (!usable(sarg) || !SargMatchesColumn(sarg, column) ||
            sarg.comparison->type() != ComparisonType::kIn) {
          continue;
        }
        match.fixed.push_back({TupleElement(), sarg.comparison, true});
        match.used_sargs.insert(s);
        fixed = true;
      }
      if (fixed) continue;
    }
    // A range ends the match.
    for (size_t s = 0; s < conjuncts.sargs.size(); ++s) {
      const Sarg& sarg = conjuncts.sargs[s];
      if (!usable(sarg) || !SargMatchesColumn(sarg, column)) continue;
      const Comparison& comparison = *sarg.comparison;
      switch (comparison.type()) {
        case ComparisonType::kGreaterThan:
        case ComparisonType::kGreaterThanOrEquals:
          if (match.low != nullptr || match.starts_with != nullptr) continue;
          match.low = &comparison;
          break;
        case ComparisonType::kLessThan:
        case ComparisonType::kLessThanOrEquals:
          if (match.high != nullptr || match.starts_with != nullptr) continue;
          match.high = &comparison;
          break;
        case ComparisonType::kStartsWith:
          // Strings only: UTF-8 never holds \xff, which bounds the range (bytes may).
          if (match.has_range() || comparison.value().get_if<std::string>() == nullptr) continue;
          match.starts_with = &comparison;
          break;
        default:
          continue;
      }
      match.used_sargs.insert(s);
    }
    break;
  }
  for (const Match::Fixed& fixed : match.fixed) match.score += fixed.counts ? 1 : 0;
  if (match.has_range()) ++match.score;
  return match;
}

// Whether `match` yields records in the query's sort order; sets reverse / merge_by_sort.
bool SatisfiesSort(const PlanningContext& context, Match& match,
                   const std::vector<Column>& order_columns) {
  match.reverse = context.query->sort_descending;
  if (context.query->sort == nullptr) {
    match.reverse = false;
    return true;
  }
  std::vector<Column> sort = ColumnsOf(*context.query->sort);
  for (const Column& column : sort) {
    if (column.kind != Column::Kind::kScalar && column.kind != Column::Kind::kRecordTypeKey) {
      return false;
    }
  }
  const int in_column = match.in_column();
  const int fixed_count = static_cast<int>(match.fixed.size());
  // The first column not fixed by an equality (an IN column is not fixed: it varies).
  int first_free = 0;
  while (first_free < fixed_count && match.fixed[first_free].in == nullptr) ++first_free;
  // Past an IN column (and the equalities after it), the order holds per IN value only: the
  // per-value scans then merge by the sort key.
  int last_start = first_free;
  if (in_column >= 0) last_start = fixed_count;
  for (int start = 0; start <= last_start; ++start) {
    if (start + sort.size() > order_columns.size()) break;
    if (!std::equal(sort.begin(), sort.end(), order_columns.begin() + start)) continue;
    match.merge_by_sort = in_column >= 0 && in_column < start;
    return true;
  }
  // Every sort column fixed by an equality: one value, so any order.
  bool all_fixed = true;
  for (const Column& column : sort) {
    auto it = std::find(order_columns.begin(), order_columns.begin() + first_free, column);
    all_fixed &= it != order_columns.begin() + first_free;
  }
  if (all_fixed) {
    match.reverse = false;
    return true;
  }
  return false;
}

// The scan range of `match` with the IN column (if any) fixed to `in_value`.
TupleRange RangeOf(const Match& match, const TupleElement* in_value) {
  Tuple prefix;
  for (const Match::Fixed& fixed : match.fixed) {
    prefix.Append(fixed.in != nullptr ? *in_value : fixed.value);
  }
  if (!match.has_range()) {
    return prefix.empty() ? TupleRange::All() : TupleRange::Prefix(prefix);
  }
  using Bound = TupleRange::Bound;
  TupleRange range;
  auto with = [&](const TupleElement& value) {
    Tuple tuple = prefix;
    tuple.Append(value);
    return tuple;
  };
  if (match.starts_with != nullptr) {
    const std::string& text = *match.starts_with->value().get_if<std::string>();
    return TupleRange::Between(with(text), Bound::kInclusive, with(text + "\xff"),
                               Bound::kExclusive);
  }
  if (match.low != nullptr) {
    range.low = with(match.low->value());
    range.low_bound = match.low->type() == ComparisonType::kGreaterThan ? Bound::kExclusive
                                                                         : Bound::kInclusive;
  } else {
    // Nulls sort first and never satisfy a comparison.
    range.low = with(TupleElement());
    range.low_bound = Bound::kExclusive;
  }
  if (match.high != nullptr) {
    range.high = with(match.high->value());
    range.high_bound = match.high->type() == ComparisonType::kLessThan ? Bound::kExclusive
                                                                        : Bound::kInclusive;
  } else if (!prefix.empty()) {
    range.high = prefix;
    range.high_bound = Bound::kInclusive;
  }
  return range;
}

// Where each field of a covering index entry comes from.
using CoverMap = std::map<Path, CoveringIndexPlan::FieldSource>;

CoverMap CoverableFields(const metadata::Index& index, const metadata::RecordType& type) {
  CoverMap fields;
  std::vector<Column> all = ColumnsOf(index.root());
  const int key_count = index::IndexKeyColumnCount(index);
  for (int i = 0; i < static_cast<int>(all.size()); ++i) {
    if (all[i].kind != Column::Kind::kScalar) continue;
    CoveringIndexPlan::FieldSource source;
    source.path = all[i].path;
    source.from = i < key_count ? CoveringIndexPlan::FieldSource::From::kKey
                                : CoveringIndexPlan::FieldSource::From::kValue;
    source.column = i < key_count ? i : i - key_count;
    fields.emplace(all[i].path, source);
  }
  std::vector<Column> primary = ColumnsOf(type.primary_key());
  for (int j = 0; j < static_cast<int>(primary.size()); ++j) {
    if (primary[j].kind != Column::Kind::kScalar) continue;
    CoveringIndexPlan::FieldSource source{primary[j].path,
                                          CoveringIndexPlan::FieldSource::From::kKey,
                                          key_count + j};
    fields.emplace(primary[j].path, source);
  }
  return fields;
}

// The field paths `component` reads; false when it reads a repeated field.
bool FieldsRead(const QueryComponent& component, const Path& prefix, std::set<Path>* out) {
  switch (component.kind()) {
    case QueryComponent::Kind::kField: {
      Path path = prefix;
      path.push_back(static_cast<const FieldComponent&>(component).field());
      out->insert(std::move(path));
      return true;
    }
    case QueryComponent::Kind::kNested: {
      const auto& nested = static_cast<const NestedComponent&>(component);
      Path path = prefix;
      path.push_back(nested.field());
      return FieldsRead(nested.child(), path, out);
    }
    case QueryComponent::Kind::kAnd:
    case QueryComponent::Kind::kOr:
      for (const ComponentPtr& child : static_cast<const BooleanComponent&>(component).children()) {
        if (!FieldsRead(*child, prefix, out)) return false;
      }
      return true;
    case QueryComponent::Kind::kNot:
      return FieldsRead(static_cast<const NotComponent&>(component).child(), prefix, out);
    default:
      return false;
  }
}

class Planner {
 public:
  explicit Planner(PlanningContext context) : context_(std::move(context)) {}

  StatusOr<PlanPtr> Plan() {
    const QueryComponent* filter = context_.bound.empty() ? nullptr : context_.bound[0].get();
    if (filter != nullptr && filter->kind() == QueryComponent::Kind::kOr &&
        context_.query->sort == nullptr) {
      if (std::optional<PlanPtr> unioned = PlanUnion(*filter)) return *std::move(unioned);
    }
    Conjuncts conjuncts = SplitConjuncts(filter);
    std::vector<Match> candidates = Candidates(conjuncts, nullptr);
    const Match* best = nullptr;
    for (const Match& candidate : candidates) {
      if (!candidate.sort_ok) continue;
      if (best == nullptr || Better(candidate, *best)) best = &candidate;
    }
    if (best == nullptr) {
      if (!context_.properties->allow_in_memory_sort || context_.properties->row_limit <= 0) {
        return MissingSortIndex();
      }
      for (const Match& candidate : candidates) {
        if (best == nullptr || Better(candidate, *best)) best = &candidate;
      }
      Match unsorted = *best;
      unsorted.reverse = false;
      unsorted.merge_by_sort = false;
      ASSIGN_OR_RETURN(PlanPtr input, Assemble(unsorted, conjuncts));
      std::shared_ptr<const KeyExpression> key = SortKey();
      return PlanPtr(std::make_unique<InMemorySortPlan>(
          std::move(input), key, context_.query->sort_descending,
          context_.properties->row_limit + context_.properties->skip));
    }
    if (std::optional<PlanPtr> intersected = PlanIntersection(*best, conjuncts)) {
      return *std::move(intersected);
    }
    return Assemble(*best, conjuncts);
  }

 private:
  std::vector<Match> Candidates(const Conjuncts& conjuncts,
                                const std::set<size_t>* excluded) const {
    std::vector<Match> candidates;
    // The primary key, when every queried type has the same one.
    const KeyExpression& primary = context_.types[0]->primary_key();
    bool shared_primary = true;
    for (const metadata::RecordType* type : context_.types) {
      // The identity test first: KeyExpression's == compares protobuf messages field by field
      // (~40,000 instructions), once per candidate list, and a single-type query only ever
      // compares the first type's key with itself.
      shared_primary &= &type->primary_key() == &primary || type->primary_key() == primary;
    }
    // Types with different primary keys: a scan of every record, matching no column.
    std::vector<Column> primary_columns;
    if (shared_primary) primary_columns = ColumnsOf(primary);
    {
      const int count = static_cast<int>(primary_columns.size());
      Match match = MatchColumns(context_, conjuncts, nullptr, primary_columns, count, excluded);
      match.sort_ok = SatisfiesSort(context_, match, match.columns);
      candidates.push_back(std::move(match));
    }
    for (const metadata::Index& index : context_.store->metadata().indexes()) {
      if (index.type() != metadata::index_types::kValue) continue;
      if (context_.store->GetIndexState(index.name()) != index::IndexState::kReadable) continue;
      bool covers_types = true;
      for (const metadata::RecordType* type : context_.types) {
        covers_types &= index.AppliesTo(type->name());
      }
      if (!covers_types) continue;
      std::vector<Column> columns = ColumnsOf(index.root());
      const int key_count = index::IndexKeyColumnCount(index);
      columns.resize(key_count);
      Match match =
          MatchColumns(context_, conjuncts, &index, std::move(columns), key_count, excluded);
      if (context_.query->sort == nullptr) {
        // Any order will do: SatisfiesSort would not look at the order columns.
        match.sort_ok = SatisfiesSort(context_, match, {});
      } else {
        // Entries order by key columns, then primary key.
        std::vector<Column> order = match.columns;
        order.insert(order.end(), primary_columns.begin(), primary_columns.end());
        match.sort_ok = SatisfiesSort(context_, match, order);
      }
      candidates.push_back(std::move(match));
    }
    return candidates;
  }

  bool Better(const Match& a, const Match& b) const {
    if (a.score != b.score) return a.score > b.score;
    if ((a.index == nullptr) != (b.index == nullptr)) return a.index == nullptr;
    return Covers(a) && !Covers(b);
  }

  // The fields a covering scan of `match` must provide, or nullopt when it cannot cover.
  std::optional<std::vector<CoveringIndexPlan::FieldSource>> CoveringFields(
      const Match& match, const std::vector<const QueryComponent*>& residual) const {
    if (match.index == nullptr || context_.query->required_fields.empty() ||
        context_.types.size() != 1) {
      return std::nullopt;
    }
    CoverMap available = CoverableFields(*match.index, *context_.types[0]);
    std::set<Path> needed;
    for (const std::string& field : context_.query->required_fields) {
      needed.insert(absl::StrSplit(field, '.'));
    }
    for (const QueryComponent* part : residual) {
      if (!FieldsRead(*part, {}, &needed)) return std::nullopt;
    }
    std::vector<CoveringIndexPlan::FieldSource> sources;
    for (const Path& path : needed) {
      auto found = available.find(path);
      if (found == available.end()) return std::nullopt;
      sources.push_back(found->second);
    }
    return sources;
  }

  bool Covers(const Match& match) const {
    return CoveringFields(match, {}).has_value();
  }

  // The conjuncts `match` leaves to a filter.
  std::vector<size_t> Residual(const Match& match, const Conjuncts& conjuncts) const {
    std::set<size_t> answered;
    for (size_t i = 0; i < conjuncts.parts.size(); ++i) {
      if (!conjuncts.complete[i]) continue;
      bool all_used = true;
      bool any = false;
      for (size_t s = 0; s < conjuncts.sargs.size(); ++s) {
        if (conjuncts.sargs[s].conjunct != i) continue;
        any = true;
        all_used &= match.used_sargs.contains(s);
      }
      if (any && all_used) answered.insert(i);
    }
    std::vector<size_t> residual;
    for (size_t i = 0; i < conjuncts.parts.size(); ++i) {
      if (!answered.contains(i)) residual.push_back(i);
    }
    return residual;
  }

  // One scan of `match` with its IN column at `in_value`.
  PlanPtr Scan(const Match& match, const TupleElement* in_value,
               const std::optional<std::vector<CoveringIndexPlan::FieldSource>>& covering) const {
    TupleRange range = RangeOf(match, in_value);
    if (match.index == nullptr) return std::make_unique<PrimaryScanPlan>(range, match.reverse);
    auto scan = std::make_unique<IndexScanPlan>(match.index->name(), range, match.reverse,
                                                match.ordered_by_primary_key());
    if (covering.has_value()) {
      return std::make_unique<CoveringIndexPlan>(std::move(scan), context_.types[0], *covering);
    }
    return scan;
  }

  StatusOr<PlanPtr> Assemble(const Match& match, const Conjuncts& conjuncts) const {
    std::vector<size_t> residual = Residual(match, conjuncts);
    std::vector<const QueryComponent*> residual_parts;
    for (size_t i : residual) residual_parts.push_back(conjuncts.parts[i]);
    std::optional<std::vector<CoveringIndexPlan::FieldSource>> covering =
        CoveringFields(match, residual_parts);

    PlanPtr plan;
    const int in_column = match.in_column();
    if (in_column < 0) {
      plan = Scan(match, nullptr, covering);
    } else {
      const Comparison& in = *match.fixed[in_column].in;
      std::vector<TupleElement> values = in.values();
      if (match.reverse) std::reverse(values.begin(), values.end());
      std::vector<PlanPtr> per_value;
      for (const TupleElement& value : values) per_value.push_back(Scan(match, &value, covering));
      std::shared_ptr<const KeyExpression> merge_key =
          match.merge_by_sort ? SortKey() : nullptr;
      std::string description = absl::StrJoin(match.columns[in_column].path, ".") + " " +
                                in.ToString();
      plan = std::make_unique<InJoinPlan>(std::move(description), std::move(per_value),
                                          merge_key, match.reverse);
    }
    // Types the scan may return that the query did not ask for.
    bool needs_type_filter = false;
    if (match.index == nullptr) {
      const bool restricted = !match.fixed.empty() && !match.fixed[0].counts;
      needs_type_filter = !restricted && context_.types.size() <
                                             context_.store->metadata().record_types().size();
    } else {
      for (const metadata::RecordType& type : context_.store->metadata().record_types()) {
        bool queried = std::find(context_.types.begin(), context_.types.end(), &type) !=
                       context_.types.end();
        needs_type_filter |= !queried && match.index->AppliesTo(type.name());
      }
    }
    if (needs_type_filter) {
      std::vector<std::string> names;
      for (const metadata::RecordType* type : context_.types) names.push_back(type->name());
      plan = std::make_unique<TypeFilterPlan>(std::move(plan), std::move(names));
    }
    if (!residual.empty()) plan = WithFilter(std::move(plan), residual);
    return plan;
  }

  // `plan` filtered by conjuncts `parts` (indexes into each type's conjuncts).
  PlanPtr WithFilter(PlanPtr plan, const std::vector<size_t>& parts) const {
    std::vector<std::pair<std::string, ComponentPtr>> filters;
    for (size_t t = 0; t < context_.types.size(); ++t) {
      std::vector<const QueryComponent*> all;
      FlattenAnd(*context_.bound[t], &all);
      std::vector<ComponentPtr> kept;
      for (size_t i : parts) kept.push_back(all[i]->Clone());
      ComponentPtr filter = kept.size() == 1 ? std::move(kept[0]) : And(std::move(kept));
      filters.emplace_back(context_.types[t]->name(), std::move(filter));
    }
    return std::make_unique<FilterPlan>(std::move(plan), std::move(filters));
  }

  std::optional<PlanPtr> PlanUnion(const QueryComponent& filter) const {
    std::vector<PlanPtr> branches;
    for (const ComponentPtr& branch : static_cast<const BooleanComponent&>(filter).children()) {
      Planner sub(SubContext(*branch));
      Conjuncts conjuncts = SplitConjuncts(sub.context_.bound[0].get());
      std::vector<Match> candidates = sub.Candidates(conjuncts, nullptr);
      const Match* best = nullptr;
      for (const Match& candidate : candidates) {
        // Only scans in primary key order can merge; a branch no index narrows would make
        // the union a full scan anyway.
        const bool ordered = candidate.index == nullptr || candidate.ordered_by_primary_key();
        if (candidate.score == 0 || candidate.in_column() >= 0 || !ordered) continue;
        if (best == nullptr || sub.Better(candidate, *best)) best = &candidate;
      }
      if (best == nullptr) return std::nullopt;
      StatusOr<PlanPtr> plan = sub.Assemble(*best, conjuncts);
      if (!plan.ok()) return std::nullopt;
      branches.push_back(*std::move(plan));
    }
    return PlanPtr(std::make_unique<SetOperationPlan>(SetOperationPlan::Kind::kUnion,
                                                      std::move(branches)));
  }

  // The planning context of one OR branch: same types, that branch as the filter.
  PlanningContext SubContext(const QueryComponent& branch) const {
    PlanningContext sub{context_.store, context_.query, context_.properties, context_.types, {}};
    for (size_t t = 0; t < context_.types.size(); ++t) {
      const auto& children =
          static_cast<const BooleanComponent&>(*context_.bound[t]).children();
      // Branches line up across types: binding keeps the structure.
      size_t position = 0;
      const auto& first = static_cast<const BooleanComponent&>(*context_.bound[0]).children();
      while (first[position].get() != &branch) ++position;
      sub.bound.push_back(children[position]->Clone());
    }
    return sub;
  }

  std::optional<PlanPtr> PlanIntersection(const Match& best, const Conjuncts& conjuncts) const {
    if (!best.ordered_by_primary_key() || context_.query->sort != nullptr) return std::nullopt;
    std::set<size_t> taken;
    for (size_t s : best.used_sargs) taken.insert(conjuncts.sargs[s].conjunct);
    std::vector<Match> others;
    for (int round = 0; round < 4; ++round) {
      std::vector<Match> candidates = Candidates(conjuncts, &taken);
      const Match* next = nullptr;
      for (const Match& candidate : candidates) {
        if (candidate.index == nullptr || candidate.index == best.index ||
            !candidate.ordered_by_primary_key() || candidate.score == 0) {
          continue;
        }
        if (next == nullptr || Better(candidate, *next)) next = &candidate;
      }
      if (next == nullptr) break;
      for (size_t s : next->used_sargs) taken.insert(conjuncts.sargs[s].conjunct);
      others.push_back(*next);
    }
    if (others.empty()) return std::nullopt;
    std::vector<PlanPtr> inputs;
    Match merged = best;
    inputs.push_back(Scan(best, nullptr, std::nullopt));
    for (const Match& other : others) {
      inputs.push_back(Scan(other, nullptr, std::nullopt));
      merged.used_sargs.insert(other.used_sargs.begin(), other.used_sargs.end());
    }
    PlanPtr plan = std::make_unique<SetOperationPlan>(SetOperationPlan::Kind::kIntersection,
                                                      std::move(inputs));
    std::vector<size_t> residual = Residual(merged, conjuncts);
    if (!residual.empty()) plan = WithFilter(std::move(plan), residual);
    return plan;
  }

  std::shared_ptr<const KeyExpression> SortKey() const {
    StatusOr<std::unique_ptr<KeyExpression>> copy =
        KeyExpression::FromProto(context_.query->sort->ToProto());
    return std::shared_ptr<const KeyExpression>(*std::move(copy));
  }

  Status MissingSortIndex() const {
    std::vector<std::string> names;
    for (const metadata::RecordType* type : context_.types) names.push_back(type->name());
    return MakeError(ErrorCode::kMissingIndex, absl::StrCat(
        "no index provides ORDER BY ", context_.query->sort->ToString(),
        context_.query->sort_descending ? " DESC" : "", " for ", absl::StrJoin(names, ", "),
        " with this filter; add a value index on ", context_.query->sort->ToString(),
        " (after the columns the filter fixes by equality), or allow an in-memory sort with a "
        "row limit"));
  }

  PlanningContext context_;
};

// Cursor that owns the execution's scan limiter.
class QueryCursor : public cursor::RecordCursor<StoredRecord> {
 public:
  QueryCursor(std::unique_ptr<cursor::ScanLimiter> limiter, RecordCursorPtr inner)
      : limiter_(std::move(limiter)), inner_(std::move(inner)) {}
  StatusOr<cursor::CursorResult<StoredRecord>> Next() override { return inner_->Next(); }

 private:
  std::unique_ptr<cursor::ScanLimiter> limiter_;  // declared first: outlives inner_
  RecordCursorPtr inner_;
};

StatusOr<PlanningContext> Prepare(const store::RecordStore& store, const RecordQuery& query,
                                  const ExecuteProperties& properties) {
  PlanningContext context{&store, &query, &properties, {}, {}};
  const metadata::RecordMetaData& metadata = store.metadata();
  if (query.record_types.empty()) {
    for (const metadata::RecordType& type : metadata.record_types()) context.types.push_back(&type);
  } else {
    for (const std::string& name : query.record_types) {
      const metadata::RecordType* type = metadata.FindRecordType(name);
      if (type == nullptr) return Invalid("no record type " + name);
      if (std::find(context.types.begin(), context.types.end(), type) == context.types.end()) {
        context.types.push_back(type);
      }
    }
  }
  if (query.filter != nullptr) {
    for (const metadata::RecordType* type : context.types) {
      ASSIGN_OR_RETURN(ComponentPtr bound, query.filter->Bind(type->descriptor()));
      if (!context.bound.empty() && bound->ToString() != context.bound[0]->ToString()) {
        return Invalid("the filter means different things for " + context.types[0]->name() +
                       " and " + type->name() + ": " + context.bound[0]->ToString() + " vs " +
                       bound->ToString());
      }
      context.bound.push_back(std::move(bound));
    }
  }
  if (query.sort != nullptr) {
    for (const metadata::RecordType* type : context.types) {
      StatusOr<metadata::ExpressionShape> shape = query.sort->Validate(type->descriptor());
      if (!shape.ok()) return Invalid("ORDER BY: " + std::string(shape.status().message()));
    }
  }
  return context;
}

}  // namespace

StatusOr<PlanPtr> PlanQuery(const store::RecordStore& store, const RecordQuery& query,
                            const ExecuteProperties& properties) {
  if (query.aggregate.has_value()) {
    return MakeError(ErrorCode::kUnsupported,
                     "an aggregate query has no record plan; use EvaluateAggregateQuery");
  }
  ASSIGN_OR_RETURN(PlanningContext context, Prepare(store, query, properties));
  return Planner(std::move(context)).Plan();
}

StatusOr<RecordCursorPtr> ExecuteQuery(store::RecordStore& store, const RecordQueryPlan& plan,
                                       const Continuation& continuation,
                                       const ExecuteProperties& properties) {
  auto limiter = std::make_unique<cursor::ScanLimiter>(properties.scan_limits);
  ExecutionContext context{&store, limiter.get(), properties.snapshot};
  cursor::CursorFactory<StoredRecord> base = [&plan, context](const Continuation& position) {
    return plan.Execute(context, position);
  };
  cursor::CursorFactory<StoredRecord> skipped = base;
  if (properties.skip > 0) {
    const uint64_t skip = static_cast<uint64_t>(properties.skip);
    skipped = [base, skip](const Continuation& position) {
      return cursor::SkipCursor<StoredRecord>::Create(base, skip, position);
    };
  }
  RecordCursorPtr inner;
  if (properties.row_limit > 0) {
    ASSIGN_OR_RETURN(inner, cursor::LimitCursor<StoredRecord>::Create(
                                skipped, static_cast<uint64_t>(properties.row_limit),
                                continuation));
  } else {
    ASSIGN_OR_RETURN(inner, skipped(continuation));
  }
  return RecordCursorPtr(std::make_unique<QueryCursor>(std::move(limiter), std::move(inner)));
}

StatusOr<TupleElement> EvaluateAggregateQuery(store::RecordStore& store, const RecordQuery& query) {
  if (!query.aggregate.has_value()) {
    return Invalid("not an aggregate query: " + query.ToString());
  }
  ExecuteProperties properties;
  ASSIGN_OR_RETURN(PlanningContext context, Prepare(store, query, properties));
  const Aggregate& aggregate = *query.aggregate;
  Conjuncts conjuncts =
      SplitConjuncts(context.bound.empty() ? nullptr : context.bound[0].get());
  Path field = aggregate.field.empty() ? Path{} : Path(absl::StrSplit(aggregate.field, '.'));
  std::vector<std::string> type_names;
  for (const metadata::RecordType* type : context.types) type_names.push_back(type->name());

  for (const metadata::Index& index : store.metadata().indexes()) {
    if (store.GetIndexState(index.name()) != index::IndexState::kReadable) continue;
    // The index must hold exactly the queried types' records (or tell them apart by a
    // record type key column the query fixes).
    std::vector<Column> columns = ColumnsOf(index.root());
    int grouping = 0;
    bool count_like = false;
    switch (aggregate.function) {
      case AggregateFunction::kCount:
        if (index.type() != metadata::index_types::kCount) continue;
        grouping = static_cast<int>(columns.size());
        count_like = true;
        break;
      case AggregateFunction::kSum:
        if (index.type() != metadata::index_types::kSum || columns.back().path != field ||
            columns.back().kind != Column::Kind::kScalar) {
          continue;
        }
        grouping = static_cast<int>(columns.size()) - 1;
        count_like = true;
        break;
      case AggregateFunction::kMin:
      case AggregateFunction::kMax:
        if (index.type() != metadata::index_types::kValue) continue;
        grouping = -1;  // found below: the column holding the field
        for (size_t i = 0; i < columns.size(); ++i) {
          if (columns[i].path == field && columns[i].kind == Column::Kind::kScalar) {
            grouping = static_cast<int>(i);
            break;
          }
        }
        if (grouping < 0 || grouping >= index::IndexKeyColumnCount(index)) continue;
        break;
    }
    Match match = MatchColumns(context, conjuncts, &index, columns, grouping, nullptr);
    if (static_cast<int>(match.fixed.size()) != grouping || match.in_column() >= 0) continue;
    bool record_type_fixed = !match.fixed.empty() && !match.fixed[0].counts;
    bool types_match = record_type_fixed;
    if (!types_match) {
      types_match = true;
      for (const metadata::RecordType& type : store.metadata().record_types()) {
        bool queried = std::find(context.types.begin(), context.types.end(), &type) !=
                       context.types.end();
        types_match &= queried == index.AppliesTo(type.name());
      }
    }
    if (!types_match) continue;
    // Every conjunct must be answered by the grouping.
    Match all_used = match;
    bool complete = true;
    for (size_t i = 0; i < conjuncts.parts.size(); ++i) {
      bool used = conjuncts.complete[i];
      for (size_t s = 0; s < conjuncts.sargs.size(); ++s) {
        if (conjuncts.sargs[s].conjunct == i) used &= match.used_sargs.contains(s);
      }
      complete &= used;
    }
    if (!complete) continue;
    Tuple group;
    for (const Match::Fixed& fixed : match.fixed) group.Append(fixed.value);
    if (count_like) {
      ASSIGN_OR_RETURN(Tuple value, store.EvaluateAggregate(index.name(), group));
      return value[0];
    }
    // MIN / MAX: the first / last non-null entry under the group.
    index::ScanOptions options;
    options.reverse = aggregate.function == AggregateFunction::kMax;
    options.row_limit = 1;
    Tuple null_key = group;
    null_key.AppendNull();
    TupleRange range = TupleRange::Between(null_key, TupleRange::Bound::kExclusive, group,
                                           group.empty() ? TupleRange::Bound::kOpen
                                                         : TupleRange::Bound::kInclusive);
    ASSIGN_OR_RETURN(cursor::CursorPtr<index::IndexEntry> entries,
                     store.ScanIndex(index.name(), range, Continuation::Start(), options));
    ASSIGN_OR_RETURN(cursor::CursorResult<index::IndexEntry> first, entries->Next());
    if (!first.has_value()) return TupleElement();
    return first.value().key[grouping];
  }
  std::string what = aggregate.function == AggregateFunction::kCount ? "COUNT(*)"
                     : aggregate.function == AggregateFunction::kSum ? "SUM(" + aggregate.field + ")"
                     : aggregate.function == AggregateFunction::kMin ? "MIN(" + aggregate.field + ")"
                                                                     : "MAX(" + aggregate.field + ")";
  std::string needed = aggregate.function == AggregateFunction::kCount ? "a count index"
                       : aggregate.function == AggregateFunction::kSum
                           ? "a sum index over " + aggregate.field
                           : "a value index on " + aggregate.field;
  return MakeError(ErrorCode::kMissingIndex, "no readable index answers " + what + " of " + absl::StrJoin(type_names, ", ") +
                 (query.filter ? " where " + query.filter->ToString() : "") + "; add " + needed +
                 " grouped by the fields the filter fixes by equality");
}

}  // namespace recordstore::query
