#include "cursor/split_helper.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "common/status_macros.h"

namespace recordstore::cursor {
namespace {

std::string SuffixKey(const Subspace& record, int64_t suffix) {
  return record.Pack(Tuple::Of(suffix));
}

size_t ChunkCount(size_t value_size) {
  return value_size <= kSplitChunkSize ? 0 : (value_size + kSplitChunkSize - 1) / kSplitChunkSize;
}

// The value stored under (pk..., -1): the version as a one-element tuple. For an incomplete
// version, the SET_VERSIONSTAMPED_VALUE operand (with the 4-byte offset).
StatusOr<std::string> VersionValue(const RecordVersion& version) {
  Tuple tuple = Tuple::Of(version.ToVersionstamp());
  if (version.is_complete()) return tuple.Pack();
  return tuple.PackWithVersionstamp();
}

Status Corrupt(const Tuple& primary_key, std::string_view why) {
  return MakeError(ErrorCode::kDataCorruption,
                   "record " + primary_key.ToString() + ": " + std::string(why));
}

// The version stored under (pk..., -1).
StatusOr<RecordVersion> ParseVersion(const Tuple& primary_key, std::string_view stored) {
  StatusOr<Tuple> stamp = Tuple::Unpack(stored);
  const Versionstamp* versionstamp = nullptr;
  if (stamp.ok() && stamp->size() == 1) versionstamp = (*stamp)[0].get_if<Versionstamp>();
  if (versionstamp == nullptr) return Corrupt(primary_key, "the version is not a versionstamp");
  return RecordVersion::FromVersionstamp(*versionstamp);
}

// Clears what `previous` occupies under `record` and the new record (of `new_chunks` chunks,
// 0 for unsplit, -1 for none) will not overwrite; everything under `record` when `previous`
// is unknown.
void ClearPrevious(RecordContext& context, const Subspace& record, const SplitShape* previous,
                   int new_chunks, bool new_has_version) {
  kv::Transaction& txn = context.txn();
  if (previous == nullptr) {
    auto [begin, end] = record.Range();
    txn.ClearRange(begin, end);
    context.ClearPendingVersions(begin, end);
    return;
  }
  if (!previous->exists) return;
  if (previous->chunks == 0) {
    if (new_chunks != 0) txn.Clear(SuffixKey(record, kUnsplitSuffix));
  } else {
    for (int chunk = std::max(new_chunks, 0) + 1; chunk <= previous->chunks; ++chunk) {
      txn.Clear(SuffixKey(record, chunk));
    }
  }
  if (previous->has_version && !new_has_version) {
    std::string key = SuffixKey(record, kVersionSuffix);
    txn.Clear(key);
    context.ClearPendingVersions(key, key + std::string(1, '\0'));
  }
}

}  // namespace

int64_t SplitSaveSize(const Subspace& records, const Tuple& primary_key, size_t value_size,
                      const std::optional<RecordVersion>& version) {
  Subspace record = records.Sub(primary_key);
  auto [begin, end] = record.Range();
  int64_t size = static_cast<int64_t>(begin.size() + end.size() + value_size);
  size_t chunks = ChunkCount(value_size);
  if (chunks == 0) {
    size += static_cast<int64_t>(SuffixKey(record, kUnsplitSuffix).size());
  }
  for (size_t i = 1; i <= chunks; ++i) {
    size += static_cast<int64_t>(SuffixKey(record, static_cast<int64_t>(i)).size());
  }
  if (version.has_value()) {
    StatusOr<std::string> value = VersionValue(*version);
    size += static_cast<int64_t>(SuffixKey(record, kVersionSuffix).size() +
                                 (value.ok() ? value->size() : 0));
  }
  return size;
}

Status SaveSplit(RecordContext& context, const Subspace& records, const Tuple& primary_key,
                 std::string_view value, const std::optional<RecordVersion>& version,
                 const SplitShape* previous) {
  kv::Transaction& txn = context.txn();
  int64_t needed = SplitSaveSize(records, primary_key, value.size(), version);
  int64_t used = txn.GetApproximateSize();
  if (used + needed > kTransactionSizeLimit) {
    return MakeError(ErrorCode::kTransactionTooLarge,
                     "saving record " + primary_key.ToString() + " of " +
                         std::to_string(value.size()) + " bytes adds " + std::to_string(needed) +
                         " bytes to a transaction of " + std::to_string(used) +
                         "; the limit is 10,000,000");
  }
  std::optional<std::string> version_value;
  if (version.has_value()) {
    ASSIGN_OR_RETURN(version_value, VersionValue(*version));
  }

  Subspace record = records.Sub(primary_key);
  size_t chunks = ChunkCount(value.size());
  ClearPrevious(context, record, previous, static_cast<int>(chunks), version.has_value());
  if (chunks == 0) {
    txn.Set(SuffixKey(record, kUnsplitSuffix), value);
  }
  for (size_t i = 1; i <= chunks; ++i) {
    txn.Set(SuffixKey(record, static_cast<int64_t>(i)),
            value.substr((i - 1) * kSplitChunkSize, kSplitChunkSize));
  }
  if (version.has_value()) {
    std::string key = SuffixKey(record, kVersionSuffix);
    if (version->is_complete()) {
      txn.Set(key, *version_value);
    } else {
      // Written at commit, when the versionstamp is known (RecordContext).
      context.AddPendingVersion(std::move(key), *version);
    }
  }
  return absl::OkStatus();
}

StatusOr<std::optional<SplitRecord>> AssembleSplit(const Subspace& records,
                                                   const Tuple& primary_key,
                                                   const std::vector<SplitRow>& rows,
                                                   const RecordVersion* pending_version) {
  Subspace record = records.Sub(primary_key);
  SplitRecord loaded;
  if (pending_version != nullptr) loaded.version = *pending_version;
  bool unsplit = false;
  int64_t next_chunk = 1;
  size_t last_chunk_size = 0;
  for (const SplitRow& row : rows) {
    StatusOr<Tuple> suffix = record.Unpack(row.key);
    std::optional<int64_t> index;
    if (suffix.ok() && suffix->size() == 1) index = (*suffix)[0].AsInt64();
    if (!index.has_value())
      return Corrupt(primary_key, "a key under the record is not a split key");
    if (*index == kVersionSuffix) {
      ASSIGN_OR_RETURN(loaded.version, ParseVersion(primary_key, row.value));
    } else if (*index == kUnsplitSuffix) {
      unsplit = true;
      loaded.value = std::string(row.value);
    } else if (*index == next_chunk) {
      if (unsplit) return Corrupt(primary_key, "it has both an unsplit value and chunks");
      if (next_chunk > 1 && last_chunk_size != kSplitChunkSize) {
        return Corrupt(primary_key, "chunk " + std::to_string(next_chunk - 1) + " has " +
                                        std::to_string(last_chunk_size) + " bytes, not 100,000");
      }
      if (row.value.empty() || row.value.size() > kSplitChunkSize) {
        return Corrupt(primary_key, "chunk " + std::to_string(next_chunk) + " has " +
                                        std::to_string(row.value.size()) + " bytes");
      }
      last_chunk_size = row.value.size();
      loaded.value += row.value;
      ++next_chunk;
    } else if (*index > next_chunk) {
      return Corrupt(primary_key, "chunk " + std::to_string(next_chunk) + " is missing");
    } else {
      return Corrupt(primary_key, "unexpected split suffix " + std::to_string(*index));
    }
  }
  loaded.chunks = static_cast<int>(next_chunk - 1);
  if (loaded.chunks == 1) return Corrupt(primary_key, "a split record has a single chunk");
  if (!unsplit && loaded.chunks == 0) {
    if (loaded.version.has_value()) return Corrupt(primary_key, "a version without data");
    return std::optional<SplitRecord>();
  }
  return std::optional<SplitRecord>(std::move(loaded));
}

StatusOr<std::optional<SplitRecord>> LoadSplit(RecordContext& context, const Subspace& records,
                                               const Tuple& primary_key) {
  Subspace record = records.Sub(primary_key);
  auto [begin, end] = record.Range();
  // A version saved in this transaction waits in the context until commit: take it from
  // there and read only the data keys, which sort after it.
  const RecordVersion* pending = context.FindPendingVersion(SuffixKey(record, kVersionSuffix));
  if (pending != nullptr) begin = SuffixKey(record, kUnsplitSuffix);
  ASSIGN_OR_RETURN(kv::RangeResult result, context.txn().GetRange(begin, end));
  std::vector<SplitRow> rows;
  rows.reserve(result.rows.size());
  for (const kv::KeyValue& row : result.rows) rows.push_back({row.key, row.value});
  return AssembleSplit(records, primary_key, rows, pending);
}

StatusOr<std::optional<SplitRecord>> LoadSplitByPointReads(RecordContext& context,
                                                           const Subspace& records,
                                                           const Tuple& primary_key,
                                                           bool may_be_split) {
  Subspace record = records.Sub(primary_key);
  kv::Transaction& txn = context.txn();
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   txn.Get(SuffixKey(record, kUnsplitSuffix)));
  if (!value.has_value()) {
    if (!may_be_split) return std::optional<SplitRecord>();
    ASSIGN_OR_RETURN(std::optional<std::string> first_chunk, txn.Get(SuffixKey(record, 1)));
    if (!first_chunk.has_value()) return std::optional<SplitRecord>();
    return LoadSplit(context, records, primary_key);
  }
  SplitRecord loaded;
  loaded.value = *std::move(value);
  std::string version_key = SuffixKey(record, kVersionSuffix);
  if (const RecordVersion* pending = context.FindPendingVersion(version_key)) {
    loaded.version = *pending;
  } else {
    ASSIGN_OR_RETURN(std::optional<std::string> version, txn.Get(version_key));
    if (version.has_value()) {
      ASSIGN_OR_RETURN(loaded.version, ParseVersion(primary_key, *version));
    }
  }
  return std::optional<SplitRecord>(std::move(loaded));
}

void DeleteSplit(RecordContext& context, const Subspace& records, const Tuple& primary_key,
                 const SplitShape* previous) {
  ClearPrevious(context, records.Sub(primary_key), previous, -1, false);
}

SplitShape ShapeOf(const std::optional<SplitRecord>& record) {
  if (!record.has_value()) return SplitShape{};
  return SplitShape{true, record->chunks, record->version.has_value()};
}

}  // namespace recordstore::cursor
