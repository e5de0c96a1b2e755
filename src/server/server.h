// The Record-Store server: opens the KV store, serves the gRPC services (services.h) with
// server reflection, and shuts down gracefully.
//
// Thread-safety: Start, Shutdown and Wait may be called from different threads.
#ifndef RECORDSTORE_SERVER_SERVER_H_
#define RECORDSTORE_SERVER_SERVER_H_

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "recordstore/kv.h"
#include "recordstore/status.h"
#include "server/catalog.h"
#include "server/index_builds.h"
#include "server/services.h"

namespace recordstore::server {

struct ServerOptions {
  // host:port of the gRPC listener; port 0 picks a free port (grpc_port() tells which).
  std::string listen = "127.0.0.1:7878";
  // The data directory of the embedded engine (created when missing).
  std::string data_dir = "data";
  // A KV URL (kv.h: rocksdb:///path, memory://, etcd://...); empty means
  // rocksdb://<data_dir>/kv.
  std::string kv_url;
  // Largest request or response message.
  int max_message_bytes = 16 << 20;
};

class Server {
 public:
  // Opens the KV store and starts listening. Errors: the KV's open errors; unavailable
  // (absl kUnavailable) when the address cannot be bound.
  static StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options);
  ~Server();

  int grpc_port() const { return grpc_port_; }
  kv::Database& db() { return *db_; }
  ServiceState& state() { return state_; }

  // Stops accepting requests, lets in-flight ones finish (up to `deadline`), stops index
  // builds (they resume on the next start) and closes the KV store.
  void Shutdown(std::chrono::milliseconds deadline = std::chrono::seconds(10));
  // Blocks until Shutdown.
  void Wait();

 private:
  Server() = default;

  std::unique_ptr<kv::Database> db_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<IndexBuilds> builds_;
  ServiceState state_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> grpc_;
  int grpc_port_ = 0;
  bool shut_down_ = false;
};

}  // namespace recordstore::server

#endif  // RECORDSTORE_SERVER_SERVER_H_
