#include "store/store_state_cache.h"

#include <algorithm>
#include <functional>
#include <utility>

namespace recordstore::store {

StoreStateCache::StoreStateCache(size_t capacity)
    : shard_capacity_(std::max<size_t>(1, (capacity + kShards - 1) / kShards)) {}

StoreStateCache& StoreStateCache::Default() {
  // Never destroyed: stores may be opened from threads that outlive static destruction.
  static StoreStateCache* cache = new StoreStateCache(10000);
  return *cache;
}

std::string StoreStateCache::Key(uint64_t database, std::string_view subspace) {
  std::string key(reinterpret_cast<const char*>(&database), sizeof(database));
  key.append(subspace);
  return key;
}

StoreStateCache::Shard& StoreStateCache::ShardOf(std::string_view key) {
  return shards_[std::hash<std::string_view>()(key) % kShards];
}

std::shared_ptr<const StoreState> StoreStateCache::Find(
    uint64_t database, std::string_view subspace,
    const std::optional<std::string>& metadata_version) {
  const std::string key = Key(database, subspace);
  Shard& shard = ShardOf(key);
  {
    absl::MutexLock lock(&shard.mutex);
    auto found = shard.by_key.find(key);
    if (found != shard.by_key.end() && found->second->metadata_version == metadata_version) {
      shard.lru.splice(shard.lru.begin(), shard.lru, found->second);
      hits_.fetch_add(1, std::memory_order_relaxed);
      return found->second->state;
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  return nullptr;
}

void StoreStateCache::Insert(uint64_t database, std::string_view subspace,
                             std::optional<std::string> metadata_version,
                             std::shared_ptr<const StoreState> state) {
  std::string key = Key(database, subspace);
  Shard& shard = ShardOf(key);
  absl::MutexLock lock(&shard.mutex);
  auto found = shard.by_key.find(key);
  if (found != shard.by_key.end()) {
    Entry& entry = *found->second;
    // Versionstamps order bytewise as their commits; nullopt (never bumped) is the oldest.
    if (entry.metadata_version > metadata_version) return;
    entry.metadata_version = std::move(metadata_version);
    entry.state = std::move(state);
    shard.lru.splice(shard.lru.begin(), shard.lru, found->second);
    return;
  }
  shard.lru.push_front(Entry{std::move(key), std::move(metadata_version), std::move(state)});
  shard.by_key.emplace(shard.lru.front().key, shard.lru.begin());
  if (shard.lru.size() > shard_capacity_) {
    shard.by_key.erase(shard.lru.back().key);
    shard.lru.pop_back();
  }
}

}  // namespace recordstore::store
