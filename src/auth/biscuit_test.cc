// Token-level tests: keys and signatures, minting, attenuation (first- and third-party),
// sealing, serialization, tampering, and robustness against corrupted bytes.
#include "auth/biscuit.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "auth/error.h"

namespace recordstore::auth {
namespace {

using namespace std::string_literals;

KeyPair NewKey(Algorithm algorithm) {
  auto key = KeyPair::Generate(algorithm);
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

// Runs `authorizer_code` against `token`; the allow policy index or the error.
StatusOr<size_t> AuthorizeWith(const Biscuit& token, const std::string& authorizer_code) {
  Authorizer authorizer;
  authorizer.SetToken(token);
  authorizer.SetLimits(RunLimits{.max_time = std::chrono::seconds(5)});
  Status added = authorizer.AddCode(authorizer_code);
  if (!added.ok()) {
    return added;
  }
  return authorizer.Authorize();
}

std::string AlgorithmName(const testing::TestParamInfo<Algorithm>& info) {
  return info.param == Algorithm::kEd25519 ? "Ed25519" : "Secp256r1";
}

class KeyTest : public testing::TestWithParam<Algorithm> {};

TEST_P(KeyTest, SignVerifyAndRestoreFromPrivateBytes) {
  KeyPair key = NewKey(GetParam());
  auto signature = key.Sign("message");
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(VerifySignature(key.public_key(), "message", *signature).ok());
  EXPECT_TRUE(HasAuthErrorKind(VerifySignature(key.public_key(), "massage", *signature),
                               wire::AuthErrorDetail::FORMAT_INVALID_SIGNATURE));
  EXPECT_TRUE(HasAuthErrorKind(VerifySignature(key.public_key(), "message", "short"),
                               wire::AuthErrorDetail::FORMAT_SIGNATURE_DESERIALIZATION));

  auto restored = KeyPair::FromPrivate(GetParam(), key.PrivateBytes());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->public_key(), key.public_key());
  auto text = PublicKey::FromString(key.public_key().ToString());
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, key.public_key());
}

INSTANTIATE_TEST_SUITE_P(Algorithms, KeyTest,
                         testing::Values(Algorithm::kEd25519, Algorithm::kSecp256r1),
                         AlgorithmName);

TEST(KeyFormatTest, RejectsMalformedKeys) {
  EXPECT_FALSE(KeyPair::FromPrivate(Algorithm::kEd25519, "too short").ok());
  // Zero is not a valid P-256 scalar.
  EXPECT_FALSE(KeyPair::FromPrivate(Algorithm::kSecp256r1, std::string(32, '\0')).ok());
  EXPECT_FALSE(PublicKey::FromString("secp256r1/04aa").ok());
  EXPECT_FALSE(PublicKey::FromString("rsa/00").ok());
}

class TokenTest : public testing::TestWithParam<Algorithm> {};

TEST_P(TokenTest, MintAttenuateSerializeAuthorize) {
  KeyPair root = NewKey(GetParam());
  auto token = Biscuit::Mint(root, "right(\"file1\", \"read\"); right(\"file2\", \"read\");", 7);
  ASSERT_TRUE(token.ok()) << token.status();
  auto attenuated = token->Attenuate("check if resource($r), right($r, \"read\");");
  ASSERT_TRUE(attenuated.ok()) << attenuated.status();

  auto parsed = Biscuit::FromBase64(attenuated->ToBase64(), root.public_key());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->root_key_id(), 7u);
  ASSERT_EQ(parsed->blocks().size(), 2u);
  EXPECT_EQ(ToString(parsed->blocks()[1].content), "check if resource($r), right($r, \"read\");\n");
  EXPECT_EQ(parsed->RevocationIds(), attenuated->RevocationIds());

  EXPECT_EQ(*AuthorizeWith(*parsed, "resource(\"file1\"); allow if true;"), 0u);
  auto denied = AuthorizeWith(*parsed, "resource(\"file3\"); allow if true;");
  auto detail = GetAuthErrorDetail(denied.status());
  ASSERT_TRUE(detail.has_value()) << denied.status();
  EXPECT_EQ(detail->kind(), wire::AuthErrorDetail::UNAUTHORIZED);
  ASSERT_EQ(detail->failed_checks_size(), 1);
  EXPECT_EQ(detail->failed_checks(0).block_id(), 1u);
}

