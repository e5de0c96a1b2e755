#include "server/server_test_util.h"

#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

namespace recordstore::server {

std::string ReadSource(const std::string& relative) {
  std::ifstream in(std::string(RS_SOURCE_DIR) + "/" + relative);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::map<std::string, std::string> ShopSources() {
  return {{"shop/common.proto", ReadSource("src/metadata/testdata/shop/common.proto")},
          {"shop/shop.proto", ReadSource("src/metadata/testdata/shop/shop.proto")}};
}

v1::SchemaSpec ShopSpec() {
  v1::SchemaSpec spec;
  for (const auto& [name, text] : ShopSources()) (*spec.mutable_proto_files())[name] = text;
  for (const auto& [type, key] : std::vector<std::pair<std::string, std::string>>{
           {"Customer", "customer_id"}, {"Order", "order_id"}, {"Product", "sku"}}) {
    v1::RecordTypeSpec* record_type = spec.add_record_types();
    record_type->set_name(type);
    record_type->add_primary_key(key);
  }
  return spec;
}

v1::SpaceRef Space(const std::string& tenant, const std::string& space) {
  v1::SpaceRef ref;
  ref.set_tenant(tenant);
  ref.set_record_space(space);
  return ref;
}

TestClient::TestClient(int port, std::string token) : token_(std::move(token)) {
  auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  admin_ = v1::Admin::NewStub(channel);
  schema_ = v1::Schema::NewStub(channel);
  records_ = v1::Records::NewStub(channel);
}

std::unique_ptr<grpc::ClientContext> TestClient::Context() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + token_);
  return context;
}

grpc::Status TestClient::CreateTenant(const std::string& tenant) {
  v1::CreateTenantRequest request;
  request.set_tenant(tenant);
  v1::CreateTenantResponse response;
  return admin_->CreateTenant(Context().get(), request, &response);
}

grpc::Status TestClient::DeleteTenant(const std::string& tenant) {
  v1::DeleteTenantRequest request;
  request.set_tenant(tenant);
  v1::DeleteTenantResponse response;
  return admin_->DeleteTenant(Context().get(), request, &response);
}

grpc::Status TestClient::CreateShop(const v1::SpaceRef& space, const v1::SchemaSpec& schema,
                                    bool tenant_may_exist) {
  grpc::Status status = CreateTenant(space.tenant());
  if (!status.ok() &&
      !(tenant_may_exist && status.error_code() == grpc::StatusCode::ALREADY_EXISTS)) {
    return status;
  }
  v1::CreateRecordSpaceRequest create;
  create.set_tenant(space.tenant());
  create.set_record_space(space.record_space());
  v1::CreateRecordSpaceResponse created;
  status = admin_->CreateRecordSpace(Context().get(), create, &created);
  if (!status.ok()) return status;
  v1::UpdateSchemaRequest update;
  *update.mutable_space() = space;
  *update.mutable_schema() = schema;
  v1::UpdateSchemaResponse updated;
  return schema_->UpdateSchema(Context().get(), update, &updated);
}

}  // namespace recordstore::server
