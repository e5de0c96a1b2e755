#include "cli/cli_util.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace recordstore::cli {
namespace {

absl::Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

bool LooksLikeInt(const std::string& text, int64_t* out) {
  if (text.empty()) return false;
  const char* begin = text.data();
  const char* end = begin + text.size();
  // from_chars accepts a leading '-' but not '+'; "007" is an int too, which is what a
  // shell user typing a number means.
  auto [ptr, error] = std::from_chars(begin, end, *out);
  return error == std::errc() && ptr == end;
}

absl::StatusOr<v1::Value> JsonToValue(const Json& json) {
  v1::Value value;
  if (json.is_null()) {
    value.set_null(true);
  } else if (json.is_boolean()) {
    value.set_bool_(json.get<bool>());
  } else if (json.is_number_integer() && json.is_number_unsigned() &&
             json.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    value.set_uint64(json.get<uint64_t>());
  } else if (json.is_number_integer()) {
    value.set_int64(json.get<int64_t>());
  } else if (json.is_number_float()) {
    value.set_double_(json.get<double>());
  } else if (json.is_string()) {
    value.set_string(json.get<std::string>());
  } else {
    return Invalid("a key column must be a number, string, bool or null, not " + json.dump());
  }
  return value;
}

absl::Status CheckKeys(const Json& object, const std::string& where,
                       const std::set<std::string>& allowed) {
  if (!object.is_object()) return Invalid(where + " must be a JSON object");
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (allowed.count(it.key()) == 0) {
      std::string known;
      for (const std::string& key : allowed) known += (known.empty() ? "" : ", ") + key;
      return Invalid(where + " has an unknown key \"" + it.key() + "\" (known: " + known + ")");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> StringList(const Json& object, const std::string& key,
                                                    const std::string& where) {
  std::vector<std::string> out;
  if (!object.contains(key)) return out;
  const Json& list = object[key];
  if (!list.is_array()) return Invalid(where + "." + key + " must be an array of strings");
  for (const Json& item : list) {
    if (!item.is_string()) return Invalid(where + "." + key + " must be an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

absl::StatusOr<std::string> StringField(const Json& object, const std::string& key,
                                        const std::string& where, bool required) {
  if (!object.contains(key)) {
    if (required) return Invalid(where + " needs \"" + key + "\"");
    return std::string();
  }
  if (!object[key].is_string()) return Invalid(where + "." + key + " must be a string");
  return object[key].get<std::string>();
}

// The quoted names of a file's import statements.
std::vector<std::string> Imports(const std::string& content) {
  std::vector<std::string> out;
  std::istringstream lines(content);
  std::string line;
  while (std::getline(lines, line)) {
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line.compare(start, 6, "import") != 0) continue;
    size_t open = line.find('"', start);
    size_t close = open == std::string::npos ? open : line.find('"', open + 1);
    if (close != std::string::npos) out.push_back(line.substr(open + 1, close - open - 1));
  }
  return out;
}

}  // namespace

std::vector<std::string> ShieldJsonArrays(int argc, const char* const* argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i].size() >= 2 && args[i].front() == '[' && args[i].back() == ']') args[i] += ' ';
  }
  return args;
}

absl::StatusOr<std::vector<v1::Value>> ParseKeyArgument(const std::string& argument) {
  const std::string text(absl::StripTrailingAsciiWhitespace(argument));
  std::vector<v1::Value> key;
  if (!text.empty() && text.front() == '[') {
    Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded() || !parsed.is_array() || parsed.empty()) {
      return Invalid("key " + text + " is not a JSON array of columns");
    }
    for (const Json& column : parsed) {
      absl::StatusOr<v1::Value> value = JsonToValue(column);
      if (!value.ok()) return Invalid("key " + text + ": " + std::string(value.status().message()));
      key.push_back(*std::move(value));
    }
    return key;
  }
  v1::Value value;
  int64_t integer = 0;
  if (LooksLikeInt(text, &integer)) {
    value.set_int64(integer);
  } else {
    value.set_string(text);
  }
  key.push_back(std::move(value));
  return key;
}

absl::StatusOr<std::vector<std::string>> ParseRecordsInput(const std::string& input) {
  std::vector<std::string> records;
  size_t first = input.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return records;
  if (input[first] == '[') {
    Json parsed = Json::parse(input, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) return Invalid("input is not a JSON array (or JSON lines)");
    for (size_t i = 0; i < parsed.size(); ++i) {
      if (!parsed[i].is_object()) {
        return Invalid("input element " + std::to_string(i) + " is not a JSON object");
      }
      records.push_back(parsed[i].dump());
    }
    return records;
  }
  std::istringstream lines(input);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json parsed = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      return Invalid("input line " + std::to_string(number) + " is not a JSON object");
    }
    records.push_back(parsed.dump());
  }
  return records;
}

