#include "store/aes_gcm.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstring>
#include <memory>

namespace recordstore {
namespace {

struct CipherContextDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextDeleter>;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// OpenSSL 3 looks EVP_aes_256_gcm() up in its provider store on every initialisation (locks,
// a hash lookup, name comparisons); the cipher is fetched once instead. Never freed: it lives
// as long as the process.
const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* const cipher = [] {
    const EVP_CIPHER* fetched = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    return fetched != nullptr ? fetched : EVP_aes_256_gcm();
  }();
  return cipher;
}

// Whether two keys are equal, in constant time: CRYPTO_memcmp compares byte by byte through
// a call (~230 instructions a record); four 64-bit words folded with OR cost a dozen.
bool SameKey(const std::array<uint8_t, 32>& a, const std::array<uint8_t, 32>& b) {
  uint64_t diff = 0;
  for (size_t i = 0; i < a.size(); i += sizeof(uint64_t)) {
    uint64_t x;
    uint64_t y;
    std::memcpy(&x, a.data() + i, sizeof(x));
    std::memcpy(&y, b.data() + i, sizeof(y));
    diff |= x ^ y;
  }
  return diff == 0;
}

// A cipher context per thread and direction, keyed by the last key it was initialised with.
// Records of one tenant come one after another, so most calls only set a new nonce: no
// context allocation, no AES key expansion, no GHASH table setup per record. The key bytes
// kept to compare are cleansed when the thread ends (the context's key schedule is freed
// with it); the key provider holds the same keys for the process's lifetime anyway.
class KeyedContext {
 public:
  ~KeyedContext() { OPENSSL_cleanse(key_.data(), key_.size()); }

  // The context, set up for `key` and `nonce` in the given direction; null when OpenSSL
  // fails (the next call then starts afresh).
  EVP_CIPHER_CTX* Begin(bool encrypt, const std::array<uint8_t, 32>& key, std::string_view nonce) {
    if (ctx_ == nullptr) ctx_.reset(EVP_CIPHER_CTX_new());
    if (ctx_ == nullptr) return nullptr;
    const bool same_key = keyed_ && SameKey(key_, key);
    keyed_ = false;
    const int ok =
        same_key ? EVP_CipherInit_ex(ctx_.get(), nullptr, nullptr, nullptr, Bytes(nonce), encrypt)
                 : EVP_CipherInit_ex(ctx_.get(), Aes256Gcm(), nullptr, key.data(), Bytes(nonce),
                                     encrypt);
    if (ok != 1) return nullptr;
    key_ = key;
    keyed_ = true;
    return ctx_.get();
  }
  // After a failed operation: the next call initialises the context from scratch.
  void Forget() { keyed_ = false; }

 private:
  CipherContext ctx_;
  std::array<uint8_t, 32> key_{};
  bool keyed_ = false;
};

thread_local KeyedContext seal_context;
thread_local KeyedContext open_context;

// Feeds `aad` followed by `aad_suffix` as the associated data. GCM authenticates the
// concatenation however it is split, so the two go in one update when they fit a stack
// buffer (a record's header and key always do): each EVP update call costs hundreds of
// instructions of dispatch, more than the hashing of these few bytes.
bool UpdateAad(EVP_CIPHER_CTX* ctx, std::string_view aad, std::string_view aad_suffix) {
  int len = 0;
  unsigned char joined[256];
  if (!aad_suffix.empty() && aad.size() + aad_suffix.size() <= sizeof(joined)) {
    std::memcpy(joined, aad.data(), aad.size());
    std::memcpy(joined + aad.size(), aad_suffix.data(), aad_suffix.size());
    return EVP_CipherUpdate(ctx, nullptr, &len, joined,
                            static_cast<int>(aad.size() + aad_suffix.size())) == 1;
  }
  return EVP_CipherUpdate(ctx, nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) == 1 &&
         (aad_suffix.empty() || EVP_CipherUpdate(ctx, nullptr, &len, Bytes(aad_suffix),
                                                 static_cast<int>(aad_suffix.size())) == 1);
}

// The tag decryption must reproduce. Set as a provider parameter: EVP_CIPHER_CTX_ctrl builds
// the same parameter array itself after a switch over every control code.
bool SetExpectedTag(EVP_CIPHER_CTX* ctx, unsigned char (&tag)[kAesGcmTagSize]) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, kAesGcmTagSize),
      OSSL_PARAM_construct_end()};
  return EVP_CIPHER_CTX_set_params(ctx, params) == 1;
}

}  // namespace

std::optional<std::string> AesGcmSeal(const std::array<uint8_t, 32>& key, std::string_view nonce,
                                      std::string_view aad, std::string_view plaintext) {
  std::string out(plaintext.size() + kAesGcmTagSize, '\0');
  if (!AesGcmSealTo(key, nonce, aad, {}, plaintext, out.data())) return std::nullopt;
  return out;
}

bool AesGcmSealTo(const std::array<uint8_t, 32>& key, std::string_view nonce, std::string_view aad,
                  std::string_view aad_suffix, std::string_view plaintext, char* out) {
  EVP_CIPHER_CTX* ctx = seal_context.Begin(/*encrypt=*/true, key, nonce);
  auto* dst = reinterpret_cast<unsigned char*>(out);
  int len = 0;
  bool ok =
      ctx != nullptr && UpdateAad(ctx, aad, aad_suffix) &&
      EVP_EncryptUpdate(ctx, dst, &len, Bytes(plaintext), static_cast<int>(plaintext.size())) == 1;
  int total = len;
  ok = ok && EVP_EncryptFinal_ex(ctx, dst + total, &len) == 1;
  total += len;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kAesGcmTagSize, dst + total) == 1;
  if (!ok) seal_context.Forget();
  return ok;
}

std::optional<std::string> AesGcmOpen(const std::array<uint8_t, 32>& key, std::string_view nonce,
                                      std::string_view aad, std::string_view sealed) {
  return AesGcmOpen(key, nonce, aad, {}, sealed);
}

std::optional<std::string> AesGcmOpen(const std::array<uint8_t, 32>& key, std::string_view nonce,
                                      std::string_view aad, std::string_view aad_suffix,
                                      std::string_view sealed) {
  if (sealed.size() < kAesGcmTagSize) return std::nullopt;
  std::string_view ciphertext = sealed.substr(0, sealed.size() - kAesGcmTagSize);
  unsigned char tag[kAesGcmTagSize];
  std::memcpy(tag, sealed.data() + ciphertext.size(), kAesGcmTagSize);
  EVP_CIPHER_CTX* ctx = open_context.Begin(/*encrypt=*/false, key, nonce);
  std::string out(ciphertext.size(), '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  bool ok = ctx != nullptr && UpdateAad(ctx, aad, aad_suffix) &&
            EVP_DecryptUpdate(ctx, dst, &len, Bytes(ciphertext),
                              static_cast<int>(ciphertext.size())) == 1 &&
            SetExpectedTag(ctx, tag);
  int final_len = 0;
  ok = ok && EVP_DecryptFinal_ex(ctx, dst + len, &final_len) == 1;
  if (!ok) {
    open_context.Forget();
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  return out;
}

}  // namespace recordstore
