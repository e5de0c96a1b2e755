// The etcd backend's entry point for Database::Open (kept free of gRPC headers).
#ifndef RECORDSTORE_KV_ETCD_ETCD_H_
#define RECORDSTORE_KV_ETCD_ETCD_H_

#include <memory>
#include <string_view>

#include "recordstore/kv.h"

namespace recordstore::kv {

// Opens "etcd://host:port[,host:port...][/prefix]": the database stored under `prefix` on
// that cluster (see etcd/etcd_database.h). Errors: connection_string_invalid (2104) for a
// malformed URL, io_error (1510) when no member answers.
StatusOr<std::unique_ptr<Database>> OpenEtcdDatabase(std::string_view url,
                                                     const DatabaseOptions& options);

}  // namespace recordstore::kv

#endif  // RECORDSTORE_KV_ETCD_ETCD_H_
