// The rights model without a server: authority and attenuation code, root key files, the
// verified-token cache, revocation and the denial reasons.
#include "auth/access.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>

namespace recordstore::auth {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

KeyPair NewKey() { return *KeyPair::Generate(Algorithm::kEd25519); }

Biscuit MintWith(const KeyPair& root, const std::vector<Grant>& grants) {
  StatusOr<std::string> code = AuthorityCode(grants);
  EXPECT_TRUE(code.ok()) << code.status();
  return *Biscuit::Mint(root, *code);
}

AccessRequest Put(std::string tenant, std::string space, std::vector<std::string> types) {
  return AccessRequest{.method = "Records.Put",
                       .operation = Operation::kWrite,
                       .tenant = std::move(tenant),
                       .record_space = std::move(space),
                       .record_types = std::move(types)};
}

TEST(AccessCodeTest, AuthorityAndAttenuationText) {
  EXPECT_EQ(*AuthorityCode({Grant{.tenant = "acme",
                                  .record_space = "users",
                                  .operations = {Operation::kRead, Operation::kWrite}}}),
            "right(\"acme\", \"users\", \"read\");\nright(\"acme\", \"users\", \"write\");\n");
  EXPECT_EQ(*AuthorityCode(AdminGrants()),
            "right(\"*\", \"*\", \"read\");\nright(\"*\", \"*\", \"write\");\n"
            "right(\"*\", \"*\", \"schema\");\nright(\"*\", \"*\", \"admin\");\n");
  // Quotes in names cannot inject Datalog.
  EXPECT_EQ(*AuthorityCode({Grant{.tenant = "a\"b", .operations = {Operation::kRead}}}),
            "right(\"a\\\"b\", \"*\", \"read\");\n");
  EXPECT_EQ(AuthorityCode({Grant{.record_space = "users", .operations = {Operation::kRead}}})
                .status()
                .message(),
            "invalid_argument (8001): a right on record space users needs a tenant");
  EXPECT_FALSE(AuthorityCode({Grant{.tenant = "acme"}}).ok());
  EXPECT_FALSE(AuthorityCode({}).ok());

  Restriction restriction{.operations = {Operation::kRead, Operation::kSchema},
                          .tenant = "acme",
                          .record_space = "users",
                          .record_types = {"Order", "Customer"},
                          .methods = {"GET /metrics"},
                          .expires = system_clock::from_time_t(1767225600)};
  EXPECT_EQ(*AttenuationCode(restriction),
            "check if operation(\"read\") or operation(\"schema\");\n"
            "check if tenant(\"acme\");\n"
            "check if record_space(\"users\");\n"
            "check if record_type(\"Order\") or record_type(\"Customer\");\n"
            "check if method(\"GET /metrics\");\n"
            "check if time($t), $t < 2026-01-01T00:00:00Z;\n");
  EXPECT_EQ(AttenuationCode({}).status().message(),
            "invalid_argument (8001): the attenuation restricts nothing: give operations, a "
            "tenant, a record space, record types, methods or an expiry");
  EXPECT_EQ(*ParseOperation("schema"), Operation::kSchema);
  EXPECT_EQ(ParseOperation("delete").status().message(),
            "invalid_argument (8001): unknown operation \"delete\"; operations are read, write, "
            "schema, admin");
}

class RootKeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("access_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(RootKeyFileTest, CreatedOwnerOnlyAndReadBack) {
  const std::string path = (dir_ / "root_key").string();
  const mode_t old_umask = ::umask(0);  // the file is 0600 whatever the umask
  StatusOr<KeyPair> created = CreateRootKeyFile(path);
  ::umask(old_umask);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(fs::status(path).permissions(), fs::perms::owner_read | fs::perms::owner_write);
  StatusOr<KeyPair> read = ReadRootKeyFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->public_key(), created->public_key());
  EXPECT_EQ(ReadRootPublicKey(path)->ToString(), created->public_key().ToString());
  // Never overwritten.
  EXPECT_TRUE(HasErrorCode(CreateRootKeyFile(path).status(), ErrorCode::kAlreadyExists));

