#include "kv/rocksdb/rocksdb_storage.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <vector>

namespace recordstore::kv {
namespace {

constexpr char kMetaColumnFamily[] = "meta";
constexpr char kVersionKey[] = "version";

Status IoError(const rocksdb::Status& s, std::string_view what) {
  return MakeError(ErrorCode::kIoError, std::string(what) + ": " + s.ToString());
}

std::string EncodeVersion(Version v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(static_cast<uint64_t>(v) >> (56 - 8 * i));
  return out;
}

Version DecodeVersion(std::string_view bytes) {
  uint64_t v = 0;
  for (char c : bytes) v = (v << 8) | static_cast<unsigned char>(c);
  return static_cast<Version>(v);
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

class RocksDbIterator final : public StorageIterator {
 public:
  RocksDbIterator(rocksdb::DB* db, const rocksdb::Snapshot* snapshot, std::string_view lower,
                  std::string_view upper)
      : lower_(lower), upper_(upper), lower_slice_(lower_), upper_slice_(upper_) {
    rocksdb::ReadOptions options;
    options.snapshot = snapshot;
    options.iterate_lower_bound = &lower_slice_;
    options.iterate_upper_bound = &upper_slice_;
    iter_.reset(db->NewIterator(options));
  }
  void Seek(std::string_view key) override { iter_->Seek(ToSlice(key)); }
  void SeekForPrev(std::string_view key) override { iter_->SeekForPrev(ToSlice(key)); }
  void SeekToFirst() override { iter_->SeekToFirst(); }
  void SeekToLast() override { iter_->SeekToLast(); }
  bool Valid() const override { return iter_->Valid(); }
  void Next() override { iter_->Next(); }
  void Prev() override { iter_->Prev(); }
  std::string_view key() const override {
    rocksdb::Slice k = iter_->key();
    return {k.data(), k.size()};
  }
  std::string_view value() const override {
    rocksdb::Slice v = iter_->value();
    return {v.data(), v.size()};
  }
  Status status() const override {
    rocksdb::Status s = iter_->status();
    return s.ok() ? absl::OkStatus() : IoError(s, "iterator");
  }

 private:
  // The bounds are referenced by the RocksDB iterator and must outlive it.
  std::string lower_;
  std::string upper_;
  rocksdb::Slice lower_slice_;
  rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> iter_;
};

class RocksDbSnapshot final : public StorageSnapshot {
 public:
  RocksDbSnapshot(rocksdb::DB* db, Version version)
      : db_(db), snapshot_(db->GetSnapshot()), version_(version) {}
  ~RocksDbSnapshot() override { db_->ReleaseSnapshot(snapshot_); }

  Version version() const override { return version_; }

  StatusOr<std::optional<std::string>> Get(std::string_view key) const override {
    rocksdb::ReadOptions options;
    options.snapshot = snapshot_;
    std::string value;
    rocksdb::Status s = db_->Get(options, ToSlice(key), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return IoError(s, "get");
    return std::optional<std::string>(std::move(value));
  }

  std::unique_ptr<StorageIterator> NewIterator(std::string_view lower,
                                               std::string_view upper) const override {
    return std::make_unique<RocksDbIterator>(db_, snapshot_, lower, upper);
  }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_;
  Version version_;
};

class RocksDbBatch final : public StorageBatch {
 public:
  void Put(std::string_view key, std::string_view value) override {
    batch_.Put(ToSlice(key), ToSlice(value));
  }
  void Delete(std::string_view key) override { batch_.Delete(ToSlice(key)); }
  void DeleteRange(std::string_view begin, std::string_view end) override {
    batch_.DeleteRange(ToSlice(begin), ToSlice(end));
  }
  bool empty() const override { return batch_.Count() == 0; }
  rocksdb::WriteBatch& batch() { return batch_; }

 private:
  rocksdb::WriteBatch batch_;
};

class RocksDbStorage final : public Storage {
 public:
  RocksDbStorage(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> cfs,
                 Version recovered)
      : db_(std::move(db)), handles_(std::move(cfs)), recovered_(recovered) {}

  ~RocksDbStorage() override {
    for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
    db_->Close();
  }

  Version RecoveredVersion() const override { return recovered_; }

  std::unique_ptr<StorageBatch> NewBatch() override { return std::make_unique<RocksDbBatch>(); }

  Status Apply(StorageBatch& batch, Version version, bool sync) override {
    auto& rocks_batch = static_cast<RocksDbBatch&>(batch).batch();
    std::string encoded = EncodeVersion(version);
    rocksdb::Status s = rocks_batch.Put(handles_[1], kVersionKey, encoded);
    if (!s.ok()) return IoError(s, "batch");
    rocksdb::WriteOptions options;
    options.sync = sync;
    s = db_->Write(options, &rocks_batch);
    if (!s.ok()) return IoError(s, "write");
    applied_version_ = version;
    return absl::OkStatus();
  }

  std::shared_ptr<const StorageSnapshot> Snapshot() override {
    return std::make_shared<RocksDbSnapshot>(db_.get(), applied_version_);
  }

  Status Compact() override {
    rocksdb::CompactRangeOptions options;
    options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    rocksdb::Status s = db_->CompactRange(options, handles_[0], nullptr, nullptr);
    return s.ok() ? absl::OkStatus() : IoError(s, "compact");
  }

  void set_applied_version(Version v) { applied_version_ = v; }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // [default, meta]
  Version recovered_;
  Version applied_version_ = 0;  // Only touched by the single applier (engine's commit leader).
};

}  // namespace

rocksdb::Options RocksDbTunedOptions() {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.IncreaseParallelism(2);
  options.OptimizeLevelStyleCompaction(64 << 20);
  // A Bloom filter over the memtable's keys (2% of its memory): a point read of a missing key
  // (a record store checks every insert's key) skips the memtable's skip-list search, as the
  // table filters below let it skip SST files.
  options.memtable_whole_key_filtering = true;
  options.memtable_prefix_bloom_size_ratio = 0.02;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // A hash index inside each data block: a point read finds its key in the block without the
  // binary search over restart points (record loads are point reads, see LoadSplitByPointReads).
  table.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
  table.block_cache = rocksdb::NewLRUCache(256 << 20);
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

StatusOr<std::unique_ptr<Storage>> OpenRocksDbStorage(const std::string& path) {
  rocksdb::Options options = RocksDbTunedOptions();
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(options)},
      {kMetaColumnFamily, rocksdb::ColumnFamilyOptions()}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(rocksdb::DBOptions(options), path, families, &handles, &raw);
  if (!s.ok()) return IoError(s, "open " + path);
  std::unique_ptr<rocksdb::DB> db(raw);

  std::string encoded;
  s = db->Get(rocksdb::ReadOptions(), handles[1], kVersionKey, &encoded);
  Version recovered = 0;
  if (s.ok()) {
    if (encoded.size() != 8) {
      for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
      return MakeError(ErrorCode::kDataCorruption, "stored version is not 8 bytes in " + path);
    }
    recovered = DecodeVersion(encoded);
  } else if (!s.IsNotFound()) {
    for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
    return IoError(s, "read version");
  }
  auto storage = std::make_unique<RocksDbStorage>(std::move(db), std::move(handles), recovered);
  storage->set_applied_version(recovered);
  return std::unique_ptr<Storage>(std::move(storage));
}

}  // namespace recordstore::kv
