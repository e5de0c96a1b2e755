// A transaction of the embedded engine. See recordstore/kv.h for the contract and
// engine_database.h for how commits work.
#ifndef RECORDSTORE_KV_ENGINE_ENGINE_TRANSACTION_H_
#define RECORDSTORE_KV_ENGINE_ENGINE_TRANSACTION_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kv/engine/engine_database.h"

namespace recordstore::kv {

class EngineTransaction final : public Transaction {
 public:
  EngineTransaction(EngineDatabase* db, const TransactionOptions& options);
  ~EngineTransaction() override;

  StatusOr<Version> GetReadVersion() override;
  void SetReadVersion(Version version) override;
  StatusOr<std::optional<std::string>> Get(std::string_view key, bool snapshot) override;
  StatusOr<RangeResult> GetRange(const RangeEndpoint& begin, const RangeEndpoint& end,
                                 const RangeOptions& options) override;
  using Transaction::GetRange;
  void Set(std::string_view key, std::string_view value) override;
  void Clear(std::string_view key) override;
  void ClearRange(std::string_view begin, std::string_view end) override;
  void AtomicOp(MutationType type, std::string_view key, std::string_view operand) override;
  void AddReadConflictRange(std::string_view begin, std::string_view end) override;
  void AddReadConflictKey(std::string_view key) override;
  void AddWriteConflictRange(std::string_view begin, std::string_view end) override;
  void AddWriteConflictKey(std::string_view key) override;
  StatusOr<std::shared_ptr<Watch>> WatchKey(std::string_view key) override;
  Status Commit() override;
  Version GetCommittedVersion() const override { return committed_version_; }
  StatusOr<std::string> GetVersionstamp() const override;
  int64_t GetApproximateSize() const override;
  Status OnError(const Status& error) override;
  void Reset() override;
  void Cancel() override;
  void SetOptions(const TransactionOptions& options) override { options_ = options; }

 private:
  // OK when the transaction may still be used (not cancelled, timed out or committed).
  Status CheckUsable() const;
  // The snapshot reads run at, acquired on first use; 1007 once it is older than 5 s.
  StatusOr<const StorageSnapshot*> ReadSnapshotForUse();
  // Records the first mutation error for Commit to return.
  void Defer(Status error);
  void AddReadRange(std::string begin, std::string end);
  void ReleaseReadVersion();
  // Completes watches that will never start (the transaction did not commit).
  void AbandonWatches(const Status& why);
  // The transaction's own view of `key` (storage read + local writes), adding a read conflict
  // range unless `snapshot`.
  StatusOr<std::optional<std::string>> ReadKey(std::string_view key, bool snapshot);

  EngineDatabase* const db_;
  TransactionOptions options_;
  const Clock::time_point created_;  // the timeout runs from here, across retries
  int retries_ = 0;

  std::optional<ReadSnapshot> read_;
  std::optional<Version> requested_read_version_;
  WriteSet writes_;
  std::vector<KeyRange> read_ranges_;
  std::vector<KeyRange> write_ranges_;  // explicit write conflict ranges
  int64_t conflict_bytes_ = 0;
  Status deferred_error_;
  bool cancelled_ = false;
  bool committed_ = false;
  Version committed_version_ = -1;
  std::string versionstamp_;
  std::vector<std::shared_ptr<WatchState>> pending_watches_;
};

}  // namespace recordstore::kv

#endif  // RECORDSTORE_KV_ENGINE_ENGINE_TRANSACTION_H_
