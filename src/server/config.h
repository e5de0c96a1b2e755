// The server's configuration file: JSON (nlohmann-json, a Debian package we already use),
// read by `recordstore serve --config FILE`. Every key is optional; flags given on the
// command line win over the file, the file over the defaults (ServerOptions).
//
//   {
//     "listen": "127.0.0.1:7878",          // gRPC host:port
//     "http_listen": "127.0.0.1:7879",     // HTTP host:port ("" disables HTTP)
//     "data_dir": "data",                  // the embedded engine's directory
//     "kv": "rocksdb:///var/lib/rs/kv",    // a KV URL instead of data_dir
//     "tls": {"cert": "server.crt", "key": "server.key"},   // PEM files; relative paths
//                                                          // are relative to the file
//     "worker_threads": 8,                 // 0: gRPC's default
//     "auth": {
//       "root_key": "root_key",            // default <data_dir>/root_key; relative to the file
//       "metrics_without_token": false,    // serve /metrics without a token
//       "revocation_refresh_ms": 1000      // staleness bound of the revocation list
//     },
//     "limits": {
//       "max_message_bytes": 16777216,
//       "query_time_limit_ms": 3000,
//       "query_batch": 100,
//       "inline_index_build_limit": 200,
//       "index_build_records_per_second": 0,   // 0: unthrottled
//       "reencryption_records_per_second": 0,  // 0: unthrottled (key_rotation.h)
//       "shutdown_grace_ms": 10000
//     },
//     "encryption": {                      // encryption at rest (server/encryption.h)
//       "enabled": true,                   // false only for tests and benchmarks
//       "master_key_file": "master.key",   // relative paths are relative to the file
//       "previous_master_key_files": []    // master keys being rotated out
//     }
//   }
//
// Unknown keys are refused (a misspelt limit must not be silently ignored).
#ifndef RECORDSTORE_SERVER_CONFIG_H_
#define RECORDSTORE_SERVER_CONFIG_H_

#include <string>

#include "recordstore/status.h"
#include "server/server.h"

namespace recordstore::server {

// Applies the JSON text `json` to `options`. `base_dir` resolves relative TLS paths.
// invalid_argument naming the key for malformed JSON, unknown keys and wrong types.
Status ApplyConfigJson(const std::string& json, const std::string& base_dir,
                       ServerOptions& options);

// Reads `path` and applies it. invalid_argument when it cannot be read.
Status ApplyConfigFile(const std::string& path, ServerOptions& options);

}  // namespace recordstore::server

#endif  // RECORDSTORE_SERVER_CONFIG_H_
