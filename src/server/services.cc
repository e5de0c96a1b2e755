#include "server/services.h"

#include <chrono>
#include <set>
#include <utility>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "common/status_util.h"
#include "indexer/online_indexer.h"
#include "metadata/evolution.h"
#include "query/planner.h"
#include "query/query_parser.h"
#include "recordstore/v1/admin.grpc.pb.h"
#include "recordstore/v1/query.grpc.pb.h"
#include "recordstore/v1/records.grpc.pb.h"
#include "recordstore/v1/schema.grpc.pb.h"
#include "server/api_convert.h"
#include "server/schema_spec.h"

namespace recordstore::server {
namespace {

using auth::Operation;
using cursor::RecordContext;
using grpc::ServerContext;

// What a request of `operation` on `tenant` / `space` asks for (authorization.h).
auth::AccessRequest Access(Operation operation, std::string tenant, std::string space = "",
                           std::vector<std::string> record_types = {}) {
  return auth::AccessRequest{.operation = operation,
                             .tenant = std::move(tenant),
                             .record_space = std::move(space),
                             .record_types = std::move(record_types)};
}
// A server-level request: tenants and revocation.
auth::AccessRequest ServerAccess(Operation operation, std::string tenant = "") {
  auth::AccessRequest request = Access(operation, std::move(tenant));
  request.server_level = true;
  return request;
}

auth::AccessRequest SpaceAccess(Operation operation, const v1::SpaceRef& space,
                                std::vector<std::string> record_types = {}) {
  return Access(operation, space.tenant(), space.record_space(), std::move(record_types));
}

// Times one RPC, authorizes it and reports it to the observer.
class Call {
 public:
  Call(ServiceState& state, std::string_view method)
      : state_(state), method_(method), start_(std::chrono::steady_clock::now()) {}
  // Authenticates the call's bearer token (once per call) and authorizes `request` with it.
  // Every method calls this before it reads anything.
  Status Authorize(ServerContext* context, auth::AccessRequest request) {
    if (token_ == nullptr) RETURN_IF_ERROR(Authenticate(context));
    request.method = std::string(method_);
    return state_.authorizer->Authorize(*token_, request);
  }
  // The first half of Authorize, for methods that must parse the request (a query's record
  // types) before they know what to authorize: nothing is parsed for an unknown caller.
  Status Authenticate(ServerContext* context) {
    const auto& metadata = context->client_metadata();
    auto found = metadata.find("authorization");
    std::string_view value;
    if (found != metadata.end())
      value = std::string_view(found->second.data(), found->second.size());
    ASSIGN_OR_RETURN(token_,
                     state_.authorizer->Authenticate(found != metadata.end() ? &value : nullptr));
    return absl::OkStatus();
  }
  grpc::Status Finish(const Status& status) {
    grpc::Status result = ToGrpc(status);
    if (state_.observer != nullptr) {
      std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
      state_.observer->OnRequest(method_, result.error_code(), elapsed.count());
    }
    return result;
  }
  std::string_view method() const { return method_; }

