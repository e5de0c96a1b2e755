// A transaction's uncommitted writes: the ordered mutation log that commit replays, plus an
// index over it that answers read-your-writes questions ("what does this transaction see at
// key k?") without replaying the log. The index is built on the first question, so
// transactions that only write never pay for it.
#ifndef RECORDSTORE_KV_ENGINE_WRITE_SET_H_
#define RECORDSTORE_KV_ENGINE_WRITE_SET_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "recordstore/kv.h"

namespace recordstore::kv {

struct Mutation {
  enum class Kind { kSet, kClear, kClearRange, kAtomic };
  Kind kind;
  MutationType atomic_type = MutationType::kAdd;  // kAtomic only
  std::string key;
  // kSet: the value; kClearRange: the exclusive end key; kAtomic: the operand.
  std::string param;
};

// What the transaction knows locally about one key.
struct LocalWrite {
  enum class Kind {
    kValue,       // set (or atomically computed) to `value`
    kCleared,     // cleared
    kPendingOps,  // atomic ops on a value only storage knows: apply `ops` to the stored value
    kUnreadable,  // SET_VERSIONSTAMPED_VALUE: unknown until commit (1036 on read)
  };
  Kind kind;
  std::string value;
  std::vector<std::pair<MutationType, std::string>> ops;
};

class WriteSet {
 public:
  void Set(std::string_view key, std::string_view value);
  void Clear(std::string_view key);
  // REQUIRES: begin <= end.
  void ClearRange(std::string_view begin, std::string_view end);
  // Any atomic op, including the versionstamped ones.
  void Atomic(MutationType type, std::string_view key, std::string_view operand);

  // The local write at exactly `key`, or nullptr when the transaction wrote nothing there
  // (the key may still lie in a cleared range: see IsCleared).
  const LocalWrite* Find(std::string_view key) const;
  // True when `key` lies in a range this transaction cleared and has not written since.
  bool IsCleared(std::string_view key) const;
  // The end of the cleared range containing `key` (REQUIRES: IsCleared(key)).
  const std::string& ClearedRangeEnd(std::string_view key) const;
  // The begin of the cleared range containing `key` (REQUIRES: IsCleared(key)).
  const std::string& ClearedRangeBegin(std::string_view key) const;
  bool has_cleared_ranges() const {
    EnsureIndexed();
    return !cleared_.empty();
  }

  // Point writes in key order, for merging with storage in range reads.
  using WriteMap = std::map<std::string, LocalWrite, std::less<>>;
  const WriteMap& writes() const {
    EnsureIndexed();
    return writes_;
  }

  const std::vector<Mutation>& log() const { return log_; }
  bool empty() const { return log_.empty(); }
  // Bytes of keys and parameters in the log (counted against the transaction size limit).
  int64_t bytes() const { return bytes_; }
  bool has_atomic_ops() const { return has_atomic_ops_; }

  void Reset();

 private:
  void Append(Mutation mutation);
  // Builds the index from the log on first use; afterwards it is kept up to date.
  void EnsureIndexed() const;
  void IndexSet(std::string_view key, std::string_view value) const;
  void IndexClear(std::string_view key) const;
  void IndexClearRange(std::string_view begin, std::string_view end) const;
  void IndexAtomic(MutationType type, std::string_view key, std::string_view operand) const;
  // The cleared range containing key, or cleared_.end().
  std::map<std::string, std::string, std::less<>>::const_iterator ClearedRangeOf(
      std::string_view key) const;

  std::vector<Mutation> log_;
  // The read-your-writes index, valid when indexed_.
  mutable bool indexed_ = false;
  mutable WriteMap writes_;
  // Disjoint, non-adjacent [begin, end) ranges cleared by this transaction, keyed by begin.
  mutable std::map<std::string, std::string, std::less<>> cleared_;
  int64_t bytes_ = 0;
  bool has_atomic_ops_ = false;
};

}  // namespace recordstore::kv

#endif  // RECORDSTORE_KV_ENGINE_WRITE_SET_H_
