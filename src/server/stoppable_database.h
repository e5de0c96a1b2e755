// A view of a kv::Database for background work (index builds, re-encryption) that a shutdown
// must stop: after Stop every new transaction is cancelled, so the work stops at its next
// transaction with transaction_cancelled instead of running to the end.
//
// Thread-safety: thread-safe.
#ifndef RECORDSTORE_SERVER_STOPPABLE_DATABASE_H_
#define RECORDSTORE_SERVER_STOPPABLE_DATABASE_H_

#include <atomic>
#include <memory>

#include "recordstore/kv.h"

namespace recordstore::server {

class StoppableDatabase final : public kv::Database {
 public:
  // REQUIRES: `base` outlives this object.
  explicit StoppableDatabase(kv::Database& base) : base_(base) {}
  std::unique_ptr<kv::Transaction> CreateTransaction(
      const kv::TransactionOptions& options) override {
    std::unique_ptr<kv::Transaction> txn = base_.CreateTransaction(options);
    if (stopped_.load()) txn->Cancel();
    return txn;
  }
  void Stop() { stopped_.store(true); }
  bool stopped() const { return stopped_.load(); }

 private:
  kv::Database& base_;
  std::atomic<bool> stopped_{false};
};

}  // namespace recordstore::server

#endif  // RECORDSTORE_SERVER_STOPPABLE_DATABASE_H_