 private:
  ServiceState& state_;
  std::string_view method_;
  std::chrono::steady_clock::time_point start_;
  std::shared_ptr<const auth::VerifiedToken> token_;
};

// Returns the refusal from `call`'s authorization, if any.
#define RS_AUTHORIZE(call, context, request)                                \
  if (Status denied = (call).Authorize((context), (request)); !denied.ok()) \
  return (call).Finish(denied)

// Runs `body` in a new transaction and commits, then `after_commit`; retries retryable errors
// (conflicts, too old) with the KV's backoff up to kMaxAttempts times, then returns the last
// one (a conflict is ABORTED), its message saying that the request gave up.
Status RunTransaction(ServiceState& state, std::string_view method,
                      const std::function<Status(RecordContext&)>& body,
                      const std::function<Status(RecordContext&)>& after_commit = nullptr) {
  for (int attempt = 1;; ++attempt) {
    RecordContext context(state.db->CreateTransaction());
    Status status = body(context);
    if (status.ok()) status = context.Commit();
    if (status.ok()) return after_commit ? after_commit(context) : absl::OkStatus();
    if (!IsRetryable(status)) return status;
    if (attempt >= kMaxAttempts) {
      // Keeps the "name (number): " prefix every error message starts with.
      return WithMessage(status, std::string(status.message()) + "; gave up after " +
                                     std::to_string(kMaxAttempts) +
                                     " attempts: retry the request later, or have fewer requests "
                                     "write what it reads");
    }
    if (state.observer != nullptr) state.observer->OnRetry(method, status);
    RETURN_IF_ERROR(context.txn().OnError(status));
  }
}

Status NeedSchema(const ResolvedSpace& space) {
  if (space.schema != nullptr) return absl::OkStatus();
  return MakeError(ErrorCode::kInvalidArgument,
                   "record space " + space.tenant + "/" + space.name +
                       " has no schema yet; set one with Schema.UpdateSchema first");
}

// The evolution report as the API's error: each broken rule by its name
// ("field_type_changed: field Order.total (5) changed type ..."), so that a client can tell
// which rule it broke without parsing prose.
Status EvolutionError(const metadata::EvolutionReport& report) {
  if (report.ok()) return absl::OkStatus();
  std::vector<std::string> parts;
  for (const metadata::EvolutionViolation& violation : report.violations) {
    parts.push_back(std::string(metadata::EvolutionRuleName(violation.rule)) + ": " +
                    violation.message);
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "the schema change is not a safe evolution of the current schema: " +
                       absl::StrJoin(parts, "; "));
}

StatusOr<const metadata::RecordType*> FindType(const metadata::RecordMetaData& metadata,
                                               const std::string& name) {
  const metadata::RecordType* type = metadata.FindRecordType(name);
  if (type != nullptr) return type;
  std::vector<std::string> names;
  for (const metadata::RecordType& known : metadata.record_types()) names.push_back(known.name());
  return MakeError(
      ErrorCode::kInvalidArgument,
      "no record type \"" + name + "\" in the schema; it has " + absl::StrJoin(names, ", "));
}

// `error` of the batch's record `index`, saying which one; the error number (payload) stays,
// so a retryable error is still retried.
Status NameRecord(const Status& error, size_t index) {
  return WithMessage(error,
                     "record " + std::to_string(index) + ": " + std::string(error.message()));
}

// The server's primary keys: the record type key, then the client's columns.
StatusOr<Tuple> PrimaryKey(const metadata::RecordType& type,
                           const google::protobuf::RepeatedPtrField<v1::Value>& values) {
  Tuple key = Tuple::Of(type.record_type_key());
  ASSIGN_OR_RETURN(Tuple rest, FromValues(values));
  key.Extend(rest);
  return key;
}

StatusOr<std::unique_ptr<store::RecordStore>> OpenStore(ServiceState& state, RecordContext& context,
                                                        const ResolvedSpace& space) {
  RETURN_IF_ERROR(NeedSchema(space));
  ASSIGN_OR_RETURN(store::RecordStoreOptions options, state.store_options(space.tenant));
  options.open_mode = store::OpenMode::kOpenExisting;
  return store::RecordStore::Open(context, space.data, *space.schema->metadata, options);
}

class AdminService final : public v1::Admin::Service {
 public:
  explicit AdminService(ServiceState& state) : state_(state) {}