  // The public key file may be world-readable and is enough to verify.
  const std::string public_path = (dir_ / "root_key.pub").string();
  ASSERT_TRUE(WriteNewFile(public_path, RootPublicKeyText(*created), 0644).ok());
  EXPECT_EQ(*ReadRootPublicKey(public_path), created->public_key());
  // ...but not to sign.
  EXPECT_EQ(ReadRootKeyFile(public_path).status().message(),
            "invalid_argument (8001): " + public_path +
                " is not a root key file (expected \"ed25519-private/<64 hex digits>\")");
}

TEST_F(RootKeyFileTest, LooseMalformedAndMissingFilesAreRefused) {
  const std::string path = (dir_ / "root_key").string();
  ASSERT_TRUE(CreateRootKeyFile(path).ok());
  fs::permissions(path, fs::perms::group_read, fs::perm_options::add);
  EXPECT_EQ(ReadRootKeyFile(path).status().message(),
            "permission_denied (8009): the root key file " + path +
                " has mode 0640: group and others must have no access to a private key; run "
                "`chmod 600 " +
                path + "`");
  const std::string bad = (dir_ / "bad").string();
  ASSERT_TRUE(WriteNewFile(bad, "ed25519-private/1234\n", 0600).ok());
  EXPECT_EQ(ReadRootKeyFile(bad).status().message(),
            "invalid_argument (8001): " + bad +
                " does not hold 64 hex digits after \"ed25519-private/\"");
  EXPECT_EQ(ReadRootKeyFile((dir_ / "none").string()).status().message(),
            "not_found (8002): no key file " + (dir_ / "none").string());
}

TEST(AccessControllerTest, VerifiesOnceAndAuthorizesEveryRequest) {
  KeyPair root = NewKey();
  AccessController controller(root.public_key(), AccessOptions{.verified_token_cache = 2});
  const std::string text =
      MintWith(
          root,
          {Grant{.tenant = "acme", .record_space = "users", .operations = {Operation::kWrite}}})
          .ToBase64();
  auto first = controller.Authenticate(text, {});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = controller.Authenticate(text, {});
  ASSERT_TRUE(second.ok());
  // The cache hands back the same verified token.
  EXPECT_EQ(first->get(), second->get());
  ASSERT_EQ((*first)->revocation_ids.size(), 1u);
  EXPECT_EQ((*first)->revocation_ids[0], HexEncode((*first)->token.RevocationIds()[0]));

  const auto now = system_clock::now();
  EXPECT_TRUE(controller.Authorize(**first, Put("acme", "users", {"Order"}), now).ok());
  Status denied = controller.Authorize(**first, Put("acme", "orders", {"Order"}), now);
  EXPECT_TRUE(HasErrorCode(denied, ErrorCode::kPermissionDenied));
  EXPECT_EQ(AccessFailureReason(denied), "no_right");
  EXPECT_EQ(AccessFailureReason(absl::OkStatus()), "");

  // Evicted least recently used first: a third token pushes out the first.
  for (const char* tenant : {"b", "c"}) {
    ASSERT_TRUE(controller
                    .Authenticate(
                        MintWith(root, {Grant{.tenant = tenant, .operations = {Operation::kRead}}})
                            .ToBase64(),
                        {})
                    .ok());
  }
  auto again = controller.Authenticate(text, {});
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->get(), first->get());
}

TEST(AccessControllerTest, EachRecordTypeIsAuthorizedOnItsOwn) {
  KeyPair root = NewKey();
  AccessController controller(root.public_key(), AccessOptions{});
  Biscuit token = *MintWith(root, {Grant{.tenant = "acme", .operations = {Operation::kWrite}}})
                       .Attenuate("check if record_type(\"Order\");");
  VerifiedToken verified{.token = token};
  const auto now = system_clock::now();
  EXPECT_TRUE(controller.Authorize(verified, Put("acme", "users", {"Order"}), now).ok());
  Status mixed = controller.Authorize(verified, Put("acme", "users", {"Order", "Customer"}), now);
  EXPECT_EQ(AccessFailureReason(mixed), "failed_check");
  EXPECT_EQ(mixed.message(),
            "permission_denied (8009): the token does not allow write on acme/users (record "
            "type Customer) (Records.Put): failed block 1: check if record_type(\"Order\")");
  // No record type named: nothing satisfies the check.
  EXPECT_EQ(AccessFailureReason(controller.Authorize(verified, Put("acme", "users", {}), now)),
            "failed_check");
}

