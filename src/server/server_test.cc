// The server end to end: a Server on a free loopback port, driven through the generated gRPC
// stubs of proto/recordstore/v1 as any client would, plus HTTP, shutdown and the serve command.
#include "server/server.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "common/status_macros.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "metadata/proto_source.h"
#include "recordstore/v1/admin.grpc.pb.h"
#include "recordstore/v1/query.grpc.pb.h"
#include "recordstore/v1/records.grpc.pb.h"
#include "recordstore/v1/schema.grpc.pb.h"
#include "server/server_test_util.h"
#include "server/token_channel.h"
#include "tuple/directory_layer.h"

namespace recordstore::server {
namespace {

namespace pb = google::protobuf;
using grpc::StatusCode;

v1::IndexSpec Index(const std::string& name, const std::string& type,
                    std::vector<std::string> fields, std::vector<std::string> types = {"Order"}) {
  v1::IndexSpec index;
  index.set_name(name);
  index.set_type(type);
  for (const std::string& field : fields) index.add_fields(field);
  for (const std::string& t : types) index.add_record_types(t);
  return index;
}

// The shop schema: Customer, Order, Product, an index of orders by customer, order count and
// sum of totals.
v1::SchemaSpec IndexedShopSpec() {
  v1::SchemaSpec spec = ShopSpec();
  *spec.add_indexes() = Index("order_by_customer", "value", {"customer_id"});
  *spec.add_indexes() = Index("order_count", "count", {});
  *spec.add_indexes() = Index("order_total_sum", "sum", {"total"});
  return spec;
}

// Shop messages built and read with reflection (the test has no generated shop classes).
class Shop {
 public:
  Shop() {
    StatusOr<pb::FileDescriptorSet> files = metadata::ParseProtoFiles(ShopSources());
    EXPECT_TRUE(files.ok()) << files.status();
    std::vector<const pb::FileDescriptorProto*> pending;
    for (const auto& file : files->file()) pending.push_back(&file);
    while (!pending.empty()) {
      std::vector<const pb::FileDescriptorProto*> later;
      for (const auto* file : pending) {
        if (pool_.FindFileByName(file->name()) != nullptr) continue;
        bool ready = true;
        for (const std::string& dependency : file->dependency()) {
          ready &= pool_.FindFileByName(dependency) != nullptr;
        }
        if (ready) {
          pool_.BuildFile(*file);
        } else {
          later.push_back(file);
        }
      }
      if (later.size() == pending.size()) break;
      pending = later;
    }
    order_ = pool_.FindMessageTypeByName("shop.Order");
    EXPECT_NE(order_, nullptr);
  }

  std::string OrderBytes(int64_t order_id, int64_t customer_id, int64_t total) {
    std::unique_ptr<pb::Message> order(factory_.GetPrototype(order_)->New());
    const pb::Reflection* reflection = order->GetReflection();
    reflection->SetInt64(order.get(), order_->FindFieldByName("order_id"), order_id);
    reflection->SetInt64(order.get(), order_->FindFieldByName("customer_id"), customer_id);
    reflection->SetInt64(order.get(), order_->FindFieldByName("total"), total);
    return order->SerializeAsString();
  }

  // (order_id, customer_id, total) of Order bytes.
  std::tuple<int64_t, int64_t, int64_t> ReadOrder(const std::string& bytes) {
    std::unique_ptr<pb::Message> order(factory_.GetPrototype(order_)->New());
    EXPECT_TRUE(order->ParseFromString(bytes));
    const pb::Reflection* reflection = order->GetReflection();
    return {reflection->GetInt64(*order, order_->FindFieldByName("order_id")),
            reflection->GetInt64(*order, order_->FindFieldByName("customer_id")),
            reflection->GetInt64(*order, order_->FindFieldByName("total"))};
  }

 private:
  pb::DescriptorPool pool_;
  pb::DynamicMessageFactory factory_;
  const pb::Descriptor* order_ = nullptr;
};

v1::Value Int(int64_t value) {
  v1::Value out;
  out.set_int64(value);
  return out;
}

struct Page {
  grpc::Status status;
  std::vector<v1::Record> records;
  std::string continuation;
  v1::NoNextReason reason = v1::NO_NEXT_REASON_UNSPECIFIED;
  std::string plan;
  bool done = false;
};

class Client {
 public:
  explicit Client(std::shared_ptr<grpc::Channel> channel)
      : admin(v1::Admin::NewStub(channel)),
        schema(v1::Schema::NewStub(channel)),
        records(v1::Records::NewStub(channel)),
        query(v1::Query::NewStub(channel)) {}

  grpc::Status CreateTenant(const std::string& tenant) {
    grpc::ClientContext context;
    v1::CreateTenantRequest request;
    request.set_tenant(tenant);
    v1::CreateTenantResponse response;
    return admin->CreateTenant(&context, request, &response);
  }
  grpc::Status CreateSpace(const std::string& tenant, const std::string& space) {
    grpc::ClientContext context;
    v1::CreateRecordSpaceRequest request;
    request.set_tenant(tenant);
    request.set_record_space(space);
    v1::CreateRecordSpaceResponse response;
    return admin->CreateRecordSpace(&context, request, &response);
  }
  grpc::Status UpdateSchema(const v1::SpaceRef& space, const v1::SchemaSpec& spec,
                            v1::UpdateSchemaResponse* response, bool dry_run = false) {
    grpc::ClientContext context;
    v1::UpdateSchemaRequest request;
    *request.mutable_space() = space;
    *request.mutable_schema() = spec;
    request.set_dry_run(dry_run);
    return schema->UpdateSchema(&context, request, response);
  }
  v1::GetSchemaResponse GetSchema(const v1::SpaceRef& space) {
    grpc::ClientContext context;
    v1::GetSchemaRequest request;
    *request.mutable_space() = space;
    v1::GetSchemaResponse response;
    grpc::Status status = schema->GetSchema(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }
  grpc::Status Put(const v1::SpaceRef& space, v1::Record record, v1::PutMode mode = v1::UPSERT,
                   v1::PutResponse* out = nullptr) {
    grpc::ClientContext context;
    v1::PutRequest request;
    *request.mutable_space() = space;
    *request.mutable_record() = std::move(record);
    request.set_mode(mode);
    v1::PutResponse response;
    return records->Put(&context, request, out != nullptr ? out : &response);
  }
  grpc::Status PutBatch(const v1::SpaceRef& space, const std::vector<v1::Record>& batch,
                        v1::PutMode mode = v1::UPSERT) {
    grpc::ClientContext context;
    v1::PutBatchRequest request;
    *request.mutable_space() = space;
    for (const v1::Record& record : batch) *request.add_records() = record;
    request.set_mode(mode);
    v1::PutBatchResponse response;
    return records->PutBatch(&context, request, &response);
  }
  v1::GetResponse Get(const v1::SpaceRef& space, const std::string& type, int64_t id,
                      bool json = false, grpc::Status* status_out = nullptr) {
    grpc::ClientContext context;
    v1::GetRequest request;
    *request.mutable_space() = space;
    request.set_record_type(type);
    *request.add_primary_key() = Int(id);
    request.set_json(json);
    v1::GetResponse response;
    grpc::Status status = records->Get(&context, request, &response);
    if (status_out != nullptr) {
      *status_out = status;
    } else {
      EXPECT_TRUE(status.ok()) << status.error_message();
    }
    return response;
  }
  Page Execute(const v1::QueryRequest& request) {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<v1::QueryResponse>> reader =
        query->Execute(&context, request);
    Page page;
    v1::QueryResponse message;
    while (reader->Read(&message)) {
      for (const v1::Record& record : message.records()) page.records.push_back(record);
      if (!message.plan().empty()) page.plan = message.plan();
      if (message.done()) {
        page.done = true;
        page.continuation = message.continuation();
        page.reason = message.reason();
      }
    }
    page.status = reader->Finish();
    return page;
  }
  // Follows continuations, row_limit rows per call, until the query is exhausted.
  std::vector<v1::Record> ExecuteAll(v1::QueryRequest request, int* calls) {
    std::vector<v1::Record> all;
    *calls = 0;
    while (true) {
      Page page = Execute(request);
      ++*calls;
      EXPECT_TRUE(page.status.ok()) << page.status.error_message();
      EXPECT_TRUE(page.done);
      if (!page.status.ok() || *calls > 1000) break;
      if (request.row_limit() > 0) {
        EXPECT_LE(page.records.size(), static_cast<size_t>(request.row_limit()));
      }
      all.insert(all.end(), page.records.begin(), page.records.end());
      if (page.continuation.empty()) {
        last_reason = page.reason;
        EXPECT_TRUE(page.reason == v1::SOURCE_EXHAUSTED || page.reason == v1::RETURN_LIMIT_REACHED)
            << page.reason;
        break;
      }
      EXPECT_EQ(page.reason, v1::RETURN_LIMIT_REACHED);
      request.set_continuation(page.continuation);
    }
    return all;
  }

  // Why the last ExecuteAll stopped.
  v1::NoNextReason last_reason = v1::NO_NEXT_REASON_UNSPECIFIED;
  std::unique_ptr<v1::Admin::Stub> admin;
  std::unique_ptr<v1::Schema::Stub> schema;
  std::unique_ptr<v1::Records::Stub> records;
  std::unique_ptr<v1::Query::Stub> query;
};

// A client whose calls carry `token` (the server's admin token in most tests).
std::unique_ptr<Client> Connect(int port, const std::string& token) {
  return std::make_unique<Client>(TokenChannel("127.0.0.1:" + std::to_string(port), token));
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.listen = "127.0.0.1:0";
    options_.http_listen = "127.0.0.1:0";
    options_.kv_url = "memory://";
    options_.inline_index_build_limit = 100;
    StartServer();
  }

