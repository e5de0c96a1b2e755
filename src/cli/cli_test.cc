// The real `recordstore` binary against a server started in this process (memory:// KV):
// a whole session from tenant creation to index builds, with exact outputs, stderr and exit
// codes, so scripts written against the CLI keep working.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>

#include "auth/access.h"
#include "cli/cli_test_util.h"
#include "cli/cli_util.h"
#include "nlohmann/json.hpp"
#include "server/server.h"

namespace recordstore::cli {
namespace {

namespace fs = std::filesystem;

using Result = CliResult;

// No HTTP listener: its fixed default port would collide between tests run in parallel.
template <typename Options>
void DisableHttp(Options& options) {
  if constexpr (requires { options.http_listen; }) options.http_listen = "";
}

const char kShop[] = RS_SOURCE_DIR "/src/metadata/testdata/shop";
const char kShopSchema[] = RS_SOURCE_DIR "/examples/shop/schema.json";

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.kv_url = "memory://";
    DisableHttp(options);
    auto started = server::Server::Start(options);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
    token_ = server_->AdminToken();
    dir_ = fs::path(::testing::TempDir()) /
           ("cli_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
    fs::remove_all(dir_);
  }

  // Runs `recordstore <args>` (shell words) with `input` on stdin against the server, with
  // `token` (by default the server's admin token) in RECORDSTORE_TOKEN (CliRunner::Run).
  Result Run(const std::string& args, const std::string& input = "",
             const std::string* token = nullptr) {
    CliRunner cli(RS_RECORDSTORE_BINARY, dir_);
    cli.set_server("127.0.0.1:" + std::to_string(server_->grpc_port()));
    cli.set_token(token_);
    return cli.Run(args, input, token);
  }

  // A tenant "acme" with a record space "shop" holding the shop schema.
  void CreateShop() {
    ASSERT_EQ(Run("tenant create acme").code, 0);
    ASSERT_EQ(Run("space create shop --tenant acme").code, 0);
    Result applied = Run(std::string("schema apply ") + kShop + "/shop.proto " + kShop +
                         "/common.proto --indexes " + kShopSchema + " --tenant acme --space shop");
    ASSERT_EQ(applied.code, 0) << applied.err;
  }

