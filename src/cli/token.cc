#include "cli/token.h"

#include <iostream>
#include <memory>

#include "absl/strings/str_split.h"
#include "auth/access.h"
#include "auth/biscuit.h"
#include "cli/cli_util.h"

namespace recordstore::cli {
namespace {

struct TokenFlags {
  std::string root_key;
  std::string tenant;
  std::string space;
  std::string operations;
  std::vector<std::string> record_types;
  std::vector<std::string> methods;
  std::string ttl;
  bool admin = false;
  std::string token;
};

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "recordstore: " << message << std::endl;
  throw CLI::RuntimeError(kExitUsage);
}

template <typename T>
T OrFail(StatusOr<T> value) {
  if (!value.ok()) Fail(std::string(value.status().message()));
  return *std::move(value);
}

std::vector<auth::Operation> Operations(const std::string& list) {
  std::vector<auth::Operation> operations;
  for (absl::string_view name : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    operations.push_back(OrFail(auth::ParseOperation(std::string(name))));
  }
  return operations;
}

std::optional<std::chrono::system_clock::time_point> Expiry(const std::string& ttl) {
  if (ttl.empty()) return std::nullopt;
  absl::StatusOr<std::chrono::seconds> duration = ParseDuration(ttl);
  if (!duration.ok()) Fail(std::string(duration.status().message()));
  return std::chrono::system_clock::now() + *duration;
}

// The token argument, else --token / RECORDSTORE_TOKEN.
const std::string& TokenText(const TokenFlags& flags, const std::string& global_token) {
  const std::string& text = flags.token.empty() ? global_token : flags.token;
  if (text.empty()) Fail("no token: give one as an argument, or --token / RECORDSTORE_TOKEN");
  return text;
}

auth::Biscuit Parse(const TokenFlags& flags, const std::string& global_token) {
  auth::PublicKey root = OrFail(auth::ReadRootPublicKey(flags.root_key));
  StatusOr<auth::Biscuit> token = auth::Biscuit::FromBase64(TokenText(flags, global_token), root);
  if (!token.ok()) {
    Fail("the token does not verify with the root key in " + flags.root_key + ": " +
         std::string(token.status().message()));
  }
  return *std::move(token);
}

void Mint(const TokenFlags& flags) {
  std::vector<auth::Grant> grants;
  if (flags.admin) {
    if (!flags.tenant.empty() || !flags.space.empty() || !flags.operations.empty()) {
      Fail("--admin grants every operation everywhere: drop --tenant, --space and --ops");
    }
    grants = auth::AdminGrants();
  } else {
    if (flags.tenant.empty()) Fail("give --tenant (or --admin for every right)");
    grants.push_back(auth::Grant{
        .tenant = flags.tenant,
        .record_space = flags.space.empty() ? "*" : flags.space,
        .operations = Operations(flags.operations.empty() ? "read" : flags.operations)});
  }
  std::string code = OrFail(auth::AuthorityCode(grants));
  if (std::optional<std::chrono::system_clock::time_point> expires = Expiry(flags.ttl)) {
    code += OrFail(auth::AttenuationCode(auth::Restriction{.expires = expires}));
  }
  auth::KeyPair root = OrFail(auth::ReadRootKeyFile(flags.root_key));
  auth::Biscuit token = OrFail(auth::Biscuit::Mint(root, code));
  std::cout << token.ToBase64() << "\n";
}

void Attenuate(const TokenFlags& flags, const std::string& global_token) {
  auth::Restriction restriction{.operations = Operations(flags.operations),
                                .tenant = flags.tenant,
                                .record_space = flags.space,
                                .record_types = flags.record_types,
                                .methods = flags.methods,
                                .expires = Expiry(flags.ttl)};
  const std::string code = OrFail(auth::AttenuationCode(restriction));
  auth::Biscuit token = Parse(flags, global_token);
  std::cout << OrFail(token.Attenuate(code)).ToBase64() << "\n";
}

void Inspect(const TokenFlags& flags, const std::string& global_token) {
  auth::Biscuit token = Parse(flags, global_token);
  const std::vector<std::string> ids = token.RevocationIds();
  for (size_t i = 0; i < token.blocks().size(); ++i) {
    std::cout << "block " << i << (i == 0 ? " (authority)" : "") << ", revocation id "
              << auth::HexEncode(ids[i]) << ":\n";
    std::string code = auth::ToString(token.blocks()[i].content);
    for (absl::string_view line : absl::StrSplit(code, '\n', absl::SkipEmpty())) {
      std::cout << "  " << line << "\n";
    }
  }
  if (token.sealed()) std::cout << "sealed: no more blocks can be added\n";
}

}  // namespace

CLI::App* AddTokenCommands(CLI::App& app, const std::string& global_token) {
  // One set of flags per command: a default of one must not leak into another.
  auto flags = std::make_shared<TokenFlags>();
  CLI::App* token = app.add_subcommand(
      "token", "Mint, attenuate, inspect and revoke authorization tokens (docs/security.md)");
  token->require_subcommand(1);

  CLI::App* mint = token->add_subcommand(
      "mint", "Print a new token signed with the server's root key (run where the key is)");
  mint->add_option("--root-key", flags->root_key, "The server's root key file")
      ->default_val("data/root_key");
  mint->add_option("--tenant", flags->tenant,
                   "The tenant the token grants rights on (\"*\": every tenant)");
  mint->add_option("--space", flags->space, "One record space of the tenant (default: all)");
  mint->add_option("--ops", flags->operations,
                   "Comma-separated operations: read, write, schema, admin (default: read)");
  mint->add_flag("--admin", flags->admin,
                 "Every operation on every tenant, and the server-level calls");
  mint->add_option("--ttl", flags->ttl, "Expire after this long (e.g. 30m, 24h, 7d)");
  mint->callback([flags] { Mint(*flags); });

  flags = std::make_shared<TokenFlags>();
  CLI::App* attenuate = token->add_subcommand(
      "attenuate", "Print a copy of a token restricted further (no secret key needed)");
  attenuate->add_option("token", flags->token, "The token (default: --token)");
  attenuate
      ->add_option("--root-key", flags->root_key,
                   "The server's public (root_key.pub) or private root key file")
      ->default_val("data/root_key.pub");
  attenuate->add_option("--ops", flags->operations, "Only these operations (comma-separated)");
  attenuate->add_option("--tenant", flags->tenant, "Only this tenant");
  attenuate->add_option("--space", flags->space, "Only this record space");
  attenuate->add_option("--record-type", flags->record_types,
                        "Only these record types (repeat for several)");
  attenuate->add_option("--method", flags->methods,
                        "Only these calls: Records.Get, GET /metrics, ... (repeat for several)");
  attenuate->add_option("--ttl", flags->ttl, "Expire after this long (e.g. 30m, 24h, 7d)");
  attenuate->callback([flags, &global_token] { Attenuate(*flags, global_token); });

  flags = std::make_shared<TokenFlags>();
  CLI::App* inspect = token->add_subcommand(
      "inspect", "Print a token's blocks and their revocation ids (for `token revoke`)");
  inspect->add_option("token", flags->token, "The token (default: --token)");
  inspect
      ->add_option("--root-key", flags->root_key,
                   "The server's public (root_key.pub) or private root key file")
      ->default_val("data/root_key.pub");
  inspect->callback([flags, &global_token] { Inspect(*flags, global_token); });
  return token;
}

}  // namespace recordstore::cli
