#include "server/metrics.h"

#include <gtest/gtest.h>

namespace recordstore::server {
namespace {

TEST(MetricsTest, EmptyRegistryRendersHeadersOnly) {
  Metrics metrics;
  EXPECT_EQ(metrics.Render({}),
            "# HELP recordstore_requests_total Finished gRPC requests by method and status code.\n"
            "# TYPE recordstore_requests_total counter\n"
            "# HELP recordstore_request_duration_seconds Time from receiving a gRPC request to "
            "its answer, by method.\n"
            "# TYPE recordstore_request_duration_seconds histogram\n"
            "# HELP recordstore_transaction_retries_total Transactions retried (conflicts, too "
            "old) by method and error.\n"
            "# TYPE recordstore_transaction_retries_total counter\n"
            "# HELP recordstore_auth_failures_total Requests refused by authentication or "
            "authorization, by reason.\n"
            "# TYPE recordstore_auth_failures_total counter\n"
            "# HELP recordstore_index_build_records_scanned Records scanned by the latest online "
            "build of an index in this process.\n"
            "# TYPE recordstore_index_build_records_scanned gauge\n"
            "# HELP recordstore_index_build_records_estimated_total Records the build expects to "
            "scan (-1 until counted).\n"
            "# TYPE recordstore_index_build_records_estimated_total gauge\n"
            "# HELP recordstore_reencrypted_records_total Records this process re-encrypted to "
            "their tenant's current data key after a key rotation.\n"
            "# TYPE recordstore_reencrypted_records_total counter\n"
            "recordstore_reencrypted_records_total 0\n"
            "# HELP recordstore_reencryptions_running Tenants whose records this process is "
            "re-encrypting now.\n"
            "# TYPE recordstore_reencryptions_running gauge\n"
            "recordstore_reencryptions_running 0\n"
            "# HELP recordstore_kv_commit_batch_transactions Transactions the embedded engine's "
            "group commit wrote (and synced) in one storage write.\n"
            "# TYPE recordstore_kv_commit_batch_transactions histogram\n"
            "recordstore_kv_commit_batch_transactions_bucket{le=\"1\"} 0\n"
            "recordstore_kv_commit_batch_transactions_bucket{le=\"2\"} 0\n"
            "recordstore_kv_commit_batch_transactions_bucket{le=\"4\"} 0\n"
            "recordstore_kv_commit_batch_transactions_bucket{le=\"8\"} 0\n"
            "recordstore_kv_commit_batch_transactions_bucket{le=\"16\"} 0\n"
            "recordstore_kv_commit_batch_transactions_bucket{le=\"32\"} 0\n"
            "recordstore_kv_commit_batch_transactions_bucket{le=\"64\"} 0\n"
            "recordstore_kv_commit_batch_transactions_bucket{le=\"128\"} 0\n"
            "recordstore_kv_commit_batch_transactions_bucket{le=\"256\"} 0\n"
            "recordstore_kv_commit_batch_transactions_bucket{le=\"1024\"} 0\n"
            "recordstore_kv_commit_batch_transactions_bucket{le=\"+Inf\"} 0\n"
            "recordstore_kv_commit_batch_transactions_sum 0\n"
            "recordstore_kv_commit_batch_transactions_count 0\n");
}

TEST(MetricsTest, RendersCountersHistogramsAndGaugesExactly) {
  Metrics metrics;
  // 2^-12 s falls in the 0.00025 bucket, 2 s in the 5 s bucket, 10 s only in +Inf.
  metrics.OnRequest("Records.Put", grpc::StatusCode::OK, 0.000244140625);
  metrics.OnRequest("Records.Put", grpc::StatusCode::INVALID_ARGUMENT, 2.0);
  metrics.OnRequest("Admin.CreateTenant", grpc::StatusCode::OK, 10);
  metrics.OnRetry("Records.Put", MakeError(ErrorCode::kNotCommitted));
  metrics.OnRetry("Records.Put", MakeError(ErrorCode::kNotCommitted));
  metrics.OnRetry("Records.Put", absl::AbortedError("not ours"));
  metrics.OnAuthFailure("revoked");
  metrics.OnAuthFailure("missing");
  metrics.OnAuthFailure("missing");
  MetricsSnapshot snapshot;
  snapshot.index_builds.push_back({"t/b", "by_total", 500, 1000});
  snapshot.index_builds.push_back({"t/a", "by_\"odd\"\\name\n", 7, -1});
  snapshot.records_reencrypted = 4200;
  snapshot.reencryptions_running = 2;
  snapshot.kv_disk_bytes = 123456789;

  const std::string expected =
      "# HELP recordstore_requests_total Finished gRPC requests by method and status code.\n"
      "# TYPE recordstore_requests_total counter\n"
      "recordstore_requests_total{method=\"Admin.CreateTenant\",code=\"OK\"} 1\n"
      "recordstore_requests_total{method=\"Records.Put\",code=\"INVALID_ARGUMENT\"} 1\n"
      "recordstore_requests_total{method=\"Records.Put\",code=\"OK\"} 1\n"
      "# HELP recordstore_request_duration_seconds Time from receiving a gRPC request to its "
      "answer, by method.\n"
      "# TYPE recordstore_request_duration_seconds histogram\n"
      "recordstore_request_duration_seconds_bucket{method=\"Admin.CreateTenant\",le=\"0.0001\"} 0\n"
      "recordstore_request_duration_seconds_bucket{method=\"Admin.CreateTenant\",le=\"0.00025\"} "
      "0\n"
      "recordstore_request_duration_seconds_bucket{method=\"Admin.CreateTenant\",le=\"0.0005\"} 0\n"
      "recordstore_request_duration_seconds_bucket{method=\"Admin.CreateTenant\",le=\"0.001\"} 0\n"
      "recordstore_request_duration_seconds_bucket{method=\"Admin.CreateTenant\",le=\"0.0025\"} 0\n"
      "recordstore_request_duration_seconds_bucket{method=\"Admin.CreateTenant\",le=\"0.005\"} 0\n"
      "recordstore_request_duration_seconds_bucket{method=\"Admin.CreateTenant\",le=\"0.01\"} 0\n"
      "recordstore_request_duration_seconds_bucket{method=\"Admin.CreateTenant\",le=\"0.025\"} 0\n"
      "recordstore_request_duration_seconds_bucket{method=\"Admin.CreateTenant\",le=\"0.05\"} 0\n"
      "recordstore_request_duration_seconds_bucket{method=\"Admin.CreateTenant\",le=\"0.1\"} 0\n"
      "recordstore_request_duration_seconds_bucket{method=\"Admin.CreateTenant\",le=\"0.25\"} 0\n"
      "recordstore_request_duration_seconds_bucket{method=\"Admin.CreateTenant\",le=\"0.5\"} 0\n"
      "recordstore_request_duration_seconds_bucket{method=\"Admin.CreateTenant\",le=\"1\"} 0\n"
      "recordstore_request_duration_seconds_bucket{method=\"Admin.CreateTenant\",le=\"5\"} 0\n"
      "recordstore_request_duration_seconds_bucket{method=\"Admin.CreateTenant\",le=\"+Inf\"} 1\n"
      "recordstore_request_duration_seconds_sum{method=\"Admin.CreateTenant\"} 10\n"
      "recordstore_request_duration_seconds_count{method=\"Admin.CreateTenant\"} 1\n"
      "recordstore_request_duration_seconds_bucket{method=\"Records.Put\",le=\"0.0001\"} 0\n"
      "recordstore_request_duration_seconds_bucket{method=\"Records.Put\",le=\"0.00025\"} 1\n"
      "recordstore_request_duration_seconds_bucket{method=\"Records.Put\",le=\"0.0005\"} 1\n"
      "recordstore_request_duration_seconds_bucket{method=\"Records.Put\",le=\"0.001\"} 1\n"
      "recordstore_request_duration_seconds_bucket{method=\"Records.Put\",le=\"0.0025\"} 1\n"
      "recordstore_request_duration_seconds_bucket{method=\"Records.Put\",le=\"0.005\"} 1\n"
      "recordstore_request_duration_seconds_bucket{method=\"Records.Put\",le=\"0.01\"} 1\n"
      "recordstore_request_duration_seconds_bucket{method=\"Records.Put\",le=\"0.025\"} 1\n"
      "recordstore_request_duration_seconds_bucket{method=\"Records.Put\",le=\"0.05\"} 1\n"
      "recordstore_request_duration_seconds_bucket{method=\"Records.Put\",le=\"0.1\"} 1\n"
      "recordstore_request_duration_seconds_bucket{method=\"Records.Put\",le=\"0.25\"} 1\n"
      "recordstore_request_duration_seconds_bucket{method=\"Records.Put\",le=\"0.5\"} 1\n"
      "recordstore_request_duration_seconds_bucket{method=\"Records.Put\",le=\"1\"} 1\n"
      "recordstore_request_duration_seconds_bucket{method=\"Records.Put\",le=\"5\"} 2\n"
      "recordstore_request_duration_seconds_bucket{method=\"Records.Put\",le=\"+Inf\"} 2\n"
      "recordstore_request_duration_seconds_sum{method=\"Records.Put\"} 2.000244140625\n"
      "recordstore_request_duration_seconds_count{method=\"Records.Put\"} 2\n"
      "# HELP recordstore_transaction_retries_total Transactions retried (conflicts, too old) "
      "by method and error.\n"
      "# TYPE recordstore_transaction_retries_total counter\n"
      "recordstore_transaction_retries_total{method=\"Records.Put\",error=\"not_committed\"} 2\n"
      "recordstore_transaction_retries_total{method=\"Records.Put\",error=\"unknown_error\"} 1\n"
      "# HELP recordstore_auth_failures_total Requests refused by authentication or "
      "authorization, by reason.\n"
      "# TYPE recordstore_auth_failures_total counter\n"
      "recordstore_auth_failures_total{reason=\"missing\"} 2\n"
      "recordstore_auth_failures_total{reason=\"revoked\"} 1\n"
      "# HELP recordstore_index_build_records_scanned Records scanned by the latest online "
      "build of an index in this process.\n"
      "# TYPE recordstore_index_build_records_scanned gauge\n"
      "recordstore_index_build_records_scanned{space=\"t/a\",index=\"by_\\\"odd\\\"\\\\name\\n\"} "
      "7\n"
      "recordstore_index_build_records_scanned{space=\"t/b\",index=\"by_total\"} 500\n"
      "# HELP recordstore_index_build_records_estimated_total Records the build expects to "
      "scan (-1 until counted).\n"
      "# TYPE recordstore_index_build_records_estimated_total gauge\n"
      "recordstore_index_build_records_estimated_total{space=\"t/"
      "a\",index=\"by_\\\"odd\\\"\\\\name\\n\"} -1\n"
      "recordstore_index_build_records_estimated_total{space=\"t/b\",index=\"by_total\"} 1000\n"
      "# HELP recordstore_reencrypted_records_total Records this process re-encrypted to "
      "their tenant's current data key after a key rotation.\n"
      "# TYPE recordstore_reencrypted_records_total counter\n"
      "recordstore_reencrypted_records_total 4200\n"
      "# HELP recordstore_reencryptions_running Tenants whose records this process is "
      "re-encrypting now.\n"
      "# TYPE recordstore_reencryptions_running gauge\n"
      "recordstore_reencryptions_running 2\n"
      "# HELP recordstore_kv_disk_bytes Bytes of the embedded KV engine's files in the data "
      "directory.\n"
      "# TYPE recordstore_kv_disk_bytes gauge\n"
      "recordstore_kv_disk_bytes 123456789\n"
      "# HELP recordstore_kv_commit_batch_transactions Transactions the embedded engine's group "
      "commit wrote (and synced) in one storage write.\n"
      "# TYPE recordstore_kv_commit_batch_transactions histogram\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"1\"} 0\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"2\"} 0\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"4\"} 0\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"8\"} 0\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"16\"} 0\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"32\"} 0\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"64\"} 0\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"128\"} 0\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"256\"} 0\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"1024\"} 0\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"+Inf\"} 0\n"
      "recordstore_kv_commit_batch_transactions_sum 0\n"
      "recordstore_kv_commit_batch_transactions_count 0\n";
  EXPECT_EQ(metrics.Render(snapshot), expected);
}

TEST(MetricsTest, CommitBatchSizesFallInTheirBuckets) {
  Metrics metrics;
  // 1 and 2 sit on bounds (inclusive), 3 in the 4 bucket, 1000 in 1024, 4096 only in +Inf.
  for (int transactions : {1, 1, 2, 3, 1000, 4096}) metrics.OnCommitBatch(transactions);
  const std::string text = metrics.Render({});
  const std::string expected =
      "# TYPE recordstore_kv_commit_batch_transactions histogram\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"1\"} 2\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"2\"} 3\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"4\"} 4\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"8\"} 4\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"16\"} 4\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"32\"} 4\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"64\"} 4\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"128\"} 4\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"256\"} 4\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"1024\"} 5\n"
      "recordstore_kv_commit_batch_transactions_bucket{le=\"+Inf\"} 6\n"
      "recordstore_kv_commit_batch_transactions_sum 5103\n"
      "recordstore_kv_commit_batch_transactions_count 6\n";
  ASSERT_GE(text.size(), expected.size());
  EXPECT_EQ(text.substr(text.size() - expected.size()), expected);
}

TEST(MetricsTest, BucketBoundsAreInclusive) {
  Metrics metrics;
  metrics.OnRequest("Query.Execute", grpc::StatusCode::OK, 0.001);
  const std::string text = metrics.Render({});
  EXPECT_NE(text.find("{method=\"Query.Execute\",le=\"0.0005\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("{method=\"Query.Execute\",le=\"0.001\"} 1\n"), std::string::npos);
}

TEST(MetricsTest, FormatsValuesAsPrometheusReadsThem) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(1e20), "100000000000000000000");
  EXPECT_EQ(FormatMetricValue(1e21), "1e+21");
  EXPECT_EQ(FormatMetricValue(0.0001), "0.0001");
  EXPECT_EQ(FormatMetricValue(0.00001), "1e-05");
  EXPECT_EQ(FormatMetricValue(10), "10");
  EXPECT_EQ(FormatMetricValue(0.1), "0.1");
  EXPECT_EQ(FormatMetricValue(-3), "-3");
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatMetricValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

TEST(MetricsTest, ConcurrentObserversLoseNoCounts) {
  Metrics metrics;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) metrics.OnRequest("Records.Get", grpc::StatusCode::OK, 0);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_NE(metrics.Render({}).find(
                "recordstore_requests_total{method=\"Records.Get\",code=\"OK\"} 4000\n"),
            std::string::npos);
}

}  // namespace
}  // namespace recordstore::server