  std::unique_ptr<server::Server> server_;
  std::string token_;
  fs::path dir_;
};

TEST_F(CliTest, TenantsAndSpaces) {
  EXPECT_EQ(Run("tenant list").out, "");
  Result created = Run("tenant create acme");
  EXPECT_EQ(created.code, 0);
  EXPECT_EQ(created.out, "tenant acme created\n");
  EXPECT_EQ(Run("tenant create beta --format=json").out,
            "{\"tenant\":\"beta\",\"created\":true}\n");
  EXPECT_EQ(Run("tenant list").out, "acme\nbeta\n");
  EXPECT_EQ(Run("tenant list --format json").out, "{\"tenant\":\"acme\"}\n{\"tenant\":\"beta\"}\n");

  Result again = Run("tenant create acme");
  EXPECT_EQ(again.code, 2);
  EXPECT_EQ(again.out, "");
  EXPECT_EQ(again.err,
            "recordstore: ALREADY_EXISTS: already_exists (8003): tenant acme already exists\n");

  EXPECT_EQ(Run("space create shop --tenant acme").out, "space shop created\n");
  // Global flags go before or after the subcommand, or come from the environment.
  EXPECT_EQ(Run("--tenant acme space create eu").code, 0);
  EXPECT_EQ(Run("space list --tenant acme").out, "eu\nshop\n");
  EXPECT_EQ(Run("space list --tenant beta").out, "");
  EXPECT_EQ(Run("space delete eu --tenant acme").out, "space eu deleted\n");
  Result missing = Run("space delete eu --tenant acme");
  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(missing.err, "recordstore: NOT_FOUND: not_found (8002): no record space acme/eu\n");

  Result no_tenant = Run("space list");
  EXPECT_EQ(no_tenant.code, 1);
  EXPECT_EQ(no_tenant.err, "recordstore: no tenant: pass --tenant or set RECORDSTORE_TENANT\n");

  EXPECT_EQ(Run("tenant delete beta").out, "tenant beta deleted\n");
  EXPECT_EQ(Run("tenant list").out, "acme\n");
}

TEST_F(CliTest, EnvironmentVariablesNameServerTenantAndSpace) {
  ASSERT_EQ(Run("tenant create acme").code, 0);
  WriteFileOrDie(dir_ / "env.sh", std::string("RECORDSTORE_TENANT=acme exec ") +
                                      RS_RECORDSTORE_BINARY + " space create fromenv\n");
  std::string command = "RECORDSTORE_SERVER=127.0.0.1:" + std::to_string(server_->grpc_port()) +
                        " RECORDSTORE_TOKEN=" + token_ + " sh " + (dir_ / "env.sh").string() +
                        " >/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  EXPECT_EQ(Run("space list --tenant acme").out, "fromenv\n");
}

TEST_F(CliTest, SchemaApplyShowAndDryRun) {
  ASSERT_EQ(Run("tenant create acme").code, 0);
  ASSERT_EQ(Run("space create shop --tenant acme").code, 0);
  const std::string files =
      std::string(kShop) + "/shop.proto " + kShop + "/common.proto --indexes " + kShopSchema;
  EXPECT_EQ(Run("schema show --tenant acme --space shop").out, "no schema yet (version 0)\n");

  Result dry = Run("schema apply " + files + " --dry-run --tenant acme --space shop");
  ASSERT_EQ(dry.code, 0) << dry.err;
  EXPECT_EQ(dry.out,
            "schema version 1 is valid (dry run: nothing stored)\n"
            "changed indexes: order_by_customer, order_by_total, customer_by_city\n");
  EXPECT_EQ(Run("schema show --tenant acme --space shop").out, "no schema yet (version 0)\n");

  Result applied = Run("schema apply " + files + " --tenant acme --space shop");
  ASSERT_EQ(applied.code, 0) << applied.err;
  EXPECT_EQ(applied.out,
            "schema version 1 applied\n"
            "changed indexes: order_by_customer, order_by_total, customer_by_city\n");
  // The same schema again changes nothing.
  EXPECT_EQ(Run("schema apply " + files + " --tenant acme --space shop").out,
            "schema version 1 applied\n");

  Result shown = Run("schema show --tenant acme --space shop");
  EXPECT_EQ(shown.out,
            "version: 1\n"
            "union: RecordTypeUnion\n"
            "proto files: shop.proto, shop/common.proto\n"
            "\n"
            "RECORD TYPE  PRIMARY KEY\n"
            "Customer     customer_id\n"
            "Order        order_id\n"
            "Product      sku\n"
            "\n"
            "INDEX              TYPE   RECORD TYPES  FIELDS                 UNIQUE  STATE\n"
            "order_by_customer  value  Order         customer_id, total     no      readable\n"
            "order_by_total     value  Order         total                  no      readable\n"
            "customer_by_city   value  Customer      address.city (+ name)  no      readable\n");

  // --format=json: its "spec" is a schema definition file again.
  Result json = Run("schema show --format=json --tenant acme --space shop");
  ASSERT_EQ(json.code, 0);
  WriteFileOrDie(dir_ / "spec.json", json.out);
  std::string extract =
      "/usr/bin/python3 -c 'import json,sys; "
      "print(json.dumps(json.load(open(sys.argv[1]))[\"spec\"]))' " +
      (dir_ / "spec.json").string() + " > " + (dir_ / "again.json").string();
  if (std::system(extract.c_str()) == 0) {
    Result round_trip = Run(std::string("schema apply ") + kShop + "/shop.proto " + kShop +
                            "/common.proto --indexes " + (dir_ / "again.json").string() +
                            " --dry-run --tenant acme --space shop");
    EXPECT_EQ(round_trip.out, "schema version 1 is valid (dry run: nothing stored)\n")
        << round_trip.err;
  }

  // An evolution that removes a field is refused, and nothing changes.
  WriteFileOrDie(dir_ / "bad.json",
                 R"({"record_types": [{"name": "Order", "primary_key": ["total"]},
      {"name": "Customer", "primary_key": ["customer_id"]},
      {"name": "Product", "primary_key": ["sku"]}]})");
  Result bad = Run(std::string("schema apply ") + kShop + "/shop.proto " + kShop +
                   "/common.proto --indexes " + (dir_ / "bad.json").string() +
                   " --tenant acme --space shop");
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(bad.err.rfind("recordstore: INVALID_ARGUMENT: ", 0), 0u) << bad.err;
  EXPECT_NE(bad.err.find("primary key"), std::string::npos) << bad.err;

  // A typo in the definition file is the user's error (exit 1), found before any call.
  WriteFileOrDie(dir_ / "typo.json", R"({"indexs": []})");
  Result typo = Run(std::string("schema apply ") + kShop + "/shop.proto --indexes " +
                    (dir_ / "typo.json").string() + " --tenant acme --space shop");
  EXPECT_EQ(typo.code, 1);
  EXPECT_EQ(typo.err,
            "recordstore: the schema definition has an unknown key \"indexs\" (known: indexes, "
            "record_types, union)\n");
  // A .proto that does not compile: the server says where.
  WriteFileOrDie(dir_ / "broken.proto", "syntax = \"proto3\";\nmessage Order { int64 id = 1 }\n");
  Result broken = Run("schema apply " + (dir_ / "broken.proto").string() + " --indexes " +
                      kShopSchema + " --tenant acme --space shop");
  EXPECT_EQ(broken.code, 2);
  EXPECT_EQ(broken.err.rfind("recordstore: INVALID_ARGUMENT: ", 0), 0u) << broken.err;
}

