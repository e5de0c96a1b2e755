// RecordStore: protobuf records of one RecordMetaData in one subspace, with their secondary
// indexes kept in the same transaction, as in the FoundationDB Record Layer.
//
// Layout inside the subspace (docs/key-layout.md has the bytes):
//   (0)                    header: StoreHeader (store.proto)
//   (1, pk..., s)          records, laid out by the split helper (cursor/split_helper.h)
//   (2, index, ...)        index entries        (3, index, ...)  index secondary spaces
//   (5, index)             index state, when not readable (absent means readable)
//   (6, index, ...)        built primary-key ranges of a write-only index (a RangeSet)
//   (7, index, ...)        uniqueness violations of write-only unique indexes
//   (9, index, ...)        the online indexer's build bookkeeping (indexer/online_indexer.h)
//   (10, s)                the metadata the store was last opened with (split like a record)
//
// A stored record is the serialized union message with only the record's field set (so the
// type travels with the bytes), passed through the RecordSerializer (compression,
// encryption) with the record's key as associated data.
//
// Opening: a store without a header is created (header, metadata copy; every index readable,
// as there is nothing to index). An existing store's header is checked:
//   * a newer store format than this code knows: unsupported (8006);
//   * a store last opened with newer metadata than given: metadata_too_old (8011);
//   * older metadata: the change is validated against the stored copy
//     (metadata::ValidateEvolution; a refused change fails with its rules named), former
//     indexes' data is cleared, and each new or changed index is rebuilt: in the opening
//     transaction when the store holds at most `inline_build_record_limit` records, else it
//     is cleared and left write-only, with nothing built, for the online indexer.
//
// Write-only indexes and the online indexer (as in the Record Layer): a write-only index
// keeps, under (6, index), the set of primary-key ranges (packed primary keys) whose records
// it already indexes. A save or delete maintains a write-only index only for a record whose
// primary key lies in a built range; records elsewhere are left to the indexer, which reads
// them and marks their range built in one transaction. The membership test is a serializable
// read of the range set, so a writer and a builder that touch the same record conflict and
// one retries: no record is indexed twice (aggregates stay exact) or missed. An empty range
// set means nothing is built: writers leave the index alone. By-index builds
// (indexer/online_indexer.h) visit records in another index's order, so they cannot record
// primary-key ranges: while (9, index, "by_index") exists, writers maintain the write-only
// index for every record, whatever the range set holds, and rewrite it whole: the record's
// old entries cleared, every new entry set (unchanged ones too, since the builder may already
// have passed the record's source entries without writing them). Value index entries are
// exact keys, so a write and a builder batch that both set an entry leave it once. The
// membership read of that key is serializable too. Marking a readable index
// write-only records its whole key space as built (it is complete, so writers keep it up to
// date); marking it readable or disabled clears the range set and the build bookkeeping.
// Opening costs at most two reads when the metadata version is unchanged: the header and,
// when the header says index states are stored, their (short) range; nothing that grows with
// the number of stores or records. Usually it costs none: the header and index states are
// cached (store_state_cache.h) under the database's metadata version, which every change of
// them bumps (WriteHeader, SetIndexState); an open served from the cache takes the read
// conflicts the reads would have taken. Code that writes the header or an index state
// without RecordStore must call kv::Transaction::BumpMetadataVersion in the same transaction.
//
// Thread-safety: a RecordStore lives inside one RecordContext (transaction) and is used by
// one thread at a time. Open a new one for each transaction; it is cheap.
#ifndef RECORDSTORE_STORE_RECORD_STORE_H_
#define RECORDSTORE_STORE_RECORD_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cursor/continuation.h"
#include "cursor/cursor.h"
#include "cursor/record_context.h"
#include "cursor/record_version.h"
#include "cursor/split_helper.h"
#include "google/protobuf/message.h"
#include "index/index_maintainer.h"
#include "metadata/record_metadata.h"
#include "recordstore/status.h"
#include "store/range_set.h"
#include "store/record_serializer.h"
#include "store/store.pb.h"
#include "store/store_state_cache.h"
#include "tuple/subspace.h"
#include "tuple/tuple.h"

