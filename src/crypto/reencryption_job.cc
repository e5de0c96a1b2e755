#include "crypto/reencryption_job.h"

#include <utility>
#include <vector>

#include "common/status_macros.h"
#include "common/status_util.h"
#include "cursor/record_context.h"
#include "cursor/split_helper.h"
#include "store/record_store.h"
#include "tuple/tuple.h"

namespace recordstore::crypto {
namespace {

// Facts of src/store this job depends on (see the header's "Layering debt").
constexpr int64_t kStoreHeaderKey = 0;   // record_store.cc kHeaderKey
constexpr int64_t kStoreRecordsKey = 1;  // record_store.cc kRecordsKey
constexpr uint8_t kRecordFormatVersion = 1;
constexpr uint8_t kCompressionMask = 0x03;
constexpr uint8_t kEncryptedFlag = 0x04;

constexpr int64_t kProgressFormat = 1;
constexpr std::string_view kStateKey = "state";

// A KeyProvider that seals with one fixed key (the batch's target) and reads with `inner`,
// so that every record of a batch goes to the key the batch recorded as its target even if
// the provider's current key changes meanwhile.
class PinnedKeyProvider : public KeyProvider {
 public:
  PinnedKeyProvider(DataKey current, std::shared_ptr<const KeyProvider> inner)
      : current_(current), inner_(std::move(inner)) {}
  StatusOr<DataKey> CurrentKey() const override { return current_; }
  StatusOr<DataKey> KeyById(uint32_t id) const override {
    if (id == current_.id) return current_;
    return inner_->KeyById(id);
  }

