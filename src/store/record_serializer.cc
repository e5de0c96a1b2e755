#include "store/record_serializer.h"

#include <lz4.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <zstd.h>

#include <atomic>
#include <memory>

#include "common/status_macros.h"
#include "store/aes_gcm.h"

namespace recordstore {
namespace {

constexpr uint8_t kFormatVersion = 1;
constexpr uint8_t kCompressionMask = 0x03;
constexpr uint8_t kEncryptedFlag = 0x04;
constexpr size_t kNonceSize = 12;

Status Corrupt(const std::string& what) {
  return MakeError(ErrorCode::kDataCorruption, "stored record: " + what);
}

void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Reads a varint at *pos; false when truncated or longer than 10 bytes.
bool ReadVarint(std::string_view in, size_t* pos, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && *pos < in.size(); shift += 7) {
    auto byte = static_cast<uint8_t>(in[(*pos)++]);
    *v |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

StatusOr<std::string> Compress(Compression kind, std::string_view in, int zstd_level) {
  std::string out;
  if (kind == Compression::kZstd) {
    out.resize(ZSTD_compressBound(in.size()));
    size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), zstd_level);
    if (ZSTD_isError(n)) {
      return MakeError(ErrorCode::kInternalError, std::string("zstd: ") + ZSTD_getErrorName(n));
    }
    out.resize(n);
  } else {
    if (in.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) {
      return MakeError(ErrorCode::kInvalidArgument, "record too large for lz4");
    }
    out.resize(LZ4_compressBound(static_cast<int>(in.size())));
    int n = LZ4_compress_default(in.data(), out.data(), static_cast<int>(in.size()),
                                 static_cast<int>(out.size()));
    if (n <= 0) return MakeError(ErrorCode::kInternalError, "lz4 compression failed");
    out.resize(n);
  }
  return out;
}

StatusOr<std::string> Decompress(Compression kind, std::string_view in, uint64_t size) {
  std::string out(size, '\0');
  if (kind == Compression::kZstd) {
    size_t n = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
    if (ZSTD_isError(n) || n != size) return Corrupt("zstd body does not decompress");
  } else {
    int n = LZ4_decompress_safe(in.data(), out.data(), static_cast<int>(in.size()),
                                static_cast<int>(out.size()));
    if (n < 0 || static_cast<uint64_t>(n) != size) return Corrupt("lz4 body does not decompress");
  }
  return out;
}

// AES-256-GCM (aes_gcm.h). The header and the record key are authenticated, not encrypted.
StatusOr<std::string> Open(const DataKey& key, std::string_view nonce, std::string_view header,
                           std::string_view record_key, std::string_view sealed) {
  if (sealed.size() < kAesGcmTagSize) return Corrupt("ciphertext shorter than its tag");
  std::optional<std::string> opened = AesGcmOpen(key.bytes, nonce, header, record_key, sealed);
  if (!opened.has_value()) {
    return Corrupt("authentication failed (tampered bytes, or a record stored under another key)");
  }
  return *std::move(opened);
}

// The data key a thread read records with last, and the provider it came from. A run of
// records of one tenant then costs no provider lookup (a lock and a hash probe each). Safe
// because a provider's key for an id never changes (KeyProvider) and provider instance ids
// are never reused. The key bytes are cleansed when the thread ends.
struct LastReadKey {
  ~LastReadKey() { OPENSSL_cleanse(key.bytes.data(), key.bytes.size()); }
  uint64_t provider = 0;  // 0: none yet (instance ids start at 1)
  DataKey key;
};
thread_local LastReadKey last_read_key;

StatusOr<DataKey> ReadKey(const KeyProvider& keys, uint32_t id) {
  if (last_read_key.provider == keys.instance_id() && last_read_key.key.id == id) {
    return last_read_key.key;
  }
  ASSIGN_OR_RETURN(DataKey key, keys.KeyById(id));
  last_read_key.provider = keys.instance_id();
  last_read_key.key = key;
  return key;
}

}  // namespace

KeyProvider::KeyProvider() {
  static std::atomic<uint64_t> next_instance_id{1};
  instance_id_ = next_instance_id.fetch_add(1, std::memory_order_relaxed);
}

RecordSerializer::RecordSerializer(SerializerOptions options,
                                   std::shared_ptr<const KeyProvider> keys)
    : options_(options), keys_(std::move(keys)) {}