  grpc::Status CreateTenant(ServerContext* context, const v1::CreateTenantRequest* request,
                            v1::CreateTenantResponse*) override {
    Call call(state_, "Admin.CreateTenant");
    RS_AUTHORIZE(call, context, ServerAccess(Operation::kAdmin, request->tenant()));
    return call.Finish(state_.catalog->CreateTenant(request->tenant()));
  }
  grpc::Status ListTenants(ServerContext* context, const v1::ListTenantsRequest*,
                           v1::ListTenantsResponse* response) override {
    Call call(state_, "Admin.ListTenants");
    RS_AUTHORIZE(call, context, ServerAccess(Operation::kRead));
    StatusOr<std::vector<std::string>> tenants = state_.catalog->ListTenants();
    if (tenants.ok()) *response->mutable_tenants() = {tenants->begin(), tenants->end()};
    return call.Finish(tenants.status());
  }
  grpc::Status DeleteTenant(ServerContext* context, const v1::DeleteTenantRequest* request,
                            v1::DeleteTenantResponse*) override {
    Call call(state_, "Admin.DeleteTenant");
    RS_AUTHORIZE(call, context, ServerAccess(Operation::kAdmin, request->tenant()));
    Status status = state_.catalog->DeleteTenant(request->tenant());
    // Before the keys: a re-encryption still pending would make the tenant a key again.
    if (status.ok()) status = state_.key_rotations->Forget(request->tenant());
    // Crypto-shredding, after the catalog: a failure between the two leaves unused keys, never
    // a tenant whose records cannot be read.
    if (status.ok() && state_.encryption != nullptr) {
      status = state_.encryption->DeleteTenantKeys(request->tenant());
    }
    return call.Finish(status);
  }
  grpc::Status CreateRecordSpace(ServerContext* context,
                                 const v1::CreateRecordSpaceRequest* request,
                                 v1::CreateRecordSpaceResponse*) override {
    Call call(state_, "Admin.CreateRecordSpace");
    RS_AUTHORIZE(call, context,
                 Access(Operation::kAdmin, request->tenant(), request->record_space()));
    return call.Finish(state_.catalog->CreateSpace(request->tenant(), request->record_space()));
  }
  grpc::Status ListRecordSpaces(ServerContext* context, const v1::ListRecordSpacesRequest* request,
                                v1::ListRecordSpacesResponse* response) override {
    Call call(state_, "Admin.ListRecordSpaces");
    RS_AUTHORIZE(call, context, Access(Operation::kRead, request->tenant()));
    StatusOr<std::vector<std::string>> spaces = state_.catalog->ListSpaces(request->tenant());
    if (spaces.ok()) *response->mutable_record_spaces() = {spaces->begin(), spaces->end()};
    return call.Finish(spaces.status());
  }
  grpc::Status DeleteRecordSpace(ServerContext* context,
                                 const v1::DeleteRecordSpaceRequest* request,
                                 v1::DeleteRecordSpaceResponse*) override {
    Call call(state_, "Admin.DeleteRecordSpace");
    RS_AUTHORIZE(call, context,
                 Access(Operation::kAdmin, request->tenant(), request->record_space()));
    return call.Finish(state_.catalog->DeleteSpace(request->tenant(), request->record_space()));
  }
  grpc::Status RevokeTokens(ServerContext* context, const v1::RevokeTokensRequest* request,
                            v1::RevokeTokensResponse* response) override {
    Call call(state_, "Admin.RevokeTokens");
    RS_AUTHORIZE(call, context, ServerAccess(Operation::kAdmin));
    StatusOr<int> added = state_.authorizer->revocations().Revoke(
        {request->revocation_ids().begin(), request->revocation_ids().end()});
    if (added.ok()) response->set_newly_revoked(*added);
    return call.Finish(added.status());
  }
  grpc::Status ListRevokedTokens(ServerContext* context, const v1::ListRevokedTokensRequest*,
                                 v1::ListRevokedTokensResponse* response) override {
    Call call(state_, "Admin.ListRevokedTokens");
    RS_AUTHORIZE(call, context, ServerAccess(Operation::kAdmin));
    StatusOr<std::vector<std::string>> ids = state_.authorizer->revocations().List();
    if (ids.ok()) *response->mutable_revocation_ids() = {ids->begin(), ids->end()};
    return call.Finish(ids.status());
  }
  // Key management is the server administrator's, like the tenants' lifecycle.
  grpc::Status RotateTenantKey(ServerContext* context, const v1::RotateTenantKeyRequest* request,
                               v1::RotateTenantKeyResponse* response) override {
    Call call(state_, "Admin.RotateTenantKey");
    RS_AUTHORIZE(call, context, ServerAccess(Operation::kAdmin, request->tenant()));
    StatusOr<KeyRotationResult> rotated = state_.key_rotations->Rotate(request->tenant());
    if (rotated.ok()) ToProto(*rotated, response);
    return call.Finish(rotated.status());
  }
  grpc::Status GetTenantKeyStatus(ServerContext* context,
                                  const v1::GetTenantKeyStatusRequest* request,
                                  v1::GetTenantKeyStatusResponse* response) override {
    Call call(state_, "Admin.GetTenantKeyStatus");
    RS_AUTHORIZE(call, context, ServerAccess(Operation::kAdmin, request->tenant()));
    StatusOr<TenantKeyStatus> status = state_.key_rotations->GetStatus(request->tenant());
    if (status.ok()) ToProto(*status, response);
    return call.Finish(status.status());
  }

 private:
  ServiceState& state_;
};

class SchemaService final : public v1::Schema::Service {
 public:
  explicit SchemaService(ServiceState& state) : state_(state) {}

  grpc::Status UpdateSchema(ServerContext* context, const v1::UpdateSchemaRequest* request,
                            v1::UpdateSchemaResponse* response) override {
    Call call(state_, "Schema.UpdateSchema");
    RS_AUTHORIZE(
        call, context,
        Access(Operation::kSchema, request->space().tenant(), request->space().record_space()));
    std::shared_ptr<const metadata::RecordMetaData> built;
    ResolvedSpace resolved;
    std::vector<std::string> write_only;
    store::RecordStoreOptions options;
    Status status = RunTransaction(state_, call.method(), [&](RecordContext& context) -> Status {
      response->Clear();
      write_only.clear();
      ASSIGN_OR_RETURN(resolved, state_.catalog->Resolve(context.txn(), request->space().tenant(),
                                                         request->space().record_space()));
      const metadata::proto::RecordMetaData* current =
          resolved.schema != nullptr ? &resolved.schema->metadata->ToProto() : nullptr;
      ASSIGN_OR_RETURN(SchemaChange change, BuildSchemaChange(request->schema(), current));
      response->set_version(change.metadata.version());
      if (change.unchanged) return absl::OkStatus();
      ASSIGN_OR_RETURN(metadata::RecordMetaData metadata,
                       metadata::RecordMetaData::Build(change.metadata));
      if (resolved.schema != nullptr) {
        RETURN_IF_ERROR(
            EvolutionError(metadata::ValidateEvolution(*resolved.schema->metadata, metadata)));
      }
      *response->mutable_changed_indexes() = {change.changed_indexes.begin(),
                                              change.changed_indexes.end()};
      *response->mutable_dropped_indexes() = {change.dropped_indexes.begin(),
                                              change.dropped_indexes.end()};
      auto shared = std::make_shared<const metadata::RecordMetaData>(std::move(metadata));
      ASSIGN_OR_RETURN(options, state_.store_options(resolved.tenant));
      options.open_mode = store::OpenMode::kCreateOrOpen;
      // Opening with the new metadata upgrades the store: former indexes cleared, new ones
      // built now when the space is small, left write-only for an online build otherwise.
      ASSIGN_OR_RETURN(std::unique_ptr<store::RecordStore> store,
                       store::RecordStore::Open(context, resolved.data, *shared, options));
      for (const std::string& name : change.changed_indexes) {
        if (store->GetIndexState(name) == index::IndexState::kWriteOnly) {
          write_only.push_back(name);
        }
      }
      *response->mutable_building_indexes() = {write_only.begin(), write_only.end()};
      if (request->dry_run()) {
        // Validated; nothing may be written.
        return MakeError(ErrorCode::kOperationCancelled, "dry run");
      }
      RETURN_IF_ERROR(
          state_.catalog->WriteSchema(context, resolved, change.metadata, request->schema()));
      built = std::move(shared);
      return absl::OkStatus();
    });
    if (request->dry_run() && HasErrorCode(status, ErrorCode::kOperationCancelled)) {
      status = absl::OkStatus();
    }
    if (status.ok() && built != nullptr) {
      for (const std::string& name : write_only) {
        state_.builds->Start(resolved.tenant + "/" + resolved.name, resolved.data, built, name,
                             options);
      }
    }
    return call.Finish(status);
  }