 private:
  DataKey current_;
  std::shared_ptr<const KeyProvider> inner_;
};

Status Corrupt(const std::string& what) {
  return MakeError(ErrorCode::kDataCorruption, "re-encryption progress: " + what);
}

// `error` naming the record it is about, so that an operator can find it; the code and the
// error number (payload) stay.
Status NameRecord(const Status& error, const Tuple& primary_key) {
  return WithMessage(error,
                     "record " + primary_key.ToString() + ": " + std::string(error.message()));
}

}  // namespace

StatusOr<std::optional<uint32_t>> SealingKeyId(std::string_view stored) {
  auto corrupt = [](const std::string& what) {
    return MakeError(ErrorCode::kDataCorruption, "stored record: " + what);
  };
  if (stored.size() < 2) return corrupt("shorter than its 2-byte header");
  if (static_cast<uint8_t>(stored[0]) != kRecordFormatVersion) {
    return corrupt("unknown format version " + std::to_string(static_cast<uint8_t>(stored[0])));
  }
  auto flags = static_cast<uint8_t>(stored[1]);
  if ((flags & ~(kCompressionMask | kEncryptedFlag)) != 0) {
    return corrupt("unknown header flags " + std::to_string(flags));
  }
  if ((flags & kEncryptedFlag) == 0) return std::optional<uint32_t>();
  size_t pos = 2;
  if ((flags & kCompressionMask) != 0) {  // skip the uncompressed-size varint
    int length = 0;
    while (pos < stored.size() && (static_cast<uint8_t>(stored[pos]) & 0x80) != 0 && length < 10) {
      ++pos;
      ++length;
    }
    if (pos >= stored.size() || length >= 10) return corrupt("truncated size");
    ++pos;
  }
  if (stored.size() < pos + 4) return corrupt("truncated encryption header");
  uint32_t id = 0;
  for (size_t i = 0; i < 4; ++i) id = (id << 8) | static_cast<uint8_t>(stored[pos + i]);
  return std::optional<uint32_t>(id);
}

Subspace ReencryptionJob::ProgressSpace(const TenantKeyStore& keys, const std::string& tenant,
                                        const Subspace& store_subspace) {
  return keys.space().Sub(Tuple::Of(tenant, "reencrypt", ByteString{store_subspace.key()}));
}

ReencryptionJob::ReencryptionJob(kv::Database& db, Subspace store_subspace, Subspace progress,
                                 std::shared_ptr<const KeyProvider> keys,
                                 ReencryptionOptions options)
    : db_(db),
      store_(std::move(store_subspace)),
      records_(store_.Sub(Tuple::Of(kStoreRecordsKey))),
      progress_(std::move(progress)),
      keys_(std::move(keys)),
      options_(std::move(options)) {
  options_.serializer.encrypt = true;
}

namespace {

struct ParsedState {
  ReencryptionProgress progress;
  std::string resume_key;
};

StatusOr<ParsedState> ReadState(kv::Transaction& txn, const Subspace& progress) {
  ASSIGN_OR_RETURN(std::optional<std::string> value, txn.Get(progress.Pack(Tuple::Of(kStateKey))));
  ParsedState state;
  if (!value.has_value()) return state;
  StatusOr<Tuple> tuple = Tuple::Unpack(*value);
  if (!tuple.ok() || tuple->size() != 6 || (*tuple)[0].AsInt64() != kProgressFormat) {
    return Corrupt("the state does not parse");
  }
  std::optional<int64_t> target = (*tuple)[1].AsInt64();
  const auto* resume = (*tuple)[2].get_if<ByteString>();
  const auto* done = (*tuple)[3].get_if<bool>();
  std::optional<int64_t> scanned = (*tuple)[4].AsInt64();
  std::optional<int64_t> rewritten = (*tuple)[5].AsInt64();
  if (!target.has_value() || *target < 0 || *target > UINT32_MAX || resume == nullptr ||
      done == nullptr || !scanned.has_value() || !rewritten.has_value()) {
    return Corrupt("the state has malformed fields");
  }
  state.progress = {static_cast<uint32_t>(*target), *scanned, *rewritten, *done};
  state.resume_key = resume->data;
  return state;
}

void WriteState(kv::Transaction& txn, const Subspace& progress, const ParsedState& state) {
  txn.Set(progress.Pack(Tuple::Of(kStateKey)),
          Tuple::Of(kProgressFormat, int64_t{state.progress.target_key_id},
                    ByteString{state.resume_key}, state.progress.done,
                    state.progress.records_scanned, state.progress.records_rewritten)
              .Pack());
}

}  // namespace

StatusOr<ReencryptionProgress> ReencryptionJob::ReadProgress() {
  ReencryptionProgress progress;
  RETURN_IF_ERROR(db_.Run([&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(ParsedState state, ReadState(txn, progress_));
    progress = state.progress;
    return absl::OkStatus();
  }));
  return progress;
}

StatusOr<bool> ReencryptionJob::RunBatch() {
  for (int attempt = 0;; ++attempt) {
    StatusOr<bool> done = TryBatch();
    if (done.ok() || !IsRetryable(done.status()) || attempt >= options_.max_retries) return done;
  }
}

StatusOr<ReencryptionProgress> ReencryptionJob::Run() {
  while (true) {
    ASSIGN_OR_RETURN(bool done, RunBatch());
    if (done) return ReadProgress();
  }
}

StatusOr<bool> ReencryptionJob::TryBatch() {
  // The target is read before the transaction: the provider reads the KV store on its own.
  ASSIGN_OR_RETURN(DataKey target, keys_->CurrentKey());
  cursor::RecordContext context(db_.CreateTransaction());
  kv::Transaction& txn = context.txn();

  ASSIGN_OR_RETURN(std::optional<std::string> header,
                   txn.Get(store_.Pack(Tuple::Of(kStoreHeaderKey))));
  if (!header.has_value()) {
    return MakeError(ErrorCode::kNotFound, "re-encryption: no record store at the given subspace");
  }
  ASSIGN_OR_RETURN(ParsedState state, ReadState(txn, progress_));
  if (state.progress.target_key_id != target.id) {
    // A new target (first run, or the key rotated since): every record is visited again.
    state = ParsedState{};
    state.progress.target_key_id = target.id;
  }
  if (state.progress.done) return true;

  RecordSerializer serializer(options_.serializer,
                              std::make_shared<PinnedKeyProvider>(target, keys_));
  auto [records_begin, records_end] = records_.Range();
  std::string begin = state.resume_key.empty() ? records_begin : state.resume_key;
  kv::RangeReader reader(txn, kv::RangeEndpoint::Inclusive(begin),
                         kv::RangeEndpoint::Exclusive(records_end));

  // Rows of the record being read; a record is handled once its last row has been read
  // (the next row belongs to another primary key, or the range ended).
  std::optional<Tuple> group_pk;
  std::vector<kv::KeyValue> group_rows;
  int64_t visited = 0;
  auto handle_group = [&]() -> Status {
    std::vector<cursor::SplitRow> rows;
    rows.reserve(group_rows.size());
    for (const kv::KeyValue& row : group_rows) rows.push_back({row.key, row.value});
    ASSIGN_OR_RETURN(std::optional<cursor::SplitRecord> split,
                     cursor::AssembleSplit(records_, *group_pk, rows, nullptr));
    ++visited;
    ++state.progress.records_scanned;
    if (!split.has_value()) return absl::OkStatus();  // a lone version key: AssembleSplit's call
    StatusOr<std::optional<uint32_t>> key_id = SealingKeyId(split->value);
    if (!key_id.ok()) return NameRecord(key_id.status(), *group_pk);
    if (*key_id == target.id) return absl::OkStatus();
    std::string record_key = records_.Pack(*group_pk);
    StatusOr<std::string> payload = serializer.Deserialize(split->value, record_key);
    if (!payload.ok()) return NameRecord(payload.status(), *group_pk);
    ASSIGN_OR_RETURN(std::string sealed, serializer.Serialize(*payload, record_key));
    // Sealing adds bytes: a record just under the chunk size may become split.
    if (sealed.size() > cursor::kSplitChunkSize) {
      RETURN_IF_ERROR(store::RecordStore::NoteSplitRecord(context, store_));
    }
    RETURN_IF_ERROR(cursor::SaveSplit(context, records_, *group_pk, sealed, split->version));
    ++state.progress.records_rewritten;
    return absl::OkStatus();
  };
  auto out_of_budget = [&]() {
    return visited >= options_.records_per_batch ||
           context.Age() >= options_.max_transaction_time ||
           txn.GetApproximateSize() >= options_.max_transaction_bytes;
  };

  bool finished = false;
  while (true) {
    ASSIGN_OR_RETURN(const kv::KeyValue* row, reader.Next());
    std::optional<Tuple> pk;
    if (row != nullptr) {
      ASSIGN_OR_RETURN(Tuple key, records_.Unpack(row->key));
      if (key.empty()) return MakeError(ErrorCode::kDataCorruption, "an empty record key");
      pk = Tuple(std::vector<TupleElement>(key.begin(), key.end() - 1));
    }
    if (group_pk.has_value() && (row == nullptr || *pk != *group_pk)) {
      RETURN_IF_ERROR(handle_group());
      // Resume after every key of the handled record: records_.Sub(pk).Range().second.
      state.resume_key = records_.Sub(*group_pk).Range().second;
      group_rows.clear();
      group_pk.reset();
      if (row != nullptr && out_of_budget()) break;
    }
    if (row == nullptr) {
      finished = true;
      break;
    }
    group_pk = std::move(pk);
    group_rows.push_back(*row);
  }
  state.progress.done = finished;
  WriteState(txn, progress_, state);
  RETURN_IF_ERROR(context.Commit());
  return finished;
}

}  // namespace recordstore::crypto
