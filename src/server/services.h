// The gRPC services of proto/recordstore/v1: Admin, Schema, Records, Query.
//
// Every request is authorized first (authorization.h): UNAUTHENTICATED without a valid
// token, PERMISSION_DENIED when the token does not allow the operation on the tenant, record
// space and record types the request names. Then every data request names its tenant and
// record space; the request runs in one transaction
// (retried on conflicts with backoff, ABORTED after kMaxAttempts) on the record store of that
// space only, so a record space never sees another's keys. Errors carry the library's
// canonical code and message (api_convert.h): what failed and what to fix.
//
// Thread-safety: the services are called concurrently by gRPC's thread pool.
#ifndef RECORDSTORE_SERVER_SERVICES_H_
#define RECORDSTORE_SERVER_SERVICES_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "recordstore/kv.h"
#include "server/authorization.h"
#include "server/catalog.h"
#include "server/encryption.h"
#include "server/index_builds.h"
#include "server/key_rotation.h"
#include "store/record_serializer.h"
#include "store/record_store.h"

namespace recordstore::server {

// Told about every finished RPC and every transaction retry (the metrics implement it).
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void OnRequest(std::string_view method, grpc::StatusCode code, double seconds) = 0;
  virtual void OnRetry(std::string_view method, const Status& error) = 0;
  // A request refused by authentication or authorization, with the reason
  // (auth::AccessFailureReason, or "unavailable" when the revocation list cannot be read).
  virtual void OnAuthFailure(std::string_view reason) = 0;
};

// What the services share.
struct ServiceState {
  kv::Database* db = nullptr;
  Catalog* catalog = nullptr;
  IndexBuilds* builds = nullptr;
  // May be null.
  RequestObserver* observer = nullptr;
  // Checks every request's token. REQUIRES: not null.
  RequestAuthorizer* authorizer = nullptr;
  // The store options for a tenant's record spaces (serializer, data keys).
  std::function<StatusOr<store::RecordStoreOptions>(const std::string& tenant)> store_options;
  // Encryption at rest: deleting a tenant deletes its data keys. May be null.
  TenantEncryption* encryption = nullptr;
  // Data key rotation and re-encryption (Admin.RotateTenantKey). REQUIRES: not null.
  KeyRotations* key_rotations = nullptr;
  // Records per response message of a streamed query.
  int query_batch = 100;
  // The time one query call may run before it returns a continuation (the KV transaction
  // lives 5 seconds).
  std::chrono::milliseconds query_time_limit{3000};
};

// Transaction attempts per request before a conflict is returned as ABORTED.
inline constexpr int kMaxAttempts = 20;

// The four services, sharing `state` (which must outlive them).
std::vector<std::unique_ptr<grpc::Service>> MakeServices(ServiceState& state);

}  // namespace recordstore::server

#endif  // RECORDSTORE_SERVER_SERVICES_H_
