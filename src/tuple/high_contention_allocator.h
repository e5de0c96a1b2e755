// FoundationDB's high-contention allocator (HCA): hands out small non-negative integers, each
// at most once, to transactions that may run concurrently, with few conflicts between them.
// The directory layer turns them into short key prefixes (a tuple-encoded integer is 1 to 3
// bytes for the first ~65,000 allocations).
//
// Layout under the allocator's subspace, as in FDB's bindings:
//   (0, start) -> 8-byte little-endian count of allocations attempted in the window of
//                 integers [start, start + WindowSize(start)); only the newest window's
//                 counter is kept.
//   (1, n)     -> "" once n has been handed out (entries below the newest window are
//                 cleared when the window advances; those integers are never offered again).
//
// Algorithm. A transaction reads the newest window (snapshot), adds 1 to its counter with an
// atomic ADD (so concurrent allocators never conflict on it) and reads the count back
// (snapshot). While the window is at least half full it moves to the next, larger window.
// Then it picks candidates at random within the window until it finds one not yet handed
// out. The candidate's (1, n) key is read without `snapshot` and, when free, written: two
// transactions that pick the same integer therefore conflict (one fails with not_committed,
// 1020, and retries), while transactions that pick different integers do not. Because the
// window is kept less than half full, a candidate is free with probability > 1/2.
//
// Difference from FDB: FDB clears the old window's (1, n) entries without a write conflict
// range; this KV API has no such option, so a transaction that advances the window conflicts
// with concurrent allocators that read candidates in the old window. That happens once per
// window and only costs those allocators a retry.
//
// Thread-safety: the allocator is immutable; Allocate may be called from many threads, each
// with its own transaction.
#ifndef RECORDSTORE_TUPLE_HIGH_CONTENTION_ALLOCATOR_H_
#define RECORDSTORE_TUPLE_HIGH_CONTENTION_ALLOCATOR_H_

#include <cstdint>

#include "recordstore/kv.h"
#include "recordstore/status.h"
#include "tuple/subspace.h"

namespace recordstore {

class HighContentionAllocator {
 public:
  // Allocates from the integers recorded under `subspace`, which it owns exclusively.
  explicit HighContentionAllocator(const Subspace& subspace);

  // An integer >= 0 that no transaction committed through an allocator on the same subspace
  // has received, nor will receive once `txn` commits. The allocation is part of `txn`: it
  // takes effect only if `txn` commits, and `txn` fails with not_committed (1020) at commit
  // if a concurrent transaction committed the same integer first. Fails with the errors of
  // txn's reads, and with kDataCorruption when a counter is not 8 bytes.
  StatusOr<int64_t> Allocate(kv::Transaction& txn) const;

  // The number of integers in the window that starts at `start`: 64 below 255, 1,024 below
  // 65,535, 8,192 from there on (FDB's sizes, so that prefixes stay short while few are in
  // use and windows do not fill too often later).
  static int64_t WindowSize(int64_t start);

  // The subspaces of the layout above, for inspection.
  const Subspace& counters() const { return counters_; }
  const Subspace& recent() const { return recent_; }

 private:
  // The start of the newest window, 0 when none was opened yet (a snapshot read).
  StatusOr<int64_t> NewestWindowStart(kv::Transaction& txn) const;

  Subspace counters_;
  Subspace recent_;
};

}  // namespace recordstore

#endif  // RECORDSTORE_TUPLE_HIGH_CONTENTION_ALLOCATOR_H_
