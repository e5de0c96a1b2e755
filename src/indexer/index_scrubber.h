// ScrubIndex: checks a readable value (or version) index against the records, as the
// FoundationDB Record Layer's index scrubbing does, and optionally repairs it.
//
// Two phases, each a series of transactions of at most `entries_per_transaction` items:
//   records  every record the index applies to must have each of its entries (index key
//            columns + primary key); an absent one is reported as missing (and written, when
//            repairing, with its covering value);
//   entries  every entry must point to a record that exists, that the index applies to, and
//            that evaluates to the entry's key columns; any other is reported as dangling
//            (and cleared, when repairing).
// Entries are compared by key; a covering value is not checked. Repairs write the entries
// only: a repaired unique index does not record violations.
//
// Resumable: a call that stops after `max_transactions` returns a continuation (opaque
// bytes); passing it back continues where the call stopped. Without repair the transactions
// read at snapshot isolation (they add no conflicts to concurrent writers); with repair they
// read serializably, so a repair never lands on a record that changed under it.
//
// Thread-safety: a free function; concurrent scrubs of one index are safe without repair.
#ifndef RECORDSTORE_INDEXER_INDEX_SCRUBBER_H_
#define RECORDSTORE_INDEXER_INDEX_SCRUBBER_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "metadata/record_metadata.h"
#include "recordstore/kv.h"
#include "recordstore/status.h"
#include "store/record_store.h"
#include "tuple/subspace.h"
#include "tuple/tuple.h"

namespace recordstore::indexer {

struct ScrubOptions {
  // Write missing entries and clear dangling ones.
  bool repair = false;
  // Records (first phase) or entries (second phase) per transaction.
  int64_t entries_per_transaction = 1000;
  // Stop after this many transactions and return a continuation; 0 runs to the end.
  int64_t max_transactions = 0;
  store::RecordStoreOptions store_options;
};

// An entry that the index lacks or has in excess. `entry` is the whole entry key (index key
// columns followed by the primary key).
struct ScrubbedEntry {
  Tuple entry;
  Tuple primary_key;
  bool operator==(const ScrubbedEntry&) const = default;
};

struct ScrubReport {
  int64_t records_scanned = 0;
  int64_t entries_scanned = 0;
  std::vector<ScrubbedEntry> missing;
  std::vector<ScrubbedEntry> dangling;
  // Entries written or cleared (0 without repair).
  int64_t repaired = 0;
  int64_t transactions = 0;
  // Empty when the scrub is complete; otherwise pass it back to continue.
  std::string continuation;
};

// Scrubs `index_name` of the store in `subspace`. Errors: not_found (8002) for an unknown
// index or store; index_not_readable (8013) unless the index is readable (a write-only index
// lacks entries by design); unsupported (8006) for index types other than value and version;
// invalid_continuation (8005) for a continuation this function did not write; read errors.
// Retryable errors of a transaction are retried.
StatusOr<ScrubReport> ScrubIndex(kv::Database& db, const Subspace& subspace,
                                 const metadata::RecordMetaData& metadata,
                                 std::string_view index_name, const ScrubOptions& options = {},
                                 std::string_view continuation = {});

}  // namespace recordstore::indexer

#endif  // RECORDSTORE_INDEXER_INDEX_SCRUBBER_H_
