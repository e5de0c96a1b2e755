#include "store/record_store.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <utility>

#include "common/status_macros.h"
#include "common/status_util.h"
#include "cursor/split_helper.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "metadata/evolution.h"

namespace recordstore::store {
namespace {

// Top-level keys of a store's subspace (docs/key-layout.md).
constexpr int64_t kHeaderKey = 0;
constexpr int64_t kRecordsKey = 1;
constexpr int64_t kIndexEntriesKey = 2;
constexpr int64_t kIndexSecondaryKey = 3;
constexpr int64_t kIndexStateKey = 5;
constexpr int64_t kIndexBuiltRangesKey = 6;
constexpr int64_t kIndexViolationsKey = 7;
constexpr int64_t kIndexBuildKey = 9;
constexpr int64_t kStoredMetadataKey = 10;

using index::IndexedRecord;
using index::IndexState;

Status Corrupt(const Tuple& primary_key, std::string_view why) {
  return MakeError(ErrorCode::kDataCorruption,
                   "record " + primary_key.ToString() + ": " + std::string(why));
}

// Reads the records of a primary key range, assembling each from its split keys (data chunks
// and version). Limits count key-value pairs but are only checked before a record's first
// pair, so every record comes out whole and the continuation (that of the record's last pair)
// always sits between records.
class RecordScanCursor : public cursor::RecordCursor<StoredRecord> {
 public:
  using Decoder = std::function<StatusOr<StoredRecord>(const Tuple& primary_key,
                                                       cursor::SplitRecord split)>;

  RecordScanCursor(cursor::RecordContext& context, Subspace records,
                   std::unique_ptr<cursor::KeyValueCursor> rows, const index::ScanOptions& options,
                   cursor::Continuation resumed_at, Decoder decoder)
      : context_(context),
        records_(std::move(records)),
        rows_(std::move(rows)),
        row_limit_(options.row_limit),
        limiter_(options.limiter),
        reverse_(options.reverse),
        position_(std::move(resumed_at)),
        decoder_(std::move(decoder)) {}

  StatusOr<cursor::CursorResult<StoredRecord>> Next() override {
    using Result = cursor::CursorResult<StoredRecord>;
    if (stop_.has_value()) return Result::WithoutValue(stop_->first, stop_->second);
    if (row_limit_ > 0 && returned_ >= row_limit_) {
      return Stop(cursor::NoNextReason::kReturnLimitReached, position_);
    }
    // The first record is free (scan_limiter.h, Progress).
    if (limiter_ != nullptr && returned_ > 0) {
      if (std::optional<cursor::NoNextReason> reason = limiter_->ReasonToStop()) {
        return Stop(*reason, position_);
      }
    }
    if (!pending_.has_value()) {
      ASSIGN_OR_RETURN(pending_, rows_->Next());
    }
    if (!pending_->has_value()) {
      // The row cursor has no limits of its own: it stops only at the end of the range.
      return Stop(cursor::NoNextReason::kSourceExhausted, cursor::Continuation::End());
    }
    // The record's primary key: its first row's key minus the split suffix.
    StatusOr<Tuple> first_key = records_.Unpack(pending_->value().key());
    if (!first_key.ok() || first_key->empty()) {
      return MakeError(ErrorCode::kDataCorruption,
                       "a record key is not a tuple: " + first_key.status().ToString());
    }
    Tuple primary_key;
    for (size_t i = 0; i + 1 < first_key->size(); ++i) primary_key.Append((*first_key)[i]);
    std::string record_prefix = records_.Sub(primary_key).key();

    std::vector<cursor::KeyValueRow> rows;
    // The record's last row, whose continuation is the record's.
    std::optional<cursor::CursorResult<cursor::KeyValueRow>> last;
    while (pending_->has_value() && pending_->value().key().starts_with(record_prefix)) {
      if (limiter_ != nullptr) {
        limiter_->RecordScan(static_cast<int64_t>(pending_->value().key().size() +
                                                  pending_->value().value().size()));
      }
      rows.push_back(pending_->value());
      last = std::move(pending_);
      ASSIGN_OR_RETURN(pending_, rows_->Next());
    }
    if (reverse_) std::reverse(rows.begin(), rows.end());
    std::vector<cursor::SplitRow> split_rows;
    split_rows.reserve(rows.size());
    for (const cursor::KeyValueRow& row : rows) split_rows.push_back({row.key(), row.value()});
    const cursor::RecordVersion* pending_version = context_.FindPendingVersion(
        records_.Sub(primary_key).Pack(Tuple::Of(cursor::kVersionSuffix)));
    ASSIGN_OR_RETURN(std::optional<cursor::SplitRecord> split,
                     cursor::AssembleSplit(records_, primary_key, split_rows, pending_version));
    if (!split.has_value()) return Corrupt(primary_key, "a version without data");
    ASSIGN_OR_RETURN(StoredRecord record, decoder_(primary_key, *std::move(split)));
    ++returned_;
    position_ = std::move(*last).continuation();
    return Result::WithValue(std::move(record), position_);
  }

 private:
  cursor::CursorResult<StoredRecord> Stop(cursor::NoNextReason reason,
                                          cursor::Continuation continuation) {
    stop_.emplace(reason, continuation);
    return cursor::CursorResult<StoredRecord>::WithoutValue(reason, std::move(continuation));
  }

