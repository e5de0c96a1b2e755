// Encryption at rest end to end: a real Server on a RocksDB data directory and free loopback
// ports, driven through gRPC. Records whose non-indexed fields carry unique markers are put,
// the server is shut down, and every file of the data directory is read byte by byte: no
// marker may appear (and with encryption off, the control, they do, so the scan can fail).
// Then tampering, restarts with the right and a wrong master key, rotation and
// crypto-shredding.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "crypto/master_key.h"
#include "crypto/reencryption_job.h"
#include "crypto/tenant_keys.h"
#include "cursor/split_helper.h"
#include "recordstore/v1/admin.grpc.pb.h"
#include "recordstore/v1/records.grpc.pb.h"
#include "recordstore/v1/schema.grpc.pb.h"
#include "server/server.h"
#include "server/server_test_util.h"

namespace recordstore::server {
namespace {

using grpc::StatusCode;

// The shop schema with one index, on Order.customer_id: the markers go in fields that no
// index holds (index keys show indexed values by design, docs/security.md).
v1::SchemaSpec IndexedShopSpec() {
  v1::SchemaSpec spec = ShopSpec();
  v1::IndexSpec* index = spec.add_indexes();
  index->set_name("order_by_customer");
  index->set_type("value");
  index->add_fields("customer_id");
  index->add_record_types("Order");
  return spec;
}

class Client : public TestClient {
 public:
  using TestClient::TestClient;

  // The tenant, its space and the shop schema.
  grpc::Status CreateShop(const v1::SpaceRef& space) {
    return TestClient::CreateShop(space, IndexedShopSpec(), /*tenant_may_exist=*/false);
  }
  grpc::Status Put(const v1::SpaceRef& space, const std::string& type, const std::string& json) {
    v1::PutRequest request;
    *request.mutable_space() = space;
    request.mutable_record()->set_record_type(type);
    request.mutable_record()->set_json(json);
    v1::PutResponse response;
    return records_->Put(Context().get(), request, &response);
  }
  // The record as JSON ("" when not found), or the call's error in `status`.
  std::string Get(const v1::SpaceRef& space, const std::string& type, int64_t id,
                  grpc::Status* status) {
    v1::GetRequest request;
    *request.mutable_space() = space;
    request.set_record_type(type);
    request.add_primary_key()->set_int64(id);
    request.set_json(true);
    v1::GetResponse response;
    *status = records_->Get(Context().get(), request, &response);
    return response.found() ? response.record().json() : "";
  }
  // The record's protobuf bytes ("" when not found): the server passes the stored bytes on
  // without parsing them (RecordStore::LoadSerializedRecord).
  std::string GetProto(const v1::SpaceRef& space, const std::string& type, int64_t id,
                       grpc::Status* status) {
    v1::GetRequest request;
    *request.mutable_space() = space;
    request.set_record_type(type);
    request.add_primary_key()->set_int64(id);
    v1::GetResponse response;
    *status = records_->Get(Context().get(), request, &response);
    return response.found() ? response.record().proto() : "";
  }
};

// A fresh directory under the system's temporary directory, removed by the test.
std::string TempDir(const std::string& name) {
  static std::atomic<int> counter{0};
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("rs-encryption-" + name + "-" + std::to_string(::getpid()) + "-" +
                               std::to_string(counter++));
  std::filesystem::remove_all(dir);
  return dir.string();
}

// Which of `markers` occur in some file under `dir`, each with the first file it is in.
std::map<std::string, std::string> FindInFiles(const std::string& dir,
                                               const std::vector<std::string>& markers) {
  std::map<std::string, std::string> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(in.good() || in.eof()) << entry.path();
    for (const std::string& marker : markers) {
      if (!found.contains(marker) && bytes.find(marker) != std::string::npos) {
        found[marker] = entry.path().string();
      }
    }
  }
  return found;
}

class EncryptionAtRestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    options_.listen = "127.0.0.1:0";
    options_.http_listen = "";
    options_.data_dir = dir_;
    // A run-unique part, so that no marker can be matched by an earlier run's leftovers.
    nonce_ = std::to_string(::getpid()) + "x" + std::to_string(::time(nullptr));
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  StatusOr<std::unique_ptr<Server>> TryStart() { return Server::Start(options_); }
  void Start() {
    StatusOr<std::unique_ptr<Server>> started = TryStart();
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
    client_ = std::make_unique<Client>(server_->grpc_port(), server_->AdminToken());
  }
  void Stop() {
    server_->Shutdown();
    server_.reset();
  }

  std::string Marker(const std::string& what, int i) {
    return "MARKER-" + what + "-" + std::to_string(i) + "-" + nonce_;
  }

