#include "server/server.h"

#include <httplib.h>

#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/resource_quota.h"
#include "recordstore/v1/admin.grpc.pb.h"
#include "recordstore/v1/query.grpc.pb.h"
#include "recordstore/v1/records.grpc.pb.h"
#include "recordstore/v1/schema.grpc.pb.h"
#include "server/health.h"

namespace recordstore::server {
namespace {

Status Invalid(const std::string& message) {
  return MakeError(ErrorCode::kInvalidArgument, message);
}

StatusOr<std::string> ReadFile(const std::string& what, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Invalid("cannot read the " + what + " file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Sum of the file sizes under `directory`: a directory walk of RocksDB's few dozen files.
std::optional<int64_t> DirectoryBytes(const std::string& directory) {
  std::error_code error;
  int64_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(directory, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    std::error_code size_error;
    if (it->is_regular_file(size_error)) {
      const uintmax_t size = it->file_size(size_error);
      if (!size_error) total += static_cast<int64_t>(size);
    }
  }
  if (error) return std::nullopt;
  return total;
}

// 401 for no or a bad token, 403 for a token without the right, 503 when the revocation
// list cannot be read.
int HttpStatusOf(const Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    default:
      return 503;
  }
}

}  // namespace

StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Invalid("address \"" + address + "\" is not host:port");
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text = address.substr(colon + 1);
  int port = -1;
  auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (error != std::errc() || end != port_text.data() + port_text.size() || port < 0 ||
      port > 65535) {
    return Invalid("address \"" + address + "\" has no port from 0 to 65535");
  }
  return std::make_pair(host, port);
}

StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options) {
  if (options.worker_threads != 0 && options.worker_threads < 2) {
    return Invalid("worker threads must be 0 (gRPC's default) or at least 2");
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return Invalid("TLS needs both a certificate file and a key file");
  }
  RETURN_IF_ERROR(SplitHostPort(options.listen).status());
  std::unique_ptr<Server> server(new Server());
  server->options_ = options;
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!options.tls_cert_file.empty()) {
    ASSIGN_OR_RETURN(std::string cert, ReadFile("TLS certificate", options.tls_cert_file));
    ASSIGN_OR_RETURN(std::string key, ReadFile("TLS key", options.tls_key_file));
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({key, cert});
    credentials = grpc::SslServerCredentials(ssl);
    server->tls_ = true;
  }

  std::string url = options.kv_url;
  if (url.empty()) {
    std::error_code error;
    std::filesystem::create_directories(options.data_dir, error);
    if (error) {
      return MakeError(ErrorCode::kIoError,
                       "cannot create data directory " + options.data_dir + ": " + error.message());
    }
    url = "rocksdb://" + std::filesystem::absolute(options.data_dir).string() + "/kv";
  }
  if (url.starts_with("rocksdb://")) server->kv_directory_ = url.substr(strlen("rocksdb://"));
  kv::DatabaseOptions db_options;
  // The metrics outlive the database: Shutdown closes it first.
  Metrics* metrics = &server->metrics_;
  db_options.on_commit_batch = [metrics](int transactions) {
    metrics->OnCommitBatch(transactions);
  };
  ASSIGN_OR_RETURN(server->db_, kv::Database::Open(url, db_options));
  if (options.wrap_database) server->db_ = options.wrap_database(std::move(server->db_));
  server->catalog_ = std::make_unique<Catalog>(*server->db_);
  indexer::OnlineIndexerOptions build_options;
  build_options.max_records_per_second = options.index_build_records_per_second;
  if (options.index_build_records_per_second > 0) {
    // About a second of work per batch, so the throttle paces batches evenly and a shutdown
    // stops the build within a batch.
    const auto per_batch = static_cast<int64_t>(
        std::clamp(options.index_build_records_per_second, 1.0,
                   static_cast<double>(build_options.max_records_per_transaction)));
    build_options.initial_records_per_transaction = per_batch;
    build_options.max_records_per_transaction = per_batch;
  }
  server->builds_ = std::make_unique<IndexBuilds>(*server->db_, build_options);
  RETURN_IF_ERROR(server->LoadRootKey());
  ASSIGN_OR_RETURN(std::unique_ptr<Revocations> revocations,
                   Revocations::Open(*server->db_, options.revocation_refresh));
  server->authorizer_ = std::make_unique<RequestAuthorizer>(
      server->root_key_->public_key(), options.access, std::move(revocations), &server->metrics_);
  server->state_.authorizer = server->authorizer_.get();
  server->state_.db = server->db_.get();
  server->state_.catalog = server->catalog_.get();
  server->state_.builds = server->builds_.get();
  server->state_.observer = &server->metrics_;
  server->state_.query_batch = std::max(1, options.query_batch);
  server->state_.query_time_limit = options.query_time_limit;
  EncryptionOptions encryption;
  encryption.enabled = options.encryption;
  encryption.master_key_file = options.master_key_file;
  encryption.previous_master_key_files = options.previous_master_key_files;
  // A memory:// store keeps its key in memory too: a key file would outlive the data.
  if (!url.starts_with("memory://")) {
    // A failure shows when the key file is created there, with the path and the reason.
    std::error_code error;
    std::filesystem::create_directories(options.data_dir, error);
    encryption.generated_key_file =
        (std::filesystem::path(options.data_dir) / "master.key").string();
  }
  ASSIGN_OR_RETURN(server->encryption_, TenantEncryption::Open(*server->db_, encryption));
  server->state_.encryption = server->encryption_.get();
  const int64_t inline_limit = options.inline_index_build_limit;
  TenantEncryption* tenant_encryption = server->encryption_.get();
  server->state_.store_options =
      [inline_limit,
       tenant_encryption](const std::string& tenant) -> StatusOr<store::RecordStoreOptions> {
    store::RecordStoreOptions store_options;
    store_options.inline_build_record_limit = inline_limit;
    RETURN_IF_ERROR(tenant_encryption->Apply(tenant, store_options));
    return store_options;
  };
  ASSIGN_OR_RETURN(
      server->key_rotations_,
      KeyRotations::Open(*server->db_, *server->catalog_, *server->encryption_,
                         server->state_.store_options,
                         {.records_per_second = options.reencryption_records_per_second}));
  server->state_.key_rotations = server->key_rotations_.get();
  // Re-encryptions a stopped or crashed process left go on.
  RETURN_IF_ERROR(server->key_rotations_->ResumePending());
  server->services_ = MakeServices(server->state_);
  server->services_.push_back(
      MakeHealthService({v1::Admin::service_full_name(), v1::Schema::service_full_name(),
                         v1::Records::service_full_name(), v1::Query::service_full_name()}));

  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default: a second server on a taken port would start and share
  // its connections instead of failing.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(options.listen, credentials, &server->grpc_port_);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  if (options.worker_threads > 0) {
    grpc::ResourceQuota quota("recordstore");
    quota.SetMaxThreads(options.worker_threads);
    builder.SetResourceQuota(quota);
    builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                                std::max(1, options.worker_threads / 2));
  }
  for (const auto& service : server->services_) builder.RegisterService(service.get());
  server->grpc_ = builder.BuildAndStart();
  if (server->grpc_ == nullptr || server->grpc_port_ == 0) {
    return Status(absl::StatusCode::kUnavailable,
                  "cannot listen on " + options.listen + " (in use, or not a local address)");
  }
  if (!options.http_listen.empty()) RETURN_IF_ERROR(server->StartHttp(options.http_listen));
  return server;
}