  cursor::RecordContext& context_;
  Subspace records_;
  std::unique_ptr<cursor::KeyValueCursor> rows_;
  int64_t row_limit_;
  cursor::ScanLimiter* limiter_;
  bool reverse_;
  // After the last record returned (or where the scan was resumed).
  cursor::Continuation position_;
  Decoder decoder_;
  // The row read ahead: the first of the next record, or the end of the rows.
  std::optional<cursor::CursorResult<cursor::KeyValueRow>> pending_;
  int64_t returned_ = 0;
  std::optional<std::pair<cursor::NoNextReason, cursor::Continuation>> stop_;
};

}  // namespace

RecordStore::RecordStore(cursor::RecordContext& context, const Subspace& subspace,
                         const metadata::RecordMetaData& metadata, RecordStoreOptions options)
    : context_(context),
      subspace_(subspace),
      metadata_(metadata),
      options_(std::move(options)),
      serializer_(options_.serializer, options_.keys),
      records_(subspace.Sub(Tuple::Of(kRecordsKey))) {
  if (options_.maintainers == nullptr) {
    options_.maintainers = &index::IndexMaintainerRegistry::Default();
  }
}

StatusOr<std::unique_ptr<RecordStore>> RecordStore::Open(cursor::RecordContext& context,
                                                         const Subspace& subspace,
                                                         const metadata::RecordMetaData& metadata,
                                                         RecordStoreOptions options) {
  std::unique_ptr<RecordStore> store(
      new RecordStore(context, subspace, metadata, std::move(options)));
  RETURN_IF_ERROR(store->Initialize());
  return store;
}

Status RecordStore::Initialize() {
  if (!options_.store_record_versions) {
    for (const metadata::Index& index : metadata_.indexes()) {
      if (index.type() == metadata::index_types::kVersion) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "index " + index.name() +
                             " indexes record versions, which this store is told not to keep "
                             "(store_record_versions is false)");
      }
    }
  }
  kv::Transaction& txn = context_.txn();
  const std::string header_key = subspace_.Pack(Tuple::Of(kHeaderKey));
  ASSIGN_OR_RETURN(std::shared_ptr<const StoreState> state, ReadStoreState(header_key));
  if (state == nullptr) {
    if (options_.open_mode == OpenMode::kOpenExisting) {
      return MakeError(ErrorCode::kNotFound,
                       "no record store in subspace " + Tuple::Of(ByteString{subspace_.key()})
                                                            .ToString());
    }
    auto [begin, end] = subspace_.Range();
    ASSIGN_OR_RETURN(kv::RangeResult any, txn.GetRange(begin, end, {.limit = 1}));
    if (!any.rows.empty()) {
      return MakeError(ErrorCode::kStoreWithoutHeader,
                       "subspace " + Tuple::Of(ByteString{subspace_.key()}).ToString() +
                           " holds keys but no record store header; refusing to use it");
    }
    RETURN_IF_ERROR(CheckMaintainersExist());
    return Create();
  }
  if (options_.open_mode == OpenMode::kCreate) {
    return MakeError(ErrorCode::kAlreadyExists,
                     "a record store already exists in subspace " +
                         Tuple::Of(ByteString{subspace_.key()}).ToString());
  }
  header_ = state->header;
  index_states_ = state->index_states;
  if (header_.format_version() > kStoreFormatVersion) {
    return MakeError(ErrorCode::kUnsupported,
                     "the record store has format version " +
                         std::to_string(header_.format_version()) + "; this code reads up to " +
                         std::to_string(kStoreFormatVersion));
  }
  if (header_.metadata_version() > metadata_.version()) {
    return MakeError(ErrorCode::kMetadataTooOld,
                     "the record store was opened with metadata version " +
                         std::to_string(header_.metadata_version()) +
                         "; it cannot be opened with the older version " +
                         std::to_string(metadata_.version()));
  }
  RETURN_IF_ERROR(CheckMaintainersExist());
  if (header_.format_version() < kStoreFormatVersion) {
    header_.set_format_version(kStoreFormatVersion);
    RETURN_IF_ERROR(WriteHeader());
  }
  if (header_.metadata_version() < metadata_.version()) {
    ASSIGN_OR_RETURN(std::optional<cursor::SplitRecord> stored,
                     cursor::LoadSplit(context_, subspace_.Sub(Tuple::Of(kStoredMetadataKey)),
                                       Tuple()));
    metadata::proto::RecordMetaData stored_proto;
    if (!stored.has_value() || !stored_proto.ParseFromString(stored->value)) {
      return MakeError(ErrorCode::kDataCorruption,
                       "the record store's copy of its metadata is missing or does not parse");
    }
    StatusOr<metadata::RecordMetaData> stored_metadata =
        metadata::RecordMetaData::Build(stored_proto);
    if (!stored_metadata.ok()) {
      return MakeError(ErrorCode::kDataCorruption,
                       "the record store's copy of its metadata is invalid: " +
                           std::string(stored_metadata.status().message()));
    }
    RETURN_IF_ERROR(Upgrade(*stored_metadata));
  }
  return absl::OkStatus();
}

