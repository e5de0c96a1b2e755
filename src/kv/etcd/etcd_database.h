// The etcd backend: the KV contract over an etcd v3 cluster ("etcd://h1:p1,h2:p2/prefix").
//
// Key layout under the URL's prefix P (P = prefix + "\0", so no prefix is a prefix of
// another's keys):
//   P "c"                    the commit clock: every committing transaction puts it blindly, so
//                            etcd's per-key `version` counts commits; it is the version scale
//   P "d" <user key>         data: "\x01" + value when live, "\x00" + 8-byte time for a
//                            tombstone (clears write tombstones so that etcd's range compares,
//                            which ignore deleted keys, see deletions)
//   P "t" <time> <user key>  index of tombstones, for the collector
//   P "w" <begin>            explicit write conflict range [begin, end): value time + end
//   P "i" <time> <random>    idempotency marker of one commit (commit_unknown_result check)
// Times are 8-byte big-endian wall-clock microseconds.
//
// Versions: a read version is the clock's version seen by one linearizable read of the clock
// (a read-only Txn that also carries the transaction's first Get); that response's revision R
// is the etcd revision every read of the transaction uses. A
// commit version is the clock's version right after the commit's Txn. Both live on one scale.
//
// Commit = one etcd Txn. Outer compares: nothing read (non-snapshot) was modified after R
// (mod_revision < R+1 over each read range, so inserts and tombstones are seen), no explicit
// write conflict range beginning before the end of a read range was added after R (a
// conservative superset of the overlapping ones), and the idempotency marker does not exist.
// Inside, a nested Txn guards what the commit computed from the latest values (atomic ops,
// the keys stored in cleared ranges, the clock for versionstamps);
// when only that guard fails the commit is recomputed and retried internally, so atomic ops
// never make transactions conflict. Outer failure = 1020, unless the marker shows that an
// earlier attempt of the same commit was applied.
//
// A background thread removes tombstones, write-conflict markers and idempotency markers
// older than the MVCC window (with margin) and compacts etcd's history behind it.
//
// Thread-safety: as kv.h says for Database.
#ifndef RECORDSTORE_KV_ETCD_ETCD_DATABASE_H_
#define RECORDSTORE_KV_ETCD_ETCD_DATABASE_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "kv/etcd/etcd.h"
#include "kv/etcd/etcd_client.h"
#include "kv/key_watch.h"
#include "recordstore/kv.h"

namespace recordstore::kv {

namespace etcd {

// How long a read version stays usable (transaction_too_old afterwards), as the engine's.
inline constexpr std::chrono::milliseconds kMaxReadVersionAge{5000};
// Tombstones and write-conflict markers are kept this long: past the 5 s window plus the
// longest a commit RPC may still be in flight, so no transaction that could conflict with them
// can still commit.
inline constexpr std::chrono::seconds kTombstoneAge{15};
// Idempotency markers are kept while a commit may still be re-checked.
inline constexpr std::chrono::seconds kMarkerAge{60};
// etcd history is compacted up to a revision that is at least this old.
inline constexpr std::chrono::seconds kCompactionAge{30};

// Wall-clock microseconds, big-endian (sorts by time).
std::string EncodeTime(int64_t micros);
int64_t DecodeTime(std::string_view bytes);
int64_t WallMicros();

// The etcd keys of one database (see the layout above).
class Layout {
 public:
  explicit Layout(std::string_view prefix) : prefix_(std::string(prefix) + '\0') {}
  std::string ClockKey() const { return prefix_ + "c"; }
  std::string DataKey(std::string_view key) const { return prefix_ + "d" + std::string(key); }
  std::string_view UserKey(std::string_view data_key) const {
    return data_key.substr(prefix_.size() + 1);
  }
  std::string Section(char section) const { return prefix_ + section; }

  static std::string Live(std::string_view value);
  static std::string Tombstone(int64_t micros);
  // The user value of a stored data value, nullopt for a tombstone.
  static std::optional<std::string_view> Decode(std::string_view stored);

 private:
  std::string prefix_;
};

// A read version and the etcd revision its reads use.
struct ReadPoint {
  Version version = 0;
  int64_t revision = 0;
  Clock::time_point taken;
};

// One watch (kv.h's Watch). Completes at most once; the database runs it on a thread of its
// own, reading an etcd Watch stream, until it fires, fails or is cancelled.
class EtcdWatch final : public KeyWatch {
 public:
  using KeyWatch::KeyWatch;

