// A transaction of the etcd backend. See etcd_database.h for how reads and commits map onto
// etcd, and recordstore/kv.h for the contract.
#ifndef RECORDSTORE_KV_ETCD_ETCD_TRANSACTION_H_
#define RECORDSTORE_KV_ETCD_ETCD_TRANSACTION_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kv/buffered_transaction.h"
#include "kv/etcd/etcd_database.h"

namespace recordstore::kv::etcd {

class EtcdTransaction final : public BufferedTransaction {
 public:
  EtcdTransaction(EtcdDatabase* db, const TransactionOptions& options);
  ~EtcdTransaction() override;

  StatusOr<Version> GetReadVersion() override;
  void SetReadVersion(Version version) override;
  StatusOr<std::optional<std::string>> Get(std::string_view key, bool snapshot) override;
  StatusOr<RangeResult> GetRange(const RangeEndpoint& begin, const RangeEndpoint& end,
                                 const RangeOptions& options) override;
  using Transaction::GetRange;
  // An ordinary read of kMetadataVersionKey: etcd has nothing to hand it out with.
  StatusOr<std::optional<std::string>> GetMetadataVersion(bool snapshot) override {
    return ReadKey(kMetadataVersionKey, snapshot);
  }
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
  // The point reads run at, acquired on first use; 1007 once it is older than 5 s.
  StatusOr<ReadPoint> ReadPointForUse();
  // When RPCs must give up: the transaction's timeout, if any.
  Clock::time_point Deadline() const;
  // `error`, or transaction_timed_out when the timeout is what made an RPC fail.
  Status TimeoutOr(Status error) const;
  void AbandonWatches(const Status& why);
  // The committed value of `key` at the read point (no conflict range).
  StatusOr<std::optional<std::string>> ReadStored(std::string_view key);
  // The transaction's own view of `key`, adding a read conflict range unless `snapshot`.
  StatusOr<std::optional<std::string>> ReadKey(std::string_view key, bool snapshot);
  // Sends the writes (REQUIRES: something to write); fills committed_version_ and
  // versionstamp_.
  Status CommitWrites();

  EtcdDatabase* const db_;
  TransactionOptions options_;
  const Clock::time_point created_;  // the timeout runs from here, across retries
  int retries_ = 0;

  std::optional<ReadPoint> read_;
  std::optional<Version> requested_read_version_;
  bool cancelled_ = false;
  bool committed_ = false;
  Version committed_version_ = -1;
  int64_t commit_revision_ = 0;
  std::string versionstamp_;
  std::vector<std::shared_ptr<EtcdWatch>> pending_watches_;
};

}  // namespace recordstore::kv::etcd

#endif  // RECORDSTORE_KV_ETCD_ETCD_TRANSACTION_H_