absl::Status ParseSchemaDefinition(const std::string& text, v1::SchemaSpec* spec) {
  Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Invalid("the schema definition is not valid JSON");
  if (absl::Status keys =
          CheckKeys(root, "the schema definition", {"union", "record_types", "indexes"});
      !keys.ok()) {
    return keys;
  }
  absl::StatusOr<std::string> union_name = StringField(root, "union", "the definition", false);
  if (!union_name.ok()) return union_name.status();
  spec->set_union_name(*union_name);
  spec->clear_record_types();
  spec->clear_indexes();
  if (root.contains("record_types")) {
    if (!root["record_types"].is_array()) return Invalid("record_types must be an array");
    for (size_t i = 0; i < root["record_types"].size(); ++i) {
      const Json& type = root["record_types"][i];
      std::string where = "record_types[" + std::to_string(i) + "]";
      if (absl::Status keys = CheckKeys(type, where, {"name", "primary_key"}); !keys.ok()) {
        return keys;
      }
      v1::RecordTypeSpec* out = spec->add_record_types();
      absl::StatusOr<std::string> name = StringField(type, "name", where, true);
      if (!name.ok()) return name.status();
      out->set_name(*name);
      absl::StatusOr<std::vector<std::string>> key = StringList(type, "primary_key", where);
      if (!key.ok()) return key.status();
      for (const std::string& path : *key) out->add_primary_key(path);
    }
  }
  if (root.contains("indexes")) {
    if (!root["indexes"].is_array()) return Invalid("indexes must be an array");
    for (size_t i = 0; i < root["indexes"].size(); ++i) {
      const Json& index = root["indexes"][i];
      std::string where = "indexes[" + std::to_string(i) + "]";
      if (absl::Status keys = CheckKeys(
              index, where, {"name", "type", "fields", "value_fields", "record_types", "unique"});
          !keys.ok()) {
        return keys;
      }
      v1::IndexSpec* out = spec->add_indexes();
      absl::StatusOr<std::string> name = StringField(index, "name", where, true);
      if (!name.ok()) return name.status();
      out->set_name(*name);
      absl::StatusOr<std::string> type = StringField(index, "type", where, false);
      if (!type.ok()) return type.status();
      out->set_type(*type);
      for (const char* list : {"fields", "value_fields", "record_types"}) {
        absl::StatusOr<std::vector<std::string>> values = StringList(index, list, where);
        if (!values.ok()) return values.status();
        for (const std::string& value : *values) {
          if (std::string(list) == "fields") out->add_fields(value);
          if (std::string(list) == "value_fields") out->add_value_fields(value);
          if (std::string(list) == "record_types") out->add_record_types(value);
        }
      }
      if (index.contains("unique")) {
        if (!index["unique"].is_boolean()) return Invalid(where + ".unique must be true or false");
        out->set_unique(index["unique"].get<bool>());
      }
    }
  }
  return absl::OkStatus();
}

Json SchemaDefinitionToJson(const v1::SchemaSpec& spec) {
  Json root = Json::object();
  root["union"] = spec.union_name().empty() ? "RecordTypeUnion" : spec.union_name();
  root["record_types"] = Json::array();
  for (const v1::RecordTypeSpec& type : spec.record_types()) {
    Json out = Json::object();
    out["name"] = type.name();
    out["primary_key"] =
        Json(std::vector<std::string>(type.primary_key().begin(), type.primary_key().end()));
    root["record_types"].push_back(std::move(out));
  }
  root["indexes"] = Json::array();
  for (const v1::IndexSpec& index : spec.indexes()) {
    Json out = Json::object();
    out["name"] = index.name();
    out["type"] = index.type().empty() ? "value" : index.type();
    out["fields"] = Json(std::vector<std::string>(index.fields().begin(), index.fields().end()));
    out["value_fields"] =
        Json(std::vector<std::string>(index.value_fields().begin(), index.value_fields().end()));
    out["record_types"] =
        Json(std::vector<std::string>(index.record_types().begin(), index.record_types().end()));
    out["unique"] = index.unique();
    root["indexes"].push_back(std::move(out));
  }
  return root;
}

