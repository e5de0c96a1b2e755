#include "store/record_serializer.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <thread>
#include <vector>

#include "store/aes_gcm.h"

namespace recordstore {
namespace {

// Keys 1 and 2; the current one can be switched (rotation). Providers with another `salt`
// have other keys under the same ids (another tenant).
class TestKeys final : public KeyProvider {
 public:
  explicit TestKeys(uint8_t salt = 0) {
    for (uint32_t id : {1u, 2u}) {
      DataKey key;
      key.id = id;
      for (size_t i = 0; i < key.bytes.size(); ++i)
        key.bytes[i] = static_cast<uint8_t>(id * 31 + i + salt * 7);
      keys_[id] = key;
    }
  }
  StatusOr<DataKey> CurrentKey() const override { return keys_.at(current_); }
  StatusOr<DataKey> KeyById(uint32_t id) const override {
    auto it = keys_.find(id);
    if (it == keys_.end())
      return MakeError(ErrorCode::kNotFound, "no data key " + std::to_string(id));
    return it->second;
  }
  uint32_t current_ = 1;

 private:
  std::map<uint32_t, DataKey> keys_;
};

std::string Compressible(size_t n) {
  std::string s;
  while (s.size() < n) s += "customer-0042 ordered sku-17 x3; ";
  s.resize(n);
  return s;
}

std::string Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

RecordSerializer Make(Compression c, bool encrypt, std::shared_ptr<TestKeys> keys = nullptr) {
  SerializerOptions options;
  options.compression = c;
  options.encrypt = encrypt;
  return RecordSerializer(options, keys);
}

TEST(RecordSerializerTest, PlainRecordIsTwoHeaderBytesThenThePayload) {
  auto stored = Make(Compression::kNone, false).Serialize("abc", "k");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, std::string("\x01\x00", 2) + "abc");
}

TEST(RecordSerializerTest, EveryCombinationRoundTrips) {
  auto keys = std::make_shared<TestKeys>();
  for (Compression c : {Compression::kNone, Compression::kZstd, Compression::kLz4}) {
    for (bool encrypt : {false, true}) {
      RecordSerializer serializer = Make(c, encrypt, keys);
      for (size_t size :
           {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{5000}, size_t{200000}}) {
        std::string payload = Compressible(size);
        auto stored = serializer.Serialize(payload, "rec/1");
        ASSERT_TRUE(stored.ok()) << stored.status();
        auto back = serializer.Deserialize(*stored, "rec/1");
        ASSERT_TRUE(back.ok()) << back.status() << " compression " << static_cast<int>(c)
                               << " encrypt " << encrypt << " size " << size;
        EXPECT_EQ(*back, payload);
      }
    }
  }
}

TEST(RecordSerializerTest, CompressionShrinksRepetitiveRecordsAndSkipsRandomOnes) {
  RecordSerializer zstd = Make(Compression::kZstd, false);
  std::string repetitive = Compressible(10000);
  auto stored = zstd.Serialize(repetitive, "k");
  ASSERT_TRUE(stored.ok());
  EXPECT_LT(stored->size(), 1000u);
  EXPECT_EQ((*stored)[1], 1);  // zstd flag

  std::string noise = Random(10000, 7);
  stored = zstd.Serialize(noise, "k");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ((*stored)[1], 0);  // not worth it: stored uncompressed
  EXPECT_EQ(stored->size(), noise.size() + 2);
}

TEST(RecordSerializerTest, RecordsWrittenUnderOlderSettingsStayReadable) {
  auto keys = std::make_shared<TestKeys>();
  std::string payload = Compressible(3000);
  auto plain = Make(Compression::kNone, false).Serialize(payload, "k");
  auto lz4 = Make(Compression::kLz4, false).Serialize(payload, "k");
  ASSERT_TRUE(plain.ok() && lz4.ok());
  RecordSerializer now = Make(Compression::kZstd, true, keys);
  EXPECT_EQ(*now.Deserialize(*plain, "k"), payload);
  EXPECT_EQ(*now.Deserialize(*lz4, "k"), payload);
}

TEST(RecordSerializerTest, EncryptedBytesDoNotContainThePlaintext) {
  auto keys = std::make_shared<TestKeys>();
  std::string marker = "PLAINTEXT-MARKER-4711";
  auto stored = Make(Compression::kNone, true, keys).Serialize(marker, "k");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->find("MARKER"), std::string::npos);
  EXPECT_EQ(stored->size(), 2 + 4 + 12 + marker.size() + 16);
}