  grpc::Status GetSchema(ServerContext* context, const v1::GetSchemaRequest* request,
                         v1::GetSchemaResponse* response) override {
    Call call(state_, "Schema.GetSchema");
    RS_AUTHORIZE(
        call, context,
        Access(Operation::kRead, request->space().tenant(), request->space().record_space()));
    ResolvedSpace resolved;
    std::vector<std::string> unbuilt;
    store::RecordStoreOptions options;
    Status status = RunTransaction(state_, call.method(), [&](RecordContext& context) -> Status {
      response->Clear();
      unbuilt.clear();
      ASSIGN_OR_RETURN(resolved, state_.catalog->Resolve(context.txn(), request->space().tenant(),
                                                         request->space().record_space()));
      if (resolved.schema == nullptr) return absl::OkStatus();
      response->set_version(resolved.schema->version);
      *response->mutable_schema() = resolved.schema->spec;
      ASSIGN_OR_RETURN(options, state_.store_options(resolved.tenant));
      ASSIGN_OR_RETURN(std::unique_ptr<store::RecordStore> store,
                       OpenStore(state_, context, resolved));
      ASSIGN_OR_RETURN(std::vector<indexer::IndexStatus> indexes, indexer::ListIndexes(*store));
      const std::string space = resolved.tenant + "/" + resolved.name;
      for (const indexer::IndexStatus& index : indexes) {
        v1::IndexStatus* out = response->add_indexes();
        out->set_name(index.name);
        out->set_state(std::string(index::IndexStateName(index.state)));
        out->set_records_scanned(index.records_built);
        if (std::optional<indexer::IndexBuildProgress> progress =
                state_.builds->Progress(space, index.name)) {
          out->set_records_scanned(progress->records_scanned);
          out->set_records_total_estimate(progress->estimated_total);
          out->set_records_per_second(progress->records_per_second);
        }
        if (index.state == index::IndexState::kWriteOnly) unbuilt.push_back(index.name);
      }
      return absl::OkStatus();
    });
    // A build interrupted by a restart goes on (Start ignores running builds).
    if (status.ok()) {
      for (const std::string& name : unbuilt) {
        state_.builds->Start(resolved.tenant + "/" + resolved.name, resolved.data,
                             resolved.schema->metadata, name, options);
      }
    }
    return call.Finish(status);
  }

 private:
  ServiceState& state_;
};

store::SaveMode ModeOf(v1::PutMode mode) {
  switch (mode) {
    case v1::INSERT:
      return store::SaveMode::kInsert;
    case v1::UPDATE:
      return store::SaveMode::kUpdate;
    default:
      return store::SaveMode::kUpsert;
  }
}

class RecordsService final : public v1::Records::Service {
 public:
  explicit RecordsService(ServiceState& state) : state_(state) {}

  grpc::Status Put(ServerContext* context, const v1::PutRequest* request,
                   v1::PutResponse* response) override {
    Call call(state_, "Records.Put");
    RS_AUTHORIZE(
        call, context,
        SpaceAccess(Operation::kWrite, request->space(), {request->record().record_type()}));
    v1::PutBatchResponse batch;
    Status status =
        PutRecords(call, request->space(), {&request->record()}, request->mode(), &batch);
    if (status.ok()) *response = batch.results(0);
    return call.Finish(status);
  }

  grpc::Status PutBatch(ServerContext* context, const v1::PutBatchRequest* request,
                        v1::PutBatchResponse* response) override {
    Call call(state_, "Records.PutBatch");
    std::vector<const v1::Record*> records;
    std::set<std::string> types;
    for (const v1::Record& record : request->records()) {
      records.push_back(&record);
      types.insert(record.record_type());
    }
    RS_AUTHORIZE(call, context,
                 SpaceAccess(Operation::kWrite, request->space(), {types.begin(), types.end()}));
    return call.Finish(PutRecords(call, request->space(), records, request->mode(), response));
  }