std::vector<std::string> ProtoFileNames(const std::vector<std::string>& paths,
                                        const std::vector<std::string>& contents,
                                        const std::string& proto_path) {
  std::vector<std::string> imports;
  for (const std::string& content : contents) {
    for (std::string& name : Imports(content)) imports.push_back(std::move(name));
  }
  std::vector<std::string> names;
  for (const std::string& path : paths) {
    std::string generic = std::filesystem::path(path).lexically_normal().generic_string();
    std::string name;
    for (const std::string& import : imports) {
      if (generic == import ||
          (generic.size() > import.size() &&
           generic.compare(generic.size() - import.size(), import.size(), import) == 0 &&
           generic[generic.size() - import.size() - 1] == '/')) {
        if (import.size() > name.size()) name = import;
      }
    }
    if (name.empty() && !proto_path.empty()) {
      std::filesystem::path relative = std::filesystem::path(generic).lexically_relative(
          std::filesystem::path(proto_path).lexically_normal());
      std::string text = relative.generic_string();
      if (!text.empty() && text.rfind("..", 0) != 0) name = text;
    }
    if (name.empty()) name = std::filesystem::path(generic).filename().string();
    names.push_back(name);
  }
  return names;
}

Json ValueToJson(const v1::Value& value) {
  switch (value.kind_case()) {
    case v1::Value::kInt64:
      return value.int64();
    case v1::Value::kUint64:
      return value.uint64();
    case v1::Value::kDouble:
      return value.double_();
    case v1::Value::kFloat:
      return value.float_();
    case v1::Value::kString:
      return value.string();
    case v1::Value::kBytes:
      return absl::Base64Escape(value.bytes());
    case v1::Value::kBool:
      return value.bool_();
    case v1::Value::kNull:
    case v1::Value::KIND_NOT_SET:
      break;
  }
  return nullptr;
}

std::string ValueToText(const v1::Value& value) { return CellText(ValueToJson(value)); }

std::string CellText(const Json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  measure(header);
  for (const auto& row : rows) measure(row);
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      line += cell;
      if (i + 1 < widths.size()) line += std::string(widths[i] - cell.size() + 2, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  };
  emit(header);
  for (const auto& row : rows) emit(row);
  return out;
}

std::string RenderRecordTable(const std::vector<Json>& records,
                              const std::vector<std::string>& types) {
  std::vector<std::string> columns;
  for (const Json& record : records) {
    if (!record.is_object()) continue;
    size_t insert_at = 0;  // after the previous key of this record
    for (auto it = record.begin(); it != record.end(); ++it) {
      auto found = std::find(columns.begin(), columns.end(), it.key());
      if (found == columns.end()) {
        columns.insert(columns.begin() + insert_at, it.key());
        ++insert_at;
      } else {
        insert_at = std::max<size_t>(insert_at, found - columns.begin() + 1);
      }
    }
  }
  bool mixed = false;
  for (const std::string& type : types) mixed = mixed || type != types.front();
  std::vector<std::string> header;
  if (mixed) header.push_back("record_type");
  header.insert(header.end(), columns.begin(), columns.end());
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < records.size(); ++i) {
    std::vector<std::string> row;
    if (mixed) row.push_back(types[i]);
    for (const std::string& column : columns) {
      row.push_back(records[i].contains(column) ? CellText(records[i][column]) : "");
    }
    rows.push_back(std::move(row));
  }
  return RenderTable(header, rows);
}

std::string ProgressBar(int64_t done, int64_t total, int width) {
  double fraction = total > 0 ? std::clamp(static_cast<double>(done) / total, 0.0, 1.0) : 0.0;
  int filled = static_cast<int>(fraction * width);
  char percent[16];
  std::snprintf(percent, sizeof(percent), "%5.1f%%", fraction * 100);
  return "[" + std::string(filled, '#') + std::string(width - filled, '-') + "] " + percent;
}

std::string UtcTimeText(int64_t micros) {
  // Floor division: a time before the epoch still truncates towards the past.
  const time_t seconds = static_cast<time_t>(micros / 1'000'000 - (micros % 1'000'000 < 0));
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

std::string Hex(const std::string& bytes) { return absl::BytesToHexString(bytes); }

absl::StatusOr<std::chrono::seconds> ParseDuration(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const std::string unit = text.substr(digits);
  int64_t per_unit = 0;
  if (unit == "s") per_unit = 1;
  if (unit == "m") per_unit = 60;
  if (unit == "h") per_unit = 3600;
  if (unit == "d") per_unit = 86400;
  // At most 9 digits: no overflow, and no token outlives a few thousand years anyway.
  if (digits == 0 || digits > 9 || per_unit == 0) {
    return absl::InvalidArgumentError("duration \"" + text +
                                      "\" is not a number followed by s, m, h or d (e.g. 24h)");
  }
  const int64_t count = std::stoll(text.substr(0, digits));
  if (count == 0) return absl::InvalidArgumentError("duration \"" + text + "\" is zero");
  return std::chrono::seconds(count * per_unit);
}

}  // namespace recordstore::cli
