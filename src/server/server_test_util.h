// Helpers for the server's end-to-end tests: the shop schema of src/metadata/testdata/shop, a
// gRPC status assertion and a client whose calls carry an admin token. Test-only (library
// rs_server_test_util).
#ifndef RECORDSTORE_SERVER_SERVER_TEST_UTIL_H_
#define RECORDSTORE_SERVER_SERVER_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "recordstore/v1/admin.grpc.pb.h"
#include "recordstore/v1/records.grpc.pb.h"
#include "recordstore/v1/schema.grpc.pb.h"

// Asserts that `call` (a grpc::Status) is OK, printing its code and message otherwise.
#define ASSERT_GRPC_OK(call)                                                                   \
  do {                                                                                         \
    grpc::Status rs_status = (call);                                                           \
    ASSERT_TRUE(rs_status.ok()) << rs_status.error_code() << " " << rs_status.error_message(); \
  } while (0)

namespace recordstore::server {

// The text of the file at `relative` under the source tree ("" when it cannot be read).
std::string ReadSource(const std::string& relative);

// The shop schema's .proto files by import name ("shop/common.proto", "shop/shop.proto").
std::map<std::string, std::string> ShopSources();

// The shop schema with its record types Customer, Order and Product and their primary keys,
// and no index.
v1::SchemaSpec ShopSpec();

v1::SpaceRef Space(const std::string& tenant, const std::string& space);

// The Admin, Schema and Records stubs of a server on a loopback port; every call's context
// (Context()) carries "authorization: Bearer <token>".
class TestClient {
 public:
  TestClient(int port, std::string token);

  std::unique_ptr<grpc::ClientContext> Context() const;

  grpc::Status CreateTenant(const std::string& tenant);
  grpc::Status DeleteTenant(const std::string& tenant);
  // The tenant, its record space and `schema`. With `tenant_may_exist`, a tenant that exists
  // already is used.
  grpc::Status CreateShop(const v1::SpaceRef& space, const v1::SchemaSpec& schema,
                          bool tenant_may_exist);

 protected:
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::unique_ptr<v1::Schema::Stub> schema_;
  std::unique_ptr<v1::Records::Stub> records_;

 private:
  std::string token_;
};

}  // namespace recordstore::server

#endif  // RECORDSTORE_SERVER_SERVER_TEST_UTIL_H_