StatusOr<std::shared_ptr<const StoreState>> RecordStore::ReadStoreState(
    const std::string& header_key) {
  kv::Transaction& txn = context_.txn();
  StoreStateCache* cache = options_.state_cache;
  std::optional<std::string> metadata_version;
  if (cache != nullptr) {
    // A snapshot read: a bump for another store must not make this transaction conflict.
    // The conflicts that matter are taken on this store's own keys below.
    StatusOr<std::optional<std::string>> read = txn.GetMetadataVersion(/*snapshot=*/true);
    if (read.ok()) {
      metadata_version = *std::move(read);
      std::shared_ptr<const StoreState> cached =
          cache->Find(txn.database_id(), subspace_.key(), metadata_version);
      if (cached != nullptr) {
        // A concurrent change of the header or index states must still make this
        // transaction conflict, exactly as the reads below would.
        txn.AddReadConflictKey(header_key);
        if (cached->index_states_read) {
          auto [begin, end] = IndexStateSpace().Range();
          txn.AddReadConflictRange(begin, end);
        }
        return cached;
      }
    } else if (HasErrorCode(read.status(), ErrorCode::kAccessedUnreadable)) {
      // This transaction bumped the version: it changed some store's state, which only its
      // own reads show. Neither use nor fill the cache.
      cache = nullptr;
    } else {
      return read.status();
    }
  }
  ASSIGN_OR_RETURN(std::optional<std::string> stored, txn.Get(header_key));
  if (!stored.has_value()) return nullptr;
  auto state = std::make_shared<StoreState>();
  if (!state->header.ParseFromString(*stored)) {
    return MakeError(ErrorCode::kDataCorruption, "the record store header does not parse");
  }
  // The header tells whether any index state is stored, which saves a range read per open
  // (a change of that answer rewrites the header, so openers still conflict with it). A
  // newer format than this code reads fails the open: its states are not read.
  const uint32_t format = state->header.format_version();
  if (format <= kStoreFormatVersion && (format < 2 || state->header.has_index_states())) {
    ASSIGN_OR_RETURN(state->index_states, ReadIndexStates());
    state->index_states_read = true;
  }
  if (cache != nullptr) {
    cache->Insert(txn.database_id(), subspace_.key(), std::move(metadata_version), state);
  }
  return state;
}

Status RecordStore::Create() {
  header_.set_format_version(kStoreFormatVersion);
  header_.set_metadata_version(metadata_.version());
  header_.set_user_version(0);
  header_.set_records_unsplit(true);
  RETURN_IF_ERROR(WriteHeader());
  return WriteStoredMetadata();
}

Status RecordStore::WriteHeader() {
  header_.set_has_index_states(!index_states_.empty());
  context_.txn().Set(subspace_.Pack(Tuple::Of(kHeaderKey)), header_.SerializeAsString());
  // Invalidates every cached copy of the header (store_state_cache.h).
  context_.txn().BumpMetadataVersion();
  return absl::OkStatus();
}

Status RecordStore::NoteSplitRecord(cursor::RecordContext& context, const Subspace& subspace) {
  const std::string header_key = subspace.Pack(Tuple::Of(kHeaderKey));
  ASSIGN_OR_RETURN(std::optional<std::string> stored, context.txn().Get(header_key));
  if (!stored.has_value()) {
    return MakeError(ErrorCode::kNotFound, "no record store in subspace " +
                                               Tuple::Of(ByteString{subspace.key()}).ToString());
  }
  proto::StoreHeader header;
  if (!header.ParseFromString(*stored)) {
    return MakeError(ErrorCode::kDataCorruption, "the record store header does not parse");
  }
  if (!header.records_unsplit()) return absl::OkStatus();
  header.set_records_unsplit(false);
  context.txn().Set(header_key, header.SerializeAsString());
  context.txn().BumpMetadataVersion();
  return absl::OkStatus();
}

Status RecordStore::WriteStoredMetadata() {
  return cursor::SaveSplit(context_, subspace_.Sub(Tuple::Of(kStoredMetadataKey)), Tuple(),
                           metadata_.ToProto().SerializeAsString(), std::nullopt);
}

Status RecordStore::SetUserVersion(int32_t user_version) {
  header_.set_user_version(user_version);
  return WriteHeader();
}

Subspace RecordStore::IndexStateSpace() const {
  return subspace_.Sub(Tuple::Of(kIndexStateKey));
}

StatusOr<std::map<std::string, IndexState, std::less<>>> RecordStore::ReadIndexStates() {
  Subspace states = IndexStateSpace();
  auto [begin, end] = states.Range();
  ASSIGN_OR_RETURN(kv::RangeResult rows, context_.txn().GetRange(begin, end));
  std::map<std::string, IndexState, std::less<>> result;
  for (const kv::KeyValue& row : rows.rows) {
    StatusOr<Tuple> key = states.Unpack(row.key);
    StatusOr<Tuple> value = Tuple::Unpack(row.value);
    const std::string* name = nullptr;
    std::optional<int64_t> state;
    if (key.ok() && key->size() == 1) name = (*key)[0].get_if<std::string>();
    if (value.ok() && value->size() == 1) state = (*value)[0].AsInt64();
    if (name == nullptr || !state.has_value() || *state < 0 ||
        *state > static_cast<int64_t>(IndexState::kDisabled)) {
      return MakeError(ErrorCode::kDataCorruption, "an index state entry does not parse");
    }
    result[*name] = static_cast<IndexState>(*state);
  }
  return result;
}

Status RecordStore::CheckMaintainersExist() const {
  for (const metadata::Index& index : metadata_.indexes()) {
    RETURN_IF_ERROR(options_.maintainers->CheckSupported(index));
  }
  return absl::OkStatus();
}

StatusOr<std::vector<RecordStore::IndexSlot>*> RecordStore::Slots() const {
  if (!slots_made_) {
    RETURN_IF_ERROR(MakeMaintainers());
    slots_made_ = true;
  }
  return &slots_;
}

StatusOr<const std::vector<RecordStore::IndexSlot*>*> RecordStore::SlotsFor(
    const metadata::RecordType& type) const {
  RETURN_IF_ERROR(Slots().status());
  return &slots_by_type_[type.union_field_number()];
}

