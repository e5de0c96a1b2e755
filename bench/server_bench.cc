// recordstore_bench server: the Record-Store server against PostgreSQL 15, both on loopback,
// driven by the same number of concurrent client threads.
//
//   recordstore   server::Server::Start in this process on a free 127.0.0.1 port, over a
//                 rocksdb:// data directory in a temporary directory (the engine's default
//                 sync_commits: one fdatasync of RocksDB's WAL per group commit). Clients: the
//                 generated gRPC stubs, one channel (its own HTTP/2 connection) per client
//                 thread.
//   postgres      initdb + postgres of --pg-bin in a temporary directory on a free port,
//                 started and stopped by the benchmark (as --pg-user when run as root: initdb
//                 refuses root). fsync=on, synchronous_commit=on (one WAL flush per commit,
//                 concurrent commits share flushes), wal_sync_method left at Linux' default
//                 fdatasync. Clients: libpq, one connection per client thread, prepared
//                 statements.
//
// The same data on both sides: items (id, customer_id, total, note), primary key id, one
// secondary index on total. Ours: a record type Item (a protobuf message, the schema uploaded
// through Schema.UpdateSchema) with primary key id and a value index item_by_total; theirs: a
// table with a primary key and CREATE INDEX item_by_total. --records items are loaded first
// (ids 1..records, totals a permutation of 0..records-1, a 100-byte note), not timed.
//
//   put        one new item per request: Records.Put (mode INSERT) / a prepared INSERT, each
//              its own transaction committed durably (ids above the loaded ones, totals above
//              the loaded ones so that query_100's answers stay fixed)
//   get        a random loaded id: Records.Get / SELECT ... WHERE id = $1
//   query_100  the 100 items from a random total up, in total order, through the index:
//              Query.Execute (a structured query: total >= x, sorted by total, row_limit 100)
//              / SELECT ... WHERE total >= $1 ORDER BY total LIMIT 100
//   empty_call the transport's floor, system "grpc": grpc.health.v1.Health.Check of the same
//              server (its sync server and thread setup), a handler that does no work, through
//              the same clients (channel per thread, channel args, bearer token). No
//              PostgreSQL side; its ops/s are compared with PostgreSQL's `get` of the same
//              client count when both ran (printed after the last cell). Not in the default
//              set: its 4 cells add ~25 s to a default run.
// Every answer is checked (found, 100 rows, SERVING); a failure stops the benchmark.
//
// Each (workload, clients) cell runs --rounds times, alternating which system goes first; a
// row reports the medians over the rounds of throughput, p50 and p99, each taken on its own.
// Latency is per request, from the client thread's call to its answer. After each write cell
// the server's commit batch sizes and retries (its /metrics) are printed to stderr.
// Client threads run in this process for both systems, so both sides pay for their client
// library on the same cores.
//
// Flags (defaults): --clients=1,4,16,64 --workloads=put,get,query_100 (or any of those and
// empty_call)
// --systems=recordstore,postgres --seconds=2 (timed per cell and round, after a warm-up of
// one request per client) --rounds=3 --records=20000 --data-dir=<system temp dir>
// --pg-bin=/usr/lib/postgresql/15/bin --pg-user=postgres
// --authorization-cache=<the server's default> (AccessOptions::authorization_cache; 0 runs the
// token's Datalog on every request, to measure what the cache saves). The clients send the admin
// token of the server the benchmark starts, so every request pays for its authorization, and the
// records are encrypted at rest: the server's defaults.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "bench/bench.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "recordstore/v1/admin.grpc.pb.h"
#include "recordstore/v1/query.grpc.pb.h"
#include "recordstore/v1/records.grpc.pb.h"
#include "recordstore/v1/schema.grpc.pb.h"
#include "server/server.h"

