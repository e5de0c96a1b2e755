// Authorization end to end (docs/security.md, "Authorization"): a Server on loopback, real
// tokens minted from its root key, every refusal with its exact gRPC code and message, every
// allowed case allowed; every method of every service refuses a call without a token.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/escaping.h"
#include "auth/access.h"
#include "auth/biscuit.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/generic/generic_stub.h"
#include "recordstore/v1/admin.grpc.pb.h"
#include "recordstore/v1/query.grpc.pb.h"
#include "recordstore/v1/records.grpc.pb.h"
#include "recordstore/v1/schema.grpc.pb.h"
#include "server/server.h"
#include "server/server_test_util.h"
#include "server/token_channel.h"

namespace recordstore::server {
namespace {

namespace fs = std::filesystem;
using auth::Grant;
using auth::Operation;
using grpc::StatusCode;

v1::Record Json(const std::string& type, const std::string& json) {
  v1::Record record;
  record.set_record_type(type);
  record.set_json(json);
  return record;
}
v1::Record Order(int id) { return Json("Order", "{\"order_id\": " + std::to_string(id) + "}"); }
v1::Record Customer(int id) {
  return Json("Customer", "{\"customer_id\": " + std::to_string(id) + "}");
}

// The stubs, with every call carrying one token.
struct Caller {
  Caller(int port, const std::string& token)
      : channel(TokenChannel("127.0.0.1:" + std::to_string(port), token)),
        admin(v1::Admin::NewStub(channel)),
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
  grpc::Status DeleteTenant(const std::string& tenant) {
    grpc::ClientContext context;
    v1::DeleteTenantRequest request;
    request.set_tenant(tenant);
    v1::DeleteTenantResponse response;
    return admin->DeleteTenant(&context, request, &response);
  }
  grpc::Status ListTenants() {
    grpc::ClientContext context;
    v1::ListTenantsResponse response;
    return admin->ListTenants(&context, {}, &response);
  }
  grpc::Status CreateSpace(const std::string& tenant, const std::string& space) {
    grpc::ClientContext context;
    v1::CreateRecordSpaceRequest request;
    request.set_tenant(tenant);
    request.set_record_space(space);
    v1::CreateRecordSpaceResponse response;
    return admin->CreateRecordSpace(&context, request, &response);
  }
  grpc::Status ListSpaces(const std::string& tenant) {
    grpc::ClientContext context;
    v1::ListRecordSpacesRequest request;
    request.set_tenant(tenant);
    v1::ListRecordSpacesResponse response;
    return admin->ListRecordSpaces(&context, request, &response);
  }
  grpc::Status Revoke(const std::string& id, int* newly = nullptr) {
    grpc::ClientContext context;
    v1::RevokeTokensRequest request;
    request.add_revocation_ids(id);
    v1::RevokeTokensResponse response;
    grpc::Status status = admin->RevokeTokens(&context, request, &response);
    if (newly != nullptr) *newly = response.newly_revoked();
    return status;
  }
  grpc::Status RotateKey(const std::string& tenant) {
    grpc::ClientContext context;
    v1::RotateTenantKeyRequest request;
    request.set_tenant(tenant);
    v1::RotateTenantKeyResponse response;
    return admin->RotateTenantKey(&context, request, &response);
  }
  grpc::Status KeyStatus(const std::string& tenant) {
    grpc::ClientContext context;
    v1::GetTenantKeyStatusRequest request;
    request.set_tenant(tenant);
    v1::GetTenantKeyStatusResponse response;
    return admin->GetTenantKeyStatus(&context, request, &response);
  }
  grpc::Status UpdateSchema(const v1::SpaceRef& space) {
    grpc::ClientContext context;
    v1::UpdateSchemaRequest request;
    *request.mutable_space() = space;
    *request.mutable_schema() = ShopSpec();
    v1::UpdateSchemaResponse response;
    return schema->UpdateSchema(&context, request, &response);
  }
  grpc::Status GetSchema(const v1::SpaceRef& space) {
    grpc::ClientContext context;
    v1::GetSchemaRequest request;
    *request.mutable_space() = space;
    v1::GetSchemaResponse response;
    return schema->GetSchema(&context, request, &response);
  }
  grpc::Status Put(const v1::SpaceRef& space, const v1::Record& record) {
    grpc::ClientContext context;
    v1::PutRequest request;
    *request.mutable_space() = space;
    *request.mutable_record() = record;
    v1::PutResponse response;
    return records->Put(&context, request, &response);
  }
  grpc::Status PutBatch(const v1::SpaceRef& space, const std::vector<v1::Record>& batch) {
    grpc::ClientContext context;
    v1::PutBatchRequest request;
    *request.mutable_space() = space;
    for (const v1::Record& record : batch) *request.add_records() = record;
    v1::PutBatchResponse response;
    return records->PutBatch(&context, request, &response);
  }
  grpc::Status Get(const v1::SpaceRef& space, const std::string& type, int64_t id) {
    grpc::ClientContext context;
    v1::GetRequest request;
    *request.mutable_space() = space;
    request.set_record_type(type);
    request.add_primary_key()->set_int64(id);
    v1::GetResponse response;
    return records->Get(&context, request, &response);
  }
  grpc::Status Delete(const v1::SpaceRef& space, const std::string& type, int64_t id) {
    grpc::ClientContext context;
    v1::DeleteRequest request;
    *request.mutable_space() = space;
    request.set_record_type(type);
    request.add_primary_key()->set_int64(id);
    v1::DeleteResponse response;
    return records->Delete(&context, request, &response);
  }
  // Runs the query (one call, every message); its status, and the records it returned.
  grpc::Status Execute(const v1::SpaceRef& space, const std::string& sql, int* count = nullptr) {
    grpc::ClientContext context;
    v1::QueryRequest request;
    *request.mutable_space() = space;
    request.set_sql(sql);
    auto reader = query->Execute(&context, request);
    v1::QueryResponse message;
    int records = 0;
    while (reader->Read(&message)) records += message.records_size();
    if (count != nullptr) *count = records;
    return reader->Finish();
  }

  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Admin::Stub> admin;
  std::unique_ptr<v1::Schema::Stub> schema;
  std::unique_ptr<v1::Records::Stub> records;
  std::unique_ptr<v1::Query::Stub> query;
};

// Matches a status against the code and the exact message.
#define EXPECT_REFUSED(status_expr, code, message)                        \
  do {                                                                    \
    const grpc::Status refused_ = (status_expr);                          \
    EXPECT_EQ(refused_.error_code(), (code)) << refused_.error_message(); \
    EXPECT_EQ(refused_.error_message(), (message));                       \
  } while (false)

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.listen = "127.0.0.1:0";
    options_.http_listen = "127.0.0.1:0";
    options_.kv_url = "memory://";
    StatusOr<std::unique_ptr<Server>> started = Server::Start(options_);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
    admin_ = std::make_unique<Caller>(server_->grpc_port(), server_->AdminToken());
    // acme/users, acme/orders, globex/users, each with the shop schema and order 1.
    for (const auto& [tenant, space] : std::vector<std::pair<std::string, std::string>>{
             {"acme", "users"}, {"acme", "orders"}, {"globex", "users"}}) {
      grpc::Status created = admin_->CreateTenant(tenant);
      ASSERT_TRUE(created.ok() || created.error_code() == StatusCode::ALREADY_EXISTS);
      ASSERT_TRUE(admin_->CreateSpace(tenant, space).ok());
      ASSERT_TRUE(admin_->UpdateSchema(Space(tenant, space)).ok());
      ASSERT_TRUE(admin_->Put(Space(tenant, space), Order(1)).ok());
    }
  }

