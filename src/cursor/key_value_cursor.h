// KeyValueCursor: the leaf cursor, streaming the key-value pairs of a range of a Subspace
// through a transaction, forward or in reverse, in batches.
//
// Endpoints are typed: open (the subspace's own bound), inclusive or exclusive of a key given
// relative to the subspace (a packed tuple or raw bytes). ResolveKeyRange is the one place
// that turns them into byte keys:
//   low   open -> every key that starts with the prefix (the bare prefix included)
//         inclusive(k) -> keys >= prefix+k      exclusive(k) -> keys > prefix+k
//   high  open -> every key that starts with the prefix (strinc(prefix), or \xff for the
//         empty prefix, excluded)
//         inclusive(k) -> keys <= prefix+k      exclusive(k) -> keys < prefix+k
// Endpoints compare whole keys: inclusive((1)) includes the key (1) but not (1, 2). For tuple
// prefix ranges pass InclusiveRaw / ExclusiveRaw of the packed prefix followed by "\xff".
//
// Continuation: the last key returned (relative to the prefix) and a fingerprint of the
// resolved range and direction. Resuming continues strictly after that key (before it, in
// reverse). A continuation of another cursor kind, of another range or direction, or whose key
// lies outside the range is refused with invalid_continuation (8005). An item's continuation
// is built from its row only when asked for (DeferredContinuation, cursor.h), so a scan that
// never asks builds none, nor do the cursors that pass it on.
//
// Reads go through Transaction::GetRange in batches that grow from first_batch_rows to
// max_batch_rows (as kv::RangeReader does), never asking for more rows than the row limit or
// the scan limiter still allow. Like any batched read, a batch may read (and add to the
// conflict range) rows past the item where a limit stops the cursor.
#ifndef RECORDSTORE_CURSOR_KEY_VALUE_CURSOR_H_
#define RECORDSTORE_CURSOR_KEY_VALUE_CURSOR_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cursor/cursor.h"
#include "cursor/scan_limiter.h"
#include "recordstore/kv.h"
#include "tuple/subspace.h"
#include "tuple/tuple.h"

namespace recordstore::cursor {

// One end of a key range inside a subspace.
class KeyEndpoint {
 public:
  enum class Type { kOpen, kInclusive, kExclusive };

  static KeyEndpoint Open() { return KeyEndpoint(Type::kOpen, ""); }
  static KeyEndpoint Inclusive(const Tuple& key) {
    return KeyEndpoint(Type::kInclusive, key.Pack());
  }
  static KeyEndpoint Exclusive(const Tuple& key) {
    return KeyEndpoint(Type::kExclusive, key.Pack());
  }
  // `suffix` is the key minus the subspace prefix; it need not be a tuple encoding.
  static KeyEndpoint InclusiveRaw(std::string_view suffix) {
    return KeyEndpoint(Type::kInclusive, std::string(suffix));
  }
  static KeyEndpoint ExclusiveRaw(std::string_view suffix) {
    return KeyEndpoint(Type::kExclusive, std::string(suffix));
  }

  Type type() const { return type_; }
  // The key relative to the subspace prefix; empty for kOpen.
  const std::string& suffix() const { return suffix_; }

 private:
  KeyEndpoint(Type type, std::string suffix) : type_(type), suffix_(std::move(suffix)) {}
  Type type_;
  std::string suffix_;
};

// Byte endpoints for Transaction::GetRange (see the file comment). The range may be empty or
// inverted, in which case it holds no keys.
struct ResolvedKeyRange {
  kv::RangeEndpoint begin;
  kv::RangeEndpoint end;
};
ResolvedKeyRange ResolveKeyRange(const Subspace& subspace, const KeyEndpoint& low,
                                 const KeyEndpoint& high);

// One row returned by a KeyValueCursor. Rows share the batch the cursor read, which is freed
// with its last row: handing a row out copies no bytes and frees nothing per row (the cost,
// against a raw batched range read: docs/benchmarks.md, "cursor"). Holding a row keeps its
// whole batch (up to max_batch_rows rows) in memory; copy what must outlive the scan
// (ToKeyValue). Thread-safety: rows of one batch may be used and dropped on different threads.
class KeyValueRow {
 public:
  KeyValueRow(std::shared_ptr<const std::vector<kv::KeyValue>> batch, size_t index)
      : batch_(std::move(batch)), row_(&(*batch_)[index]) {}

  // The full key (subspace prefix included) and the value.
  const std::string& key() const { return row_->key; }
  const std::string& value() const { return row_->value; }
  kv::KeyValue ToKeyValue() const { return *row_; }

 private:
  std::shared_ptr<const std::vector<kv::KeyValue>> batch_;
  const kv::KeyValue* row_;
};

struct KeyValueCursorOptions {
  bool reverse = false;
  // Items this cursor returns before stopping with RETURN_LIMIT_REACHED; 0 means no limit. It
  // is a page size: a cursor resumed from the continuation counts afresh.
  int64_t row_limit = 0;
  // Snapshot reads (no read conflict ranges).
  bool snapshot = false;
  kv::RangeBatching batching;
  // The operation's shared budget; nullptr means unlimited. Borrowed: must outlive the cursor.
  ScanLimiter* limiter = nullptr;
};

class KeyValueCursor : public RecordCursor<KeyValueRow> {
 public:
  // A cursor over [low, high] of `subspace` resumed at `continuation`. Items are the stored
  // pairs with full keys (KeyValueRow). Fails with invalid_continuation when `continuation` was not
  // written by a KeyValueCursor over the same range and direction. REQUIRES: `txn` outlives the
  // cursor.
  static StatusOr<std::unique_ptr<KeyValueCursor>> Create(kv::Transaction& txn,
                                                          const Subspace& subspace,
                                                          const KeyEndpoint& low,
                                                          const KeyEndpoint& high,
                                                          const Continuation& continuation,
                                                          const KeyValueCursorOptions& options);

  StatusOr<CursorResult<KeyValueRow>> Next() override;

 private:
  KeyValueCursor(kv::Transaction& txn, std::string prefix, ResolvedKeyRange range, uint64_t check,
                 const KeyValueCursorOptions& options);
  // Reads the next batch into batch_; sets exhausted_ when the range has no more rows.
  Status FetchBatch();
  // Where the cursor is: after the last item returned, or where it was resumed.
  Continuation Position() const;

  kv::Transaction& txn_;
  std::string prefix_;
  ResolvedKeyRange range_;
  uint64_t check_;
  KeyValueCursorOptions options_;
  int next_batch_rows_;
  std::shared_ptr<const std::vector<kv::KeyValue>> batch_;
  size_t position_ = 0;
  bool range_done_ = false;
  int64_t returned_ = 0;
  int64_t scanned_ = 0;
  Continuation resumed_at_;
};

}  // namespace recordstore::cursor

#endif  // RECORDSTORE_CURSOR_KEY_VALUE_CURSOR_H_
