// The catalog: tenants, their record spaces and each record space's schema, in the KV store.
//
// Tenants and record spaces are directories of the directory layer (src/tuple/
// directory_layer.h): /recordstore/tenants/<tenant> and /recordstore/tenants/<tenant>/<space>,
// each with a short allocated prefix P. Inside a record space's prefix:
//   P + (0, "version")      the current schema version (packed tuple (n))
//   P + (0, "spec", ...)     the SchemaSpec the client sent (split like a record)
//   P + (0, "metadata", ...) the metadata built from it (split like a record)
//   P + (1, ...)             the record store (docs/key-layout.md, "Record stores")
// Deleting a record space clears its prefix; prefixes are never handed out again.
//
// Resolving a space costs one read (its version key) once the process has seen it: prefixes
// and built metadata are cached, the metadata by (prefix, version), so a schema change made
// through any server is picked up by the next request.
//
// Thread-safety: thread-safe.
#ifndef RECORDSTORE_SERVER_CATALOG_H_
#define RECORDSTORE_SERVER_CATALOG_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "cursor/record_context.h"
#include "metadata/record_metadata.h"
#include "recordstore/kv.h"
#include "recordstore/v1/schema.pb.h"
#include "tuple/directory_layer.h"
#include "tuple/subspace.h"

namespace recordstore::server {

// A record space's current schema.
struct SpaceSchema {
  int version = 0;
  std::shared_ptr<const metadata::RecordMetaData> metadata;
  v1::SchemaSpec spec;
};

struct ResolvedSpace {
  std::string tenant;
  std::string name;
  Subspace meta;
  // The record store's subspace.
  Subspace data;
  // Null until the first schema is set.
  std::shared_ptr<const SpaceSchema> schema;
};

class Catalog {
 public:
  explicit Catalog(kv::Database& db);

  // Names: 1 to 64 characters from [A-Za-z0-9_.-], not starting with '.'; invalid_argument
  // otherwise. Create fails with already_exists, Delete with not_found.
  Status CreateTenant(const std::string& tenant);
  StatusOr<std::vector<std::string>> ListTenants();
  Status DeleteTenant(const std::string& tenant);
  Status CreateSpace(const std::string& tenant, const std::string& space);
  StatusOr<std::vector<std::string>> ListSpaces(const std::string& tenant);
  Status DeleteSpace(const std::string& tenant, const std::string& space);

  // The record space in `txn` (its version key is read, so a concurrent schema change
  // conflicts). not_found naming the tenant or space when either does not exist.
  StatusOr<ResolvedSpace> Resolve(kv::Transaction& txn, const std::string& tenant,
                                  const std::string& space);
  // Stores `metadata` (built from `spec`) as the space's current schema, in `context`.
  Status WriteSchema(cursor::RecordContext& context, const ResolvedSpace& space,
                     const metadata::proto::RecordMetaData& metadata,
                     const v1::SchemaSpec& spec);

 private:
  static DirectoryPath TenantPath(const std::string& tenant);
  StatusOr<Subspace> SpacePrefix(kv::Transaction& txn, const std::string& tenant,
                                 const std::string& space);
  void Forget(const std::string& tenant, const std::string* space);

  kv::Database& db_;
  DirectoryLayer directory_;
  absl::Mutex mutex_;
  std::map<std::pair<std::string, std::string>, Subspace> prefixes_ ABSL_GUARDED_BY(mutex_);
  // By meta prefix + version.
  std::map<std::pair<std::string, int>, std::shared_ptr<const SpaceSchema>> schemas_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace recordstore::server

#endif  // RECORDSTORE_SERVER_CATALOG_H_