  std::string Mint(const std::vector<Grant>& grants) {
    StatusOr<std::string> token = server_->MintToken(grants);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.value_or("");
  }
  auth::Biscuit Parse(const std::string& token) {
    StatusOr<auth::Biscuit> parsed =
        auth::Biscuit::FromBase64(token, server_->root_key().public_key());
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return *std::move(parsed);
  }
  std::string Attenuate(const std::string& token, const std::string& code) {
    StatusOr<auth::Biscuit> attenuated = Parse(token).Attenuate(code);
    EXPECT_TRUE(attenuated.ok()) << attenuated.status();
    return attenuated->ToBase64();
  }
  Caller As(const std::string& token) { return Caller(server_->grpc_port(), token); }
  std::string Metrics() {
    httplib::Client http("127.0.0.1", server_->http_port());
    http.set_bearer_token_auth(server_->AdminToken());
    return http.Get("/metrics")->body;
  }

  ServerOptions options_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Caller> admin_;
};

const std::vector<Operation> kReadWrite = {Operation::kRead, Operation::kWrite};

// --- Every RPC is covered ---

// Calls `path` ("/package.Service/Method") with an empty request message and `metadata`
// (an authorization value, or none when empty), whatever the method's kind: on the wire a
// server-streaming call is a unary request too.
grpc::Status CallRaw(const std::shared_ptr<grpc::Channel>& channel, const std::string& path,
                     const std::string& authorization) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  grpc::ClientContext context;
  if (!authorization.empty()) context.AddMetadata("authorization", authorization);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
      stub.PrepareUnaryCall(&context, path, request, &queue);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  EXPECT_TRUE(queue.Next(&tag, &ok));
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  return status;
}

