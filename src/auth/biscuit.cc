#include "auth/biscuit.h"

#include <limits>
#include <string>

#include "auth/codec.h"
#include "auth/error.h"
#include "auth/parser.h"
#include "common/status_macros.h"

namespace recordstore::auth {
namespace {

using namespace std::string_view_literals;

// Signed payload layouts (SPECIFICATIONS.md, "Signed payload generation").
constexpr uint32_t kSignatureVersion0 = 0;
constexpr uint32_t kSignatureVersion1 = 1;
// Third-party blocks need Datalog v3.2 (encoded 5) or later.
constexpr uint32_t kMinThirdPartyVersion = 5;

std::string Le32(uint32_t value) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) {
    out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  }
  return out;
}

std::string BlockPayloadV0(const wire::SignedBlock& block) {
  std::string payload = block.block();
  if (block.has_external_signature()) {
    payload += block.external_signature().signature();
  }
  payload += Le32(block.next_key().algorithm());
  payload += block.next_key().key();
  return payload;
}

// `previous_signature` is null for the authority block.
std::string BlockPayloadV1(const wire::SignedBlock& block, const std::string* previous_signature) {
  std::string payload;
  payload += "\0BLOCK\0"sv;
  payload += "\0VERSION\0"sv;
  payload += Le32(kSignatureVersion1);
  payload += "\0PAYLOAD\0"sv;
  payload += block.block();
  payload += "\0ALGORITHM\0"sv;
  payload += Le32(block.next_key().algorithm());
  payload += "\0NEXTKEY\0"sv;
  payload += block.next_key().key();
  if (previous_signature != nullptr) {
    payload += "\0PREVSIG\0"sv;
    payload += *previous_signature;
  }
  if (block.has_external_signature()) {
    payload += "\0EXTERNALSIG\0"sv;
    payload += block.external_signature().signature();
  }
  return payload;
}

std::string ExternalPayloadV1(std::string_view data, std::string_view previous_signature) {
  std::string payload;
  payload += "\0EXTERNAL\0"sv;
  payload += "\0VERSION\0"sv;
  payload += Le32(kSignatureVersion1);
  payload += "\0PAYLOAD\0"sv;
  payload += data;
  payload += "\0PREVSIG\0"sv;
  payload += previous_signature;
  return payload;
}

std::string SealPayload(const wire::SignedBlock& block) {
  return block.block() + Le32(block.next_key().algorithm()) + block.next_key().key() +
         block.signature();
}

const wire::SignedBlock& LastBlock(const wire::Biscuit& token) {
  return token.blocks().empty() ? token.authority() : *token.blocks().rbegin();
}

Status VerifyChain(const wire::Biscuit& token, const PublicKey& root) {
  PublicKey key = root;
  const std::string* previous_signature = nullptr;
  for (int i = -1; i < token.blocks_size(); ++i) {
    const wire::SignedBlock& block = i < 0 ? token.authority() : token.blocks(i);
    if (i < 0 && block.has_external_signature()) {
      return MakeAuthError(wire::AuthErrorDetail::FORMAT_DESERIALIZATION,
                           "the authority block cannot carry an external signature");
    }
    std::string payload;
    switch (block.version()) {
      case kSignatureVersion0:
        payload = BlockPayloadV0(block);
        break;
      case kSignatureVersion1:
        payload = BlockPayloadV1(block, previous_signature);
        break;
      default:
        return MakeAuthError(wire::AuthErrorDetail::FORMAT_VERSION,
                             "unknown block signature version " + std::to_string(block.version()));
    }
    RETURN_IF_ERROR(VerifySignature(key, payload, block.signature()));
    if (block.has_external_signature()) {
      if (block.version() != kSignatureVersion1) {
        return MakeAuthError(wire::AuthErrorDetail::FORMAT_VERSION,
                             "external signatures need block signature version 1");
      }
      RETURN_IF_ERROR(VerifySignature(PublicKeyFromWire(block.external_signature().public_key()),
                                      ExternalPayloadV1(block.block(), *previous_signature),
                                      block.external_signature().signature()));
    }
    key = PublicKeyFromWire(block.next_key());
    previous_signature = &block.signature();
  }
  const wire::SignedBlock& last = LastBlock(token);
  switch (token.proof().content_case()) {
    case wire::Proof::kNextSecret: {
      ASSIGN_OR_RETURN(KeyPair next,
                       KeyPair::FromPrivate(key.algorithm, token.proof().next_secret()));
      if (next.public_key() != key) {
        return MakeAuthError(wire::AuthErrorDetail::FORMAT_INVALID_SIGNATURE,
                             "the proof's private key does not match the last block's key");
      }
      return Status();
    }
    case wire::Proof::kFinalSignature:
      return VerifySignature(key, SealPayload(last), token.proof().final_signature());
    case wire::Proof::CONTENT_NOT_SET:
      break;
  }
  return MakeAuthError(wire::AuthErrorDetail::FORMAT_DESERIALIZATION, "token without proof");
}