TEST_F(CliTest, PutGetDelete) {
  CreateShop();
  const std::string space = " --tenant acme --space shop";
  Result put = Run("put --type Order" + space, OrderLines(1, 5));
  ASSERT_EQ(put.code, 0) << put.err;
  EXPECT_EQ(put.out, "put 5 records (0 replaced)\n");

  // A JSON array from a file, in batches of 2 (three PutBatch calls), replacing two.
  WriteFileOrDie(dir_ / "more.json", R"([{"order_id": 4, "customer_id": 1, "total": 41},
                                  {"order_id": 5, "customer_id": 2, "total": 51},
                                  {"order_id": 6, "customer_id": 0, "total": 60},
                                  {"order_id": 7, "customer_id": 1, "total": 70},
                                  {"order_id": 8, "customer_id": 2, "total": 80}])");
  Result batches =
      Run("put " + (dir_ / "more.json").string() + " --type Order --batch-size 2" + space);
  EXPECT_EQ(batches.out, "put 5 records (2 replaced)\n") << batches.err;

  Result json = Run("put --type Customer --format=json" + space,
                    R"({"customer_id": 9, "name": "Ann", "address": {"city": "Oslo"}})");
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_EQ(json.out.rfind("{\"primary_key\":[9],\"replaced\":false,\"version\":\"", 0), 0u)
      << json.out;

  Result got = Run("get --type Order 1 4" + space);
  EXPECT_EQ(got.code, 0) << got.err;
  EXPECT_EQ(got.out,
            "order_id  customer_id  shipping       total\n"
            "1         1            {\"city\":\"c1\"}  10\n"
            "4         1                           41\n");
  EXPECT_EQ(Run("get --type Customer 9 --format=json" + space).out,
            "{\"customer_id\":\"9\",\"name\":\"Ann\",\"address\":{\"city\":\"Oslo\"}}\n");

  Result missing = Run("get --type Order 2 99 98" + space);
  EXPECT_EQ(missing.code, 3);
  EXPECT_EQ(missing.out,
            "order_id  customer_id  shipping       total\n"
            "2         2            {\"city\":\"c0\"}  20\n");
  EXPECT_EQ(missing.err, "recordstore: no Order with key 99, 98\n");

  // Insert mode refuses a taken key; update mode an absent one; the batch stores nothing.
  Result insert =
      Run("put --type Order --mode insert" + space, "{\"order_id\": 100}\n{\"order_id\": 3}\n");
  EXPECT_EQ(insert.code, 2);
  EXPECT_EQ(insert.err.rfind("recordstore: ALREADY_EXISTS: record 1: ", 0), 0u) << insert.err;
  EXPECT_EQ(Run("get --type Order 100" + space).code, 3);
  Result update = Run("put --type Order --mode update" + space, "{\"order_id\": 100}");
  EXPECT_EQ(update.code, 2);
  EXPECT_EQ(update.err.rfind("recordstore: NOT_FOUND: ", 0), 0u) << update.err;

  // Records that are not the type's JSON, and input that is not JSON.
  Result wrong = Run("put --type Order" + space, "{\"no_such_field\": 1}");
  EXPECT_EQ(wrong.code, 2);
  EXPECT_EQ(wrong.err.rfind("recordstore: INVALID_ARGUMENT: ", 0), 0u) << wrong.err;
  EXPECT_NE(wrong.err.find("Order"), std::string::npos) << wrong.err;
  Result unknown_type = Run("put --type Invoice" + space, "{}");
  EXPECT_EQ(unknown_type.code, 2);
  EXPECT_EQ(unknown_type.err,
            "recordstore: INVALID_ARGUMENT: invalid_argument (8001): no record type \"Invoice\" "
            "in the schema; it has Customer, Order, Product\n");
  Result not_json = Run("put --type Order" + space, "{\"order_id\": 1}\n{oops\n");
  EXPECT_EQ(not_json.code, 1);
  EXPECT_EQ(not_json.err, "recordstore: input line 2 is not a JSON object\n");
  Result empty = Run("put --type Order" + space, "\n");
  EXPECT_EQ(empty.code, 1);
  EXPECT_EQ(empty.err, "recordstore: no records in the input\n");

  // String keys, composite-key syntax.
  ASSERT_EQ(Run("put --type Product" + space, R"({"sku": "42", "title": "a string key"})").code, 0);
  EXPECT_EQ(Run("get --type Product '[\"42\"]' --format=json" + space).out,
            "{\"sku\":\"42\",\"title\":\"a string key\"}\n");
  Result as_int = Run("get --type Product 42" + space);
  EXPECT_EQ(as_int.code, 3) << "42 is an int64 key, not the string \"42\"";

  EXPECT_EQ(Run("delete --type Order 1 2" + space).out, "deleted Order 1\ndeleted Order 2\n");
  Result gone = Run("delete --type Order 1" + space);
  EXPECT_EQ(gone.code, 3);
  EXPECT_EQ(gone.out, "");
  EXPECT_EQ(gone.err, "recordstore: no Order with key 1\n");
  EXPECT_EQ(Run("delete --type Order 3 --format=json" + space).out,
            "{\"record_type\":\"Order\",\"primary_key\":[3],\"deleted\":true}\n");
}

