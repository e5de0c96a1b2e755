// The split helper: how a record's serialized bytes are laid out under its primary key, as in
// the Record Layer (FDB values are at most 100,000 bytes):
//   (pk..., 0)     the whole value, when it is at most kSplitChunkSize bytes (empty included)
//   (pk..., 1..n)  kSplitChunkSize-byte chunks (the last one shorter or equal), when longer
//   (pk..., -1)    the record's version (a tuple-encoded versionstamp), when it has one
// all under the `records` subspace.
//
// REQUIRES (as in the Record Layer): no primary key in `records` is a proper prefix of
// another, since a record owns every key under records.Sub(pk).
//
// Corruption (kDataCorruption): a chunk missing in the middle, a chunk of the wrong size, both
// an unsplit value and chunks, a version without data, or a key under the record that is not
// one of the above. A missing *last* chunk of a record of three or more chunks cannot be told
// from a shorter record and is not detected.
#ifndef RECORDSTORE_CURSOR_SPLIT_HELPER_H_
#define RECORDSTORE_CURSOR_SPLIT_HELPER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cursor/record_context.h"
#include "cursor/record_version.h"
#include "recordstore/status.h"
#include "tuple/subspace.h"
#include "tuple/tuple.h"

namespace recordstore::cursor {

inline constexpr size_t kSplitChunkSize = 100'000;
inline constexpr int64_t kUnsplitSuffix = 0;
inline constexpr int64_t kVersionSuffix = -1;
// The transaction size limit of kv.h (mutations + conflict ranges).
inline constexpr int64_t kTransactionSizeLimit = 10'000'000;

struct SplitRecord {
  std::string value;
  std::optional<RecordVersion> version;
  // 0 when stored unsplit under (pk..., 0), else the number of chunks.
  int chunks = 0;
};

// The bytes SaveSplit adds to the transaction's size (kv::Transaction::GetApproximateSize) for
// a value of `value_size` bytes: keys and values written plus the clear of the old record.
int64_t SplitSaveSize(const Subspace& records, const Tuple& primary_key, size_t value_size,
                      const std::optional<RecordVersion>& version);

// The keys a stored record occupies, as LoadSplit found them in the current transaction.
// Given to SaveSplit and DeleteSplit, it lets them clear exactly those keys one by one instead
// of clearing the record's whole range: RocksDB keeps a range clear as a range tombstone that
// every later read of the memtable must fragment, which costs more than the write itself.
struct SplitShape {
  bool exists = false;
  int chunks = 0;  // 0: unsplit under (pk..., 0)
  bool has_version = false;
};
SplitShape ShapeOf(const std::optional<SplitRecord>& record);

// Replaces record `primary_key` with `value` and `version` (none: no version key). Clears
// every key the old record had, so no stale chunk or version survives: those `previous`
// names when given (it must be the shape LoadSplit returned in this transaction), else the
// record's whole range. An incomplete version is left with the context, which writes it with
// SET_VERSIONSTAMPED_VALUE at commit (RecordContext::AddPendingVersion); LoadSplit takes it
// from there until then. Fails with transaction_too_large (2101), writing nothing, when the
// transaction's size plus SplitSaveSize would exceed kTransactionSizeLimit: a 10,000,000-byte
// value (100 chunks) does not fit, since keys count too.
Status SaveSplit(RecordContext& context, const Subspace& records, const Tuple& primary_key,
                 std::string_view value, const std::optional<RecordVersion>& version,
                 const SplitShape* previous = nullptr);

// The record `primary_key` (value reassembled from its chunks, and its version), or nullopt
// when it does not exist. Before commit, an incomplete version saved in this context is
// returned incomplete. Errors: kDataCorruption (see the file comment), read errors.
StatusOr<std::optional<SplitRecord>> LoadSplit(RecordContext& context, const Subspace& records,
                                               const Tuple& primary_key);

// As LoadSplit, with point reads where they suffice: (pk..., 0) holds an unsplit record whole
// and its version is at (pk..., -1); a split record always has chunk (pk..., 1), and only then
// is the record's range read. A storage engine answers a point read of a missing key from its
// Bloom filters, which a range read cannot use, so this costs less, above all for records that
// do not exist (every insert looks). Conflicts: a writer creating, replacing or deleting the
// record writes one of the keys read. It trusts the layout SaveSplit writes: it does not
// detect a version without data, nor chunks beside an unsplit value (LoadSplit does).
// With `may_be_split` false, a missing (pk..., 0) means no record and (pk..., 1) is not read:
// the caller vouches that no record under `records` is split, and that any transaction that
// could store one there conflicts with this one (RecordStore's header, records_unsplit).
StatusOr<std::optional<SplitRecord>> LoadSplitByPointReads(RecordContext& context,
                                                           const Subspace& records,
                                                           const Tuple& primary_key,
                                                           bool may_be_split = true);

// One stored key-value pair under a record.
struct SplitRow {
  std::string_view key;
  std::string_view value;
};

// The record stored in `rows`: every key under records.Sub(primary_key), in ascending key
// order, as LoadSplit reads them (a scan that has read them already assembles with this).
// `pending_version` is the record's version from RecordContext::FindPendingVersion, if any.
// nullopt when `rows` hold no data; kDataCorruption as for LoadSplit.
StatusOr<std::optional<SplitRecord>> AssembleSplit(const Subspace& records,
                                                   const Tuple& primary_key,
                                                   const std::vector<SplitRow>& rows,
                                                   const RecordVersion* pending_version);

// Deletes record `primary_key` (all its chunks and its version); a missing record is not an
// error. `previous` as for SaveSplit.
void DeleteSplit(RecordContext& context, const Subspace& records, const Tuple& primary_key,
                 const SplitShape* previous = nullptr);

}  // namespace recordstore::cursor

#endif  // RECORDSTORE_CURSOR_SPLIT_HELPER_H_