std::string Base64UrlEncode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(bytes[k])); };
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    for (int shift = 18; shift >= 0; shift -= 6) {
      out += kAlphabet[(v >> shift) & 63];
    }
  }
  if (i < bytes.size()) {
    uint32_t v = byte(i) << 16;
    if (i + 1 < bytes.size()) {
      v |= byte(i + 1) << 8;
    }
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

StatusOr<std::string> Base64UrlDecode(std::string_view text) {
  while (!text.empty() && text.back() == '=') {
    text.remove_suffix(1);
  }
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '-') {
      v = 62;
    } else if (c == '_') {
      v = 63;
    } else {
      return MakeAuthError(wire::AuthErrorDetail::FORMAT_DESERIALIZATION, "invalid base64url");
    }
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  if (bits >= 6) {
    return MakeAuthError(wire::AuthErrorDetail::FORMAT_DESERIALIZATION, "truncated base64url");
  }
  return out;
}

}  // namespace

StatusOr<Biscuit> Biscuit::FromBytes(std::string_view bytes, const PublicKey& root) {
  return FromBytes(bytes, [&root](std::optional<uint32_t>) -> StatusOr<PublicKey> { return root; });
}

StatusOr<Biscuit> Biscuit::FromBytes(std::string_view bytes, const RootKeyProvider& root) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return MakeAuthError(wire::AuthErrorDetail::FORMAT_DESERIALIZATION, "token too large");
  }
  wire::Biscuit token;
  // Partial parse + IsInitialized: the same check as ParseFromArray without protobuf
  // logging an error for every malformed token it is handed.
  if (!token.ParsePartialFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      !token.IsInitialized()) {
    return MakeAuthError(wire::AuthErrorDetail::FORMAT_DESERIALIZATION,
                         "not a protobuf Biscuit message");
  }
  return VerifyAndDecode(std::move(token), root);
}

StatusOr<Biscuit> Biscuit::FromBase64(std::string_view text, const PublicKey& root) {
  if (text.starts_with("biscuit:")) {
    text.remove_prefix(8);
  }
  ASSIGN_OR_RETURN(std::string bytes, Base64UrlDecode(text));
  return FromBytes(bytes, root);
}

StatusOr<Biscuit> Biscuit::VerifyAndDecode(wire::Biscuit token, const RootKeyProvider& root) {
  std::optional<uint32_t> key_id;
  if (token.has_root_key_id()) {
    key_id = token.root_key_id();
  }
  ASSIGN_OR_RETURN(PublicKey root_key, root(key_id));
  RETURN_IF_ERROR(VerifyChain(token, root_key));
  Biscuit biscuit;
  biscuit.wire_ = std::move(token);
  RETURN_IF_ERROR(biscuit.DecodeBlocks());
  return biscuit;
}