TEST(RecordSerializerTest, EveryTamperedByteIsDetected) {
  auto keys = std::make_shared<TestKeys>();
  for (Compression c : {Compression::kNone, Compression::kZstd}) {
    RecordSerializer serializer = Make(c, true, keys);
    auto stored = serializer.Serialize(Compressible(500), "rec/9");
    ASSERT_TRUE(stored.ok());
    for (size_t i = 0; i < stored->size(); ++i) {
      std::string tampered = *stored;
      tampered[i] = static_cast<char>(tampered[i] ^ 0x20);
      auto result = serializer.Deserialize(tampered, "rec/9");
      ASSERT_FALSE(result.ok()) << "flipping byte " << i << " went unnoticed";
      EXPECT_TRUE(HasErrorCode(result.status(), ErrorCode::kDataCorruption) ||
                  HasErrorCode(result.status(), ErrorCode::kNotFound))
          << result.status();
      EXPECT_EQ(result.status().code(), HasErrorCode(result.status(), ErrorCode::kNotFound)
                                            ? absl::StatusCode::kNotFound
                                            : absl::StatusCode::kDataLoss);
    }
  }
}

// The serializer keeps the last data key a thread read with (record_serializer.cc). Two
// tenants' providers use the same key ids with different keys; reading alternately, each
// record opens only under its own provider, including under a provider created after the
// first one is gone (which may reuse its address).
TEST(RecordSerializerTest, KeptReadKeyNeverServesAnotherProvidersKeyOfTheSameId) {
  auto tenant_a = std::make_shared<TestKeys>(/*salt=*/1);
  auto tenant_b = std::make_shared<TestKeys>(/*salt=*/2);
  RecordSerializer a = Make(Compression::kNone, true, tenant_a);
  RecordSerializer b = Make(Compression::kNone, true, tenant_b);
  auto sealed_a = a.Serialize("tenant a", "rec/1");
  auto sealed_b = b.Serialize("tenant b", "rec/1");
  ASSERT_TRUE(sealed_a.ok() && sealed_b.ok());
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(*a.Deserialize(*sealed_a, "rec/1"), "tenant a");
    auto crossed = b.Deserialize(*sealed_a, "rec/1");
    EXPECT_TRUE(HasErrorCode(crossed.status(), ErrorCode::kDataCorruption)) << crossed.status();
    EXPECT_EQ(*b.Deserialize(*sealed_b, "rec/1"), "tenant b");
    crossed = a.Deserialize(*sealed_b, "rec/1");
    EXPECT_TRUE(HasErrorCode(crossed.status(), ErrorCode::kDataCorruption)) << crossed.status();
  }
  // Read with tenant a's key last, then replace its provider by another tenant's.
  EXPECT_EQ(*a.Deserialize(*sealed_a, "rec/1"), "tenant a");
  a = Make(Compression::kNone, true, nullptr);
  tenant_a.reset();
  auto tenant_c = std::make_shared<TestKeys>(/*salt=*/3);
  RecordSerializer c = Make(Compression::kNone, true, tenant_c);
  auto read_by_c = c.Deserialize(*sealed_a, "rec/1");
  EXPECT_TRUE(HasErrorCode(read_by_c.status(), ErrorCode::kDataCorruption)) << read_by_c.status();
}