TEST_F(AuthTest, EveryMethodOfEveryServiceRefusesACallWithoutARight) {
  // Every service of every API file, found through the generated descriptors, so that a new
  // RPC cannot skip authorization unnoticed. (Server reflection is not in the API files: it
  // stays open, as it tells only what the API is.)
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->grpc_port()),
                                     grpc::InsecureChannelCredentials());
  // A valid token whose only right is on another tenant: every empty request is refused
  // by the authorizer, not only by the token check.
  const std::string stranger =
      "Bearer " + Mint({Grant{.tenant = "nobody",
                              .operations = {std::begin(auth::kAllOperations),
                                             std::end(auth::kAllOperations)}}});
  int methods = 0;
  for (const auto& entry :
       fs::directory_iterator(std::string(RS_SOURCE_DIR) + "/proto/recordstore/v1")) {
    const std::string name = "recordstore/v1/" + entry.path().filename().string();
    const google::protobuf::FileDescriptor* file = pool->FindFileByName(name);
    ASSERT_NE(file, nullptr) << name << " is not linked into the server";
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const std::string path = "/" + service->full_name() + "/" + service->method(m)->name();
        ++methods;
        grpc::Status none = CallRaw(channel, path, "");
        EXPECT_EQ(none.error_code(), StatusCode::UNAUTHENTICATED)
            << path << ": " << none.error_message();
        EXPECT_EQ(none.error_message().rfind("unauthenticated (8008): no token", 0), 0u)
            << path << ": " << none.error_message();
        grpc::Status garbage = CallRaw(channel, path, "Bearer not-a-token");
        EXPECT_EQ(garbage.error_code(), StatusCode::UNAUTHENTICATED) << path;
        grpc::Status denied = CallRaw(channel, path, stranger);
        EXPECT_EQ(denied.error_code(), StatusCode::PERMISSION_DENIED)
            << path << ": " << denied.error_message();
        EXPECT_NE(denied.error_message().find("(" + service->name() + "." +
                                              service->method(m)->name() + ")"),
                  std::string::npos)
            << denied.error_message();
      }
    }
  }
  // Admin 10, Schema 2, Records 5, Query 3.
  EXPECT_EQ(methods, 20);
}

// --- Authentication ---

TEST_F(AuthTest, MissingGarbageAndNonBearerTokensAreUnauthenticated) {
  EXPECT_REFUSED(As("").ListTenants(), StatusCode::UNAUTHENTICATED,
                 "unauthenticated (8008): no token: send \"authorization: Bearer <token>\" "
                 "metadata (mint one with `recordstore token mint`)");
  EXPECT_REFUSED(As("%%%").ListTenants(), StatusCode::UNAUTHENTICATED,
                 "unauthenticated (8008): the token is not a Biscuit token in base64url "
                 "(invalid base64url)");
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->grpc_port()),
                                     grpc::InsecureChannelCredentials());
  grpc::Status basic =
      CallRaw(channel, "/recordstore.v1.Admin/ListTenants", "Basic " + server_->AdminToken());
  EXPECT_EQ(basic.error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(basic.error_message(),
            "unauthenticated (8008): the authorization value must be \"Bearer <token>\"");
  // The scheme is case-insensitive (RFC 6750).
  EXPECT_TRUE(
      CallRaw(channel, "/recordstore.v1.Admin/ListTenants", "bearer " + server_->AdminToken())
          .ok());
}

