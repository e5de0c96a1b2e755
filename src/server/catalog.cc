#include "server/catalog.h"

#include "common/status_macros.h"
#include "cursor/split_helper.h"

namespace recordstore::server {
namespace {

Status CheckName(std::string_view what, const std::string& name) {
  bool valid = !name.empty() && name.size() <= 64 && name[0] != '.';
  for (char c : name) {
    valid &= std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  }
  if (valid) return absl::OkStatus();
  return MakeError(ErrorCode::kInvalidArgument,
                   std::string(what) + " name \"" + name +
                       "\" is not 1 to 64 characters from [A-Za-z0-9_.-] not starting with '.'");
}

const Tuple kVersionKey = Tuple::Of(0, "version");
const Tuple kSpecKey = Tuple::Of(0, "spec");
const Tuple kMetadataKey = Tuple::Of(0, "metadata");

}  // namespace

Catalog::Catalog(kv::Database& db) : db_(db) {}

DirectoryPath Catalog::TenantPath(const std::string& tenant) {
  return {"recordstore", "tenants", tenant};
}

Status Catalog::CreateTenant(const std::string& tenant) {
  RETURN_IF_ERROR(CheckName("tenant", tenant));
  return db_.Run([&](kv::Transaction& txn) -> Status {
    StatusOr<DirectorySubspace> created = directory_.Create(txn, TenantPath(tenant));
    if (HasErrorCode(created.status(), ErrorCode::kAlreadyExists)) {
      return MakeError(ErrorCode::kAlreadyExists, "tenant " + tenant + " already exists");
    }
    return created.status();
  });
}

StatusOr<std::vector<std::string>> Catalog::ListTenants() {
  std::vector<std::string> tenants;
  RETURN_IF_ERROR(db_.Run([&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(bool exists, directory_.Exists(txn, {"recordstore", "tenants"}));
    tenants.clear();
    if (!exists) return absl::OkStatus();
    ASSIGN_OR_RETURN(tenants, directory_.List(txn, {"recordstore", "tenants"}));
    return absl::OkStatus();
  }));
  return tenants;
}

Status Catalog::DeleteTenant(const std::string& tenant) {
  RETURN_IF_ERROR(CheckName("tenant", tenant));
  RETURN_IF_ERROR(db_.Run([&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(bool removed, directory_.RemoveIfExists(txn, TenantPath(tenant)));
    if (!removed) return MakeError(ErrorCode::kNotFound, "no tenant " + tenant);
    return absl::OkStatus();
  }));
  Forget(tenant, nullptr);
  return absl::OkStatus();
}

Status Catalog::CreateSpace(const std::string& tenant, const std::string& space) {
  RETURN_IF_ERROR(CheckName("tenant", tenant));
  RETURN_IF_ERROR(CheckName("record space", space));
  return db_.Run([&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(bool tenant_exists, directory_.Exists(txn, TenantPath(tenant)));
    if (!tenant_exists) return MakeError(ErrorCode::kNotFound, "no tenant " + tenant);
    DirectoryPath path = TenantPath(tenant);
    path.push_back(space);
    StatusOr<DirectorySubspace> created = directory_.Create(txn, path);
    if (HasErrorCode(created.status(), ErrorCode::kAlreadyExists)) {
      return MakeError(ErrorCode::kAlreadyExists,
                       "record space " + tenant + "/" + space + " already exists");
    }
    RETURN_IF_ERROR(created.status());
    // Version 0: the space exists and has no schema yet.
    txn.Set(created->Pack(kVersionKey), Tuple::Of(0).Pack());
    return absl::OkStatus();
  });
}

StatusOr<std::vector<std::string>> Catalog::ListSpaces(const std::string& tenant) {
  RETURN_IF_ERROR(CheckName("tenant", tenant));
  std::vector<std::string> spaces;
  RETURN_IF_ERROR(db_.Run([&](kv::Transaction& txn) -> Status {
    StatusOr<std::vector<std::string>> listed = directory_.List(txn, TenantPath(tenant));
    if (HasErrorCode(listed.status(), ErrorCode::kNotFound)) {
      return MakeError(ErrorCode::kNotFound, "no tenant " + tenant);
    }
    RETURN_IF_ERROR(listed.status());
    spaces = *std::move(listed);
    return absl::OkStatus();
  }));
  return spaces;
}

Status Catalog::DeleteSpace(const std::string& tenant, const std::string& space) {
  RETURN_IF_ERROR(CheckName("tenant", tenant));
  RETURN_IF_ERROR(CheckName("record space", space));
  RETURN_IF_ERROR(db_.Run([&](kv::Transaction& txn) -> Status {
    DirectoryPath path = TenantPath(tenant);
    path.push_back(space);
    ASSIGN_OR_RETURN(bool removed, directory_.RemoveIfExists(txn, path));
    if (!removed) {
      return MakeError(ErrorCode::kNotFound, "no record space " + tenant + "/" + space);
    }
    return absl::OkStatus();
  }));
  Forget(tenant, &space);
  return absl::OkStatus();
}

void Catalog::Forget(const std::string& tenant, const std::string* space) {
  absl::MutexLock lock(&mutex_);
  for (auto it = prefixes_.begin(); it != prefixes_.end();) {
    if (it->first.first == tenant && (space == nullptr || it->first.second == *space)) {
      it = prefixes_.erase(it);
    } else {
      ++it;
    }
  }
}

StatusOr<Subspace> Catalog::SpacePrefix(kv::Transaction& txn, const std::string& tenant,
                                        const std::string& space) {
  {
    absl::MutexLock lock(&mutex_);
    auto found = prefixes_.find({tenant, space});
    if (found != prefixes_.end()) return found->second;
  }
  DirectoryPath path = TenantPath(tenant);
  path.push_back(space);
  StatusOr<DirectorySubspace> opened = directory_.Open(txn, path);
  if (HasErrorCode(opened.status(), ErrorCode::kNotFound)) {
    ASSIGN_OR_RETURN(bool tenant_exists, directory_.Exists(txn, TenantPath(tenant)));
    if (!tenant_exists) return MakeError(ErrorCode::kNotFound, "no tenant " + tenant);
    return MakeError(ErrorCode::kNotFound, "no record space " + tenant + "/" + space);
  }
  RETURN_IF_ERROR(opened.status());
  Subspace prefix(opened->key());
  absl::MutexLock lock(&mutex_);
  prefixes_.insert_or_assign({tenant, space}, prefix);
  return prefix;
}

StatusOr<ResolvedSpace> Catalog::Resolve(kv::Transaction& txn, const std::string& tenant,
                                         const std::string& space) {
  RETURN_IF_ERROR(CheckName("tenant", tenant));
  RETURN_IF_ERROR(CheckName("record space", space));
  ASSIGN_OR_RETURN(Subspace prefix, SpacePrefix(txn, tenant, space));
  ResolvedSpace resolved{tenant, space, prefix, prefix.Sub(Tuple::Of(1)), nullptr};
  ASSIGN_OR_RETURN(std::optional<std::string> version_bytes, txn.Get(prefix.Pack(kVersionKey)));
  if (!version_bytes.has_value()) {
    // Deleted (perhaps through another server) since it was cached.
    Forget(tenant, &space);
    return MakeError(ErrorCode::kNotFound, "no record space " + tenant + "/" + space);
  }
  StatusOr<Tuple> version = Tuple::Unpack(*version_bytes);
  if (!version.ok() || version->size() != 1 || !(*version)[0].AsInt64().has_value()) {
    return MakeError(ErrorCode::kDataCorruption,
                     "record space " + tenant + "/" + space + " has a malformed version key");
  }
  const int number = static_cast<int>(*(*version)[0].AsInt64());
  if (number == 0) return resolved;
  {
    absl::MutexLock lock(&mutex_);
    auto found = schemas_.find({prefix.key(), number});
    if (found != schemas_.end()) {
      resolved.schema = found->second;
      return resolved;
    }
  }
  // Read through the request's transaction: the same snapshot as the version.
  std::shared_ptr<SpaceSchema> schema = std::make_shared<SpaceSchema>();
  schema->version = number;
  for (const auto& [key, target] :
       std::vector<std::pair<Tuple, int>>{{kSpecKey, 0}, {kMetadataKey, 1}}) {
    auto [begin, end] = prefix.Sub(key).Range();
    ASSIGN_OR_RETURN(kv::RangeResult rows, txn.GetRange(begin, end));
    std::vector<cursor::SplitRow> split_rows;
    for (const kv::KeyValue& row : rows.rows) split_rows.push_back({row.key, row.value});
    ASSIGN_OR_RETURN(std::optional<cursor::SplitRecord> split,
                     cursor::AssembleSplit(prefix, key, split_rows, nullptr));
    if (!split.has_value()) {
      return MakeError(ErrorCode::kDataCorruption,
                       "record space " + tenant + "/" + space + " lost its schema");
    }
    if (target == 0) {
      if (!schema->spec.ParseFromString(split->value)) {
        return MakeError(ErrorCode::kDataCorruption, "a stored schema spec does not parse");
      }
    } else {
      metadata::proto::RecordMetaData proto;
      if (!proto.ParseFromString(split->value)) {
        return MakeError(ErrorCode::kDataCorruption, "a stored schema does not parse");
      }
      ASSIGN_OR_RETURN(metadata::RecordMetaData built, metadata::RecordMetaData::Build(proto));
      schema->metadata = std::make_shared<metadata::RecordMetaData>(std::move(built));
    }
  }
  absl::MutexLock lock(&mutex_);
  schemas_.insert_or_assign({prefix.key(), number}, schema);
  resolved.schema = schema;
  return resolved;
}

Status Catalog::WriteSchema(cursor::RecordContext& context, const ResolvedSpace& space,
                            const metadata::proto::RecordMetaData& metadata,
                            const v1::SchemaSpec& spec) {
  RETURN_IF_ERROR(cursor::SaveSplit(context, space.meta, kSpecKey, spec.SerializeAsString(),
                                    std::nullopt));
  RETURN_IF_ERROR(cursor::SaveSplit(context, space.meta, kMetadataKey,
                                    metadata.SerializeAsString(), std::nullopt));
  context.txn().Set(space.meta.Pack(kVersionKey), Tuple::Of(metadata.version()).Pack());
  return absl::OkStatus();
}

}  // namespace recordstore::server