Status RecordStore::MakeMaintainers() const {
  slots_.clear();
  slots_by_type_.clear();
  slots_.reserve(metadata_.indexes().size());
  // Made once per store (the store lives for one transaction) and only when an index is
  // used: the prefixes are put together from packed parts, the index name packed once,
  // rather than from three tuples.
  static const std::string kEntries = Tuple::Of(kIndexEntriesKey).Pack();
  static const std::string kSecondary = Tuple::Of(kIndexSecondaryKey).Pack();
  static const std::string kViolations = Tuple::Of(kIndexViolationsKey).Pack();
  for (const metadata::Index& index : metadata_.indexes()) {
    auto found = index_states_.find(index.name());
    const std::string name = Tuple::Of(index.name()).Pack();
    auto index_space = [&](const std::string& space) {
      return Subspace(subspace_.key() + space + name);
    };
    index::IndexMaintainerState state{
        &context_,
        &metadata_,
        &index,
        found == index_states_.end() ? IndexState::kReadable : found->second,
        index_space(kEntries),
        index_space(kSecondary),
        index_space(kViolations)};
    ASSIGN_OR_RETURN(std::unique_ptr<index::IndexMaintainer> maintainer,
                     options_.maintainers->Create(std::move(state)));
    slots_.push_back(IndexSlot{&index, std::move(maintainer)});
  }
  for (const metadata::RecordType& type : metadata_.record_types()) {
    std::vector<IndexSlot*>& slots = slots_by_type_[type.union_field_number()];
    for (IndexSlot& slot : slots_) {
      if (slot.index->AppliesTo(type.name())) slots.push_back(&slot);
    }
  }
  return absl::OkStatus();
}

Status RecordStore::Upgrade(const metadata::RecordMetaData& stored) {
  RETURN_IF_ERROR(metadata::ValidateEvolution(stored, metadata_).ToStatus());
  const int old_version = header_.metadata_version();
  kv::Transaction& txn = context_.txn();
  // Indexes removed since: clear everything they had.
  for (const metadata::FormerIndex& former : metadata_.former_indexes()) {
    if (former.removed_version <= old_version) continue;
    for (int64_t space : {kIndexEntriesKey, kIndexSecondaryKey, kIndexStateKey,
                          kIndexBuiltRangesKey, kIndexViolationsKey, kIndexBuildKey}) {
      auto [begin, end] = subspace_.Range(Tuple::Of(space, former.name));
      txn.ClearRange(begin, end);
      txn.Clear(subspace_.Pack(Tuple::Of(space, former.name)));
    }
    index_states_.erase(former.name);
    // Its state may have been cleared: cached copies are stale.
    txn.BumpMetadataVersion();
  }
  // Indexes added or redefined since: rebuild, now for a small store, later otherwise.
  std::vector<IndexSlot*> to_build;
  ASSIGN_OR_RETURN(std::vector<IndexSlot>* slots, Slots());
  for (IndexSlot& slot : *slots) {
    if (slot.index->last_modified_version() > old_version) to_build.push_back(&slot);
  }
  if (!to_build.empty()) {
    ASSIGN_OR_RETURN(int64_t records, CountRecordsUpTo(options_.inline_build_record_limit + 1));
    const bool inline_build = records <= options_.inline_build_record_limit;
    for (IndexSlot* slot : to_build) {
      if (inline_build) {
        // Built write-only, so that a unique index records duplicates instead of failing
        // the open; it stays write-only while it has any (ScanUniquenessViolations), with
        // every record built, so writers keep it up to date.
        RETURN_IF_ERROR(ClearAndMarkIndexWriteOnly(slot->index->name()));
        RETURN_IF_ERROR(BuildIndexInline(*slot));
        RETURN_IF_ERROR(IndexBuiltRanges(slot->index->name())
                            .InsertRange(txn, "", RangeSet::kEnd)
                            .status());
        Status readable = SetIndexState(slot->index->name(), IndexState::kReadable);
        if (!readable.ok() && !HasErrorCode(readable, ErrorCode::kUniquenessViolation)) {
          return readable;
        }
      } else {
        RETURN_IF_ERROR(ClearAndMarkIndexWriteOnly(slot->index->name()));
      }
    }
  }
  header_.set_metadata_version(metadata_.version());
  RETURN_IF_ERROR(WriteHeader());
  return WriteStoredMetadata();
}

StatusOr<int64_t> RecordStore::CountRecordsUpTo(int64_t limit) {
  index::ScanOptions options;
  options.row_limit = limit;
  ASSIGN_OR_RETURN(cursor::CursorPtr<StoredRecord> records,
                   ScanRecords(index::TupleRange::All(), cursor::Continuation::Start(), options));
  int64_t count = 0;
  while (true) {
    ASSIGN_OR_RETURN(cursor::CursorResult<StoredRecord> result, records->Next());
    if (!result.has_value()) return count;
    ++count;
  }
}

Status RecordStore::BuildIndexInline(IndexSlot& slot) {
  ASSIGN_OR_RETURN(cursor::CursorPtr<StoredRecord> records,
                   ScanRecords(index::TupleRange::All(), cursor::Continuation::Start()));
  while (true) {
    ASSIGN_OR_RETURN(cursor::CursorResult<StoredRecord> result, records->Next());
    if (!result.has_value()) return absl::OkStatus();
    const StoredRecord& record = result.value();
    if (!slot.index->AppliesTo(record.type->name())) continue;
    IndexedRecord indexed{record.type, record.message.get(), record.primary_key, record.version};
    RETURN_IF_ERROR(slot.maintainer->Update(nullptr, &indexed));
  }
}

IndexState RecordStore::GetIndexState(std::string_view index_name) const {
  auto found = index_states_.find(index_name);
  return found == index_states_.end() ? IndexState::kReadable : found->second;
}