namespace recordstore::store {

// The header format this code writes; it opens stores of this format or older.
// Format 3 added StoreHeader.records_unsplit, which older code would not clear.
inline constexpr uint32_t kStoreFormatVersion = 3;

// Under an index's (9, index) build space: while (9, index, "by_index") exists (its value is
// the source index's name), the index is being built from another index and writers
// maintain it for every record (see the file comment).
inline constexpr std::string_view kIndexBuildSourceKey = "by_index";

// What SaveRecord requires of the record's previous state.
enum class SaveMode {
  kUpsert,  // insert or replace (a record of another type with the same key included)
  kInsert,  // fail with already_exists (8003) when the primary key is taken
  kUpdate,  // fail with not_found (8002) when absent, record_type_changed (8012) when the
            // stored record has another type
};

// Whether Open may create or must find a store.
enum class OpenMode { kCreateOrOpen, kCreate, kOpenExisting };

struct RecordStoreOptions {
  OpenMode open_mode = OpenMode::kCreateOrOpen;
  SerializerOptions serializer;
  // Data keys for encrypted records; may be null when nothing is encrypted.
  std::shared_ptr<const KeyProvider> keys;
  // Keep each record's version (a 12-byte versionstamp) under (1, pk..., -1). Version indexes
  // need it: Open refuses metadata with one when this is false.
  bool store_record_versions = true;
  // On a metadata upgrade, stores with at most this many records build new indexes at once.
  int64_t inline_build_record_limit = 200;
  // Null: IndexMaintainerRegistry::Default().
  const index::IndexMaintainerRegistry* maintainers = nullptr;
  // Where opens find and leave the stores' headers and index states (see the file comment);
  // null reads them from the transaction at every open.
  StoreStateCache* state_cache = &StoreStateCache::Default();
};

// A record read from the store.
struct StoredRecord {
  const metadata::RecordType* type = nullptr;
  // A message of type->descriptor(), built by the metadata's message factory: it must not
  // outlive the RecordMetaData.
  std::unique_ptr<google::protobuf::Message> message;
  Tuple primary_key;
  // Complete for committed records; incomplete for one saved earlier in this transaction;
  // nullopt when the store keeps no versions.
  std::optional<cursor::RecordVersion> version;
  // The keys the record occupied when it was read: replacing or deleting it in the same
  // transaction clears exactly those (cursor/split_helper.h, SplitShape).
  cursor::SplitShape shape;
};

// A record read from the store without parsing it (LoadSerializedRecord).
struct SerializedRecord {
  const metadata::RecordType* type = nullptr;
  // The protobuf bytes of the record's message (type->descriptor()).
  std::string bytes;
  std::optional<cursor::RecordVersion> version;
};

// What SaveRecord did.
struct SavedRecord {
  const metadata::RecordType* type = nullptr;
  Tuple primary_key;
  // Incomplete until commit (RecordContext::CompleteVersion fills it in).
  std::optional<cursor::RecordVersion> version;
  // True when a record with this primary key existed and was replaced.
  bool replaced = false;
};

class RecordStore {
 public:
  // Opens (or creates, see RecordStoreOptions::open_mode) the store in `subspace` through
  // `context`. Errors: see the file comment; already_exists (8003) for kCreate on an existing
  // store, not_found (8002) for kOpenExisting on a missing one; store_without_header (8014)
  // when the subspace holds keys but no header (not a record store, or a damaged one).
  // REQUIRES: `context` and `metadata` outlive the store.
  static StatusOr<std::unique_ptr<RecordStore>> Open(cursor::RecordContext& context,
                                                     const Subspace& subspace,
                                                     const metadata::RecordMetaData& metadata,
                                                     RecordStoreOptions options = {});

  const metadata::RecordMetaData& metadata() const { return metadata_; }
  const Subspace& subspace() const { return subspace_; }
  cursor::RecordContext& context() const { return context_; }
  const proto::StoreHeader& header() const { return header_; }
  // An application-defined number kept in the header, for the application's own migrations.
  Status SetUserVersion(int32_t user_version);

  // Saves `record`, whose message type must be one of the metadata's record types (generated
  // and dynamic messages both work; types are matched by full name), and updates every
  // index, all in this transaction. Errors: invalid_argument (8001) for a message that is not
  // a record type or is missing required fields; the mode's errors (SaveMode); a unique
  // index refusing the record (uniqueness_violation 8010); transaction_too_large (2101).
  // A failed save writes nothing.
  StatusOr<SavedRecord> SaveRecord(const google::protobuf::Message& record,
                                   SaveMode mode = SaveMode::kUpsert);