  grpc::Status Get(ServerContext* context, const v1::GetRequest* request,
                   v1::GetResponse* response) override {
    Call call(state_, "Records.Get");
    RS_AUTHORIZE(call, context,
                 SpaceAccess(Operation::kRead, request->space(), {request->record_type()}));
    return call.Finish(RunOnKey(
        call, request->space(), request->record_type(), request->primary_key(),
        [&](store::RecordStore& store, const Tuple& key) -> Status {
          response->Clear();
          if (request->json()) {
            ASSIGN_OR_RETURN(std::optional<store::StoredRecord> record, store.LoadRecord(key));
            if (!record.has_value()) return absl::OkStatus();
            response->set_found(true);
            ASSIGN_OR_RETURN(*response->mutable_record(), ToApiRecord(*record, /*json=*/true));
            return absl::OkStatus();
          }
          // A protobuf body is the stored bytes: parsing them only to serialize them again
          // would cost the request a walk of the message by reflection each way.
          ASSIGN_OR_RETURN(std::optional<store::SerializedRecord> record,
                           store.LoadSerializedRecord(key));
          if (!record.has_value()) return absl::OkStatus();
          response->set_found(true);
          ASSIGN_OR_RETURN(*response->mutable_record(), ToApiRecord(*std::move(record), key));
          return absl::OkStatus();
        }));
  }

  grpc::Status Delete(ServerContext* context, const v1::DeleteRequest* request,
                      v1::DeleteResponse* response) override {
    Call call(state_, "Records.Delete");
    RS_AUTHORIZE(call, context,
                 SpaceAccess(Operation::kWrite, request->space(), {request->record_type()}));
    return call.Finish(RunOnKey(call, request->space(), request->record_type(),
                                request->primary_key(),
                                [&](store::RecordStore& store, const Tuple& key) -> Status {
                                  ASSIGN_OR_RETURN(bool deleted, store.DeleteRecord(key));
                                  response->set_deleted(deleted);
                                  return absl::OkStatus();
                                }));
  }

  grpc::Status DeleteWhere(ServerContext* context, const v1::DeleteWhereRequest* request,
                           v1::DeleteWhereResponse* response) override {
    Call call(state_, "Records.DeleteWhere");
    RS_AUTHORIZE(call, context,
                 SpaceAccess(Operation::kWrite, request->space(), {request->record_type()}));
    return call.Finish(
        RunOnKey(call, request->space(), request->record_type(), request->primary_key_prefix(),
                 [&](store::RecordStore& store, const Tuple& prefix) -> Status {
                   ASSIGN_OR_RETURN(int64_t deleted, store.DeleteRecordsWhere(prefix));
                   response->set_deleted(deleted);
                   return absl::OkStatus();
                 }));
  }

 private:
  StatusOr<ResolvedSpace> Resolve(RecordContext& context, const v1::SpaceRef& ref) {
    return state_.catalog->Resolve(context.txn(), ref.tenant(), ref.record_space());
  }

  // Runs `body` in a transaction (with retries) on the space's store and the primary key (or
  // key prefix) `values` of record type `type_name`, the record type first.
  Status RunOnKey(Call& call, const v1::SpaceRef& ref, const std::string& type_name,
                  const google::protobuf::RepeatedPtrField<v1::Value>& values,
                  const std::function<Status(store::RecordStore&, const Tuple&)>& body) {
    return RunTransaction(state_, call.method(), [&](RecordContext& context) -> Status {
      ASSIGN_OR_RETURN(ResolvedSpace space, Resolve(context, ref));
      ASSIGN_OR_RETURN(std::unique_ptr<store::RecordStore> store,
                       OpenStore(state_, context, space));
      ASSIGN_OR_RETURN(const metadata::RecordType* type,
                       FindType(*space.schema->metadata, type_name));
      ASSIGN_OR_RETURN(Tuple key, PrimaryKey(*type, values));
      return body(*store, key);
    });
  }

  Status PutRecords(Call& call, const v1::SpaceRef& ref,
                    const std::vector<const v1::Record*>& records, v1::PutMode mode,
                    v1::PutBatchResponse* response) {
    if (records.empty()) return MakeError(ErrorCode::kInvalidArgument, "no records to put");
    std::vector<store::SavedRecord> saved;
    return RunTransaction(
        state_, call.method(),
        [&](RecordContext& context) -> Status {
          saved.clear();
          ASSIGN_OR_RETURN(ResolvedSpace space, Resolve(context, ref));
          ASSIGN_OR_RETURN(std::unique_ptr<store::RecordStore> store,
                           OpenStore(state_, context, space));
          for (size_t i = 0; i < records.size(); ++i) {
            StatusOr<store::SavedRecord> one = [&]() -> StatusOr<store::SavedRecord> {
              const v1::Record& record = *records[i];
              ASSIGN_OR_RETURN(const metadata::RecordType* type,
                               FindType(*space.schema->metadata, record.record_type()));
              ASSIGN_OR_RETURN(std::unique_ptr<google::protobuf::Message> message,
                               ParseRecord(*space.schema->metadata, *type, record));
              return store->SaveRecord(*message, ModeOf(mode));
            }();
            if (!one.ok()) {
              if (records.size() == 1) return one.status();
              return NameRecord(one.status(), i);
            }
            saved.push_back(*std::move(one));
          }
          return absl::OkStatus();
        },
        [&](RecordContext& context) -> Status {
          response->Clear();
          for (const store::SavedRecord& one : saved) {
            v1::PutResponse* result = response->add_results();
            for (size_t i = 1; i < one.primary_key.size(); ++i) {
              ASSIGN_OR_RETURN(*result->add_primary_key(), ToValue(one.primary_key[i]));
            }
            if (one.version.has_value()) {
              ASSIGN_OR_RETURN(cursor::RecordVersion version,
                               context.CompleteVersion(*one.version));
              result->set_version(version.ToBytes());
            }
            result->set_replaced(one.replaced);
          }
          return absl::OkStatus();
        });
  }

