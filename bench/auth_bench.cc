// Suite `auth`: what the server spends on one request's token, on one thread. The token has
// three blocks, as an attenuated token in use does: the authority block (rights on a tenant)
// and two attenuation blocks (one record space; an expiry). One operation is the server's
// path for a request (auth::AccessController): Authenticate the token text, then Authorize
// a write of one record type on acme/users.
//
// Systems of workload `verify_authorize`:
//   recordstore           the server's path: the verified-token cache hit and the revocation
//                         check, then the authorization, an authorization-cache hit (the
//                         same request again, before the token's expiry)
//   recordstore_uncached  both caches disabled: base64, protobuf, three Ed25519 signature
//                         checks and the proof on every request, then the Datalog run
//   ed25519_verify_x3     the baseline: OpenSSL verifying three Ed25519 signatures of messages
//                         the size of the blocks, the floor of any uncached verification
// Workload `authorize` (system recordstore) is the Datalog part alone (authorization cache off).
#include <string>
#include <vector>

#include "auth/access.h"
#include "auth/biscuit.h"
#include "bench/bench.h"

namespace recordstore::bench {
namespace {

using auth::Operation;

// Runs `op` `ops` times, timing each, and reports the result.
template <typename Op>
void Measure(const std::string& workload, const std::string& system, int64_t ops,
             Reporter& reporter, Op op) {
  LatencyRecorder latencies;
  const double start = NowSeconds();
  for (int64_t i = 0; i < ops; ++i) {
    const double one = NowSeconds();
    op();
    latencies.Record((NowSeconds() - one) * 1e6);
  }
  Result result =
      MakeResult(workload, system, static_cast<uint64_t>(ops), NowSeconds() - start, latencies);
  result.params = {{"ops", std::to_string(ops)}, {"blocks", "3"}};
  reporter.Add(result);
}

int RunAuthSuite(const Options& options, Reporter& reporter) {
  const int64_t ops = options.GetInt("ops", 100000);
  const int64_t uncached_ops = options.GetInt("uncached_ops", 5000);
  StatusOr<auth::KeyPair> root = auth::KeyPair::Generate(auth::Algorithm::kEd25519);
  if (!root.ok()) return 1;
  StatusOr<std::string> authority = auth::AuthorityCode(
      {auth::Grant{.tenant = "acme", .operations = {Operation::kRead, Operation::kWrite}}});
  StatusOr<auth::Biscuit> token = auth::Biscuit::Mint(*root, *authority);
  if (!token.ok()) return 1;
  token = token->Attenuate(*auth::AttenuationCode({.record_space = "users"}));
  token = token->Attenuate(*auth::AttenuationCode(
      {.expires = std::chrono::system_clock::now() + std::chrono::hours(24)}));
  if (!token.ok()) return 1;
  const std::string text = token->ToBase64();
  const auth::AccessRequest request{.method = "Records.Put",
                                    .operation = Operation::kWrite,
                                    .tenant = "acme",
                                    .record_space = "users",
                                    .record_types = {"Order"}};
  const auth::RevokedIds revoked = {std::string(128, 'a')};
  int64_t failures = 0;

  auth::AccessController cached(root->public_key(), auth::AccessOptions{});
  auth::AccessController uncached(
      root->public_key(), auth::AccessOptions{.verified_token_cache = 0, .authorization_cache = 0});
  auth::AccessController datalog(root->public_key(), auth::AccessOptions{.authorization_cache = 0});
  auto verify_authorize = [&](auth::AccessController& controller) {
    auto verified = controller.Authenticate(text, revoked);
    if (!verified.ok() ||
        !controller.Authorize(**verified, request, std::chrono::system_clock::now()).ok()) {
      ++failures;
    }
  };

  Progress("auth: verify_authorize, " + std::to_string(ops) + " ops (cached), " +
           std::to_string(uncached_ops) + " ops (uncached, baseline)");
  Measure("verify_authorize", "recordstore", ops, reporter, [&] { verify_authorize(cached); });
  Measure("verify_authorize", "recordstore_uncached", uncached_ops, reporter,
          [&] { verify_authorize(uncached); });
  std::vector<std::pair<std::string, std::string>> signed_blocks;
  for (size_t i = 0; i < token->blocks().size(); ++i) {
    std::string message(auth::ToString(token->blocks()[i].content).size() + 64, 'x');
    signed_blocks.emplace_back(message, *root->Sign(message));
  }
  Measure("verify_authorize", "ed25519_verify_x3", uncached_ops, reporter, [&] {
    for (const auto& [message, signature] : signed_blocks) {
      if (!auth::VerifySignature(root->public_key(), message, signature).ok()) ++failures;
    }
  });
  reporter.PrintRatio("verify_authorize", "recordstore", "ed25519_verify_x3");
  reporter.PrintRatio("verify_authorize", "recordstore_uncached", "ed25519_verify_x3");

  Progress("auth: authorize alone, " + std::to_string(ops) + " ops");
  auto verified = datalog.Authenticate(text, revoked);
  if (!verified.ok()) return 1;
  Measure("authorize", "recordstore", ops, reporter, [&] {
    if (!datalog.Authorize(**verified, request, std::chrono::system_clock::now()).ok()) ++failures;
  });
  if (failures != 0) {
    Progress("auth: " + std::to_string(failures) + " operations failed");
    return 1;
  }
  return 0;
}

}  // namespace

RS_BENCH_SUITE(auth,
               "token verification + authorization per request, 3-block token "
               "(--ops=N cached, --uncached_ops=N)",
               RunAuthSuite);

}  // namespace recordstore::bench
