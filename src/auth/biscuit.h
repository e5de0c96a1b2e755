// Biscuit authorization tokens (SPECIFICATIONS.md): parse and verify, mint, attenuate,
// seal, serialize; and the Authorizer that runs a token's Datalog together with the
// verifier's own facts, rules, checks and policies.
//
// Typical use:
//   ASSIGN_OR_RETURN(Biscuit token, Biscuit::FromBase64(text, root_public_key));
//   Authorizer authorizer;
//   authorizer.SetToken(token);
//   RETURN_IF_ERROR(authorizer.AddCode("resource(\"file1\"); allow if right(\"file1\");"));
//   ASSIGN_OR_RETURN(size_t policy, authorizer.Authorize());
//
// Every error carries an AuthErrorDetail (error.h) saying which class of failure it is,
// except OpenSSL failures (kInternalError) and errors returned by a RootKeyProvider.
// Thread-safety: Biscuit is an immutable value; an Authorizer is used by one thread.
#ifndef RECORDSTORE_AUTH_BISCUIT_H_
#define RECORDSTORE_AUTH_BISCUIT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/biscuit_wire.pb.h"
#include "auth/crypto.h"
#include "auth/datalog.h"
#include "auth/expression.h"
#include "auth/world.h"
#include "recordstore/status.h"

namespace recordstore::auth {

// One verified block of a token.
struct TokenBlock {
  BlockContent content;
  // Datalog version the block declares (3..6).
  uint32_t version = 0;
  // Set for third-party blocks: the key whose external signature was verified.
  std::optional<PublicKey> external_key;
  // The symbols and public keys the block itself declares.
  std::vector<std::string> symbols;
  std::vector<PublicKey> public_keys;
};

// Chooses the root public key from the token's optional root key id.
using RootKeyProvider = std::function<StatusOr<PublicKey>(std::optional<uint32_t> root_key_id)>;

class Biscuit {
 public:
  // Parses `bytes` and verifies every signature, external signature and the proof against
  // `root`. Errors: FORMAT_DESERIALIZATION (malformed protobuf or Datalog),
  // FORMAT_SIGNATURE_DESERIALIZATION (malformed key or signature), FORMAT_INVALID_SIGNATURE,
  // FORMAT_VERSION (unknown signature or Datalog version).
  static StatusOr<Biscuit> FromBytes(std::string_view bytes, const PublicKey& root);
  // As above, with the root key chosen by the token's root key id; an error from `root` is
  // returned as it is.
  static StatusOr<Biscuit> FromBytes(std::string_view bytes, const RootKeyProvider& root);
  // As FromBytes, from the base64url text form (padding optional, "biscuit:" prefix allowed).
  static StatusOr<Biscuit> FromBase64(std::string_view text, const PublicKey& root);

  // A new token whose authority block is `authority_code` (block Datalog text), signed by
  // `root`. Errors: PARSE for bad code.
  static StatusOr<Biscuit> Mint(const KeyPair& root, std::string_view authority_code,
                                std::optional<uint32_t> root_key_id = std::nullopt);

  // A copy with one more block (`code`, block Datalog text). Errors: SEALED, PARSE.
  StatusOr<Biscuit> Attenuate(std::string_view code) const;

  // Third-party blocks (SPECIFICATIONS.md, "Appending a third-party block"): the holder
  // sends ThirdPartyRequest() to the third party, which answers with
  // CreateThirdPartyBlock(request, code, its key); the holder appends that answer with
  // AppendThirdPartyBlock. Neither side sees the other's secrets.
  //
  // A serialized ThirdPartyBlockRequest for the next block. Errors: SEALED.
  StatusOr<std::string> ThirdPartyRequest() const;
  // A serialized ThirdPartyBlockContents: `code` encoded with its own symbol table and
  // signed by `key`. Errors: FORMAT_DESERIALIZATION for a malformed or legacy request, PARSE.
  static StatusOr<std::string> CreateThirdPartyBlock(std::string_view request,
                                                     std::string_view code, const KeyPair& key);
  // A copy with the third-party block `contents` appended, after checking its external
  // signature. Errors: SEALED, FORMAT_* for malformed or mis-signed contents.
  StatusOr<Biscuit> AppendThirdPartyBlock(std::string_view contents) const;
  // All three steps at once, for when the caller holds the third party's key.
  StatusOr<Biscuit> AttenuateThirdParty(std::string_view code, const KeyPair& key) const;

  // A copy that cannot be attenuated any more. Errors: SEALED when already sealed.
  StatusOr<Biscuit> Seal() const;

  std::string ToBytes() const;
  // base64url with padding.
  std::string ToBase64() const;

