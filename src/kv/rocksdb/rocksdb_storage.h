// Durable storage on RocksDB: user data in the default column family, the last applied
// version in the "meta" column family, both written in one WriteBatch so the version counter
// and the data it describes can never disagree after a crash. Snapshots are RocksDB snapshots.
#ifndef RECORDSTORE_KV_ROCKSDB_ROCKSDB_STORAGE_H_
#define RECORDSTORE_KV_ROCKSDB_ROCKSDB_STORAGE_H_

#include <memory>
#include <string>

#include "kv/engine/storage.h"

namespace rocksdb {
struct Options;
}

namespace recordstore::kv {

// The RocksDB options Record-Store runs with. Benchmarks open their raw-RocksDB baseline with
// the same options so that ratios compare the layers above, not tuning.
rocksdb::Options RocksDbTunedOptions();

// Opens (creating when missing) the store at `path`. Errors: io_error (1510).
StatusOr<std::unique_ptr<Storage>> OpenRocksDbStorage(const std::string& path);

}  // namespace recordstore::kv

#endif  // RECORDSTORE_KV_ROCKSDB_ROCKSDB_STORAGE_H_