Status Biscuit::DecodeBlocks() {
  blocks_.clear();
  SymbolTable token_symbols;
  PublicKeyTable token_keys;
  for (int i = -1; i < wire_.blocks_size(); ++i) {
    const wire::SignedBlock& signed_block = i < 0 ? wire_.authority() : wire_.blocks(i);
    wire::Block block;
    if (!block.ParsePartialFromString(signed_block.block()) || !block.IsInitialized()) {
      return MakeAuthError(wire::AuthErrorDetail::FORMAT_DESERIALIZATION,
                           "block " + std::to_string(i + 1) + " is not a protobuf Block");
    }
    TokenBlock decoded;
    decoded.version = block.version();
    decoded.symbols.assign(block.symbols().begin(), block.symbols().end());
    for (const wire::PublicKey& key : block.public_keys()) {
      decoded.public_keys.push_back(PublicKeyFromWire(key));
    }
    if (signed_block.has_external_signature()) {
      if (decoded.version < kMinThirdPartyVersion) {
        return MakeAuthError(wire::AuthErrorDetail::FORMAT_VERSION,
                             "third-party blocks need Datalog v3.2 or later");
      }
      decoded.external_key = PublicKeyFromWire(signed_block.external_signature().public_key());
      // Third-party blocks are written without the token's tables (see the spec).
      SymbolTable own_symbols;
      own_symbols.Append(decoded.symbols);
      PublicKeyTable own_keys;
      own_keys.Append(decoded.public_keys);
      ASSIGN_OR_RETURN(decoded.content, DecodeBlock(block, own_symbols, own_keys));
    } else {
      token_symbols.Append(decoded.symbols);
      token_keys.Append(decoded.public_keys);
      ASSIGN_OR_RETURN(decoded.content, DecodeBlock(block, token_symbols, token_keys));
    }
    blocks_.push_back(std::move(decoded));
  }
  return Status();
}

StatusOr<Biscuit> Biscuit::Mint(const KeyPair& root, std::string_view authority_code,
                                std::optional<uint32_t> root_key_id) {
  ASSIGN_OR_RETURN(BlockContent content, ParseBlock(authority_code));
  ASSIGN_OR_RETURN(KeyPair next, KeyPair::Generate(root.algorithm()));
  SymbolTable symbols;
  PublicKeyTable keys;
  wire::Block block = EncodeBlock(content, RequiredVersion(content, false), &symbols, &keys);

  Biscuit biscuit;
  if (root_key_id.has_value()) {
    biscuit.wire_.set_root_key_id(*root_key_id);
  }
  wire::SignedBlock* authority = biscuit.wire_.mutable_authority();
  authority->set_block(block.SerializeAsString());
  *authority->mutable_next_key() = PublicKeyToWire(next.public_key());
  authority->set_version(kSignatureVersion1);
  ASSIGN_OR_RETURN(std::string signature, root.Sign(BlockPayloadV1(*authority, nullptr)));
  authority->set_signature(std::move(signature));
  biscuit.wire_.mutable_proof()->set_next_secret(next.PrivateBytes());
  RETURN_IF_ERROR(biscuit.DecodeBlocks());
  return biscuit;
}

StatusOr<Biscuit> Biscuit::Attenuate(std::string_view code) const {
  if (sealed()) {
    return MakeAuthError(wire::AuthErrorDetail::SEALED, "a sealed token cannot be attenuated");
  }
  ASSIGN_OR_RETURN(BlockContent content, ParseBlock(code));
  SymbolTable symbols;
  PublicKeyTable keys;
  for (const TokenBlock& block : blocks_) {
    if (block.external_key.has_value()) {
      continue;
    }
    symbols.Append(block.symbols);
    keys.Append(block.public_keys);
  }
  wire::Block block = EncodeBlock(content, RequiredVersion(content, false), &symbols, &keys);
  return AppendSigned(block.SerializeAsString(), nullptr);
}

StatusOr<std::string> Biscuit::ThirdPartyRequest() const {
  if (sealed()) {
    return MakeAuthError(wire::AuthErrorDetail::SEALED, "a sealed token cannot be attenuated");
  }
  wire::ThirdPartyBlockRequest request;
  request.set_previous_signature(LastBlock(wire_).signature());
  return request.SerializeAsString();
}

StatusOr<std::string> Biscuit::CreateThirdPartyBlock(std::string_view request_bytes,
                                                     std::string_view code, const KeyPair& key) {
  wire::ThirdPartyBlockRequest request;
  if (request_bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !request.ParsePartialFromArray(request_bytes.data(),
                                     static_cast<int>(request_bytes.size())) ||
      !request.IsInitialized()) {
    return MakeAuthError(wire::AuthErrorDetail::FORMAT_DESERIALIZATION,
                         "not a ThirdPartyBlockRequest");
  }
  if (request.has_legacy_previous_key() || request.legacy_public_keys_size() > 0) {
    return MakeAuthError(wire::AuthErrorDetail::FORMAT_DESERIALIZATION,
                         "legacy third-party request (previous key or public keys set)");
  }
  ASSIGN_OR_RETURN(BlockContent content, ParseBlock(code));
  SymbolTable symbols;
  PublicKeyTable keys;
  wire::Block block = EncodeBlock(content, RequiredVersion(content, true), &symbols, &keys);
  wire::ThirdPartyBlockContents contents;
  contents.set_payload(block.SerializeAsString());
  ASSIGN_OR_RETURN(std::string signature,
                   key.Sign(ExternalPayloadV1(contents.payload(), request.previous_signature())));
  contents.mutable_external_signature()->set_signature(std::move(signature));
  *contents.mutable_external_signature()->mutable_public_key() = PublicKeyToWire(key.public_key());
  return contents.SerializeAsString();
}

