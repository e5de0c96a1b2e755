#include "server/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <tuple>

namespace recordstore::server {

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // As Prometheus' own Go client (strconv 'g', shortest): plain decimals from 1e-4 up to
  // 1e21, so bucket bounds read "0.0001" rather than "1e-04"; exponents outside that.
  char buffer[512];
  const double magnitude = std::fabs(value);
  const bool plain = magnitude == 0 || (magnitude >= 1e-4 && magnitude < 1e21);
  auto [end, error] =
      std::to_chars(buffer, buffer + sizeof(buffer), value,
                    plain ? std::chars_format::fixed : std::chars_format::scientific);
  return std::string(buffer, end);
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

// The first bucket whose upper bound is >= value (bounds are inclusive), or buckets.size()
// for +Inf only.
template <size_t kBuckets>
size_t BucketOf(const std::array<double, kBuckets>& bounds, double value) {
  size_t bucket = 0;
  while (bucket < kBuckets && value > bounds[bucket]) ++bucket;
  return bucket;
}

}  // namespace

void Metrics::OnRequest(std::string_view method, grpc::StatusCode code, double seconds) {
  const size_t bucket = BucketOf(kLatencyBuckets, seconds);
  absl::MutexLock lock(&mutex_);
  ++requests_[{std::string(method), std::string(GrpcCodeName(code))}];
  LatencyHistogram& histogram = latencies_[std::string(method)];
  if (bucket < kLatencyBuckets.size()) ++histogram.buckets[bucket];
  ++histogram.count;
  histogram.sum += seconds;
}

void Metrics::OnCommitBatch(int transactions) {
  const size_t bucket = BucketOf(kCommitBatchBuckets, transactions);
  absl::MutexLock lock(&mutex_);
  if (bucket < kCommitBatchBuckets.size()) ++commit_batches_.buckets[bucket];
  ++commit_batches_.count;
  commit_batches_.sum += transactions;
}

void Metrics::OnRetry(std::string_view method, const Status& error) {
  std::optional<ErrorCode> code = GetErrorCode(error);
  std::string name = code.has_value() ? std::string(ErrorName(*code)) : "unknown_error";
  absl::MutexLock lock(&mutex_);
  ++retries_[{std::string(method), std::move(name)}];
}

void Metrics::OnAuthFailure(std::string_view reason) {
  absl::MutexLock lock(&mutex_);
  ++auth_failures_[std::string(reason)];
}

namespace {

void Header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

// name{k1="v1",k2="v2"} value
void Sample(std::string& out, std::string_view name,
            const std::vector<std::pair<std::string_view, std::string_view>>& labels,
            double value) {
  out.append(name);
  if (!labels.empty()) {
    out += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out += ',';
      out.append(labels[i].first).append("=\"").append(EscapeLabelValue(labels[i].second));
      out += '"';
    }
    out += '}';
  }
  out.append(" ").append(FormatMetricValue(value)).append("\n");
}

// The _bucket, _sum and _count samples of one histogram series; `labels` precede "le".
template <size_t kBuckets>
void HistogramSamples(std::string& out, std::string_view name,
                      const std::vector<std::pair<std::string_view, std::string_view>>& labels,
                      const std::array<double, kBuckets>& bounds,
                      const std::array<int64_t, kBuckets>& buckets, int64_t count, double sum) {
  const std::string bucket_name = std::string(name) + "_bucket";
  std::vector<std::pair<std::string_view, std::string_view>> with_le = labels;
  with_le.emplace_back("le", "");
  int64_t cumulative = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    cumulative += buckets[i];
    const std::string bound = FormatMetricValue(bounds[i]);
    with_le.back().second = bound;
    Sample(out, bucket_name, with_le, static_cast<double>(cumulative));
  }
  with_le.back().second = "+Inf";
  Sample(out, bucket_name, with_le, static_cast<double>(count));
  Sample(out, std::string(name) + "_sum", labels, sum);
  Sample(out, std::string(name) + "_count", labels, static_cast<double>(count));
}

}  // namespace