  // The record with `primary_key`, or nullopt. Errors: data_corruption (8004) for stored bytes
  // that do not decode, read errors.
  StatusOr<std::optional<StoredRecord>> LoadRecord(const Tuple& primary_key);
  // Whether a record with `primary_key` exists; decodes nothing. Point reads of (pk..., 0) and,
  // unless the header says no record is split, of (pk..., 1).
  StatusOr<bool> RecordExists(const Tuple& primary_key);

  // Deletes the record and its index entries; false when there was none.
  StatusOr<bool> DeleteRecord(const Tuple& primary_key);
  // Deletes every record and all index data (entries, states stay); keeps the header.
  Status DeleteAllRecords();
  // Deletes every record whose primary key starts with `prefix`, with its index entries;
  // returns how many. One transaction: large deletions may exceed its limits
  // (transaction_too_large 2101, transaction_too_old 1007).
  StatusOr<int64_t> DeleteRecordsWhere(const Tuple& prefix);

  // The records whose primary keys lie in `range`, in primary key order (or reversed),
  // resumed at `continuation` (written by a scan of the same range and direction). Scan
  // limits count key-value pairs but stop only between records, so a resumed scan never
  // repeats or skips one.
  StatusOr<cursor::CursorPtr<StoredRecord>> ScanRecords(const index::TupleRange& range,
                                                        const cursor::Continuation& continuation,
                                                        const index::ScanOptions& options = {});

  // The records whose packed primary keys (Tuple::Pack) lie in [begin, end), in order; as
  // ScanRecords otherwise. For the online indexer, which works in such byte ranges; `end`
  // may be RangeSet::kEnd.
  StatusOr<cursor::CursorPtr<StoredRecord>> ScanRecordsInKeyRange(
      std::string_view begin, std::string_view end, const cursor::Continuation& continuation,
      const index::ScanOptions& options = {});

  // The index's state. REQUIRES: the index exists (FindIndex).
  index::IndexState GetIndexState(std::string_view index_name) const;
  // Sets an index's state. Marking it disabled clears its data; marking a unique index
  // readable fails with uniqueness_violation (8010) while it has recorded violations.
  // Readable -> write-only records every primary key as built (see the file comment);
  // becoming readable or disabled clears the built ranges and build bookkeeping.
  // not_found (8002) for an unknown index.
  Status SetIndexState(std::string_view index_name, index::IndexState state);
  // Clears the index's data, built ranges and build bookkeeping and marks it write-only with
  // nothing built: writers leave it alone until the online indexer builds it. not_found
  // (8002) for an unknown index.
  Status ClearAndMarkIndexWriteOnly(std::string_view index_name);
  // The primary-key ranges (packed primary keys) of a write-only index that are built. Only
  // meaningful while the index is write-only. REQUIRES: the index exists.
  RangeSet IndexBuiltRanges(std::string_view index_name) const;
  // The (9, index) space where the online indexer keeps its bookkeeping.
  Subspace IndexBuildSpace(std::string_view index_name) const;

  // The entries of a readable value-like index in `range` (see IndexMaintainer::ScanEntries).
  // index_not_readable (8013) unless the index is readable; not_found for an unknown index.
  StatusOr<cursor::CursorPtr<index::IndexEntry>> ScanIndex(
      std::string_view index_name, const index::TupleRange& range,
      const cursor::Continuation& continuation, const index::ScanOptions& options = {});
  // The aggregate of one group of a readable aggregate index (IndexMaintainer::
  // EvaluateAggregate).
  StatusOr<Tuple> EvaluateAggregate(std::string_view index_name, const Tuple& group);
  // The violations a write-only unique index has recorded.
  StatusOr<std::vector<index::UniquenessViolation>> ScanUniquenessViolations(
      std::string_view index_name);

  // The maintainer of an index, for the online indexer. nullptr for an unknown index.
  index::IndexMaintainer* Maintainer(std::string_view index_name) const;
  // The record behind an index entry: loads the record with its primary key.
  StatusOr<std::optional<StoredRecord>> LoadRecordOf(const index::IndexEntry& entry) {
    return LoadRecord(entry.primary_key);
  }
  // LoadRecord without parsing the message, for callers that only pass the bytes on (the
  // server's responses); the bytes are decrypted and authenticated but not checked to parse.
  StatusOr<std::optional<SerializedRecord>> LoadSerializedRecord(const Tuple& primary_key);

  // Code that stores a record split without RecordStore (the re-encryption job) calls this
  // first, in the same transaction: it clears StoreHeader.records_unsplit of the store in
  // `subspace` if set (bumping the metadata version). not_found when there is no store.
  static Status NoteSplitRecord(cursor::RecordContext& context, const Subspace& subspace);

