// Record-Store's rights model on top of Biscuit (docs/security.md, "Authorization"): the
// facts a request is described by, the rights a token grants, the policies that connect the
// two, the root key file, and AccessController, which verifies tokens (with a cache of
// verified tokens) and authorizes requests.
//
// Rights (authority block facts):
//   right($tenant, $record_space, $operation)   $operation on one record space
//   right($tenant, "*", $operation)             ... on every record space of the tenant
//   right("*", "*", $operation)                 ... everywhere; with "admin", also the
//                                               server-level calls (tenants, revocation)
// Request facts (the authorizer's): operation, method, time, and tenant / record_space /
// record_type when the request names them. A request touching several record types is
// authorized once per type, so that an attenuation check `check if record_type("Order")`
// holds for every type the request touches, not for one of them.
//
// Thread-safety: AccessController is thread-safe; the rest are pure functions.
#ifndef RECORDSTORE_AUTH_ACCESS_H_
#define RECORDSTORE_AUTH_ACCESS_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "auth/biscuit.h"
#include "recordstore/status.h"

namespace recordstore::auth {

enum class Operation { kRead, kWrite, kSchema, kAdmin };
inline constexpr Operation kAllOperations[] = {Operation::kRead, Operation::kWrite,
                                               Operation::kSchema, Operation::kAdmin};

// "read", "write", "schema", "admin".
std::string_view OperationName(Operation operation);
// Inverse of OperationName; invalid_argument naming the four otherwise.
StatusOr<Operation> ParseOperation(std::string_view name);

// What one request asks for; the facts the authorizer sees.
struct AccessRequest {
  // The RPC ("Records.Put") or HTTP endpoint ("GET /metrics"): the `method` fact.
  std::string method{};
  Operation operation = Operation::kRead;
  // Server-level calls (tenant lifecycle, revocation, metrics) are allowed only by
  // right("*", "*", operation).
  bool server_level = false;
  // Empty: no such fact.
  std::string tenant{};
  std::string record_space{};
  // Authorized once per type; empty: once, without a record_type fact.
  std::vector<std::string> record_types{};

  // "tenant acme", "acme/users", "the server", with " (record type X)" when set.
  std::string Describe(const std::string* record_type) const;
};

// One right of an authority block: `tenant` and `record_space` are names or "*".
struct Grant {
  std::string tenant = "*";
  std::string record_space = "*";
  std::vector<Operation> operations{};
};

// The authority block granting `grants` (each operation of each grant becomes one right
// fact). invalid_argument for a record space without a tenant ("*" tenant, named space) or
// for no operations.
StatusOr<std::string> AuthorityCode(const std::vector<Grant>& grants);

// The rights of the server's administrator: every operation everywhere.
std::vector<Grant> AdminGrants();

// What an attenuation block restricts a token to; empty fields leave it unrestricted.
struct Restriction {
  std::vector<Operation> operations{};
  std::string tenant{};
  std::string record_space{};
  std::vector<std::string> record_types{};
  // RPCs ("Records.Get") or HTTP endpoints ("GET /metrics"), any of them.
  std::vector<std::string> methods{};
  std::optional<std::chrono::system_clock::time_point> expires{};
};

// The attenuation block (checks only) for `restriction`. invalid_argument when it restricts
// nothing.
StatusOr<std::string> AttenuationCode(const Restriction& restriction);

// The root key file: one line "ed25519-private/<64 hex digits>". Read and written with mode
// 0600; a file that group or others may access is refused (permission_denied, naming the
// chmod to run), as is a malformed one (invalid_argument).
StatusOr<KeyPair> ReadRootKeyFile(const std::string& path);
// Creates `path` (O_EXCL, mode 0600 whatever the umask, fsynced) holding a new Ed25519 key.
// already_exists when it exists.
StatusOr<KeyPair> CreateRootKeyFile(const std::string& path);
// The root public key from either file form: the private key file above, or a public key
// file "ed25519/<hex>" (RootPublicKeyText), which may be world-readable.
StatusOr<PublicKey> ReadRootPublicKey(const std::string& path);
// The public key file's content: "ed25519/<hex>\n".
std::string RootPublicKeyText(const KeyPair& root);
// Writes `contents` to a new file `path` with mode `mode` (O_EXCL, fsynced).
// already_exists when it exists, io_error otherwise.
Status WriteNewFile(const std::string& path, std::string_view contents, int mode);

struct AccessOptions {
  // Bounds on a token's Datalog for one authorization, so that a hostile token cannot burn
  // the server's CPU: at most this many facts, rule rounds and this much time. The facts
  // and rounds bound the work; the time (wall clock, so a thread descheduled on a busy
  // machine counts it too) is a backstop set far above a normal authorization's ~10 µs.
  RunLimits limits{
      .max_facts = 1000, .max_iterations = 100, .max_time = std::chrono::milliseconds(20)};
  // Verified tokens kept (least recently used first out). Verification costs one signature
  // check per block.
  size_t verified_token_cache = 10000;
  // Allows kept, by (verified token, request facts): a request repeating an allowed one
  // skips the Datalog run (~10 µs) while the answer cannot have changed (see
  // VerifiedToken::allow_holds_before). Refusals are not kept. Emptied when full. 0: every
  // request runs the Datalog.
  size_t authorization_cache = 10000;
  // Longer tokens (base64 text) are refused before parsing.
  size_t max_token_bytes = 16384;
};

// A token whose signatures were verified against the root key.
struct VerifiedToken {
  Biscuit token;
  // Lowercase hex of each block's revocation id, authority first.
  std::vector<std::string> revocation_ids{};
  // Set by AccessController::Authenticate, unique in the process for each token text it
  // verified (so never shared between root keys): the key of the token's cached allows. 0:
  // not verified by Authenticate; its requests are always authorized afresh.
  uint64_t serial = 0;
  // The time (seconds since the epoch, exclusive) until which an allow stays an allow:
  // the token reads the time only in expiry checks `check if time($t), $t < D` (or `<=`;
  // what AttenuationCode writes), and this is the earliest such bound (UINT64_MAX with
  // none). nullopt when the token mentions the predicate `time` in any other way: then no
  // answer is reused. Authenticate sets it (AllowHoldsBefore).
  std::optional<uint64_t> allow_holds_before{};
};

// VerifiedToken::allow_holds_before for `token`.
std::optional<uint64_t> AllowHoldsBefore(const Biscuit& token);

// Revocation ids (lowercase hex) of revoked tokens.
using RevokedIds = absl::flat_hash_set<std::string>;

// Why a request was refused, for metrics: "missing", "malformed", "invalid_signature",
// "revoked", "no_right", "failed_check", "run_limit", "error"; "" for other statuses.
std::string_view AccessFailureReason(const Status& status);
// An error of `code` carrying `reason` (one of the above) for AccessFailureReason.
Status AccessError(ErrorCode code, std::string_view reason, const std::string& message);

class AccessController {
 public:
  AccessController(PublicKey root, AccessOptions options);

