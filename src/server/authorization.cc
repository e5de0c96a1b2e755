#include "server/authorization.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/status_macros.h"
#include "server/services.h"
#include "tuple/directory_layer.h"

namespace recordstore::server {
namespace {

// The KV transactions of the revocation list: short, and never the reason a request waits.
constexpr std::chrono::seconds kRevocationTimeout{5};

std::string GenerationOperand() {
  // Little-endian 1 on 8 bytes, for the atomic ADD.
  std::string one(8, '\0');
  one[0] = 1;
  return one;
}

StatusOr<std::string> NormalizeId(const std::string& id) {
  const std::string lower = absl::AsciiStrToLower(id);
  const bool hex =
      std::all_of(lower.begin(), lower.end(), [](char c) { return absl::ascii_isxdigit(c); });
  if (!hex || lower.size() % 2 != 0 || lower.size() < 16 || lower.size() > 512) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "revocation id \"" + id.substr(0, 80) +
                         "\" is not 16 to 512 hex digits (see `recordstore token inspect`)");
  }
  return lower;
}

}  // namespace

StatusOr<std::unique_ptr<Revocations>> Revocations::Open(kv::Database& db,
                                                         std::chrono::milliseconds refresh) {
  DirectoryLayer directory;
  Subspace subspace;
  RETURN_IF_ERROR(db.Run([&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(DirectorySubspace opened,
                     directory.CreateOrOpen(txn, {"recordstore", "system", "revoked_tokens"}));
    subspace = opened;
    return absl::OkStatus();
  }));
  std::unique_ptr<Revocations> revocations(new Revocations(db, std::move(subspace), refresh));
  absl::MutexLock lock(&revocations->mutex_);
  RETURN_IF_ERROR(revocations->Refresh());
  return revocations;
}

Status Revocations::Refresh() {
  kv::TransactionOptions options;
  options.timeout = kRevocationTimeout;
  std::unique_ptr<kv::Transaction> txn = db_.CreateTransaction(options);
  ASSIGN_OR_RETURN(std::optional<std::string> generation,
                   txn->Get(subspace_.Pack(Tuple::Of("generation")), /*snapshot=*/true));
  const std::string current = generation.value_or("");
  if (ids_ == nullptr || generation_ != current) {
    auto [begin, end] = subspace_.Range(Tuple::Of("id"));
    ASSIGN_OR_RETURN(kv::RangeResult rows, txn->GetRange(begin, end, {.snapshot = true}));
    auto ids = std::make_shared<auth::RevokedIds>();
    for (const kv::KeyValue& row : rows.rows) {
      ASSIGN_OR_RETURN(Tuple key, subspace_.Unpack(row.key));
      const std::string* id = key.size() == 2 ? key[1].get_if<std::string>() : nullptr;
      if (id == nullptr) {
        return MakeError(ErrorCode::kDataCorruption, "malformed key in the revocation list");
      }
      ids->insert(*id);
    }
    ids_ = std::move(ids);
    generation_ = current;
  }
  refreshed_ = std::chrono::steady_clock::now();
  return absl::OkStatus();
}

StatusOr<std::shared_ptr<const auth::RevokedIds>> Revocations::Current() {
  absl::MutexLock lock(&mutex_);
  if (std::chrono::steady_clock::now() - refreshed_ >= refresh_) {
    Status refreshed = Refresh();
    if (!refreshed.ok()) {
      return Status(absl::StatusCode::kUnavailable,
                    "the revocation list cannot be read, so no token is accepted: " +
                        std::string(refreshed.message()));
    }
  }
  return ids_;
}