Status Server::LoadRootKey() {
  const ServerOptions& options = options_;
  if (!options.root_key_file.empty()) {
    ASSIGN_OR_RETURN(root_key_, auth::ReadRootKeyFile(options.root_key_file));
    root_key_path_ = options.root_key_file;
    return absl::OkStatus();
  }
  if (options.kv_url == "memory://") {
    // The data dies with the process: so may the key, and nothing is left on disk.
    ASSIGN_OR_RETURN(root_key_, auth::KeyPair::Generate(auth::Algorithm::kEd25519));
    return absl::OkStatus();
  }
  std::error_code error;
  std::filesystem::create_directories(options.data_dir, error);
  if (error) {
    return MakeError(ErrorCode::kIoError,
                     "cannot create data directory " + options.data_dir + ": " + error.message());
  }
  const std::string path = (std::filesystem::path(options.data_dir) / "root_key").string();
  root_key_path_ = path;
  if (std::filesystem::exists(path, error)) {
    ASSIGN_OR_RETURN(root_key_, auth::ReadRootKeyFile(path));
    return absl::OkStatus();
  }
  // First start: a new root key, and a first token so that someone can use the server.
  ASSIGN_OR_RETURN(root_key_, auth::CreateRootKeyFile(path));
  const std::string public_path = path + ".pub";
  std::filesystem::remove(public_path, error);
  RETURN_IF_ERROR(auth::WriteNewFile(public_path, auth::RootPublicKeyText(*root_key_), 0644));
  const std::string token_path = (std::filesystem::path(options.data_dir) / "admin.token").string();
  std::filesystem::remove(token_path, error);
  RETURN_IF_ERROR(auth::WriteNewFile(token_path, AdminToken() + "\n", 0600));
  admin_token_file_ = token_path;
  return absl::OkStatus();
}

StatusOr<std::string> Server::MintToken(const std::vector<auth::Grant>& grants) const {
  ASSIGN_OR_RETURN(std::string code, auth::AuthorityCode(grants));
  ASSIGN_OR_RETURN(auth::Biscuit token, auth::Biscuit::Mint(*root_key_, code));
  return token.ToBase64();
}

