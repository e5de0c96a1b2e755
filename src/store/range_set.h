// RangeSet: a set of byte-string ranges kept in a subspace, laid out as the FoundationDB
// Record Layer's RangeSet: one key per range, subspace.Pack((begin as bytes)) -> end (raw
// bytes). The online indexer records in one the primary-key ranges of an index that are built
// (the store's (6, index) space); writers ask it whether a record's index entries are theirs
// to maintain.
//
// Invariants: stored ranges are non-empty and never overlap. Insertion fills only the gaps and
// never rewrites an existing entry, so adjacent ranges are not merged: a transaction that
// asked Contains about a key already inside a range (which reads that range's entry) does
// not conflict with a later insertion elsewhere. Keys lie in ["", kEnd).
//
// Every read is a serializable (non-snapshot) read of the transaction: a transaction that
// saw a key missing conflicts with any transaction that inserts a range holding it and
// commits first, and the other way round.
//
// Thread-safety: a RangeSet holds only its subspace and is immutable; each call runs in the
// given transaction (used by one thread at a time).
#ifndef RECORDSTORE_STORE_RANGE_SET_H_
#define RECORDSTORE_STORE_RANGE_SET_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "recordstore/kv.h"
#include "recordstore/status.h"
#include "tuple/subspace.h"

namespace recordstore::store {

class RangeSet {
 public:
  // The end of the key space: every key the set can hold is below it.
  static constexpr std::string_view kEnd = "\xff";

  struct Range {
    std::string begin;
    std::string end;  // exclusive
    bool operator==(const Range&) const = default;
  };

  explicit RangeSet(Subspace subspace) : subspace_(std::move(subspace)) {}

  const Subspace& subspace() const { return subspace_; }

  // Adds [begin, end): writes one entry for each gap of the set inside it. Returns whether any
  // key was added (false when the set already covered the range). invalid_argument (8001)
  // when begin >= end or end > kEnd.
  StatusOr<bool> InsertRange(kv::Transaction& txn, std::string_view begin,
                             std::string_view end) const;
  // Whether `key` lies in a range of the set. Reads one entry: the last one beginning at or
  // before `key`.
  StatusOr<bool> Contains(kv::Transaction& txn, std::string_view key) const;
  // The gaps of the set inside [begin, end), in order.
  StatusOr<std::vector<Range>> MissingRanges(kv::Transaction& txn, std::string_view begin = "",
                                             std::string_view end = kEnd) const;
  // The first gap inside [begin, end), or nullopt when the set covers it. Reads entries only
  // up to the gap.
  StatusOr<std::optional<Range>> FirstMissingRange(kv::Transaction& txn, std::string_view begin,
                                                   std::string_view end = kEnd) const;
  // The stored ranges, in order (for listings and tests).
  StatusOr<std::vector<Range>> Ranges(kv::Transaction& txn) const;
  // Removes every range.
  void Clear(kv::Transaction& txn) const;

 private:
  // Calls `gap` for each gap inside [begin, end) in order until it returns false.
  Status WalkGaps(kv::Transaction& txn, std::string_view begin, std::string_view end,
                  const std::function<bool(const Range&)>& gap) const;
  StatusOr<Range> Decode(const kv::KeyValue& row) const;
  std::string EntryKey(std::string_view begin) const;

  Subspace subspace_;
};

}  // namespace recordstore::store

#endif  // RECORDSTORE_STORE_RANGE_SET_H_