StatusOr<Biscuit> Biscuit::AppendThirdPartyBlock(std::string_view contents_bytes) const {
  if (sealed()) {
    return MakeAuthError(wire::AuthErrorDetail::SEALED, "a sealed token cannot be attenuated");
  }
  wire::ThirdPartyBlockContents contents;
  if (contents_bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !contents.ParsePartialFromArray(contents_bytes.data(),
                                      static_cast<int>(contents_bytes.size())) ||
      !contents.IsInitialized()) {
    return MakeAuthError(wire::AuthErrorDetail::FORMAT_DESERIALIZATION,
                         "not a ThirdPartyBlockContents");
  }
  RETURN_IF_ERROR(
      VerifySignature(PublicKeyFromWire(contents.external_signature().public_key()),
                      ExternalPayloadV1(contents.payload(), LastBlock(wire_).signature()),
                      contents.external_signature().signature()));
  return AppendSigned(contents.payload(), &contents.external_signature());
}

StatusOr<Biscuit> Biscuit::AttenuateThirdParty(std::string_view code, const KeyPair& key) const {
  ASSIGN_OR_RETURN(std::string request, ThirdPartyRequest());
  ASSIGN_OR_RETURN(std::string contents, CreateThirdPartyBlock(request, code, key));
  return AppendThirdPartyBlock(contents);
}

StatusOr<Biscuit> Biscuit::AppendSigned(std::string block,
                                        const wire::ExternalSignature* external_signature) const {
  const wire::SignedBlock& last = LastBlock(wire_);
  ASSIGN_OR_RETURN(KeyPair signer,
                   KeyPair::FromPrivate(static_cast<Algorithm>(last.next_key().algorithm()),
                                        wire_.proof().next_secret()));
  ASSIGN_OR_RETURN(KeyPair next, KeyPair::Generate(signer.algorithm()));
  wire::SignedBlock signed_block;
  signed_block.set_block(std::move(block));
  *signed_block.mutable_next_key() = PublicKeyToWire(next.public_key());
  signed_block.set_version(kSignatureVersion1);
  if (external_signature != nullptr) {
    *signed_block.mutable_external_signature() = *external_signature;
  }
  ASSIGN_OR_RETURN(std::string signature,
                   signer.Sign(BlockPayloadV1(signed_block, &last.signature())));
  signed_block.set_signature(std::move(signature));

  Biscuit result;
  result.wire_ = wire_;
  *result.wire_.add_blocks() = std::move(signed_block);
  result.wire_.mutable_proof()->set_next_secret(next.PrivateBytes());
  RETURN_IF_ERROR(result.DecodeBlocks());
  return result;
}

StatusOr<Biscuit> Biscuit::Seal() const {
  if (sealed()) {
    return MakeAuthError(wire::AuthErrorDetail::SEALED, "the token is already sealed");
  }
  const wire::SignedBlock& last = LastBlock(wire_);
  ASSIGN_OR_RETURN(KeyPair signer,
                   KeyPair::FromPrivate(static_cast<Algorithm>(last.next_key().algorithm()),
                                        wire_.proof().next_secret()));
  ASSIGN_OR_RETURN(std::string signature, signer.Sign(SealPayload(last)));
  Biscuit result = *this;
  result.wire_.mutable_proof()->set_final_signature(std::move(signature));
  return result;
}

std::string Biscuit::ToBytes() const { return wire_.SerializeAsString(); }

std::string Biscuit::ToBase64() const { return Base64UrlEncode(ToBytes()); }

std::optional<uint32_t> Biscuit::root_key_id() const {
  if (!wire_.has_root_key_id()) {
    return std::nullopt;
  }
  return wire_.root_key_id();
}

