// The Record-Store server: opens the KV store, serves the gRPC services (services.h) with
// server reflection, answers HTTP /healthz and /metrics, and shuts down gracefully.
//
// Thread-safety: Start, Shutdown and Wait may be called from different threads.
#ifndef RECORDSTORE_SERVER_SERVER_H_
#define RECORDSTORE_SERVER_SERVER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "auth/access.h"
#include "grpcpp/grpcpp.h"
#include "recordstore/kv.h"
#include "recordstore/status.h"
#include "server/authorization.h"
#include "server/catalog.h"
#include "server/encryption.h"
#include "server/index_builds.h"
#include "server/key_rotation.h"
#include "server/metrics.h"
#include "server/services.h"

namespace httplib {
class Server;
}

namespace recordstore::server {

struct ServerOptions {
  // host:port of the gRPC listener; port 0 picks a free port (grpc_port() tells which).
  std::string listen = "127.0.0.1:7878";
  // host:port of the HTTP listener (/healthz, /metrics); port 0 picks a free port
  // (http_port()); empty: no HTTP listener.
  std::string http_listen = "127.0.0.1:7879";
  // The data directory of the embedded engine (created when missing).
  std::string data_dir = "data";
  // A KV URL (kv.h: rocksdb:///path, memory://, etcd://...); empty means
  // rocksdb://<data_dir>/kv.
  std::string kv_url;
  // PEM files of the server's certificate chain and private key. Both empty: plaintext.
  // Both set: TLS only (grpc::SslServerCredentials; clients are not asked for certificates).
  std::string tls_cert_file;
  std::string tls_key_file;
  // Most threads gRPC may run requests on (a grpc::ResourceQuota); 0: gRPC's default (grows
  // with the load). REQUIRES: 0 or at least 2 (one polls while another serves).
  int worker_threads = 0;
  // Largest request or response message; larger ones are refused with RESOURCE_EXHAUSTED.
  int max_message_bytes = 16 << 20;
  // The time one Query.Execute call may run before it returns a continuation.
  std::chrono::milliseconds query_time_limit{3000};
  // Records per streamed Query.Execute response message.
  int query_batch = 100;
  // A schema change builds new indexes in its own transaction for record spaces of at most
  // this many records, online in the background for larger ones.
  int64_t inline_index_build_limit = 200;
  // Records per second an online index build may scan (0: unthrottled), so that a build
  // leaves room for the requests.
  double index_build_records_per_second = 0;
  // How long Shutdown lets in-flight requests run before cancelling them.
  std::chrono::milliseconds shutdown_grace{10000};
  // Wraps the KV database once opened, before anything uses it: for tests that inject faults
  // (conflicts, errors) through the real engine. Null: the database as opened.
  std::function<std::unique_ptr<kv::Database>(std::unique_ptr<kv::Database>)> wrap_database;

  // --- Encryption at rest (server/encryption.h, docs/security.md) ---
  // Seal new records with per-tenant data keys. false (`--encryption=off`) only for tests
  // and benchmarks: new records are stored in plaintext; records already encrypted stay
  // readable only while the master key is found.
  bool encryption = true;
  // The master key file (32 raw bytes, mode 0600). Empty: the environment variable
  // RECORDSTORE_MASTER_KEY, else <data_dir>/master.key, generated on first start (for a
  // memory:// KV, a key held in memory).
  std::string master_key_file;
  // Master key files the data keys may still be wrapped with: at start every data key is
  // re-wrapped with the current master key, after which these can be retired.
  std::vector<std::string> previous_master_key_files;
  // Records per second the re-encryption after a data key rotation (key_rotation.h) may read
  // (0: unthrottled), so that it leaves room for the requests.
  double reencryption_records_per_second = 0;
  // ---- Authorization (docs/security.md, "Authorization"; authorization.h) ----
  // The root key file (auth::ReadRootKeyFile): it must exist, with mode 0600. Empty: the
  // file <data_dir>/root_key, created on first start together with an admin token in
  // <data_dir>/admin.token (both 0600); with a memory:// KV, whose data dies with the
  // process, a key pair of this process only, written nowhere (admin_token() gives a token).
  std::string root_key_file;
  // Serve /metrics without a token (for a scraper that cannot send one). /healthz never
  // needs one.
  bool metrics_without_token = false;
  // How old this server's copy of the revocation list may get before it is re-read, i.e.
  // how long a revocation made through another server sharing the KV store may take here.
  std::chrono::milliseconds revocation_refresh{1000};
  // Run limits of the authorizer and the cache of verified tokens.
  auth::AccessOptions access;
};

class Server {
 public:
  // Opens the KV store, loads (or creates) the root key and starts listening. Errors:
  // invalid_argument for bad options (an unreadable TLS file, a malformed address, a
  // malformed root key file); not_found for a root_key_file that does not exist;
  // permission_denied for a root key file that group or others may access; the KV's open
  // errors; unavailable (absl kUnavailable) when an address cannot be bound.
  static StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options);
  // Shutdown.
  ~Server();