TEST_F(AuthTest, TokensOfAnotherRootKeyAndForgedSignaturesAreUnauthenticated) {
  const std::string invalid =
      "unauthenticated (8008): the token's signatures do not verify with this server's root "
      "key (a token of another server, or altered)";
  auto other = auth::KeyPair::Generate(auth::Algorithm::kEd25519);
  ASSERT_TRUE(other.ok());
  auto foreign = auth::Biscuit::Mint(*other, *auth::AuthorityCode(auth::AdminGrants()));
  ASSERT_TRUE(foreign.ok());
  EXPECT_REFUSED(As(foreign->ToBase64()).ListTenants(), StatusCode::UNAUTHENTICATED, invalid);

  // A reader's token whose authority block is swapped for one granting everything, keeping
  // the reader's signature.
  std::string reader;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(
      Mint({Grant{.tenant = "acme", .record_space = "users", .operations = {Operation::kRead}}}),
      &reader));
  std::string admin;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(server_->AdminToken(), &admin));
  auth::wire::Biscuit forged;
  ASSERT_TRUE(forged.ParseFromString(reader));
  auth::wire::Biscuit donor;
  ASSERT_TRUE(donor.ParseFromString(admin));
  forged.mutable_authority()->set_block(donor.authority().block());
  std::string forged_text;
  absl::WebSafeBase64Escape(forged.SerializeAsString(), &forged_text);
  EXPECT_REFUSED(As(forged_text).ListTenants(), StatusCode::UNAUTHENTICATED, invalid);
  EXPECT_REFUSED(As(forged_text).Put(Space("acme", "users"), Order(2)), StatusCode::UNAUTHENTICATED,
                 invalid);
  EXPECT_NE(Metrics().find("recordstore_auth_failures_total{reason=\"invalid_signature\"} 3\n"),
            std::string::npos)
      << Metrics();
}

TEST_F(AuthTest, ExpiredTokensAreRefusedAndUnexpiredOnesAllowed) {
  const std::string writer = Mint({Grant{.tenant = "acme", .operations = kReadWrite}});
  const std::string expired = Attenuate(writer, "check if time($t), $t < 2020-01-01T00:00:00Z;");
  EXPECT_REFUSED(As(expired).Get(Space("acme", "users"), "Order", 1), StatusCode::PERMISSION_DENIED,
                 "permission_denied (8009): the token does not allow read on acme/users "
                 "(record type Order) (Records.Get): failed block 1: check if time($t), $t < "
                 "2020-01-01T00:00:00Z");
  auth::Restriction hour{.expires = std::chrono::system_clock::now() + std::chrono::hours(1)};
  const std::string valid = Attenuate(writer, *auth::AttenuationCode(hour));
  EXPECT_TRUE(As(valid).Get(Space("acme", "users"), "Order", 1).ok());
}