TEST_P(TokenTest, QueryReadsWhatTheTokenGrants) {
  KeyPair root = NewKey(GetParam());
  auto token = Biscuit::Mint(root,
                             "right(\"acme\", \"orders\", \"read\"); "
                             "right(\"acme\", \"users\", \"write\");");
  ASSERT_TRUE(token.ok());
  auto attenuated = token->Attenuate("right(\"evil\", \"x\", \"read\");");
  ASSERT_TRUE(attenuated.ok());
  Authorizer authorizer;
  authorizer.SetToken(*attenuated);
  authorizer.SetLimits(RunLimits{.max_time = std::chrono::seconds(5)});
  EXPECT_EQ(authorizer.Query("s($s) <- right($t, $s, $op)").status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(authorizer.AddCode("allow if true;").ok());
  ASSERT_TRUE(authorizer.Authorize().ok());
  // Block 1's right is not trusted by default.
  auto readable = authorizer.Query("space($s) <- right(\"acme\", $s, $op), $op == \"read\";");
  ASSERT_TRUE(readable.ok()) << readable.status();
  EXPECT_EQ(*readable, (std::vector<Predicate>{{"space", {Term::String("orders")}}}));
  auto tenants = authorizer.Query("t($t) <- right($t, $s, $op)");
  ASSERT_TRUE(tenants.ok());
  EXPECT_EQ(*tenants, (std::vector<Predicate>{{"t", {Term::String("acme")}}}));
  // `previous` means nothing in the authorizer, so this rule trusts only the authorizer's
  // own facts (and the authority block no longer, since the rule names its scopes).
  auto previous = authorizer.Query("t($t) <- right($t, $s, $op) trusting previous");
  ASSERT_TRUE(previous.ok());
  EXPECT_TRUE(previous->empty());
}

TEST_P(TokenTest, AttenuationCannotWidenRights) {
  KeyPair root = NewKey(GetParam());
  auto token = Biscuit::Mint(root, "right(\"file1\");");
  ASSERT_TRUE(token.ok());
  auto widened = token->Attenuate("right(\"file2\");");
  ASSERT_TRUE(widened.ok());
  EXPECT_FALSE(AuthorizeWith(*widened, "allow if right(\"file2\");").ok());
  EXPECT_TRUE(AuthorizeWith(*widened, "allow if right(\"file1\");").ok());
}

TEST_P(TokenTest, SealedTokensVerifyButCannotBeAttenuated) {
  KeyPair root = NewKey(GetParam());
  auto token = Biscuit::Mint(root, "user(\"alice\");");
  ASSERT_TRUE(token.ok());
  auto sealed = token->Seal();
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  auto parsed = Biscuit::FromBytes(sealed->ToBytes(), root.public_key());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->sealed());
  EXPECT_TRUE(HasAuthErrorKind(parsed->Attenuate("check if true;").status(),
                               wire::AuthErrorDetail::SEALED));
  EXPECT_TRUE(HasAuthErrorKind(parsed->Seal().status(), wire::AuthErrorDetail::SEALED));
}

TEST_P(TokenTest, ThirdPartyBlocksAreTrustedByKey) {
  KeyPair root = NewKey(GetParam());
  KeyPair third = NewKey(GetParam());
  const std::string key = third.public_key().ToString();
  auto token = Biscuit::Mint(root, "check if group(\"admin\") trusting " + key + ";");
  ASSERT_TRUE(token.ok()) << token.status();
  auto with_third = token->AttenuateThirdParty("group(\"admin\");", third);
  ASSERT_TRUE(with_third.ok()) << with_third.status();
  auto parsed = Biscuit::FromBytes(with_third->ToBytes(), root.public_key());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_TRUE(parsed->blocks()[1].external_key.has_value());
  EXPECT_EQ(*parsed->blocks()[1].external_key, third.public_key());
  EXPECT_EQ(*AuthorizeWith(*parsed, "allow if true;"), 0u);
  // The same fact from a first-party block is not trusted by the check.
  auto first_party = token->Attenuate("group(\"admin\");");
  ASSERT_TRUE(first_party.ok());
  EXPECT_FALSE(AuthorizeWith(*first_party, "allow if true;").ok());
  // A block appended after the third-party one keeps using the token's own symbols.
  auto later = with_third->Attenuate("check if group(\"admin\") trusting " + key + ";");
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(*AuthorizeWith(*later, "allow if true;"), 0u);
}

