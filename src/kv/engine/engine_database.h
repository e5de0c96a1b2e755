// The embedded engine: FoundationDB's transaction model over a local Storage.
//
//  * Read versions: the engine publishes one storage snapshot per committed batch; a
//    transaction's read version is the published snapshot it takes, so reads never wait for
//    commits and always see a consistent prefix of the commit history.
//  * Commit: transactions queue up; the first in the queue becomes the leader and commits
//    everything queued behind it as one batch (group commit, LevelDB's writer queue). The
//    leader assigns the batch a version (max(previous + 1, wall-clock microseconds)), checks
//    each transaction's read ranges against the resolver, applies the survivors' mutations in
//    queue order to one storage batch, records their write ranges, writes the batch (with the
//    version, durably) and publishes the new snapshot before anyone is acknowledged.
//  * MVCC window: the snapshots of the last 5 seconds stay readable, so a transaction may read
//    at any recent version (SetReadVersion), as in FoundationDB.
//  * The metadata version (Transaction::GetMetadataVersion) is kept in memory and published
//    with each snapshot, so a transaction gets the value as of its read version without a
//    storage read. It is also stored (at kMetadataVersionKey, written in the commit batch
//    like any versionstamped value) and loaded by Open, so it survives restarts.
//  * The resolver keeps only the write history that a live transaction could still conflict
//    with (writes newer than the oldest live read version), so it stays empty when no reader
//    overlaps a writer. A read-write transaction whose read version was set explicitly below
//    that history fails with not_committed (retryable) rather than risk a missed conflict.
#ifndef RECORDSTORE_KV_ENGINE_ENGINE_DATABASE_H_
#define RECORDSTORE_KV_ENGINE_ENGINE_DATABASE_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kv/engine/resolver.h"
#include "kv/engine/storage.h"
#include "kv/engine/watch_registry.h"
#include "kv/engine/write_set.h"
#include "recordstore/kv.h"

namespace recordstore::kv {

using Clock = std::chrono::steady_clock;

// How long a read version stays usable (transaction_too_old afterwards).
inline constexpr std::chrono::milliseconds kMaxReadVersionAge{5000};

// The read versions of live transactions, with the time each was taken.
using LiveReads = std::multiset<std::pair<Version, Clock::time_point>>;

// What a transaction hands to the commit pipeline.
struct CommitRequest {
  const WriteSet* writes = nullptr;
  const std::vector<KeyRange>* read_ranges = nullptr;
  const std::vector<KeyRange>* extra_write_ranges = nullptr;
  // The transaction calls BumpMetadataVersion: committed, its versionstamp becomes the
  // published metadata version.
  bool bumps_metadata_version = false;
  bool has_read_version = false;
  Version read_version = 0;
  Clock::time_point read_version_time;
  // The transaction's entry in the live read versions (when it has a read version): the
  // transaction ends with this commit, so its own read no longer holds conflict history.
  std::optional<LiveReads::iterator> live_read;

  // Filled by the leader.
  Status status;
  Version commit_version = -1;
  uint16_t batch_order = 0;
  bool done = false;
  std::condition_variable cv;
};

// A read version in use: the published snapshot plus the time it was taken.
struct ReadSnapshot {
  std::shared_ptr<const StorageSnapshot> snapshot;
  Clock::time_point taken;
  // The metadata version as of the snapshot (nullopt: never bumped).
  std::optional<std::string> metadata_version;
  // Handle in the live read-version set, released by ReleaseReadVersion.
  LiveReads::iterator live;
};

class EngineDatabase final : public Database {
 public:
  // Starts the engine over `storage`, reading the stored metadata version. Errors: the
  // storage's read errors.
  static StatusOr<std::unique_ptr<EngineDatabase>> Open(std::unique_ptr<Storage> storage,
                                                        const DatabaseOptions& options);
  ~EngineDatabase() override;

  std::unique_ptr<Transaction> CreateTransaction(const TransactionOptions& options) override;

  // Compacts the storage (see Storage::Compact).
  Status CompactStorage() { return storage_->Compact(); }

  // --- Used by EngineTransaction. ---
  // Takes the latest published snapshot, or with `at` the one that was current at version
  // `at`, and registers its version as live. Errors: future_version (1009) for a version not
  // committed yet, transaction_too_old (1007) for one older than the 5 s window.
  StatusOr<ReadSnapshot> AcquireReadVersion(std::optional<Version> at = std::nullopt);
  void ReleaseReadVersion(const ReadSnapshot& read);
  // Runs `request` through the group-commit pipeline; returns its status.
  Status Commit(CommitRequest& request);
  WatchRegistry& watches() { return watches_; }
  // Reads `key` from the latest published snapshot.
  StatusOr<std::optional<std::string>> ReadLatest(std::string_view key);

 private:
  EngineDatabase(std::unique_ptr<Storage> storage, const DatabaseOptions& options,
                 std::optional<std::string> metadata_version);

  // Commits `group` as one batch (leader only, commit_mu_ not held); returns how many of its
  // transactions were written.
  int CommitGroup(const std::vector<CommitRequest*>& group);
  // The oldest read version of a live transaction (within the 5 s window) other than the
  // members of `finishing` (the group being committed), or the latest published version when
  // there is none: history at or below it is never needed again.
  Version ResolverHorizon(Clock::time_point now, const std::vector<CommitRequest*>& finishing);
  // Re-checks watches on everything `group` wrote.
  void NotifyWatches(const std::vector<CommitRequest*>& group);

  std::unique_ptr<Storage> storage_;
  const DatabaseOptions options_;
  WatchRegistry watches_;

  // Commit queue (LevelDB-style): the front request's thread is the leader.
  std::mutex queue_mu_;
  std::deque<CommitRequest*> queue_;  // GUARDED_BY(queue_mu_)

  // Touched only by the current leader.
  Resolver resolver_;
  Version last_version_;

  // A snapshot published for one commit batch, when it was published, and the metadata
  // version it holds.
  struct Published {
    std::shared_ptr<const StorageSnapshot> snapshot;
    Clock::time_point time;
    std::optional<std::string> metadata_version;
  };
  // Drops snapshots that stopped being current more than 5 s before `now`.
  void PruneHistoryLocked(Clock::time_point now);

  // The published snapshots of the MVCC window (newest at the back) and the live read versions.
  std::mutex published_mu_;
  std::deque<Published> history_;  // GUARDED_BY(published_mu_); never empty
  LiveReads live_reads_;  // GUARDED_BY(published_mu_)
};

}  // namespace recordstore::kv

#endif  // RECORDSTORE_KV_ENGINE_ENGINE_DATABASE_H_