StatusOr<RecordStore::IndexSlot*> RecordStore::FindSlot(std::string_view index_name) const {
  ASSIGN_OR_RETURN(std::vector<IndexSlot>* slots, Slots());
  for (IndexSlot& slot : *slots) {
    if (slot.index->name() == index_name) return &slot;
  }
  return MakeError(ErrorCode::kNotFound, "no index " + std::string(index_name));
}

index::IndexMaintainer* RecordStore::Maintainer(std::string_view index_name) const {
  StatusOr<IndexSlot*> slot = FindSlot(index_name);
  return slot.ok() ? (*slot)->maintainer.get() : nullptr;
}

Status RecordStore::SetIndexState(std::string_view index_name, IndexState state) {
  ASSIGN_OR_RETURN(IndexSlot * slot, FindSlot(index_name));
  const IndexState old_state = GetIndexState(index_name);
  if (state == old_state) return absl::OkStatus();
  if (state == IndexState::kReadable && slot->index->unique()) {
    ASSIGN_OR_RETURN(std::vector<index::UniquenessViolation> violations,
                     slot->maintainer->ScanUniquenessViolations());
    if (!violations.empty()) {
      const index::UniquenessViolation& first = violations.front();
      return MakeError(ErrorCode::kUniquenessViolation,
                       "index " + slot->index->name() + " cannot become readable: " +
                           std::to_string(violations.size()) +
                           " records share keys, e.g. records " + first.primary_key.ToString() +
                           " and " + first.other_primary_key.ToString() + " have key " +
                           first.index_key.ToString());
    }
  }
  if (state == IndexState::kDisabled) slot->maintainer->ClearAll();
  if (state == IndexState::kWriteOnly && old_state == IndexState::kReadable) {
    // The index is complete: every record's index entries stay the writers' to maintain.
    RETURN_IF_ERROR(IndexBuiltRanges(index_name).InsertRange(context_.txn(), "", RangeSet::kEnd)
                        .status());
  } else if (state != IndexState::kWriteOnly) {
    ClearBuildData(slot->index->name());
  }
  std::string key = subspace_.Pack(Tuple::Of(kIndexStateKey, slot->index->name()));
  if (state == IndexState::kReadable) {
    context_.txn().Clear(key);
    index_states_.erase(slot->index->name());
  } else {
    context_.txn().Set(key, Tuple::Of(static_cast<int64_t>(state)).Pack());
    index_states_[slot->index->name()] = state;
  }
  // Invalidates every cached copy of the index states (store_state_cache.h).
  context_.txn().BumpMetadataVersion();
  if (header_.has_index_states() == index_states_.empty()) RETURN_IF_ERROR(WriteHeader());
  // The maintainer's behaviour depends on the state (write-only unique indexes record
  // violations instead of refusing records).
  index::IndexMaintainerState maintainer_state = slot->maintainer->state();
  maintainer_state.state = state;
  ASSIGN_OR_RETURN(slot->maintainer, options_.maintainers->Create(std::move(maintainer_state)));
  return absl::OkStatus();
}

Status RecordStore::ClearAndMarkIndexWriteOnly(std::string_view index_name) {
  RETURN_IF_ERROR(FindSlot(index_name).status());
  // Through disabled, which clears the data and the build data, so that write-only starts
  // with nothing built.
  RETURN_IF_ERROR(SetIndexState(index_name, IndexState::kDisabled));
  return SetIndexState(index_name, IndexState::kWriteOnly);
}

RangeSet RecordStore::IndexBuiltRanges(std::string_view index_name) const {
  return RangeSet(subspace_.Sub(Tuple::Of(kIndexBuiltRangesKey, std::string(index_name))));
}

Subspace RecordStore::IndexBuildSpace(std::string_view index_name) const {
  return subspace_.Sub(Tuple::Of(kIndexBuildKey, std::string(index_name)));
}

void RecordStore::ClearBuildData(const std::string& index_name) {
  for (int64_t space : {kIndexBuiltRangesKey, kIndexBuildKey}) {
    auto [begin, end] = subspace_.Range(Tuple::Of(space, index_name));
    context_.txn().ClearRange(begin, end);
  }
}

StatusOr<RecordStore::Maintenance> RecordStore::Maintains(const IndexSlot& slot,
                                                          const Tuple& primary_key) {
  switch (GetIndexState(slot.index->name())) {
    case IndexState::kReadable:
      return Maintenance::kUpdate;
    case IndexState::kDisabled:
      return Maintenance::kNone;
    case IndexState::kWriteOnly: {
      // A by-index build in progress: every record, whole entries (serializable read, so a
      // writer and the transaction that starts the build conflict).
      ASSIGN_OR_RETURN(std::optional<std::string> source,
                       context_.txn().Get(IndexBuildSpace(slot.index->name())
                                              .Pack(Tuple::Of(std::string(kIndexBuildSourceKey)))));
      if (source.has_value()) return Maintenance::kRewrite;
      ASSIGN_OR_RETURN(bool built, IndexBuiltRanges(slot.index->name())
                                       .Contains(context_.txn(), primary_key.Pack()));
      return built ? Maintenance::kUpdate : Maintenance::kNone;
    }
  }
  return Maintenance::kNone;
}

StatusOr<RecordStore::IndexSlot*> RecordStore::ReadableSlot(std::string_view index_name) {
  ASSIGN_OR_RETURN(IndexSlot * slot, FindSlot(index_name));
  IndexState state = GetIndexState(index_name);
  if (state != IndexState::kReadable) {
    return MakeError(ErrorCode::kIndexNotReadable,
                     "index " + std::string(index_name) + " is " +
                         std::string(index::IndexStateName(state)) + ", not readable");
  }
  return slot;
}