namespace recordstore::bench {
namespace {

namespace v1 = ::recordstore::v1;

constexpr char kTenant[] = "bench";
constexpr char kSpace[] = "items";
constexpr int kQueryRows = 100;

// The record type both systems store, as proto text for Schema.UpdateSchema.
constexpr char kItemProto[] = R"(syntax = "proto3";
package bench;
message Item {
  int64 id = 1;
  int64 customer_id = 2;
  int64 total = 3;
  string note = 4;
}
message RecordTypeUnion {
  Item _Item = 1;
}
)";

constexpr char kPostgresSchema[] =
    "CREATE TABLE item (id bigint PRIMARY KEY, customer_id bigint NOT NULL, "
    "total bigint NOT NULL, note text NOT NULL);"
    "CREATE INDEX item_by_total ON item (total);";

// A benchmark failure: the message says what broke; the suite stops with it.
struct Failure {
  std::string message;
};

[[noreturn]] void Fail(const std::string& message) { throw Failure{message}; }

// The items of the data set.
struct Item {
  int64_t id;
  int64_t customer_id;
  int64_t total;
};

const std::string& Note() {
  static const std::string note(100, 'n');
  return note;
}

// Loaded item `id` (1..records): totals are id * stride mod records, a permutation of
// 0..records-1 when the stride is coprime with records.
class DataSet {
 public:
  explicit DataSet(int64_t records) : records_(records) {
    while (std::gcd(stride_, records_) != 1) ++stride_;
  }
  int64_t records() const { return records_; }
  Item Loaded(int64_t id) const { return {id, id % 1000, (id * stride_) % records_}; }
  // A put's item: ids and totals above every loaded one.
  Item Fresh(int64_t sequence) const {
    return {records_ + sequence, sequence % 1000, records_ + sequence};
  }

 private:
  int64_t records_;
  int64_t stride_ = 7919;
};

std::string EncodeItem(const Item& item) {
  using google::protobuf::internal::WireFormatLite;
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    WireFormatLite::WriteInt64(1, item.id, &coded);
    WireFormatLite::WriteInt64(2, item.customer_id, &coded);
    WireFormatLite::WriteInt64(3, item.total, &coded);
    WireFormatLite::WriteString(4, Note(), &coded);
  }
  return out;
}

// A free TCP port on 127.0.0.1 (bound and released: a small race with other processes).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) close(fd);
    Fail(std::string("cannot find a free port on 127.0.0.1: ") + std::strerror(errno));
  }
  close(fd);
  return ntohs(address.sin_port);
}

// A directory removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& parent) {
    std::string pattern = parent + "/recordstore-server-bench-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      Fail("cannot create a directory in " + parent + ": " + std::strerror(errno) +
           " (choose another with --data-dir)");
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---------------------------------------------------------------------------------------------
// Record-Store

struct ServerClientOptions {
  // Sent as "authorization: Bearer <token>" with every call when not empty (the server's
  // Biscuit authorization). The one place where calls get their credentials.
  std::string bearer_token;
};

// One client thread's connection to the server.
class ServerClient {
 public:
  ServerClient(int port, const ServerClientOptions& options) : options_(options) {
    grpc::ChannelArguments args;
    // A connection of its own, as each PostgreSQL client has: gRPC would otherwise share one
    // HTTP/2 connection between channels with the same target.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(), args);
    admin_ = v1::Admin::NewStub(channel);
    schema_ = v1::Schema::NewStub(channel);
    records_ = v1::Records::NewStub(channel);
    query_ = v1::Query::NewStub(channel);
    health_ = grpc::health::v1::Health::NewStub(channel);
    space_.set_tenant(kTenant);
    space_.set_record_space(kSpace);
  }

  void CreateSpace() {
    {
      auto context = NewContext();
      v1::CreateTenantRequest request;
      request.set_tenant(kTenant);
      v1::CreateTenantResponse response;
      Check("Admin.CreateTenant", admin_->CreateTenant(context.get(), request, &response));
    }
    {
      auto context = NewContext();
      v1::CreateRecordSpaceRequest request;
      request.set_tenant(kTenant);
      request.set_record_space(kSpace);
      v1::CreateRecordSpaceResponse response;
      Check("Admin.CreateRecordSpace",
            admin_->CreateRecordSpace(context.get(), request, &response));
    }
    auto context = NewContext();
    v1::UpdateSchemaRequest request;
    *request.mutable_space() = space_;
    v1::SchemaSpec* spec = request.mutable_schema();
    (*spec->mutable_proto_files())["bench/item.proto"] = kItemProto;
    v1::RecordTypeSpec* type = spec->add_record_types();
    type->set_name("Item");
    type->add_primary_key("id");
    v1::IndexSpec* index = spec->add_indexes();
    index->set_name("item_by_total");
    index->set_type("value");
    index->add_fields("total");
    index->add_record_types("Item");
    v1::UpdateSchemaResponse response;
    Check("Schema.UpdateSchema", schema_->UpdateSchema(context.get(), request, &response));
  }

