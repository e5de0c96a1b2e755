// End to end on etcd: the real `recordstore serve --kv etcd://...` as a child process on a
// 3-member etcd cluster (EtcdCluster), driven by the real `recordstore` client binary. A whole
// session (tenant, space, schema, puts, gets, paged queries, an online index build), the loss
// of the etcd leader while the server runs, and a restart of the server on the same prefix
// that finds everything again.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_test_util.h"
#include "kv/etcd/etcd_client.h"
#include "kv/etcd/etcd_cluster.h"

namespace recordstore::cli {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

const char kShop[] = RS_SOURCE_DIR "/src/metadata/testdata/shop";
const char kShopSchema[] = RS_SOURCE_DIR "/examples/shop/schema.json";
const char kSpace[] = " --tenant acme --space shop";

// The order_id of every JSON line of `query --format=json` output, in order.
std::string OrderIds(const std::string& json_lines) {
  std::istringstream lines(json_lines);
  std::string line;
  std::string ids;
  const std::string field = "{\"order_id\":\"";
  while (std::getline(lines, line)) {
    if (line.rfind(field, 0) != 0) return "unexpected line: " + line;
    if (!ids.empty()) ids += ",";
    ids += line.substr(field.size(), line.find('"', field.size()) - field.size());
  }
  return ids;
}

std::string IdsFrom(int first, int step, int last) {
  std::string ids;
  for (int id = first; id <= last; id += step) {
    if (!ids.empty()) ids += ",";
    ids += std::to_string(id);
  }
  return ids;
}

class ServeOnEtcdTest : public ::testing::Test {
 protected:
  // A fresh scratch directory per test (the fixture is built once per test).
  static fs::path ScratchDir() {
    fs::path dir = fs::path(::testing::TempDir()) /
                   ("serve_etcd_test_" + std::to_string(::getpid()) + "_" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
  }
  void TearDown() override {
    server_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  CliResult Run(const std::string& args, const std::string& input = "") {
    return cli_.Run(args, input);
  }

  // Starts `recordstore serve` on `kv_url` (free ports; the data dir holds nothing on etcd but
  // is where the server may keep local files), logging to <dir>/<log_name>.
  void StartServer(const std::string& kv_url, const std::string& log_name) {
    WriteFileOrDie(dir_ / "config.json",
                   // Spaces above 50 records build new indexes online, so the test needs few.
                   R"({"limits": {"inline_index_build_limit": 50, "shutdown_grace_ms": 5000}})");
    auto started = ServerProcess::Start(
        RS_RECORDSTORE_BINARY,
        {"--kv", kv_url, "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--data-dir",
         (dir_ / "data").string(), "--config", (dir_ / "config.json").string()},
        dir_ / log_name, seconds(30));
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
    cli_.set_server(server_->address());
    // The first start wrote an admin token beside the root key in the data dir; later starts
    // (same data dir) verify with the same key.
    std::string token = ReadFileOrEmpty(dir_ / "data" / "admin.token");
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
      token.pop_back();
    }
    ASSERT_FALSE(token.empty()) << server_->Log();
    cli_.set_token(token);
  }

  const fs::path dir_ = ScratchDir();
  CliRunner cli_{RS_RECORDSTORE_BINARY, dir_};
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ServeOnEtcdTest, SessionSurvivesLeaderLossAndRestart) {
  auto cluster = kv::etcd::EtcdCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  const std::string url = (*cluster)->Url("e2e");
  ASSERT_NO_FATAL_FAILURE(StartServer(url, "server1.log"));
  // The records live in etcd; the master key that seals them is a file of the data dir.
  EXPECT_NE(server_->Log().find("recordstore: data in " + url +
                                ", encrypted at rest with master key "),
            std::string::npos)
      << server_->Log();
  EXPECT_TRUE(fs::exists(dir_ / "data" / "master.key"));

  // The README's flow.
  EXPECT_EQ(Run("tenant create acme").out, "tenant acme created\n");
  EXPECT_EQ(Run("space create shop --tenant acme").out, "space shop created\n");
  const std::string shop_files =
      std::string(kShop) + "/shop.proto " + kShop + "/common.proto --indexes ";
  CliResult applied = Run("schema apply " + shop_files + kShopSchema + kSpace);
  ASSERT_EQ(applied.code, 0) << applied.err;
  EXPECT_EQ(applied.out,
            "schema version 1 applied\n"
            "changed indexes: order_by_customer, order_by_total, customer_by_city\n");

  CliResult put =
      Run(std::string("put --type Order --batch-size 100") + kSpace, OrderLines(1, 300));
  ASSERT_EQ(put.code, 0) << put.err;
  EXPECT_EQ(put.out, "put 300 records (0 replaced)\n");
  CliResult got = Run(std::string("get --type Order 1 4") + kSpace);
  EXPECT_EQ(got.code, 0) << got.err;
  EXPECT_EQ(got.out,
            "order_id  customer_id  shipping       total\n"
            "1         1            {\"city\":\"c1\"}  10\n"
            "4         1            {\"city\":\"c0\"}  40\n");
  CliResult missing = Run(std::string("get --type Order 301") + kSpace);
  EXPECT_EQ(missing.code, 3);
  EXPECT_EQ(missing.err, "recordstore: no Order with key 301\n");

  // customer_id = 1: orders 1, 4, ..., 298 through order_by_customer, in pages of 40.
  CliResult paged =
      Run(std::string("query 'SELECT * FROM Order WHERE customer_id = 1' --page-size 40 --stats "
                      "--format=json") +
          kSpace);
  ASSERT_EQ(paged.code, 0) << paged.err;
  EXPECT_EQ(OrderIds(paged.out), IdsFrom(1, 3, 298));
  EXPECT_EQ(paged.err,
            "page 1: 40 records, RETURN_LIMIT_REACHED\n"
            "page 2: 40 records, RETURN_LIMIT_REACHED\n"
            "page 3: 20 records, SOURCE_EXHAUSTED\n");

  // A schema change adding an index on the shipping city: 300 records are more than the
  // inline limit, so it builds online, in batches of etcd transactions.
  std::string definition = ReadFileOrEmpty(kShopSchema);
  const size_t indexes = definition.find("\"indexes\": [");
  ASSERT_NE(indexes, std::string::npos);
  definition.insert(indexes + 12,
                    "{\"name\": \"order_by_city\", \"fields\": [\"shipping.city\"], "
                    "\"record_types\": [\"Order\"]},\n");
  WriteFileOrDie(dir_ / "evolved.json", definition);
  CliResult evolved = Run("schema apply " + shop_files + (dir_ / "evolved.json").string() + kSpace);
  ASSERT_EQ(evolved.code, 0) << evolved.err;
  EXPECT_EQ(evolved.out,
            "schema version 2 applied\n"
            "changed indexes: order_by_city\n"
            "building online: order_by_city\n");
  CliResult waited = Run(std::string("index status --wait --interval 0.05 --timeout 30") + kSpace);
  ASSERT_EQ(waited.code, 0) << waited.err;
  EXPECT_NE(waited.out.find("order_by_city      readable  -\n"), std::string::npos) << waited.out;
  const std::string by_city = "\"SELECT * FROM Order WHERE shipping.city = 'c0'\"";
  EXPECT_EQ(Run("explain " + by_city + kSpace).out.rfind("IndexScan order_by_city", 0), 0u);
  EXPECT_EQ(OrderIds(Run("query " + by_city + " --format=json" + kSpace).out), IdsFrom(2, 2, 300));

  // kill -9 of the etcd leader: the server's next requests wait out the election (the client
  // fails over to the other members) and succeed.
  auto leader = (*cluster)->Leader();
  ASSERT_TRUE(leader.ok()) << leader.status();
  (*cluster)->Kill(*leader);
  const auto killed = std::chrono::steady_clock::now();
  CliResult after_kill =
      Run(std::string("put --type Order --deadline 20") + kSpace, OrderLines(301, 310));
  ASSERT_EQ(after_kill.code, 0) << after_kill.err;
  EXPECT_EQ(after_kill.out, "put 10 records (0 replaced)\n");
  const auto recovered_ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - killed).count();
  std::printf("[ etcd ] leader m%d killed; the first put after it took %lld ms\n", *leader,
              static_cast<long long>(recovered_ms));
  EXPECT_EQ(Run(std::string("get --type Order 305 --format=json") + kSpace).out,
            "{\"order_id\":\"305\",\"customer_id\":\"2\",\"shipping\":{\"city\":\"c1\"},"
            "\"total\":\"3050\"}\n");
  EXPECT_EQ(OrderIds(Run("query " + by_city + " --format=json" + kSpace).out), IdsFrom(2, 2, 310));
  auto new_leader = (*cluster)->Leader();
  ASSERT_TRUE(new_leader.ok()) << new_leader.status();
  EXPECT_NE(*new_leader, *leader);