StatusOr<std::string> RecordSerializer::Serialize(std::string_view payload,
                                                  std::string_view record_key) const {
  std::string compressed;
  Compression used = Compression::kNone;
  if (options_.compression != Compression::kNone && payload.size() >= options_.min_compress_size) {
    ASSIGN_OR_RETURN(compressed, Compress(options_.compression, payload, options_.zstd_level));
    if (compressed.size() < payload.size()) used = options_.compression;
  }
  std::string_view body = used == Compression::kNone ? payload : std::string_view(compressed);

  std::string out;
  // Header (at most 2 + 10 + 4 + 12 bytes), body and tag: one allocation.
  out.reserve(28 + body.size() + kAesGcmTagSize);
  out.push_back(static_cast<char>(kFormatVersion));
  out.push_back(
      static_cast<char>(static_cast<uint8_t>(used) | (options_.encrypt ? kEncryptedFlag : 0)));
  if (used != Compression::kNone) AppendVarint(&out, payload.size());
  if (!options_.encrypt) {
    out.append(body);
    return out;
  }
  if (keys_ == nullptr) {
    return MakeError(ErrorCode::kUnsupported, "encryption is on but no key provider is set");
  }
  ASSIGN_OR_RETURN(DataKey key, keys_->CurrentKey());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(key.id >> shift));
  std::string nonce(kNonceSize, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), kNonceSize) != 1) {
    return MakeError(ErrorCode::kInternalError, "no randomness for a nonce");
  }
  out.append(nonce);
  const size_t header_size = out.size();
  out.resize(header_size + body.size() + kAesGcmTagSize);
  // The header is the first part of the associated data: a view into `out`, which no longer
  // reallocates.
  if (!AesGcmSealTo(key.bytes, nonce, std::string_view(out.data(), header_size), record_key, body,
                    out.data() + header_size)) {
    return MakeError(ErrorCode::kInternalError, "AES-256-GCM encryption failed");
  }
  return out;
}

StatusOr<std::string> RecordSerializer::Deserialize(std::string_view stored,
                                                    std::string_view record_key) const {
  if (stored.size() < 2) return Corrupt("shorter than its 2-byte header");
  if (static_cast<uint8_t>(stored[0]) != kFormatVersion) {
    return Corrupt("unknown format version " + std::to_string(static_cast<uint8_t>(stored[0])));
  }
  auto flags = static_cast<uint8_t>(stored[1]);
  if ((flags & ~(kCompressionMask | kEncryptedFlag)) != 0) {
    return Corrupt("unknown header flags " + std::to_string(flags));
  }
  auto compression = static_cast<Compression>(flags & kCompressionMask);
  if (compression != Compression::kNone && compression != Compression::kZstd &&
      compression != Compression::kLz4) {
    return Corrupt("unknown compression " + std::to_string(flags & kCompressionMask));
  }
  size_t pos = 2;
  uint64_t uncompressed_size = 0;
  if (compression != Compression::kNone) {
    if (!ReadVarint(stored, &pos, &uncompressed_size)) return Corrupt("truncated size");
    if (uncompressed_size > options_.max_record_size) {
      return Corrupt("claims " + std::to_string(uncompressed_size) +
                     " bytes, over the record size limit");
    }
  }
  std::string decrypted;
  std::string_view body = stored.substr(pos);
  if ((flags & kEncryptedFlag) != 0) {
    if (stored.size() < pos + 4 + kNonceSize) return Corrupt("truncated encryption header");
    uint32_t key_id = 0;
    for (int i = 0; i < 4; ++i) key_id = (key_id << 8) | static_cast<uint8_t>(stored[pos + i]);
    std::string_view nonce = stored.substr(pos + 4, kNonceSize);
    size_t header_size = pos + 4 + kNonceSize;
    if (keys_ == nullptr) {
      return MakeError(ErrorCode::kUnsupported,
                       "the record is encrypted and no key provider is set");
    }
    ASSIGN_OR_RETURN(DataKey key, ReadKey(*keys_, key_id));
    ASSIGN_OR_RETURN(decrypted, Open(key, nonce, stored.substr(0, header_size), record_key,
                                     stored.substr(header_size)));
    if (compression == Compression::kNone) return decrypted;
    body = decrypted;
  }
  if (compression == Compression::kNone) return std::string(body);
  return Decompress(compression, body, uncompressed_size);
}

}  // namespace recordstore
