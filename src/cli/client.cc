#include "cli/client.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "cli/cli_util.h"
#include "cli/token.h"
#include "grpcpp/grpcpp.h"
#include "recordstore/v1/admin.grpc.pb.h"
#include "recordstore/v1/query.grpc.pb.h"
#include "recordstore/v1/records.grpc.pb.h"
#include "recordstore/v1/schema.grpc.pb.h"
#include "server/grpc_code.h"

namespace recordstore::cli {
namespace {

// The flags every client command shares; filled by CLI11 before a callback runs.
struct Globals {
  std::string server = "127.0.0.1:7878";
  std::string token;
  std::string tenant;
  std::string space;
  std::string format = "table";
  double deadline_seconds = 60;

  bool json() const { return format == "json"; }
};

[[noreturn]] void Fail(int exit_code, const std::string& message) {
  std::cout.flush();
  std::cerr << "recordstore: " << message << std::endl;
  throw CLI::RuntimeError(exit_code);
}

// Ends the command when the server answered with an error: "<CODE>: <message><suffix>".
void Check(const grpc::Status& status, const std::string& suffix = "") {
  if (status.ok()) return;
  Fail(kExitServer, std::string(server::GrpcCodeName(status.error_code())) + ": " +
                        status.error_message() + suffix);
}

void Check(const absl::Status& status) {
  if (!status.ok()) Fail(kExitUsage, std::string(status.message()));
}

std::string ReadFileOrStdin(const std::string& path) {
  std::stringstream buffer;
  if (path.empty() || path == "-") {
    buffer << std::cin.rdbuf();
    return buffer.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail(kExitUsage, "cannot read " + path);
  buffer << in.rdbuf();
  return buffer.str();
}

void PrintJson(const Json& json) { std::cout << json.dump() << "\n"; }

Json KeyJson(const google::protobuf::RepeatedPtrField<v1::Value>& key) {
  Json out = Json::array();
  for (const v1::Value& value : key) out.push_back(ValueToJson(value));
  return out;
}

// One channel per command, with the token as call metadata.
class Connection {
 public:
  explicit Connection(const Globals& globals) : globals_(globals) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    args.SetMaxSendMessageSize(64 << 20);
    channel_ = grpc::CreateCustomChannel(globals.server, grpc::InsecureChannelCredentials(), args);
  }

  // A context for one call: the token, and the --deadline unless `streaming` (a query
  // follows continuations for as long as it takes; each call is bounded by the server).
  std::unique_ptr<grpc::ClientContext> Context(bool streaming = false) const {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!globals_.token.empty()) {
      context->AddMetadata("authorization", "Bearer " + globals_.token);
    }
    if (!streaming && globals_.deadline_seconds > 0) {
      context->set_deadline(
          std::chrono::system_clock::now() +
          std::chrono::milliseconds(static_cast<int64_t>(globals_.deadline_seconds * 1000)));
    }
    return context;
  }

  std::unique_ptr<v1::Admin::Stub> Admin() const { return v1::Admin::NewStub(channel_); }
  std::unique_ptr<v1::Schema::Stub> Schema() const { return v1::Schema::NewStub(channel_); }
  std::unique_ptr<v1::Records::Stub> Records() const { return v1::Records::NewStub(channel_); }
  std::unique_ptr<v1::Query::Stub> Query() const { return v1::Query::NewStub(channel_); }