StatusOr<cursor::CursorPtr<index::IndexEntry>> RecordStore::ScanIndex(
    std::string_view index_name, const index::TupleRange& range,
    const cursor::Continuation& continuation, const index::ScanOptions& options) {
  ASSIGN_OR_RETURN(IndexSlot * slot, ReadableSlot(index_name));
  return slot->maintainer->ScanEntries(range, continuation, options);
}

StatusOr<Tuple> RecordStore::EvaluateAggregate(std::string_view index_name, const Tuple& group) {
  ASSIGN_OR_RETURN(IndexSlot * slot, ReadableSlot(index_name));
  return slot->maintainer->EvaluateAggregate(group);
}

StatusOr<std::vector<index::UniquenessViolation>> RecordStore::ScanUniquenessViolations(
    std::string_view index_name) {
  ASSIGN_OR_RETURN(IndexSlot * slot, FindSlot(index_name));
  return slot->maintainer->ScanUniquenessViolations();
}

StatusOr<std::string> RecordStore::Encode(const metadata::RecordType& type,
                                          const google::protobuf::Message& record,
                                          const std::string& record_key) const {
  // The union message with one field set, written by hand: a length-delimited field. The
  // sizes are computed once (ByteSizeLong caches them in every nested message) and the bytes
  // written straight into the buffer: for dynamic messages both passes go through reflection.
  using google::protobuf::io::CodedOutputStream;
  using google::protobuf::internal::WireFormatLite;
  const size_t body_size = record.ByteSizeLong();
  if (body_size > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "record of type " + type.name() + " does not serialize (too large)");
  }
  const uint32_t tag = WireFormatLite::MakeTag(type.union_field_number(),
                                               WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
  std::string payload(CodedOutputStream::VarintSize32(tag) +
                          CodedOutputStream::VarintSize32(static_cast<uint32_t>(body_size)) +
                          body_size,
                      '\0');
  uint8_t* out = reinterpret_cast<uint8_t*>(payload.data());
  out = CodedOutputStream::WriteVarint32ToArray(tag, out);
  out = CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(body_size), out);
  record.SerializeWithCachedSizesToArray(out);
  return serializer_.Serialize(payload, record_key);
}

StatusOr<RecordStore::UnionPayload> RecordStore::Unwrap(const Tuple& primary_key,
                                                        std::string_view stored,
                                                        const std::string& record_key) const {
  StatusOr<std::string> deserialized = serializer_.Deserialize(stored, record_key);
  if (!deserialized.ok()) {
    // The serializer knows only key bytes: name the record here, keeping the error number.
    const Status& error = deserialized.status();
    return WithMessage(error,
                       "record " + primary_key.ToString() + ": " + std::string(error.message()));
  }
  UnionPayload unwrapped;
  unwrapped.payload = *std::move(deserialized);
  const std::string& payload = unwrapped.payload;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(payload.data()),
                                            static_cast<int>(payload.size()));
  const uint32_t tag = in.ReadTag();
  uint32_t length = 0;
  if (google::protobuf::internal::WireFormatLite::GetTagWireType(tag) !=
          google::protobuf::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED ||
      !in.ReadVarint32(&length) || length != payload.size() - in.CurrentPosition()) {
    return Corrupt(primary_key, "the stored bytes are not a record type union");
  }
  const int field_number = google::protobuf::internal::WireFormatLite::GetTagFieldNumber(tag);
  for (const metadata::RecordType& candidate : metadata_.record_types()) {
    if (candidate.union_field_number() == field_number) unwrapped.type = &candidate;
  }
  if (unwrapped.type == nullptr) {
    return Corrupt(primary_key, "its union field " + std::to_string(field_number) +
                                    " is not a record type of the metadata");
  }
  unwrapped.body_offset = static_cast<size_t>(in.CurrentPosition());
  return unwrapped;
}

StatusOr<StoredRecord> RecordStore::Decode(const Tuple& primary_key, std::string_view stored,
                                           const std::string& record_key) const {
  ASSIGN_OR_RETURN(UnionPayload unwrapped, Unwrap(primary_key, stored, record_key));
  const metadata::RecordType* type = unwrapped.type;
  StoredRecord record;
  record.type = type;
  record.message = metadata_.NewRecord(*type);
  // Merging into the fresh message parses exactly as ParseFromArray, without first clearing
  // the message field by field by reflection. The non-partial merge also walks the message by
  // reflection for missing required fields; most types cannot miss any.
  using google::protobuf::MessageLite;
  const google::protobuf::StringPiece body(unwrapped.body().data(), unwrapped.body().size());
  if (!(type->may_miss_required_fields()
            ? record.message->ParseFrom<MessageLite::kMerge>(body)
            : record.message->ParseFrom<MessageLite::kMergePartial>(body))) {
    return Corrupt(primary_key, "it does not parse as " + type->name());
  }
  record.primary_key = primary_key;
  return record;
}

StatusOr<std::optional<StoredRecord>> RecordStore::LoadRecord(const Tuple& primary_key) {
  ASSIGN_OR_RETURN(
      std::optional<cursor::SplitRecord> split,
      cursor::LoadSplitByPointReads(context_, records_, primary_key, !header_.records_unsplit()));
  if (!split.has_value()) return std::optional<StoredRecord>();
  ASSIGN_OR_RETURN(StoredRecord record,
                   Decode(primary_key, split->value, records_.Pack(primary_key)));
  record.version = split->version;
  record.shape = cursor::ShapeOf(split);
  return std::optional<StoredRecord>(std::move(record));
}

