#include "auth/crypto.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "auth/error.h"
#include "common/status_macros.h"

namespace recordstore::auth {
namespace {

constexpr size_t kEd25519KeySize = 32;
constexpr size_t kEd25519SignatureSize = 64;
constexpr size_t kP256CompressedSize = 33;
constexpr size_t kP256ScalarSize = 32;

struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct BnFree {
  void operator()(BIGNUM* bn) const { BN_clear_free(bn); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* bld) const { OSSL_PARAM_BLD_free(bld); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* params) const { OSSL_PARAM_free(params); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};

std::shared_ptr<EVP_PKEY> Own(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

Status KeyError(std::string_view detail) {
  return MakeAuthError(wire::AuthErrorDetail::FORMAT_SIGNATURE_DESERIALIZATION, detail);
}

Status OpenSslError(std::string_view what) {
  return MakeError(ErrorCode::kInternalError, std::string("OpenSSL failure: ").append(what));
}

StatusOr<std::shared_ptr<EVP_PKEY>> LoadPublic(const PublicKey& key) {
  if (key.algorithm == Algorithm::kEd25519) {
    if (key.bytes.size() != kEd25519KeySize) {
      return KeyError("ed25519 public key is not 32 bytes");
    }
    EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(key.bytes.data()),
        key.bytes.size());
    if (pkey == nullptr) {
      return KeyError("invalid ed25519 public key");
    }
    return Own(pkey);
  }
  if (key.algorithm != Algorithm::kSecp256r1) {
    return KeyError("unknown key algorithm");
  }
  if (key.bytes.size() != kP256CompressedSize || (key.bytes[0] != 2 && key.bytes[0] != 3)) {
    return KeyError("secp256r1 public key is not a compressed SEC1 point");
  }
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, key.bytes.data(),
                                        key.bytes.size())) {
    return OpenSslError("param build");
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) {
    return OpenSslError("fromdata");
  }
  EVP_PKEY* pkey = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
    return KeyError("invalid secp256r1 public key");
  }
  return Own(pkey);
}

StatusOr<PublicKey> ExtractPublic(Algorithm algorithm, EVP_PKEY* pkey) {
  PublicKey key;
  key.algorithm = algorithm;
  if (algorithm == Algorithm::kEd25519) {
    unsigned char raw[kEd25519KeySize];
    size_t len = sizeof(raw);
    if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) <= 0) {
      return OpenSslError("raw public key");
    }
    key.bytes.assign(reinterpret_cast<char*>(raw), len);
    return key;
  }
  // OpenSSL hands out the uncompressed point (04 || X || Y); Biscuit stores the compressed
  // form (02 or 03 by the parity of Y, then X).
  unsigned char point[1 + 2 * kP256ScalarSize];
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &len) <=
      0) {
    return OpenSslError("public point");
  }
  if (len == sizeof(point) && point[0] == 4) {
    point[0] = static_cast<unsigned char>(2 | (point[len - 1] & 1));
    len = kP256CompressedSize;
  }
  if (len != kP256CompressedSize) {
    return OpenSslError("unexpected public point size");
  }
  key.bytes.assign(reinterpret_cast<char*>(point), len);
  return key;
}

}  // namespace

std::string PublicKey::ToString() const {
  return std::string(algorithm == Algorithm::kEd25519 ? "ed25519/" : "secp256r1/") +
         HexEncode(bytes);
}

StatusOr<PublicKey> PublicKey::FromString(std::string_view text) {
  PublicKey key;
  std::string_view hex;
  if (text.starts_with("ed25519/")) {
    key.algorithm = Algorithm::kEd25519;
    hex = text.substr(8);
  } else if (text.starts_with("secp256r1/")) {
    key.algorithm = Algorithm::kSecp256r1;
    hex = text.substr(10);
  } else {
    return MakeAuthError(wire::AuthErrorDetail::PARSE,
                         "public key must start with ed25519/ or secp256r1/");
  }
  ASSIGN_OR_RETURN(key.bytes, HexDecode(hex));
  RETURN_IF_ERROR(LoadPublic(key).status());
  return key;
}

StatusOr<KeyPair> KeyPair::Generate(Algorithm algorithm) {
  EVP_PKEY* pkey = algorithm == Algorithm::kEd25519
                       ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                       : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (pkey == nullptr) {
    return OpenSslError("key generation");
  }
  std::shared_ptr<EVP_PKEY> owned = Own(pkey);
  ASSIGN_OR_RETURN(PublicKey public_key, ExtractPublic(algorithm, pkey));
  return KeyPair(std::move(owned), std::move(public_key));
}

