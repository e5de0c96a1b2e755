// BufferedTransaction: the state every backend's Transaction keeps locally until it commits —
// the buffered mutations (a WriteSet), the first mutation error (reported by Commit, as FDB's
// C API does), the read and write conflict ranges, and the size they add up to. Backends
// derive from it and implement reading, committing and the transaction's lifecycle.
#ifndef RECORDSTORE_KV_BUFFERED_TRANSACTION_H_
#define RECORDSTORE_KV_BUFFERED_TRANSACTION_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kv/engine/write_set.h"
#include "recordstore/kv.h"

namespace recordstore::kv {

// Where the metadata version (Transaction::GetMetadataVersion) is stored, as in FDB: in the
// system key space, so no user key or range (all below "\xff") ever touches it.
inline constexpr std::string_view kMetadataVersionKey = "\xff/metadataVersion";

class BufferedTransaction : public Transaction {
 public:
  using KeyRange = std::pair<std::string, std::string>;  // [first, second)

  void Set(std::string_view key, std::string_view value) override;
  void Clear(std::string_view key) override;
  void ClearRange(std::string_view begin, std::string_view end) override;
  void AtomicOp(MutationType type, std::string_view key, std::string_view operand) override;
  void AddReadConflictRange(std::string_view begin, std::string_view end) override;
  void AddReadConflictKey(std::string_view key) override;
  void AddWriteConflictRange(std::string_view begin, std::string_view end) override;
  void AddWriteConflictKey(std::string_view key) override;
  int64_t GetApproximateSize() const override;
  // A SET_VERSIONSTAMPED_VALUE of kMetadataVersionKey: the key becomes unreadable (1036) in
  // this transaction, which is the documented GetMetadataVersion behaviour after a bump.
  void BumpMetadataVersion() override;

 protected:
  // Records the first mutation error for Commit to return.
  void Defer(Status error);
  // Adds a read conflict range (counted in the transaction's size).
  void AddReadRange(std::string begin, std::string end);
  // Forgets every buffered mutation, conflict range and deferred error (for Reset).
  void ClearBuffered();

  WriteSet writes_;
  std::vector<KeyRange> read_ranges_;
  std::vector<KeyRange> write_ranges_;  // explicit write conflict ranges
  int64_t conflict_bytes_ = 0;
  Status deferred_error_;
  bool bumped_metadata_version_ = false;
};

}  // namespace recordstore::kv

#endif  // RECORDSTORE_KV_BUFFERED_TRANSACTION_H_
