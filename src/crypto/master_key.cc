#include "crypto/master_key.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace recordstore::crypto {
namespace {

constexpr std::string_view kFingerprintLabel = "recordstore master key v1";

std::string Fingerprint(const std::array<uint8_t, kMasterKeySize>& bytes) {
  std::string input(kFingerprintLabel);
  input.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  int ok = EVP_Digest(input.data(), input.size(), digest, &digest_size, EVP_sha256(), nullptr);
  OPENSSL_cleanse(input.data(), input.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  // EVP_Digest cannot fail for SHA-256 short of memory exhaustion; an empty id then makes every
  // unwrap fail loudly rather than match a wrong key.
  if (ok != 1) return id;
  for (int i = 0; i < 8; ++i) {
    id.push_back(kHex[digest[i] >> 4]);
    id.push_back(kHex[digest[i] & 0xf]);
  }
  return id;
}

std::string ErrnoText() { return std::strerror(errno); }

// Closes a file descriptor on scope exit.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string FormatHint(size_t given) {
  return "a master key is 32 bytes written as 64 hex digits or as 44 characters of padded "
         "base64 (" +
         std::to_string(given) + " characters given)";
}

}  // namespace

MasterKey::MasterKey(const std::array<uint8_t, kMasterKeySize>& bytes)
    : bytes_(bytes), id_(Fingerprint(bytes)) {}

StatusOr<MasterKey> MasterKey::Generate() {
  std::array<uint8_t, kMasterKeySize> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return MakeError(ErrorCode::kInternalError, "no randomness for a master key");
  }
  MasterKey key(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return key;
}

Status WriteMasterKeyFile(const std::string& path, const MasterKey& key) {
  // O_EXCL: never replace a key that may still wrap data keys. The mode is applied before any
  // byte is written, so the key is never readable by others, whatever the umask.
  FileDescriptor fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    if (errno == EEXIST) {
      return MakeError(ErrorCode::kAlreadyExists,
                       "master key file " + path + " exists; it is never overwritten");
    }
    return MakeError(ErrorCode::kIoError,
                     "cannot create master key file " + path + ": " + ErrnoText());
  }
  if (::fchmod(fd.get(), 0600) != 0) {
    return MakeError(ErrorCode::kIoError, "cannot chmod 0600 " + path + ": " + ErrnoText());
  }
  const auto& bytes = key.bytes();
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd.get(), bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::unlink(path.c_str());
      return MakeError(ErrorCode::kIoError,
                       "cannot write master key file " + path + ": " + ErrnoText());
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    ::unlink(path.c_str());
    return MakeError(ErrorCode::kIoError,
                     "cannot sync master key file " + path + ": " + ErrnoText());
  }
  return absl::OkStatus();
}

StatusOr<MasterKey> LoadMasterKeyFile(const std::string& path,
                                      const MasterKeyFileOptions& options) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0 && errno == ENOENT) {
    if (!options.create_if_missing) {
      return MakeError(ErrorCode::kNotFound,
                       "master key file " + path +
                           " does not exist (create it, or let the server generate one)");
    }
    StatusOr<MasterKey> key = MasterKey::Generate();
    if (!key.ok()) return key.status();
    Status written = WriteMasterKeyFile(path, *key);
    // Another process created it first: use that one, checked like any existing file.
    if (HasErrorCode(written, ErrorCode::kAlreadyExists)) {
      return LoadMasterKeyFile(path, MasterKeyFileOptions{.create_if_missing = false});
    }
    if (!written.ok()) return written;
    return key;
  }
  if (fd.get() < 0) {
    return MakeError(ErrorCode::kIoError,
                     "cannot open master key file " + path + ": " + ErrnoText());
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) {
    return MakeError(ErrorCode::kIoError,
                     "cannot stat master key file " + path + ": " + ErrnoText());
  }
  if (!S_ISREG(info.st_mode)) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "master key file " + path + " is not a regular file");
  }
  if ((info.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(info.st_mode & 07777));
    return MakeError(ErrorCode::kPermissionDenied,
                     "master key file " + path + " has mode " + mode +
                         ": group and others must have no access (chmod 600 " + path + ")");
  }
  if (info.st_size != static_cast<off_t>(kMasterKeySize)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "master key file " + path + " holds " + std::to_string(info.st_size) +
                         " bytes; a master key is exactly 32 raw bytes");
  }
  std::array<uint8_t, kMasterKeySize> bytes{};
  size_t read = 0;
  while (read < bytes.size()) {
    ssize_t n = ::read(fd.get(), bytes.data() + read, bytes.size() - read);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      OPENSSL_cleanse(bytes.data(), bytes.size());
      return MakeError(ErrorCode::kIoError, "cannot read master key file " + path + ": " +
                                                (n == 0 ? "short read" : ErrnoText()));
    }
    read += static_cast<size_t>(n);
  }
  MasterKey key(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return key;
}

StatusOr<MasterKey> ParseMasterKeyText(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  std::array<uint8_t, kMasterKeySize> bytes{};
  if (text.size() == 2 * kMasterKeySize) {
    bool ok = true;
    for (size_t i = 0; i < kMasterKeySize && ok; ++i) {
      int high = HexValue(text[2 * i]);
      int low = HexValue(text[2 * i + 1]);
      ok = high >= 0 && low >= 0;
      bytes[i] = static_cast<uint8_t>((high << 4) | low);
    }
    if (ok) {
      MasterKey key(bytes);
      OPENSSL_cleanse(bytes.data(), bytes.size());
      return key;
    }
  } else if (text.size() == 44 && text[43] == '=' && text[42] != '=') {
    // EVP_DecodeBlock decodes whole 4-character groups, so 44 characters give 33 bytes, the
    // last one the zero the padding stands for.
    unsigned char decoded[33];
    int n = EVP_DecodeBlock(decoded, reinterpret_cast<const unsigned char*>(text.data()),
                            static_cast<int>(text.size()));
    if (n == 33) {
      std::memcpy(bytes.data(), decoded, kMasterKeySize);
      OPENSSL_cleanse(decoded, sizeof(decoded));
      MasterKey key(bytes);
      OPENSSL_cleanse(bytes.data(), bytes.size());
      return key;
    }
    OPENSSL_cleanse(decoded, sizeof(decoded));
  }
  return MakeError(ErrorCode::kInvalidArgument, FormatHint(text.size()));
}

StatusOr<MasterKey> LoadMasterKeyFromEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) {
    return MakeError(ErrorCode::kNotFound, "environment variable " + name + " is not set");
  }
  StatusOr<MasterKey> key = ParseMasterKeyText(value);
  if (!key.ok()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "environment variable " + name + ": " + FormatHint(std::strlen(value)));
  }
  return key;
}

}  // namespace recordstore::crypto