TEST(AccessControllerTest, RefusalsAreClassified) {
  KeyPair root = NewKey();
  AccessController controller(root.public_key(), AccessOptions{.max_token_bytes = 4096});
  auto reason = [&](std::string_view text, const RevokedIds& revoked = {}) {
    StatusOr<std::shared_ptr<const VerifiedToken>> verified =
        controller.Authenticate(text, revoked);
    EXPECT_TRUE(HasErrorCode(verified.status(), ErrorCode::kUnauthenticated));
    // The token never appears in the message.
    if (!text.empty()) {
      EXPECT_EQ(std::string(verified.status().message()).find(text), std::string::npos);
    }
    return AccessFailureReason(verified.status());
  };
  EXPECT_EQ(reason(""), "missing");
  EXPECT_EQ(reason(std::string(5000, 'A')), "malformed");
  EXPECT_EQ(reason("AAAA"), "malformed");
  const std::string foreign = MintWith(NewKey(), AdminGrants()).ToBase64();
  EXPECT_EQ(reason(foreign), "invalid_signature");
  const Biscuit mine = MintWith(root, AdminGrants());
  EXPECT_EQ(reason(mine.ToBase64(), {HexEncode(mine.RevocationIds()[0])}), "revoked");
}

// --- The authorization cache ---

// Seconds since the epoch as a time point.
system_clock::time_point At(int64_t seconds) {
  return system_clock::time_point(std::chrono::seconds(seconds));
}

AccessRequest Get(std::string tenant, std::string space) {
  return AccessRequest{.method = "Records.Get",
                       .operation = Operation::kRead,
                       .tenant = std::move(tenant),
                       .record_space = std::move(space),
                       .record_types = {"Order"}};
}