StatusOr<int> Revocations::Revoke(const std::vector<std::string>& ids) {
  std::vector<std::string> normalized;
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(std::string lower, NormalizeId(id));
    normalized.push_back(std::move(lower));
  }
  if (normalized.empty()) return MakeError(ErrorCode::kInvalidArgument, "no revocation ids");
  int added = 0;
  const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  RETURN_IF_ERROR(db_.Run([&](kv::Transaction& txn) -> Status {
    added = 0;
    for (const std::string& id : normalized) {
      const std::string key = subspace_.Pack(Tuple::Of("id", id));
      ASSIGN_OR_RETURN(std::optional<std::string> existing, txn.Get(key));
      if (existing.has_value()) continue;
      txn.Set(key, Tuple::Of(now).Pack());
      ++added;
    }
    if (added > 0) {
      txn.AtomicOp(kv::MutationType::kAdd, subspace_.Pack(Tuple::Of("generation")),
                   GenerationOperand());
    }
    return absl::OkStatus();
  }));
  // Applies here at once, not after the next refresh.
  absl::MutexLock lock(&mutex_);
  auto ids_now = std::make_shared<auth::RevokedIds>(*ids_);
  ids_now->insert(normalized.begin(), normalized.end());
  ids_ = std::move(ids_now);
  return added;
}

StatusOr<std::vector<std::string>> Revocations::List() {
  std::vector<std::string> ids;
  RETURN_IF_ERROR(db_.Run([&](kv::Transaction& txn) -> Status {
    ids.clear();
    auto [begin, end] = subspace_.Range(Tuple::Of("id"));
    ASSIGN_OR_RETURN(kv::RangeResult rows, txn.GetRange(begin, end));
    for (const kv::KeyValue& row : rows.rows) {
      ASSIGN_OR_RETURN(Tuple key, subspace_.Unpack(row.key));
      if (key.size() == 2 && key[1].get_if<std::string>() != nullptr) {
        ids.push_back(*key[1].get_if<std::string>());
      }
    }
    return absl::OkStatus();
  }));
  return ids;
}

RequestAuthorizer::RequestAuthorizer(auth::PublicKey root, auth::AccessOptions options,
                                     std::unique_ptr<Revocations> revocations,
                                     RequestObserver* observer)
    : controller_(std::move(root), options),
      revocations_(std::move(revocations)),
      observer_(observer) {}

Status RequestAuthorizer::Report(Status status) {
  if (!status.ok() && observer_ != nullptr) {
    std::string_view reason = auth::AccessFailureReason(status);
    observer_->OnAuthFailure(reason.empty() ? "unavailable" : reason);
  }
  return status;
}

StatusOr<std::shared_ptr<const auth::VerifiedToken>> RequestAuthorizer::Authenticate(
    const std::string_view* value) {
  std::string_view token;
  if (value != nullptr) {
    // RFC 6750: the scheme is case-insensitive.
    const std::string scheme(value->substr(0, 7));
    if (!absl::EqualsIgnoreCase(scheme, "bearer ")) {
      return Report(auth::AccessError(ErrorCode::kUnauthenticated, "malformed",
                                      "the authorization value must be \"Bearer <token>\""));
    }
    token = value->substr(7);
    while (!token.empty() && absl::ascii_isspace(token.front())) token.remove_prefix(1);
    while (!token.empty() && absl::ascii_isspace(token.back())) token.remove_suffix(1);
  }
  StatusOr<std::shared_ptr<const auth::RevokedIds>> revoked = revocations_->Current();
  if (!revoked.ok()) return Report(revoked.status());
  StatusOr<std::shared_ptr<const auth::VerifiedToken>> verified =
      controller_.Authenticate(token, **revoked);
  if (!verified.ok()) return Report(verified.status());
  return verified;
}

Status RequestAuthorizer::Authorize(const auth::VerifiedToken& token,
                                    const auth::AccessRequest& request) {
  return Report(controller_.Authorize(token, request, std::chrono::system_clock::now()));
}

Status RequestAuthorizer::Check(const std::string_view* value, const auth::AccessRequest& request) {
  ASSIGN_OR_RETURN(std::shared_ptr<const auth::VerifiedToken> token, Authenticate(value));
  return Authorize(*token, request);
}

}  // namespace recordstore::server
