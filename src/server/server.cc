#include "server/server.h"

#include <filesystem>

#include "common/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"

namespace recordstore::server {

StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options) {
  std::unique_ptr<Server> server(new Server());
  std::string url = options.kv_url;
  if (url.empty()) {
    std::error_code error;
    std::filesystem::create_directories(options.data_dir, error);
    if (error) {
      return MakeError(ErrorCode::kIoError, "cannot create data directory " + options.data_dir +
                                                ": " + error.message());
    }
    url = "rocksdb://" + std::filesystem::absolute(options.data_dir).string() + "/kv";
  }
  ASSIGN_OR_RETURN(server->db_, kv::Database::Open(url));
  server->catalog_ = std::make_unique<Catalog>(*server->db_);
  server->builds_ = std::make_unique<IndexBuilds>(*server->db_);
  server->state_.db = server->db_.get();
  server->state_.catalog = server->catalog_.get();
  server->state_.builds = server->builds_.get();
  server->state_.store_options = [](const std::string&) -> StatusOr<store::RecordStoreOptions> {
    return store::RecordStoreOptions();
  };
  server->services_ = MakeServices(server->state_);

  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &server->grpc_port_);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  for (const auto& service : server->services_) builder.RegisterService(service.get());
  server->grpc_ = builder.BuildAndStart();
  if (server->grpc_ == nullptr || server->grpc_port_ == 0) {
    return Status(absl::StatusCode::kUnavailable,
                  "cannot listen on " + options.listen + " (in use, or not a local address)");
  }
  return server;
}

Server::~Server() { Shutdown(); }

void Server::Shutdown(std::chrono::milliseconds deadline) {
  if (shut_down_) return;
  shut_down_ = true;
  if (grpc_ != nullptr) grpc_->Shutdown(std::chrono::system_clock::now() + deadline);
  if (builds_ != nullptr) builds_->Shutdown();
}

void Server::Wait() {
  if (grpc_ != nullptr) grpc_->Wait();
}

}  // namespace recordstore::server
