// OnlineIndexer: builds one index of a record store while the store stays open for writes,
// as the FoundationDB Record Layer's OnlineIndexer does.
//
// The index is write-only while it is built: queries ignore it, and writers maintain it only
// for records whose primary keys lie in the index's built ranges (record_store.h, "Write-only
// indexes and the online indexer"). The indexer scans the records of the unbuilt ranges in
// primary-key order in batches. Each batch is one transaction that opens the store, finds the
// first unbuilt range, reads up to `batch size` records from its start, adds their index
// entries, and records [range start, after the last record read) as built, so that a writer
// of one of those records and the batch conflict and one of them retries. When the whole key
// space is built the index is marked readable; a unique index with recorded violations stays
// write-only instead (fully built, so writers keep it current) and the build reports the
// conflicting primary keys.
//
// Crashes and restarts: everything a batch did commits with the range it marked built, so a
// builder killed at any point leaves only whole batches behind, and the next BuildIndex
// resumes from the unbuilt ranges.
//
// Concurrent builders of one index cooperate through the range set instead of taking a
// lease: each batch reads (serializably) the part of the range set it fills, so two batches
// that pick the same unbuilt range conflict and the second one retries, finds the range
// built, and moves on. Nothing is indexed twice; the only cost is the loser's wasted batch.
//
// By-index builds (OnlineIndexerOptions::mode): a VALUE index whose columns a readable
// VALUE index over the same record types holds (key columns, covering columns, primary key;
// indexer/by_index_build.h decides) is built from that source index's entries alone, never
// reading a record, which is cheaper than the records scan. The build visits records in
// source order, so it cannot record primary-key ranges; instead it first records the mode,
// (9, index, "by_index") -> the source index's name, and while that key exists every writer
// maintains the index for every record (store/record_store.h, the write-only gate). Each
// batch is one transaction that reads the next source entries serializably from the resume
// point (9, index, "by_index_position") -> the last source entry key read (a packed tuple),
// writes the entries they project to (value entries are exact keys: writing one a writer
// wrote too leaves it once; a unique index records its violations as its maintainer does),
// and stores the new resume point. A writer that changes a record whose source entry a
// running batch read conflicts with it and one of them retries; a record changed before the
// mode was set keeps its source entries, which some batch reads. When the source is
// exhausted the index becomes readable and the by-index keys are cleared in that batch's
// transaction; a unique index with violations instead stays write-only with its whole key
// space recorded as built (writers keep it current, as after a records scan). A resumed build
// continues from the resume point; a build asking for another source starts that source from
// the beginning (the entries written so far are current either way). The source must stay
// readable: a batch that finds it otherwise fails with index_not_readable (8013).
//
// Bookkeeping under the store's (9, index) space: (9, index, "records_built") -> the number
// of records (for a by-index build: source entries) indexed by builds so far (8-byte
// little-endian, atomic add), for ListIndexes; the by-index keys above.
//
// Thread-safety: BuildIndex runs on the calling thread; progress() may be called from any
// thread while it runs. One OnlineIndexer runs one build at a time.
#ifndef RECORDSTORE_INDEXER_ONLINE_INDEXER_H_
#define RECORDSTORE_INDEXER_ONLINE_INDEXER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "index/index_maintainer.h"
#include "indexer/by_index_build.h"
#include "metadata/record_metadata.h"
#include "recordstore/kv.h"
#include "recordstore/status.h"
#include "store/record_store.h"
#include "tuple/subspace.h"

namespace recordstore::indexer {

// How BuildIndex reads what it indexes.
enum class IndexBuildMode {
  // Every record, in primary-key order.
  kRecordsScan,
  // The entries of OnlineIndexerOptions::source_index, which must be readable and cover the
  // index (ByIndexBuildPlan::Make); refused otherwise.
  kByIndex,
  // By index when a readable index covers this one (the one a by-index build of it already
  // uses, else the first in metadata order), else the records scan.
  kAuto,
};

struct OnlineIndexerOptions {
  IndexBuildMode mode = IndexBuildMode::kRecordsScan;
  // The source index of kByIndex.
  std::string source_index;
  // Records read by the first batch; later batches adapt between 1 and the maximum.
  int64_t initial_records_per_transaction = 500;
  // The per-transaction record limit.
  int64_t max_records_per_transaction = 4000;
  // Records scanned per second, averaged over the build; 0 means unthrottled. (A by-index
  // build counts source entries as records here, in the batch sizes and in progress.)
  double max_records_per_second = 0;
  // A batch stops reading once its transaction is this old, well inside the KV's 5-second
  // read-version lifetime.
  std::chrono::milliseconds max_transaction_time{2000};
  // A batch stops reading once its transaction's mutations reach this many bytes (the KV
  // refuses 10,000,000 with transaction_too_large 2101).
  int64_t max_transaction_bytes = 4'000'000;
  // BuildIndex fails with the last error after this many consecutive failed batches.
  int max_consecutive_failures = 50;
  // Count the records to build first (read-only, snapshot transactions) so that progress has
  // an estimated total and an ETA. Without it the total is unknown (-1).
  bool count_records_first = true;
  // How the indexer opens the store in each transaction.
  store::RecordStoreOptions store_options;
  // Time source and sleep of the throttle; default std::chrono::steady_clock and
  // std::this_thread::sleep_for. Tests pass fakes.
  std::function<std::chrono::steady_clock::time_point()> clock;
  std::function<void(std::chrono::nanoseconds)> sleep;
};

// A snapshot of a running (or finished) build.
struct IndexBuildProgress {
  enum class Phase { kNotStarted, kCounting, kBuilding, kDone, kFailed };
  Phase phase = Phase::kNotStarted;
  // The index the build reads; empty for the records scan.
  std::string source_index;
  // Records read by this build's committed batches (records of other types included).
  int64_t records_scanned = 0;
  // Records in the unbuilt ranges when the build started; -1 when not counted.
  int64_t estimated_total = -1;
  // records_scanned per second of build time (counting excluded); 0 before the first batch.
  double records_per_second = 0;
  // Seconds until the estimated total is reached at the current rate; -1 when unknown.
  double eta_seconds = -1;
  int64_t transactions_committed = 0;
  // Batches that failed and were retried (conflicts, too large, too old, unknown result).
  int64_t transactions_retried = 0;
  // Times the batch size went down after a failure.
  int64_t batch_size_decreases = 0;
  // The size of the next batch.
  int64_t batch_size = 0;
};

struct IndexBuildResult {
  // True when the index ended readable; false only for a unique index with violations.
  bool readable = false;
  // The index the build read (by-index build); empty for the records scan.
  std::string source_index;
  // This build's records scanned and batches committed.
  int64_t records_scanned = 0;
  int64_t transactions = 0;
  // The violations that kept a unique index write-only (both records of each pair).
  std::vector<index::UniquenessViolation> violations;
};

class OnlineIndexer {
 public:
  // REQUIRES: `db` and `metadata` outlive the indexer; `index_name` names an index of
  // `metadata`.
  OnlineIndexer(kv::Database& db, Subspace store, const metadata::RecordMetaData& metadata,
                std::string index_name, OnlineIndexerOptions options = {});