TEST_P(TokenTest, ThirdPartyRequestAndContentsRoundTrip) {
  KeyPair root = NewKey(GetParam());
  KeyPair third = NewKey(GetParam());
  auto token = Biscuit::Mint(
      root, "check if verified(\"bob\") trusting " + third.public_key().ToString() + ";");
  ASSERT_TRUE(token.ok()) << token.status();
  auto request = token->ThirdPartyRequest();
  ASSERT_TRUE(request.ok());
  auto contents = Biscuit::CreateThirdPartyBlock(*request, "verified(\"bob\");", third);
  ASSERT_TRUE(contents.ok()) << contents.status();
  auto appended = token->AppendThirdPartyBlock(*contents);
  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_EQ(*AuthorizeWith(*appended, "allow if true;"), 0u);

  // Contents made for another token do not verify here.
  auto other = Biscuit::Mint(root, "user(\"eve\");");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(HasAuthErrorKind(other->AppendThirdPartyBlock(*contents).status(),
                               wire::AuthErrorDetail::FORMAT_INVALID_SIGNATURE));
  EXPECT_TRUE(HasAuthErrorKind(
      Biscuit::CreateThirdPartyBlock("garbage", "verified(\"bob\");", third).status(),
      wire::AuthErrorDetail::FORMAT_DESERIALIZATION));
}

INSTANTIATE_TEST_SUITE_P(Algorithms, TokenTest,
                         testing::Values(Algorithm::kEd25519, Algorithm::kSecp256r1),
                         AlgorithmName);

TEST(TokenFormatTest, WrongRootKeyAndTamperingAreDetected) {
  KeyPair root = NewKey(Algorithm::kEd25519);
  auto token = Biscuit::Mint(root, "right(\"read\");");
  ASSERT_TRUE(token.ok());
  auto attenuated = token->Attenuate("check if true;");
  ASSERT_TRUE(attenuated.ok());
  KeyPair other = NewKey(Algorithm::kEd25519);
  EXPECT_TRUE(
      HasAuthErrorKind(Biscuit::FromBytes(attenuated->ToBytes(), other.public_key()).status(),
                       wire::AuthErrorDetail::FORMAT_INVALID_SIGNATURE));

  // Dropping the last block leaves a proof that matches no block key.
  wire::Biscuit message;
  ASSERT_TRUE(message.ParseFromString(attenuated->ToBytes()));
  message.mutable_blocks()->RemoveLast();
  EXPECT_TRUE(
      HasAuthErrorKind(Biscuit::FromBytes(message.SerializeAsString(), root.public_key()).status(),
                       wire::AuthErrorDetail::FORMAT_INVALID_SIGNATURE));
}

TEST(TokenFormatTest, ErrorsMapToUnauthenticatedAndPermissionDenied) {
  KeyPair root = NewKey(Algorithm::kEd25519);
  auto token = Biscuit::Mint(root, "right(\"acme\", \"read\");");
  ASSERT_TRUE(token.ok());

  // A token that does not verify proves nothing: unauthenticated.
  Status forged = Biscuit::FromBytes(token->ToBytes(), NewKey(Algorithm::kEd25519).public_key())
                      .status();
  EXPECT_TRUE(HasErrorCode(forged, ErrorCode::kUnauthenticated)) << forged;
  EXPECT_EQ(forged.code(), absl::StatusCode::kUnauthenticated);
  Status garbage = Biscuit::FromBytes("not a token", root.public_key()).status();
  EXPECT_TRUE(HasErrorCode(garbage, ErrorCode::kUnauthenticated)) << garbage;

  // A valid token whose rights do not cover the request: permission denied.
  Authorizer authorizer;
  authorizer.SetToken(*token);
  authorizer.SetLimits(RunLimits{.max_time = std::chrono::seconds(5)});
  ASSERT_TRUE(authorizer.AddCode("allow if right(\"acme\", \"write\");").ok());
  Status denied = authorizer.Authorize().status();
  EXPECT_TRUE(HasErrorCode(denied, ErrorCode::kPermissionDenied)) << denied;
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
}