TEST_F(CliTest, QueryFollowsContinuationsAndExplains) {
  CreateShop();
  const std::string space = " --tenant acme --space shop";
  ASSERT_EQ(Run("put --type Order" + space, OrderLines(1, 9)).code, 0);

  // customer_id = 1: orders 1, 4, 7 — pages of 2, so two calls.
  Result paged =
      Run("query 'SELECT * FROM Order WHERE customer_id = 1' --page-size 2 --stats" + space);
  ASSERT_EQ(paged.code, 0) << paged.err;
  EXPECT_EQ(paged.out,
            "order_id  customer_id  shipping       total\n"
            "1         1            {\"city\":\"c1\"}  10\n"
            "4         1            {\"city\":\"c0\"}  40\n"
            "7         1            {\"city\":\"c1\"}  70\n"
            "(3 records)\n");
  EXPECT_EQ(paged.err,
            "page 1: 2 records, RETURN_LIMIT_REACHED\n"
            "page 2: 1 records, SOURCE_EXHAUSTED\n");

  // Every order, in pages of 1 (nine calls: the last one already knows nothing follows), as
  // JSON lines, sorted by an index.
  Result all =
      Run("query 'SELECT * FROM Order ORDER BY total DESC' --page-size 1 --stats "
          "--format=json" +
          space);
  ASSERT_EQ(all.code, 0) << all.err;
  std::istringstream lines(all.out);
  std::string line;
  int count = 0;
  for (int id = 9; std::getline(lines, line); --id, ++count) {
    EXPECT_EQ(line.rfind("{\"order_id\":\"" + std::to_string(id) + "\"", 0), 0u) << line;
  }
  EXPECT_EQ(count, 9);
  EXPECT_EQ(std::count(all.err.begin(), all.err.end(), '\n'), 9) << all.err;

  // LIMIT counts over the whole query, across pages.
  Result limited =
      Run("query 'SELECT * FROM Order WHERE total > 30 ORDER BY total LIMIT 4' "
          "--page-size 3 --format=json" +
          space);
  EXPECT_EQ(std::count(limited.out.begin(), limited.out.end(), '\n'), 4) << limited.out;
  EXPECT_EQ(limited.out.rfind("{\"order_id\":\"4\"", 0), 0u) << limited.out;

  EXPECT_EQ(Run("query 'SELECT * FROM Order WHERE customer_id = 77'" + space).out, "(0 records)\n");

  Result plan = Run("explain 'SELECT * FROM Order WHERE customer_id = 1'" + space);
  ASSERT_EQ(plan.code, 0) << plan.err;
  EXPECT_EQ(plan.out.rfind("IndexScan order_by_customer", 0), 0u) << plan.out;
  EXPECT_EQ(Run("explain 'SELECT * FROM Order WHERE customer_id = 1' --format json" + space).out,
            "{\"plan\":" + nlohmann::json(plan.out.substr(0, plan.out.size() - 1)).dump() + "}\n");

  Result bad = Run("query 'SELECT * FROM Order WHERE'" + space);
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(bad.err.rfind("recordstore: INVALID_ARGUMENT: ", 0), 0u) << bad.err;
  Result unsortable = Run("query 'SELECT * FROM Order ORDER BY shipping.city'" + space);
  EXPECT_EQ(unsortable.code, 2);
  EXPECT_EQ(unsortable.err.rfind("recordstore: ", 0), 0u) << unsortable.err;
  Result sorted =
      Run("query 'SELECT * FROM Order ORDER BY shipping.city LIMIT 5' --allow-sort "
          "--format=json" +
          space);
  EXPECT_EQ(sorted.code, 0) << sorted.err;
}