std::vector<std::string> Biscuit::RevocationIds() const {
  std::vector<std::string> ids;
  ids.push_back(wire_.authority().signature());
  for (const wire::SignedBlock& block : wire_.blocks()) {
    ids.push_back(block.signature());
  }
  return ids;
}

void Authorizer::SetToken(const Biscuit& token) {
  ResetWorld();
  owned_blocks_ = token.blocks();
  token_blocks_ = &owned_blocks_;
}

void Authorizer::BorrowToken(const Biscuit& token) {
  ResetWorld();
  owned_blocks_.clear();
  token_blocks_ = &token.blocks();
}

void Authorizer::ResetWorld() {
  TakeSnapshot();
  world_.reset();
}

const WorldSnapshot& Authorizer::snapshot() const {
  TakeSnapshot();
  return snapshot_;
}

Status Authorizer::AddCode(std::string_view code) {
  ASSIGN_OR_RETURN(BlockContent parsed, ParseAuthorizer(code));
  ResetWorld();
  auto move_all = [](auto& from, auto& to) {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
  };
  move_all(parsed.facts, code_.facts);
  move_all(parsed.rules, code_.rules);
  move_all(parsed.checks, code_.checks);
  move_all(parsed.policies, code_.policies);
  return Status();
}

void Authorizer::AddCode(const BlockContent& code) {
  ResetWorld();
  auto append = [](const auto& from, auto& to) { to.insert(to.end(), from.begin(), from.end()); };
  append(code.facts, code_.facts);
  append(code.rules, code_.rules);
  append(code.checks, code_.checks);
  append(code.policies, code_.policies);
}

Status Authorizer::AddFact(Predicate fact) {
  for (const Term& term : fact.terms) {
    if (!term.IsGround()) {
      return MakeAuthError(wire::AuthErrorDetail::PARSE, "facts cannot contain variables");
    }
  }
  ResetWorld();
  code_.facts.push_back(std::move(fact));
  return Status();
}

void Authorizer::RegisterExtern(std::string name, ExternFunction fn) {
  externs_[std::move(name)] = std::move(fn);
}

Status Authorizer::CheckBlockRules() const {
  for (size_t i = 0; i < token_blocks_->size(); ++i) {
    for (const Rule& rule : (*token_blocks_)[i].content.rules) {
      if (!RuleVariablesAreBound(rule)) {
        wire::AuthErrorDetail detail;
        detail.set_kind(wire::AuthErrorDetail::INVALID_BLOCK_RULE);
        detail.set_block_id(static_cast<uint32_t>(i));
        detail.set_rule(ToString(rule));
        return MakeAuthError(detail);
      }
    }
  }
  return Status();
}

void Authorizer::TakeSnapshot() const {
  if (!snapshot_pending_ || world_ == nullptr) return;
  snapshot_pending_ = false;
  for (const auto& [origin, facts] : world_->facts()) {
    for (const Predicate& fact : facts) {
      snapshot_.facts[origin].insert(ToString(fact));
    }
  }
  for (size_t i = 0; i < token_blocks_->size(); ++i) {
    for (const Rule& rule : (*token_blocks_)[i].content.rules) {
      snapshot_.rules.emplace_back(i, ToString(rule));
    }
    for (const Check& check : (*token_blocks_)[i].content.checks) {
      snapshot_.checks.emplace_back(i, ToString(check));
    }
  }
  for (const Rule& rule : code_.rules) {
    snapshot_.rules.emplace_back(kAuthorizerBlockId, ToString(rule));
  }
  for (const Check& check : code_.checks) {
    snapshot_.checks.emplace_back(kAuthorizerBlockId, ToString(check));
  }
  for (const Policy& policy : code_.policies) {
    snapshot_.policies.push_back(ToString(policy));
  }
}

StatusOr<std::vector<Predicate>> Authorizer::Query(std::string_view rule_text) {
  if (world_ == nullptr) {
    return MakeError(ErrorCode::kClientInvalidOperation,
                     "Query() needs an Authorize() after the last change");
  }
  ASSIGN_OR_RETURN(Rule rule, ParseRule(rule_text));
  TrustedOrigins trusted =
      ComputeTrustedOrigins(rule.scopes, code_.scopes, kAuthorizerBlockId, keys_);
  ASSIGN_OR_RETURN(std::set<Predicate> derived, world_->Derive(rule, trusted));
  return std::vector<Predicate>(derived.begin(), derived.end());
}