  void PutBatch(const std::vector<Item>& items) {
    auto context = NewContext();
    v1::PutBatchRequest request;
    *request.mutable_space() = space_;
    request.set_mode(v1::INSERT);
    for (const Item& item : items) {
      v1::Record* record = request.add_records();
      record->set_record_type("Item");
      record->set_proto(EncodeItem(item));
    }
    v1::PutBatchResponse response;
    Check("Records.PutBatch", records_->PutBatch(context.get(), request, &response));
  }

  void Put(const Item& item) {
    auto context = NewContext();
    v1::PutRequest request;
    *request.mutable_space() = space_;
    request.set_mode(v1::INSERT);
    request.mutable_record()->set_record_type("Item");
    request.mutable_record()->set_proto(EncodeItem(item));
    v1::PutResponse response;
    Check("Records.Put", records_->Put(context.get(), request, &response));
  }

  void Get(int64_t id) {
    auto context = NewContext();
    v1::GetRequest request;
    *request.mutable_space() = space_;
    request.set_record_type("Item");
    request.add_primary_key()->set_int64(id);
    v1::GetResponse response;
    Check("Records.Get", records_->Get(context.get(), request, &response));
    if (!response.found()) Fail("Records.Get found no item " + std::to_string(id));
  }

  // Health.Check of the whole server: a call whose handler does no work. The token is sent
  // as with every other call (the handler does not look at it), so the client and the
  // transport do the same work per call as for a get.
  void EmptyCall() {
    auto context = NewContext();
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    Check("Health.Check", health_->Check(context.get(), request, &response));
    if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
      Fail("Health.Check answered " + std::to_string(response.status()) + ", not SERVING");
    }
  }

  void Query100(int64_t from_total) {
    auto context = NewContext();
    v1::QueryRequest request;
    *request.mutable_space() = space_;
    v1::StructuredQuery* query = request.mutable_structured();
    query->add_record_types("Item");
    v1::Comparison* comparison = query->mutable_filter()->mutable_comparison();
    comparison->set_field("total");
    comparison->set_operator_(v1::Comparison::GREATER_THAN_OR_EQUALS);
    comparison->add_values()->set_int64(from_total);
    query->add_sort("total");
    request.set_row_limit(kQueryRows);
    std::unique_ptr<grpc::ClientReader<v1::QueryResponse>> reader =
        query_->Execute(context.get(), request);
    v1::QueryResponse message;
    int rows = 0;
    while (reader->Read(&message)) rows += message.records_size();
    Check("Query.Execute", reader->Finish());
    if (rows != kQueryRows) {
      Fail("Query.Execute from total " + std::to_string(from_total) + " returned " +
           std::to_string(rows) + " items, expected " + std::to_string(kQueryRows));
    }
  }

 private:
  std::unique_ptr<grpc::ClientContext> NewContext() const {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!options_.bearer_token.empty()) {
      context->AddMetadata("authorization", "Bearer " + options_.bearer_token);
    }
    return context;
  }

  static void Check(const std::string& method, const grpc::Status& status) {
    if (!status.ok()) {
      Fail(method + " failed: " + std::to_string(status.error_code()) + " " +
           status.error_message());
    }
  }

  ServerClientOptions options_;
  v1::SpaceRef space_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::unique_ptr<v1::Schema::Stub> schema_;
  std::unique_ptr<v1::Records::Stub> records_;
  std::unique_ptr<v1::Query::Stub> query_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

// ---------------------------------------------------------------------------------------------
// PostgreSQL