  void StartServer() {
    StatusOr<std::unique_ptr<Server>> started = Server::Start(options_);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
    client_ = Connect(server_->grpc_port(), server_->AdminToken());
  }

  // A tenant "shop" with a space holding the shop schema.
  v1::SpaceRef ShopSpace(const std::string& name = "main", const std::string& tenant = "shop") {
    grpc::Status tenant_status = client_->CreateTenant(tenant);
    EXPECT_TRUE(tenant_status.ok() || tenant_status.error_code() == StatusCode::ALREADY_EXISTS);
    EXPECT_TRUE(client_->CreateSpace(tenant, name).ok());
    v1::SpaceRef space = Space(tenant, name);
    v1::UpdateSchemaResponse response;
    grpc::Status status = client_->UpdateSchema(space, IndexedShopSpec(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.version(), 1);
    return space;
  }

  v1::Record Order(int64_t id, int64_t customer, int64_t total) {
    v1::Record record;
    record.set_record_type("Order");
    record.set_proto(shop_.OrderBytes(id, customer, total));
    return record;
  }

  // Orders 1..n: customer id % 5, total (id * 37) % 1000.
  void PutOrders(const v1::SpaceRef& space, int n, int first = 1) {
    std::vector<v1::Record> batch;
    for (int id = first; id < first + n; ++id) {
      batch.push_back(Order(id, id % 5, (id * 37) % 1000));
      if (batch.size() == 100 || id == first + n - 1) {
        grpc::Status status = client_->PutBatch(space, batch);
        ASSERT_TRUE(status.ok()) << status.error_message();
        batch.clear();
      }
    }
  }

  // Every key and value of the KV store.
  std::vector<kv::KeyValue> Dump() {
    std::unique_ptr<kv::Transaction> txn = server_->db().CreateTransaction();
    StatusOr<kv::RangeResult> rows = txn->GetRange("", "\xff");
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows->rows;
  }

  std::vector<int64_t> OrderIds(const std::vector<v1::Record>& records) {
    std::vector<int64_t> ids;
    for (const v1::Record& record : records)
      ids.push_back(std::get<0>(shop_.ReadOrder(record.proto())));
    return ids;
  }

  ServerOptions options_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Client> client_;
  Shop shop_;
};

// --- Admin ---

TEST_F(ServerTest, TenantsAndSpacesAreCreatedListedAndDeleted) {
  EXPECT_TRUE(client_->CreateTenant("acme").ok());
  EXPECT_TRUE(client_->CreateTenant("globex").ok());
  grpc::Status again = client_->CreateTenant("acme");
  EXPECT_EQ(again.error_code(), StatusCode::ALREADY_EXISTS);
  EXPECT_NE(again.error_message().find("tenant acme already exists"), std::string::npos);
  for (const std::string& bad :
       std::vector<std::string>{"", ".hidden", "has space", std::string(65, 'x')}) {
    grpc::Status status = client_->CreateTenant(bad);
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_NE(status.error_message().find("[A-Za-z0-9_.-]"), std::string::npos);
  }
  {
    grpc::ClientContext context;
    v1::ListTenantsResponse response;
    ASSERT_TRUE(client_->admin->ListTenants(&context, {}, &response).ok());
    EXPECT_EQ(std::vector<std::string>(response.tenants().begin(), response.tenants().end()),
              (std::vector<std::string>{"acme", "globex"}));
  }
  EXPECT_TRUE(client_->CreateSpace("acme", "orders").ok());
  EXPECT_TRUE(client_->CreateSpace("acme", "audit").ok());
  EXPECT_EQ(client_->CreateSpace("acme", "orders").error_code(), StatusCode::ALREADY_EXISTS);
  grpc::Status no_tenant = client_->CreateSpace("initech", "orders");
  EXPECT_EQ(no_tenant.error_code(), StatusCode::NOT_FOUND);
  EXPECT_NE(no_tenant.error_message().find("no tenant initech"), std::string::npos);
  EXPECT_EQ(client_->CreateSpace("acme", "bad/name").error_code(), StatusCode::INVALID_ARGUMENT);
  {
    grpc::ClientContext context;
    v1::ListRecordSpacesRequest request;
    request.set_tenant("acme");
    v1::ListRecordSpacesResponse response;
    ASSERT_TRUE(client_->admin->ListRecordSpaces(&context, request, &response).ok());
    EXPECT_EQ(
        std::vector<std::string>(response.record_spaces().begin(), response.record_spaces().end()),
        (std::vector<std::string>{"audit", "orders"}));
  }
  {
    grpc::ClientContext context;
    v1::ListRecordSpacesRequest request;
    request.set_tenant("initech");
    v1::ListRecordSpacesResponse response;
    EXPECT_EQ(client_->admin->ListRecordSpaces(&context, request, &response).error_code(),
              StatusCode::NOT_FOUND);
  }
  auto delete_space = [&](const std::string& tenant, const std::string& space) {
    grpc::ClientContext context;
    v1::DeleteRecordSpaceRequest request;
    request.set_tenant(tenant);
    request.set_record_space(space);
    v1::DeleteRecordSpaceResponse response;
    return client_->admin->DeleteRecordSpace(&context, request, &response);
  };
  auto delete_tenant = [&](const std::string& tenant) {
    grpc::ClientContext context;
    v1::DeleteTenantRequest request;
    request.set_tenant(tenant);
    v1::DeleteTenantResponse response;
    return client_->admin->DeleteTenant(&context, request, &response);
  };
  EXPECT_TRUE(delete_space("acme", "audit").ok());
  grpc::Status gone = delete_space("acme", "audit");
  EXPECT_EQ(gone.error_code(), StatusCode::NOT_FOUND);
  EXPECT_NE(gone.error_message().find("no record space acme/audit"), std::string::npos);
  EXPECT_TRUE(delete_tenant("acme").ok());
  EXPECT_EQ(delete_tenant("acme").error_code(), StatusCode::NOT_FOUND);
  // The tenant's spaces went with it: a data request on one names what is missing.
  grpc::Status status;
  client_->Get(Space("acme", "orders"), "Order", 1, false, &status);
  EXPECT_EQ(status.error_code(), StatusCode::NOT_FOUND);
  EXPECT_NE(status.error_message().find("no tenant acme"), std::string::npos);
  // A tenant created again under the same name starts empty.
  EXPECT_TRUE(client_->CreateTenant("acme").ok());
  EXPECT_EQ(client_->CreateSpace("acme", "orders").error_code(), StatusCode::OK);
}

// --- Schema ---

TEST_F(ServerTest, SchemaUploadedFromProtoTextIsServedBack) {
  v1::SpaceRef space = ShopSpace();
  v1::GetSchemaResponse schema = client_->GetSchema(space);
  EXPECT_EQ(schema.version(), 1);
  EXPECT_EQ(schema.schema().record_types_size(), 3);
  EXPECT_EQ(schema.schema().proto_files().at("shop/shop.proto"), ShopSources()["shop/shop.proto"]);
  std::map<std::string, std::string> states;
  for (const v1::IndexStatus& index : schema.indexes()) states[index.name()] = index.state();
  EXPECT_EQ(states, (std::map<std::string, std::string>{{"order_by_customer", "readable"},
                                                        {"order_count", "readable"},
                                                        {"order_total_sum", "readable"}}));
  // The same spec again is no change: the version stays.
  v1::UpdateSchemaResponse response;
  ASSERT_TRUE(client_->UpdateSchema(space, IndexedShopSpec(), &response).ok());
  EXPECT_EQ(response.version(), 1);
  EXPECT_TRUE(response.changed_indexes().empty());
}

TEST_F(ServerTest, SpaceWithoutSchemaSaysToSetOne) {
  ASSERT_TRUE(client_->CreateTenant("t").ok());
  ASSERT_TRUE(client_->CreateSpace("t", "empty").ok());
  v1::GetSchemaResponse schema = client_->GetSchema(Space("t", "empty"));
  EXPECT_EQ(schema.version(), 0);
  grpc::Status status = client_->Put(Space("t", "empty"), Order(1, 1, 1));
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("has no schema yet"), std::string::npos);
}

TEST_F(ServerTest, AddedIndexOnSmallSpaceIsReadableAtOnce) {
  v1::SpaceRef space = ShopSpace();
  PutOrders(space, 20);
  v1::SchemaSpec spec = IndexedShopSpec();
  *spec.add_indexes() = Index("order_by_total", "value", {"total"});
  v1::UpdateSchemaResponse response;
  ASSERT_TRUE(client_->UpdateSchema(space, spec, &response).ok());
  EXPECT_EQ(response.version(), 2);
  EXPECT_EQ(std::vector<std::string>(response.changed_indexes().begin(),
                                     response.changed_indexes().end()),
            std::vector<std::string>{"order_by_total"});
  EXPECT_TRUE(response.building_indexes().empty());
  v1::GetSchemaResponse schema = client_->GetSchema(space);
  EXPECT_EQ(schema.version(), 2);
  for (const v1::IndexStatus& index : schema.indexes()) EXPECT_EQ(index.state(), "readable");

  v1::QueryRequest request;
  *request.mutable_space() = space;
  request.set_sql("SELECT * FROM Order ORDER BY total");
  Page page = client_->Execute(request);
  ASSERT_TRUE(page.status.ok()) << page.status.error_message();
  EXPECT_NE(page.plan.find("order_by_total"), std::string::npos) << page.plan;
  ASSERT_EQ(page.records.size(), 20u);
  int64_t previous = -1;
  for (const v1::Record& record : page.records) {
    int64_t total = std::get<2>(shop_.ReadOrder(record.proto()));
    EXPECT_LE(previous, total);
    previous = total;
  }
}

TEST_F(ServerTest, AddedIndexOnLargeSpaceBuildsOnlineThenBecomesReadable) {
  v1::SpaceRef space = ShopSpace();
  const int kOrders = 400;  // above the inline limit (100)
  PutOrders(space, kOrders);
  v1::SchemaSpec spec = IndexedShopSpec();
  *spec.add_indexes() = Index("order_by_total", "value", {"total"});
  v1::UpdateSchemaResponse response;
  ASSERT_TRUE(client_->UpdateSchema(space, spec, &response).ok());
  EXPECT_EQ(std::vector<std::string>(response.building_indexes().begin(),
                                     response.building_indexes().end()),
            std::vector<std::string>{"order_by_total"});
  // Writes go on during the build.
  PutOrders(space, 10, kOrders + 1);
  std::string state;
  v1::IndexStatus last;
  for (int attempt = 0; attempt < 600 && state != "readable"; ++attempt) {
    const v1::GetSchemaResponse schema = client_->GetSchema(space);
    for (const v1::IndexStatus& index : schema.indexes()) {
      if (index.name() == "order_by_total") {
        state = index.state();
        last = index;
      }
    }
    if (state != "readable") {
      EXPECT_EQ(state, "write_only");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ASSERT_EQ(state, "readable");
  EXPECT_GE(last.records_scanned(), kOrders);
  EXPECT_GE(last.records_total_estimate(), kOrders);

  v1::QueryRequest request;
  *request.mutable_space() = space;
  request.set_sql("SELECT * FROM Order WHERE total >= 0 ORDER BY total");
  int calls = 0;
  std::vector<v1::Record> all = client_->ExecuteAll(request, &calls);
  ASSERT_EQ(all.size(), static_cast<size_t>(kOrders + 10));
  std::multiset<int64_t> expected;
  for (int id = 1; id <= kOrders + 10; ++id) expected.insert((id * 37) % 1000);
  std::vector<int64_t> totals;
  for (const v1::Record& record : all)
    totals.push_back(std::get<2>(shop_.ReadOrder(record.proto())));
  EXPECT_EQ(totals, std::vector<int64_t>(expected.begin(), expected.end()));

  const std::string metrics = server_->RenderMetrics();
  EXPECT_NE(metrics.find("recordstore_index_build_records_scanned{space=\"shop/main\","
                         "index=\"order_by_total\"}"),
            std::string::npos)
      << metrics;
}

TEST_F(ServerTest, IncompatibleChangeIsRefusedNamingTheRuleAndChangesNothing) {
  v1::SpaceRef space = ShopSpace();
  PutOrders(space, 5);
  const std::vector<kv::KeyValue> before = Dump();
  v1::SchemaSpec spec = IndexedShopSpec();
  std::string& shop = (*spec.mutable_proto_files())["shop/shop.proto"];
  const std::string from = "int64 total = 5;";
  ASSERT_NE(shop.find(from), std::string::npos);
  shop.replace(shop.find(from), from.size(), "string total = 5;");
  spec.mutable_indexes()->RemoveLast();  // the sum of totals would not compile otherwise
  for (bool dry_run : {true, false}) {
    v1::UpdateSchemaResponse response;
    grpc::Status status = client_->UpdateSchema(space, spec, &response, dry_run);
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("field_type_changed"), std::string::npos)
        << status.error_message();
    EXPECT_NE(status.error_message().find("Order.total"), std::string::npos);
  }
  // A removed record type and a changed primary key are named too.
  v1::SchemaSpec removed = IndexedShopSpec();
  removed.mutable_record_types()->RemoveLast();
  std::string& union_text = (*removed.mutable_proto_files())["shop/shop.proto"];
  const std::string product = "  Product _Product = 3;\n";
  ASSERT_NE(union_text.find(product), std::string::npos);
  union_text.erase(union_text.find(product), product.size());
  (*removed.mutable_record_types())[0].set_primary_key(0, "name");
  v1::UpdateSchemaResponse response;
  grpc::Status status = client_->UpdateSchema(space, removed, &response);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("record_type_removed"), std::string::npos)
      << status.error_message();
  EXPECT_NE(status.error_message().find("primary_key_changed"), std::string::npos);
  EXPECT_EQ(Dump(), before);
  EXPECT_EQ(client_->GetSchema(space).version(), 1);
}

TEST_F(ServerTest, DryRunValidatesAndStoresNothing) {
  v1::SpaceRef space = ShopSpace();
  PutOrders(space, 5);
  const std::vector<kv::KeyValue> before = Dump();
  v1::SchemaSpec spec = IndexedShopSpec();
  *spec.add_indexes() = Index("order_by_total", "value", {"total"});
  spec.mutable_indexes()->DeleteSubrange(1, 1);  // drop order_count
  v1::UpdateSchemaResponse response;
  ASSERT_TRUE(client_->UpdateSchema(space, spec, &response, /*dry_run=*/true).ok());
  EXPECT_EQ(response.version(), 2);
  EXPECT_EQ(response.changed_indexes(0), "order_by_total");
  EXPECT_EQ(response.dropped_indexes(0), "order_count");
  EXPECT_EQ(Dump(), before);
  v1::GetSchemaResponse schema = client_->GetSchema(space);
  EXPECT_EQ(schema.version(), 1);
  EXPECT_EQ(schema.indexes_size(), 3);
  // Applied for real, the same change gives the same answer.
  v1::UpdateSchemaResponse applied;
  ASSERT_TRUE(client_->UpdateSchema(space, spec, &applied).ok());
  EXPECT_EQ(applied.SerializeAsString(), response.SerializeAsString());
  EXPECT_EQ(client_->GetSchema(space).version(), 2);
}

// --- Records ---

TEST_F(ServerTest, PutsAsProtoAndJsonWithInsertUpdateUpsert) {
  v1::SpaceRef space = ShopSpace();
  v1::PutResponse put;
  ASSERT_TRUE(client_->Put(space, Order(1, 7, 500), v1::INSERT, &put).ok());
  ASSERT_EQ(put.primary_key_size(), 1);
  EXPECT_EQ(put.primary_key(0).int64(), 1);
  EXPECT_FALSE(put.replaced());

  v1::Record json;
  json.set_record_type("Order");
  json.set_json(R"({"order_id": "2", "customer_id": "7", "total": "250", "note": "gift"})");
  ASSERT_TRUE(client_->Put(space, json, v1::INSERT).ok());

  v1::GetResponse got = client_->Get(space, "Order", 1);
  ASSERT_TRUE(got.found());
  EXPECT_EQ(shop_.ReadOrder(got.record().proto()), std::make_tuple(1, 7, 500));
  EXPECT_EQ(got.record().primary_key(0).int64(), 1);
  v1::GetResponse got_json = client_->Get(space, "Order", 2, /*json=*/true);
  ASSERT_TRUE(got_json.found());
  EXPECT_NE(got_json.record().json().find("\"note\":\"gift\""), std::string::npos)
      << got_json.record().json();
  EXPECT_NE(got_json.record().json().find("\"total\":\"250\""), std::string::npos);
  EXPECT_FALSE(client_->Get(space, "Order", 3).found());

  grpc::Status taken = client_->Put(space, Order(1, 7, 999), v1::INSERT);
  EXPECT_EQ(taken.error_code(), StatusCode::ALREADY_EXISTS) << taken.error_message();
  grpc::Status missing = client_->Put(space, Order(3, 7, 999), v1::UPDATE);
  EXPECT_EQ(missing.error_code(), StatusCode::NOT_FOUND) << missing.error_message();
  EXPECT_FALSE(client_->Get(space, "Order", 3).found());
  ASSERT_TRUE(client_->Put(space, Order(1, 7, 600), v1::UPDATE, &put).ok());
  EXPECT_TRUE(put.replaced());
  ASSERT_TRUE(client_->Put(space, Order(1, 8, 700), v1::UPSERT, &put).ok());
  EXPECT_TRUE(put.replaced());
  EXPECT_EQ(shop_.ReadOrder(client_->Get(space, "Order", 1).record().proto()),
            std::make_tuple(1, 8, 700));
}

TEST_F(ServerTest, BatchIsAllOrNothing) {
  v1::SpaceRef space = ShopSpace();
  v1::Record bad;
  bad.set_record_type("Order");
  bad.set_json(R"({"order_id": "12", "no_such_field": 1})");
  grpc::Status status = client_->PutBatch(space, {Order(10, 1, 1), Order(11, 1, 1), bad});
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("record 2"), std::string::npos) << status.error_message();
  EXPECT_FALSE(client_->Get(space, "Order", 10).found());
  EXPECT_FALSE(client_->Get(space, "Order", 11).found());
  EXPECT_EQ(client_->PutBatch(space, {}).error_code(), StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(client_->PutBatch(space, {Order(10, 1, 1), Order(11, 1, 1)}).ok());
  EXPECT_TRUE(client_->Get(space, "Order", 11).found());
}

TEST_F(ServerTest, DeleteAndDeleteWhere) {
  v1::SpaceRef space = ShopSpace();
  PutOrders(space, 30);
  v1::Record customer;
  customer.set_record_type("Customer");
  customer.set_json(R"({"customer_id": "1", "name": "Ada"})");
  ASSERT_TRUE(client_->Put(space, customer).ok());
  auto remove = [&](int64_t id) {
    grpc::ClientContext context;
    v1::DeleteRequest request;
    *request.mutable_space() = space;
    request.set_record_type("Order");
    *request.add_primary_key() = Int(id);
    v1::DeleteResponse response;
    EXPECT_TRUE(client_->records->Delete(&context, request, &response).ok());
    return response.deleted();
  };
  EXPECT_TRUE(remove(5));
  EXPECT_FALSE(remove(5));
  EXPECT_FALSE(client_->Get(space, "Order", 5).found());
  {
    // One order by its full key.
    grpc::ClientContext context;
    v1::DeleteWhereRequest request;
    *request.mutable_space() = space;
    request.set_record_type("Order");
    *request.add_primary_key_prefix() = Int(6);
    v1::DeleteWhereResponse response;
    ASSERT_TRUE(client_->records->DeleteWhere(&context, request, &response).ok());
    EXPECT_EQ(response.deleted(), 1);
  }
  {
    // Every order; the customer stays (the record type leads every primary key).
    grpc::ClientContext context;
    v1::DeleteWhereRequest request;
    *request.mutable_space() = space;
    request.set_record_type("Order");
    v1::DeleteWhereResponse response;
    ASSERT_TRUE(client_->records->DeleteWhere(&context, request, &response).ok());
    EXPECT_EQ(response.deleted(), 28);
  }
  EXPECT_FALSE(client_->Get(space, "Order", 1).found());
  EXPECT_TRUE(client_->Get(space, "Customer", 1).found());
  // The aggregate indexes followed the deletes.
  grpc::ClientContext context;
  v1::QueryRequest request;
  *request.mutable_space() = space;
  request.set_sql("SELECT COUNT(*) FROM Order");
  v1::AggregateResponse count;
  ASSERT_TRUE(client_->query->Aggregate(&context, request, &count).ok());
  EXPECT_EQ(count.value().int64(), 0);
}

// --- Queries ---

TEST_F(ServerTest, SqlQueryResumedWithContinuationsGivesExactlyTheFullResult) {
  v1::SpaceRef space = ShopSpace();
  PutOrders(space, 250);
  v1::QueryRequest request;
  *request.mutable_space() = space;
  request.set_sql("SELECT * FROM Order WHERE customer_id = 3");
  request.set_row_limit(7);
  int calls = 0;
  std::vector<int64_t> ids = OrderIds(client_->ExecuteAll(request, &calls));
  std::vector<int64_t> expected;
  for (int id = 3; id <= 250; id += 5) expected.push_back(id);
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(calls, 8);  // 50 rows, 7 per call: 7 full calls and one of 1

  // LIMIT counts over the whole query, across calls.
  request.set_sql("SELECT * FROM Order WHERE customer_id = 3 LIMIT 20");
  ids = OrderIds(client_->ExecuteAll(request, &calls));
  EXPECT_EQ(ids, std::vector<int64_t>(expected.begin(), expected.begin() + 20));
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(client_->last_reason, v1::RETURN_LIMIT_REACHED);

  // Results stream in several messages when there are more than a batch (100).
  request.set_sql("SELECT * FROM Order");
  request.set_row_limit(0);
  Page page = client_->Execute(request);
  ASSERT_TRUE(page.status.ok()) << page.status.error_message();
  EXPECT_EQ(page.records.size(), 250u);
  EXPECT_TRUE(page.continuation.empty());
  EXPECT_EQ(page.reason, v1::SOURCE_EXHAUSTED);
}

TEST_F(ServerTest, StructuredQueryWithContinuationsAndJson) {
  v1::SpaceRef space = ShopSpace();
  PutOrders(space, 120);
  v1::QueryRequest request;
  *request.mutable_space() = space;
  v1::StructuredQuery* query = request.mutable_structured();
  query->add_record_types("Order");
  v1::FilterList* conditions = query->mutable_filter()->mutable_and_();
  v1::Comparison* customer = conditions->add_filters()->mutable_comparison();
  customer->set_field("customer_id");
  customer->set_operator_(v1::Comparison::IN);
  *customer->add_values() = Int(1);
  *customer->add_values() = Int(2);
  v1::Comparison* total = conditions->add_filters()->mutable_comparison();
  total->set_field("total");
  total->set_operator_(v1::Comparison::GREATER_THAN);
  *total->add_values() = Int(500);
  request.set_row_limit(4);
  request.set_json(true);
  int calls = 0;
  std::vector<v1::Record> all = client_->ExecuteAll(request, &calls);
  std::set<int64_t> expected;
  for (int id = 1; id <= 120; ++id) {
    if ((id % 5 == 1 || id % 5 == 2) && (id * 37) % 1000 > 500) expected.insert(id);
  }
  std::set<int64_t> got;
  for (const v1::Record& record : all) {
    EXPECT_FALSE(record.json().empty());
    EXPECT_TRUE(got.insert(record.primary_key(0).int64()).second) << "returned twice";
  }
  EXPECT_EQ(got, expected);
  EXPECT_GT(calls, 2);
}

TEST_F(ServerTest, ExplainAndAggregate) {
  v1::SpaceRef space = ShopSpace();
  PutOrders(space, 40);
  v1::QueryRequest request;
  *request.mutable_space() = space;
  request.set_sql("SELECT * FROM Order WHERE customer_id = 2");
  {
    grpc::ClientContext context;
    v1::ExplainResponse response;
    ASSERT_TRUE(client_->query->Explain(&context, request, &response).ok());
    EXPECT_NE(response.plan().find("order_by_customer"), std::string::npos) << response.plan();
  }
  int64_t sum = 0;
  for (int id = 1; id <= 40; ++id) sum += (id * 37) % 1000;
  for (const auto& [sql, value] : std::vector<std::pair<std::string, int64_t>>{
           {"SELECT COUNT(*) FROM Order", 40}, {"SELECT SUM(total) FROM Order", sum}}) {
    grpc::ClientContext context;
    request.set_sql(sql);
    v1::AggregateResponse response;
    grpc::Status status = client_->query->Aggregate(&context, request, &response);
    ASSERT_TRUE(status.ok()) << sql << ": " << status.error_message();
    EXPECT_EQ(response.value().int64(), value) << sql;
  }
  // An in-memory sort (no index on customer_id, total) is planned by Explain as Execute runs
  // it: only with allow_in_memory_sort and a row limit.
  request.set_sql("SELECT * FROM Order ORDER BY total");
  request.set_allow_in_memory_sort(true);
  request.set_row_limit(10);
  {
    grpc::ClientContext context;
    v1::ExplainResponse response;
    grpc::Status status = client_->query->Explain(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    Page page = client_->Execute(request);
    ASSERT_TRUE(page.status.ok()) << page.status.error_message();
    EXPECT_EQ(page.plan, response.plan());
    ASSERT_EQ(page.records.size(), 10u);
    EXPECT_TRUE(page.continuation.empty()) << page.reason << " " << page.plan;
    std::vector<int64_t> totals;
    for (int id = 1; id <= 40; ++id) totals.push_back((id * 37) % 1000);
    std::sort(totals.begin(), totals.end());
    for (size_t i = 0; i < 10; ++i) {
      EXPECT_EQ(std::get<2>(shop_.ReadOrder(page.records[i].proto())), totals[i]);
    }
  }
  request.set_allow_in_memory_sort(false);
  request.set_row_limit(0);
  // An aggregate through Execute is pointed to Aggregate.
  request.set_sql("SELECT COUNT(*) FROM Order");
  Page page = client_->Execute(request);
  EXPECT_EQ(page.status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(page.status.error_message().find("Query.Aggregate"), std::string::npos);
}

// --- Errors ---

TEST_F(ServerTest, MalformedInputIsRefusedAndNothingStoredChanges) {
  v1::SpaceRef space = ShopSpace();
  PutOrders(space, 10);
  const std::vector<kv::KeyValue> before = Dump();
  auto expect = [](const grpc::Status& status, StatusCode code, const std::string& says) {
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    EXPECT_NE(status.error_message().find(says), std::string::npos) << status.error_message();
  };

  v1::Record garbage;
  garbage.set_record_type("Order");
  garbage.set_proto("\xff\xff\xff\xff garbage");
  expect(client_->Put(space, garbage), StatusCode::INVALID_ARGUMENT, "do not parse as Order");
  v1::Record unknown = Order(1, 1, 1);
  unknown.set_record_type("Invoice");
  expect(client_->Put(space, unknown), StatusCode::INVALID_ARGUMENT, "no record type \"Invoice\"");
  v1::Record bad_json;
  bad_json.set_record_type("Order");
  bad_json.set_json("{not json");
  expect(client_->Put(space, bad_json), StatusCode::INVALID_ARGUMENT, "JSON is not a Order");
  v1::Record no_body;
  no_body.set_record_type("Order");
  expect(client_->Put(space, no_body), StatusCode::INVALID_ARGUMENT, "neither proto nor json");
  expect(client_->Put(Space("shop", "nowhere"), Order(1, 1, 1)), StatusCode::NOT_FOUND,
         "no record space shop/nowhere");

  grpc::Status get_status;
  client_->Get(space, "Invoice", 1, false, &get_status);
  expect(get_status, StatusCode::INVALID_ARGUMENT, "no record type \"Invoice\"");

  v1::QueryRequest request;
  *request.mutable_space() = space;
  request.set_sql("SELECT * FROM Order WHERE total >");
  expect(client_->Execute(request).status, StatusCode::INVALID_ARGUMENT,
         "syntax error at line 1, column 34");
  request.set_sql("SELECT * FROM Order ORDER BY note");
  expect(client_->Execute(request).status, StatusCode::FAILED_PRECONDITION,
         "no index provides ORDER BY");
  request.set_sql("SELECT * FROM Invoice");
  expect(client_->Execute(request).status, StatusCode::INVALID_ARGUMENT, "Invoice");
  request.set_sql("SELECT * FROM Order");
  request.set_continuation("not a continuation");
  expect(client_->Execute(request).status, StatusCode::INVALID_ARGUMENT, "continuation");
  request.clear_continuation();
  request.set_sql("SELECT COUNT(*) FROM Order");
  expect(client_->Execute(request).status, StatusCode::INVALID_ARGUMENT,
         "aggregate queries go through Query.Aggregate");
  request.clear_sql();
  expect(client_->Execute(request).status, StatusCode::INVALID_ARGUMENT, "neither sql nor");

  v1::SchemaSpec broken = IndexedShopSpec();
  (*broken.mutable_proto_files())["shop/shop.proto"] += "\nmessage Broken { int64 = 1; }\n";
  v1::UpdateSchemaResponse response;
  expect(client_->UpdateSchema(space, broken, &response), StatusCode::INVALID_ARGUMENT,
         "shop/shop.proto:");
  v1::SchemaSpec bad_path = IndexedShopSpec();
  *bad_path.add_indexes() = Index("weird", "value", {"total..x"});
  expect(client_->UpdateSchema(space, bad_path, &response), StatusCode::INVALID_ARGUMENT,
         "field path \"total..x\"");
  for (const std::string type : {"rank", "bogus"}) {
    v1::SchemaSpec bad_type = IndexedShopSpec();
    *bad_type.add_indexes() = Index("weird", type, {"total"});
    expect(client_->UpdateSchema(space, bad_type, &response), StatusCode::INVALID_ARGUMENT,
           "index weird has type \"" + type + "\"");
  }

  // Larger than the largest message the server accepts.
  v1::Record huge = Order(99, 1, 1);
  huge.set_proto(huge.proto() + std::string(17 << 20, '\0'));
  EXPECT_EQ(client_->Put(space, huge).error_code(), StatusCode::RESOURCE_EXHAUSTED);

  // Still serving, with the data as it was.
  EXPECT_EQ(Dump(), before);
  EXPECT_TRUE(client_->Get(space, "Order", 3).found());
  EXPECT_EQ(client_->GetSchema(space).version(), 1);
}

// --- Isolation ---

TEST_F(ServerTest, RecordSpacesNeverSeeEachOthersKeys) {
  v1::SpaceRef a = ShopSpace("a", "acme");
  v1::SpaceRef b = ShopSpace("b", "acme");
  v1::SpaceRef c = ShopSpace("a", "globex");  // same space name, other tenant
  // The same primary keys in every space, with totals that tell the spaces apart.
  for (int id = 1; id <= 20; ++id) {
    ASSERT_TRUE(client_->Put(a, Order(id, 1, 1000 + id)).ok());
    ASSERT_TRUE(client_->Put(b, Order(id, 1, 2000 + id)).ok());
    ASSERT_TRUE(client_->Put(c, Order(id, 1, 3000 + id)).ok());
  }
  DirectoryLayer directory;
  std::unique_ptr<kv::Transaction> txn = server_->db().CreateTransaction();
  std::map<std::string, std::string> prefixes;
  for (const auto& [tenant, space] : std::vector<std::pair<std::string, std::string>>{
           {"acme", "a"}, {"acme", "b"}, {"globex", "a"}}) {
    StatusOr<DirectorySubspace> opened =
        directory.Open(*txn, {"recordstore", "tenants", tenant, space});
    ASSERT_TRUE(opened.ok()) << opened.status();
    prefixes[tenant + "/" + space] = opened->key();
  }
  for (const auto& [name, prefix] : prefixes) {
    StatusOr<kv::RangeResult> rows = txn->GetRange(prefix, prefix + "\xff");
    ASSERT_TRUE(rows.ok());
    EXPECT_GT(rows->rows.size(), 20u) << name;
    for (const auto& [other_name, other_prefix] : prefixes) {
      if (other_name == name) continue;
      EXPECT_FALSE(prefix.starts_with(other_prefix) || other_prefix.starts_with(prefix))
          << name << " and " << other_name << " have nested prefixes";
      for (const kv::KeyValue& row : rows->rows) {
        ASSERT_FALSE(row.key.starts_with(other_prefix)) << name << " holds a key of " << other_name;
      }
    }
  }
  // Every record key of the store lies in exactly one space's range.
  for (const kv::KeyValue& row : Dump()) {
    int owners = 0;
    for (const auto& [name, prefix] : prefixes) owners += row.key.starts_with(prefix);
    EXPECT_LE(owners, 1);
  }
  // Queries see their own space only.
  for (const auto& [space, base] :
       std::vector<std::pair<v1::SpaceRef, int64_t>>{{a, 1000}, {b, 2000}, {c, 3000}}) {
    v1::QueryRequest request;
    *request.mutable_space() = space;
    request.set_sql("SELECT * FROM Order WHERE customer_id = 1");
    Page page = client_->Execute(request);
    ASSERT_TRUE(page.status.ok());
    ASSERT_EQ(page.records.size(), 20u);
    for (const v1::Record& record : page.records) {
      int64_t total = std::get<2>(shop_.ReadOrder(record.proto()));
      EXPECT_GT(total, base);
      EXPECT_LE(total, base + 20);
    }
  }
  // Deleting one space leaves the others whole.
  grpc::ClientContext context;
  v1::DeleteRecordSpaceRequest remove;
  remove.set_tenant("acme");
  remove.set_record_space("b");
  v1::DeleteRecordSpaceResponse removed;
  ASSERT_TRUE(client_->admin->DeleteRecordSpace(&context, remove, &removed).ok());
  std::unique_ptr<kv::Transaction> after = server_->db().CreateTransaction();
  EXPECT_TRUE(after->GetRange(prefixes["acme/b"], prefixes["acme/b"] + "\xff")->rows.empty());
  EXPECT_EQ(shop_.ReadOrder(client_->Get(a, "Order", 7).record().proto()),
            std::make_tuple(7, 1, 1007));
  EXPECT_EQ(shop_.ReadOrder(client_->Get(c, "Order", 7).record().proto()),
            std::make_tuple(7, 1, 3007));
}

// --- gRPC health checking ---

TEST_F(ServerTest, HealthCheckAnswersWithoutATokenForTheServerAndItsServicesOnly) {
  // No token, as a probe sends none.
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->grpc_port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  auto check = [&](const std::string& service, grpc::health::v1::HealthCheckResponse* response) {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    return stub->Check(&context, request, response);
  };
  for (const std::string service : {"", "recordstore.v1.Admin", "recordstore.v1.Schema",
                                    "recordstore.v1.Records", "recordstore.v1.Query"}) {
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = check(service, &response);
    ASSERT_TRUE(status.ok()) << service << ": " << status.error_message();
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING) << service;
  }
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status unknown = check("recordstore.v1.Records2", &response);
  EXPECT_EQ(unknown.error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(unknown.error_message(), "no service \"recordstore.v1.Records2\" here");
}

// --- HTTP ---

TEST_F(ServerTest, HealthzAndMetricsOverHttp) {
  v1::SpaceRef space = ShopSpace();
  PutOrders(space, 3);
  ASSERT_TRUE(client_->Put(space, Order(1, 1, 1), v1::INSERT).error_code() ==
              StatusCode::ALREADY_EXISTS);
  httplib::Client http("127.0.0.1", server_->http_port());
  httplib::Result health = http.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");
  // /metrics needs a token (server_auth_test covers the refusals).
  EXPECT_EQ(http.Get("/metrics")->status, 401);
  http.set_bearer_token_auth(server_->AdminToken());
  httplib::Result metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = metrics->body;
  for (const std::string line :
       {"recordstore_requests_total{method=\"Records.PutBatch\",code=\"OK\"} 1\n",
        "recordstore_requests_total{method=\"Records.Put\",code=\"ALREADY_EXISTS\"} 1\n",
        "recordstore_requests_total{method=\"Schema.UpdateSchema\",code=\"OK\"} 1\n",
        "recordstore_request_duration_seconds_count{method=\"Records.PutBatch\"} 1\n",
        "recordstore_request_duration_seconds_bucket{method=\"Records.PutBatch\",le=\"+Inf\"} 1\n",
        "# TYPE recordstore_transaction_retries_total counter\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << " missing from\n" << text;
  }
  // memory:// has no files to measure.
  EXPECT_EQ(text.find("recordstore_kv_disk_bytes"), std::string::npos);
  EXPECT_EQ(http.Get("/nothing")->status, 404);
}

// The value of the sample `series` (name and labels, as rendered) in /metrics `text`; -1
// when absent.
double SampleValue(const std::string& text, const std::string& series) {
  const std::string prefix = "\n" + series + " ";
  const size_t at = text.find(prefix);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + prefix.size()));
}

TEST_F(ServerTest, EachGroupCommitIsCountedWithItsSize) {
  v1::SpaceRef space = ShopSpace();
  const std::string before = server_->RenderMetrics();
  const std::string count = "recordstore_kv_commit_batch_transactions_count";
  const std::string ones = "recordstore_kv_commit_batch_transactions_bucket{le=\"1\"}";
  const std::string sum = "recordstore_kv_commit_batch_transactions_sum";
  ASSERT_GT(SampleValue(before, count), 0);  // the schema setup committed
  // One client, one request at a time: each write is a batch of its own. A read commits
  // nothing.
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(client_->Put(space, Order(id, 1, 10)).ok());
  client_->Get(space, "Order", 1);
  const std::string after = server_->RenderMetrics();
  EXPECT_EQ(SampleValue(after, count) - SampleValue(before, count), 3);
  EXPECT_EQ(SampleValue(after, ones) - SampleValue(before, ones), 3);
  EXPECT_EQ(SampleValue(after, sum) - SampleValue(before, sum), 3);
  EXPECT_NE(after.find("# TYPE recordstore_kv_commit_batch_transactions histogram\n"),
            std::string::npos);
}

// Makes the real engine report conflicts: while armed, just before a transaction commits,
// another transaction writes back (unchanged) the first key the first one read, so that read
// is stale and the engine refuses the commit with not_committed.
class ConflictingDatabase final : public kv::Database {
 public:
  explicit ConflictingDatabase(std::unique_ptr<kv::Database> inner) : inner_(std::move(inner)) {}

  std::unique_ptr<kv::Transaction> CreateTransaction(
      const kv::TransactionOptions& options) override {
    return std::make_unique<Txn>(*this, inner_->CreateTransaction(options));
  }

  std::atomic<bool> armed{false};
  // Conflicts caused so far.
  std::atomic<int> injected{0};

 private:
  class Txn final : public kv::Transaction {
   public:
    Txn(ConflictingDatabase& db, std::unique_ptr<kv::Transaction> inner)
        : db_(db), inner_(std::move(inner)) {}

    StatusOr<kv::Version> GetReadVersion() override { return inner_->GetReadVersion(); }
    void SetReadVersion(kv::Version version) override { inner_->SetReadVersion(version); }
    StatusOr<std::optional<std::string>> Get(std::string_view key, bool snapshot) override {
      if (!snapshot && !first_read_.has_value()) first_read_ = std::string(key);
      return inner_->Get(key, snapshot);
    }
    StatusOr<kv::RangeResult> GetRange(const kv::RangeEndpoint& begin, const kv::RangeEndpoint& end,
                                       const kv::RangeOptions& options) override {
      return inner_->GetRange(begin, end, options);
    }
    void Set(std::string_view key, std::string_view value) override { inner_->Set(key, value); }
    void Clear(std::string_view key) override { inner_->Clear(key); }
    void ClearRange(std::string_view begin, std::string_view end) override {
      inner_->ClearRange(begin, end);
    }
    void AtomicOp(kv::MutationType type, std::string_view key, std::string_view operand) override {
      inner_->AtomicOp(type, key, operand);
    }
    void AddReadConflictRange(std::string_view begin, std::string_view end) override {
      inner_->AddReadConflictRange(begin, end);
    }
    void AddReadConflictKey(std::string_view key) override { inner_->AddReadConflictKey(key); }
    void AddWriteConflictRange(std::string_view begin, std::string_view end) override {
      inner_->AddWriteConflictRange(begin, end);
    }
    void AddWriteConflictKey(std::string_view key) override { inner_->AddWriteConflictKey(key); }
    StatusOr<std::shared_ptr<kv::Watch>> WatchKey(std::string_view key) override {
      return inner_->WatchKey(key);
    }
      StatusOr<std::optional<std::string>> GetMetadataVersion(bool snapshot) override {
        return inner_->GetMetadataVersion(snapshot);
      }
      void BumpMetadataVersion() override { inner_->BumpMetadataVersion(); }
      uint64_t database_id() const override { return inner_->database_id(); }
    Status Commit() override {
      if (db_.armed && first_read_.has_value()) {
        std::unique_ptr<kv::Transaction> other = db_.inner_->CreateTransaction();
        StatusOr<std::optional<std::string>> value = other->Get(*first_read_, true);
        if (!value.ok()) return value.status();
        if (value->has_value()) {
          other->Set(*first_read_, **value);
        } else {
          other->Clear(*first_read_);
        }
        RETURN_IF_ERROR(other->Commit());
        ++db_.injected;
      }
      return inner_->Commit();
    }
    kv::Version GetCommittedVersion() const override { return inner_->GetCommittedVersion(); }
    StatusOr<std::string> GetVersionstamp() const override { return inner_->GetVersionstamp(); }
    int64_t GetApproximateSize() const override { return inner_->GetApproximateSize(); }
    Status OnError(const Status& error) override {
      first_read_.reset();
      return inner_->OnError(error);
    }
    void Reset() override {
      first_read_.reset();
      inner_->Reset();
    }
    void Cancel() override { inner_->Cancel(); }
    void SetOptions(const kv::TransactionOptions& options) override { inner_->SetOptions(options); }

   private:
    ConflictingDatabase& db_;
    std::unique_ptr<kv::Transaction> inner_;
    std::optional<std::string> first_read_;
  };

  std::unique_ptr<kv::Database> inner_;
};

TEST_F(ServerTest, RequestThatKeepsConflictingIsAbortedAfterMaxAttemptsAndCounted) {
  ConflictingDatabase* conflicting = nullptr;
  server_.reset();
  options_.wrap_database = [&](std::unique_ptr<kv::Database> db) {
    auto wrapper = std::make_unique<ConflictingDatabase>(std::move(db));
    conflicting = wrapper.get();
    return std::unique_ptr<kv::Database>(std::move(wrapper));
  };
  StartServer();
  ASSERT_NE(conflicting, nullptr);
  v1::SpaceRef space = ShopSpace();

  conflicting->armed = true;
  grpc::Status status = client_->Put(space, Order(1, 1, 10));
  EXPECT_EQ(status.error_code(), StatusCode::ABORTED);
  EXPECT_EQ(status.error_message(),
            "not_committed (1020): a key or range read by the transaction was written after its "
            "read version; gave up after 20 attempts: retry the request later, or have fewer "
            "requests write what it reads");
  EXPECT_EQ(conflicting->injected, kMaxAttempts);
  const std::string metrics = server_->RenderMetrics();
  // Every attempt but the last was retried; the last made the request ABORTED.
  EXPECT_EQ(SampleValue(metrics,
                        "recordstore_transaction_retries_total{method=\"Records.Put\","
                        "error=\"not_committed\"}"),
            kMaxAttempts - 1);
  EXPECT_EQ(
      SampleValue(metrics, "recordstore_requests_total{method=\"Records.Put\",code=\"ABORTED\"}"),
      1);

  // Nothing was stored; without the interference the same request goes through at once.
  conflicting->armed = false;
  EXPECT_FALSE(client_->Get(space, "Order", 1).found());
  EXPECT_TRUE(client_->Put(space, Order(1, 1, 10)).ok());
  EXPECT_TRUE(client_->Get(space, "Order", 1).found());
  EXPECT_EQ(conflicting->injected, kMaxAttempts);
  EXPECT_EQ(SampleValue(server_->RenderMetrics(),
                        "recordstore_transaction_retries_total{method=\"Records.Put\","
                        "error=\"not_committed\"}"),
            kMaxAttempts - 1);
}

// --- Shutdown and restart ---

std::string TempDir(const std::string& name) {
  std::string dir =
      (std::filesystem::temp_directory_path() / (name + "-" + std::to_string(getpid()))).string();
  std::filesystem::remove_all(dir);
  return dir;
}

TEST_F(ServerTest, PutsAcknowledgedBeforeShutdownSurviveARestart) {
  server_->Shutdown();
  const std::string dir = TempDir("rs-server-shutdown");
  options_.kv_url.clear();
  options_.data_dir = dir;
  StartServer();
  v1::SpaceRef space = ShopSpace();
  // Writers keep putting while the server shuts down; each remembers what was acknowledged.
  std::vector<std::thread> writers;
  std::vector<std::vector<int64_t>> acknowledged(4);
  std::atomic<int> started{0};
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      std::unique_ptr<Client> client = Connect(server_->grpc_port(), server_->AdminToken());
      for (int64_t id = w * 100000 + 1;; ++id) {
        grpc::Status status = client->Put(space, Order(id, w, id));
        if (!status.ok()) {
          // Refused (not started) once the server stops accepting calls.
          EXPECT_TRUE(status.error_code() == StatusCode::UNAVAILABLE ||
                      status.error_code() == StatusCode::CANCELLED)
              << status.error_code() << " " << status.error_message();
          break;
        }
        acknowledged[w].push_back(id);
        started.fetch_add(1);
      }
    });
  }
  while (started.load() < 40) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  server_->Shutdown();
  for (std::thread& writer : writers) writer.join();
  server_.reset();

