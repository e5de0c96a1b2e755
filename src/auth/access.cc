#include "auth/access.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "auth/error.h"
#include "auth/parser.h"
#include "common/status_macros.h"

namespace recordstore::auth {
namespace {

constexpr std::string_view kPrivatePrefix = "ed25519-private/";
constexpr std::string_view kReasonUrl = "type.recordstore/auth_failure_reason";

// The policies. Request facts come from the authorizer (AddFact), rights from the authority
// block; facts of attenuation blocks are not trusted by authorizer policies, so a block
// appended by a holder cannot add rights, only checks.
constexpr std::string_view kTenantPolicies = R"(
allow if operation($op), tenant($t), record_space($s), right($t, $s, $op);
allow if operation($op), tenant($t), right($t, "*", $op);
allow if operation($op), right("*", "*", $op);
)";
constexpr std::string_view kServerPolicies = R"(
allow if operation($op), right("*", "*", $op);
)";

Status WithReason(Status status, std::string_view reason) {
  status.SetPayload(std::string(kReasonUrl), absl::Cord(std::string(reason)));
  return status;
}

Status Unauthenticated(std::string_view reason, const std::string& message) {
  return AccessError(ErrorCode::kUnauthenticated, reason, message);
}

// A Datalog string literal of `text` (quotes escaped by the printer).
std::string Quoted(const std::string& text) { return ToString(Term::String(text)); }

// Names in rights: tenant and record space names, or "*".
Status CheckName(const std::string& what, const std::string& name) {
  if (name.empty() || name.size() > 64) {
    return MakeError(ErrorCode::kInvalidArgument, what + " name must have 1 to 64 characters");
  }
  return absl::OkStatus();
}

Status FileError(ErrorCode code, const std::string& message) {
  return MakeError(code, message + ": " + std::strerror(errno));
}

// VerifiedToken::serial: process-wide, so that serials of different controllers (root keys)
// never meet.
std::atomic<uint64_t> next_serial{1};

// The exclusive bound D' (seconds) of an expiry check `check if time($t), $t < D` (D' = D)
// or `$t <= D` (D' = D + 1); nullopt for any other check.
std::optional<uint64_t> ExpiryBound(const Check& check) {
  if (check.kind != Check::Kind::kIf || check.queries.size() != 1) return std::nullopt;
  const Rule& query = check.queries[0];
  if (query.body.size() != 1 || query.expressions.size() != 1) return std::nullopt;
  const Predicate& time = query.body[0];
  if (time.name != "time" || time.terms.size() != 1 || time.terms[0].kind != TermKind::kVariable) {
    return std::nullopt;
  }
  const Expression& expression = query.expressions[0];
  if (expression.size() != 3 || expression[0].kind != Op::Kind::kValue ||
      expression[0].value != time.terms[0] || expression[1].kind != Op::Kind::kValue ||
      expression[1].value.kind != TermKind::kDate || expression[2].kind != Op::Kind::kBinary) {
    return std::nullopt;
  }
  const uint64_t date = expression[1].value.date();
  if (expression[2].binary == BinaryKind::kLessThan) return date;
  if (expression[2].binary == BinaryKind::kLessOrEqual &&
      date < std::numeric_limits<uint64_t>::max()) {
    return date + 1;
  }
  return std::nullopt;
}

bool MentionsTime(const Predicate& predicate) { return predicate.name == "time"; }

bool MentionsTime(const Rule& rule) {
  return MentionsTime(rule.head) || std::any_of(rule.body.begin(), rule.body.end(),
                                                [](const Predicate& p) { return MentionsTime(p); });
}

// The cache key of `request` for the token `serial`: every request fact, each length-prefixed
// so that no two requests share a key.
std::string DecisionKey(uint64_t serial, const AccessRequest& request) {
  std::string key(reinterpret_cast<const char*>(&serial), sizeof(serial));
  auto field = [&key](std::string_view value) {
    const uint32_t size = static_cast<uint32_t>(value.size());
    key.append(reinterpret_cast<const char*>(&size), sizeof(size));
    key.append(value);
  };
  key.push_back(static_cast<char>(request.operation));
  key.push_back(request.server_level ? 1 : 0);
  field(request.method);
  field(request.tenant);
  field(request.record_space);
  for (const std::string& type : request.record_types) field(type);
  return key;
}

}  // namespace