TEST_F(CliTest, IndexStatusWaitsForAnOnlineBuild) {
  CreateShop();
  const std::string space = " --tenant acme --space shop";
  // More records than the server builds inline, so the new index builds online.
  ASSERT_EQ(Run("put --type Order --batch-size 250" + space, OrderLines(1, 1500)).out,
            "put 1500 records (0 replaced)\n");
  Result status = Run("index status" + space);
  EXPECT_EQ(status.out,
            "INDEX              STATE     PROGRESS\n"
            "order_by_customer  readable  -\n"
            "order_by_total     readable  -\n"
            "customer_by_city   readable  -\n");

  // The shop schema plus an index on the shipping city.
  std::string definition = ReadFileOrEmpty(kShopSchema);
  size_t indexes = definition.find("\"indexes\": [");
  ASSERT_NE(indexes, std::string::npos);
  definition.insert(indexes + 12,
                    "{\"name\": \"order_by_city\", \"fields\": [\"shipping.city\"], "
                    "\"record_types\": [\"Order\"]},\n");
  WriteFileOrDie(dir_ / "evolved.json", definition);
  Result evolved = Run(std::string("schema apply ") + kShop + "/shop.proto " + kShop +
                       "/common.proto --indexes " + (dir_ / "evolved.json").string() + space);
  ASSERT_EQ(evolved.code, 0) << evolved.err;
  EXPECT_EQ(evolved.out,
            "schema version 2 applied\n"
            "changed indexes: order_by_city\n"
            "building online: order_by_city\n");

  Result waited = Run("index status --wait --interval 0.05 --timeout 120" + space);
  ASSERT_EQ(waited.code, 0) << waited.err;
  // Progress lines (stdout is not a terminal), then the final table.
  EXPECT_NE(waited.out.find("INDEX              STATE     PROGRESS\n"
                            "order_by_city      readable  -\n"),
            std::string::npos)
      << waited.out;
  EXPECT_EQ(waited.err, "");
  Result query =
      Run("query \"SELECT * FROM Order WHERE shipping.city = 'c0'\" --format=json" + space);
  EXPECT_EQ(std::count(query.out.begin(), query.out.end(), '\n'), 750);
  EXPECT_EQ(Run("explain \"SELECT * FROM Order WHERE shipping.city = 'c0'\"" + space)
                .out.rfind("IndexScan order_by_city", 0),
            0u);
}

TEST_F(CliTest, UsageAndConnectionErrors) {
  Result no_command = Run("");
  EXPECT_EQ(no_command.code, 1);
  Result no_type = Run("get 1 --tenant a --space b");
  EXPECT_EQ(no_type.code, 1);
  EXPECT_NE(no_type.err.find("--type is required"), std::string::npos) << no_type.err;
  Result bad_format = Run("tenant list --format=xml");
  EXPECT_EQ(bad_format.code, 1);
  Result no_space = Run("query 'SELECT * FROM Order' --tenant acme");
  EXPECT_EQ(no_space.code, 1);
  EXPECT_EQ(no_space.err, "recordstore: no record space: pass --space or set RECORDSTORE_SPACE\n");
  Result no_file = Run("put /no/such/file --type Order --tenant a --space b");
  EXPECT_EQ(no_file.code, 1);
  EXPECT_EQ(no_file.err, "recordstore: cannot read /no/such/file\n");
  Result help = Run("--help");
  EXPECT_EQ(help.code, 0);
  for (const char* command : {"tenant", "space", "schema", "put", "get", "delete", "query",
                              "explain", "index", "token"}) {
    EXPECT_NE(help.out.find(command), std::string::npos) << command;
  }

  Result no_space_there = Run("query 'SELECT * FROM Order' --tenant acme --space shop");
  EXPECT_EQ(no_space_there.code, 2);
  EXPECT_EQ(no_space_there.err, "recordstore: NOT_FOUND: not_found (8002): no tenant acme\n");

  // Nobody listens on the port of a server that has shut down.
  server_->Shutdown();
  Result down = Run("tenant list --deadline 5");
  EXPECT_EQ(down.code, 2);
  EXPECT_EQ(down.err.rfind("recordstore: UNAVAILABLE: ", 0), 0u) << down.err;
}

