// libFuzzer target for Biscuit::FromBytes on untrusted token bytes. Beyond "never crashes or
// reads out of bounds" (ASan/UBSan), it checks what must hold for every input:
//  - a failure carries an AuthErrorDetail (callers branch on it);
//  - a token that verifies re-serializes to bytes that verify again to the same blocks;
//  - its Datalog prints, and authorizing it (with small limits) ends in a result or a
//    structured error.
// Random bytes almost never carry valid signatures, so the fuzzer also feeds the input's
// Datalog through a freshly signed token: the first byte selects the mode.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/biscuit.h"
#include "auth/codec.h"
#include "auth/error.h"

namespace recordstore::auth {
namespace {

void Require(bool condition, const char* what) {
  if (condition) {
    return;
  }
  std::fprintf(stderr, "biscuit token fuzzer: %s\n", what);
  std::abort();
}

const KeyPair& RootKey() {
  static const KeyPair* key = [] {
    // A fixed key keeps runs reproducible.
    auto pair = KeyPair::FromPrivate(Algorithm::kEd25519, std::string(32, '\x07'));
    Require(pair.ok(), "cannot build the root key");
    return new KeyPair(*std::move(pair));
  }();
  return *key;
}

void Exercise(const Biscuit& token) {
  auto again = Biscuit::FromBytes(token.ToBytes(), RootKey().public_key());
  Require(again.ok(), "a verified token does not verify after re-serialization");
  Require(again->blocks().size() == token.blocks().size(), "block count changed");
  for (size_t i = 0; i < token.blocks().size(); ++i) {
    Require(ToString(again->blocks()[i].content) == ToString(token.blocks()[i].content),
            "block text changed");
  }
  Authorizer authorizer;
  authorizer.SetToken(token);
  authorizer.SetLimits(
      RunLimits{.max_facts = 200, .max_iterations = 20, .max_time = std::chrono::milliseconds(20)});
  Require(authorizer.AddCode("allow if true;").ok(), "authorizer code rejected");
  auto result = authorizer.Authorize();
  Require(result.ok() || GetAuthErrorDetail(result.status()).has_value(),
          "authorization error without detail");
}

// Signs `block_bytes` (taken as a serialized Block) as the authority block of a new token.
void ExerciseSignedBlock(std::string_view block_bytes) {
  auto next = KeyPair::FromPrivate(Algorithm::kEd25519, std::string(32, '\x09'));
  Require(next.ok(), "cannot build the next key");
  wire::Biscuit message;
  wire::SignedBlock* authority = message.mutable_authority();
  authority->set_block(std::string(block_bytes));
  *authority->mutable_next_key() = PublicKeyToWire(next->public_key());
  std::string payload = authority->block() + std::string(4, '\0') + next->public_key().bytes;
  auto signature = RootKey().Sign(payload);
  Require(signature.ok(), "signing failed");
  authority->set_signature(*signature);
  message.mutable_proof()->set_next_secret(next->PrivateBytes());
  auto token = Biscuit::FromBytes(message.SerializeAsString(), RootKey().public_key());
  if (!token.ok()) {
    Require(GetAuthErrorDetail(token.status()).has_value(), "block error without detail");
    return;
  }
  Exercise(*token);
}

}  // namespace
}  // namespace recordstore::auth

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace recordstore::auth;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (!input.empty() && input[0] == 'B') {
    ExerciseSignedBlock(input.substr(1));
    return 0;
  }
  auto token = Biscuit::FromBytes(input, RootKey().public_key());
  if (!token.ok()) {
    Require(GetAuthErrorDetail(token.status()).has_value(), "token error without detail");
    return 0;
  }
  Exercise(*token);
  return 0;
}