  ServiceState& state_;
};

// A dotted path's nested components around `leaf` (built for the last part).
query::ComponentPtr NestPath(const std::vector<std::string>& parts, size_t upto,
                             query::ComponentPtr leaf) {
  for (size_t i = upto; i-- > 0;) leaf = query::Nested(parts[i], std::move(leaf));
  return leaf;
}

StatusOr<query::ComponentPtr> FilterOf(const v1::Filter& filter) {
  switch (filter.kind_case()) {
    case v1::Filter::kComparison: {
      const v1::Comparison& comparison = filter.comparison();
      std::vector<std::string> parts = absl::StrSplit(comparison.field(), '.');
      std::vector<TupleElement> values;
      for (const v1::Value& value : comparison.values()) {
        ASSIGN_OR_RETURN(TupleElement element, FromValue(value));
        values.push_back(std::move(element));
      }
      query::ComparisonType type;
      switch (comparison.operator_()) {
        case v1::Comparison::EQUALS:
          type = query::ComparisonType::kEquals;
          break;
        case v1::Comparison::NOT_EQUALS:
          type = query::ComparisonType::kNotEquals;
          break;
        case v1::Comparison::LESS_THAN:
          type = query::ComparisonType::kLessThan;
          break;
        case v1::Comparison::LESS_THAN_OR_EQUALS:
          type = query::ComparisonType::kLessThanOrEquals;
          break;
        case v1::Comparison::GREATER_THAN:
          type = query::ComparisonType::kGreaterThan;
          break;
        case v1::Comparison::GREATER_THAN_OR_EQUALS:
          type = query::ComparisonType::kGreaterThanOrEquals;
          break;
        case v1::Comparison::STARTS_WITH:
          type = query::ComparisonType::kStartsWith;
          break;
        case v1::Comparison::IS_NULL:
          type = query::ComparisonType::kIsNull;
          break;
        case v1::Comparison::IS_NOT_NULL:
          type = query::ComparisonType::kNotNull;
          break;
        case v1::Comparison::IN:
          type = query::ComparisonType::kIn;
          break;
        default:
          return MakeError(ErrorCode::kInvalidArgument,
                           "comparison on " + comparison.field() + " has no operator");
      }
      query::Comparison bound = query::Comparison::Unary(type);
      if (type == query::ComparisonType::kIn) {
        bound = query::Comparison::In(std::move(values));
      } else if (type != query::ComparisonType::kIsNull &&
                 type != query::ComparisonType::kNotNull) {
        if (values.size() != 1) {
          return MakeError(ErrorCode::kInvalidArgument,
                           "comparison on " + comparison.field() + " needs exactly one value");
        }
        bound = query::Comparison::Binary(type, std::move(values[0]));
      }
      query::FieldBuilder field(parts.back());
      if (comparison.any()) field = field.OneOfThem();
      return NestPath(parts, parts.size() - 1, field.Matches(std::move(bound)));
    }
    case v1::Filter::kAnd:
    case v1::Filter::kOr: {
      const v1::FilterList& list =
          filter.kind_case() == v1::Filter::kAnd ? filter.and_() : filter.or_();
      if (list.filters().empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "an AND or OR filter has no filters");
      }
      std::vector<query::ComponentPtr> children;
      for (const v1::Filter& child : list.filters()) {
        ASSIGN_OR_RETURN(query::ComponentPtr converted, FilterOf(child));
        children.push_back(std::move(converted));
      }
      if (children.size() == 1) return std::move(children[0]);
      return filter.kind_case() == v1::Filter::kAnd ? query::And(std::move(children))
                                                    : query::Or(std::move(children));
    }
    case v1::Filter::kNot: {
      ASSIGN_OR_RETURN(query::ComponentPtr child, FilterOf(filter.not_()));
      return query::Not(std::move(child));
    }
    case v1::Filter::kAnyMatch: {
      std::vector<std::string> parts = absl::StrSplit(filter.any_match().field(), '.');
      ASSIGN_OR_RETURN(query::ComponentPtr child, FilterOf(filter.any_match().filter()));
      return NestPath(parts, parts.size() - 1,
                      query::Field(parts.back()).OneOfThemMatches(std::move(child)));
    }
    case v1::Filter::KIND_NOT_SET:
      break;
  }
  return MakeError(ErrorCode::kInvalidArgument, "a filter has no kind set");
}

StatusOr<query::Statement> StatementOf(const v1::QueryRequest& request) {
  switch (request.query_case()) {
    case v1::QueryRequest::kSql:
      return query::ParseQuery(request.sql());
    case v1::QueryRequest::kStructured: {
      const v1::StructuredQuery& structured = request.structured();
      query::Statement statement;
      statement.query.record_types = {structured.record_types().begin(),
                                      structured.record_types().end()};
      if (structured.has_filter()) {
        ASSIGN_OR_RETURN(statement.query.filter, FilterOf(structured.filter()));
      }
      if (!structured.sort().empty()) {
        std::vector<std::string> paths(structured.sort().begin(), structured.sort().end());
        ASSIGN_OR_RETURN(statement.query.sort, ExpressionOfPaths(paths));
        statement.query.sort_descending = structured.sort_descending();
      }
      statement.query.required_fields = {structured.fields().begin(), structured.fields().end()};
      return statement;
    }
    case v1::QueryRequest::QUERY_NOT_SET:
      break;
  }
  return MakeError(ErrorCode::kInvalidArgument, "the query request has neither sql nor structured");
}

v1::NoNextReason ReasonOf(cursor::NoNextReason reason) {
  switch (reason) {
    case cursor::NoNextReason::kSourceExhausted:
      return v1::SOURCE_EXHAUSTED;
    case cursor::NoNextReason::kReturnLimitReached:
      return v1::RETURN_LIMIT_REACHED;
    case cursor::NoNextReason::kTimeLimitReached:
      return v1::TIME_LIMIT_REACHED;
    case cursor::NoNextReason::kScanLimitReached:
      return v1::SCAN_LIMIT_REACHED;
    case cursor::NoNextReason::kByteLimitReached:
      return v1::BYTE_LIMIT_REACHED;
  }
  return v1::NO_NEXT_REASON_UNSPECIFIED;
}

// A query reads the record types it names; one naming none reads every type, so it gets
// no record_type fact and a token restricted to some types cannot run it. A query that
// does not parse is authorized the same way before its error is returned.
// `statement` is null when the query does not parse: it is authorized without record types
// (so only a token that may read every type of the space learns why it does not parse).
auth::AccessRequest QueryAccess(const v1::QueryRequest& request,
                                const StatusOr<query::Statement>& statement) {
  std::set<std::string> types;
  if (statement.ok()) {
    types.insert(statement->query.record_types.begin(), statement->query.record_types.end());
  }
  return SpaceAccess(Operation::kRead, request.space(), {types.begin(), types.end()});
}

class QueryService final : public v1::Query::Service {
 public:
  explicit QueryService(ServiceState& state) : state_(state) {}

