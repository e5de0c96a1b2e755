// The server's metrics, rendered in the Prometheus text exposition format (version 0.0.4) for
// GET /metrics. No Prometheus client library is packaged in Debian 12, and the server needs
// only counters, histograms and gauges, so this is a small registry of its own.
//
// Families (every name is documented in docs/operations.md, "Running the server"):
//   recordstore_requests_total{method,code}                 counter, per finished RPC
//   recordstore_request_duration_seconds{method}            histogram (kLatencyBuckets)
//   recordstore_transaction_retries_total{method,error}     counter, per retried transaction
//   recordstore_auth_failures_total{reason}                 counter, per refused token/request
//   recordstore_index_build_records_scanned{space,index}    gauge, per build of this process
//   recordstore_index_build_records_estimated_total{space,index}  gauge (-1: not counted)
//   recordstore_reencrypted_records_total                   counter, records this process
//                                                           re-encrypted after key rotations
//   recordstore_reencryptions_running                       gauge, tenants being re-encrypted
//   recordstore_kv_disk_bytes                               gauge, when the engine is local
//   recordstore_kv_commit_batch_transactions                histogram (kCommitBatchBuckets)
//
// Output is deterministic: families in the order above, series sorted by their labels.
//
// Thread-safety: thread-safe; the observer methods take one short lock.
#ifndef RECORDSTORE_SERVER_METRICS_H_
#define RECORDSTORE_SERVER_METRICS_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "server/grpc_code.h"
#include "server/services.h"

namespace recordstore::server {

// Upper bounds (seconds) of the latency histogram's buckets; +Inf follows.
inline constexpr std::array<double, 14> kLatencyBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};

// Upper bounds of the commit batch size histogram's buckets (transactions per group commit;
// the engine puts at most 4096 in one); +Inf follows.
inline constexpr std::array<double, 10> kCommitBatchBuckets = {1,  2,  4,   8,   16,
                                                               32, 64, 128, 256, 1024};

// What the server knows at render time besides the request counters.
struct MetricsSnapshot {
  struct IndexBuild {
    std::string space;  // "tenant/space"
    std::string index;
    int64_t records_scanned = 0;
    int64_t estimated_total = -1;
  };
  std::vector<IndexBuild> index_builds;
  // Records re-encrypted to a tenant's current data key by this process (key_rotation.h).
  int64_t records_reencrypted = 0;
  // Tenants whose records this process is re-encrypting now.
  int reencryptions_running = 0;
  // Bytes of the KV engine's files; nullopt when the engine cannot tell cheaply.
  std::optional<int64_t> kv_disk_bytes;
};

class Metrics final : public RequestObserver {
 public:
  void OnRequest(std::string_view method, grpc::StatusCode code, double seconds) override;
  void OnRetry(std::string_view method, const Status& error) override;
  void OnAuthFailure(std::string_view reason) override;
  // One group commit of the embedded engine wrote `transactions` transactions
  // (kv::DatabaseOptions::on_commit_batch).
  void OnCommitBatch(int transactions);

  // The exposition text of everything observed so far plus `snapshot`.
  std::string Render(const MetricsSnapshot& snapshot) const;

 private:
  template <size_t kBuckets>
  struct Histogram {
    std::array<int64_t, kBuckets> buckets{};  // not cumulative
    int64_t count = 0;
    double sum = 0;
  };
  using LatencyHistogram = Histogram<kLatencyBuckets.size()>;

  mutable absl::Mutex mutex_;
  // (method, code name) -> count.
  std::map<std::pair<std::string, std::string>, int64_t> requests_ ABSL_GUARDED_BY(mutex_);
  std::map<std::string, LatencyHistogram> latencies_ ABSL_GUARDED_BY(mutex_);
  // (method, error name) -> count.
  std::map<std::pair<std::string, std::string>, int64_t> retries_ ABSL_GUARDED_BY(mutex_);
  // reason -> count.
  std::map<std::string, int64_t> auth_failures_ ABSL_GUARDED_BY(mutex_);
  Histogram<kCommitBatchBuckets.size()> commit_batches_ ABSL_GUARDED_BY(mutex_);
};

// A number as Prometheus reads it: the shortest text that round-trips, "+Inf", "-Inf", "NaN".
std::string FormatMetricValue(double value);

// `value` with \, " and newline escaped, as label values require.
std::string EscapeLabelValue(std::string_view value);

}  // namespace recordstore::server

#endif  // RECORDSTORE_SERVER_METRICS_H_
