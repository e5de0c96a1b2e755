// The record serializer pipeline: protobuf bytes -> optional compression (zstd or lz4) ->
// optional AEAD encryption (AES-256-GCM with a key from a KeyProvider). Every stored record
// starts with a small self-describing header, so records written under any earlier setting
// (uncompressed, unencrypted, another key) stay readable after the settings change.
//
// Format (version 1):
//   byte 0      format version (1)
//   byte 1      flags: bits 0-1 compression (0 none, 1 zstd, 2 lz4), bit 2 encrypted
//   [varint]    uncompressed size, when compressed
//   [4 bytes]   key id (big-endian), when encrypted
//   [12 bytes]  nonce, when encrypted
//   body        the (compressed) payload; when encrypted, ciphertext followed by a 16-byte tag
// The associated data of the encryption is the header followed by the record's key bytes,
// so a ciphertext moved to another key, or a header edited in place, fails to decrypt.
//
// Thread-safety: a RecordSerializer is immutable after construction and safe for concurrent
// use if its KeyProvider is.
#ifndef RECORDSTORE_STORE_RECORD_SERIALIZER_H_
#define RECORDSTORE_STORE_RECORD_SERIALIZER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "recordstore/status.h"

namespace recordstore {

// A 256-bit data key and its id (recorded in each record so keys can rotate).
struct DataKey {
  uint32_t id = 0;
  std::array<uint8_t, 32> bytes{};
};

// Supplies data keys; the security layer implements it with per-tenant envelope keys.
// The key with a given id never changes over a provider's lifetime (rotation adds ids), so
// readers may keep what KeyById returned (RecordSerializer does, per thread).
class KeyProvider {
 public:
  KeyProvider();
  KeyProvider(const KeyProvider&) = delete;
  KeyProvider& operator=(const KeyProvider&) = delete;
  virtual ~KeyProvider() = default;
  // The key new records are sealed with.
  virtual StatusOr<DataKey> CurrentKey() const = 0;
  // The key with `id`, for reading records sealed with it. kNotFound when unknown.
  virtual StatusOr<DataKey> KeyById(uint32_t id) const = 0;

  // Unique among all providers this process ever creates: unlike an address, never reused,
  // so a key kept under it cannot be taken for another provider's key of the same id.
  uint64_t instance_id() const { return instance_id_; }

 private:
  uint64_t instance_id_;
};

enum class Compression : uint8_t { kNone = 0, kZstd = 1, kLz4 = 2 };

struct SerializerOptions {
  Compression compression = Compression::kNone;
  // Payloads shorter than this are stored uncompressed (compression rarely pays below it).
  size_t min_compress_size = 64;
  // zstd level (1 = fastest).
  int zstd_level = 1;
  // Seal records with the provider's current key. REQUIRES: a key provider when true.
  bool encrypt = false;
  // Decoding refuses records that claim to decompress to more than this many bytes.
  size_t max_record_size = 64 << 20;
};

class RecordSerializer {
 public:
  // `keys` may be null when neither writing nor reading encrypted records.
  RecordSerializer(SerializerOptions options, std::shared_ptr<const KeyProvider> keys);

  // Encodes `payload` (the record's protobuf bytes) for storage under `record_key`.
  // Compression is skipped when it would not shrink the payload.
  StatusOr<std::string> Serialize(std::string_view payload, std::string_view record_key) const;

  // Decodes what Serialize wrote (under any options) for `record_key`. Errors:
  // data_corruption (8004, absl DATA_LOSS) for a malformed header, a failed authentication
  // (tampered bytes, wrong record key, wrong data key) or a bad compressed body — never
  // garbage; not_found when the record's key id is unknown to the provider; unsupported when
  // the record is encrypted and no provider was given.
  StatusOr<std::string> Deserialize(std::string_view stored, std::string_view record_key) const;

 private:
  SerializerOptions options_;
  std::shared_ptr<const KeyProvider> keys_;
};

}  // namespace recordstore

#endif  // RECORDSTORE_STORE_RECORD_SERIALIZER_H_