// Runs `argv` (argv[0] a path) as `user` when this process is root, else as ourselves, with
// stdout and stderr appended to `log`. Returns the child's pid.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& user, const std::string& log) {
  std::optional<std::pair<uid_t, gid_t>> identity;
  if (geteuid() == 0) {
    passwd* entry = getpwnam(user.c_str());
    if (entry == nullptr) {
      Fail("PostgreSQL refuses to run as root and there is no user \"" + user +
           "\" to run it as (choose one with --pg-user)");
    }
    identity = {entry->pw_uid, entry->pw_gid};
  }
  // Built before fork: the child of a multithreaded process may only make async-signal-safe
  // calls (no allocation) until it execs.
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const std::string exec_failed = "cannot execute " + argv[0] + "\n";
  const std::string setuid_failed = "cannot switch to user " + user + "\n";
  pid_t pid = fork();
  if (pid < 0) Fail(std::string("fork failed: ") + std::strerror(errno));
  if (pid > 0) return pid;
  int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  if (identity.has_value() && (setgroups(0, nullptr) != 0 || setgid(identity->second) != 0 ||
                               setuid(identity->first) != 0)) {
    (void)!write(STDERR_FILENO, setuid_failed.data(), setuid_failed.size());
    _exit(126);
  }
  execv(args[0], args.data());
  (void)!write(STDERR_FILENO, exec_failed.data(), exec_failed.size());
  _exit(127);
}