  // Orders 1..n and customers 1..n, every non-indexed string field holding a marker.
  std::vector<std::string> PutMarkedRecords(const v1::SpaceRef& space, int n) {
    std::vector<std::string> markers;
    for (int i = 1; i <= n; ++i) {
      std::string note = Marker("note", i);
      std::string street = Marker("street", i);
      std::string name = Marker("name", i);
      EXPECT_TRUE(client_
                      ->Put(space, "Order",
                            R"({"order_id": )" + std::to_string(i) + R"(, "customer_id": )" +
                                std::to_string(i % 3) + R"(, "total": 100, "note": ")" + note +
                                R"(", "shipping": {"street": ")" + street + R"("}})")
                      .ok());
      EXPECT_TRUE(
          client_
              ->Put(space, "Customer",
                    R"({"customer_id": )" + std::to_string(i) + R"(, "name": ")" + name + R"("})")
              .ok());
      markers.insert(markers.end(), {note, street, name});
    }
    return markers;
  }

  struct Stored {
    // Where the (unsplit) record is in the KV store.
    std::string kv_key;
    // The record's key in the store, without the split suffix: its associated data.
    std::string record_key;
    std::string value;
  };
  // The record `id` of `type` as stored.
  Stored StoredRecord(const v1::SpaceRef& space, const std::string& type, int64_t id) {
    std::unique_ptr<kv::Transaction> txn = server_->db().CreateTransaction();
    StatusOr<ResolvedSpace> resolved =
        server_->state().catalog->Resolve(*txn, space.tenant(), space.record_space());
    EXPECT_TRUE(resolved.ok()) << resolved.status();
    const metadata::RecordType* record_type = resolved->schema->metadata->FindRecordType(type);
    Tuple primary_key = Tuple::Of(record_type->record_type_key());
    primary_key.Append(id);
    Subspace records = resolved->data.Sub(Tuple::Of(1));
    std::string key = records.Sub(primary_key).Pack(Tuple::Of(cursor::kUnsplitSuffix));
    StatusOr<std::optional<std::string>> value = txn->Get(key);
    EXPECT_TRUE(value.ok() && value->has_value()) << "no stored " << type << " " << id;
    return {key, records.Pack(primary_key), value->value_or("")};
  }

  void Overwrite(const std::string& key, const std::string& value) {
    std::unique_ptr<kv::Transaction> txn = server_->db().CreateTransaction();
    txn->Set(key, value);
    ASSERT_TRUE(txn->Commit().ok());
  }

  std::string dir_;
  std::string nonce_;
  ServerOptions options_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(EncryptionAtRestTest, MarkersPutThroughTheServerAreInNoFileOfTheDataDirectory) {
  Start();
  v1::SpaceRef space = Space("acme", "main");
  ASSERT_GRPC_OK(client_->CreateShop(space));
  std::vector<std::string> markers = PutMarkedRecords(space, 20);
  grpc::Status status;
  EXPECT_NE(client_->Get(space, "Order", 7, &status).find(Marker("note", 7)), std::string::npos);
  ASSERT_TRUE(status.ok()) << status.error_message();
  Stop();

  // The master key was generated on first start, 0600, in the data directory.
  struct stat info {};
  ASSERT_EQ(::stat((dir_ + "/master.key").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(info.st_size, 32);
  std::map<std::string, std::string> found = FindInFiles(dir_, markers);
  for (const auto& [marker, file] : found) ADD_FAILURE() << marker << " in " << file;
}

TEST_F(EncryptionAtRestTest, ControlWithEncryptionOffFindsEveryMarker) {
  options_.encryption = false;
  Start();
  v1::SpaceRef space = Space("acme", "main");
  ASSERT_GRPC_OK(client_->CreateShop(space));
  std::vector<std::string> markers = PutMarkedRecords(space, 20);
  Stop();
  // Encryption off never creates a master key.
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/master.key"));
  EXPECT_EQ(FindInFiles(dir_, markers).size(), markers.size());
}

TEST_F(EncryptionAtRestTest, TamperedCiphertextIsDataLossNamingTheRecordAndOthersStillServe) {
  Start();
  v1::SpaceRef space = Space("acme", "main");
  ASSERT_GRPC_OK(client_->CreateShop(space));
  PutMarkedRecords(space, 3);
  auto [key, record_key, value] = StoredRecord(space, "Order", 2);
  // A byte of the ciphertext body: after the 2-byte header, 4-byte key id and 12-byte nonce.
  ASSERT_GT(value.size(), 30u);
  value[25] = static_cast<char>(value[25] ^ 0x01);
  Overwrite(key, value);

  grpc::Status status;
  EXPECT_EQ(client_->Get(space, "Order", 2, &status), "");
  EXPECT_EQ(status.error_code(), StatusCode::DATA_LOSS);
  Tuple primary_key =
      Tuple::Of(server_->state()
                    .catalog->Resolve(*server_->db().CreateTransaction(), "acme", "main")
                    ->schema->metadata->FindRecordType("Order")
                    ->record_type_key());
  primary_key.Append(int64_t{2});
  EXPECT_NE(status.error_message().find("record " + primary_key.ToString() + ": "),
            std::string::npos)
      << status.error_message();
  EXPECT_NE(status.error_message().find("authentication failed"), std::string::npos)
      << status.error_message();

  // The neighbours, and a new write, are served as before.
  EXPECT_NE(client_->Get(space, "Order", 1, &status).find(Marker("note", 1)), std::string::npos);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_NE(client_->Get(space, "Order", 3, &status).find(Marker("note", 3)), std::string::npos);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(client_->Put(space, "Order", R"({"order_id": 4, "customer_id": 1})").ok());

  // A ciphertext moved under another record's key fails too: the key is associated data.
  Overwrite(StoredRecord(space, "Order", 3).kv_key, StoredRecord(space, "Order", 1).value);
  EXPECT_EQ(client_->Get(space, "Order", 3, &status), "");
  EXPECT_EQ(status.error_code(), StatusCode::DATA_LOSS) << status.error_message();
}

TEST_F(EncryptionAtRestTest, ProtobufGetsOfTamperedRecordsAreDataLossToo) {
  Start();
  v1::SpaceRef space = Space("acme", "main");
  ASSERT_GRPC_OK(client_->CreateShop(space));
  PutMarkedRecords(space, 2);
  auto [key, record_key, value] = StoredRecord(space, "Order", 2);
  ASSERT_GT(value.size(), 30u);
  value[25] = static_cast<char>(value[25] ^ 0x01);
  Overwrite(key, value);

  grpc::Status status;
  EXPECT_NE(client_->GetProto(space, "Order", 1, &status).find(Marker("note", 1)),
            std::string::npos);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(client_->GetProto(space, "Order", 2, &status), "");
  EXPECT_EQ(status.error_code(), StatusCode::DATA_LOSS) << status.error_message();
  EXPECT_NE(status.error_message().find("authentication failed"), std::string::npos)
      << status.error_message();
  EXPECT_NE(status.error_message().find("record ("), std::string::npos)
      << status.error_message();
}

TEST_F(EncryptionAtRestTest, RestartReadsWithTheSameMasterKeyAndRefusesAnother) {
  Start();
  v1::SpaceRef space = Space("acme", "main");
  ASSERT_GRPC_OK(client_->CreateShop(space));
  PutMarkedRecords(space, 2);
  const std::string master_id = server_->encryption().keys()->master().id();
  Stop();

  // The same (generated) key: readable.
  Start();
  grpc::Status status;
  EXPECT_NE(client_->Get(space, "Order", 2, &status).find(Marker("note", 2)), std::string::npos);
  EXPECT_TRUE(status.ok()) << status.error_message();
  Stop();

  // Another key file: refused at start, naming the data key and both master key ids.
  StatusOr<crypto::MasterKey> other = crypto::MasterKey::Generate();
  ASSERT_TRUE(other.ok());
  const std::string other_file = dir_ + "-other.key";
  ASSERT_TRUE(crypto::WriteMasterKeyFile(other_file, *other).ok());
  options_.master_key_file = other_file;
  StatusOr<std::unique_ptr<Server>> refused = TryStart();
  EXPECT_TRUE(HasErrorCode(refused.status(), ErrorCode::kPermissionDenied)) << refused.status();
  const std::string message(refused.status().message());
  EXPECT_EQ(message.rfind("encryption at rest: ", 0), 0u) << message;
  EXPECT_NE(message.find("data key 1 of tenant \"acme\" is wrapped by master key " + master_id +
                         ", which this server does not hold (it holds " + other->id()),
            std::string::npos)
      << message;

  // The environment variable comes before <data_dir>/master.key: another key there is
  // refused too.
  options_.master_key_file.clear();
  std::string hex;
  for (uint8_t byte : other->bytes()) {
    static constexpr char kHex[] = "0123456789abcdef";
    hex += {kHex[byte >> 4], kHex[byte & 0xf]};
  }
  ASSERT_EQ(::setenv(crypto::kMasterKeyEnvVar, hex.c_str(), 1), 0);
  refused = TryStart();
  ASSERT_EQ(::unsetenv(crypto::kMasterKeyEnvVar), 0);
  EXPECT_TRUE(HasErrorCode(refused.status(), ErrorCode::kPermissionDenied)) << refused.status();

  // The data directory's key file lost: the key generated in its place opens nothing, so the
  // start fails and removes it again, leaving the path free for the right file.
  std::filesystem::rename(dir_ + "/master.key", dir_ + "-saved.key");
  refused = TryStart();
  EXPECT_TRUE(HasErrorCode(refused.status(), ErrorCode::kPermissionDenied)) << refused.status();
  EXPECT_NE(refused.status().message().find("is wrapped by master key " + master_id),
            std::string::npos)
      << refused.status();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/master.key"));
  std::filesystem::rename(dir_ + "-saved.key", dir_ + "/master.key");
  Start();
  EXPECT_NE(client_->Get(space, "Order", 1, &status).find(Marker("note", 1)), std::string::npos);
  Stop();

  // A key file others may read is refused, saying how to fix it.
  ASSERT_EQ(::chmod(other_file.c_str(), 0644), 0);
  options_.master_key_file = other_file;
  refused = TryStart();
  EXPECT_TRUE(HasErrorCode(refused.status(), ErrorCode::kPermissionDenied)) << refused.status();
  EXPECT_NE(refused.status().message().find("chmod 600 " + other_file), std::string::npos)
      << refused.status();
  // A named key file that does not exist is an error, never a new key.
  options_.master_key_file = dir_ + "-missing.key";
  refused = TryStart();
  EXPECT_TRUE(HasErrorCode(refused.status(), ErrorCode::kNotFound)) << refused.status();
  EXPECT_FALSE(std::filesystem::exists(options_.master_key_file));
  std::filesystem::remove(other_file);
}

TEST_F(EncryptionAtRestTest, MasterKeyRotationRewrapsAtStartThenTheOldKeyIsNotNeeded) {
  Start();
  v1::SpaceRef space = Space("acme", "main");
  ASSERT_GRPC_OK(client_->CreateShop(space));
  PutMarkedRecords(space, 2);
  Stop();

  StatusOr<crypto::MasterKey> next = crypto::MasterKey::Generate();
  ASSERT_TRUE(next.ok());
  const std::string next_file = dir_ + "-next.key";
  ASSERT_TRUE(crypto::WriteMasterKeyFile(next_file, *next).ok());
  options_.master_key_file = next_file;
  options_.previous_master_key_files = {dir_ + "/master.key"};
  Start();
  EXPECT_EQ(server_->encryption().rewrapped_at_open(), 1);
  Stop();

  // Only the new key now.
  options_.previous_master_key_files.clear();
  Start();
  grpc::Status status;
  EXPECT_NE(client_->Get(space, "Customer", 2, &status).find(Marker("name", 2)), std::string::npos);
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::filesystem::remove(next_file);
}

TEST_F(EncryptionAtRestTest, RotatedDataKeySealsNewWritesAndReencryptionMovesOldRecords) {
  Start();
  v1::SpaceRef space = Space("acme", "main");
  ASSERT_GRPC_OK(client_->CreateShop(space));
  PutMarkedRecords(space, 5);
  auto key_id = [&](int64_t order_id) {
    StatusOr<std::optional<uint32_t>> id =
        crypto::SealingKeyId(StoredRecord(space, "Order", order_id).value);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? id->value_or(0) : 0;
  };
  EXPECT_EQ(key_id(1), 1u);

  StatusOr<uint32_t> rotated = server_->encryption().RotateTenantKey("acme");
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_EQ(*rotated, 2u);
  ASSERT_TRUE(client_->Put(space, "Order", R"({"order_id": 6, "customer_id": 1})").ok());
  EXPECT_EQ(key_id(6), 2u);
  EXPECT_EQ(key_id(1), 1u);

  // The re-encryption job over the space's store, with the server's key provider.
  std::unique_ptr<kv::Transaction> txn = server_->db().CreateTransaction();
  StatusOr<ResolvedSpace> resolved = server_->state().catalog->Resolve(*txn, "acme", "main");
  ASSERT_TRUE(resolved.ok());
  StatusOr<store::RecordStoreOptions> store_options = server_->state().store_options("acme");
  ASSERT_TRUE(store_options.ok());
  crypto::ReencryptionOptions job_options;
  job_options.serializer = store_options->serializer;
  crypto::ReencryptionJob job(
      server_->db(), resolved->data,
      crypto::ReencryptionJob::ProgressSpace(*server_->encryption().keys(), "acme", resolved->data),
      store_options->keys, job_options);
  StatusOr<crypto::ReencryptionProgress> progress = job.Run();
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_TRUE(progress->done);
  EXPECT_EQ(progress->records_rewritten, 10);  // 5 orders + 5 customers; order 6 was on key 2
  for (int64_t id = 1; id <= 6; ++id) EXPECT_EQ(key_id(id), 2u) << id;
  grpc::Status status;
  EXPECT_NE(client_->Get(space, "Order", 3, &status).find(Marker("note", 3)), std::string::npos);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(EncryptionAtRestTest, DeletingATenantShredsItsKeys) {
  Start();
  v1::SpaceRef space = Space("acme", "main");
  ASSERT_GRPC_OK(client_->CreateShop(space));
  PutMarkedRecords(space, 1);
  // A leftover copy of a record, as an old SST file or a backup would hold, and the reader
  // the server had for it.
  auto [kv_key, record_key, leftover] = StoredRecord(space, "Order", 1);
  StatusOr<store::RecordStoreOptions> before = server_->state().store_options("acme");
  ASSERT_TRUE(before.ok());
  RecordSerializer old_reader({}, before->keys);
  ASSERT_TRUE(old_reader.Deserialize(leftover, record_key).ok());

  const crypto::TenantKeyStore& keys = *server_->encryption().keys();
  auto key_count = [&](const std::string& tenant) {
    std::unique_ptr<kv::Transaction> txn = server_->db().CreateTransaction();
    StatusOr<std::vector<crypto::WrappedKeyInfo>> listed = keys.ListKeys(*txn, tenant);
    EXPECT_TRUE(listed.ok()) << listed.status();
    return listed.ok() ? listed->size() : 0;
  };
  EXPECT_EQ(key_count("acme"), 1u);
  ASSERT_TRUE(client_->DeleteTenant("acme").ok());
  EXPECT_EQ(key_count("acme"), 0u);

  // A tenant of the same name gets a new key, with the next id: what the old key sealed names
  // a key that no longer exists.
  ASSERT_GRPC_OK(client_->CreateShop(space));
  ASSERT_TRUE(client_->Put(space, "Order", R"({"order_id": 1, "customer_id": 1})").ok());
  EXPECT_EQ(key_count("acme"), 1u);
  StatusOr<store::RecordStoreOptions> after = server_->state().store_options("acme");
  ASSERT_TRUE(after.ok());
  EXPECT_NE(after->keys, before->keys);
  RecordSerializer new_reader({}, after->keys);
  StatusOr<std::string> opened = new_reader.Deserialize(leftover, record_key);
  EXPECT_TRUE(HasErrorCode(opened.status(), ErrorCode::kNotFound)) << opened.status();
  EXPECT_NE(opened.status().message().find("data key 1 of tenant \"acme\" does not exist"),
            std::string::npos)
      << opened.status();
  // The new key is 2: a server still caching the deleted key 1 cannot take it for the new one.
  std::unique_ptr<kv::Transaction> txn = server_->db().CreateTransaction();
  StatusOr<uint32_t> current = keys.CurrentKeyId(*txn, "acme");
  ASSERT_TRUE(current.ok()) << current.status();
  EXPECT_EQ(*current, 2u);
}

TEST_F(EncryptionAtRestTest, EncryptionOffWritesPlaintextAndReadsOldRecordsOnlyWithTheKey) {
  Start();
  v1::SpaceRef space = Space("acme", "main");
  ASSERT_GRPC_OK(client_->CreateShop(space));
  PutMarkedRecords(space, 1);
  Stop();

  options_.encryption = false;
  Start();
  grpc::Status status;
  EXPECT_NE(client_->Get(space, "Order", 1, &status).find(Marker("note", 1)), std::string::npos);
  EXPECT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(client_->Put(space, "Order", R"({"order_id": 2, "customer_id": 1})").ok());
  StatusOr<std::optional<uint32_t>> sealed =
      crypto::SealingKeyId(StoredRecord(space, "Order", 2).value);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(*sealed, std::nullopt);
  Stop();

  // Without the master key the old record cannot be read; the plaintext one can.
  std::filesystem::rename(dir_ + "/master.key", dir_ + "-moved.key");
  Start();
  client_->Get(space, "Order", 1, &status);
  EXPECT_EQ(status.error_code(), StatusCode::UNIMPLEMENTED) << status.error_message();
  EXPECT_NE(status.error_message().find("encrypted"), std::string::npos) << status.error_message();
  client_->Get(space, "Order", 2, &status);
  EXPECT_TRUE(status.ok()) << status.error_message();
  Stop();
  std::filesystem::remove(dir_ + "-moved.key");
}

}  // namespace
}  // namespace recordstore::server