  bool sealed() const { return wire_.proof().content_case() == wire::Proof::kFinalSignature; }
  std::optional<uint32_t> root_key_id() const;
  // Block 0 is the authority block.
  const std::vector<TokenBlock>& blocks() const { return blocks_; }
  // One per block: the block's signature bytes (hex-encode for display).
  std::vector<std::string> RevocationIds() const;

 private:
  Biscuit() = default;
  static StatusOr<Biscuit> VerifyAndDecode(wire::Biscuit token, const RootKeyProvider& root);
  // Decodes the blocks of wire_ into blocks_. REQUIRES: signatures verified.
  Status DecodeBlocks();
  // A copy with the serialized Block `block` appended, signed with the proof's key.
  StatusOr<Biscuit> AppendSigned(std::string block,
                                 const wire::ExternalSignature* external_signature) const;

  wire::Biscuit wire_;
  std::vector<TokenBlock> blocks_;
};

// A flattened view of an authorizer's world after Authorize(), in text form.
struct WorldSnapshot {
  // Facts by origin (kAuthorizerBlockId for the authorizer).
  std::map<Origin, std::set<std::string>> facts;
  // (block id, text) of every rule and check; the authorizer's use kAuthorizerBlockId.
  std::vector<std::pair<uint64_t, std::string>> rules;
  std::vector<std::pair<uint64_t, std::string>> checks;
  std::vector<std::string> policies;
};

class Authorizer {
 public:
  Authorizer() = default;
  Authorizer(const Authorizer&) = delete;
  Authorizer& operator=(const Authorizer&) = delete;

  // The token to authorize (copied). Without one, only the authorizer's code runs.
  void SetToken(const Biscuit& token);
  // As SetToken without the copy, for a server authorizing each request with a token it
  // keeps. REQUIRES: `token` outlives every use of this Authorizer.
  void BorrowToken(const Biscuit& token);
  // Appends authorizer Datalog (facts, rules, checks, policies). Errors: PARSE.
  // Build request-dependent facts with AddFact rather than by splicing request data into
  // code, which would let that data inject Datalog.
  Status AddCode(std::string_view code);
  // Appends already parsed authorizer code (ParseAuthorizer), so that a caller authorizing
  // many requests with the same policies parses them once.
  void AddCode(const BlockContent& code);
  // Adds an authorizer fact. Errors: kInvalidArgument (PARSE) when it holds a variable.
  Status AddFact(Predicate fact);
  void SetLimits(const RunLimits& limits) { limits_ = limits; }
  // Makes `fn` callable as `.extern::name(...)`.
  void RegisterExtern(std::string name, ExternFunction fn);

  // Runs the world to a fixpoint, then the checks (authorizer's first, then each block's),
  // then the policies in order. Returns the index of the first matching allow policy when
  // every check passed. Errors: INVALID_BLOCK_RULE, EXECUTION, RUN_LIMIT, UNAUTHORIZED
  // (failed checks and/or a deny policy, with the matched policy), NO_MATCHING_POLICY.
  StatusOr<size_t> Authorize();

  // The world of the last Authorize() call (empty before, or when it failed before the
  // world was built).
  const WorldSnapshot& snapshot() const;

  // The facts `rule` (text, e.g. `tenant($t) <- right($t, "read")`) derives from the world
  // of the last Authorize(), trusting the authority block and the authorizer unless the
  // rule says `trusting ...`. Lets a server read what a token grants. Errors: PARSE,
  // EXECUTION; kClientInvalidOperation when no Authorize() has built a world since the
  // last change to the token or code.
  StatusOr<std::vector<Predicate>> Query(std::string_view rule);

 private:
  Status CheckBlockRules() const;
  // Prints the world of the last Authorize() into snapshot_ when that is still pending:
  // printing every fact and rule costs more than authorizing, so it is done only when asked
  // for, or before a change throws that world away.
  void TakeSnapshot() const;
  // Every change to the token or code: the world built from them goes.
  void ResetWorld();

  // The token's blocks: owned_blocks_ (SetToken) or a borrowed token's (BorrowToken).
  std::vector<TokenBlock> owned_blocks_;
  const std::vector<TokenBlock>* token_blocks_ = &owned_blocks_;
  // Built by Authorize(); its rules point into token_blocks_ and code_, so every change to
  // those resets it.
  std::unique_ptr<World> world_;
  KeyToBlocks keys_;
  BlockContent code_;
  RunLimits limits_;
  ExternFunctions externs_;
  mutable WorldSnapshot snapshot_;
  // True when Authorize() built a world whose snapshot TakeSnapshot() has not printed yet.
  mutable bool snapshot_pending_ = false;
};

}  // namespace recordstore::auth

#endif  // RECORDSTORE_AUTH_BISCUIT_H_