  grpc::Status Execute(ServerContext* server_context, const v1::QueryRequest* request,
                       grpc::ServerWriter<v1::QueryResponse>* writer) override {
    Call call(state_, "Query.Execute");
    if (Status unknown = call.Authenticate(server_context); !unknown.ok()) {
      return call.Finish(unknown);
    }
    // Read-only: one transaction with snapshot reads, nothing to retry or commit.
    RecordContext context(state_.db->CreateTransaction());
    Status status = [&]() -> Status {
      ASSIGN_OR_RETURN(PreparedQuery prepared, Prepare(call, server_context, *request, context,
                                                       /*refuse_aggregates=*/true));
      query::Statement& statement = prepared.statement;
      std::unique_ptr<store::RecordStore>& store = prepared.store;
      query::ExecuteProperties& properties = statement.properties;
      properties.snapshot = true;
      properties.scan_limits.max_records = request->scan_record_limit();
      std::chrono::milliseconds time_limit = state_.query_time_limit;
      if (request->time_limit_ms() > 0) {
        time_limit = std::min(time_limit, std::chrono::milliseconds(request->time_limit_ms()));
      }
      properties.scan_limits.max_time = time_limit;
      ASSIGN_OR_RETURN(query::PlanPtr plan, query::PlanQuery(*store, statement.query, properties));
      ASSIGN_OR_RETURN(cursor::Continuation continuation,
                       cursor::Continuation::FromBytes(request->continuation()));
      ASSIGN_OR_RETURN(query::RecordCursorPtr results,
                       query::ExecuteQuery(*store, *plan, continuation, properties));
      v1::QueryResponse message;
      message.set_plan(plan->Explain());
      int64_t returned = 0;
      while (true) {
        ASSIGN_OR_RETURN(cursor::CursorResult<store::StoredRecord> result, results->Next());
        if (request->row_limit() > 0 && returned == request->row_limit() && result.has_value()) {
          // The result one past this call's limit was only a look ahead: resume at the last
          // one returned. (Looking ahead lets the last call of a query say that nothing is
          // left, instead of sending the client back for an empty page.)
          message.set_reason(v1::RETURN_LIMIT_REACHED);
          message.set_continuation(continuation.ToBytes());
          break;
        }
        if (!result.has_value()) {
          message.set_reason(ReasonOf(result.no_next_reason()));
          cursor::Continuation end = result.continuation();
          // The cursor's return limit is the query's own LIMIT (this call's row_limit is
          // counted above): every result was returned, and a continuation would only
          // return nothing again, forever, to a client that follows continuations.
          if (!end.is_end() &&
              result.no_next_reason() != cursor::NoNextReason::kReturnLimitReached) {
            message.set_continuation(end.ToBytes());
          }
          break;
        }
        ASSIGN_OR_RETURN(*message.add_records(), ToApiRecord(result.value(), request->json()));
        continuation = result.continuation();
        ++returned;
        if (message.records_size() >= state_.query_batch) {
          if (!writer->Write(message)) {
            return MakeError(ErrorCode::kOperationCancelled, "the client went away");
          }
          message.Clear();
        }
      }
      message.set_done(true);
      writer->Write(message);
      return absl::OkStatus();
    }();
    return call.Finish(status);
  }

