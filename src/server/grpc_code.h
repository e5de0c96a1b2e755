// The names of gRPC status codes ("INVALID_ARGUMENT"), for metrics labels and CLI messages.
#ifndef RECORDSTORE_SERVER_GRPC_CODE_H_
#define RECORDSTORE_SERVER_GRPC_CODE_H_

#include <string_view>

#include "grpcpp/support/status.h"

namespace recordstore::server {

// The canonical name of `code`; "UNKNOWN" for numbers gRPC does not define.
std::string_view GrpcCodeName(grpc::StatusCode code);

}  // namespace recordstore::server

#endif  // RECORDSTORE_SERVER_GRPC_CODE_H_