  StartServer();
  int64_t total = 0;
  for (const std::vector<int64_t>& ids : acknowledged) {
    for (int64_t id : ids) {
      ASSERT_TRUE(client_->Get(space, "Order", id).found()) << id;
      ++total;
    }
  }
  EXPECT_GE(total, 40);
  httplib::Client http("127.0.0.1", server_->http_port());
  http.set_bearer_token_auth(server_->AdminToken());
  EXPECT_NE(http.Get("/metrics")->body.find("\nrecordstore_kv_disk_bytes "), std::string::npos);
  server_.reset();
  std::filesystem::remove_all(dir);
}

TEST_F(ServerTest, IndexBuildStoppedByShutdownResumesAfterRestart) {
  server_->Shutdown();
  const std::string dir = TempDir("rs-server-build");
  options_.kv_url.clear();
  options_.data_dir = dir;
  options_.index_build_records_per_second = 50;  // 400 records: about 8 seconds
  StartServer();
  v1::SpaceRef space = ShopSpace();
  PutOrders(space, 400);
  v1::SchemaSpec spec = IndexedShopSpec();
  *spec.add_indexes() = Index("order_by_total", "value", {"total"});
  v1::UpdateSchemaResponse response;
  ASSERT_TRUE(client_->UpdateSchema(space, spec, &response).ok());
  ASSERT_EQ(response.building_indexes_size(), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto stop_started = std::chrono::steady_clock::now();
  server_->Shutdown();
  // The build does not hold the shutdown for the rest of its 8 seconds.
  EXPECT_LT(std::chrono::steady_clock::now() - stop_started, std::chrono::seconds(4));
  server_.reset();

  options_.index_build_records_per_second = 0;
  StartServer();
  std::string state;
  for (int attempt = 0; attempt < 600 && state != "readable"; ++attempt) {
    const v1::GetSchemaResponse schema = client_->GetSchema(space);
    for (const v1::IndexStatus& index : schema.indexes()) {
      if (index.name() == "order_by_total") state = index.state();
    }
    if (attempt == 0) {
      EXPECT_EQ(state, "write_only") << "the build was not stopped";
    }
    if (state != "readable") std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(state, "readable");
  v1::QueryRequest request;
  *request.mutable_space() = space;
  request.set_sql("SELECT * FROM Order WHERE total >= 0 ORDER BY total");
  request.set_row_limit(150);
  int calls = 0;
  EXPECT_EQ(client_->ExecuteAll(request, &calls).size(), 400u);
  server_.reset();
  std::filesystem::remove_all(dir);
}

TEST_F(ServerTest, SecondServerOnABusyPortIsRefused) {
  ServerOptions options = options_;
  options.listen = "127.0.0.1:" + std::to_string(server_->grpc_port());
  StatusOr<std::unique_ptr<Server>> second = Server::Start(options);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  options.listen = "127.0.0.1:0";
  options.http_listen = "127.0.0.1:" + std::to_string(server_->http_port());
  second = Server::Start(options);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  options.http_listen = "";
  options.tls_cert_file = "/nonexistent.pem";
  options.tls_key_file = "/nonexistent.key";
  second = Server::Start(options);
  EXPECT_TRUE(HasErrorCode(second.status(), ErrorCode::kInvalidArgument)) << second.status();
  options.tls_cert_file = "";
  options.tls_key_file = "";
  options.worker_threads = 1;
  EXPECT_TRUE(HasErrorCode(Server::Start(options).status(), ErrorCode::kInvalidArgument));
}

// --- TLS ---

TEST_F(ServerTest, TlsServesOnlyEncryptedClients) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl";
  const std::string dir = TempDir("rs-server-tls");
  std::filesystem::create_directories(dir);
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
      "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
      dir + "/key.pem -out " + dir + "/cert.pem >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0);
  ServerOptions options = options_;
  options.tls_cert_file = dir + "/cert.pem";
  options.tls_key_file = dir + "/key.pem";
  options.worker_threads = 4;
  StatusOr<std::unique_ptr<Server>> tls = Server::Start(options);
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_TRUE((*tls)->tls());
  std::ifstream cert_file(options.tls_cert_file);
  std::stringstream cert;
  cert << cert_file.rdbuf();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = cert.str();
  const std::string target = "127.0.0.1:" + std::to_string((*tls)->grpc_port());
  Client secure(TokenChannel(target, (*tls)->AdminToken(), grpc::SslCredentials(ssl)));
  EXPECT_TRUE(secure.CreateTenant("secure").ok());

  Client plain(TokenChannel(target, (*tls)->AdminToken()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  v1::ListTenantsResponse response;
  EXPECT_FALSE(plain.admin->ListTenants(&context, {}, &response).ok());
  tls->reset();
  std::filesystem::remove_all(dir);
}

// --- The serve command ---

// Runs serve_for_test (`recordstore serve`) with `args`; its stdout is read through a pipe.
struct ServeProcess {
  pid_t pid = -1;
  FILE* out = nullptr;

  explicit ServeProcess(const std::vector<std::string>& args) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    pid = fork();
    if (pid == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(RS_SERVE_FOR_TEST));
      argv.push_back(const_cast<char*>("serve"));
      for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      execv(RS_SERVE_FOR_TEST, argv.data());
      _exit(127);
    }
    close(fds[1]);
    out = fdopen(fds[0], "r");
  }
  // The next line of output ("" at the end).
  std::string Line() {
    char buffer[1024];
    if (fgets(buffer, sizeof(buffer), out) == nullptr) return "";
    return buffer;
  }
  int Wait() {
    int status = 0;
    waitpid(pid, &status, 0);
    fclose(out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

int PortOf(const std::string& line) {
  const size_t colon = line.rfind(':');
  return std::stoi(line.substr(colon + 1));
}

TEST(ServeCommandTest, SigtermFinishesGracefullyAndDataSurvives) {
  const std::string dir = TempDir("rs-serve-command");
  const std::string config = dir + ".json";
  {
    std::ofstream file(config);
    file << R"({"listen": "127.0.0.1:1", "limits": {"shutdown_grace_ms": 5000}})";
  }
  // The flags win over the config file's listen address.
  ServeProcess serve({"--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--data-dir", dir,
                      "--config", config});
  const std::string grpc_line = serve.Line();
  ASSERT_NE(grpc_line.find("gRPC listening on 127.0.0.1:"), std::string::npos) << grpc_line;
  EXPECT_NE(grpc_line.find("(plaintext)"), std::string::npos);
  const std::string http_line = serve.Line();
  ASSERT_NE(http_line.find("HTTP listening on 127.0.0.1:"), std::string::npos) << http_line;
  // First start: a root key, and an admin token to begin with, both readable by the owner only.
  EXPECT_EQ(serve.Line(),
            "recordstore: first start: new root key " + dir + "/root_key; an admin token is in " +
                dir + "/admin.token (export RECORDSTORE_TOKEN=$(cat " + dir + "/admin.token))\n");
  const std::string data_line = serve.Line();
  EXPECT_NE(data_line.find("data in " + dir + "/kv, encrypted at rest with master key "),
            std::string::npos)
      << data_line;
  EXPECT_NE(data_line.find("(file generated now: " + dir + "/master.key)"), std::string::npos)
      << data_line;
  const int port = PortOf(grpc_line);
  for (const char* secret : {"/root_key", "/admin.token"}) {
    EXPECT_EQ(std::filesystem::status(dir + secret).permissions(),
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)
        << secret;
  }
  std::string admin_token;
  std::getline(std::ifstream(dir + "/admin.token"), admin_token);
  {
    httplib::Client http("127.0.0.1", PortOf(http_line.substr(0, http_line.find(" ("))));
    httplib::Result health = http.Get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->body, "ok\n");
  }
  {
    // Closed before the signal: gRPC's shutdown waits for connected clients to hang up, and
    // an idle C++ client only notices the server's GOAWAY at its next poll (up to 5 s).
    Client client(TokenChannel("127.0.0.1:" + std::to_string(port), admin_token));
    ASSERT_TRUE(client.CreateTenant("kept").ok());
  }
  const auto signalled = std::chrono::steady_clock::now();
  kill(serve.pid, SIGTERM);
  EXPECT_NE(serve.Line().find("SIGTERM: finishing in-flight requests"), std::string::npos);
  EXPECT_NE(serve.Line().find("stopped"), std::string::npos);
  EXPECT_EQ(serve.Wait(), 0);
  // No request was in flight, and the client closed its connection: nothing to wait for.
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, std::chrono::seconds(4));

  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.http_listen = "";
  options.data_dir = dir;
  StatusOr<std::unique_ptr<Server>> restarted = Server::Start(options);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  // The same root key after the restart: the first token still works, and no new one is made.
  EXPECT_EQ((*restarted)->admin_token_file(), "");
  Client again(TokenChannel("127.0.0.1:" + std::to_string((*restarted)->grpc_port()), admin_token));
  EXPECT_EQ(again.CreateTenant("kept").error_code(), StatusCode::ALREADY_EXISTS);
  restarted->reset();
  std::filesystem::remove_all(dir);
  std::filesystem::remove(config);
}

TEST(ServeCommandTest, BadConfigExitsWithAnError) {
  const std::string config = TempDir("rs-serve-bad") + ".json";
  {
    std::ofstream file(config);
    file << R"({"listen": "127.0.0.1:0", "worker_thread": 4})";
  }
  ServeProcess serve({"--config", config});
  EXPECT_EQ(serve.Line(), "");
  EXPECT_EQ(serve.Wait(), 1);
  std::filesystem::remove(config);
}

}  // namespace
}  // namespace recordstore::server
