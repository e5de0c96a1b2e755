#include "store/range_set.h"

#include <algorithm>

#include "common/status_macros.h"
#include "tuple/tuple.h"

namespace recordstore::store {

std::string RangeSet::EntryKey(std::string_view begin) const {
  return subspace_.Pack(Tuple().AppendBytes(begin));
}

StatusOr<RangeSet::Range> RangeSet::Decode(const kv::KeyValue& row) const {
  StatusOr<Tuple> key = subspace_.Unpack(row.key);
  const ByteString* begin = nullptr;
  if (key.ok() && key->size() == 1) begin = (*key)[0].get_if<ByteString>();
  if (begin == nullptr || begin->data >= row.value) {
    return MakeError(ErrorCode::kDataCorruption, "a range set entry does not parse");
  }
  return Range{begin->data, row.value};
}

Status RangeSet::WalkGaps(kv::Transaction& txn, std::string_view begin, std::string_view end,
                          const std::function<bool(const Range&)>& gap) const {
  // `covered`: everything in [begin, covered) is in the set.
  std::string covered(begin);
  // The last entry beginning at or before `begin` may reach into the range.
  auto [space_begin, space_end] = subspace_.Range();
  ASSIGN_OR_RETURN(
      kv::RangeResult before,
      txn.GetRange(kv::RangeEndpoint::Inclusive(space_begin),
                   kv::RangeEndpoint::Inclusive(EntryKey(begin)), {.limit = 1, .reverse = true}));
  if (!before.rows.empty()) {
    ASSIGN_OR_RETURN(Range range, Decode(before.rows.front()));
    if (range.end > covered) covered = range.end;
  }
  kv::RangeReader entries(txn, kv::RangeEndpoint::Exclusive(EntryKey(begin)),
                          kv::RangeEndpoint::Exclusive(EntryKey(end)), {}, {.first_batch_rows = 8});
  while (covered < end) {
    ASSIGN_OR_RETURN(const kv::KeyValue* row, entries.Next());
    if (row == nullptr) {
      gap(Range{covered, std::string(end)});
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(Range range, Decode(*row));
    if (range.begin > covered && !gap(Range{covered, range.begin})) return absl::OkStatus();
    covered = std::max(covered, range.end);
  }
  return absl::OkStatus();
}

StatusOr<bool> RangeSet::InsertRange(kv::Transaction& txn, std::string_view begin,
                                     std::string_view end) const {
  if (begin >= end || end > kEnd) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "range set insertion of an empty range or one "
                     "past the end of the key space");
  }
  std::vector<Range> gaps;
  RETURN_IF_ERROR(WalkGaps(txn, begin, end, [&](const Range& gap) {
    gaps.push_back(gap);
    return true;
  }));
  for (const Range& gap : gaps) txn.Set(EntryKey(gap.begin), gap.end);
  return !gaps.empty();
}

StatusOr<bool> RangeSet::Contains(kv::Transaction& txn, std::string_view key) const {
  auto [space_begin, space_end] = subspace_.Range();
  ASSIGN_OR_RETURN(kv::RangeResult before, txn.GetRange(kv::RangeEndpoint::Inclusive(space_begin),
                                                        kv::RangeEndpoint::Inclusive(EntryKey(key)),
                                                        {.limit = 1, .reverse = true}));
  if (before.rows.empty()) return false;
  ASSIGN_OR_RETURN(Range range, Decode(before.rows.front()));
  return key < range.end;
}

StatusOr<std::vector<RangeSet::Range>> RangeSet::MissingRanges(kv::Transaction& txn,
                                                               std::string_view begin,
                                                               std::string_view end) const {
  std::vector<Range> gaps;
  if (begin >= end) return gaps;
  RETURN_IF_ERROR(WalkGaps(txn, begin, end, [&](const Range& gap) {
    gaps.push_back(gap);
    return true;
  }));
  return gaps;
}

StatusOr<std::optional<RangeSet::Range>> RangeSet::FirstMissingRange(kv::Transaction& txn,
                                                                     std::string_view begin,
                                                                     std::string_view end) const {
  std::optional<Range> first;
  if (begin >= end) return first;
  RETURN_IF_ERROR(WalkGaps(txn, begin, end, [&](const Range& gap) {
    first = gap;
    return false;
  }));
  return first;
}

StatusOr<std::vector<RangeSet::Range>> RangeSet::Ranges(kv::Transaction& txn) const {
  auto [begin, end] = subspace_.Range();
  kv::RangeReader reader(txn, kv::RangeEndpoint::Inclusive(begin),
                         kv::RangeEndpoint::Exclusive(end));
  std::vector<Range> ranges;
  while (true) {
    ASSIGN_OR_RETURN(const kv::KeyValue* row, reader.Next());
    if (row == nullptr) return ranges;
    ASSIGN_OR_RETURN(Range range, Decode(*row));
    ranges.push_back(std::move(range));
  }
}

void RangeSet::Clear(kv::Transaction& txn) const {
  auto [begin, end] = subspace_.Range();
  txn.ClearRange(begin, end);
}

}  // namespace recordstore::store
