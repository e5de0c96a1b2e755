// AES-256-GCM through OpenSSL's EVP interface: the one sealing routine the record serializer
// and the tenant key store (src/crypto) share.
//
// Thread-safety: safe for concurrent use. Each thread keeps one cipher context per direction,
// set up for the key it used last, so that a run of records under one data key costs no key
// setup (aes_gcm.cc).
#ifndef RECORDSTORE_STORE_AES_GCM_H_
#define RECORDSTORE_STORE_AES_GCM_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace recordstore {

inline constexpr size_t kAesGcmTagSize = 16;

// `plaintext` encrypted under `key` and `nonce` (12 bytes), followed by the 16-byte tag that
// also authenticates `aad`. nullopt only when OpenSSL fails.
std::optional<std::string> AesGcmSeal(const std::array<uint8_t, 32>& key, std::string_view nonce,
                                      std::string_view aad, std::string_view plaintext);

// As AesGcmSeal, with `aad` followed by `aad_suffix` as associated data, writing the
// ciphertext and tag to `out`, which must have room for plaintext.size() + 16 bytes and may
// not overlap the inputs. False only when OpenSSL fails. Saves the callers that build the
// associated data from two pieces, and the output in a buffer of their own, two copies.
bool AesGcmSealTo(const std::array<uint8_t, 32>& key, std::string_view nonce, std::string_view aad,
                  std::string_view aad_suffix, std::string_view plaintext, char* out);

// The plaintext of what AesGcmSeal returned for the same key, nonce and `aad`; nullopt when
// authentication fails (tampered bytes, another key or aad) or `sealed` is shorter than a tag.
// Nothing of a failed decryption is returned.
std::optional<std::string> AesGcmOpen(const std::array<uint8_t, 32>& key, std::string_view nonce,
                                      std::string_view aad, std::string_view sealed);
// As AesGcmOpen, with `aad` followed by `aad_suffix` as associated data.
std::optional<std::string> AesGcmOpen(const std::array<uint8_t, 32>& key, std::string_view nonce,
                                      std::string_view aad, std::string_view aad_suffix,
                                      std::string_view sealed);

}  // namespace recordstore

#endif  // RECORDSTORE_STORE_AES_GCM_H_
