// recordstore_test_server: the Record-Store server on a free loopback port with an in-memory
// KV, for client tests written in other languages (tests/python/client_test.py). Prints
// "port N" once it listens, then "token T": an admin token (every right) signed by the
// server's root key, which lives in this process only. Serves until its stdin closes, so a
// test that dies takes the server with it.
#include <iostream>
#include <string>

#include "server/server.h"

// No HTTP listener: its fixed default port would collide between tests run in parallel.
// (Written against both forms of ServerOptions, with and without http_listen.)
template <typename Options>
void DisableHttp(Options& options) {
  if constexpr (requires { options.http_listen; }) options.http_listen = "";
}

int main() {
  recordstore::server::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.kv_url = "memory://";
  DisableHttp(options);
  auto server = recordstore::server::Server::Start(options);
  if (!server.ok()) {
    std::cerr << "recordstore_test_server: " << server.status().message() << std::endl;
    return 1;
  }
  std::cout << "port " << (*server)->grpc_port() << "\n"
            << "token " << (*server)->AdminToken() << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  (*server)->Shutdown();
  return 0;
}