// The whole token life cycle through the CLI, against a server whose root key is a file.
TEST_F(CliTest, TokensAreMintedAttenuatedInspectedAndRevoked) {
  server_->Shutdown();
  const std::string key = (dir_ / "root_key").string();
  ASSERT_TRUE(auth::CreateRootKeyFile(key).ok());
  server::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.kv_url = "memory://";
  options.root_key_file = key;
  DisableHttp(options);
  auto started = server::Server::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  server_ = *std::move(started);
  token_ = server_->AdminToken();
  CreateShop();

  Result minted =
      Run("token mint --root-key " + key + " --tenant acme --space shop --ops read,write");
  ASSERT_EQ(minted.code, 0) << minted.err;
  const std::string writer = minted.out.substr(0, minted.out.size() - 1);
  Result put = Run("put --type Order --tenant acme --space shop", OrderLines(1, 2), &writer);
  EXPECT_EQ(put.code, 0) << put.err;
  Result schema = Run(std::string("schema apply ") + kShop + "/shop.proto " + kShop +
                          "/common.proto --indexes " + kShopSchema + " --tenant acme --space shop",
                      "", &writer);
  EXPECT_EQ(schema.code, 2);
  EXPECT_EQ(schema.err,
            "recordstore: PERMISSION_DENIED: permission_denied (8009): the token does not allow "
            "schema on acme/shop (Schema.UpdateSchema): it grants no right(tenant, record space, "
            "\"schema\") that covers it\n");

  // Read-only, from the writer's token, without the root key's secret half.
  Result attenuated = Run("token attenuate --root-key " + key + ".pub --ops read " + writer);
  EXPECT_EQ(attenuated.code, 1);
  EXPECT_EQ(attenuated.err, "recordstore: not_found (8002): no key file " + key + ".pub\n");
  attenuated = Run("token attenuate --root-key " + key + " --ops read " + writer);
  ASSERT_EQ(attenuated.code, 0) << attenuated.err;
  const std::string reader = attenuated.out.substr(0, attenuated.out.size() - 1);
  EXPECT_EQ(Run("get 1 --type Order --tenant acme --space shop --format json", "", &reader).code,
            0);
  Result refused = Run("delete 1 --type Order --tenant acme --space shop", "", &reader);
  EXPECT_EQ(refused.code, 2);
  EXPECT_EQ(refused.err,
            "recordstore: PERMISSION_DENIED: permission_denied (8009): the token does not allow "
            "write on acme/shop (record type Order) (Records.Delete): failed block 1: check if "
            "operation(\"read\")\n");

  // Restricted to the space only: still a writer there (no restriction leaks from --ops).
  Result shop_only = Run("token attenuate --root-key " + key + " --space shop " + writer);
  ASSERT_EQ(shop_only.code, 0) << shop_only.err;
  const std::string shop_writer = shop_only.out.substr(0, shop_only.out.size() - 1);
  EXPECT_EQ(Run("put --type Order --tenant acme --space shop", OrderLines(3, 3), &shop_writer).code, 0);

  Result inspected = Run("token inspect --root-key " + key + " " + reader);
  ASSERT_EQ(inspected.code, 0) << inspected.err;
  const size_t at = inspected.out.find("block 1, revocation id ");
  ASSERT_NE(at, std::string::npos) << inspected.out;
  const std::string id = inspected.out.substr(at + 23, inspected.out.find(':', at) - at - 23);
  EXPECT_EQ(id.size(), 128u) << inspected.out;
  EXPECT_NE(inspected.out.find("block 0 (authority), revocation id "), std::string::npos);
  EXPECT_NE(inspected.out.find("  right(\"acme\", \"shop\", \"write\");\n"), std::string::npos)
      << inspected.out;
  EXPECT_NE(inspected.out.find("  check if operation(\"read\");\n"), std::string::npos)
      << inspected.out;

  // Revoking block 1 refuses the read-only token; the token it was made from still works.
  EXPECT_EQ(Run("token revoke " + id + " --tenant acme", "", &reader).code, 2);
  EXPECT_EQ(Run("token revoke " + id).out, "revoked 1 new of 1\n");
  EXPECT_EQ(Run("token revoked").out, id + "\n");
  Result revoked = Run("get 1 --type Order --tenant acme --space shop", "", &reader);
  EXPECT_EQ(revoked.code, 2);
  EXPECT_EQ(revoked.err,
            "recordstore: UNAUTHENTICATED: unauthenticated (8008): the token was "
            "revoked (revocation id of block 1: " +
                id + ")\n");
  EXPECT_EQ(Run("get 1 --type Order --tenant acme --space shop", "", &writer).code, 0);

  const std::string none;
  Result anonymous = Run("tenant list", "", &none);
  EXPECT_EQ(anonymous.code, 2);
  EXPECT_EQ(anonymous.err,
            "recordstore: UNAUTHENTICATED: unauthenticated (8008): no token: send "
            "\"authorization: Bearer <token>\" metadata (mint one with `recordstore token "
            "mint`)\n");

  // A root key others may read is refused, naming the fix.
  fs::permissions(key, fs::perms::group_read, fs::perm_options::add);
  Result loose = Run("token mint --root-key " + key + " --admin");
  EXPECT_EQ(loose.code, 1);
  EXPECT_EQ(loose.err, "recordstore: permission_denied (8009): the root key file " + key +
                           " has mode 0640: group and others must have no access to a private "
                           "key; run `chmod 600 " +
                           key + "`\n");
}

// The data keys `tenant key-status --format=json` shows, by ascending id.
struct ShownKey {
  std::string master_key_id;
  int64_t created_micros = 0;
};
std::vector<ShownKey> ShownKeys(const std::string& json_line) {
  std::vector<ShownKey> keys;
  nlohmann::json status = nlohmann::json::parse(json_line, nullptr, /*allow_exceptions=*/false);
  if (!status.is_object()) return keys;
  for (const auto& key : status["keys"]) {
    keys.push_back({key["master_key_id"].get<std::string>(), key["created_micros"].get<int64_t>()});
  }
  return keys;
}