TEST(AuthorizationCacheTest, OnlyExpiryChecksMayReadTheTime) {
  KeyPair root = NewKey();
  const Biscuit plain = MintWith(root, AdminGrants());
  EXPECT_EQ(AllowHoldsBefore(plain), std::numeric_limits<uint64_t>::max());
  // What `token attenuate --expires` writes; the earliest of several expiries wins.
  const Biscuit expiring =
      *plain.Attenuate(*AttenuationCode(Restriction{.expires = At(2'000'000'000)}));
  EXPECT_EQ(AllowHoldsBefore(expiring), 2'000'000'000u);
  EXPECT_EQ(AllowHoldsBefore(*expiring.Attenuate("check if time($t), $t <= 1999999990;")),
            std::nullopt)
      << "an integer is not a date";
  EXPECT_EQ(AllowHoldsBefore(*expiring.Attenuate(
                "check if time($t), $t <= 2040-01-01T00:00:00Z;")),  // after 2'000'000'000
            2'000'000'000u);
  EXPECT_EQ(AllowHoldsBefore(*plain.Attenuate("check if time($t), $t <= 2030-01-01T00:00:00Z;")),
            1'893'456'000u + 1);
  // Every other use of the time: answers are never reused.
  for (const char* code : {
           "check if time($t), $t > 2020-01-01T00:00:00Z;",  // not before
           "check if time($t), $t < 2030-01-01T00:00:00Z, operation(\"read\");",
           "check if time($t), 2030-01-01T00:00:00Z > $t;",  // not the written form
           "check all time($t), $t < 2030-01-01T00:00:00Z;",
           "reject if time($t), $t < 2030-01-01T00:00:00Z;",
           "late($t) <- time($t), $t > 2020-01-01T00:00:00Z; check if late($t);",
           "time(2020-01-01T00:00:00Z);",
       }) {
    EXPECT_EQ(AllowHoldsBefore(*expiring.Attenuate(code)), std::nullopt) << code;
  }
}

TEST(AuthorizationCacheTest, AnExpiredTokenIsRefusedAfterACachedAllow) {
  KeyPair root = NewKey();
  AccessController controller(root.public_key(), AccessOptions{});
  const Biscuit token =
      *MintWith(root, {Grant{.tenant = "acme", .operations = {Operation::kRead}}})
           .Attenuate(*AttenuationCode(Restriction{.expires = At(2'000'000'000)}));
  auto verified = controller.Authenticate(token.ToBase64(), {});
  ASSERT_TRUE(verified.ok()) << verified.status();
  ASSERT_TRUE(controller.Authorize(**verified, Get("acme", "users"), At(1'999'999'000)).ok());
  EXPECT_EQ(controller.authorization_cache_hits(), 0u);
  ASSERT_TRUE(controller.Authorize(**verified, Get("acme", "users"), At(1'999'999'999)).ok());
  EXPECT_EQ(controller.authorization_cache_hits(), 1u);
  // At the expiry the Datalog runs again, and refuses.
  Status expired = controller.Authorize(**verified, Get("acme", "users"), At(2'000'000'000));
  EXPECT_EQ(AccessFailureReason(expired), "failed_check") << expired;
  EXPECT_EQ(AccessFailureReason(
                controller.Authorize(**verified, Get("acme", "users"), At(2'100'000'000))),
            "failed_check");
  EXPECT_EQ(controller.authorization_cache_hits(), 1u);
}

TEST(AuthorizationCacheTest, TokensReadingTheTimeOtherwiseRunEveryTime) {
  KeyPair root = NewKey();
  AccessController controller(root.public_key(), AccessOptions{});
  // Valid from 2'000'000'000 on: an allow now says nothing about an earlier time.
  const Biscuit token =
      *MintWith(root, AdminGrants()).Attenuate("check if time($t), $t >= 2033-05-18T03:33:20Z;");
  auto verified = controller.Authenticate(token.ToBase64(), {});
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(controller.Authorize(**verified, Get("acme", "users"), At(2'000'000'000)).ok());
  EXPECT_TRUE(controller.Authorize(**verified, Get("acme", "users"), At(2'000'000'000)).ok());
  EXPECT_EQ(AccessFailureReason(
                controller.Authorize(**verified, Get("acme", "users"), At(1'999'999'999))),
            "failed_check");
  EXPECT_EQ(controller.authorization_cache_hits(), 0u);
}

TEST(AuthorizationCacheTest, EveryRequestFactIsPartOfTheKey) {
  KeyPair root = NewKey();
  AccessController controller(root.public_key(), AccessOptions{});
  const Biscuit token =
      *MintWith(root, {Grant{.tenant = "acme",
                             .record_space = "users",
                             .operations = {Operation::kRead, Operation::kWrite}}})
           .Attenuate(
               "check if method(\"Records.Get\") or method(\"Records.Put\");"
               "check if record_type(\"Order\");");
  auto verified = controller.Authenticate(token.ToBase64(), {});
  ASSERT_TRUE(verified.ok());
  const auto now = system_clock::now();
  const AccessRequest allowed = Get("acme", "users");
  ASSERT_TRUE(controller.Authorize(**verified, allowed, now).ok());
  ASSERT_TRUE(controller.Authorize(**verified, allowed, now).ok());
  ASSERT_EQ(controller.authorization_cache_hits(), 1u);
  // Each differs from the cached allow in one fact, and is refused.
  std::vector<AccessRequest> refused(6, allowed);
  refused[0].tenant = "globex";
  refused[1].record_space = "orders";
  refused[2].operation = Operation::kSchema;
  refused[3].method = "Records.Delete";
  refused[4].record_types = {"Order", "Customer"};
  refused[5].server_level = true;  // needs right("*", "*", "read")
  for (int round = 0; round < 2; ++round) {
    for (const AccessRequest& request : refused) {
      EXPECT_TRUE(HasErrorCode(controller.Authorize(**verified, request, now),
                               ErrorCode::kPermissionDenied))
          << request.method << " " << request.Describe(nullptr);
    }
  }
  EXPECT_EQ(controller.authorization_cache_hits(), 1u);
  // The same request of another tenant's token is authorized on its own rights.
  auto globex = controller.Authenticate(
      MintWith(root, {Grant{.tenant = "globex", .operations = {Operation::kRead}}}).ToBase64(), {});
  ASSERT_TRUE(globex.ok());
  EXPECT_TRUE(
      HasErrorCode(controller.Authorize(**globex, allowed, now), ErrorCode::kPermissionDenied));
  EXPECT_EQ(controller.authorization_cache_hits(), 1u);
}

TEST(AuthorizationCacheTest, NoHitAcrossControllersOrForTokensNotVerifiedHere) {
  KeyPair root = NewKey();
  AccessController first(root.public_key(), AccessOptions{});
  KeyPair other_root = NewKey();
  AccessController other(other_root.public_key(), AccessOptions{});
  const std::string text =
      MintWith(root, {Grant{.tenant = "acme", .operations = {Operation::kRead}}}).ToBase64();
  auto verified = first.Authenticate(text, {});
  ASSERT_TRUE(verified.ok());
  const auto now = system_clock::now();
  ASSERT_TRUE(first.Authorize(**verified, Get("acme", "users"), now).ok());
  // The other root key refuses the text, and a token verified by the first controller is
  // authorized there on its own (it is allowed: Authorize trusts its caller's verification).
  EXPECT_FALSE(other.Authenticate(text, {}).ok());
  // Serials are unique across controllers, so their cached allows never meet.
  auto own = other.Authenticate(MintWith(other_root, AdminGrants()).ToBase64(), {});
  ASSERT_TRUE(own.ok());
  EXPECT_NE((*own)->serial, (*verified)->serial);
  EXPECT_TRUE(other.Authorize(**verified, Get("acme", "users"), now).ok());
  EXPECT_EQ(other.authorization_cache_hits(), 0u);
  EXPECT_TRUE(other.Authorize(**verified, Get("acme", "users"), now).ok());
  EXPECT_EQ(other.authorization_cache_hits(), 1u);
  EXPECT_EQ(first.authorization_cache_hits(), 0u);
  // A token not verified by Authenticate (serial 0) is never cached.
  VerifiedToken unverified{.token = (*verified)->token};
  EXPECT_TRUE(first.Authorize(unverified, Get("acme", "users"), now).ok());
  EXPECT_TRUE(first.Authorize(unverified, Get("acme", "users"), now).ok());
  EXPECT_EQ(first.authorization_cache_hits(), 0u);
}

TEST(AuthorizationCacheTest, BoundedAndOffWhenSizeIsZero) {
  KeyPair root = NewKey();
  const std::string text = MintWith(root, AdminGrants()).ToBase64();
  AccessController small(root.public_key(), AccessOptions{.authorization_cache = 2});
  AccessController off(root.public_key(), AccessOptions{.authorization_cache = 0});
  auto in_small = small.Authenticate(text, {});
  auto in_off = off.Authenticate(text, {});
  ASSERT_TRUE(in_small.ok() && in_off.ok());
  const auto now = system_clock::now();
  for (const char* space : {"a", "b", "a", "b", "c", "a"}) {
    EXPECT_TRUE(small.Authorize(**in_small, Get("acme", space), now).ok());
    EXPECT_TRUE(off.Authorize(**in_off, Get("acme", space), now).ok());
  }
  // a, b cached; a, b hit; c empties the full cache; a runs again.
  EXPECT_EQ(small.authorization_cache_hits(), 2u);
  EXPECT_EQ(off.authorization_cache_hits(), 0u);
}

}  // namespace
}  // namespace recordstore::auth
