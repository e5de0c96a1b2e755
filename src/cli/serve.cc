#include "cli/serve.h"

#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <memory>
#include <string>

#include "server/config.h"
#include "server/server.h"

namespace recordstore::cli {
namespace {

struct ServeFlags {
  std::string config;
  server::ServerOptions options;
  // The options given on the command line (they win over the config file).
  CLI::Option* listen = nullptr;
  CLI::Option* http_listen = nullptr;
  CLI::Option* data_dir = nullptr;
  CLI::Option* kv = nullptr;
  CLI::Option* tls_cert = nullptr;
  CLI::Option* tls_key = nullptr;
  CLI::Option* worker_threads = nullptr;
  // Encryption at rest.
  std::string encryption = "on";
  CLI::Option* encryption_flag = nullptr;
  CLI::Option* master_key_file = nullptr;
  CLI::Option* previous_master_key_files = nullptr;
  // Authorization.
  CLI::Option* root_key = nullptr;
  CLI::Option* metrics_without_token = nullptr;
};

// "host:port" with the port the listener actually got (the configured one may be 0).
std::string BoundAddress(const std::string& configured, int port) {
  const size_t colon = configured.rfind(':');
  return configured.substr(0, colon) + ":" + std::to_string(port);
}

int RunServe(const ServeFlags& flags) {
  server::ServerOptions options;
  if (!flags.config.empty()) {
    Status loaded = server::ApplyConfigFile(flags.config, options);
    if (!loaded.ok()) {
      std::cerr << "recordstore serve: " << loaded.message() << "\n";
      return 1;
    }
  }
  const server::ServerOptions& given = flags.options;
  if (flags.listen->count() > 0) options.listen = given.listen;
  if (flags.http_listen->count() > 0) options.http_listen = given.http_listen;
  if (flags.data_dir->count() > 0) options.data_dir = given.data_dir;
  if (flags.kv->count() > 0) options.kv_url = given.kv_url;
  if (flags.tls_cert->count() > 0) options.tls_cert_file = given.tls_cert_file;
  if (flags.tls_key->count() > 0) options.tls_key_file = given.tls_key_file;
  if (flags.worker_threads->count() > 0) options.worker_threads = given.worker_threads;
  if (flags.encryption_flag->count() > 0) options.encryption = flags.encryption == "on";
  if (flags.master_key_file->count() > 0) options.master_key_file = given.master_key_file;
  if (flags.previous_master_key_files->count() > 0) {
    options.previous_master_key_files = given.previous_master_key_files;
  }
  if (flags.root_key->count() > 0) options.root_key_file = given.root_key_file;
  if (flags.metrics_without_token->count() > 0) {
    options.metrics_without_token = given.metrics_without_token;
  }

  // Signals are taken by sigwait below: block them before any server thread exists, so every
  // thread inherits the mask and none is interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  StatusOr<std::unique_ptr<server::Server>> started = server::Server::Start(options);
  if (!started.ok()) {
    std::cerr << "recordstore serve: " << started.status().message() << "\n";
    return 1;
  }
  server::Server& running = **started;
  std::cout << "recordstore: gRPC listening on "
            << BoundAddress(options.listen, running.grpc_port())
            << (running.tls() ? " (TLS)" : " (plaintext)") << "\n";
  if (running.http_port() != 0) {
    std::cout << "recordstore: HTTP listening on "
              << BoundAddress(options.http_listen, running.http_port())
              << " (/healthz, /metrics)\n";
  }
  const server::TenantEncryption& encryption = running.encryption();
  if (!running.admin_token_file().empty()) {
    std::cout << "recordstore: first start: new root key " << running.root_key_path()
              << "; an admin token is in " << running.admin_token_file()
              << " (export RECORDSTORE_TOKEN=$(cat " << running.admin_token_file() << "))\n";
  } else if (!running.root_key_path().empty()) {
    std::cout << "recordstore: tokens are verified with the root key " << running.root_key_path()
              << "\n";
  } else {
    std::cout << "recordstore: the root key lives in this process only (memory:// KV; "
                 "give --root-key to keep one)\n";
  }
  std::cout << "recordstore: data in "
            << (options.kv_url.empty() ? options.data_dir + "/kv" : options.kv_url) << ", "
            << (encryption.enabled() ? "encrypted at rest with "
                                     : "NOT encrypted at rest (--encryption=off), reading with ")
            << encryption.description();
  if (encryption.rewrapped_at_open() > 0) {
    std::cout << ", re-wrapped " << encryption.rewrapped_at_open()
              << " data keys with it (the previous master keys can be retired)";
  }
  std::cout << "; stop with SIGTERM or Ctrl-C" << std::endl;

  int received = 0;
  sigwait(&signals, &received);
  std::cout << "recordstore: " << (received == SIGINT ? "SIGINT" : "SIGTERM")
            << ": finishing in-flight requests" << std::endl;
  running.Shutdown();
  started->reset();
  std::cout << "recordstore: stopped" << std::endl;
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  server::ServerOptions& o = flags->options;
  CLI::App* serve = app.add_subcommand("serve", "Run the Record-Store server (gRPC and HTTP)");
  flags->listen = serve->add_option("--listen", o.listen, "gRPC host:port (port 0: any free)")
                      ->capture_default_str();
  flags->http_listen = serve
                           ->add_option("--http-listen", o.http_listen,
                                        "HTTP host:port for /healthz and /metrics (\"\": no HTTP)")
                           ->capture_default_str();
  flags->data_dir =
      serve->add_option("--data-dir", o.data_dir, "Directory of the embedded RocksDB engine")
          ->capture_default_str();
  flags->kv = serve->add_option("--kv", o.kv_url,
                                "KV URL instead of --data-dir (rocksdb:///path, memory://, "
                                "etcd://host:port/prefix)");
  serve->add_option("--config", flags->config, "JSON config file (docs/operations.md)")
      ->check(CLI::ExistingFile);
  flags->tls_cert = serve->add_option("--tls-cert", o.tls_cert_file,
                                      "PEM certificate chain; with --tls-key enables TLS");
  flags->tls_key = serve->add_option("--tls-key", o.tls_key_file, "PEM private key");
  flags->worker_threads = serve
                              ->add_option("--worker-threads", o.worker_threads,
                                           "Most gRPC worker threads (0: gRPC's default)")
                              ->capture_default_str();
  flags->encryption_flag =
      serve
          ->add_option("--encryption", flags->encryption,
                       "Encryption at rest of new records; off only for tests and benchmarks")
          ->check(CLI::IsMember({"on", "off"}))
          ->capture_default_str();
  flags->master_key_file = serve->add_option(
      "--master-key-file", o.master_key_file,
      "Master key file (32 bytes, mode 0600); default: $RECORDSTORE_MASTER_KEY, else "
      "<data-dir>/master.key, generated on first start");
  flags->previous_master_key_files =
      serve->add_option("--previous-master-key-file", o.previous_master_key_files,
                        "A master key being rotated out (repeatable): data keys wrapped with it "
                        "are re-wrapped with the current one at start");
  flags->root_key = serve->add_option(
      "--root-key", o.root_key_file,
      "Root key file tokens are verified with (mode 0600; default <data-dir>/root_key, "
      "created on first start)");
  flags->metrics_without_token =
      serve->add_flag("--metrics-without-token", o.metrics_without_token,
                      "Serve /metrics without a token (/healthz never needs one)");
  serve->callback([flags] {
    int status = RunServe(*flags);
    if (status != 0) throw CLI::RuntimeError(status);
  });
}

}  // namespace recordstore::cli