  // Builds the index until it is readable (see the file comment). A readable index is left
  // as it is (records_scanned 0); a disabled one is first made write-only with nothing built.
  // Errors: not_found (8002) for an unknown index or store; the store's open errors;
  // non-retryable errors of a batch; the last error after max_consecutive_failures failed
  // batches in a row. kByIndex: ByIndexBuildPlan::Make's refusals (invalid_argument 8001
  // naming the column the source lacks, unsupported 8006); index_not_readable (8013) when the
  // source is not readable; invalid_argument when another by-index build of the index from
  // another source is running.
  StatusOr<IndexBuildResult> BuildIndex();
  // Clears the index and builds it again from scratch (any state).
  StatusOr<IndexBuildResult> RebuildIndex();

  // Thread-safe.
  IndexBuildProgress progress() const;

 private:
  struct Batch {
    int64_t scanned = 0;
    int64_t indexed = 0;
    // Where the batch ended (exclusive): the next unbuilt key to look at.
    std::string end;
    // Nothing left to build: the index is readable, or a unique one has violations.
    bool finished = false;
    IndexBuildResult final;
  };

  StatusOr<std::unique_ptr<store::RecordStore>> OpenStore(cursor::RecordContext& context) const;
  // Runs `body` on the store in a transaction and commits, retrying retryable errors.
  Status RunInStore(const std::function<Status(store::RecordStore&)>& body);
  StatusOr<int64_t> CountUnbuiltRecords();
  // False (with `batch` finished) when another build made the index readable meanwhile;
  // index_not_readable when it was disabled; true while it is still write-only.
  StatusOr<bool> StillBuilding(const store::RecordStore& store, Batch& batch) const;
  // One batch from `from` in its own transaction, committed.
  StatusOr<Batch> RunBatch(const std::string& from, int64_t limit);
  // In `store`'s transaction: marks the index readable, or gathers the violations.
  StatusOr<IndexBuildResult> Finish(store::RecordStore& store);
  // By-index builds: the source to use (empty: the records scan), recorded as the build mode
  // in the same transaction.
  StatusOr<std::string> StartByIndexBuild();
  // The source entries after the resume point (snapshot reads).
  StatusOr<int64_t> CountSourceEntries(const ByIndexBuildPlan& plan);
  // One by-index batch of at most `limit` source entries, committed.
  StatusOr<Batch> RunIndexBatch(const ByIndexBuildPlan& plan, int64_t limit);
  // The batches of a build until one finishes, with retries, throttle and progress.
  StatusOr<IndexBuildResult> RunBatches(const std::function<StatusOr<Batch>(int64_t)>& batch);
  void Throttle(std::chrono::steady_clock::time_point start, int64_t scanned);
  void UpdateProgress(const std::function<void(IndexBuildProgress&)>& change);

  kv::Database& db_;
  Subspace store_;
  const metadata::RecordMetaData& metadata_;
  std::string index_name_;
  OnlineIndexerOptions options_;

  mutable absl::Mutex mutex_;
  IndexBuildProgress progress_ ABSL_GUARDED_BY(mutex_);
};

// One index of a store as ListIndexes shows it.
struct IndexStatus {
  std::string name;
  std::string type;
  index::IndexState state = index::IndexState::kReadable;
  // Records indexed by online builds since the index was last cleared or made readable.
  int64_t records_built = 0;
  // Write-only indexes: the built primary-key ranges (none means nothing built); whether
  // they cover the whole key space.
  int64_t built_ranges = 0;
  bool fully_built = false;
};

// Every index of `store`'s metadata, in metadata order, with its state and build progress,
// read in the store's transaction.
StatusOr<std::vector<IndexStatus>> ListIndexes(store::RecordStore& store);

}  // namespace recordstore::indexer

#endif  // RECORDSTORE_INDEXER_ONLINE_INDEXER_H_