  int grpc_port() const { return grpc_port_; }
  // 0 without an HTTP listener.
  int http_port() const { return http_port_; }
  bool tls() const { return tls_; }
  // REQUIRES: before Shutdown.
  kv::Database& db() { return *db_; }
  ServiceState& state() { return state_; }
  Metrics& metrics() { return metrics_; }
  // REQUIRES: before Shutdown.
  TenantEncryption& encryption() { return *encryption_; }
  // REQUIRES: before Shutdown.
  KeyRotations& key_rotations() { return *key_rotations_; }

  // The root key pair tokens are verified with.
  const auth::KeyPair& root_key() const { return *root_key_; }
  // A new token signed by the root key granting `grants` (for tests and tools that hold
  // the server); invalid_argument for bad grants.
  StatusOr<std::string> MintToken(const std::vector<auth::Grant>& grants) const;
  // A new token with every right (auth::AdminGrants).
  std::string AdminToken() const;
  // Where this start wrote the first admin token ("" when it wrote none: the root key file
  // existed already, was given, or the key is the process's own).
  const std::string& admin_token_file() const { return admin_token_file_; }
  // Where the root key is ("" for a key of this process only).
  const std::string& root_key_path() const { return root_key_path_; }

  // The /metrics text now.
  std::string RenderMetrics() const;
  // OK when the KV store answers a read (what /healthz reports).
  Status CheckHealth() const;

  // Stops accepting requests, lets in-flight ones finish (cancelling those still running
  // after options.shutdown_grace), stops index builds and re-encryptions (they resume on the
  // next start), stops
  // the HTTP listener and closes the KV store: every acknowledged write is durable on disk and
  // the data directory is free for the next process. Idempotent.
  void Shutdown();
  // Blocks until Shutdown has finished.
  void Wait();

 private:
  Server() = default;
  Status StartHttp(const std::string& address);
  // Sets root_key_ from the options (see ServerOptions::root_key_file).
  Status LoadRootKey();

  ServerOptions options_;
  std::unique_ptr<kv::Database> db_;
  // The RocksDB directory when the engine is local (its size is reported), else empty.
  std::string kv_directory_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<TenantEncryption> encryption_;
  std::unique_ptr<KeyRotations> key_rotations_;
  std::unique_ptr<IndexBuilds> builds_;
  Metrics metrics_;
  ServiceState state_;
  std::optional<auth::KeyPair> root_key_;
  std::string root_key_path_;
  std::string admin_token_file_;
  std::unique_ptr<RequestAuthorizer> authorizer_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> grpc_;
  std::unique_ptr<httplib::Server> http_;
  std::thread http_thread_;
  int grpc_port_ = 0;
  int http_port_ = 0;
  bool tls_ = false;

  absl::Mutex shutdown_mutex_;
  bool shutting_down_ ABSL_GUARDED_BY(shutdown_mutex_) = false;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mutex_) = false;
};

// Splits "host:port" (host may be "[v6]"); invalid_argument when malformed.
StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& address);

}  // namespace recordstore::server

#endif  // RECORDSTORE_SERVER_SERVER_H_