std::optional<uint64_t> AllowHoldsBefore(const Biscuit& token) {
  uint64_t bound = std::numeric_limits<uint64_t>::max();
  for (const TokenBlock& block : token.blocks()) {
    const BlockContent& content = block.content;
    if (std::any_of(content.facts.begin(), content.facts.end(),
                    [](const Predicate& p) { return MentionsTime(p); }) ||
        std::any_of(content.rules.begin(), content.rules.end(),
                    [](const Rule& r) { return MentionsTime(r); })) {
      return std::nullopt;
    }
    for (const Check& check : content.checks) {
      if (std::optional<uint64_t> expiry = ExpiryBound(check)) {
        bound = std::min(bound, *expiry);
        continue;
      }
      for (const Rule& query : check.queries) {
        if (MentionsTime(query)) return std::nullopt;
      }
    }
    for (const Policy& policy : content.policies) {
      for (const Rule& query : policy.queries) {
        if (MentionsTime(query)) return std::nullopt;
      }
    }
  }
  return bound;
}

std::string_view OperationName(Operation operation) {
  switch (operation) {
    case Operation::kRead:
      return "read";
    case Operation::kWrite:
      return "write";
    case Operation::kSchema:
      return "schema";
    case Operation::kAdmin:
      return "admin";
  }
  return "read";
}

StatusOr<Operation> ParseOperation(std::string_view name) {
  for (Operation operation : kAllOperations) {
    if (OperationName(operation) == name) return operation;
  }
  return MakeError(
      ErrorCode::kInvalidArgument,
      "unknown operation \"" + std::string(name) + "\"; operations are read, write, schema, admin");
}

std::string AccessRequest::Describe(const std::string* record_type) const {
  std::string target;
  if (server_level && tenant.empty()) {
    target = "the server";
  } else if (record_space.empty()) {
    target = "tenant " + (tenant.empty() ? std::string("(none)") : tenant);
  } else {
    target = (tenant.empty() ? std::string("(none)") : tenant) + "/" + record_space;
  }
  if (record_type != nullptr) target += " (record type " + *record_type + ")";
  return target;
}

StatusOr<std::string> AuthorityCode(const std::vector<Grant>& grants) {
  if (grants.empty()) return MakeError(ErrorCode::kInvalidArgument, "a token needs a right");
  std::string code;
  for (const Grant& grant : grants) {
    RETURN_IF_ERROR(CheckName("tenant", grant.tenant));
    RETURN_IF_ERROR(CheckName("record space", grant.record_space));
    if (grant.tenant == "*" && grant.record_space != "*") {
      return MakeError(ErrorCode::kInvalidArgument,
                       "a right on record space " + grant.record_space + " needs a tenant");
    }
    if (grant.operations.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "a right needs at least one operation");
    }
    for (Operation operation : grant.operations) {
      code += "right(" + Quoted(grant.tenant) + ", " + Quoted(grant.record_space) + ", " +
              Quoted(std::string(OperationName(operation))) + ");\n";
    }
  }
  return code;
}

std::vector<Grant> AdminGrants() {
  return {Grant{.operations = {std::begin(kAllOperations), std::end(kAllOperations)}}};
}

StatusOr<std::string> AttenuationCode(const Restriction& restriction) {
  std::vector<std::string> checks;
  if (!restriction.operations.empty()) {
    std::vector<std::string> alternatives;
    for (Operation operation : restriction.operations) {
      alternatives.push_back("operation(" + Quoted(std::string(OperationName(operation))) + ")");
    }
    // `or` between queries: any listed operation passes.
    checks.push_back("check if " + absl::StrJoin(alternatives, " or "));
  }
  if (!restriction.tenant.empty()) {
    checks.push_back("check if tenant(" + Quoted(restriction.tenant) + ")");
  }
  if (!restriction.record_space.empty()) {
    checks.push_back("check if record_space(" + Quoted(restriction.record_space) + ")");
  }
  if (!restriction.record_types.empty()) {
    std::vector<std::string> alternatives;
    for (const std::string& type : restriction.record_types) {
      alternatives.push_back("record_type(" + Quoted(type) + ")");
    }
    checks.push_back("check if " + absl::StrJoin(alternatives, " or "));
  }
  if (!restriction.methods.empty()) {
    std::vector<std::string> alternatives;
    for (const std::string& method : restriction.methods) {
      alternatives.push_back("method(" + Quoted(method) + ")");
    }
    checks.push_back("check if " + absl::StrJoin(alternatives, " or "));
  }
  if (restriction.expires.has_value()) {
    const int64_t seconds =
        std::chrono::duration_cast<std::chrono::seconds>(restriction.expires->time_since_epoch())
            .count();
    checks.push_back("check if time($t), $t < " + FormatDate(static_cast<uint64_t>(seconds)));
  }
  if (checks.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the attenuation restricts nothing: give operations, a tenant, a record "
                     "space, record types, methods or an expiry");
  }
  return absl::StrJoin(checks, ";\n") + ";\n";
}