TEST(RecordSerializerTest, CiphertextMovedToAnotherRecordKeyFails) {
  auto keys = std::make_shared<TestKeys>();
  RecordSerializer serializer = Make(Compression::kNone, true, keys);
  auto stored = serializer.Serialize("balance=100", "acct/alice");
  ASSERT_TRUE(stored.ok());
  auto moved = serializer.Deserialize(*stored, "acct/mallory");
  EXPECT_TRUE(HasErrorCode(moved.status(), ErrorCode::kDataCorruption)) << moved.status();
  EXPECT_NE(std::string(moved.status().message()).find("authentication failed"), std::string::npos);
}

TEST(RecordSerializerTest, RotatedKeysKeepOldRecordsReadable) {
  auto keys = std::make_shared<TestKeys>();
  RecordSerializer serializer = Make(Compression::kNone, true, keys);
  auto old_record = serializer.Serialize("sealed with key 1", "k");
  keys->current_ = 2;
  auto new_record = serializer.Serialize("sealed with key 2", "k");
  ASSERT_TRUE(old_record.ok() && new_record.ok());
  EXPECT_EQ(std::string(old_record->substr(2, 4)), std::string("\0\0\0\x01", 4));
  EXPECT_EQ(std::string(new_record->substr(2, 4)), std::string("\0\0\0\x02", 4));
  EXPECT_EQ(*serializer.Deserialize(*old_record, "k"), "sealed with key 1");
  EXPECT_EQ(*serializer.Deserialize(*new_record, "k"), "sealed with key 2");
}

TEST(RecordSerializerTest, UnknownKeyIdAndMissingProviderAreClearErrors) {
  auto keys = std::make_shared<TestKeys>();
  auto stored = Make(Compression::kNone, true, keys).Serialize("x", "k");
  ASSERT_TRUE(stored.ok());
  std::string unknown_id = *stored;
  unknown_id[5] = 9;
  EXPECT_TRUE(
      HasErrorCode(Make(Compression::kNone, false, keys).Deserialize(unknown_id, "k").status(),
                   ErrorCode::kNotFound));
  EXPECT_TRUE(HasErrorCode(Make(Compression::kNone, false).Deserialize(*stored, "k").status(),
                           ErrorCode::kUnsupported));
  EXPECT_TRUE(HasErrorCode(Make(Compression::kNone, true).Serialize("x", "k").status(),
                           ErrorCode::kUnsupported));
}

std::array<uint8_t, 32> TestKey(uint8_t seed) {
  std::array<uint8_t, 32> key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(seed * 7 + i);
  return key;
}

