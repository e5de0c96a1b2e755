// A transaction of the embedded engine. See recordstore/kv.h for the contract and
// engine_database.h for how commits work.
#ifndef RECORDSTORE_KV_ENGINE_ENGINE_TRANSACTION_H_
#define RECORDSTORE_KV_ENGINE_ENGINE_TRANSACTION_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kv/buffered_transaction.h"
#include "kv/engine/engine_database.h"

namespace recordstore::kv {

class EngineTransaction final : public BufferedTransaction {
 public:
  EngineTransaction(EngineDatabase* db, const TransactionOptions& options);
  ~EngineTransaction() override;

  StatusOr<Version> GetReadVersion() override;
  void SetReadVersion(Version version) override;
  StatusOr<std::optional<std::string>> Get(std::string_view key, bool snapshot) override;
  StatusOr<RangeResult> GetRange(const RangeEndpoint& begin, const RangeEndpoint& end,
                                 const RangeOptions& options) override;
  using Transaction::GetRange;
  StatusOr<std::optional<std::string>> GetMetadataVersion(bool snapshot) override;
  uint64_t database_id() const override { return db_->id(); }
  StatusOr<std::shared_ptr<Watch>> WatchKey(std::string_view key) override;
  Status Commit() override;
  Version GetCommittedVersion() const override { return committed_version_; }
  StatusOr<std::string> GetVersionstamp() const override;
  Status OnError(const Status& error) override;
  void Reset() override;
  void Cancel() override;
  void SetOptions(const TransactionOptions& options) override { options_ = options; }

 private:
  // OK when the transaction may still be used (not cancelled, timed out or committed).
  Status CheckUsable() const;
  // The snapshot reads run at, acquired on first use; 1007 once it is older than 5 s.
  StatusOr<const StorageSnapshot*> ReadSnapshotForUse();
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
  bool cancelled_ = false;
  bool committed_ = false;
  Version committed_version_ = -1;
  std::string versionstamp_;
  std::vector<std::shared_ptr<WatchState>> pending_watches_;
};

}  // namespace recordstore::kv

#endif  // RECORDSTORE_KV_ENGINE_ENGINE_TRANSACTION_H_