// ---- files ----

Status WriteNewFile(const std::string& path, std::string_view contents, int mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) return MakeError(ErrorCode::kAlreadyExists, path + " already exists");
    return FileError(ErrorCode::kIoError, "cannot create " + path);
  }
  // The umask may have removed bits from `mode`; set exactly what was asked.
  bool ok = ::fchmod(fd, static_cast<mode_t>(mode)) == 0;
  for (size_t written = 0; ok && written < contents.size();) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) written += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  Status status = ok ? absl::OkStatus() : FileError(ErrorCode::kIoError, "cannot write " + path);
  ::close(fd);
  if (!ok) ::unlink(path.c_str());
  return status;
}

namespace {

struct KeyFile {
  std::string line;  // the first line, trimmed
  mode_t mode = 0;
};

StatusOr<KeyFile> ReadKeyLine(const std::string& path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return MakeError(ErrorCode::kNotFound, "no key file " + path);
    return FileError(ErrorCode::kIoError, "cannot read " + path);
  }
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return MakeError(ErrorCode::kInvalidArgument, "cannot read a key from " + path);
  }
  return KeyFile{std::string(absl::StripAsciiWhitespace(line)), info.st_mode};
}

StatusOr<KeyPair> ParsePrivateKey(const std::string& path, std::string_view line) {
  if (!line.starts_with(kPrivatePrefix)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     path +
                         " is not a root key file (expected \"ed25519-private/<64 hex "
                         "digits>\")");
  }
  line.remove_prefix(kPrivatePrefix.size());
  StatusOr<std::string> bytes = HexDecode(line);
  if (!bytes.ok() || bytes->size() != 32) {
    return MakeError(ErrorCode::kInvalidArgument,
                     path + " does not hold 64 hex digits after \"ed25519-private/\"");
  }
  StatusOr<KeyPair> key = KeyPair::FromPrivate(Algorithm::kEd25519, *bytes);
  if (!key.ok()) {
    return MakeError(ErrorCode::kInvalidArgument, path + " does not hold a valid Ed25519 key");
  }
  return key;
}

}  // namespace

StatusOr<KeyPair> ReadRootKeyFile(const std::string& path) {
  ASSIGN_OR_RETURN(KeyFile file, ReadKeyLine(path));
  ASSIGN_OR_RETURN(KeyPair key, ParsePrivateKey(path, file.line));
  if ((file.mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(file.mode & 07777));
    return MakeError(ErrorCode::kPermissionDenied,
                     "the root key file " + path + " has mode " + mode +
                         ": group and others must have no access to a private key; run "
                         "`chmod 600 " +
                         path + "`");
  }
  return key;
}

StatusOr<KeyPair> CreateRootKeyFile(const std::string& path) {
  ASSIGN_OR_RETURN(KeyPair key, KeyPair::Generate(Algorithm::kEd25519));
  RETURN_IF_ERROR(
      WriteNewFile(path, std::string(kPrivatePrefix) + HexEncode(key.PrivateBytes()) + "\n", 0600));
  return key;
}

std::string RootPublicKeyText(const KeyPair& root) { return root.public_key().ToString() + "\n"; }

