// The master key of encryption at rest: 32 random bytes that wrap (encrypt) every tenant's data
// keys (tenant_keys.h). It never leaves the server process and is never written to the KV
// store; docs/security.md describes the key hierarchy.
//
// Sources:
//   * a key file: exactly 32 raw bytes, a regular file that neither group nor others may read
//     or write (mode & 077 == 0, as ssh demands of private keys). LoadMasterKeyFile can create
//     it (0600, O_EXCL, fsynced) on first use.
//   * an environment variable: the 32 bytes as 64 hex digits (either case) or as standard
//     base64 with padding (44 characters, RFC 4648 section 4). Surrounding whitespace is
//     ignored. Hex is tried first; a 64-character string is never valid base64 of 32 bytes.
//
// The key's id is its fingerprint: the first 8 bytes of SHA-256("recordstore master key v1" ||
// key), as 16 lowercase hex digits. Every wrapped data key records the id of the master key
// that wrapped it, so a server started with another master key says so instead of reporting
// corruption, and master-key rotation knows which data keys it has re-wrapped. A fingerprint
// reveals nothing usable about a 256-bit random key.
//
// Thread-safety: a MasterKey is an immutable value.
#ifndef RECORDSTORE_CRYPTO_MASTER_KEY_H_
#define RECORDSTORE_CRYPTO_MASTER_KEY_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "recordstore/status.h"

namespace recordstore::crypto {

inline constexpr size_t kMasterKeySize = 32;

// The environment variable the server reads the master key from when no key file is given.
inline constexpr char kMasterKeyEnvVar[] = "RECORDSTORE_MASTER_KEY";

class MasterKey {
 public:
  // A key with these bytes; its id is their fingerprint.
  explicit MasterKey(const std::array<uint8_t, kMasterKeySize>& bytes);
  // A new key from OpenSSL's CSPRNG. internal_error (8007) when it has no entropy.
  static StatusOr<MasterKey> Generate();

  const std::string& id() const { return id_; }
  const std::array<uint8_t, kMasterKeySize>& bytes() const { return bytes_; }

 private:
  std::array<uint8_t, kMasterKeySize> bytes_;
  std::string id_;
};

struct MasterKeyFileOptions {
  // Create the file with a new random key when it does not exist (false: not_found).
  bool create_if_missing = false;
};

// Loads the key file at `path`. Errors:
//   not_found (8002)          the file does not exist and create_if_missing is false;
//   permission_denied (8009)  group or others have any permission on it, or it is not a
//                             regular file (a symlink to one is followed);
//   invalid_argument (8001)   its size is not 32 bytes;
//   io_error (1510)           it cannot be opened, read, created or synced.
// Every message names the path and what to do about it.
StatusOr<MasterKey> LoadMasterKeyFile(const std::string& path,
                                      const MasterKeyFileOptions& options = {});

// Writes `key` to a new file at `path` with mode 0600 (fails with already_exists (8003) when
// the file exists: a master key is never overwritten in place).
Status WriteMasterKeyFile(const std::string& path, const MasterKey& key);

// Parses the key from text (hex or base64, see the file comment). invalid_argument (8001)
// naming the accepted formats otherwise; the message never echoes the text.
StatusOr<MasterKey> ParseMasterKeyText(std::string_view text);

// The key in the environment variable `name`: not_found (8002) when unset, else as
// ParseMasterKeyText (the message names the variable).
StatusOr<MasterKey> LoadMasterKeyFromEnv(const std::string& name);

}  // namespace recordstore::crypto

#endif  // RECORDSTORE_CRYPTO_MASTER_KEY_H_