StatusOr<size_t> Authorizer::Authorize() {
  snapshot_ = WorldSnapshot();
  snapshot_pending_ = false;
  world_.reset();
  RETURN_IF_ERROR(CheckBlockRules());

  keys_.clear();
  for (size_t i = 0; i < token_blocks_->size(); ++i) {
    if ((*token_blocks_)[i].external_key.has_value()) {
      keys_[*(*token_blocks_)[i].external_key].push_back(i);
    }
  }
  const KeyToBlocks& keys = keys_;
  world_ = std::make_unique<World>(externs_);
  World& world = *world_;
  for (const Predicate& fact : code_.facts) {
    world.AddFact({kAuthorizerBlockId}, fact);
  }
  for (const Rule& rule : code_.rules) {
    world.AddRule(kAuthorizerBlockId, rule,
                  ComputeTrustedOrigins(rule.scopes, code_.scopes, kAuthorizerBlockId, keys));
  }
  for (size_t i = 0; i < token_blocks_->size(); ++i) {
    const BlockContent& block = (*token_blocks_)[i].content;
    for (const Predicate& fact : block.facts) {
      world.AddFact({i}, fact);
    }
    for (const Rule& rule : block.rules) {
      world.AddRule(i, rule, ComputeTrustedOrigins(rule.scopes, block.scopes, i, keys));
    }
  }
  Status run = world.Run(limits_);
  snapshot_pending_ = true;
  RETURN_IF_ERROR(run);

  // Evaluates one check or policy body list: true when any query matches.
  auto any_query = [&](const std::vector<Rule>& queries, const std::vector<Scope>& block_scopes,
                       uint64_t block_id, bool match_all) -> StatusOr<bool> {
    for (const Rule& query : queries) {
      TrustedOrigins trusted = ComputeTrustedOrigins(query.scopes, block_scopes, block_id, keys);
      ASSIGN_OR_RETURN(bool matched, match_all ? world.QueryMatchesAll(query, trusted)
                                               : world.QueryMatches(query, trusted));
      if (matched) {
        return true;
      }
    }
    return false;
  };
  auto check_passes = [&](const Check& check, const std::vector<Scope>& block_scopes,
                          uint64_t block_id) -> StatusOr<bool> {
    ASSIGN_OR_RETURN(bool matched, any_query(check.queries, block_scopes, block_id,
                                             check.kind == Check::Kind::kAll));
    return check.kind == Check::Kind::kReject ? !matched : matched;
  };

  wire::AuthErrorDetail detail;
  for (size_t j = 0; j < code_.checks.size(); ++j) {
    ASSIGN_OR_RETURN(bool ok, check_passes(code_.checks[j], code_.scopes, kAuthorizerBlockId));
    if (!ok) {
      auto* failed = detail.add_failed_checks();
      failed->set_check_id(static_cast<uint32_t>(j));
      failed->set_rule(ToString(code_.checks[j]));
    }
  }
  for (size_t i = 0; i < token_blocks_->size(); ++i) {
    const BlockContent& block = (*token_blocks_)[i].content;
    for (size_t j = 0; j < block.checks.size(); ++j) {
      ASSIGN_OR_RETURN(bool ok, check_passes(block.checks[j], block.scopes, i));
      if (!ok) {
        auto* failed = detail.add_failed_checks();
        failed->set_block_id(static_cast<uint32_t>(i));
        failed->set_check_id(static_cast<uint32_t>(j));
        failed->set_rule(ToString(block.checks[j]));
      }
    }
  }
  for (size_t k = 0; k < code_.policies.size(); ++k) {
    const Policy& policy = code_.policies[k];
    ASSIGN_OR_RETURN(bool matched,
                     any_query(policy.queries, code_.scopes, kAuthorizerBlockId, false));
    if (!matched) {
      continue;
    }
    bool allow = policy.kind == Policy::Kind::kAllow;
    if (allow && detail.failed_checks().empty()) {
      return k;
    }
    detail.set_kind(wire::AuthErrorDetail::UNAUTHORIZED);
    detail.set_policy_is_allow(allow);
    detail.set_policy_index(static_cast<uint32_t>(k));
    return MakeAuthError(detail);
  }
  detail.set_kind(wire::AuthErrorDetail::NO_MATCHING_POLICY);
  return MakeAuthError(detail);
}

}  // namespace recordstore::auth