StatusOr<PublicKey> ReadRootPublicKey(const std::string& path) {
  ASSIGN_OR_RETURN(KeyFile file, ReadKeyLine(path));
  if (file.line.starts_with(kPrivatePrefix)) {
    ASSIGN_OR_RETURN(KeyPair key, ReadRootKeyFile(path));
    return key.public_key();
  }
  StatusOr<PublicKey> key = PublicKey::FromString(file.line);
  if (!key.ok()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     path +
                         " holds neither a root key (\"ed25519-private/<hex>\") nor a "
                         "public key (\"ed25519/<hex>\")");
  }
  return key;
}

// ---- verification and authorization ----

std::string_view AccessFailureReason(const Status& status) {
  auto payload = status.GetPayload(std::string(kReasonUrl));
  if (!payload.has_value()) return "";
  const std::string reason(*payload);
  // Returns the literal, which outlives the status.
  for (std::string_view known : {"missing", "malformed", "invalid_signature", "revoked", "no_right",
                                 "failed_check", "run_limit", "error"}) {
    if (reason == known) return known;
  }
  return "error";
}

Status AccessError(ErrorCode code, std::string_view reason, const std::string& message) {
  return WithReason(MakeError(code, message), reason);
}

AccessController::AccessController(PublicKey root, AccessOptions options)
    : root_(std::move(root)), options_(options) {
  // Constant text: parsing cannot fail (access_test runs it).
  tenant_policies_ = *ParseAuthorizer(kTenantPolicies);
  server_policies_ = *ParseAuthorizer(kServerPolicies);
}

StatusOr<std::shared_ptr<const VerifiedToken>> AccessController::Authenticate(
    std::string_view text, const RevokedIds& revoked) {
  if (text.empty()) {
    return Unauthenticated("missing",
                           "no token: send \"authorization: Bearer <token>\" metadata (mint "
                           "one with `recordstore token mint`)");
  }
  if (text.size() > options_.max_token_bytes) {
    return Unauthenticated(
        "malformed",
        "the token is longer than " + std::to_string(options_.max_token_bytes) + " characters");
  }
  std::shared_ptr<const VerifiedToken> verified;
  {
    absl::MutexLock lock(&mutex_);
    auto found = by_text_.find(text);
    if (found != by_text_.end()) {
      lru_.splice(lru_.begin(), lru_, found->second);
      verified = found->second->second;
    }
  }
  if (verified == nullptr) {
    StatusOr<Biscuit> token = Biscuit::FromBase64(text, root_);
    if (!token.ok()) {
      const bool signature =
          HasAuthErrorKind(token.status(), wire::AuthErrorDetail::FORMAT_INVALID_SIGNATURE) ||
          HasAuthErrorKind(token.status(), wire::AuthErrorDetail::FORMAT_SIGNATURE_DESERIALIZATION);
      if (signature) {
        return Unauthenticated("invalid_signature",
                               "the token's signatures do not verify with this server's root "
                               "key (a token of another server, or altered)");
      }
      std::optional<wire::AuthErrorDetail> detail = GetAuthErrorDetail(token.status());
      const std::string why = detail.has_value() && detail->has_detail()
                                  ? detail->detail()
                                  : std::string(token.status().message());
      return Unauthenticated("malformed",
                             "the token is not a Biscuit token in base64url (" + why + ")");
    }
    auto entry = std::make_shared<VerifiedToken>(VerifiedToken{.token = *std::move(token)});
    for (const std::string& id : entry->token.RevocationIds()) {
      entry->revocation_ids.push_back(HexEncode(id));
    }
    entry->serial = next_serial.fetch_add(1, std::memory_order_relaxed);
    entry->allow_holds_before = AllowHoldsBefore(entry->token);
    verified = entry;
    absl::MutexLock lock(&mutex_);
    if (!by_text_.contains(text) && options_.verified_token_cache > 0) {
      lru_.emplace_front(std::string(text), verified);
      by_text_[lru_.front().first] = lru_.begin();
      if (lru_.size() > options_.verified_token_cache) {
        by_text_.erase(lru_.back().first);
        lru_.pop_back();
      }
    }
  }
  for (size_t block = 0; block < verified->revocation_ids.size(); ++block) {
    if (revoked.contains(verified->revocation_ids[block])) {
      return Unauthenticated("revoked", "the token was revoked (revocation id of block " +
                                            std::to_string(block) + ": " +
                                            verified->revocation_ids[block] + ")");
    }
  }
  return verified;
}