  // SIGTERM: a graceful stop.
  EXPECT_EQ(server_->Terminate(seconds(20)), 0) << server_->Log();
  EXPECT_NE(server_->Log().find("recordstore: SIGTERM: finishing in-flight requests\n"
                                "recordstore: stopped\n"),
            std::string::npos)
      << server_->Log();

  // The data lives in etcd under the prefix, not in the data directory.
  EXPECT_FALSE(fs::exists(dir_ / "data" / "kv"));
  std::vector<std::string> endpoints;
  std::istringstream listed((*cluster)->Endpoints());
  for (std::string endpoint; std::getline(listed, endpoint, ',');) endpoints.push_back(endpoint);
  kv::etcd::EtcdClient raw(endpoints);
  etcdserverpb::RangeRequest count;
  count.set_key(std::string("e2e") + '\0');
  count.set_range_end(std::string("e2e") + '\1');
  count.set_count_only(true);
  etcdserverpb::RangeResponse counted;
  Status read = raw.Range(count, &counted);
  ASSERT_TRUE(read.ok()) << read;
  EXPECT_GT(counted.count(), 310);

  // A new server process on the same cluster and prefix (one member still down) finds
  // everything: tenants, spaces, both schema versions' indexes, every record.
  ASSERT_NO_FATAL_FAILURE(StartServer(url, "server2.log"));
  EXPECT_EQ(Run("tenant list").out, "acme\n");
  EXPECT_EQ(Run("space list --tenant acme").out, "shop\n");
  EXPECT_EQ(Run(std::string("index status") + kSpace).out,
            "INDEX              STATE     PROGRESS\n"
            "order_by_city      readable  -\n"
            "order_by_customer  readable  -\n"
            "order_by_total     readable  -\n"
            "customer_by_city   readable  -\n");
  CliResult all =
      Run(std::string("query 'SELECT * FROM Order ORDER BY total' --page-size 100 --format=json") +
          kSpace);
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_EQ(OrderIds(all.out), IdsFrom(1, 1, 310));
  EXPECT_EQ(OrderIds(Run("query " + by_city + " --format=json" + kSpace).out), IdsFrom(2, 2, 310));
  EXPECT_EQ(Run(std::string("get --type Order 1 310") + kSpace).out,
            "order_id  customer_id  shipping       total\n"
            "1         1            {\"city\":\"c1\"}  10\n"
            "310       1            {\"city\":\"c0\"}  3100\n");
  EXPECT_EQ(server_->Terminate(seconds(20)), 0) << server_->Log();
}

// Servers keep no state of their own on etcd: two processes on one prefix serve one database,
// and a schema change made through one is what the other uses at its next request.
TEST_F(ServeOnEtcdTest, TwoServersShareOnePrefix) {
  auto cluster = kv::etcd::EtcdCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  const std::string url = (*cluster)->Url("shared");
  ASSERT_NO_FATAL_FAILURE(StartServer(url, "first.log"));
  std::unique_ptr<ServerProcess> first = std::move(server_);
  ASSERT_NO_FATAL_FAILURE(StartServer(url, "second.log"));
  std::unique_ptr<ServerProcess> second = std::move(server_);
  ASSERT_NE(first->address(), second->address());

  cli_.set_server(first->address());
  ASSERT_EQ(Run("tenant create acme").code, 0);
  ASSERT_EQ(Run("space create shop --tenant acme").code, 0);
  const std::string shop_files =
      std::string(kShop) + "/shop.proto " + kShop + "/common.proto --indexes ";
  ASSERT_EQ(Run("schema apply " + shop_files + kShopSchema + kSpace).code, 0);
  ASSERT_EQ(Run(std::string("put --type Order") + kSpace, OrderLines(1, 20)).code, 0);

  cli_.set_server(second->address());
  EXPECT_EQ(Run("space list --tenant acme").out, "shop\n");
  EXPECT_EQ(OrderIds(Run(std::string("query 'SELECT * FROM Order WHERE total > 150' "
                                     "--format=json") +
                         kSpace)
                         .out),
            IdsFrom(16, 1, 20));
  // Version 2 through the second server: an index on the shipping city (20 records: built in
  // the schema change's own transaction).
  std::string definition = ReadFileOrEmpty(kShopSchema);
  definition.insert(definition.find("\"indexes\": [") + 12,
                    "{\"name\": \"order_by_city\", \"fields\": [\"shipping.city\"], "
                    "\"record_types\": [\"Order\"]},\n");
  WriteFileOrDie(dir_ / "evolved.json", definition);
  CliResult evolved = Run("schema apply " + shop_files + (dir_ / "evolved.json").string() + kSpace);
  EXPECT_EQ(evolved.out, "schema version 2 applied\nchanged indexes: order_by_city\n")
      << evolved.err;
  ASSERT_EQ(Run(std::string("put --type Order") + kSpace, OrderLines(21, 22)).code, 0);

  // The first server plans with version 2 and sees the second server's records.
  cli_.set_server(first->address());
  const std::string by_city = "\"SELECT * FROM Order WHERE shipping.city = 'c1'\"";
  EXPECT_EQ(Run("explain " + by_city + kSpace).out.rfind("IndexScan order_by_city", 0), 0u);
  EXPECT_EQ(OrderIds(Run("query " + by_city + " --format=json" + kSpace).out), IdsFrom(1, 2, 21));

  EXPECT_EQ(first->Terminate(seconds(20)), 0) << first->Log();
  EXPECT_EQ(second->Terminate(seconds(20)), 0) << second->Log();
}

TEST_F(ServeOnEtcdTest, MalformedEtcdUrlIsRefusedAtStart) {
  CliResult bad = Run("serve --kv etcd://localhost/x --listen 127.0.0.1:0 --http-listen ''");
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.out, "");
  EXPECT_EQ(bad.err,
            "recordstore serve: connection_string_invalid (2104): etcd endpoints are host:port, "
            "comma separated: 'etcd://localhost/x'\n");
}

// Nothing listens on port 1: the server retries for its connect budget (10 s), then says
// which endpoint failed and exits 1 without listening.
TEST_F(ServeOnEtcdTest, UnreachableEtcdIsReportedAtStart) {
  CliResult down = Run("serve --kv etcd://127.0.0.1:1/x --listen 127.0.0.1:0 --http-listen ''");
  EXPECT_EQ(down.code, 1);
  EXPECT_EQ(down.out, "");
  EXPECT_EQ(down.err.rfind("recordstore serve: io_error (1510): etcd unreachable: range: ", 0), 0u)
      << down.err;
  EXPECT_NE(down.err.find("127.0.0.1:1"), std::string::npos) << down.err;
}

}  // namespace
}  // namespace recordstore::cli