 private:
  struct IndexSlot {
    const metadata::Index* index;
    std::unique_ptr<index::IndexMaintainer> maintainer;
  };

  RecordStore(cursor::RecordContext& context, const Subspace& subspace,
              const metadata::RecordMetaData& metadata, RecordStoreOptions options);

  Status Initialize();
  // The header and index states of the store: from the state cache when it holds them at
  // the transaction's metadata version (taking the read conflicts the reads would take),
  // else read through the transaction and cached. Null when the store has no header.
  StatusOr<std::shared_ptr<const StoreState>> ReadStoreState(const std::string& header_key);
  Status Create();
  Status Upgrade(const metadata::RecordMetaData& stored);
  Subspace IndexStateSpace() const;
  StatusOr<std::map<std::string, index::IndexState, std::less<>>> ReadIndexStates();
  // Fails when an index's type has no maintainer: checked at open, where the maintainers
  // themselves are made on first use (a store opened to load records needs none).
  Status CheckMaintainersExist() const;
  Status MakeMaintainers() const;
  // Every index's slot, the maintainers made on the first call.
  StatusOr<std::vector<IndexSlot>*> Slots() const;
  // The slots of the indexes that apply to `type`.
  StatusOr<const std::vector<IndexSlot*>*> SlotsFor(const metadata::RecordType& type) const;
  Status WriteHeader();
  Status WriteStoredMetadata();
  // Builds `slot`'s index from every record, in this transaction.
  Status BuildIndexInline(IndexSlot& slot);
  StatusOr<int64_t> CountRecordsUpTo(int64_t limit);
  // Updates every maintained index that applies to either record: readable ones, and
  // write-only ones whose built ranges hold the record's primary key.
  Status UpdateIndexes(const index::IndexedRecord* old_record,
                       const index::IndexedRecord* new_record);
  StatusOr<IndexSlot*> ReadableSlot(std::string_view index_name);
  // NOT_FOUND when the metadata has no such index.
  StatusOr<IndexSlot*> FindSlot(std::string_view index_name) const;
  // How a write to the record with `primary_key` maintains `slot`'s index: not at all, by
  // the maintainer's update (changed entries only), or by clearing every old entry and
  // setting every new one (a write-only index under a by-index build).
  enum class Maintenance { kNone, kUpdate, kRewrite };
  StatusOr<Maintenance> Maintains(const IndexSlot& slot, const Tuple& primary_key);
  // Clears the built ranges and the build bookkeeping of an index.
  void ClearBuildData(const std::string& index_name);
  StatusOr<cursor::CursorPtr<StoredRecord>> ScanRecordEndpoints(
      const cursor::KeyEndpoint& low, const cursor::KeyEndpoint& high,
      const cursor::Continuation& continuation, const index::ScanOptions& options);

  // Encoding of a stored record: the union message holding `record`, serialized.
  StatusOr<std::string> Encode(const metadata::RecordType& type,
                               const google::protobuf::Message& record,
                               const std::string& record_key) const;
  // A stored record's payload: the record type union with its one field, whose number names
  // the type and whose value is the record's bytes.
  struct UnionPayload {
    std::string payload;
    const metadata::RecordType* type = nullptr;
    size_t body_offset = 0;
    std::string_view body() const { return std::string_view(payload).substr(body_offset); }
  };
  // Decrypts/decompresses `stored` and finds the record's type and bytes; errors name the record.
  StatusOr<UnionPayload> Unwrap(const Tuple& primary_key, std::string_view stored,
                                const std::string& record_key) const;
  StatusOr<StoredRecord> Decode(const Tuple& primary_key, std::string_view stored,
                                const std::string& record_key) const;
  Status DeleteLoaded(const StoredRecord& record);

  cursor::RecordContext& context_;
  Subspace subspace_;
  const metadata::RecordMetaData& metadata_;
  RecordStoreOptions options_;
  RecordSerializer serializer_;
  proto::StoreHeader header_;
  Subspace records_;
  std::map<std::string, index::IndexState, std::less<>> index_states_;  // non-readable only
  // Made lazily (Slots()), hence mutable.
  mutable bool slots_made_ = false;
  mutable std::vector<IndexSlot> slots_;
  // Per record type (by union field number): the slots of the indexes that apply to it.
  mutable std::map<int, std::vector<IndexSlot*>> slots_by_type_;
};

}  // namespace recordstore::store

#endif  // RECORDSTORE_STORE_RECORD_STORE_H_
