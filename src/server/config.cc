#include "server/config.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/status_macros.h"
#include "common/status_util.h"
#include "nlohmann/json.hpp"

namespace recordstore::server {
namespace {

using nlohmann::json;

Status Invalid(const std::string& message) {
  return MakeError(ErrorCode::kInvalidArgument, "config: " + message);
}

Status OnlyKeys(const json& object, const std::string& where,
                const std::set<std::string>& allowed) {
  if (!object.is_object()) return Invalid(where + " is not a JSON object");
  for (const auto& [key, value] : object.items()) {
    if (!allowed.contains(key)) {
      std::string names;
      for (const std::string& name : allowed) names += (names.empty() ? "" : ", ") + name;
      return Invalid("unknown key \"" + key + "\" in " + where + " (known: " + names + ")");
    }
  }
  return absl::OkStatus();
}

Status GetString(const json& object, const std::string& key, std::string& out) {
  if (!object.contains(key)) return absl::OkStatus();
  if (!object[key].is_string()) return Invalid("\"" + key + "\" is not a string");
  out = object[key].get<std::string>();
  return absl::OkStatus();
}

Status GetInt(const json& object, const std::string& key, int64_t min, int64_t& out) {
  if (!object.contains(key)) return absl::OkStatus();
  if (!object[key].is_number_integer()) return Invalid("\"" + key + "\" is not an integer");
  int64_t value = object[key].get<int64_t>();
  if (value < min) return Invalid("\"" + key + "\" is below " + std::to_string(min));
  out = value;
  return absl::OkStatus();
}

}  // namespace

Status ApplyConfigJson(const std::string& text, const std::string& base_dir,
                       ServerOptions& options) {
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (root.is_discarded()) return Invalid("not valid JSON");
  RETURN_IF_ERROR(OnlyKeys(root, "the top level",
                           {"listen", "http_listen", "data_dir", "kv", "tls", "worker_threads",
                            "limits", "encryption", "auth"}));
  RETURN_IF_ERROR(GetString(root, "listen", options.listen));
  RETURN_IF_ERROR(GetString(root, "http_listen", options.http_listen));
  RETURN_IF_ERROR(GetString(root, "data_dir", options.data_dir));
  RETURN_IF_ERROR(GetString(root, "kv", options.kv_url));
  if (root.contains("tls")) {
    const json& tls = root["tls"];
    RETURN_IF_ERROR(OnlyKeys(tls, "\"tls\"", {"cert", "key"}));
    RETURN_IF_ERROR(GetString(tls, "cert", options.tls_cert_file));
    RETURN_IF_ERROR(GetString(tls, "key", options.tls_key_file));
    for (std::string* path : {&options.tls_cert_file, &options.tls_key_file}) {
      if (!path->empty() && std::filesystem::path(*path).is_relative() && !base_dir.empty()) {
        *path = (std::filesystem::path(base_dir) / *path).string();
      }
    }
  }
  if (root.contains("encryption")) {
    const json& encryption = root["encryption"];
    RETURN_IF_ERROR(OnlyKeys(encryption, "\"encryption\"",
                             {"enabled", "master_key_file", "previous_master_key_files"}));
    if (encryption.contains("enabled")) {
      if (!encryption["enabled"].is_boolean()) return Invalid("\"enabled\" is not true or false");
      options.encryption = encryption["enabled"].get<bool>();
    }
    RETURN_IF_ERROR(GetString(encryption, "master_key_file", options.master_key_file));
    if (encryption.contains("previous_master_key_files")) {
      const json& files = encryption["previous_master_key_files"];
      if (!files.is_array()) return Invalid("\"previous_master_key_files\" is not an array");
      options.previous_master_key_files.clear();
      for (const json& file : files) {
        if (!file.is_string()) {
          return Invalid("\"previous_master_key_files\" holds something else than strings");
        }
        options.previous_master_key_files.push_back(file.get<std::string>());
      }
    }
    // Relative key paths are relative to the file, as TLS paths are.
    std::vector<std::string*> paths = {&options.master_key_file};
    for (std::string& file : options.previous_master_key_files) paths.push_back(&file);
    for (std::string* path : paths) {
      if (!path->empty() && std::filesystem::path(*path).is_relative() && !base_dir.empty()) {
        *path = (std::filesystem::path(base_dir) / *path).string();
      }
    }
  }
  if (root.contains("auth")) {
    const json& auth = root["auth"];
    RETURN_IF_ERROR(
        OnlyKeys(auth, "\"auth\"", {"root_key", "metrics_without_token", "revocation_refresh_ms"}));
    RETURN_IF_ERROR(GetString(auth, "root_key", options.root_key_file));
    if (!options.root_key_file.empty() &&
        std::filesystem::path(options.root_key_file).is_relative() && !base_dir.empty()) {
      options.root_key_file = (std::filesystem::path(base_dir) / options.root_key_file).string();
    }
    if (auth.contains("metrics_without_token")) {
      if (!auth["metrics_without_token"].is_boolean()) {
        return Invalid("\"metrics_without_token\" is not true or false");
      }
      options.metrics_without_token = auth["metrics_without_token"].get<bool>();
    }
    int64_t refresh = options.revocation_refresh.count();
    RETURN_IF_ERROR(GetInt(auth, "revocation_refresh_ms", 0, refresh));
    options.revocation_refresh = std::chrono::milliseconds(refresh);
  }
  int64_t threads = options.worker_threads;
  RETURN_IF_ERROR(GetInt(root, "worker_threads", 0, threads));
  options.worker_threads = static_cast<int>(threads);
  if (root.contains("limits")) {
    const json& limits = root["limits"];
    RETURN_IF_ERROR(OnlyKeys(limits, "\"limits\"",
                             {"max_message_bytes", "query_time_limit_ms", "query_batch",
                              "inline_index_build_limit", "index_build_records_per_second",
                              "reencryption_records_per_second", "shutdown_grace_ms"}));
    int64_t message_bytes = options.max_message_bytes;
    RETURN_IF_ERROR(GetInt(limits, "max_message_bytes", 1024, message_bytes));
    if (message_bytes > (1LL << 31) - 1) return Invalid("\"max_message_bytes\" is above 2 GiB");
    options.max_message_bytes = static_cast<int>(message_bytes);
    int64_t time_limit = options.query_time_limit.count();
    RETURN_IF_ERROR(GetInt(limits, "query_time_limit_ms", 1, time_limit));
    options.query_time_limit = std::chrono::milliseconds(time_limit);
    int64_t batch = options.query_batch;
    RETURN_IF_ERROR(GetInt(limits, "query_batch", 1, batch));
    options.query_batch = static_cast<int>(batch);
    RETURN_IF_ERROR(
        GetInt(limits, "inline_index_build_limit", 0, options.inline_index_build_limit));
    if (limits.contains("index_build_records_per_second")) {
      const json& rate = limits["index_build_records_per_second"];
      if (!rate.is_number() || rate.get<double>() < 0) {
        return Invalid("\"index_build_records_per_second\" is not a number >= 0");
      }
      options.index_build_records_per_second = rate.get<double>();
    }
    if (limits.contains("reencryption_records_per_second")) {
      const json& rate = limits["reencryption_records_per_second"];
      if (!rate.is_number() || rate.get<double>() < 0) {
        return Invalid("\"reencryption_records_per_second\" is not a number >= 0");
      }
      options.reencryption_records_per_second = rate.get<double>();
    }
    int64_t grace = options.shutdown_grace.count();
    RETURN_IF_ERROR(GetInt(limits, "shutdown_grace_ms", 0, grace));
    options.shutdown_grace = std::chrono::milliseconds(grace);
  }
  return absl::OkStatus();
}

Status ApplyConfigFile(const std::string& path, ServerOptions& options) {
  std::ifstream in(path);
  if (!in) return Invalid("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  Status status =
      ApplyConfigJson(text.str(), std::filesystem::path(path).parent_path().string(), options);
  if (status.ok()) return status;
  return WithMessage(status, std::string(status.message()) + " (" + path + ")");
}

}  // namespace recordstore::server