  void Cancel() override;
  // The context of the stream being read, so that completion can cancel the read. Returns
  // false (and registers nothing) when the watch is already done.
  bool SetContext(grpc::ClientContext* context);

 private:
  // Stops a stream read in progress.
  void OnCompletedLocked() override;

  grpc::ClientContext* context_ = nullptr;  // GUARDED_BY(KeyWatch's lock)
};

class EtcdDatabase final : public Database {
 public:
  EtcdDatabase(const std::vector<std::string>& endpoints, std::string_view prefix,
               const DatabaseOptions& options);
  ~EtcdDatabase() override;

  // Checks that the cluster answers. Errors: io_error (1510).
  Status Connect();

  std::unique_ptr<Transaction> CreateTransaction(const TransactionOptions& options) override;

  // --- Used by EtcdTransaction. ---
  EtcdClient& client() { return client_; }
  const Layout& layout() const { return layout_; }
  // The latest read version, or with `at` the revision at which the clock had version `at`.
  // Errors: future_version (1009), transaction_too_old (1007) when history is compacted.
  StatusOr<ReadPoint> AcquireReadVersion(std::optional<Version> at, Clock::time_point deadline);
  // The latest read version together with a transaction's first read: one linearizable
  // read-only Txn ranges the clock and `first_read` at the same revision, so the first read
  // costs no round trip of its own. REQUIRES: `first_read` sets no revision.
  // Errors as EtcdClient::ReadTxn.
  StatusOr<ReadPoint> AcquireReadVersionWith(const etcdserverpb::RangeRequest& first_read,
                                             etcdserverpb::RangeResponse* first_response,
                                             Clock::time_point deadline);
  // A Range at `request.revision()` (REQUIRES: set), served by any member that has applied
  // it. Errors as EtcdClient::Range.
  Status ReadAt(etcdserverpb::RangeRequest& request, etcdserverpb::RangeResponse* response,
                Clock::time_point deadline);
  // Remembers that commit version `version` was made at etcd revision `revision`.
  void RecordCommit(Version version, int64_t revision);

  Status ReserveWatch();
  void ReleaseWatch();
  // Starts `watch` (holding a reserved slot), comparing against the latest value.
  void ActivateWatch(const std::shared_ptr<EtcdWatch>& watch);

 private:
  void CollectGarbageLoop();
  void CollectGarbage();
  // The read point of a linearizable read of the clock (`clock`) answered at `revision`,
  // remembered for compaction and SetReadVersion.
  ReadPoint NoteLatest(const etcdserverpb::RangeResponse& clock, int64_t revision);
  // Version of the clock at `revision`.
  StatusOr<Version> ClockVersionAt(int64_t revision);
  // Runs `watch` until it fires, fails or is cancelled (on its own thread).
  void RunWatch(const std::shared_ptr<EtcdWatch>& watch);

  EtcdClient client_;
  const Layout layout_;
  const DatabaseOptions options_;

  std::mutex versions_mu_;
  std::map<Version, int64_t> commit_revisions_;  // GUARDED_BY(versions_mu_), bounded
  // (wall micros, revision) seen by read versions, oldest first: compaction targets.
  std::deque<std::pair<int64_t, int64_t>> revision_samples_;  // GUARDED_BY(versions_mu_)

  // An activated watch and the thread running it (which sets `finished` as it exits).
  struct RunningWatch {
    std::shared_ptr<EtcdWatch> watch;
    std::shared_ptr<std::atomic<bool>> finished;
    std::thread thread;
  };
  std::mutex watches_mu_;
  int reserved_watches_ = 0;           // GUARDED_BY(watches_mu_)
  std::vector<RunningWatch> running_;  // GUARDED_BY(watches_mu_)

  std::mutex gc_mu_;
  std::condition_variable gc_cv_;
  bool stopping_ = false;  // GUARDED_BY(gc_mu_)
  int64_t compacted_revision_ = 0;
  std::thread gc_thread_;
};

}  // namespace etcd
}  // namespace recordstore::kv

#endif  // RECORDSTORE_KV_ETCD_ETCD_DATABASE_H_