Status AccessController::Authorize(const VerifiedToken& token, const AccessRequest& request,
                                   std::chrono::system_clock::time_point now) const {
  const std::string_view operation = OperationName(request.operation);
  const uint64_t seconds = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  // Until the bound, the time fact cannot change the answer (every expiry check passes
  // exactly when it passed before, and nothing else reads the time).
  const bool cacheable = options_.authorization_cache > 0 && token.serial != 0 &&
                         token.allow_holds_before.has_value() &&
                         seconds < *token.allow_holds_before;
  std::string key;
  if (cacheable) {
    key = DecisionKey(token.serial, request);
    absl::MutexLock lock(&decisions_mutex_);
    if (allowed_.contains(key)) {
      cache_hits_.fetch_add(1, std::memory_order_relaxed);
      return absl::OkStatus();
    }
  }
  std::vector<const std::string*> types;
  for (const std::string& type : request.record_types) types.push_back(&type);
  if (types.empty()) types.push_back(nullptr);
  for (const std::string* type : types) {
    Authorizer authorizer;
    authorizer.BorrowToken(token.token);
    authorizer.SetLimits(options_.limits);
    auto fact = [&](std::string name, std::string value) {
      return authorizer.AddFact(Predicate{std::move(name), {Term::String(std::move(value))}});
    };
    RETURN_IF_ERROR(fact("operation", std::string(operation)));
    RETURN_IF_ERROR(fact("method", request.method));
    RETURN_IF_ERROR(authorizer.AddFact(Predicate{"time", {Term::Date(seconds)}}));
    if (!request.tenant.empty()) RETURN_IF_ERROR(fact("tenant", request.tenant));
    if (!request.record_space.empty()) {
      RETURN_IF_ERROR(fact("record_space", request.record_space));
    }
    if (type != nullptr) RETURN_IF_ERROR(fact("record_type", *type));
    authorizer.AddCode(request.server_level ? server_policies_ : tenant_policies_);
    StatusOr<size_t> allowed = authorizer.Authorize();
    if (allowed.ok()) continue;

    const std::string refused = "the token does not allow " + std::string(operation) + " on " +
                                request.Describe(type) + " (" + request.method + ")";
    std::optional<wire::AuthErrorDetail> detail = GetAuthErrorDetail(allowed.status());
    if (!detail.has_value()) return allowed.status();
    if (!detail->failed_checks().empty()) {
      std::vector<std::string> failed;
      for (const auto& check : detail->failed_checks()) {
        failed.push_back((check.has_block_id() ? "block " + std::to_string(check.block_id())
                                               : std::string("authorizer")) +
                         ": " + check.rule());
      }
      return WithReason(MakeError(ErrorCode::kPermissionDenied,
                                  refused + ": failed " + absl::StrJoin(failed, "; ")),
                        "failed_check");
    }
    switch (detail->kind()) {
      case wire::AuthErrorDetail::NO_MATCHING_POLICY:
        return WithReason(
            MakeError(ErrorCode::kPermissionDenied,
                      refused + ": it grants no right(tenant, record space, \"" +
                          std::string(operation) + "\") that covers it" +
                          (request.server_level ? " (server-level calls need right(\"*\", "
                                                  "\"*\", \"" +
                                                      std::string(operation) + "\"))"
                                                : "")),
            "no_right");
      case wire::AuthErrorDetail::RUN_LIMIT:
        return WithReason(MakeError(ErrorCode::kPermissionDenied,
                                    refused + ": the token's Datalog exceeds the run limits (" +
                                        detail->detail() + ")"),
                          "run_limit");
      default:
        return WithReason(MakeError(ErrorCode::kPermissionDenied,
                                    refused + ": " + std::string(allowed.status().message())),
                          "error");
    }
  }
  if (cacheable) {
    absl::MutexLock lock(&decisions_mutex_);
    // Emptying beats least-recently-used bookkeeping on every hit; refilling costs one
    // Datalog run per live (token, request) pair.
    if (allowed_.size() >= options_.authorization_cache) allowed_.clear();
    allowed_.insert(std::move(key));
  }
  return absl::OkStatus();
}

}  // namespace recordstore::auth
