// Signature primitives for Biscuit: Ed25519 (RFC 8032) and ECDSA over secp256r1 with SHA-256,
// both through OpenSSL 3's EVP interface. Encodings are the ones the Biscuit specification
// fixes: Ed25519 keys are 32 raw bytes and signatures 64; P-256 public keys are compressed
// SEC1 points (33 bytes, prefix 02/03), private keys 32 big-endian bytes and signatures DER.
//
// Thread-safety: KeyPair is immutable after construction; copies share the OpenSSL key,
// which OpenSSL allows to be used from several threads at once.
#ifndef RECORDSTORE_AUTH_CRYPTO_H_
#define RECORDSTORE_AUTH_CRYPTO_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>

#include "recordstore/status.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace recordstore::auth {

// Values are the protobuf enum numbers (they are also signed over, see codec.cc).
enum class Algorithm : uint32_t { kEd25519 = 0, kSecp256r1 = 1 };

struct PublicKey {
  Algorithm algorithm = Algorithm::kEd25519;
  std::string bytes;

  // "ed25519/<hex>" or "secp256r1/<hex>", the Datalog text form.
  std::string ToString() const;
  // Parses the text form; kInvalidArgument (PARSE) when malformed.
  static StatusOr<PublicKey> FromString(std::string_view text);

  friend bool operator==(const PublicKey&, const PublicKey&) = default;
  friend bool operator<(const PublicKey& a, const PublicKey& b) {
    return std::tie(a.algorithm, a.bytes) < std::tie(b.algorithm, b.bytes);
  }
};

class KeyPair {
 public:
  // A fresh random key pair. Fails only if OpenSSL does (kInternalError).
  static StatusOr<KeyPair> Generate(Algorithm algorithm);
  // The key pair whose private key is `private_bytes` (32 bytes for both algorithms).
  // FORMAT_SIGNATURE_DESERIALIZATION when the bytes are not a valid private key.
  static StatusOr<KeyPair> FromPrivate(Algorithm algorithm, std::string_view private_bytes);

  const PublicKey& public_key() const { return public_key_; }
  Algorithm algorithm() const { return public_key_.algorithm; }
  // The private key in the encoding stored in a token's proof.
  std::string PrivateBytes() const;
  // Signs `message` (Ed25519, or ECDSA-SHA256 with a DER signature).
  StatusOr<std::string> Sign(std::string_view message) const;

 private:
  KeyPair(std::shared_ptr<EVP_PKEY> key, PublicKey public_key)
      : key_(std::move(key)), public_key_(std::move(public_key)) {}

  std::shared_ptr<EVP_PKEY> key_;
  PublicKey public_key_;
};

// OK when `signature` is a valid signature of `message` by `key`.
// FORMAT_SIGNATURE_DESERIALIZATION when the key or signature is malformed,
// FORMAT_INVALID_SIGNATURE when it does not verify.
Status VerifySignature(const PublicKey& key, std::string_view message, std::string_view signature);

// Lowercase hexadecimal of `bytes`.
std::string HexEncode(std::string_view bytes);
// Inverse of HexEncode (either case); nullopt-like failure as kInvalidArgument (PARSE).
StatusOr<std::string> HexDecode(std::string_view hex);

}  // namespace recordstore::auth

#endif  // RECORDSTORE_AUTH_CRYPTO_H_
