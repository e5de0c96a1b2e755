#include "crypto/master_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace recordstore::crypto {
namespace {

// A fresh directory per test, removed afterwards.
class MasterKeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "rs_master_key_XXXXXX");
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  static void WriteBytes(const std::string& path, size_t size, mode_t mode) {
    std::ofstream(path, std::ios::binary) << std::string(size, 'k');
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  }

  std::filesystem::path dir_;
};

mode_t ModeOf(const std::string& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0);
  return info.st_mode & 07777;
}

TEST_F(MasterKeyFileTest, CreatedWithMode0600OnFirstUseAndReloadedUnchanged) {
  std::string path = Path("master.key");
  StatusOr<MasterKey> created = LoadMasterKeyFile(path, {.create_if_missing = true});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(std::filesystem::file_size(path), 32u);
  StatusOr<MasterKey> loaded = LoadMasterKeyFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->bytes(), created->bytes());
  EXPECT_EQ(loaded->id(), created->id());
}

TEST_F(MasterKeyFileTest, CreatedWithMode0600WhateverTheUmask) {
  mode_t old_umask = ::umask(0);
  StatusOr<MasterKey> created = LoadMasterKeyFile(Path("k"), {.create_if_missing = true});
  ::umask(old_umask);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(ModeOf(Path("k")), 0600u);
}

TEST_F(MasterKeyFileTest, MissingFileWithoutCreateIsNotFound) {
  StatusOr<MasterKey> key = LoadMasterKeyFile(Path("absent.key"));
  EXPECT_TRUE(HasErrorCode(key.status(), ErrorCode::kNotFound)) << key.status();
  EXPECT_FALSE(std::filesystem::exists(Path("absent.key")));
}

TEST_F(MasterKeyFileTest, GroupReadableFileIsRefusedWithTheFix) {
  std::string path = Path("group.key");
  WriteBytes(path, 32, 0640);
  StatusOr<MasterKey> key = LoadMasterKeyFile(path, {.create_if_missing = true});
  EXPECT_TRUE(HasErrorCode(key.status(), ErrorCode::kPermissionDenied)) << key.status();
  EXPECT_EQ(key.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(key.status().message().find("mode 0640"), std::string::npos) << key.status();
  EXPECT_NE(key.status().message().find("chmod 600 " + path), std::string::npos) << key.status();
}

TEST_F(MasterKeyFileTest, OthersReadableOrGroupWritableFileIsRefused) {
  for (mode_t mode : {0604, 0620, 0601, 0644}) {
    std::string path = Path("key" + std::to_string(mode));
    WriteBytes(path, 32, mode);
    EXPECT_TRUE(HasErrorCode(LoadMasterKeyFile(path).status(), ErrorCode::kPermissionDenied))
        << std::oct << mode;
  }
}

TEST_F(MasterKeyFileTest, WrongSizeIsRefused) {
  for (size_t size : {0, 31, 33, 64}) {
    std::string path = Path("size" + std::to_string(size));
    WriteBytes(path, size, 0600);
    StatusOr<MasterKey> key = LoadMasterKeyFile(path);
    EXPECT_TRUE(HasErrorCode(key.status(), ErrorCode::kInvalidArgument)) << key.status();
    EXPECT_NE(key.status().message().find("holds " + std::to_string(size) + " bytes"),
              std::string::npos)
        << key.status();
  }
}

TEST_F(MasterKeyFileTest, DirectoryIsRefused) {
  std::filesystem::create_directory(Path("d"));
  ASSERT_EQ(::chmod(Path("d").c_str(), 0700), 0);
  EXPECT_TRUE(HasErrorCode(LoadMasterKeyFile(Path("d")).status(), ErrorCode::kPermissionDenied));
}

TEST_F(MasterKeyFileTest, ExistingFileIsNeverOverwritten) {
  std::string path = Path("master.key");
  StatusOr<MasterKey> first = LoadMasterKeyFile(path, {.create_if_missing = true});
  ASSERT_TRUE(first.ok());
  StatusOr<MasterKey> other = MasterKey::Generate();
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(HasErrorCode(WriteMasterKeyFile(path, *other), ErrorCode::kAlreadyExists));
  EXPECT_EQ(LoadMasterKeyFile(path)->bytes(), first->bytes());
}

std::array<uint8_t, kMasterKeySize> CountingBytes() {
  std::array<uint8_t, kMasterKeySize> bytes{};
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i);
  return bytes;
}

TEST(MasterKeyText, HexAndBase64GiveTheSameKey) {
  StatusOr<MasterKey> hex =
      ParseMasterKeyText("000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F");
  StatusOr<MasterKey> base64 =
      ParseMasterKeyText("  AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
  ASSERT_TRUE(hex.ok()) << hex.status();
  ASSERT_TRUE(base64.ok()) << base64.status();
  EXPECT_EQ(hex->bytes(), CountingBytes());
  EXPECT_EQ(base64->bytes(), CountingBytes());
  EXPECT_EQ(hex->id(), MasterKey(CountingBytes()).id());
}

TEST(MasterKeyText, OtherFormatsAreRefusedWithoutEchoingTheText) {
  for (const char* text : {
           "",
           "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",   // 63 digits
           "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g",  // not hex
           "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",  // base64 of 31 bytes
           "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",   // unpadded
           "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd*h8=",  // not base64
       }) {
    StatusOr<MasterKey> key = ParseMasterKeyText(text);
    EXPECT_TRUE(HasErrorCode(key.status(), ErrorCode::kInvalidArgument)) << text;
    if (std::string_view(text).size() > 4) {
      EXPECT_EQ(key.status().message().find(text), std::string::npos);
    }
  }
}

TEST(MasterKeyEnv, ReadsTheVariableAndNamesItOnErrors) {
  ASSERT_EQ(::setenv("RS_TEST_MASTER_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 1), 0);
  StatusOr<MasterKey> key = LoadMasterKeyFromEnv("RS_TEST_MASTER_KEY");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->bytes(), CountingBytes());

  ASSERT_EQ(::setenv("RS_TEST_MASTER_KEY", "short", 1), 0);
  key = LoadMasterKeyFromEnv("RS_TEST_MASTER_KEY");
  EXPECT_TRUE(HasErrorCode(key.status(), ErrorCode::kInvalidArgument));
  EXPECT_NE(key.status().message().find("RS_TEST_MASTER_KEY"), std::string::npos);

  ASSERT_EQ(::unsetenv("RS_TEST_MASTER_KEY"), 0);
  EXPECT_TRUE(
      HasErrorCode(LoadMasterKeyFromEnv("RS_TEST_MASTER_KEY").status(), ErrorCode::kNotFound));
}

TEST(MasterKey, IdIsAStableFingerprint) {
  MasterKey key(CountingBytes());
  EXPECT_EQ(key.id().size(), 16u);
  EXPECT_EQ(key.id(), MasterKey(CountingBytes()).id());
  std::array<uint8_t, kMasterKeySize> other = CountingBytes();
  other[31] ^= 1;
  EXPECT_NE(MasterKey(other).id(), key.id());
}

}  // namespace
}  // namespace recordstore::crypto