 private:
  const Globals& globals_;
  std::shared_ptr<grpc::Channel> channel_;
};

const std::string& RequireTenant(const Globals& globals) {
  if (globals.tenant.empty()) {
    Fail(kExitUsage, "no tenant: pass --tenant or set RECORDSTORE_TENANT");
  }
  return globals.tenant;
}

v1::SpaceRef RequireSpace(const Globals& globals) {
  v1::SpaceRef ref;
  ref.set_tenant(RequireTenant(globals));
  if (globals.space.empty()) {
    Fail(kExitUsage, "no record space: pass --space or set RECORDSTORE_SPACE");
  }
  ref.set_record_space(globals.space);
  return ref;
}

// Prints "<what> <name> <verb>" or its JSON object.
void Confirm(const Globals& globals, const std::string& what, const std::string& name,
             const std::string& verb) {
  if (globals.json()) {
    PrintJson(Json{{what, name}, {verb, true}});
  } else {
    std::cout << what << " " << name << " " << verb << "\n";
  }
}

void PrintNames(const Globals& globals, const std::string& key,
                const google::protobuf::RepeatedPtrField<std::string>& names) {
  for (const std::string& name : names) {
    if (globals.json()) {
      PrintJson(Json{{key, name}});
    } else {
      std::cout << name << "\n";
    }
  }
}

// ---- tenant, space ----

void AddKeyCommands(CLI::App& tenant, Globals& globals);

void AddTenantCommands(CLI::App& app, Globals& globals) {
  CLI::App* tenant =
      app.add_subcommand("tenant", "Create, list and delete tenants; rotate their data keys");
  tenant->require_subcommand(1);

  auto name = std::make_shared<std::string>();
  CLI::App* create = tenant->add_subcommand("create", "Create a tenant");
  create->add_option("NAME", *name, "Tenant name: 1-64 of [A-Za-z0-9_.-]")->required();
  create->callback([&globals, name] {
    Connection connection(globals);
    v1::CreateTenantRequest request;
    request.set_tenant(*name);
    v1::CreateTenantResponse response;
    Check(connection.Admin()->CreateTenant(connection.Context().get(), request, &response));
    Confirm(globals, "tenant", *name, "created");
  });

  CLI::App* list = tenant->add_subcommand("list", "List tenants, one per line");
  list->callback([&globals] {
    Connection connection(globals);
    v1::ListTenantsResponse response;
    Check(connection.Admin()->ListTenants(connection.Context().get(), v1::ListTenantsRequest(),
                                          &response));
    PrintNames(globals, "tenant", response.tenants());
  });

  CLI::App* remove = tenant->add_subcommand("delete", "Delete a tenant with all its data");
  remove->add_option("NAME", *name, "Tenant name")->required();
  remove->callback([&globals, name] {
    Connection connection(globals);
    v1::DeleteTenantRequest request;
    request.set_tenant(*name);
    v1::DeleteTenantResponse response;
    Check(connection.Admin()->DeleteTenant(connection.Context().get(), request, &response));
    Confirm(globals, "tenant", *name, "deleted");
  });
  AddKeyCommands(*tenant, globals);
}

// ---- tenant rotate-key, key-status ----

struct RotateKeyArgs {
  std::string tenant;
  bool wait = false;
  double interval_seconds = 0.5;
  double timeout_seconds = 0;
};

v1::GetTenantKeyStatusResponse GetKeyStatus(const Connection& connection,
                                            const std::string& tenant) {
  v1::GetTenantKeyStatusRequest request;
  request.set_tenant(tenant);
  v1::GetTenantKeyStatusResponse response;
  Check(connection.Admin()->GetTenantKeyStatus(connection.Context().get(), request, &response));
  return response;
}

// "current", "in use" (records may still be sealed with it) or "unused".
std::string KeyState(const v1::GetTenantKeyStatusResponse& status, uint32_t id) {
  if (id == status.current_key_id()) return "current";
  const auto& referenced = status.referenced_key_ids();
  return std::find(referenced.begin(), referenced.end(), id) != referenced.end() ? "in use"
                                                                                 : "unused";
}

Json KeyStatusJson(const std::string& tenant, const v1::GetTenantKeyStatusResponse& status) {
  Json keys = Json::array();
  for (const v1::TenantDataKey& key : status.keys()) {
    keys.push_back(Json{{"id", key.id()},
                        {"master_key_id", key.master_key_id()},
                        {"created_micros", key.created_micros()},
                        {"state", KeyState(status, key.id())}});
  }
  Json spaces = Json::array();
  for (const v1::RecordSpaceReencryption& space : status.record_spaces()) {
    spaces.push_back(Json{{"record_space", space.record_space()},
                          {"target_key_id", space.target_key_id()},
                          {"records_scanned", space.records_scanned()},
                          {"records_rewritten", space.records_rewritten()},
                          {"done", space.done()}});
  }
  return Json{
      {"tenant", tenant},
      {"current_key_id", status.current_key_id()},
      {"referenced_key_ids", Json(std::vector<uint32_t>(status.referenced_key_ids().begin(),
                                                        status.referenced_key_ids().end()))},
      {"reencrypting", status.reencrypting()},
      {"error", status.error()},
      {"keys", keys},
      {"record_spaces", spaces}};
}

void PrintKeyStatus(const Globals& globals, const std::string& tenant,
                    const v1::GetTenantKeyStatusResponse& status) {
  if (globals.json()) {
    PrintJson(KeyStatusJson(tenant, status));
    return;
  }
  std::string reencryption = status.reencrypting() ? "running" : "done";
  if (!status.error().empty()) reencryption = "failed: " + status.error();
  std::cout << "tenant " << tenant << ": data key " << status.current_key_id()
            << " is current; re-encryption " << reencryption << "\n";
  std::vector<std::vector<std::string>> keys;
  for (const v1::TenantDataKey& key : status.keys()) {
    keys.push_back({std::to_string(key.id()), key.master_key_id(),
                    UtcTimeText(key.created_micros()), KeyState(status, key.id())});
  }
  std::cout << RenderTable({"KEY", "MASTER KEY", "CREATED", "STATE"}, keys);
  std::vector<std::vector<std::string>> spaces;
  for (const v1::RecordSpaceReencryption& space : status.record_spaces()) {
    spaces.push_back({space.record_space(),
                      space.target_key_id() == 0 ? "-" : std::to_string(space.target_key_id()),
                      std::to_string(space.records_scanned()),
                      std::to_string(space.records_rewritten()),
                      space.done() ? "done" : "running"});
  }
  if (!spaces.empty()) {
    std::cout << RenderTable({"RECORD SPACE", "TARGET KEY", "SCANNED", "REWRITTEN", "STATE"},
                             spaces);
  }
}

// "[###---]  50.0%  1/2 record spaces  120 records scanned, 118 re-encrypted"
std::string ReencryptionLine(const v1::GetTenantKeyStatusResponse& status) {
  int64_t done = 0;
  int64_t scanned = 0;
  int64_t rewritten = 0;
  for (const v1::RecordSpaceReencryption& space : status.record_spaces()) {
    done += space.done() ? 1 : 0;
    scanned += space.records_scanned();
    rewritten += space.records_rewritten();
  }
  const int64_t total = status.record_spaces_size();
  return ProgressBar(status.reencrypting() ? done : total, total, 30) + "  " +
         std::to_string(status.reencrypting() ? done : total) + "/" + std::to_string(total) +
         " record spaces  " + std::to_string(scanned) + " records scanned, " +
         std::to_string(rewritten) + " re-encrypted";
}

// Polls the tenant's key status until its re-encryption is done, drawing progress.
void FollowReencryption(const Globals& globals, const Connection& connection,
                        const RotateKeyArgs& args) {
  // Redraw in place on a terminal; elsewhere one line per change, so logs stay readable.
  const bool live = !globals.json() && isatty(STDOUT_FILENO);
  const auto start = std::chrono::steady_clock::now();
  std::string reported;
  while (true) {
    v1::GetTenantKeyStatusResponse status = GetKeyStatus(connection, args.tenant);
    const std::string line = ReencryptionLine(status);
    if (live) {
      std::cout << "\r\033[2K" << line << std::flush;
    } else if (line != reported) {
      if (globals.json()) {
        PrintJson(KeyStatusJson(args.tenant, status));
      } else {
        std::cout << line << "\n" << std::flush;
      }
    }
    reported = line;
    if (!status.error().empty()) {
      if (live) std::cout << "\n";
      Fail(kExitServer, "re-encryption of tenant " + args.tenant + " stopped: " + status.error() +
                            " (it is retried at the next rotation or restart)");
    }
    if (!status.reencrypting()) {
      if (live) std::cout << "\n";
      if (!globals.json()) PrintKeyStatus(globals, args.tenant, status);
      return;
    }
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    if (args.timeout_seconds > 0 && elapsed.count() >= args.timeout_seconds) {
      if (live) std::cout << "\n";
      Fail(kExitTimeout, "re-encryption of tenant " + args.tenant + " still running after " +
                             std::to_string(static_cast<int>(args.timeout_seconds)) +
                             "s; it goes on in the server (see `tenant key-status`)");
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(static_cast<int64_t>(args.interval_seconds * 1000)));
  }
}

void AddKeyCommands(CLI::App& tenant, Globals& globals) {
  auto rotate = std::make_shared<RotateKeyArgs>();
  CLI::App* rotate_command = tenant.add_subcommand(
      "rotate-key",
      "Make a new data key current for a tenant and re-encrypt its records in the background");
  rotate_command->add_option("TENANT", rotate->tenant, "Tenant name")->required();
  rotate_command->add_flag("--wait", rotate->wait,
                           "Poll until every record is re-encrypted, drawing progress");
  rotate_command->add_option("--interval", rotate->interval_seconds, "Seconds between polls")
      ->check(CLI::Range(0.05, 60.0))
      ->capture_default_str();
  rotate_command
      ->add_option("--timeout", rotate->timeout_seconds,
                   "With --wait: give up (exit 4) after this many seconds; 0: never")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  rotate_command->callback([&globals, rotate] {
    Connection connection(globals);
    v1::RotateTenantKeyRequest request;
    request.set_tenant(rotate->tenant);
    v1::RotateTenantKeyResponse response;
    Check(connection.Admin()->RotateTenantKey(connection.Context().get(), request, &response));
    if (globals.json()) {
      PrintJson(
          Json{{"tenant", rotate->tenant},
               {"new_key_id", response.new_key_id()},
               {"previous_key_id", response.previous_key_id()},
               {"record_spaces", Json(std::vector<std::string>(response.record_spaces().begin(),
                                                               response.record_spaces().end()))}});
    } else {
      std::cout << "tenant " << rotate->tenant << ": data key " << response.new_key_id()
                << " is current (was " << response.previous_key_id() << "); "
                << (response.record_spaces().empty()
                        ? std::string("no record space to re-encrypt")
                        : "re-encrypting in the background: " +
                              absl::StrJoin(response.record_spaces(), ", "))
                << "\n";
    }
    if (rotate->wait) FollowReencryption(globals, connection, *rotate);
  });

  auto name = std::make_shared<std::string>();
  CLI::App* status_command = tenant.add_subcommand(
      "key-status", "A tenant's data keys and the progress of its re-encryption");
  status_command->add_option("TENANT", *name, "Tenant name")->required();
  status_command->callback([&globals, name] {
    Connection connection(globals);
    PrintKeyStatus(globals, *name, GetKeyStatus(connection, *name));
  });
}

void AddSpaceCommands(CLI::App& app, Globals& globals) {
  CLI::App* space =
      app.add_subcommand("space", "Create, list and delete record spaces of --tenant");
  space->require_subcommand(1);

  auto name = std::make_shared<std::string>();
  CLI::App* create = space->add_subcommand("create", "Create a record space");
  create->add_option("NAME", *name, "Record space name: 1-64 of [A-Za-z0-9_.-]")->required();
  create->callback([&globals, name] {
    Connection connection(globals);
    v1::CreateRecordSpaceRequest request;
    request.set_tenant(RequireTenant(globals));
    request.set_record_space(*name);
    v1::CreateRecordSpaceResponse response;
    Check(connection.Admin()->CreateRecordSpace(connection.Context().get(), request, &response));
    Confirm(globals, "space", *name, "created");
  });

  CLI::App* list = space->add_subcommand("list", "List the tenant's record spaces, one per line");
  list->callback([&globals] {
    Connection connection(globals);
    v1::ListRecordSpacesRequest request;
    request.set_tenant(RequireTenant(globals));
    v1::ListRecordSpacesResponse response;
    Check(connection.Admin()->ListRecordSpaces(connection.Context().get(), request, &response));
    PrintNames(globals, "space", response.record_spaces());
  });

  CLI::App* remove = space->add_subcommand("delete", "Delete a record space with its data");
  remove->add_option("NAME", *name, "Record space name")->required();
  remove->callback([&globals, name] {
    Connection connection(globals);
    v1::DeleteRecordSpaceRequest request;
    request.set_tenant(RequireTenant(globals));
    request.set_record_space(*name);
    v1::DeleteRecordSpaceResponse response;
    Check(connection.Admin()->DeleteRecordSpace(connection.Context().get(), request, &response));
    Confirm(globals, "space", *name, "deleted");
  });
}

// ---- schema ----

struct SchemaApplyArgs {
  std::vector<std::string> proto_files;
  std::string definition;
  std::string proto_path;
  std::string union_name;
  bool dry_run = false;
};

void SchemaApply(const Globals& globals, const SchemaApplyArgs& args) {
  v1::UpdateSchemaRequest request;
  *request.mutable_space() = RequireSpace(globals);
  v1::SchemaSpec& spec = *request.mutable_schema();
  Check(ParseSchemaDefinition(ReadFileOrStdin(args.definition), &spec));
  if (!args.union_name.empty()) spec.set_union_name(args.union_name);
  std::vector<std::string> contents;
  for (const std::string& path : args.proto_files) {
    if (path == "-") Fail(kExitUsage, ".proto files must be named, not read from stdin");
    contents.push_back(ReadFileOrStdin(path));
  }
  std::vector<std::string> names = ProtoFileNames(args.proto_files, contents, args.proto_path);
  for (size_t i = 0; i < names.size(); ++i) {
    if (spec.proto_files().contains(names[i])) {
      Fail(kExitUsage, "two .proto files would both be uploaded as " + names[i]);
    }
    (*spec.mutable_proto_files())[names[i]] = contents[i];
  }
  request.set_dry_run(args.dry_run);

  Connection connection(globals);
  v1::UpdateSchemaResponse response;
  Check(connection.Schema()->UpdateSchema(connection.Context().get(), request, &response));
  auto list = [](const google::protobuf::RepeatedPtrField<std::string>& names) {
    return std::vector<std::string>(names.begin(), names.end());
  };
  if (globals.json()) {
    PrintJson(Json{{"version", response.version()},
                   {"dry_run", args.dry_run},
                   {"changed_indexes", list(response.changed_indexes())},
                   {"building_indexes", list(response.building_indexes())},
                   {"dropped_indexes", list(response.dropped_indexes())}});
    return;
  }
  if (args.dry_run) {
    std::cout << "schema version " << response.version() << " is valid (dry run: nothing stored)\n";
  } else {
    std::cout << "schema version " << response.version() << " applied\n";
  }
  auto line = [](const std::string& label,
                 const google::protobuf::RepeatedPtrField<std::string>& names) {
    if (!names.empty()) std::cout << label << ": " << absl::StrJoin(names, ", ") << "\n";
  };
  line("changed indexes", response.changed_indexes());
  line("building online", response.building_indexes());
  line("dropped indexes", response.dropped_indexes());
}

v1::GetSchemaResponse GetSchema(const Globals& globals, const Connection& connection) {
  v1::GetSchemaRequest request;
  *request.mutable_space() = RequireSpace(globals);
  v1::GetSchemaResponse response;
  Check(connection.Schema()->GetSchema(connection.Context().get(), request, &response));
  return response;
}

Json IndexStatusJson(const v1::IndexStatus& index) {
  return Json{{"name", index.name()},
              {"state", index.state()},
              {"records_scanned", index.records_scanned()},
              {"records_total_estimate", index.records_total_estimate()},
              {"records_per_second", index.records_per_second()}};
}

std::string Progress(const v1::IndexStatus& index) {
  if (index.state() != "write_only") return "-";
  std::string out = std::to_string(index.records_scanned());
  if (index.records_total_estimate() > 0) {
    char percent[32];
    std::snprintf(percent, sizeof(percent), " (%.1f%%)",
                  100.0 * index.records_scanned() / index.records_total_estimate());
    out += "/" + std::to_string(index.records_total_estimate()) + percent;
  }
  return out;
}

void SchemaShow(const Globals& globals) {
  Connection connection(globals);
  v1::GetSchemaResponse response = GetSchema(globals, connection);
  if (globals.json()) {
    Json proto_files = Json::object();
    std::map<std::string, std::string> sorted(response.schema().proto_files().begin(),
                                              response.schema().proto_files().end());
    for (const auto& [name, text] : sorted) proto_files[name] = text;
    Json states = Json::array();
    for (const v1::IndexStatus& index : response.indexes())
      states.push_back(IndexStatusJson(index));
    PrintJson(Json{{"version", response.version()},
                   {"spec", SchemaDefinitionToJson(response.schema())},
                   {"proto_files", proto_files},
                   {"index_states", states}});
    return;
  }
  if (response.version() == 0) {
    std::cout << "no schema yet (version 0)\n";
    return;
  }
  const v1::SchemaSpec& spec = response.schema();
  std::vector<std::string> files;
  for (const auto& [name, text] : spec.proto_files()) files.push_back(name);
  std::sort(files.begin(), files.end());
  std::cout << "version: " << response.version() << "\n"
            << "union: " << (spec.union_name().empty() ? "RecordTypeUnion" : spec.union_name())
            << "\n"
            << "proto files: " << absl::StrJoin(files, ", ") << "\n\n";
  std::vector<std::vector<std::string>> types;
  for (const v1::RecordTypeSpec& type : spec.record_types()) {
    types.push_back({type.name(), absl::StrJoin(type.primary_key(), ", ")});
  }
  std::cout << RenderTable({"RECORD TYPE", "PRIMARY KEY"}, types) << "\n";
  std::map<std::string, std::string> states;
  for (const v1::IndexStatus& index : response.indexes()) states[index.name()] = index.state();
  std::vector<std::vector<std::string>> indexes;
  for (const v1::IndexSpec& index : spec.indexes()) {
    std::string fields = absl::StrJoin(index.fields(), ", ");
    if (!index.value_fields().empty()) {
      fields += " (+ " + absl::StrJoin(index.value_fields(), ", ") + ")";
    }
    indexes.push_back(
        {index.name(), index.type().empty() ? "value" : index.type(),
         index.record_types().empty() ? "*" : absl::StrJoin(index.record_types(), ", "), fields,
         index.unique() ? "yes" : "no", states[index.name()]});
  }
  std::cout << RenderTable({"INDEX", "TYPE", "RECORD TYPES", "FIELDS", "UNIQUE", "STATE"}, indexes);
}

void AddSchemaCommands(CLI::App& app, Globals& globals) {
  CLI::App* schema = app.add_subcommand("schema", "Apply or show the record space's schema");
  schema->require_subcommand(1);

  auto args = std::make_shared<SchemaApplyArgs>();
  CLI::App* apply = schema->add_subcommand(
      "apply",
      "Upload .proto files with record types and indexes (the first sets the schema, "
      "later ones evolve it)");
  apply->add_option("FILES", args->proto_files, ".proto files (imports resolve among them)")
      ->required()
      ->check(CLI::ExistingFile);
  apply
      ->add_option("--indexes", args->definition,
                   "Schema definition (JSON): union, record types with primary keys, indexes")
      ->required();
  apply->add_option("--proto-path", args->proto_path,
                    "Upload files under this directory by their path relative to it");
  apply->add_option("--union", args->union_name,
                    "The union message listing the record types (overrides the definition)");
  apply->add_flag("--dry-run", args->dry_run, "Only validate the change; store nothing");
  apply->callback([&globals, args] { SchemaApply(globals, *args); });

  CLI::App* show = schema->add_subcommand("show", "Show the current schema and index states");
  show->callback([&globals] { SchemaShow(globals); });
}

// ---- records ----

struct PutArgs {
  std::string file = "-";
  std::string type;
  std::string mode = "upsert";
  int batch_size = 500;
};

// "record 3: ..." from a batch starting at `offset` names the input's record offset + 3.
std::string RenumberRecord(const std::string& message, size_t offset) {
  if (message.rfind("record ", 0) != 0) return message;
  size_t colon = message.find(':');
  if (colon == std::string::npos) return message;
  try {
    size_t index = std::stoul(message.substr(7, colon - 7));
    return "record " + std::to_string(index + offset) + message.substr(colon);
  } catch (const std::exception&) {
    return message;
  }
}

void Put(const Globals& globals, const PutArgs& args) {
  v1::SpaceRef space = RequireSpace(globals);
  absl::StatusOr<std::vector<std::string>> records = ParseRecordsInput(ReadFileOrStdin(args.file));
  Check(records.status());
  if (records->empty()) Fail(kExitUsage, "no records in the input");
  v1::PutMode mode = args.mode == "insert"   ? v1::INSERT
                     : args.mode == "update" ? v1::UPDATE
                                             : v1::UPSERT;
  auto record_of = [&](const std::string& json) {
    v1::Record record;
    record.set_record_type(args.type);
    record.set_json(json);
    return record;
  };
  Connection connection(globals);
  auto stub = connection.Records();
  std::vector<v1::PutResponse> results;
  if (records->size() == 1) {
    v1::PutRequest request;
    *request.mutable_space() = space;
    *request.mutable_record() = record_of(records->front());
    request.set_mode(mode);
    v1::PutResponse response;
    Check(stub->Put(connection.Context().get(), request, &response));
    results.push_back(std::move(response));
  } else {
    for (size_t start = 0; start < records->size(); start += args.batch_size) {
      size_t end = std::min(records->size(), start + static_cast<size_t>(args.batch_size));
      v1::PutBatchRequest request;
      *request.mutable_space() = space;
      request.set_mode(mode);
      for (size_t i = start; i < end; ++i) *request.add_records() = record_of((*records)[i]);
      v1::PutBatchResponse response;
      grpc::Status status = stub->PutBatch(connection.Context().get(), request, &response);
      if (!status.ok()) {
        std::string note =
            start == 0 ? "" : " (records 0-" + std::to_string(start - 1) + " were stored)";
        Check(grpc::Status(status.error_code(), RenumberRecord(status.error_message(), start)),
              note);
      }
      for (v1::PutResponse& result : *response.mutable_results()) {
        results.push_back(std::move(result));
      }
    }
  }
  int replaced = 0;
  for (const v1::PutResponse& result : results) {
    replaced += result.replaced();
    if (globals.json()) {
      PrintJson(Json{{"primary_key", KeyJson(result.primary_key())},
                     {"replaced", result.replaced()},
                     {"version", Hex(result.version())}});
    }
  }
  if (!globals.json()) {
    std::cout << "put " << results.size() << (results.size() == 1 ? " record" : " records") << " ("
              << replaced << " replaced)\n";
  }
}

struct KeysArgs {
  std::string type;
  std::vector<std::string> keys;
};

void Get(const Globals& globals, const KeysArgs& args) {
  v1::SpaceRef space = RequireSpace(globals);
  Connection connection(globals);
  auto stub = connection.Records();
  std::vector<Json> found;
  std::vector<std::string> types;
  std::vector<std::string> missing;
  for (const std::string& key : args.keys) {
    absl::StatusOr<std::vector<v1::Value>> columns = ParseKeyArgument(key);
    Check(columns.status());
    v1::GetRequest request;
    *request.mutable_space() = space;
    request.set_record_type(args.type);
    for (v1::Value& column : *columns) *request.add_primary_key() = std::move(column);
    request.set_json(true);
    v1::GetResponse response;
    Check(stub->Get(connection.Context().get(), request, &response));
    if (!response.found()) {
      missing.push_back(std::string(absl::StripTrailingAsciiWhitespace(key)));
      continue;
    }
    Json record = Json::parse(response.record().json());
    if (globals.json()) PrintJson(record);
    found.push_back(std::move(record));
    types.push_back(response.record().record_type());
  }
  if (!globals.json() && !found.empty()) std::cout << RenderRecordTable(found, types);
  if (!missing.empty()) {
    Fail(kExitNotFound, "no " + args.type + " with key " + absl::StrJoin(missing, ", "));
  }
}

void Delete(const Globals& globals, const KeysArgs& args) {
  v1::SpaceRef space = RequireSpace(globals);
  Connection connection(globals);
  auto stub = connection.Records();
  std::vector<std::string> missing;
  for (const std::string& key : args.keys) {
    absl::StatusOr<std::vector<v1::Value>> columns = ParseKeyArgument(key);
    Check(columns.status());
    v1::DeleteRequest request;
    *request.mutable_space() = space;
    request.set_record_type(args.type);
    for (v1::Value& column : *columns) *request.add_primary_key() = std::move(column);
    v1::DeleteResponse response;
    Check(stub->Delete(connection.Context().get(), request, &response));
    if (globals.json()) {
      PrintJson(Json{{"record_type", args.type},
                     {"primary_key", KeyJson(request.primary_key())},
                     {"deleted", response.deleted()}});
    } else if (response.deleted()) {
      std::cout << "deleted " << args.type << " " << absl::StripTrailingAsciiWhitespace(key)
                << "\n";
    }
    if (!response.deleted()) {
      missing.push_back(std::string(absl::StripTrailingAsciiWhitespace(key)));
    }
  }
  if (!missing.empty()) {
    Fail(kExitNotFound, "no " + args.type + " with key " + absl::StrJoin(missing, ", "));
  }
}

// ---- queries ----

struct QueryArgs {
  std::string sql;
  int64_t page_size = 0;
  bool allow_sort = false;
  bool stats = false;
};

void Query(const Globals& globals, const QueryArgs& args) {
  v1::SpaceRef space = RequireSpace(globals);
  Connection connection(globals);
  auto stub = connection.Query();
  std::vector<Json> records;
  std::vector<std::string> types;
  std::string continuation;
  for (int page = 1;; ++page) {
    v1::QueryRequest request;
    *request.mutable_space() = space;
    request.set_sql(args.sql);
    request.set_continuation(continuation);
    request.set_row_limit(args.page_size);
    request.set_json(true);
    request.set_allow_in_memory_sort(args.allow_sort);
    auto context = connection.Context(/*streaming=*/true);
    std::unique_ptr<grpc::ClientReader<v1::QueryResponse>> reader =
        stub->Execute(context.get(), request);
    v1::QueryResponse message;
    continuation.clear();
    bool done = false;
    int64_t rows = 0;
    v1::NoNextReason reason = v1::NO_NEXT_REASON_UNSPECIFIED;
    while (reader->Read(&message)) {
      for (const v1::Record& record : message.records()) {
        Json json = Json::parse(record.json());
        ++rows;
        if (globals.json()) {
          PrintJson(json);
        } else {
          records.push_back(std::move(json));
          types.push_back(record.record_type());
        }
      }
      if (message.done()) {
        done = true;
        continuation = message.continuation();
        reason = message.reason();
      }
    }
    Check(reader->Finish());
    if (!done) Fail(kExitServer, "INTERNAL: the query stream ended without its last message");
    if (args.stats) {
      std::cerr << "page " << page << ": " << rows << " records, " << v1::NoNextReason_Name(reason)
                << "\n";
    }
    if (continuation.empty()) break;
    // A call that returns nothing because the statement's own LIMIT was used up by earlier
    // calls is the end, whatever continuation came with it; one that returns nothing and
    // hands back the continuation it was given would loop forever.
    if (rows == 0 && reason == v1::RETURN_LIMIT_REACHED) break;
    if (rows == 0 && continuation == request.continuation()) {
      Fail(kExitServer,
           "INTERNAL: the server returned the continuation it was given, "
           "without results");
    }
  }
  if (!globals.json()) {
    if (!records.empty()) std::cout << RenderRecordTable(records, types);
    std::cout << "(" << records.size() << (records.size() == 1 ? " record" : " records") << ")\n";
  }
}

void Explain(const Globals& globals, const QueryArgs& args) {
  v1::QueryRequest request;
  *request.mutable_space() = RequireSpace(globals);
  request.set_sql(args.sql);
  request.set_allow_in_memory_sort(args.allow_sort);
  Connection connection(globals);
  v1::ExplainResponse response;
  Check(connection.Query()->Explain(connection.Context().get(), request, &response));
  if (globals.json()) {
    PrintJson(Json{{"plan", response.plan()}});
  } else {
    std::cout << response.plan() << "\n";
  }
}

// ---- index status ----

struct IndexStatusArgs {
  bool wait = false;
  double interval_seconds = 0.5;
  double timeout_seconds = 0;
};

std::string ProgressLine(const v1::IndexStatus& index, size_t name_width) {
  std::string line = index.name() + std::string(name_width - index.name().size() + 2, ' ');
  line += index.state();
  if (index.state() == "write_only") {
    line += "  " + ProgressBar(index.records_scanned(), index.records_total_estimate(), 30);
    line += "  " + Progress(index);
    if (index.records_per_second() > 0) {
      line += "  " + std::to_string(static_cast<int64_t>(index.records_per_second())) + "/s";
    }
  }
  return line;
}

void PrintIndexTable(const Globals& globals, const v1::GetSchemaResponse& response) {
  if (globals.json()) {
    for (const v1::IndexStatus& index : response.indexes()) PrintJson(IndexStatusJson(index));
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::IndexStatus& index : response.indexes()) {
    rows.push_back({index.name(), index.state(), Progress(index)});
  }
  std::cout << RenderTable({"INDEX", "STATE", "PROGRESS"}, rows);
}

void IndexStatus(const Globals& globals, const IndexStatusArgs& args) {
  Connection connection(globals);
  v1::GetSchemaResponse response = GetSchema(globals, connection);
  if (!args.wait) {
    PrintIndexTable(globals, response);
    return;
  }
  // Redraw in place on a terminal; elsewhere one line per change, so logs stay readable.
  const bool live = !globals.json() && isatty(STDOUT_FILENO);
  auto start = std::chrono::steady_clock::now();
  size_t drawn = 0;
  std::map<std::string, int64_t> reported;
  while (true) {
    std::vector<std::string> building;
    size_t width = 0;
    for (const v1::IndexStatus& index : response.indexes()) {
      width = std::max(width, index.name().size());
      if (index.state() == "write_only") building.push_back(index.name());
    }
    if (live) {
      if (drawn > 0) std::cout << "\033[" << drawn << "F";
      for (const v1::IndexStatus& index : response.indexes()) {
        std::cout << "\033[2K" << ProgressLine(index, width) << "\n";
      }
      drawn = response.indexes_size();
      std::cout.flush();
    } else {
      for (const v1::IndexStatus& index : response.indexes()) {
        if (index.state() != "write_only") continue;
        auto seen = reported.find(index.name());
        if (seen != reported.end() && seen->second == index.records_scanned()) continue;
        reported[index.name()] = index.records_scanned();
        if (globals.json()) {
          PrintJson(IndexStatusJson(index));
        } else {
          std::cout << index.name() << "  write_only  " << Progress(index) << "\n";
        }
      }
      std::cout.flush();
    }
    if (building.empty()) break;
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    if (args.timeout_seconds > 0 && elapsed.count() >= args.timeout_seconds) {
      Fail(kExitTimeout, "indexes still building after " +
                             std::to_string(static_cast<int>(args.timeout_seconds)) +
                             "s: " + absl::StrJoin(building, ", "));
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(static_cast<int64_t>(args.interval_seconds * 1000)));
    response = GetSchema(globals, connection);
  }
  if (!live) PrintIndexTable(globals, response);
}

void AddRecordCommands(CLI::App& app, Globals& globals) {
  auto put = std::make_shared<PutArgs>();
  CLI::App* put_command = app.add_subcommand(
      "put", "Store JSON records (a JSON array, or one object per line) from FILE or stdin");
  put_command->add_option("FILE", put->file, "Input file; '-' or none reads stdin");
  put_command->add_option("--type", put->type, "Record type of every record")->required();
  put_command->add_option("--mode", put->mode, "insert | update | upsert")
      ->check(CLI::IsMember({"insert", "update", "upsert"}))
      ->capture_default_str();
  put_command
      ->add_option("--batch-size", put->batch_size,
                   "Records per PutBatch call (each batch is one transaction)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  put_command->callback([&globals, put] { Put(globals, *put); });

  auto get = std::make_shared<KeysArgs>();
  CLI::App* get_command = app.add_subcommand("get", "Print records by primary key");
  get_command->add_option("--type", get->type, "Record type")->required();
  get_command
      ->add_option("KEYS", get->keys,
                   "One primary key per argument: 42, abc, or '[42,\"eu\"]' for several "
                   "columns")
      ->required();
  get_command->callback([&globals, get] { Get(globals, *get); });

  auto remove = std::make_shared<KeysArgs>();
  CLI::App* delete_command = app.add_subcommand("delete", "Delete records by primary key");
  delete_command->add_option("--type", remove->type, "Record type")->required();
  delete_command->add_option("KEYS", remove->keys, "One primary key per argument (as for get)")
      ->required();
  delete_command->callback([&globals, remove] { Delete(globals, *remove); });

  auto query = std::make_shared<QueryArgs>();
  CLI::App* query_command = app.add_subcommand(
      "query", "Run a SELECT (docs/query.md), following continuations until done");
  query_command->add_option("SQL", query->sql, "The SELECT statement")->required();
  query_command
      ->add_option("--page-size", query->page_size,
                   "Records per call (0: as many as the server returns in one call)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  query_command->add_flag("--allow-sort", query->allow_sort,
                          "Allow an in-memory sort when no index provides the order");
  query_command->add_flag("--stats", query->stats,
                          "Print one line per call on stderr: records and why it stopped");
  query_command->callback([&globals, query] { Query(globals, *query); });

  auto explain = std::make_shared<QueryArgs>();
  CLI::App* explain_command = app.add_subcommand("explain", "Print a SELECT's plan");
  explain_command->add_option("SQL", explain->sql, "The SELECT statement")->required();
  explain_command->add_flag("--allow-sort", explain->allow_sort,
                            "Allow an in-memory sort when no index provides the order");
  explain_command->callback([&globals, explain] { Explain(globals, *explain); });

  auto status = std::make_shared<IndexStatusArgs>();
  CLI::App* index = app.add_subcommand("index", "Index state and build progress");
  index->require_subcommand(1);
  CLI::App* status_command =
      index->add_subcommand("status", "Each index's state; --wait follows builds to the end");
  status_command->add_flag("--wait", status->wait,
                           "Poll until no index is being built, drawing progress");
  status_command->add_option("--interval", status->interval_seconds, "Seconds between polls")
      ->check(CLI::Range(0.05, 60.0))
      ->capture_default_str();
  status_command
      ->add_option("--timeout", status->timeout_seconds,
                   "Give up (exit 4) after this many seconds; 0: never")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  status_command->callback([&globals, status] { IndexStatus(globals, *status); });
}

// ---- token revoke, revoked (mint, attenuate and inspect are local: token.cc) ----

void AddRevocationCommands(CLI::App& token, Globals& globals) {
  auto ids = std::make_shared<std::vector<std::string>>();
  CLI::App* revoke = token.add_subcommand(
      "revoke",
      "Revoke tokens by revocation id (from `token inspect`): a token with any "
      "revoked block is refused");
  revoke->add_option("ID", *ids, "Revocation ids (hex)")->required();
  revoke->callback([&globals, ids] {
    Connection connection(globals);
    v1::RevokeTokensRequest request;
    for (const std::string& id : *ids) request.add_revocation_ids(id);
    v1::RevokeTokensResponse response;
    Check(connection.Admin()->RevokeTokens(connection.Context().get(), request, &response));
    if (globals.json()) {
      PrintJson(Json{{"newly_revoked", response.newly_revoked()}});
    } else {
      std::cout << "revoked " << response.newly_revoked() << " new of " << ids->size() << "\n";
    }
  });
  CLI::App* revoked = token.add_subcommand("revoked", "List the revoked ids, one per line");
  revoked->callback([&globals] {
    Connection connection(globals);
    v1::ListRevokedTokensResponse response;
    Check(connection.Admin()->ListRevokedTokens(connection.Context().get(),
                                                v1::ListRevokedTokensRequest(), &response));
    PrintNames(globals, "revocation_id", response.revocation_ids());
  });
}

}  // namespace

void AddClientCommands(CLI::App& app) {
  // Lives as long as the process: the callbacks run during app.parse().
  static Globals globals;
  app.fallthrough();
  app.add_option("--server", globals.server, "Server address host:port")
      ->envname("RECORDSTORE_SERVER")
      ->capture_default_str();
  app.add_option("--token", globals.token, "Bearer token sent as authorization metadata")
      ->envname("RECORDSTORE_TOKEN");
  app.add_option("--tenant", globals.tenant, "Tenant of space and data commands")
      ->envname("RECORDSTORE_TENANT");
  app.add_option("--space", globals.space, "Record space of data commands")
      ->envname("RECORDSTORE_SPACE");
  app.add_option("--format", globals.format, "Output: table or json (one JSON value per line)")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.add_option("--deadline", globals.deadline_seconds,
                 "Seconds each call may take (queries: unbounded, the server bounds each call)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  AddTenantCommands(app, globals);
  AddSpaceCommands(app, globals);
  AddSchemaCommands(app, globals);
  AddRecordCommands(app, globals);
  AddRevocationCommands(*AddTokenCommands(app, globals.token), globals);
}

}  // namespace recordstore::cli
