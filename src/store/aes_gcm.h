// AES-256-GCM through OpenSSL's EVP interface: the one sealing routine the record serializer
// and the tenant key store (src/crypto) share.
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

// The plaintext of what AesGcmSeal returned for the same key, nonce and `aad`; nullopt when
// authentication fails (tampered bytes, another key or aad) or `sealed` is shorter than a tag.
// Nothing of a failed decryption is returned.
std::optional<std::string> AesGcmOpen(const std::array<uint8_t, 32>& key, std::string_view nonce,
                                      std::string_view aad, std::string_view sealed);

}  // namespace recordstore

#endif  // RECORDSTORE_STORE_AES_GCM_H_