TEST_F(CliTest, TenantRotateKeyAndKeyStatus) {
  CreateShop();
  const std::string space = " --tenant acme --space shop";
  ASSERT_EQ(Run("put --type Order --batch-size 250" + space, OrderLines(1, 300)).code, 0);
  const std::string orders = Run("get --type Order 1 150 300 --format=json" + space).out;

  Result json = Run("tenant key-status acme --format=json");
  ASSERT_EQ(json.code, 0) << json.err;
  std::vector<ShownKey> keys = ShownKeys(json.out);
  ASSERT_EQ(keys.size(), 1u) << json.out;
  const std::string master = keys[0].master_key_id;
  EXPECT_EQ(json.out,
            "{\"tenant\":\"acme\",\"current_key_id\":1,\"referenced_key_ids\":[1],"
            "\"reencrypting\":false,\"error\":\"\",\"keys\":[{\"id\":1,\"master_key_id\":\"" +
                master + "\",\"created_micros\":" + std::to_string(keys[0].created_micros) +
                ",\"state\":\"current\"}],\"record_spaces\":[{\"record_space\":\"shop\","
                "\"target_key_id\":0,\"records_scanned\":0,\"records_rewritten\":0,"
                "\"done\":true}]}\n");
  // Columns padded to the master key id (16 hex digits) and the time (20 characters).
  ASSERT_EQ(master.size(), 16u);
  const std::string created1 = UtcTimeText(keys[0].created_micros);
  EXPECT_EQ(Run("tenant key-status acme").out,
            "tenant acme: data key 1 is current; re-encryption done\n"
            "KEY  MASTER KEY        CREATED               STATE\n"
            "1    " +
                master + "  " + created1 +
                "  current\n"
                "RECORD SPACE  TARGET KEY  SCANNED  REWRITTEN  STATE\n"
                "shop          -           0        0          done\n");

  Result rotated = Run("tenant rotate-key acme");
  ASSERT_EQ(rotated.code, 0) << rotated.err;
  EXPECT_EQ(rotated.out,
            "tenant acme: data key 2 is current (was 1); re-encrypting in the background: shop\n");

  // A second rotation, whether the first re-encryption finished or not: it retargets.
  Result waited = Run("tenant rotate-key acme --wait --interval 0.05 --timeout 120");
  ASSERT_EQ(waited.code, 0) << waited.err;
  EXPECT_EQ(waited.err, "");
  keys = ShownKeys(Run("tenant key-status acme --format=json").out);
  ASSERT_EQ(keys.size(), 3u);
  const std::string final_table =
      "tenant acme: data key 3 is current; re-encryption done\n"
      "KEY  MASTER KEY        CREATED               STATE\n"
      "1    " +
      master + "  " + created1 +
      "  unused\n"
      "2    " +
      master + "  " + UtcTimeText(keys[1].created_micros) +
      "  unused\n"
      "3    " +
      master + "  " + UtcTimeText(keys[2].created_micros) +
      "  current\n"
      "RECORD SPACE  TARGET KEY  SCANNED  REWRITTEN  STATE\n"
      "shop          3           300      300        done\n";
  // The rotation, progress lines (stdout is not a terminal), the last one complete, then the
  // final status.
  EXPECT_EQ(waited.out.rfind(
                "tenant acme: data key 3 is current (was 2); re-encrypting in the background: "
                "shop\n",
                0),
            0u)
      << waited.out;
  EXPECT_NE(waited.out.find("[##############################] 100.0%  1/1 record spaces  300 "
                            "records scanned, 300 re-encrypted\n" +
                            final_table),
            std::string::npos)
      << waited.out;
  EXPECT_EQ(Run("tenant key-status acme").out, final_table);
  // The records read as before.
  EXPECT_EQ(Run("get --type Order 1 150 300 --format=json" + space).out, orders);

  Result json_rotation = Run("tenant rotate-key acme --format=json");
  EXPECT_EQ(json_rotation.out,
            "{\"tenant\":\"acme\",\"new_key_id\":4,\"previous_key_id\":3,"
            "\"record_spaces\":[\"shop\"]}\n");

  Result unknown = Run("tenant rotate-key nobody");
  EXPECT_EQ(unknown.code, 2);
  EXPECT_EQ(unknown.err, "recordstore: NOT_FOUND: not_found (8002): no tenant nobody\n");
  unknown = Run("tenant key-status nobody");
  EXPECT_EQ(unknown.code, 2);
  EXPECT_EQ(unknown.err, "recordstore: NOT_FOUND: not_found (8002): no tenant nobody\n");
  EXPECT_EQ(Run("tenant rotate-key").code, 1);
  // Key management is the server administrator's, not the tenant's.
  const std::string tenant_admin =
      *server_->MintToken({auth::Grant{.tenant = "acme", .operations = {auth::Operation::kAdmin}}});
  Result denied = Run("tenant rotate-key acme", "", &tenant_admin);
  EXPECT_EQ(denied.code, 2);
  EXPECT_EQ(denied.err.rfind("recordstore: PERMISSION_DENIED: permission_denied (8009): the token "
                             "does not allow admin on tenant acme (Admin.RotateTenantKey)",
                             0),
            0u)
      << denied.err;
}