TEST_F(AuthTest, RevokedTokensAreUnauthenticatedByAnyBlocksId) {
  const std::string parent = Mint({Grant{.tenant = "acme", .operations = kReadWrite}});
  const std::string child = Attenuate(parent, "check if operation(\"read\");");
  const std::vector<std::string> ids = Parse(child).RevocationIds();
  ASSERT_EQ(ids.size(), 2u);
  const v1::SpaceRef users = Space("acme", "users");
  ASSERT_TRUE(As(child).Get(users, "Order", 1).ok());

  // Revoking the child's own block: the child is refused, its parent still works.
  int newly = -1;
  ASSERT_TRUE(admin_->Revoke(auth::HexEncode(ids[1]), &newly).ok());
  EXPECT_EQ(newly, 1);
  EXPECT_REFUSED(As(child).Get(users, "Order", 1), StatusCode::UNAUTHENTICATED,
                 "unauthenticated (8008): the token was revoked (revocation id of block 1: " +
                     auth::HexEncode(ids[1]) + ")");
  EXPECT_TRUE(As(parent).Get(users, "Order", 1).ok());
  // Revoking the authority block (uppercase accepted) refuses every token made from it.
  ASSERT_TRUE(admin_->Revoke(absl::AsciiStrToUpper(auth::HexEncode(ids[0])), &newly).ok());
  EXPECT_EQ(newly, 1);
  EXPECT_EQ(As(parent).Get(users, "Order", 1).error_code(), StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(admin_->Revoke(auth::HexEncode(ids[0]), &newly).ok());
  EXPECT_EQ(newly, 0);
  EXPECT_REFUSED(admin_->Revoke("not hex"), StatusCode::INVALID_ARGUMENT,
                 "invalid_argument (8001): revocation id \"not hex\" is not 16 to 512 hex "
                 "digits (see `recordstore token inspect`)");
  // Only the server's administrator revokes.
  EXPECT_EQ(As(Mint({Grant{.tenant = "acme", .operations = {Operation::kAdmin}}}))
                .Revoke(auth::HexEncode(ids[0]))
                .error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_NE(Metrics().find("recordstore_auth_failures_total{reason=\"revoked\"} 2\n"),
            std::string::npos);
}

// Authorization answers are cached (AccessOptions::authorization_cache); these are the ways
// a cached allow must stop being one.

TEST_F(AuthTest, ATokenExpiringAfterCachedAllowsIsRefused) {
  const std::string reader = Mint({Grant{.tenant = "acme", .operations = {Operation::kRead}}});
  // Expires at the start of the second after next: allowed now, refused once it has passed.
  const auto expires = std::chrono::ceil<std::chrono::seconds>(std::chrono::system_clock::now()) +
                       std::chrono::seconds(1);
  const std::string expiring = Attenuate(reader, *auth::AttenuationCode({.expires = expires}));
  Caller caller = As(expiring);
  const v1::SpaceRef users = Space("acme", "users");
  ASSERT_TRUE(caller.Get(users, "Order", 1).ok());
  ASSERT_TRUE(caller.Get(users, "Order", 1).ok());  // the cached allow
  std::this_thread::sleep_until(expires + std::chrono::milliseconds(50));
  grpc::Status expired = caller.Get(users, "Order", 1);
  EXPECT_EQ(expired.error_code(), StatusCode::PERMISSION_DENIED) << expired.error_message();
  EXPECT_NE(expired.error_message().find("failed block 1: check if time($t), $t < "),
            std::string::npos)
      << expired.error_message();
}

TEST_F(AuthTest, ATokenRevokedAfterCachedAllowsIsRefused) {
  const std::string reader = Mint({Grant{.tenant = "acme", .operations = {Operation::kRead}}});
  Caller caller = As(reader);
  const v1::SpaceRef users = Space("acme", "users");
  ASSERT_TRUE(caller.Get(users, "Order", 1).ok());
  ASSERT_TRUE(caller.Get(users, "Order", 1).ok());  // the cached allow
  ASSERT_TRUE(admin_->Revoke(auth::HexEncode(Parse(reader).RevocationIds()[0])).ok());
  EXPECT_REFUSED(caller.Get(users, "Order", 1), StatusCode::UNAUTHENTICATED,
                 "unauthenticated (8008): the token was revoked (revocation id of block 0: " +
                     auth::HexEncode(Parse(reader).RevocationIds()[0]) + ")");
}

TEST_F(AuthTest, ACachedAllowIsNeverServedForAnotherTenantOrSpace) {
  Caller acme = As(
      Mint({Grant{.tenant = "acme", .record_space = "users", .operations = {Operation::kRead}}}));
  Caller globex = As(Mint({Grant{.tenant = "globex", .operations = {Operation::kRead}}}));
  for (int round = 0; round < 2; ++round) {
    EXPECT_TRUE(acme.Get(Space("acme", "users"), "Order", 1).ok());
    EXPECT_EQ(acme.Get(Space("globex", "users"), "Order", 1).error_code(),
              StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(acme.Get(Space("acme", "orders"), "Order", 1).error_code(),
              StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(globex.Get(Space("acme", "users"), "Order", 1).error_code(),
              StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(acme.Put(Space("acme", "users"), Order(7)).error_code(),
              StatusCode::PERMISSION_DENIED);
  }
}

TEST_F(AuthTest, RevocationsReachOtherServersWithinTheRefreshInterval) {
  std::unique_ptr<kv::Database> db = *kv::Database::Open("memory://");
  auto writer = Revocations::Open(*db, std::chrono::hours(1));
  auto stale = Revocations::Open(*db, std::chrono::hours(1));
  auto fresh = Revocations::Open(*db, std::chrono::milliseconds(0));
  ASSERT_TRUE(writer.ok() && stale.ok() && fresh.ok());
  const std::string id(32, 'a');
  ASSERT_EQ(*(*writer)->Revoke({id}), 1);
  EXPECT_TRUE((*(*writer)->Current())->contains(id));
  // Another server's copy is at most its refresh interval old: a fresh one sees the change,
  // one refreshed an hour from now does not yet.
  EXPECT_TRUE((*(*fresh)->Current())->contains(id));
  EXPECT_FALSE((*(*stale)->Current())->contains(id));
  EXPECT_EQ(*(*stale)->List(), std::vector<std::string>{id});
}

// --- Authorization ---

TEST_F(AuthTest, TheRecordSpaceIsEnforcedNotOnlyTheTenant) {
  Caller users_writer =
      As(Mint({Grant{.tenant = "acme", .record_space = "users", .operations = kReadWrite}}));
  EXPECT_TRUE(users_writer.Put(Space("acme", "users"), Order(2)).ok());
  EXPECT_TRUE(users_writer.Get(Space("acme", "users"), "Order", 2).ok());
  EXPECT_REFUSED(users_writer.Put(Space("acme", "orders"), Order(2)), StatusCode::PERMISSION_DENIED,
                 "permission_denied (8009): the token does not allow write on acme/orders "
                 "(record type Order) (Records.Put): it grants no right(tenant, record space, "
                 "\"write\") that covers it");
  EXPECT_EQ(users_writer.Execute(Space("acme", "orders"), "SELECT * FROM Order").error_code(),
            StatusCode::PERMISSION_DENIED);
  // Listing the tenant's spaces needs a tenant-wide right.
  EXPECT_EQ(users_writer.ListSpaces("acme").error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(As(Mint({Grant{.tenant = "acme", .operations = {Operation::kRead}}}))
                  .ListSpaces("acme")
                  .ok());
}

TEST_F(AuthTest, WrongTenantIsDenied) {
  Caller acme = As(Mint({Grant{.tenant = "acme", .operations = kReadWrite}}));
  EXPECT_TRUE(acme.Put(Space("acme", "orders"), Order(3)).ok());
  EXPECT_REFUSED(acme.Get(Space("globex", "users"), "Order", 1), StatusCode::PERMISSION_DENIED,
                 "permission_denied (8009): the token does not allow read on globex/users "
                 "(record type Order) (Records.Get): it grants no right(tenant, record space, "
                 "\"read\") that covers it");
  EXPECT_EQ(acme.Put(Space("globex", "users"), Order(3)).error_code(),
            StatusCode::PERMISSION_DENIED);
}

TEST_F(AuthTest, ReadOnlyTokensCannotWrite) {
  const v1::SpaceRef users = Space("acme", "users");
  Caller reader = As(Mint({Grant{.tenant = "acme", .operations = {Operation::kRead}}}));
  EXPECT_TRUE(reader.Get(users, "Order", 1).ok());
  int count = 0;
  EXPECT_TRUE(reader.Execute(users, "SELECT * FROM Order", &count).ok());
  EXPECT_EQ(count, 1);
  EXPECT_TRUE(reader.GetSchema(users).ok());
  EXPECT_EQ(reader.Put(users, Order(4)).error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(reader.Delete(users, "Order", 1).error_code(), StatusCode::PERMISSION_DENIED);
  // The same through attenuation of a writer's token.
  Caller attenuated = As(Attenuate(Mint({Grant{.tenant = "acme", .operations = kReadWrite}}),
                                   *auth::AttenuationCode({.operations = {Operation::kRead}})));
  EXPECT_TRUE(attenuated.Get(users, "Order", 1).ok());
  EXPECT_REFUSED(attenuated.Put(users, Order(4)), StatusCode::PERMISSION_DENIED,
                 "permission_denied (8009): the token does not allow write on acme/users "
                 "(record type Order) (Records.Put): failed block 1: check if "
                 "operation(\"read\")");
  EXPECT_TRUE(admin_->Get(users, "Order", 1).ok());
}

TEST_F(AuthTest, SchemaChangesNeedTheSchemaRight) {
  const v1::SpaceRef users = Space("acme", "users");
  EXPECT_REFUSED(As(Mint({Grant{.tenant = "acme", .operations = kReadWrite}})).UpdateSchema(users),
                 StatusCode::PERMISSION_DENIED,
                 "permission_denied (8009): the token does not allow schema on acme/users "
                 "(Schema.UpdateSchema): it grants no right(tenant, record space, \"schema\") "
                 "that covers it");
  EXPECT_TRUE(
      As(Mint({Grant{
             .tenant = "acme", .record_space = "users", .operations = {Operation::kSchema}}}))
          .UpdateSchema(users)
          .ok());
}

TEST_F(AuthTest, AdminCallsNeedTheirRights) {
  Caller tenant_admin = As(Mint({Grant{.tenant = "acme", .operations = {Operation::kAdmin}}}));
  // Record spaces of its own tenant, nothing else.
  EXPECT_TRUE(tenant_admin.CreateSpace("acme", "extra").ok());
  EXPECT_EQ(tenant_admin.CreateSpace("globex", "extra").error_code(),
            StatusCode::PERMISSION_DENIED);
  // Tenants are the server administrator's.
  EXPECT_REFUSED(tenant_admin.CreateTenant("initech"), StatusCode::PERMISSION_DENIED,
                 "permission_denied (8009): the token does not allow admin on tenant initech "
                 "(Admin.CreateTenant): it grants no right(tenant, record space, \"admin\") "
                 "that covers it (server-level calls need right(\"*\", \"*\", \"admin\"))");
  EXPECT_EQ(tenant_admin.DeleteTenant("acme").error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_REFUSED(tenant_admin.ListTenants(), StatusCode::PERMISSION_DENIED,
                 "permission_denied (8009): the token does not allow read on the server "
                 "(Admin.ListTenants): it grants no right(tenant, record space, \"read\") that "
                 "covers it (server-level calls need right(\"*\", \"*\", \"read\"))");
  // Data is not the tenant administrator's either: admin is an operation of its own.
  EXPECT_EQ(tenant_admin.Get(Space("acme", "users"), "Order", 1).error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(admin_->CreateTenant("initech").ok());
  EXPECT_TRUE(admin_->ListTenants().ok());
  EXPECT_TRUE(admin_->DeleteTenant("initech").ok());
}

TEST_F(AuthTest, DataKeyRotationIsTheServerAdministrators) {
  // Even the tenant's own administrator: data keys protect the tenant from the storage, not
  // from its users, and a rotation costs the server a rewrite of every record of the tenant.
  Caller tenant_admin = As(Mint({Grant{.tenant = "acme", .operations = {Operation::kAdmin}}}));
  EXPECT_REFUSED(tenant_admin.RotateKey("acme"), StatusCode::PERMISSION_DENIED,
                 "permission_denied (8009): the token does not allow admin on tenant acme "
                 "(Admin.RotateTenantKey): it grants no right(tenant, record space, \"admin\") "
                 "that covers it (server-level calls need right(\"*\", \"*\", \"admin\"))");
  EXPECT_REFUSED(tenant_admin.KeyStatus("acme"), StatusCode::PERMISSION_DENIED,
                 "permission_denied (8009): the token does not allow admin on tenant acme "
                 "(Admin.GetTenantKeyStatus): it grants no right(tenant, record space, "
                 "\"admin\") that covers it (server-level calls need right(\"*\", \"*\", "
                 "\"admin\"))");
  Caller reader = As(Mint({Grant{.operations = {Operation::kRead}}}));
  EXPECT_EQ(reader.KeyStatus("acme").error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(admin_->RotateKey("acme").ok());
  EXPECT_TRUE(admin_->KeyStatus("acme").ok());
}

TEST_F(AuthTest, AttenuationRestrictsRecordTypes) {
  const v1::SpaceRef users = Space("acme", "users");
  const std::string writer = Mint({Grant{.tenant = "acme", .operations = kReadWrite}});
  Caller orders_only = As(Attenuate(writer, "check if record_type(\"Order\");"));
  EXPECT_TRUE(orders_only.Put(users, Order(5)).ok());
  EXPECT_TRUE(orders_only.Get(users, "Order", 5).ok());
  EXPECT_REFUSED(orders_only.Put(users, Customer(5)), StatusCode::PERMISSION_DENIED,
                 "permission_denied (8009): the token does not allow write on acme/users "
                 "(record type Customer) (Records.Put): failed block 1: check if "
                 "record_type(\"Order\")");
  // A batch touching one other type is refused whole: each type is checked on its own.
  EXPECT_EQ(orders_only.PutBatch(users, {Order(6), Customer(6)}).error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(admin_->Get(users, "Order", 6).ok());
  EXPECT_TRUE(orders_only.Execute(users, "SELECT * FROM Order").ok());
  EXPECT_EQ(orders_only.Execute(users, "SELECT * FROM Customer").error_code(),
            StatusCode::PERMISSION_DENIED);
  // A schema shows every type: no record type to check, so refused.
  EXPECT_EQ(orders_only.GetSchema(users).error_code(), StatusCode::PERMISSION_DENIED);
  // The CLI's form: several types, any of them.
  Caller two =
      As(Attenuate(writer, *auth::AttenuationCode({.record_types = {"Order", "Customer"}})));
  EXPECT_TRUE(two.PutBatch(users, {Order(7), Customer(7)}).ok());
}

TEST_F(AuthTest, AttenuationBlocksCannotAddRights) {
  const std::string reader =
      Mint({Grant{.tenant = "acme", .record_space = "users", .operations = {Operation::kRead}}});
  Caller escalated = As(Attenuate(reader,
                                  "right(\"*\", \"*\", \"admin\"); right(\"acme\", "
                                  "\"users\", \"write\");"));
  EXPECT_EQ(escalated.CreateTenant("evil").error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(escalated.Put(Space("acme", "users"), Order(8)).error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(escalated.Get(Space("acme", "users"), "Order", 1).ok());
}

TEST_F(AuthTest, HostileDatalogStopsAtTheRunLimits) {
  // 40 facts joined with themselves: 1,600 new facts, over the limit of 1,000.
  std::string code;
  for (int i = 0; i < 40; ++i) code += "q(" + std::to_string(i) + ");";
  code += "p($x, $y) <- q($x), q($y);";
  Caller hostile = As(Attenuate(Mint({Grant{.tenant = "acme", .operations = kReadWrite}}), code));
  grpc::Status status = hostile.Get(Space("acme", "users"), "Order", 1);
  EXPECT_EQ(status.error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message().rfind(
                "permission_denied (8009): the token does not allow read on acme/users (record "
                "type Order) (Records.Get): the token's Datalog exceeds the run limits",
                0),
            0u)
      << status.error_message();
  EXPECT_NE(Metrics().find("recordstore_auth_failures_total{reason=\"run_limit\"} 1\n"),
            std::string::npos);
}

// --- HTTP ---

TEST_F(AuthTest, MetricsNeedAServerWideReadRightUnlessConfiguredOpen) {
  httplib::Client http("127.0.0.1", server_->http_port());
  EXPECT_EQ(http.Get("/healthz")->status, 200);
  httplib::Result anonymous = http.Get("/metrics");
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(anonymous->get_header_value("WWW-Authenticate"), "Bearer");
  http.set_bearer_token_auth(Mint({Grant{.tenant = "acme", .operations = {Operation::kRead}}}));
  httplib::Result tenant_reader = http.Get("/metrics");
  EXPECT_EQ(tenant_reader->status, 403);
  EXPECT_EQ(tenant_reader->body,
            "permission_denied (8009): the token does not allow read on the server (GET "
            "/metrics): it grants no right(tenant, record space, \"read\") that covers it "
            "(server-level calls need right(\"*\", \"*\", \"read\"))\n");
  // A scraper's token: the server-wide read right, narrowed to this endpoint.
  http.set_bearer_token_auth(Attenuate(Mint({Grant{.operations = {Operation::kRead}}}),
                                       "check if method(\"GET /metrics\");"));
  EXPECT_EQ(http.Get("/metrics")->status, 200);

  server_.reset();
  options_.metrics_without_token = true;
  server_ = *Server::Start(options_);
  httplib::Client open("127.0.0.1", server_->http_port());
  EXPECT_EQ(open.Get("/metrics")->status, 200);
}

// --- The root key ---

TEST(RootKeyTest, CreatedOnFirstStartRefusedWhenOthersMayReadIt) {
  const std::string dir =
      (fs::temp_directory_path() / ("rs-root-key-" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.http_listen = "";
  options.data_dir = dir;
  std::string first_token;
  {
    StatusOr<std::unique_ptr<Server>> first = Server::Start(options);
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_EQ((*first)->admin_token_file(), dir + "/admin.token");
    EXPECT_EQ((*first)->root_key_path(), dir + "/root_key");
    std::getline(std::ifstream(dir + "/admin.token"), first_token);
    EXPECT_TRUE(Caller((*first)->grpc_port(), first_token).ListTenants().ok());
  }
  EXPECT_EQ(fs::status(dir + "/root_key.pub").permissions() & fs::perms::others_read,
            fs::perms::others_read);
  fs::permissions(dir + "/root_key", fs::perms::others_read, fs::perm_options::add);
  Status loose = Server::Start(options).status();
  EXPECT_TRUE(HasErrorCode(loose, ErrorCode::kPermissionDenied)) << loose;
  EXPECT_EQ(loose.message(), "permission_denied (8009): the root key file " + dir +
                                 "/root_key has mode 0604: group and others must have no "
                                 "access to a private key; run `chmod 600 " +
                                 dir + "/root_key`");
  fs::permissions(dir + "/root_key", fs::perms::owner_read | fs::perms::owner_write);
  {
    // The same key again: the first token still works, and no new token is written.
    StatusOr<std::unique_ptr<Server>> again = Server::Start(options);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ((*again)->admin_token_file(), "");
    EXPECT_TRUE(Caller((*again)->grpc_port(), first_token).ListTenants().ok());
  }
  // A key file given by flag must exist: a typo must not make a new key.
  options.root_key_file = dir + "/no_such_key";
  EXPECT_TRUE(HasErrorCode(Server::Start(options).status(), ErrorCode::kNotFound));
  // ...and it is used as given, with the data directory's key ignored.
  options.root_key_file = dir + "/given_key";
  ASSERT_TRUE(auth::CreateRootKeyFile(options.root_key_file).ok());
  {
    StatusOr<std::unique_ptr<Server>> given = Server::Start(options);
    ASSERT_TRUE(given.ok()) << given.status();
    EXPECT_EQ(Caller((*given)->grpc_port(), first_token).ListTenants().error_code(),
              StatusCode::UNAUTHENTICATED);
    EXPECT_TRUE(Caller((*given)->grpc_port(), (*given)->AdminToken()).ListTenants().ok());
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace recordstore::server
