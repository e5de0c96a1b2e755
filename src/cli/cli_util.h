// The pure parts of the `recordstore` client commands (client.h): parsing what the user
// typed or wrote (keys, record input, the schema definition file, .proto file names) and
// rendering what the server answered (values, tables, progress bars). No I/O, no gRPC calls,
// so each piece is tested on its own (cli_util_test.cc).
#ifndef RECORDSTORE_CLI_CLI_UTIL_H_
#define RECORDSTORE_CLI_CLI_UTIL_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "recordstore/v1/common.pb.h"
#include "recordstore/v1/schema.pb.h"

namespace recordstore::cli {

// Exit codes of every client command (documented in docs/operations.md, "CLI").
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;     // bad flags, unreadable file, malformed input
inline constexpr int kExitServer = 2;    // the server answered with an error, or is unreachable
inline constexpr int kExitNotFound = 3;  // get/delete: a requested record does not exist
inline constexpr int kExitTimeout = 4;   // index status / tenant rotate-key --wait --timeout
                                         // elapsed

// JSON objects keep their keys in the order they were written (protobuf's JSON printer
// writes fields in field-number order; tables keep that order).
using Json = nlohmann::ordered_json;

// One primary key argument: a JSON array of columns ('[42,"eu"]') for composite keys,
// otherwise a single column that is an int64 when it looks like one (optional '-', digits,
// within range) and a string otherwise. invalid_argument for a malformed array.
absl::StatusOr<std::vector<v1::Value>> ParseKeyArgument(const std::string& text);

// argv as strings, with a space appended to every argument that is a JSON array ('[...]'):
// CLI11 splits such arguments of list options into several values, which would turn one
// composite key into two keys. ParseKeyArgument ignores the space.
std::vector<std::string> ShieldJsonArrays(int argc, const char* const* argv);

// The records of `put` input: a JSON array of objects, or one JSON object per line (blank
// lines skipped). Returns each record's compact JSON text. invalid_argument naming the line
// (or array element) that is not a JSON object.
absl::StatusOr<std::vector<std::string>> ParseRecordsInput(const std::string& input);

// The schema definition file of `schema apply --indexes` (docs/operations.md):
//   {"union": "RecordTypeUnion",
//    "record_types": [{"name": "Order", "primary_key": ["order_id"]}],
//    "indexes": [{"name": "order_by_total", "type": "value", "fields": ["total"],
//                 "value_fields": [], "record_types": ["Order"], "unique": false}]}
// Fills union_name, record_types and indexes of `spec`. Unknown keys and wrong types are
// errors (a typo must not silently drop an index).
absl::Status ParseSchemaDefinition(const std::string& text, v1::SchemaSpec* spec);
// The inverse, for `schema show --format=json` (its "spec" member round-trips).
Json SchemaDefinitionToJson(const v1::SchemaSpec& spec);

// The names under which `schema apply` uploads .proto files: the name another file imports
// it by when one does (`import "shop/common.proto"` names .../shop/common.proto), else the
// path relative to `proto_path` when set and the file lies under it, else its base name.
std::vector<std::string> ProtoFileNames(const std::vector<std::string>& paths,
                                        const std::vector<std::string>& contents,
                                        const std::string& proto_path);

// A duration such as "90s", "30m", "24h", "7d" (a positive integer and one unit), for
// `token mint --ttl`. invalid_argument otherwise.
absl::StatusOr<std::chrono::seconds> ParseDuration(const std::string& text);

// A Value as JSON: null, number, string, bool; bytes as base64.
Json ValueToJson(const v1::Value& value);
// A Value for a table cell or a message: JSON text, strings unquoted.
std::string ValueToText(const v1::Value& value);
// A JSON value for a table cell: strings unquoted, null empty, arrays and objects compact.
std::string CellText(const Json& value);

// A table: header row, then rows, columns separated by two spaces and padded to the widest
// cell; no trailing spaces. Every line ends with '\n'.
std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

// Records (JSON objects) as a table. Columns are the records' keys, in the order fields
// appear in them (a key first seen in a later record goes right after the key that precedes
// it there). `types` (one per record) adds a leading record_type column when they differ.
std::string RenderRecordTable(const std::vector<Json>& records,
                              const std::vector<std::string>& types);

// "[#########-----------]  45.0%" for `done` of `total` (total 0: an empty bar, 0.0%).
std::string ProgressBar(int64_t done, int64_t total, int width);

// Microseconds since the Unix epoch as UTC "2026-11-21T21:50:07Z" (seconds truncated).
std::string UtcTimeText(int64_t micros);

// Lower-case hex of bytes.
std::string Hex(const std::string& bytes);

}  // namespace recordstore::cli

#endif  // RECORDSTORE_CLI_CLI_UTIL_H_
