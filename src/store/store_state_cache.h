// StoreStateCache: what RecordStore::Initialize reads from storage — the store header and
// the stored index states — kept per (database, store subspace) and tagged with the
// database's metadata version (kv::Transaction::GetMetadataVersion) it was read at, as the
// Record Layer's MetaDataVersionStampStoreStateCache does.
//
// Invalidation rule: every transaction that changes anything Initialize reads (the header,
// an index state) also bumps the metadata version (RecordStore does it in WriteHeader and
// SetIndexState). Bumps commit strictly increasing values, so two read versions that see the
// same metadata version see the same state of every store: an entry is served only to a
// transaction whose metadata version equals the entry's tag. A transaction older or newer
// than the one that filled the entry gets the same state it would have read.
//
// Entries are keyed by kv::Database::id(), never reused in a process, so two databases (or
// one closed and reopened at the same path) never share one.
//
// Thread-safety: safe for concurrent use. The entries are split into shards, each an LRU
// list under its own mutex, so concurrent opens of different stores rarely contend.
#ifndef RECORDSTORE_STORE_STORE_STATE_CACHE_H_
#define RECORDSTORE_STORE_STORE_STATE_CACHE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/synchronization/mutex.h"
#include "index/index_maintainer.h"
#include "store/store.pb.h"

namespace recordstore::store {

// The state of one store as Initialize read it.
struct StoreState {
  proto::StoreHeader header;
  // Whether Initialize read the index state range (the header says states are stored): an
  // open served from the cache then takes a read conflict on that range too.
  bool index_states_read = false;
  // The stored (non-readable) index states.
  std::map<std::string, index::IndexState, std::less<>> index_states;
};

class StoreStateCache {
 public:
  // Keeps at most about `capacity` stores (at least one per shard); the least recently used
  // ones are evicted first.
  explicit StoreStateCache(size_t capacity);
  StoreStateCache(const StoreStateCache&) = delete;
  StoreStateCache& operator=(const StoreStateCache&) = delete;

  // The process-wide cache that RecordStoreOptions uses by default, for 10,000 stores.
  static StoreStateCache& Default();

  // The state of the store in `subspace` of database `database`, cached at exactly
  // `metadata_version`; null when there is none.
  std::shared_ptr<const StoreState> Find(uint64_t database, std::string_view subspace,
                                         const std::optional<std::string>& metadata_version);
  // Caches `state`, read at `metadata_version`, unless the entry kept is newer (a transaction
  // with an old read version must not replace the state current transactions need).
  void Insert(uint64_t database, std::string_view subspace,
              std::optional<std::string> metadata_version, std::shared_ptr<const StoreState> state);

  // Find calls that returned a state, and that did not.
  int64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  int64_t misses() const { return misses_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t kShards = 16;

  struct Entry {
    std::string key;  // 8-byte database id, then the subspace's key
    std::optional<std::string> metadata_version;
    std::shared_ptr<const StoreState> state;
  };
  struct Shard {
    absl::Mutex mutex;
    // Most recently used first.
    std::list<Entry> lru ABSL_GUARDED_BY(mutex);
    // Views into the entries' keys.
    std::unordered_map<std::string_view, std::list<Entry>::iterator> by_key ABSL_GUARDED_BY(mutex);
  };

  static std::string Key(uint64_t database, std::string_view subspace);
  Shard& ShardOf(std::string_view key);

  const size_t shard_capacity_;
  std::array<Shard, kShards> shards_;
  std::atomic<int64_t> hits_{0};
  std::atomic<int64_t> misses_{0};
};

}  // namespace recordstore::store

#endif  // RECORDSTORE_STORE_STORE_STATE_CACHE_H_