std::string Metrics::Render(const MetricsSnapshot& snapshot) const {
  std::string out;
  Histogram<kCommitBatchBuckets.size()> commit_batches;
  {
    absl::MutexLock lock(&mutex_);
    commit_batches = commit_batches_;
    Header(out, "recordstore_requests_total", "counter",
           "Finished gRPC requests by method and status code.");
    for (const auto& [key, count] : requests_) {
      Sample(out, "recordstore_requests_total", {{"method", key.first}, {"code", key.second}},
             static_cast<double>(count));
    }
    Header(out, "recordstore_request_duration_seconds", "histogram",
           "Time from receiving a gRPC request to its answer, by method.");
    for (const auto& [method, histogram] : latencies_) {
      HistogramSamples(out, "recordstore_request_duration_seconds", {{"method", method}},
                       kLatencyBuckets, histogram.buckets, histogram.count, histogram.sum);
    }
    Header(out, "recordstore_transaction_retries_total", "counter",
           "Transactions retried (conflicts, too old) by method and error.");
    for (const auto& [key, count] : retries_) {
      Sample(out, "recordstore_transaction_retries_total",
             {{"method", key.first}, {"error", key.second}}, static_cast<double>(count));
    }
    Header(out, "recordstore_auth_failures_total", "counter",
           "Requests refused by authentication or authorization, by reason.");
    for (const auto& [reason, count] : auth_failures_) {
      Sample(out, "recordstore_auth_failures_total", {{"reason", reason}},
             static_cast<double>(count));
    }
  }
  std::vector<const MetricsSnapshot::IndexBuild*> builds;
  for (const MetricsSnapshot::IndexBuild& build : snapshot.index_builds) builds.push_back(&build);
  std::sort(builds.begin(), builds.end(), [](const auto* a, const auto* b) {
    return std::tie(a->space, a->index) < std::tie(b->space, b->index);
  });
  Header(out, "recordstore_index_build_records_scanned", "gauge",
         "Records scanned by the latest online build of an index in this process.");
  for (const auto* build : builds) {
    Sample(out, "recordstore_index_build_records_scanned",
           {{"space", build->space}, {"index", build->index}},
           static_cast<double>(build->records_scanned));
  }
  Header(out, "recordstore_index_build_records_estimated_total", "gauge",
         "Records the build expects to scan (-1 until counted).");
  for (const auto* build : builds) {
    Sample(out, "recordstore_index_build_records_estimated_total",
           {{"space", build->space}, {"index", build->index}},
           static_cast<double>(build->estimated_total));
  }
  Header(out, "recordstore_reencrypted_records_total", "counter",
         "Records this process re-encrypted to their tenant's current data key after a key "
         "rotation.");
  Sample(out, "recordstore_reencrypted_records_total", {},
         static_cast<double>(snapshot.records_reencrypted));
  Header(out, "recordstore_reencryptions_running", "gauge",
         "Tenants whose records this process is re-encrypting now.");
  Sample(out, "recordstore_reencryptions_running", {},
         static_cast<double>(snapshot.reencryptions_running));
  if (snapshot.kv_disk_bytes.has_value()) {
    Header(out, "recordstore_kv_disk_bytes", "gauge",
           "Bytes of the embedded KV engine's files in the data directory.");
    Sample(out, "recordstore_kv_disk_bytes", {}, static_cast<double>(*snapshot.kv_disk_bytes));
  }
  Header(out, "recordstore_kv_commit_batch_transactions", "histogram",
         "Transactions the embedded engine's group commit wrote (and synced) in one storage "
         "write.");
  HistogramSamples(out, "recordstore_kv_commit_batch_transactions", {}, kCommitBatchBuckets,
                   commit_batches.buckets, commit_batches.count, commit_batches.sum);
  return out;
}

}  // namespace recordstore::server