TEST_F(CliTest, KeyRotationWithEncryptionOffSaysWhatToFix) {
  server::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.kv_url = "memory://";
  options.encryption = false;
  DisableHttp(options);
  auto plain = server::Server::Start(options);
  ASSERT_TRUE(plain.ok()) << plain.status();
  CliRunner cli(RS_RECORDSTORE_BINARY, dir_);
  cli.set_server("127.0.0.1:" + std::to_string((*plain)->grpc_port()));
  cli.set_token((*plain)->AdminToken());
  ASSERT_EQ(cli.Run("tenant create acme").code, 0);
  for (const char* command : {"tenant rotate-key acme --wait", "tenant key-status acme"}) {
    Result refused = cli.Run(command);
    EXPECT_EQ(refused.code, 2) << command;
    EXPECT_EQ(refused.out, "") << command;
    EXPECT_EQ(refused.err,
              "recordstore: FAILED_PRECONDITION: encryption at rest: the server has no master "
              "key (it runs with --encryption=off and found no key file or "
              "RECORDSTORE_MASTER_KEY), so tenants have no data keys; start it with encryption "
              "on\n")
        << command;
  }
}

// `recordstore serve` killed (SIGKILL) in the middle of a throttled re-encryption: the next
// start resumes it after the last committed batch and finishes it.
TEST(CliServeTest, ReencryptionResumesAfterTheServerIsKilled) {
  const fs::path dir =
      fs::path(::testing::TempDir()) / ("cli_serve_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  CliRunner cli(RS_RECORDSTORE_BINARY, dir);
  auto start = [&](const std::string& config, const std::string& log) {
    WriteFileOrDie(dir / "config.json", config);
    auto started =
        ServerProcess::Start(RS_RECORDSTORE_BINARY,
                             {"--listen", "127.0.0.1:0", "--http-listen", "", "--data-dir",
                              (dir / "data").string(), "--config", (dir / "config.json").string()},
                             dir / log, std::chrono::seconds(30));
    EXPECT_TRUE(started.ok()) << started.status();
    if (!started.ok()) return std::unique_ptr<ServerProcess>();
    cli.set_server((*started)->address());
    std::string token = ReadFileOrEmpty(dir / "data" / "admin.token");
    while (!token.empty() && token.back() == '\n') token.pop_back();
    cli.set_token(token);
    return *std::move(started);
  };
  // 20 records per second: batches of 20 a second apart.
  std::unique_ptr<ServerProcess> server =
      start(R"({"limits": {"reencryption_records_per_second": 20}})", "server1.log");
  ASSERT_NE(server, nullptr);
  const std::string space = " --tenant acme --space shop";
  ASSERT_EQ(cli.Run("tenant create acme").code, 0);
  ASSERT_EQ(cli.Run("space create shop --tenant acme").code, 0);
  ASSERT_EQ(cli.Run(std::string("schema apply ") + kShop + "/shop.proto " + kShop +
                    "/common.proto --indexes " + kShopSchema + space)
                .code,
            0);
  ASSERT_EQ(cli.Run("put --type Order" + space, OrderLines(1, 200)).code, 0);
  const std::string orders = cli.Run("get --type Order 1 100 200 --format=json" + space).out;
  ASSERT_EQ(cli.Run("tenant rotate-key acme").code, 0);

  auto scanned = [&]() {
    nlohmann::json status =
        nlohmann::json::parse(cli.Run("tenant key-status acme --format=json").out, nullptr, false);
    return status.is_object() ? status["record_spaces"][0]["records_scanned"].get<int64_t>() : -1;
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (scanned() < 20 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_LT(scanned(), 200);
  ::kill(server->pid(), SIGKILL);
  EXPECT_EQ(server->Terminate(std::chrono::seconds(10)), 128 + SIGKILL);

  server = start("{}", "server2.log");
  ASSERT_NE(server, nullptr);
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  Result status;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    status = cli.Run("tenant key-status acme");
  } while (status.out.find("re-encryption done") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline);
  // Every record scanned once over both runs: the second went on where the first stopped.
  EXPECT_NE(status.out.find("shop          2           200      200        done\n"),
            std::string::npos)
      << status.out << server->Log();
  EXPECT_EQ(cli.Run("get --type Order 1 100 200 --format=json" + space).out, orders);
  server->Terminate(std::chrono::seconds(10));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace recordstore::cli
