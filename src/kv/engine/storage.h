// The storage interface under the embedded engine: a versioned, ordered byte map that applies
// whole batches atomically and serves reads from immutable snapshots. The engine above it owns
// transactions, conflict detection and version assignment; a storage only has to make each
// batch atomic and durable and keep a snapshot's view stable while it is referenced.
#ifndef RECORDSTORE_KV_ENGINE_STORAGE_H_
#define RECORDSTORE_KV_ENGINE_STORAGE_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "recordstore/kv.h"

namespace recordstore::kv {

// An iterator over a snapshot, bounded to [lower, upper). Positioning calls leave it invalid
// when no key qualifies. key()/value() stay valid until the next positioning call.
class StorageIterator {
 public:
  virtual ~StorageIterator() = default;
  virtual void Seek(std::string_view key) = 0;         // first key >= key
  virtual void SeekForPrev(std::string_view key) = 0;  // last key <= key
  virtual void SeekToFirst() = 0;
  virtual void SeekToLast() = 0;
  virtual bool Valid() const = 0;
  virtual void Next() = 0;
  virtual void Prev() = 0;
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  // An I/O error that made the iterator invalid, OK otherwise.
  virtual Status status() const = 0;
};

// The state of the store as of one version. Immutable; safe for concurrent use.
class StorageSnapshot {
 public:
  virtual ~StorageSnapshot() = default;
  virtual Version version() const = 0;
  virtual StatusOr<std::optional<std::string>> Get(std::string_view key) const = 0;
  virtual std::unique_ptr<StorageIterator> NewIterator(std::string_view lower,
                                                       std::string_view upper) const = 0;
};

// Mutations applied together by Storage::Apply.
class StorageBatch {
 public:
  virtual ~StorageBatch() = default;
  virtual void Put(std::string_view key, std::string_view value) = 0;
  virtual void Delete(std::string_view key) = 0;
  virtual void DeleteRange(std::string_view begin, std::string_view end) = 0;
  virtual bool empty() const = 0;
};

class Storage {
 public:
  virtual ~Storage() = default;
  // The version of the last batch applied before the storage was (re)opened; 0 when new.
  virtual Version RecoveredVersion() const = 0;
  virtual std::unique_ptr<StorageBatch> NewBatch() = 0;
  // Applies `batch` atomically as `version` and records `version` durably with it; with `sync`
  // the write is on stable storage before this returns.
  // REQUIRES: versions passed to Apply strictly increase; one Apply at a time.
  virtual Status Apply(StorageBatch& batch, Version version, bool sync) = 0;
  // A snapshot of everything applied so far.
  virtual std::shared_ptr<const StorageSnapshot> Snapshot() = 0;
  // Rewrites the stored data into its most compact, read-optimal shape (for operators and
  // for benchmarks that must start from a known state). May take long; reads and commits
  // continue meanwhile.
  virtual Status Compact() = 0;
};

}  // namespace recordstore::kv

#endif  // RECORDSTORE_KV_ENGINE_STORAGE_H_
