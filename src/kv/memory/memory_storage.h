// In-memory storage: a multi-version ordered map. Each key holds a short chain of
// (version, value-or-tombstone); a snapshot at version v sees, per key, the newest entry at or
// below v. Versions no live snapshot can see are pruned when their key is next written.
#ifndef RECORDSTORE_KV_MEMORY_MEMORY_STORAGE_H_
#define RECORDSTORE_KV_MEMORY_MEMORY_STORAGE_H_

#include <memory>

#include "kv/engine/storage.h"

namespace recordstore::kv {

// A new, empty in-memory storage. Nothing survives the object.
std::unique_ptr<Storage> NewMemoryStorage();

}  // namespace recordstore::kv

#endif  // RECORDSTORE_KV_MEMORY_MEMORY_STORAGE_H_