StatusOr<bool> RecordStore::RecordExists(const Tuple& primary_key) {
  // A record has (pk..., 0) when unsplit, else chunk (pk..., 1) (split_helper.h): two point
  // reads, which the engine answers from its Bloom filters when the record does not exist;
  // one when the header says no record is split.
  Subspace record = records_.Sub(primary_key);
  for (int64_t data_suffix : {cursor::kUnsplitSuffix, int64_t{1}}) {
    if (data_suffix != cursor::kUnsplitSuffix && header_.records_unsplit()) break;
    ASSIGN_OR_RETURN(std::optional<std::string> data,
                     context_.txn().Get(record.Pack(Tuple::Of(data_suffix))));
    if (data.has_value()) return true;
  }
  return false;
}

Status RecordStore::UpdateIndexes(const IndexedRecord* old_record,
                                  const IndexedRecord* new_record) {
  const metadata::RecordType* old_type = old_record != nullptr ? old_record->type : nullptr;
  const metadata::RecordType* new_type = new_record != nullptr ? new_record->type : nullptr;
  auto applies = [](const IndexSlot& slot, const metadata::RecordType* type) {
    return type != nullptr && slot.index->AppliesTo(type->name());
  };
  const Tuple& primary_key = new_record != nullptr ? new_record->primary_key
                                                   : old_record->primary_key;
  auto update = [&](IndexSlot& slot) -> Status {
    ASSIGN_OR_RETURN(Maintenance maintenance, Maintains(slot, primary_key));
    const IndexedRecord* old_indexed = applies(slot, old_type) ? old_record : nullptr;
    const IndexedRecord* new_indexed = applies(slot, new_type) ? new_record : nullptr;
    switch (maintenance) {
      case Maintenance::kNone:
        return absl::OkStatus();
      case Maintenance::kUpdate:
        return slot.maintainer->Update(old_indexed, new_indexed);
      case Maintenance::kRewrite:
        // The old entries cleared and the new ones all set, unchanged ones included: the
        // builder may not have written them yet and may never reach them (see the header).
        if (old_indexed != nullptr) RETURN_IF_ERROR(slot.maintainer->Update(old_indexed, nullptr));
        if (new_indexed != nullptr) RETURN_IF_ERROR(slot.maintainer->Update(nullptr, new_indexed));
        return absl::OkStatus();
    }
    return absl::OkStatus();
  };
  if (old_type == nullptr || new_type == nullptr || old_type == new_type) {
    const metadata::RecordType* type = new_type != nullptr ? new_type : old_type;
    ASSIGN_OR_RETURN(const std::vector<IndexSlot*>* slots, SlotsFor(*type));
    for (IndexSlot* slot : *slots) {
      RETURN_IF_ERROR(update(*slot));
    }
    return absl::OkStatus();
  }
  // The record changes type: every index of either type.
  ASSIGN_OR_RETURN(std::vector<IndexSlot>* slots, Slots());
  for (IndexSlot& slot : *slots) {
    if (applies(slot, old_type) || applies(slot, new_type)) RETURN_IF_ERROR(update(slot));
  }
  return absl::OkStatus();
}

StatusOr<SavedRecord> RecordStore::SaveRecord(const google::protobuf::Message& record,
                                              SaveMode mode) {
  const metadata::RecordType* type = metadata_.FindRecordTypeFor(*record.GetDescriptor());
  if (type == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "message type " +
                                                      record.GetDescriptor()->full_name() +
                                                      " is not a record type of this store");
  }
  if (type->may_miss_required_fields() && !record.IsInitialized()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "record of type " + type->name() +
                         " misses required fields: " + record.InitializationErrorString());
  }
  ASSIGN_OR_RETURN(std::vector<Tuple> primary_keys,
                   type->primary_key().Evaluate(record, type->Context()));
  SavedRecord saved;
  saved.type = type;
  saved.primary_key = std::move(primary_keys.front());

  ASSIGN_OR_RETURN(std::optional<StoredRecord> old, LoadRecord(saved.primary_key));
  saved.replaced = old.has_value();
  switch (mode) {
    case SaveMode::kUpsert:
      break;
    case SaveMode::kInsert:
      if (old.has_value()) {
        return MakeError(ErrorCode::kAlreadyExists,
                         "record " + saved.primary_key.ToString() + " already exists (a " +
                             old->type->name() + ")");
      }
      break;
    case SaveMode::kUpdate:
      if (!old.has_value()) {
        return MakeError(ErrorCode::kNotFound,
                         "record " + saved.primary_key.ToString() + " does not exist");
      }
      if (old->type != type) {
        return MakeError(ErrorCode::kRecordTypeChanged,
                         "record " + saved.primary_key.ToString() + " is a " +
                             old->type->name() + ", not a " + type->name());
      }
      break;
  }

  if (options_.store_record_versions) {
    ASSIGN_OR_RETURN(saved.version, context_.NewIncompleteVersion());
  }
  std::string record_key = records_.Pack(saved.primary_key);
  ASSIGN_OR_RETURN(std::string stored, Encode(*type, record, record_key));

  IndexedRecord new_indexed{type, &record, saved.primary_key, saved.version};
  std::optional<IndexedRecord> old_indexed;
  if (old.has_value()) {
    old_indexed.emplace(IndexedRecord{old->type, old->message.get(), old->primary_key,
                                      old->version});
  }
  const IndexedRecord* old_pointer = old_indexed.has_value() ? &*old_indexed : nullptr;
  // Refusals (unique indexes, the transaction size) come before the first write, so a
  // refused save leaves the transaction as it was.
  ASSIGN_OR_RETURN(const std::vector<IndexSlot*>* slots, SlotsFor(*type));
  for (IndexSlot* slot : *slots) {
    if (GetIndexState(slot->index->name()) != IndexState::kReadable) continue;
    RETURN_IF_ERROR(slot->maintainer->CheckUpdate(
        old_pointer != nullptr && slot->index->AppliesTo(old->type->name()) ? old_pointer
                                                                            : nullptr,
        &new_indexed));
  }
  const cursor::SplitShape previous = old.has_value() ? old->shape : cursor::SplitShape{};
  RETURN_IF_ERROR(
      cursor::SaveSplit(context_, records_, saved.primary_key, stored, saved.version, &previous));
  if (stored.size() > cursor::kSplitChunkSize && header_.records_unsplit()) {
    // The first split record: loads must look for chunks from now on. Every transaction that
    // opened the store read the header, so it conflicts with this rewrite.
    header_.set_records_unsplit(false);
    RETURN_IF_ERROR(WriteHeader());
  }
  if (Status updated = UpdateIndexes(old_pointer, &new_indexed); !updated.ok()) {
    context_.FailCommit(updated);
    return updated;
  }
  return saved;
}

