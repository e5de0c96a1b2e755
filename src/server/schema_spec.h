// Turns the API's SchemaSpec (field paths, index types) into the library's metadata proto,
// keeping versions for the user: each accepted change is the current version + 1; indexes
// that are new get it as added_version, redefined ones as last_modified_version, and removed
// ones become former indexes.
//
// Field paths: "total", "shipping.city" (singular nesting), "tags[]" (fan-out of a repeated
// field), "line_items[].sku" (into each element of a repeated message), "$record_type",
// "$version". Primary keys always start with the record type key, so types never collide.
#ifndef RECORDSTORE_SERVER_SCHEMA_SPEC_H_
#define RECORDSTORE_SERVER_SCHEMA_SPEC_H_

#include <memory>
#include <string_view>
#include <vector>

#include "metadata/key_expression.h"
#include "metadata/metadata.pb.h"
#include "recordstore/status.h"
#include "recordstore/v1/schema.pb.h"

namespace recordstore::server {

// The key expression of `paths` (one column each; a single path is not wrapped in a concat).
// invalid_argument for a malformed path.
StatusOr<std::unique_ptr<metadata::KeyExpression>> ExpressionOfPaths(
    const std::vector<std::string>& paths);

struct SchemaChange {
  metadata::proto::RecordMetaData metadata;
  // Index names, in spec order.
  std::vector<std::string> changed_indexes;
  std::vector<std::string> dropped_indexes;
  // The spec describes exactly the current metadata: nothing to store.
  bool unchanged = false;
};

// The metadata `spec` describes, as the successor of `current` (null for the first schema).
// Checks the spec's own form (names, paths, types); RecordMetaData::Build and the evolution
// validator check the rest.
StatusOr<SchemaChange> BuildSchemaChange(const v1::SchemaSpec& spec,
                                         const metadata::proto::RecordMetaData* current);

}  // namespace recordstore::server

#endif  // RECORDSTORE_SERVER_SCHEMA_SPEC_H_