// Each thread reuses one cipher context per direction for the key it used last: alternating
// keys, failed openings and other threads must never leave a context on the wrong key.
TEST(AesGcmTest, ReusedContextsNeverMixUpKeys) {
  const std::array<uint8_t, 32> a = TestKey(1);
  const std::array<uint8_t, 32> b = TestKey(2);
  const std::string nonce(12, 'n');
  std::optional<std::string> under_a = AesGcmSeal(a, nonce, "aad", "first, under a");
  std::optional<std::string> under_b = AesGcmSeal(b, nonce, "aad", "second, under b");
  std::optional<std::string> again_a = AesGcmSeal(a, nonce, "aad", "third, under a");
  ASSERT_TRUE(under_a && under_b && again_a);
  EXPECT_NE(under_a->substr(0, 10), again_a->substr(0, 10));
  EXPECT_EQ(AesGcmOpen(b, nonce, "aad", *under_a), std::nullopt);
  EXPECT_EQ(AesGcmOpen(a, nonce, "aad", *under_a), "first, under a");
  EXPECT_EQ(AesGcmOpen(a, nonce, "aad", *under_b), std::nullopt);
  EXPECT_EQ(AesGcmOpen(b, nonce, "aad", *under_b), "second, under b");
  std::string tampered = *again_a;
  tampered[3] ^= 1;
  EXPECT_EQ(AesGcmOpen(a, nonce, "aad", tampered), std::nullopt);
  EXPECT_EQ(AesGcmOpen(a, nonce, "aad", *again_a), "third, under a");

  // Associated data in two pieces is their concatenation.
  std::string sealed_to(5 + kAesGcmTagSize, '\0');
  ASSERT_TRUE(AesGcmSealTo(b, nonce, "head", "tail", "plain", sealed_to.data()));
  EXPECT_EQ(sealed_to, AesGcmSeal(b, nonce, "headtail", "plain"));
  EXPECT_EQ(AesGcmOpen(b, nonce, "he", "adtail", sealed_to), "plain");
  EXPECT_EQ(AesGcmOpen(b, nonce, "head", "tai", sealed_to), std::nullopt);
  // Pieces too long to be joined on the stack (over 256 bytes together) go in one by one.
  const std::string long_head(200, 'h');
  const std::string long_tail(100, 't');
  ASSERT_TRUE(AesGcmSealTo(b, nonce, long_head, long_tail, "plain", sealed_to.data()));
  EXPECT_EQ(sealed_to, AesGcmSeal(b, nonce, long_head + long_tail, "plain"));
  EXPECT_EQ(AesGcmOpen(b, nonce, "h", long_head.substr(1) + long_tail, sealed_to), "plain");

  // Threads with keys of their own, interleaved with this thread's.
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::array<uint8_t, 32> own = TestKey(static_cast<uint8_t>(10 + t));
      for (int i = 0; i < 200; ++i) {
        const std::string plain = "thread " + std::to_string(t) + " record " + std::to_string(i);
        std::optional<std::string> sealed = AesGcmSeal(own, nonce, plain, plain);
        if (!sealed || AesGcmOpen(own, nonce, plain, *sealed) != plain ||
            AesGcmOpen(a, nonce, plain, *sealed).has_value()) {
          ++failures[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
  EXPECT_EQ(AesGcmOpen(a, nonce, "aad", *under_a), "first, under a");
}

TEST(RecordSerializerTest, MalformedHeadersAreDataCorruption) {
  RecordSerializer serializer = Make(Compression::kZstd, false);
  auto expect_corrupt = [&](const std::string& bytes, const std::string& message_part) {
    auto result = serializer.Deserialize(bytes, "k");
    ASSERT_TRUE(HasErrorCode(result.status(), ErrorCode::kDataCorruption)) << result.status();
    EXPECT_NE(std::string(result.status().message()).find(message_part), std::string::npos)
        << result.status();
  };
  expect_corrupt("", "shorter than its 2-byte header");
  expect_corrupt(std::string("\x01", 1), "shorter than its 2-byte header");
  expect_corrupt(std::string("\x02\x00", 2), "unknown format version 2");
  expect_corrupt(std::string("\x01\x08", 2), "unknown header flags 8");
  expect_corrupt(std::string("\x01\x03", 2), "unknown compression 3");
  expect_corrupt(std::string("\x01\x01\x80", 3), "truncated size");
  expect_corrupt(std::string("\x01\x04", 2) + "abc", "truncated encryption header");
  // A decompression bomb: claims 1 GB.
  std::string bomb("\x01\x01", 2);
  for (uint8_t b : {0x80, 0x80, 0x80, 0x80, 0x04}) bomb.push_back(static_cast<char>(b));
  expect_corrupt(bomb, "over the record size limit");
  // A zstd body that is not zstd, and a size that does not match the body.
  expect_corrupt(std::string("\x01\x01\x05", 3) + "hello", "zstd body does not decompress");
  auto good = serializer.Serialize(Compressible(1000), "k");
  ASSERT_TRUE(good.ok());
  std::string wrong_size = *good;
  wrong_size[2] = static_cast<char>(static_cast<uint8_t>(wrong_size[2]) ^ 1);
  expect_corrupt(wrong_size, "zstd body does not decompress");
}

}  // namespace
}  // namespace recordstore