std::string ReadLog(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A PostgreSQL cluster of its own: initdb into `directory`, postgres on a free port, stopped
// (fast shutdown) on destruction.
class PostgresServer {
 public:
  PostgresServer(const std::string& bin, const std::string& user, const std::string& directory)
      : data_(directory + "/pgdata"), log_(directory + "/postgres.log") {
    if (geteuid() == 0) {
      // The unprivileged user owns the cluster's directory (and writes its log there).
      passwd* entry = getpwnam(user.c_str());
      if (entry == nullptr || chown(directory.c_str(), entry->pw_uid, entry->pw_gid) != 0) {
        Fail("cannot hand " + directory + " to user \"" + user + "\" for PostgreSQL" +
             " (choose one with --pg-user)");
      }
    }
    // --no-sync: initdb's own files need no fsync for a throwaway cluster; the server's
    // settings below decide the benchmark's durability.
    pid_t initdb = Spawn({bin + "/initdb", "-D", data_, "--auth=trust", "--username=bench",
                          "--encoding=UTF8", "--no-locale", "--no-sync"},
                         user, log_);
    int status = 0;
    waitpid(initdb, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      Fail("initdb failed (is postgresql-15 installed? --pg-bin=" + bin + "):\n" + ReadLog(log_));
    }
    port_ = FreePort();
    pid_ = Spawn({bin + "/postgres", "-D", data_, "-p", std::to_string(port_), "-c",
                  "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + directory, "-c",
                  "fsync=on", "-c", "synchronous_commit=on", "-c", "full_page_writes=on", "-c",
                  "max_connections=100", "-c", "shared_buffers=256MB"},
                 user, log_);
    const std::string conninfo = ConnInfo() + " connect_timeout=2";
    for (int attempt = 0; PQping(conninfo.c_str()) != PQPING_OK; ++attempt) {
      int child_status = 0;
      if (waitpid(pid_, &child_status, WNOHANG) == pid_ || attempt == 300) {
        pid_ = -1;
        Fail("postgres did not start on port " + std::to_string(port_) + ":\n" + ReadLog(log_));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~PostgresServer() {
    if (pid_ > 0) {
      kill(pid_, SIGINT);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  std::string ConnInfo() const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=bench dbname=postgres";
  }

 private:
  std::string data_;
  std::string log_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// One client thread's connection, with the workloads' statements prepared.
class PostgresClient {
 public:
  explicit PostgresClient(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      Fail(std::string("cannot connect to postgres: ") + PQerrorMessage(conn_));
    }
  }
  ~PostgresClient() { PQfinish(conn_); }
  PostgresClient(const PostgresClient&) = delete;
  PostgresClient& operator=(const PostgresClient&) = delete;

  void Exec(const std::string& sql) {
    Result result(PQexec(conn_, sql.c_str()));
    CheckResult(sql, result.get());
  }

  void Prepare() {
    PrepareOne("put", "INSERT INTO item (id, customer_id, total, note) VALUES ($1, $2, $3, $4)", 4);
    PrepareOne("get", "SELECT id, customer_id, total, note FROM item WHERE id = $1", 1);
    PrepareOne("query_100",
               "SELECT id, customer_id, total, note FROM item WHERE total >= $1 ORDER BY total "
               "LIMIT " +
                   std::to_string(kQueryRows),
               1);
  }

  // Loads `items` with COPY in one transaction.
  void Load(const std::vector<Item>& items) {
    std::string rows;
    for (const Item& item : items) {
      rows += std::to_string(item.id) + "\t" + std::to_string(item.customer_id) + "\t" +
              std::to_string(item.total) + "\t" + Note() + "\n";
    }
    Result copy(PQexec(conn_, "COPY item (id, customer_id, total, note) FROM STDIN"));
    if (PQresultStatus(copy.get()) != PGRES_COPY_IN) CheckResult("COPY", copy.get());
    if (PQputCopyData(conn_, rows.data(), static_cast<int>(rows.size())) != 1 ||
        PQputCopyEnd(conn_, nullptr) != 1) {
      Fail(std::string("COPY failed: ") + PQerrorMessage(conn_));
    }
    Result done(PQgetResult(conn_));
    CheckResult("COPY", done.get());
    while (PGresult* rest = PQgetResult(conn_)) PQclear(rest);
  }

  void Put(const Item& item) {
    const std::string id = std::to_string(item.id), customer = std::to_string(item.customer_id),
                      total = std::to_string(item.total);
    const char* values[] = {id.c_str(), customer.c_str(), total.c_str(), Note().c_str()};
    Result result(PQexecPrepared(conn_, "put", 4, values, nullptr, nullptr, 0));
    CheckResult("put", result.get());
  }

  void Get(int64_t id) {
    const std::string key = std::to_string(id);
    const char* values[] = {key.c_str()};
    Result result(PQexecPrepared(conn_, "get", 1, values, nullptr, nullptr, 0));
    CheckResult("get", result.get());
    if (PQntuples(result.get()) != 1) Fail("postgres found no item " + key);
  }

  void Query100(int64_t from_total) {
    const std::string from = std::to_string(from_total);
    const char* values[] = {from.c_str()};
    Result result(PQexecPrepared(conn_, "query_100", 1, values, nullptr, nullptr, 0));
    CheckResult("query_100", result.get());
    if (PQntuples(result.get()) != kQueryRows) {
      Fail("postgres query_100 from total " + from + " returned " +
           std::to_string(PQntuples(result.get())) + " rows");
    }
  }

 private:
  struct Clear {
    void operator()(PGresult* result) const { PQclear(result); }
  };
  using Result = std::unique_ptr<PGresult, Clear>;

  void PrepareOne(const char* name, const std::string& sql, int parameters) {
    Result result(PQprepare(conn_, name, sql.c_str(), parameters, nullptr));
    CheckResult(sql, result.get());
  }

  void CheckResult(const std::string& what, PGresult* result) {
    ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      Fail("postgres: " + what + " failed: " + PQerrorMessage(conn_));
    }
  }

  PGconn* conn_;
};

// ---------------------------------------------------------------------------------------------
// Driver

// One system as the driver sees it: connections for N client threads, each doing one request
// of a workload at a time.
class System {
 public:
  virtual ~System() = default;
  virtual std::string name() const = 0;
  // Per client thread: a function doing one request of `workload` with the thread's random
  // generator, on a connection opened now (untimed).
  using Op = std::function<void(std::mt19937_64&)>;
  virtual std::vector<Op> Connect(const std::string& workload, int clients) = 0;
  // The system's own counters now (none by default).
  virtual std::vector<double> Counters() { return {}; }
  // What they say happened since Counters() returned `before` (printed to stderr after each
  // cell); empty when the system keeps none.
  virtual std::string DescribeCounters(const std::vector<double>& /*before*/) { return ""; }
};

// The sum of every sample of metric `name` (all label sets) in /metrics `text`.
double SampleSum(const std::string& text, const std::string& name) {
  double sum = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.size() <= name.size() || line.substr(0, name.size()) != name) continue;
    if (line[name.size()] != ' ' && line[name.size()] != '{') continue;
    sum += std::stod(std::string(line.substr(line.rfind(' ') + 1)));
  }
  return sum;
}

// What one client thread of `workload` repeats, for either system's client type (both have
// Put, Get and Query100). Puts draw fresh ids from `sequence`.
template <typename Client>
System::Op WorkloadOp(const std::string& workload, Client* client, const DataSet& data,
                      std::atomic<int64_t>& sequence) {
  if (workload == "put") {
    return [&data, &sequence, client](std::mt19937_64&) { client->Put(data.Fresh(++sequence)); };
  }
  if (workload == "get") {
    return [&data, client](std::mt19937_64& rng) {
      client->Get(1 + static_cast<int64_t>(rng() % data.records()));
    };
  }
  return [&data, client](std::mt19937_64& rng) {
    client->Query100(static_cast<int64_t>(rng() % (data.records() - kQueryRows)));
  };
}

class RecordStoreSystem final : public System {
 public:
  RecordStoreSystem(const std::string& directory, const DataSet& data,
                    const ServerClientOptions& client_options, std::atomic<int64_t>& sequence,
                    std::optional<size_t> authorization_cache)
      : data_(data), client_options_(client_options), sequence_(sequence) {
    server::ServerOptions options;
    if (authorization_cache.has_value()) options.access.authorization_cache = *authorization_cache;
    options.listen = "127.0.0.1:0";
    options.http_listen = "";
    options.data_dir = directory + "/recordstore";
    StatusOr<std::unique_ptr<server::Server>> started = server::Server::Start(options);
    if (!started.ok()) Fail("cannot start the server: " + started.status().ToString());
    server_ = *std::move(started);
    client_options_.bearer_token = server_->AdminToken();
    ServerClient setup(server_->grpc_port(), client_options_);
    setup.CreateSpace();
    std::vector<Item> batch;
    for (int64_t id = 1; id <= data_.records(); ++id) {
      batch.push_back(data_.Loaded(id));
      if (batch.size() == 500 || id == data_.records()) {
        setup.PutBatch(batch);
        batch.clear();
      }
    }
  }
  std::string name() const override { return "recordstore"; }

  // Commit batches, transactions in them, transaction retries.
  std::vector<double> Counters() override {
    const std::string text = server_->RenderMetrics();
    return {SampleSum(text, "recordstore_kv_commit_batch_transactions_count"),
            SampleSum(text, "recordstore_kv_commit_batch_transactions_sum"),
            SampleSum(text, "recordstore_transaction_retries_total")};
  }
  std::string DescribeCounters(const std::vector<double>& before) override {
    std::vector<double> now = Counters();
    const double batches = now[0] - before[0];
    if (batches == 0 && now[2] == before[2]) return "";  // a read-only workload
    std::ostringstream line;
    line.precision(3);
    line << batches << " commit batches";
    if (batches > 0) line << " of " << (now[1] - before[1]) / batches << " transactions on average";
    line << ", " << now[2] - before[2] << " transaction retries";
    return line.str();
  }

  std::vector<Op> Connect(const std::string& workload, int clients) override {
    clients_.clear();
    std::vector<Op> ops;
    for (int i = 0; i < clients; ++i) {
      clients_.push_back(std::make_unique<ServerClient>(server_->grpc_port(), client_options_));
      ServerClient* client = clients_.back().get();
      if (workload == "empty_call") {
        ops.push_back([client](std::mt19937_64&) { client->EmptyCall(); });
      } else {
        ops.push_back(WorkloadOp(workload, client, data_, sequence_));
      }
    }
    return ops;
  }

 private:
  const DataSet& data_;
  ServerClientOptions client_options_;
  std::atomic<int64_t>& sequence_;
  std::unique_ptr<server::Server> server_;
  std::vector<std::unique_ptr<ServerClient>> clients_;
};

class PostgresSystem final : public System {
 public:
  PostgresSystem(const std::string& bin, const std::string& user, const std::string& directory,
                 const DataSet& data, std::atomic<int64_t>& sequence)
      : server_(bin, user, directory), data_(data), sequence_(sequence) {
    PostgresClient setup(server_.ConnInfo());
    setup.Exec(kPostgresSchema);
    std::vector<Item> items;
    for (int64_t id = 1; id <= data_.records(); ++id) items.push_back(data_.Loaded(id));
    setup.Load(items);
    // Statistics and the visibility map, so plans and index scans start from settled data.
    setup.Exec("VACUUM ANALYZE item");
  }
  std::string name() const override { return "postgres"; }

  std::vector<Op> Connect(const std::string& workload, int clients) override {
    clients_.clear();
    std::vector<Op> ops;
    for (int i = 0; i < clients; ++i) {
      clients_.push_back(std::make_unique<PostgresClient>(server_.ConnInfo()));
      PostgresClient* client = clients_.back().get();
      client->Prepare();
      ops.push_back(WorkloadOp(workload, client, data_, sequence_));
    }
    return ops;
  }

 private:
  PostgresServer server_;
  const DataSet& data_;
  std::atomic<int64_t>& sequence_;
  std::vector<std::unique_ptr<PostgresClient>> clients_;
};

struct CellResult {
  double ops_per_sec;
  double p50_us;
  double p99_us;
};

// `clients` threads doing `workload` on `system` for `seconds`, after one untimed request each.
CellResult RunCell(System& system, const std::string& workload, int clients, double seconds) {
  std::vector<System::Op> ops = system.Connect(workload, clients);
  std::vector<LatencyRecorder> latencies(clients);
  std::vector<uint64_t> counts(clients, 0);
  std::vector<std::string> errors(clients);
  std::atomic<int> warmed{0};
  std::atomic<bool> go{false};
  std::atomic<double> deadline{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      try {
        std::mt19937_64 rng(0x5eed + i);
        ops[i](rng);
        ++warmed;
        while (!go.load()) std::this_thread::yield();
        const double end = deadline.load();
        while (true) {
          const double start = NowSeconds();
          if (start >= end) break;
          ops[i](rng);
          latencies[i].Record((NowSeconds() - start) * 1e6);
          ++counts[i];
        }
      } catch (const Failure& failure) {
        errors[i] = failure.message;
        ++warmed;
      }
    });
  }
  while (warmed.load() < clients) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const double start = NowSeconds();
  deadline = start + seconds;
  go = true;
  for (std::thread& thread : threads) thread.join();
  const double elapsed = NowSeconds() - start;
  for (const std::string& error : errors) {
    if (!error.empty()) Fail(system.name() + " " + workload + ": " + error);
  }
  LatencyRecorder all;
  for (const LatencyRecorder& recorder : latencies) all.Merge(recorder);
  const uint64_t total = std::accumulate(counts.begin(), counts.end(), uint64_t{0});
  return {total / elapsed, all.Percentile(50), all.Percentile(99)};
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

std::vector<std::string> SplitList(const std::string& text) {
  return absl::StrSplit(text, ',', absl::SkipEmpty());
}

int RunServerSuite(const Options& options, Reporter& reporter) {
  try {
    std::vector<int> client_counts;
    for (const std::string& count : SplitList(options.Get("clients", "1,4,16,64"))) {
      const int clients = std::stoi(count);
      if (clients < 1 || clients > 90) Fail("--clients takes counts from 1 to 90, not " + count);
      client_counts.push_back(clients);
    }
    const std::vector<std::string> workloads =
        SplitList(options.Get("workloads", "put,get,query_100"));
    for (const std::string& workload : workloads) {
      if (workload != "put" && workload != "get" && workload != "query_100" &&
          workload != "empty_call") {
        Fail("unknown workload '" + workload + "' (put, get, query_100, empty_call)");
      }
    }
    const std::vector<std::string> systems =
        SplitList(options.Get("systems", "recordstore,postgres"));
    for (const std::string& system : systems) {
      if (system != "recordstore" && system != "postgres") {
        Fail("unknown system '" + system + "' (recordstore, postgres)");
      }
    }
    const bool empty_call =
        std::find(workloads.begin(), workloads.end(), "empty_call") != workloads.end();
    if (empty_call && std::find(systems.begin(), systems.end(), "recordstore") == systems.end()) {
      Fail("empty_call calls the Record-Store server: it needs --systems to include recordstore");
    }
    const double seconds = std::stod(options.Get("seconds", "2"));
    const int rounds = static_cast<int>(options.GetInt("rounds", 3));
    const DataSet data(options.GetInt("records", 20000));
    if (data.records() <= kQueryRows) Fail("--records must exceed 100");
    if (rounds < 1 || seconds <= 0) Fail("--rounds and --seconds must be positive");
    ServerClientOptions client_options;

    TempDir directory(options.Get("data-dir", std::filesystem::temp_directory_path().string()));
    // Puts of both systems draw ids from one sequence; each system sees only its own.
    std::atomic<int64_t> sequence{0};
    std::vector<std::unique_ptr<System>> instances;
    for (const std::string& system : systems) {
      Progress("starting " + system + " and loading " + std::to_string(data.records()) + " items");
      if (system == "recordstore") {
        std::optional<size_t> authorization_cache;
        if (options.flags.contains("authorization-cache")) {
          authorization_cache = static_cast<size_t>(options.GetInt("authorization-cache", 0));
        }
        instances.push_back(std::make_unique<RecordStoreSystem>(
            directory.path(), data, client_options, sequence, authorization_cache));
      } else {
        // mkdtemp made the directory private; the PostgreSQL user must reach its own below it.
        chmod(directory.path().c_str(), 0711);
        const std::string pg_directory = directory.path() + "/postgres";
        std::filesystem::create_directories(pg_directory);
        instances.push_back(std::make_unique<PostgresSystem>(
            options.Get("pg-bin", "/usr/lib/postgresql/15/bin"), options.Get("pg-user", "postgres"),
            pg_directory, data, sequence));
      }
    }

    // ops/s per client count, for the ratio of empty_call to PostgreSQL's get.
    std::map<int, double> empty_call_ops, postgres_get_ops;
    for (const std::string& workload : workloads) {
      for (int clients : client_counts) {
        std::vector<std::vector<CellResult>> results(instances.size());
        for (int round = 0; round < rounds; ++round) {
          for (size_t k = 0; k < instances.size(); ++k) {
            // Alternate which system goes first, so neither always meets the other's leftovers.
            size_t index = round % 2 == 0 ? k : instances.size() - 1 - k;
            System& system = *instances[index];
            // The transport's floor has no PostgreSQL counterpart.
            if (workload == "empty_call" && system.name() != "recordstore") continue;
            const std::vector<double> before = system.Counters();
            results[index].push_back(RunCell(system, workload, clients, seconds));
            const std::string counters = system.DescribeCounters(before);
            if (!counters.empty()) {
              Progress(system.name() + " " + workload + " clients=" + std::to_string(clients) +
                       ": " + counters);
            }
          }
        }
        for (size_t k = 0; k < instances.size(); ++k) {
          if (results[k].empty()) continue;
          std::vector<double> throughput, p50, p99;
          for (const CellResult& r : results[k]) {
            throughput.push_back(r.ops_per_sec);
            p50.push_back(r.p50_us);
            p99.push_back(r.p99_us);
          }
          Result row;
          row.workload = workload;
          row.system = workload == "empty_call" ? "grpc" : instances[k]->name();
          row.ops_per_sec = Median(throughput);
          row.p50_us = Median(p50);
          row.p99_us = Median(p99);
          row.params = {{"clients", std::to_string(clients)},
                        {"rounds", std::to_string(rounds)},
                        {"seconds", options.Get("seconds", "2")},
                        {"records", std::to_string(data.records())}};
          reporter.Add(row);
          if (workload == "empty_call") empty_call_ops[clients] = row.ops_per_sec;
          if (workload == "get" && row.system == "postgres") {
            postgres_get_ops[clients] = row.ops_per_sec;
          }
        }
        reporter.PrintRatio(workload, "recordstore", "postgres",
                            "clients=" + std::to_string(clients));
      }
    }
    for (const auto& [clients, ops] : empty_call_ops) {
      auto get = postgres_get_ops.find(clients);
      if (get == postgres_get_ops.end() || get->second <= 0) continue;
      char line[160];
      std::snprintf(line, sizeof(line), "ratio    %-16s grpc/postgres get = %.3f   clients=%d",
                    "empty_call", ops / get->second, clients);
      // stdout carries only the JSON rows with --format=json.
      if (reporter.json()) {
        Progress(line);
      } else {
        std::printf("%s\n", line);
        std::fflush(stdout);
      }
    }
    return 0;
  } catch (const Failure& failure) {
    std::fprintf(stderr, "server benchmark failed: %s\n", failure.message.c_str());
    return 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "server benchmark failed: bad flag value (%s)\n", error.what());
    return 2;
  }
}

}  // namespace

RS_BENCH_SUITE(server,
               "the gRPC server against PostgreSQL 15 on loopback: put, get, query_100 with "
               "1..64 concurrent clients (and empty_call, gRPC's floor, on request)",
               RunServerSuite);

}  // namespace recordstore::bench