Status RecordStore::DeleteLoaded(const StoredRecord& record) {
  IndexedRecord old_indexed{record.type, record.message.get(), record.primary_key,
                            record.version};
  cursor::DeleteSplit(context_, records_, record.primary_key, &record.shape);
  if (Status updated = UpdateIndexes(&old_indexed, nullptr); !updated.ok()) {
    context_.FailCommit(updated);
    return updated;
  }
  return absl::OkStatus();
}

StatusOr<bool> RecordStore::DeleteRecord(const Tuple& primary_key) {
  ASSIGN_OR_RETURN(std::optional<StoredRecord> old, LoadRecord(primary_key));
  if (!old.has_value()) return false;
  RETURN_IF_ERROR(DeleteLoaded(*old));
  return true;
}

Status RecordStore::DeleteAllRecords() {
  auto [begin, end] = records_.Range();
  context_.txn().ClearRange(begin, end);
  context_.ClearPendingVersions(begin, end);
  ASSIGN_OR_RETURN(std::vector<IndexSlot>* slots, Slots());
  for (IndexSlot& slot : *slots) slot.maintainer->ClearAll();
  return absl::OkStatus();
}

StatusOr<int64_t> RecordStore::DeleteRecordsWhere(const Tuple& prefix) {
  ASSIGN_OR_RETURN(cursor::CursorPtr<StoredRecord> records,
                   ScanRecords(index::TupleRange::Prefix(prefix), cursor::Continuation::Start()));
  int64_t deleted = 0;
  while (true) {
    ASSIGN_OR_RETURN(cursor::CursorResult<StoredRecord> result, records->Next());
    if (!result.has_value()) return deleted;
    RETURN_IF_ERROR(DeleteLoaded(result.value()));
    ++deleted;
  }
}

StatusOr<cursor::CursorPtr<StoredRecord>> RecordStore::ScanRecords(
    const index::TupleRange& range, const cursor::Continuation& continuation,
    const index::ScanOptions& options) {
  return ScanRecordEndpoints(range.LowEndpoint(), range.HighEndpoint(), continuation, options);
}

StatusOr<cursor::CursorPtr<StoredRecord>> RecordStore::ScanRecordsInKeyRange(
    std::string_view begin, std::string_view end, const cursor::Continuation& continuation,
    const index::ScanOptions& options) {
  return ScanRecordEndpoints(cursor::KeyEndpoint::InclusiveRaw(begin),
                             cursor::KeyEndpoint::ExclusiveRaw(end), continuation, options);
}

StatusOr<cursor::CursorPtr<StoredRecord>> RecordStore::ScanRecordEndpoints(
    const cursor::KeyEndpoint& low, const cursor::KeyEndpoint& high,
    const cursor::Continuation& continuation, const index::ScanOptions& options) {
  // The row cursor reads without limits; RecordScanCursor applies them per record.
  cursor::KeyValueCursorOptions row_options;
  row_options.reverse = options.reverse;
  row_options.snapshot = options.snapshot;
  row_options.batching = options.batching;
  ASSIGN_OR_RETURN(std::unique_ptr<cursor::KeyValueCursor> rows,
                   cursor::KeyValueCursor::Create(context_.txn(), records_, low, high,
                                                  continuation, row_options));
  auto decoder = [this](const Tuple& primary_key,
                        cursor::SplitRecord split) -> StatusOr<StoredRecord> {
    ASSIGN_OR_RETURN(StoredRecord record,
                     Decode(primary_key, split.value, records_.Pack(primary_key)));
    record.version = split.version;
    record.shape = cursor::SplitShape{true, split.chunks, split.version.has_value()};
    return record;
  };
  return cursor::CursorPtr<StoredRecord>(std::make_unique<RecordScanCursor>(
      context_, records_, std::move(rows), options, continuation, std::move(decoder)));
}

StatusOr<std::optional<SerializedRecord>> RecordStore::LoadSerializedRecord(
    const Tuple& primary_key) {
  ASSIGN_OR_RETURN(
      std::optional<cursor::SplitRecord> split,
      cursor::LoadSplitByPointReads(context_, records_, primary_key, !header_.records_unsplit()));
  if (!split.has_value()) return std::optional<SerializedRecord>();
  ASSIGN_OR_RETURN(UnionPayload unwrapped,
                   Unwrap(primary_key, split->value, records_.Pack(primary_key)));
  SerializedRecord record;
  record.type = unwrapped.type;
  record.bytes = std::string(unwrapped.body());
  record.version = split->version;
  return std::optional<SerializedRecord>(std::move(record));
}

}  // namespace recordstore::store
