// The standard gRPC health checking service (grpc.health.v1.Health, proto/grpc/health/v1):
// what load balancers and orchestrators probe (grpc_health_probe, Kubernetes' gRPC probes).
// It answers for the transport: SERVING while gRPC is serving, with no token (probes carry
// none, and the answer tells nothing about the data) and no KV access (that is HTTP
// /healthz). Its Check is therefore a gRPC call whose handler does no work, which the server
// benchmark's `empty_call` workload uses to measure the transport's cost per call.
//
// Thread-safety: called concurrently by gRPC's thread pool; immutable after construction.
#ifndef RECORDSTORE_SERVER_HEALTH_H_
#define RECORDSTORE_SERVER_HEALTH_H_

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"

namespace recordstore::server {

// Check answers SERVING for "" (the whole server) and for each of `services` (full names,
// "recordstore.v1.Records"), NOT_FOUND for any other name.
std::unique_ptr<grpc::Service> MakeHealthService(std::vector<std::string> services);

}  // namespace recordstore::server

#endif  // RECORDSTORE_SERVER_HEALTH_H_