TEST(TokenFormatTest, UnsupportedDatalogVersionIsRefused) {
  KeyPair root = NewKey(Algorithm::kEd25519);
  KeyPair next = NewKey(Algorithm::kEd25519);
  // Hand-build a token whose authority block claims Datalog version 7.
  wire::Block block;
  block.set_version(7);
  wire::Biscuit message;
  wire::SignedBlock* authority = message.mutable_authority();
  authority->set_block(block.SerializeAsString());
  authority->mutable_next_key()->set_algorithm(wire::PublicKey::ED25519);
  authority->mutable_next_key()->set_key(next.public_key().bytes);
  std::string payload = authority->block() + std::string(4, '\0') + next.public_key().bytes;
  authority->set_signature(*root.Sign(payload));  // signature payload version 0
  message.mutable_proof()->set_next_secret(next.PrivateBytes());
  auto parsed = Biscuit::FromBytes(message.SerializeAsString(), root.public_key());
  EXPECT_TRUE(HasAuthErrorKind(parsed.status(), wire::AuthErrorDetail::FORMAT_VERSION))
      << parsed.status();
}

// A block must not use features newer than the Datalog version it declares: `reject if`
// is v3.3 (6), so a block declaring v3.0 (3) with one is refused.
TEST(TokenFormatTest, FeaturesBeyondTheDeclaredVersionAreRefused) {
  KeyPair root = NewKey(Algorithm::kEd25519);
  auto token = Biscuit::Mint(root, "reject if true;");
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->blocks()[0].version, 6u);
  wire::Biscuit message;
  ASSERT_TRUE(message.ParseFromString(token->ToBytes()));
  wire::Block block;
  ASSERT_TRUE(block.ParseFromString(message.authority().block()));
  block.set_version(3);
  message.mutable_authority()->set_block(block.SerializeAsString());
  std::string payload = "\0BLOCK\0\0VERSION\0"s + std::string("\x01\0\0\0", 4) + "\0PAYLOAD\0"s +
                        message.authority().block() + "\0ALGORITHM\0"s + std::string(4, '\0') +
                        "\0NEXTKEY\0"s + message.authority().next_key().key();
  message.mutable_authority()->set_signature(*root.Sign(payload));
  auto parsed = Biscuit::FromBytes(message.SerializeAsString(), root.public_key());
  EXPECT_TRUE(HasAuthErrorKind(parsed.status(), wire::AuthErrorDetail::FORMAT_VERSION))
      << parsed.status();
}

TEST(TokenFormatTest, RootKeyIsChosenByItsId) {
  KeyPair first = NewKey(Algorithm::kEd25519);
  KeyPair second = NewKey(Algorithm::kSecp256r1);
  auto token = Biscuit::Mint(second, "user(\"alice\");", 2);
  ASSERT_TRUE(token.ok());
  RootKeyProvider provider = [&](std::optional<uint32_t> id) -> StatusOr<PublicKey> {
    if (id == 1u) {
      return first.public_key();
    }
    if (id == 2u) {
      return second.public_key();
    }
    return MakeError(ErrorCode::kNotFound, "unknown root key id");
  };
  EXPECT_TRUE(Biscuit::FromBytes(token->ToBytes(), provider).ok());
  auto unnamed = Biscuit::Mint(second, "user(\"alice\");");
  ASSERT_TRUE(unnamed.ok());
  EXPECT_TRUE(HasErrorCode(Biscuit::FromBytes(unnamed->ToBytes(), provider).status(),
                           ErrorCode::kNotFound));
}

// Every truncation and many single-byte corruptions of real tokens must give an error or
// a valid token, never a crash.
TEST(TokenFormatTest, CorruptedSampleTokensNeverCrash) {
  std::ifstream in(std::string(RS_AUTH_TESTDATA) + "/test024_third_party.bc", std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  ASSERT_FALSE(bytes.empty());
  auto root = PublicKey::FromString(
      "ed25519/1055c750b1a1505937af1537c626ba3263995c33a64758aaafb1275b0312e284");
  ASSERT_TRUE(root.ok());
  ASSERT_TRUE(Biscuit::FromBytes(bytes, *root).ok());
  for (size_t len = 0; len < bytes.size(); ++len) {
    EXPECT_FALSE(Biscuit::FromBytes(bytes.substr(0, len), *root).ok()) << len;
  }
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (unsigned char flip : {0x01, 0x80, 0xff}) {
      std::string corrupted = bytes;
      corrupted[i] = static_cast<char>(corrupted[i] ^ flip);
      auto parsed = Biscuit::FromBytes(corrupted, *root);
      if (parsed.ok()) {
        continue;  // a flip in an unsigned field can leave a valid token
      }
      EXPECT_TRUE(GetAuthErrorDetail(parsed.status()).has_value()) << parsed.status();
    }
  }
}

}  // namespace
}  // namespace recordstore::auth
