// Authorization of every request (docs/security.md, "Authorization"): the bearer token of a
// gRPC call or HTTP request is verified (auth::AccessController, with its cache of verified
// tokens), checked against the revocation list, and authorized for the request's operation,
// tenant, record space and record types.
//
// Revocation list: revocation ids (lowercase hex) in the KV store, under the directory
// /recordstore/system/revoked_tokens:
//   P + ("id", hex)       (revoked at, microseconds since the epoch)
//   P + ("generation",)   8-byte little-endian counter, atomically incremented by each revocation
// Each server caches the list and re-reads the generation key when its copy is older than
// `refresh` (one point read; the ids only when the generation changed). A revocation made
// through this server applies at once; one made through another server sharing the KV
// store applies here within `refresh`. When the list cannot be read, requests are refused
// (UNAVAILABLE) rather than served with a list that may be stale.
//
// Thread-safety: thread-safe.
#ifndef RECORDSTORE_SERVER_AUTHORIZATION_H_
#define RECORDSTORE_SERVER_AUTHORIZATION_H_

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "auth/access.h"
#include "recordstore/kv.h"
#include "tuple/subspace.h"

namespace recordstore::server {

class RequestObserver;

class Revocations {
 public:
  // Opens (creating when missing) the revocation directory.
  static StatusOr<std::unique_ptr<Revocations>> Open(kv::Database& db,
                                                     std::chrono::milliseconds refresh);

  // The revoked ids, at most `refresh` old. Errors: the KV store's, when a refresh fails.
  StatusOr<std::shared_ptr<const auth::RevokedIds>> Current();
  // Revokes `ids` (hex, either case; stored lowercase); the count not revoked before.
  // invalid_argument for an id that is not 16 to 512 hex digits.
  StatusOr<int> Revoke(const std::vector<std::string>& ids);
  // Every revoked id, sorted.
  StatusOr<std::vector<std::string>> List();

 private:
  Revocations(kv::Database& db, Subspace subspace, std::chrono::milliseconds refresh)
      : db_(db), subspace_(std::move(subspace)), refresh_(refresh) {}
  // Re-reads the list when the generation moved. REQUIRES: mutex_ held.
  Status Refresh() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  kv::Database& db_;
  const Subspace subspace_;
  const std::chrono::milliseconds refresh_;
  absl::Mutex mutex_;
  std::shared_ptr<const auth::RevokedIds> ids_ ABSL_GUARDED_BY(mutex_);
  std::optional<std::string> generation_ ABSL_GUARDED_BY(mutex_);
  std::chrono::steady_clock::time_point refreshed_ ABSL_GUARDED_BY(mutex_);
};

// What the services call at the start of every request.
class RequestAuthorizer {
 public:
  // `observer` (may be null) is told each failure's reason.
  RequestAuthorizer(auth::PublicKey root, auth::AccessOptions options,
                    std::unique_ptr<Revocations> revocations, RequestObserver* observer);

  // The verified token of an `authorization` header or metadata value ("Bearer <token>";
  // `value` null when absent). unauthenticated (see AccessController::Authenticate; also a
  // value without the "Bearer " scheme); unavailable when the revocation list cannot be read.
  StatusOr<std::shared_ptr<const auth::VerifiedToken>> Authenticate(const std::string_view* value);
  // permission_denied when `token` does not allow `request` now.
  Status Authorize(const auth::VerifiedToken& token, const auth::AccessRequest& request);
  // Both.
  Status Check(const std::string_view* value, const auth::AccessRequest& request);

  Revocations& revocations() { return *revocations_; }

 private:
  Status Report(Status status);

  auth::AccessController controller_;
  std::unique_ptr<Revocations> revocations_;
  RequestObserver* observer_;
};

}  // namespace recordstore::server

#endif  // RECORDSTORE_SERVER_AUTHORIZATION_H_