  grpc::Status Explain(ServerContext* server_context, const v1::QueryRequest* request,
                       v1::ExplainResponse* response) override {
    Call call(state_, "Query.Explain");
    if (Status unknown = call.Authenticate(server_context); !unknown.ok()) {
      return call.Finish(unknown);
    }
    RecordContext context(state_.db->CreateTransaction());
    Status status = [&]() -> Status {
      ASSIGN_OR_RETURN(PreparedQuery prepared, Prepare(call, server_context, *request, context,
                                                       /*refuse_aggregates=*/false));
      ASSIGN_OR_RETURN(query::PlanPtr plan,
                       query::PlanQuery(*prepared.store, prepared.statement.query,
                                        prepared.statement.properties));
      response->set_plan(plan->Explain());
      return absl::OkStatus();
    }();
    return call.Finish(status);
  }

  grpc::Status Aggregate(ServerContext* server_context, const v1::QueryRequest* request,
                         v1::AggregateResponse* response) override {
    Call call(state_, "Query.Aggregate");
    if (Status unknown = call.Authenticate(server_context); !unknown.ok()) {
      return call.Finish(unknown);
    }
    RecordContext context(state_.db->CreateTransaction());
    Status status = [&]() -> Status {
      ASSIGN_OR_RETURN(PreparedQuery prepared, Prepare(call, server_context, *request, context,
                                                       /*refuse_aggregates=*/false));
      ASSIGN_OR_RETURN(TupleElement value,
                       query::EvaluateAggregateQuery(*prepared.store, prepared.statement.query));
      ASSIGN_OR_RETURN(*response->mutable_value(), ToValue(value));
      return absl::OkStatus();
    }();
    return call.Finish(status);
  }

 private:
  struct PreparedQuery {
    query::Statement statement;
    std::unique_ptr<store::RecordStore> store;
  };

  // What every Query method starts with: the request's statement, parsed and authorized for
  // `call`, with the request's sort options (the same for Execute and Explain, so the plan
  // shown is the plan run), and the record space's store opened in `context`. Execute
  // refuses aggregate queries (`refuse_aggregates`): they have a method of their own.
  StatusOr<PreparedQuery> Prepare(Call& call, ServerContext* server_context,
                                  const v1::QueryRequest& request, RecordContext& context,
                                  bool refuse_aggregates) {
    StatusOr<query::Statement> parsed = StatementOf(request);
    RETURN_IF_ERROR(call.Authorize(server_context, QueryAccess(request, parsed)));
    PreparedQuery prepared;
    ASSIGN_OR_RETURN(prepared.statement, std::move(parsed));
    if (refuse_aggregates && prepared.statement.query.aggregate.has_value()) {
      return MakeError(ErrorCode::kInvalidArgument, "aggregate queries go through Query.Aggregate");
    }
    query::ExecuteProperties& properties = prepared.statement.properties;
    properties.allow_in_memory_sort = request.allow_in_memory_sort();
    if (properties.allow_in_memory_sort && properties.row_limit == 0) {
      properties.row_limit = request.row_limit();
    }
    ASSIGN_OR_RETURN(ResolvedSpace space,
                     state_.catalog->Resolve(context.txn(), request.space().tenant(),
                                             request.space().record_space()));
    ASSIGN_OR_RETURN(prepared.store, OpenStore(state_, context, space));
    return prepared;
  }

  ServiceState& state_;
};

}  // namespace

std::vector<std::unique_ptr<grpc::Service>> MakeServices(ServiceState& state) {
  std::vector<std::unique_ptr<grpc::Service>> services;
  services.push_back(std::make_unique<AdminService>(state));
  services.push_back(std::make_unique<SchemaService>(state));
  services.push_back(std::make_unique<RecordsService>(state));
  services.push_back(std::make_unique<QueryService>(state));
  return services;
}

}  // namespace recordstore::server