std::string Server::AdminToken() const {
  // Fixed, valid grants: minting cannot fail but for OpenSSL failing to sign.
  StatusOr<std::string> token = MintToken(auth::AdminGrants());
  return token.ok() ? *token : std::string();
}

Status Server::StartHttp(const std::string& address) {
  ASSIGN_OR_RETURN(auto host_port, SplitHostPort(address));
  http_ = std::make_unique<httplib::Server>();
  // Scrapes and probes are few; the default pool would start a thread per core.
  http_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  // httplib's default adds SO_REUSEPORT, which would let a second server share the port.
  http_->set_socket_options([](socket_t socket) {
    int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  http_->Get("/healthz", [this](const httplib::Request&, httplib::Response& response) {
    Status health = CheckHealth();
    if (health.ok()) {
      response.set_content("ok\n", "text/plain");
    } else {
      response.status = 503;
      response.set_content(std::string(health.message()) + "\n", "text/plain");
    }
  });
  http_->Get("/metrics", [this](const httplib::Request& request, httplib::Response& response) {
    if (!options_.metrics_without_token) {
      auth::AccessRequest access{
          .method = "GET /metrics", .operation = auth::Operation::kRead, .server_level = true};
      std::string header;
      std::string_view value;
      const bool has_header = request.has_header("Authorization");
      if (has_header) {
        header = request.get_header_value("Authorization");
        value = header;
      }
      Status allowed = authorizer_->Check(has_header ? &value : nullptr, access);
      if (!allowed.ok()) {
        response.status = HttpStatusOf(allowed);
        if (response.status == 401) response.set_header("WWW-Authenticate", "Bearer");
        response.set_content(std::string(allowed.message()) + "\n", "text/plain");
        return;
      }
    }
    response.set_content(RenderMetrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  if (host_port.second == 0) {
    http_port_ = http_->bind_to_any_port(host_port.first);
  } else if (http_->bind_to_port(host_port.first, host_port.second)) {
    http_port_ = host_port.second;
  }
  if (http_port_ <= 0) {
    http_port_ = 0;
    return Status(absl::StatusCode::kUnavailable,
                  "cannot listen on " + address + " (in use, or not a local address)");
  }
  http_thread_ = std::thread([this] { http_->listen_after_bind(); });
  // stop() only reaches a server that is already running.
  while (!http_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return absl::OkStatus();
}

Status Server::CheckHealth() const {
  kv::TransactionOptions options;
  options.timeout = std::chrono::seconds(2);
  std::unique_ptr<kv::Transaction> txn = db_->CreateTransaction(options);
  return txn->Get("\x01recordstore-healthz", /*snapshot=*/true).status();
}

std::string Server::RenderMetrics() const {
  MetricsSnapshot snapshot;
  for (const auto& [key, progress] : builds_->All()) {
    snapshot.index_builds.push_back(
        {key.first, key.second, progress.records_scanned, progress.estimated_total});
  }
  snapshot.records_reencrypted = key_rotations_->records_reencrypted();
  snapshot.reencryptions_running = key_rotations_->running();
  if (!kv_directory_.empty()) snapshot.kv_disk_bytes = DirectoryBytes(kv_directory_);
  return metrics_.Render(snapshot);
}

Server::~Server() { Shutdown(); }

void Server::Shutdown() {
  {
    absl::MutexLock lock(&shutdown_mutex_);
    if (shutting_down_) {
      shutdown_mutex_.Await(absl::Condition(&shut_down_));
      return;
    }
    shutting_down_ = true;
  }
  // Blocks until every in-flight call has returned (those still running after the grace
  // period are cancelled first); their transactions committed or did not.
  if (grpc_ != nullptr) {
    grpc_->Shutdown(std::chrono::system_clock::now() + options_.shutdown_grace);
    grpc_->Wait();
  }
  if (builds_ != nullptr) builds_->Shutdown();
  if (key_rotations_ != nullptr) key_rotations_->Shutdown();
  if (http_ != nullptr) {
    http_->stop();
    if (http_thread_.joinable()) http_thread_.join();
  }
  // Closing the engine flushes it and frees the data directory's lock.
  state_.db = nullptr;
  builds_.reset();
  state_.key_rotations = nullptr;
  key_rotations_.reset();
  state_.encryption = nullptr;
  encryption_.reset();
  authorizer_.reset();
  catalog_.reset();
  db_.reset();
  absl::MutexLock lock(&shutdown_mutex_);
  shut_down_ = true;
}

void Server::Wait() {
  absl::MutexLock lock(&shutdown_mutex_);
  shutdown_mutex_.Await(absl::Condition(&shut_down_));
}

}  // namespace recordstore::server