  // The verified token for `text` (base64url, as sent after "Bearer "), from the cache or
  // parsed and verified now. unauthenticated: empty ("missing"), too long, not a token
  // ("malformed"), not signed by the root key ("invalid_signature"), or one of its blocks'
  // revocation ids is in `revoked` ("revoked"). The message never contains the token.
  StatusOr<std::shared_ptr<const VerifiedToken>> Authenticate(std::string_view text,
                                                              const RevokedIds& revoked);

  // OK when the token allows `request` at `now`. permission_denied naming the operation and
  // target otherwise ("no_right": no policy allows it; "failed_check": a check of the token
  // failed, e.g. an expiry; "run_limit"; "error" for a token whose Datalog fails to run).
  // An allow may come from the authorization cache (AccessOptions::authorization_cache).
  // Revocation is not looked at here: that is Authenticate's, on every request.
  Status Authorize(const VerifiedToken& token, const AccessRequest& request,
                   std::chrono::system_clock::time_point now) const;

  const PublicKey& root() const { return root_; }
  // Authorize calls answered from the authorization cache so far.
  uint64_t authorization_cache_hits() const { return cache_hits_.load(std::memory_order_relaxed); }

 private:
  const PublicKey root_;
  const AccessOptions options_;
  // The policies, parsed once.
  BlockContent tenant_policies_;
  BlockContent server_policies_;

  absl::Mutex mutex_;
  // Most recently used first.
  std::list<std::pair<std::string, std::shared_ptr<const VerifiedToken>>> lru_
      ABSL_GUARDED_BY(mutex_);
  std::unordered_map<std::string_view, decltype(lru_)::iterator> by_text_ ABSL_GUARDED_BY(mutex_);

  // Keys (DecisionKey) of allowed requests.
  mutable absl::Mutex decisions_mutex_;
  mutable absl::flat_hash_set<std::string> allowed_ ABSL_GUARDED_BY(decisions_mutex_);
  mutable std::atomic<uint64_t> cache_hits_{0};
};

}  // namespace recordstore::auth

#endif  // RECORDSTORE_AUTH_ACCESS_H_