StatusOr<KeyPair> KeyPair::FromPrivate(Algorithm algorithm, std::string_view private_bytes) {
  if (private_bytes.size() != kP256ScalarSize) {
    return KeyError("private key is not 32 bytes");
  }
  const auto* raw = reinterpret_cast<const unsigned char*>(private_bytes.data());
  EVP_PKEY* pkey = nullptr;
  if (algorithm == Algorithm::kEd25519) {
    pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, raw, private_bytes.size());
  } else if (algorithm == Algorithm::kSecp256r1) {
    // A SEC1 ECPrivateKey without its public point; OpenSSL derives the point on load and
    // rejects scalars outside [1, n-1].
    std::string der = std::string("\x30\x31\x02\x01\x01\x04\x20", 7);
    der.append(private_bytes);
    der.append("\xa0\x0a\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07", 12);
    const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
    pkey = d2i_PrivateKey(EVP_PKEY_EC, nullptr, &cursor, static_cast<long>(der.size()));
  }
  if (pkey == nullptr) {
    return KeyError("invalid private key");
  }
  std::shared_ptr<EVP_PKEY> owned = Own(pkey);
  ASSIGN_OR_RETURN(PublicKey public_key, ExtractPublic(algorithm, pkey));
  return KeyPair(std::move(owned), std::move(public_key));
}

std::string KeyPair::PrivateBytes() const {
  unsigned char raw[kP256ScalarSize] = {};
  if (algorithm() == Algorithm::kEd25519) {
    size_t len = sizeof(raw);
    EVP_PKEY_get_raw_private_key(key_.get(), raw, &len);
  } else {
    BIGNUM* bn = nullptr;
    EVP_PKEY_get_bn_param(key_.get(), OSSL_PKEY_PARAM_PRIV_KEY, &bn);
    std::unique_ptr<BIGNUM, BnFree> owned(bn);
    if (bn != nullptr) {
      BN_bn2binpad(bn, raw, sizeof(raw));
    }
  }
  return std::string(reinterpret_cast<char*>(raw), sizeof(raw));
}

StatusOr<std::string> KeyPair::Sign(std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  const EVP_MD* md = algorithm() == Algorithm::kEd25519 ? nullptr : EVP_sha256();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key_.get()) <= 0) {
    return OpenSslError("sign init");
  }
  const auto* data = reinterpret_cast<const unsigned char*>(message.data());
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, data, message.size()) <= 0) {
    return OpenSslError("sign size");
  }
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len, data,
                     message.size()) <= 0) {
    return OpenSslError("sign");
  }
  signature.resize(len);
  return signature;
}

Status VerifySignature(const PublicKey& key, std::string_view message, std::string_view signature) {
  ASSIGN_OR_RETURN(std::shared_ptr<EVP_PKEY> pkey, LoadPublic(key));
  const auto* sig = reinterpret_cast<const unsigned char*>(signature.data());
  if (key.algorithm == Algorithm::kEd25519) {
    if (signature.size() != kEd25519SignatureSize) {
      return KeyError("ed25519 signature is not 64 bytes");
    }
  } else {
    const unsigned char* cursor = sig;
    std::unique_ptr<ECDSA_SIG, EcdsaSigFree> parsed(
        d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(signature.size())));
    if (!parsed || cursor != sig + signature.size()) {
      return KeyError("secp256r1 signature is not DER encoded");
    }
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  const EVP_MD* md = key.algorithm == Algorithm::kEd25519 ? nullptr : EVP_sha256();
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pkey.get()) <= 0) {
    return OpenSslError("verify init");
  }
  int rc = EVP_DigestVerify(ctx.get(), sig, signature.size(),
                            reinterpret_cast<const unsigned char*>(message.data()), message.size());
  if (rc != 1) {
    return MakeAuthError(wire::AuthErrorDetail::FORMAT_INVALID_SIGNATURE,
                         "signature verification failed");
  }
  return Status();
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

StatusOr<std::string> HexDecode(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  };
  if (hex.size() % 2 != 0) {
    return MakeAuthError(wire::AuthErrorDetail::PARSE, "odd hex length");
  }
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]);
    int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return MakeAuthError(wire::AuthErrorDetail::PARSE, "invalid hex digit");
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

}  // namespace recordstore::auth
