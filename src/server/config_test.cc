#include "server/config.h"

#include <gtest/gtest.h>

namespace recordstore::server {
namespace {

TEST(ConfigTest, AppliesEveryKey) {
  ServerOptions options;
  ASSERT_TRUE(ApplyConfigJson(R"({
      // comments are allowed
      "listen": "0.0.0.0:9000", "http_listen": "", "data_dir": "/var/rs", "kv": "memory://",
      "tls": {"cert": "server.crt", "key": "/etc/rs/server.key"},
      "worker_threads": 8,
      "limits": {"max_message_bytes": 1048576, "query_time_limit_ms": 500, "query_batch": 10,
                 "inline_index_build_limit": 5, "index_build_records_per_second": 2.5,
                 "reencryption_records_per_second": 40, "shutdown_grace_ms": 250}})",
                              "/etc/rs", options)
                  .ok());
  EXPECT_EQ(options.listen, "0.0.0.0:9000");
  EXPECT_EQ(options.http_listen, "");
  EXPECT_EQ(options.data_dir, "/var/rs");
  EXPECT_EQ(options.kv_url, "memory://");
  EXPECT_EQ(options.tls_cert_file, "/etc/rs/server.crt");
  EXPECT_EQ(options.tls_key_file, "/etc/rs/server.key");
  EXPECT_EQ(options.worker_threads, 8);
  EXPECT_EQ(options.max_message_bytes, 1048576);
  EXPECT_EQ(options.query_time_limit, std::chrono::milliseconds(500));
  EXPECT_EQ(options.query_batch, 10);
  EXPECT_EQ(options.inline_index_build_limit, 5);
  EXPECT_EQ(options.index_build_records_per_second, 2.5);
  EXPECT_EQ(options.reencryption_records_per_second, 40);
  EXPECT_EQ(options.shutdown_grace, std::chrono::milliseconds(250));
}

TEST(ConfigTest, EncryptionBlockWithKeyPathsRelativeToTheFile) {
  ServerOptions options;
  ASSERT_TRUE(ApplyConfigJson(R"({"encryption": {"enabled": false,
      "master_key_file": "keys/new.key",
      "previous_master_key_files": ["keys/old.key", "/abs/older.key"]}})",
                              "/etc/rs", options)
                  .ok());
  EXPECT_FALSE(options.encryption);
  EXPECT_EQ(options.master_key_file, "/etc/rs/keys/new.key");
  EXPECT_EQ(options.previous_master_key_files,
            (std::vector<std::string>{"/etc/rs/keys/old.key", "/abs/older.key"}));
}

TEST(ConfigTest, AppliesTheAuthKeys) {
  ServerOptions options;
  ASSERT_TRUE(ApplyConfigJson(R"({"auth": {"root_key": "keys/root_key",
                                          "metrics_without_token": true,
                                          "revocation_refresh_ms": 250}})",
                              "/etc/rs", options)
                  .ok());
  EXPECT_EQ(options.root_key_file, "/etc/rs/keys/root_key");
  EXPECT_TRUE(options.metrics_without_token);
  EXPECT_EQ(options.revocation_refresh, std::chrono::milliseconds(250));
}

TEST(ConfigTest, MissingKeysKeepDefaults) {
  ServerOptions options;
  ASSERT_TRUE(ApplyConfigJson("{}", "", options).ok());
  ServerOptions defaults;
  EXPECT_EQ(options.listen, defaults.listen);
  EXPECT_EQ(options.http_listen, defaults.http_listen);
  EXPECT_EQ(options.data_dir, defaults.data_dir);
  EXPECT_EQ(options.max_message_bytes, defaults.max_message_bytes);
  EXPECT_TRUE(options.encryption);
  EXPECT_EQ(options.master_key_file, "");
}

TEST(ConfigTest, RefusesWhatItCannotUse) {
  struct Case {
    const char* json;
    const char* says;
  };
  for (const Case& c : std::vector<Case>{
           {"{", "not valid JSON"},
           {"[]", "not a JSON object"},
           {R"({"lisen": "x"})", "unknown key \"lisen\""},
           {R"({"limits": {"query_batch": 0}})", "\"query_batch\" is below 1"},
           {R"({"limits": {"max_rows": 1}})", "unknown key \"max_rows\""},
           {R"({"limits": {"reencryption_records_per_second": -1}})",
            "\"reencryption_records_per_second\" is not a number >= 0"},
           {R"({"worker_threads": "8"})", "\"worker_threads\" is not an integer"},
           {R"({"listen": 7878})", "\"listen\" is not a string"},
           {R"({"tls": {"cert": "a", "pem": "b"}})", "unknown key \"pem\""},
           {R"({"encryption": {"enabled": "off"}})", "\"enabled\" is not true or false"},
           {R"({"encryption": {"master_key": "k"}})", "unknown key \"master_key\""},
           {R"({"encryption": {"previous_master_key_files": "k"}})",
            "\"previous_master_key_files\" is not an array"},
           {R"({"encryption": {"previous_master_key_files": [1]}})",
            "holds something else than strings"},
           {R"({"auth": {"root": "k"}})", "unknown key \"root\""},
           {R"({"auth": {"metrics_without_token": 1}})",
            "\"metrics_without_token\" is not true or false"},
       }) {
    ServerOptions options;
    Status status = ApplyConfigJson(c.json, "", options);
    EXPECT_TRUE(HasErrorCode(status, ErrorCode::kInvalidArgument)) << c.json;
    EXPECT_NE(status.message().find(c.says), std::string::npos) << status.message();
  }
}

TEST(ConfigTest, UnreadableFileIsNamed) {
  ServerOptions options;
  Status status = ApplyConfigFile("/nonexistent/recordstore.json", options);
  EXPECT_TRUE(HasErrorCode(status, ErrorCode::kInvalidArgument));
  EXPECT_NE(status.message().find("/nonexistent/recordstore.json"), std::string::npos);
}

}  // namespace
}  // namespace recordstore::server
