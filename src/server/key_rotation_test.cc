// Data key rotation end to end (key_rotation.h): a real Server on a RocksDB data directory,
// driven through Admin.RotateTenantKey and Admin.GetTenantKeyStatus. After the background
// re-encryption, every record row of the tenant's record spaces is read raw from the KV store
// and its header decoded: none may still be sealed with an older key. A restart in the middle
// of a (throttled) re-encryption must resume it; a second rotation must retarget it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "crypto/reencryption_job.h"
#include "cursor/split_helper.h"
#include "recordstore/v1/admin.grpc.pb.h"
#include "recordstore/v1/records.grpc.pb.h"
#include "recordstore/v1/schema.grpc.pb.h"
#include "server/server.h"
#include "server/server_test_util.h"

namespace recordstore::server {
namespace {

using grpc::StatusCode;

// The shop in a record space, and orders and customers by id.
class Client : public TestClient {
 public:
  using TestClient::TestClient;

  // The space (and its tenant unless it exists) with the shop schema.
  grpc::Status CreateShop(const std::string& tenant, const std::string& space) {
    return TestClient::CreateShop(Space(tenant, space), ShopSpec(), /*tenant_may_exist=*/true);
  }
  // Orders [first, last] and as many customers, in one batch.
  grpc::Status PutShop(const std::string& tenant, const std::string& space, int first, int last) {
    v1::PutBatchRequest request;
    request.mutable_space()->set_tenant(tenant);
    request.mutable_space()->set_record_space(space);
    for (int id = first; id <= last; ++id) {
      v1::Record* order = request.add_records();
      order->set_record_type("Order");
      order->set_json(R"({"order_id": )" + std::to_string(id) + R"(, "customer_id": )" +
                      std::to_string(id % 3) + R"(, "note": "order )" + std::to_string(id) +
                      R"("})");
      v1::Record* customer = request.add_records();
      customer->set_record_type("Customer");
      customer->set_json(R"({"customer_id": )" + std::to_string(id) + R"(, "name": "c)" +
                         std::to_string(id) + R"("})");
    }
    v1::PutBatchResponse response;
    return records_->PutBatch(Context().get(), request, &response);
  }
  // Every record of [first, last] of both types as the server returns it (serialized
  // GetResponse, JSON included), by "type id".
  std::map<std::string, std::string> ReadShop(const std::string& tenant, const std::string& space,
                                              int first, int last) {
    std::map<std::string, std::string> all;
    for (const char* type : {"Order", "Customer"}) {
      for (int id = first; id <= last; ++id) {
        v1::GetRequest request;
        request.mutable_space()->set_tenant(tenant);
        request.mutable_space()->set_record_space(space);
        request.set_record_type(type);
        request.add_primary_key()->set_int64(id);
        request.set_json(true);
        v1::GetResponse response;
        grpc::Status status = records_->Get(Context().get(), request, &response);
        EXPECT_TRUE(status.ok() && response.found())
            << type << " " << id << " " << status.error_message();
        all[std::string(type) + " " + std::to_string(id)] = response.SerializeAsString();
      }
    }
    return all;
  }
  grpc::Status Rotate(const std::string& tenant, v1::RotateTenantKeyResponse* response) {
    v1::RotateTenantKeyRequest request;
    request.set_tenant(tenant);
    return admin_->RotateTenantKey(Context().get(), request, response);
  }
  grpc::Status Status(const std::string& tenant, v1::GetTenantKeyStatusResponse* response) {
    v1::GetTenantKeyStatusRequest request;
    request.set_tenant(tenant);
    return admin_->GetTenantKeyStatus(Context().get(), request, response);
  }
};

// What the raw KV range of a record space's records holds.
struct RawRecords {
  // Sealing key id -> records (0: not encrypted).
  std::map<uint32_t, int> by_key;
  // Every version row (key -> value): re-encryption must keep them byte for byte.
  std::map<std::string, std::string> versions;
};

std::string ToText(const v1::GetTenantKeyStatusResponse& status) {
  std::ostringstream out;
  out << "current " << status.current_key_id() << " keys";
  for (const v1::TenantDataKey& key : status.keys()) out << " " << key.id();
  out << " referenced";
  for (uint32_t id : status.referenced_key_ids()) out << " " << id;
  out << (status.reencrypting() ? " reencrypting" : " idle");
  for (const v1::RecordSpaceReencryption& space : status.record_spaces()) {
    out << "; " << space.record_space() << " target " << space.target_key_id() << " scanned "
        << space.records_scanned() << " rewritten " << space.records_rewritten()
        << (space.done() ? " done" : " running");
  }
  if (!status.error().empty()) out << "; error " << status.error();
  return out.str();
}

class KeyRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = (std::filesystem::temp_directory_path() /
            ("rs-key-rotation-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
               .string();
    std::filesystem::remove_all(dir_);
    options_.listen = "127.0.0.1:0";
    options_.http_listen = "";
    options_.data_dir = dir_;
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Start() {
    StatusOr<std::unique_ptr<Server>> started = Server::Start(options_);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
    client_ = std::make_unique<Client>(server_->grpc_port(), server_->AdminToken());
  }
  void Stop() {
    server_->Shutdown();
    server_.reset();
  }

  v1::GetTenantKeyStatusResponse Status(const std::string& tenant) {
    v1::GetTenantKeyStatusResponse status;
    grpc::Status called = client_->Status(tenant, &status);
    EXPECT_TRUE(called.ok()) << called.error_message();
    return status;
  }
  // The re-encryption of the tenant's only record space (empty when the call fails).
  v1::RecordSpaceReencryption OnlySpace(const std::string& tenant) {
    v1::GetTenantKeyStatusResponse status = Status(tenant);
    EXPECT_EQ(status.record_spaces_size(), 1) << ToText(status);
    return status.record_spaces_size() == 1 ? status.record_spaces(0)
                                            : v1::RecordSpaceReencryption();
  }
  // Polls until the tenant's re-encryption is no longer pending (at most 60 s).
  v1::GetTenantKeyStatusResponse WaitUntilReencrypted(const std::string& tenant) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    v1::GetTenantKeyStatusResponse status = Status(tenant);
    while (status.reencrypting() && status.error().empty() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      status = Status(tenant);
    }
    EXPECT_FALSE(status.reencrypting()) << ToText(status);
    return status;
  }

  // Reads the records range (store subspace + (1)) of the space row by row.
  RawRecords ScanRaw(const std::string& tenant, const std::string& space) {
    RawRecords raw;
    std::unique_ptr<kv::Transaction> txn = server_->db().CreateTransaction();
    StatusOr<ResolvedSpace> resolved = server_->state().catalog->Resolve(*txn, tenant, space);
    EXPECT_TRUE(resolved.ok()) << resolved.status();
    if (!resolved.ok()) return raw;
    Subspace records = resolved->data.Sub(Tuple::Of(1));
    auto [begin, end] = records.Range();
    kv::RangeReader reader(*txn, kv::RangeEndpoint::Inclusive(begin),
                           kv::RangeEndpoint::Exclusive(end));
    while (true) {
      StatusOr<const kv::KeyValue*> row = reader.Next();
      EXPECT_TRUE(row.ok()) << row.status();
      if (!row.ok() || *row == nullptr) break;
      StatusOr<Tuple> key = records.Unpack((*row)->key);
      EXPECT_TRUE(key.ok() && !key->empty());
      std::optional<int64_t> suffix = (*key)[key->size() - 1].AsInt64();
      if (suffix == cursor::kVersionSuffix) {
        raw.versions[(*row)->key] = (*row)->value;
        continue;
      }
      // The shop's records are small: each is one unsplit row.
      EXPECT_EQ(suffix, cursor::kUnsplitSuffix);
      StatusOr<std::optional<uint32_t>> id = crypto::SealingKeyId((*row)->value);
      EXPECT_TRUE(id.ok()) << id.status();
      ++raw.by_key[id.ok() ? id->value_or(0) : 0];
    }
    return raw;
  }

  std::string dir_;
  ServerOptions options_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(KeyRotationTest, RotationSealsNewWritesAndReencryptsEveryRecordOfTheTenant) {
  Start();
  ASSERT_GRPC_OK(client_->CreateShop("acme", "main"));
  ASSERT_GRPC_OK(client_->CreateShop("acme", "eu"));
  ASSERT_GRPC_OK(client_->CreateShop("acme", "empty"));
  ASSERT_GRPC_OK(client_->CreateShop("globex", "main"));
  ASSERT_GRPC_OK(client_->PutShop("acme", "main", 1, 300));
  ASSERT_GRPC_OK(client_->PutShop("acme", "eu", 1, 20));
  ASSERT_GRPC_OK(client_->PutShop("globex", "main", 1, 5));
  std::map<std::string, std::string> main_before = client_->ReadShop("acme", "main", 1, 300);
  std::map<std::string, std::string> eu_before = client_->ReadShop("acme", "eu", 1, 20);
  RawRecords raw_before = ScanRaw("acme", "main");
  EXPECT_EQ(raw_before.by_key, (std::map<uint32_t, int>{{1, 600}}));
  EXPECT_EQ(ToText(Status("acme")),
            "current 1 keys 1 referenced 1 idle; empty target 0 scanned 0 rewritten 0 done; eu "
            "target 0 scanned 0 rewritten 0 done; main target 0 scanned 0 rewritten 0 done");

  v1::RotateTenantKeyResponse rotated;
  ASSERT_GRPC_OK(client_->Rotate("acme", &rotated));
  EXPECT_EQ(rotated.new_key_id(), 2u);
  EXPECT_EQ(rotated.previous_key_id(), 1u);
  EXPECT_EQ(
      std::vector<std::string>(rotated.record_spaces().begin(), rotated.record_spaces().end()),
      (std::vector<std::string>{"empty", "eu", "main"}));
  // Written after the rotation: sealed with key 2 at once.
  ASSERT_GRPC_OK(client_->PutShop("acme", "eu", 21, 21));

  v1::GetTenantKeyStatusResponse status = WaitUntilReencrypted("acme");
  // 600 main records, 40 in eu rewritten, none in empty. The put above races the job: eu's
  // two new records are scanned only when the job reaches eu after the put, and are never
  // rewritten (already on key 2; the raw scan below shows it either way).
  ASSERT_EQ(status.record_spaces_size(), 3);
  const int64_t eu_scanned = status.record_spaces(1).records_scanned();
  EXPECT_TRUE(eu_scanned == 40 || eu_scanned == 42) << eu_scanned;
  EXPECT_EQ(ToText(status),
            "current 2 keys 1 2 referenced 2 idle; empty target 2 scanned 0 rewritten 0 done; eu "
            "target 2 scanned " +
                std::to_string(eu_scanned) +
                " rewritten 40 done; main target 2 scanned 600 rewritten 600 done");
  ASSERT_EQ(status.keys_size(), 2);
  EXPECT_EQ(status.keys(0).master_key_id(), status.keys(1).master_key_id());
  EXPECT_LE(status.keys(0).created_micros(), status.keys(1).created_micros());

  RawRecords raw_after = ScanRaw("acme", "main");
  EXPECT_EQ(raw_after.by_key, (std::map<uint32_t, int>{{2, 600}}));
  // Versions are kept byte for byte: re-encryption is no change of the record.
  EXPECT_EQ(raw_after.versions, raw_before.versions);
  EXPECT_EQ(ScanRaw("acme", "eu").by_key, (std::map<uint32_t, int>{{2, 42}}));
  // Another tenant's keys are its own.
  EXPECT_EQ(ScanRaw("globex", "main").by_key, (std::map<uint32_t, int>{{1, 10}}));
  EXPECT_EQ(client_->ReadShop("acme", "main", 1, 300), main_before);
  std::map<std::string, std::string> eu_after = client_->ReadShop("acme", "eu", 1, 20);
  EXPECT_EQ(eu_after, eu_before);
  EXPECT_NE(server_->RenderMetrics().find("recordstore_reencrypted_records_total 640\n"
                                          "# HELP recordstore_reencryptions_running Tenants "
                                          "whose records this process is re-encrypting now.\n"
                                          "# TYPE recordstore_reencryptions_running gauge\n"
                                          "recordstore_reencryptions_running 0\n"),
            std::string::npos)
      << server_->RenderMetrics();
}

TEST_F(KeyRotationTest, ASecondRotationDuringTheReencryptionRetargetsIt) {
  // 50 records per second: batches of 50, one per second, so the first pass is still running.
  options_.reencryption_records_per_second = 50;
  Start();
  ASSERT_GRPC_OK(client_->CreateShop("acme", "main"));
  ASSERT_GRPC_OK(client_->PutShop("acme", "main", 1, 100));
  v1::RotateTenantKeyResponse first;
  ASSERT_GRPC_OK(client_->Rotate("acme", &first));
  EXPECT_EQ(first.new_key_id(), 2u);
  // The first batch has moved records to key 2.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (OnlySpace("acme").records_rewritten() == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  v1::RotateTenantKeyResponse second;
  ASSERT_GRPC_OK(client_->Rotate("acme", &second));
  EXPECT_EQ(second.new_key_id(), 3u);
  EXPECT_EQ(second.previous_key_id(), 2u);
  // Key 1 stays in use until the re-encryption ends, whichever key it moves records to.
  v1::GetTenantKeyStatusResponse running = Status("acme");
  EXPECT_TRUE(running.reencrypting());
  EXPECT_EQ(std::vector<uint32_t>(running.referenced_key_ids().begin(),
                                  running.referenced_key_ids().end()),
            (std::vector<uint32_t>{1, 2, 3}));
  ASSERT_EQ(running.record_spaces_size(), 1);
  EXPECT_FALSE(running.record_spaces(0).done());

  v1::GetTenantKeyStatusResponse status = WaitUntilReencrypted("acme");
  EXPECT_EQ(status.current_key_id(), 3u);
  EXPECT_EQ(
      std::vector<uint32_t>(status.referenced_key_ids().begin(), status.referenced_key_ids().end()),
      (std::vector<uint32_t>{3}));
  ASSERT_EQ(status.record_spaces_size(), 1);
  // Every record visited again for key 3, those on key 2 too.
  EXPECT_EQ(ToText(status),
            "current 3 keys 1 2 3 referenced 3 idle; main target 3 scanned 200 rewritten 200 "
            "done");
  EXPECT_EQ(ScanRaw("acme", "main").by_key, (std::map<uint32_t, int>{{3, 200}}));
}

TEST_F(KeyRotationTest, ARestartInTheMiddleResumesTheReencryption) {
  // 10 records per second: a batch of 10, then a one-second pause, so the server is stopped
  // between batches with most records still on key 1.
  options_.reencryption_records_per_second = 10;
  Start();
  ASSERT_GRPC_OK(client_->CreateShop("acme", "main"));
  ASSERT_GRPC_OK(client_->PutShop("acme", "main", 1, 50));
  std::map<std::string, std::string> before = client_->ReadShop("acme", "main", 1, 50);
  v1::RotateTenantKeyResponse rotated;
  ASSERT_GRPC_OK(client_->Rotate("acme", &rotated));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (OnlySpace("acme").records_scanned() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Stop();

  options_.reencryption_records_per_second = 0;
  Start();
  RawRecords stopped = ScanRaw("acme", "main");
  // Stopped part way: some records on each key (the old one still readable).
  EXPECT_GT(stopped.by_key[1], 0) << ToText(Status("acme"));
  EXPECT_GT(stopped.by_key[2], 0) << ToText(Status("acme"));
  EXPECT_EQ(stopped.by_key[1] + stopped.by_key[2], 100);
  EXPECT_EQ(client_->ReadShop("acme", "main", 1, 50), before);

  // Resumed by the start alone, after the last committed batch: every record scanned once.
  v1::GetTenantKeyStatusResponse status = WaitUntilReencrypted("acme");
  EXPECT_EQ(ToText(status),
            "current 2 keys 1 2 referenced 2 idle; main target 2 scanned 100 rewritten 100 done");
  EXPECT_EQ(ScanRaw("acme", "main").by_key, (std::map<uint32_t, int>{{2, 100}}));
  EXPECT_EQ(client_->ReadShop("acme", "main", 1, 50), before);
}

TEST_F(KeyRotationTest, ADamagedRecordStopsTheReencryptionAndIsReported) {
  Start();
  ASSERT_GRPC_OK(client_->CreateShop("acme", "main"));
  ASSERT_GRPC_OK(client_->PutShop("acme", "main", 1, 3));
  // Flip a byte of order 2's ciphertext body (after the 2-byte header, the key id and nonce).
  std::string kv_key;
  std::string value;
  {
    std::unique_ptr<kv::Transaction> txn = server_->db().CreateTransaction();
    StatusOr<ResolvedSpace> space = server_->state().catalog->Resolve(*txn, "acme", "main");
    ASSERT_TRUE(space.ok()) << space.status();
    Tuple primary_key =
        Tuple::Of(space->schema->metadata->FindRecordType("Order")->record_type_key());
    primary_key.Append(int64_t{2});
    kv_key = space->data.Sub(Tuple::Of(1)).Sub(primary_key).Pack(Tuple::Of(cursor::kUnsplitSuffix));
    StatusOr<std::optional<std::string>> stored = txn->Get(kv_key);
    ASSERT_TRUE(stored.ok() && stored->has_value());
    value = **stored;
  }
  ASSERT_GT(value.size(), 30u);
  value[25] = static_cast<char>(value[25] ^ 0x01);
  std::unique_ptr<kv::Transaction> write = server_->db().CreateTransaction();
  write->Set(kv_key, value);
  ASSERT_TRUE(write->Commit().ok());

  v1::RotateTenantKeyResponse rotated;
  ASSERT_GRPC_OK(client_->Rotate("acme", &rotated));
  v1::GetTenantKeyStatusResponse status = Status("acme");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (status.error().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    status = Status("acme");
  }
  // Where and what: the record space, the record (Order is record type key 2), the error.
  const std::string error =
      "record space acme/main: record (2, 2): data_corruption (8004): stored record: "
      "authentication failed (tampered bytes, or a record stored under another key)";
  EXPECT_EQ(status.error(), error);
  // Still pending: key 1 stays in use, and nothing of the failed batch was committed.
  EXPECT_EQ(ToText(status),
            "current 2 keys 1 2 referenced 1 2 reencrypting; main target 0 scanned 0 rewritten 0 "
            "running; error " +
                error);
  EXPECT_EQ(ScanRaw("acme", "main").by_key, (std::map<uint32_t, int>{{1, 6}}));
}

TEST_F(KeyRotationTest, UnknownTenantIsNotFound) {
  Start();
  v1::RotateTenantKeyResponse rotated;
  grpc::Status status = client_->Rotate("nobody", &rotated);
  EXPECT_EQ(status.error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "not_found (8002): no tenant nobody");
  v1::GetTenantKeyStatusResponse key_status;
  status = client_->Status("nobody", &key_status);
  EXPECT_EQ(status.error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "not_found (8002): no tenant nobody");
  // No key was made for it.
  ASSERT_GRPC_OK(client_->CreateTenant("nobody"));
  EXPECT_EQ(ToText(Status("nobody")), "current 0 keys referenced idle");
}

TEST_F(KeyRotationTest, ATenantWithoutKeysGetsItsFirstKey) {
  Start();
  ASSERT_GRPC_OK(client_->CreateTenant("acme"));
  v1::RotateTenantKeyResponse rotated;
  ASSERT_GRPC_OK(client_->Rotate("acme", &rotated));
  EXPECT_EQ(rotated.new_key_id(), 1u);
  EXPECT_EQ(rotated.previous_key_id(), 0u);
  EXPECT_EQ(rotated.record_spaces_size(), 0);
  EXPECT_EQ(ToText(WaitUntilReencrypted("acme")), "current 1 keys 1 referenced 1 idle");
}

TEST_F(KeyRotationTest, EncryptionOffIsAFailedPreconditionSayingWhatToFix) {
  options_.encryption = false;
  Start();
  ASSERT_GRPC_OK(client_->CreateShop("acme", "main"));
  const std::string no_master_key =
      "encryption at rest: the server has no master key (it runs with --encryption=off and "
      "found no key file or RECORDSTORE_MASTER_KEY), so tenants have no data keys; start it "
      "with encryption on";
  v1::RotateTenantKeyResponse rotated;
  grpc::Status status = client_->Rotate("acme", &rotated);
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), no_master_key);
  v1::GetTenantKeyStatusResponse key_status;
  status = client_->Status("acme", &key_status);
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), no_master_key);
  Stop();

  // Encrypted records, then encryption off with the master key still found: the keys can be
  // read, not rotated.
  options_.encryption = true;
  Start();
  ASSERT_GRPC_OK(client_->CreateShop("globex", "main"));
  ASSERT_GRPC_OK(client_->PutShop("globex", "main", 1, 1));
  Stop();
  options_.encryption = false;
  Start();
  status = client_->Rotate("globex", &rotated);
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(),
            "encryption at rest: the server runs with --encryption=off, so new records would "
            "not be sealed with a new data key; restart it with --encryption=on to rotate data "
            "keys");
  EXPECT_EQ(ToText(Status("globex")),
            "current 1 keys 1 referenced 1 idle; main target 0 scanned 0 rewritten 0 done");
}

TEST_F(KeyRotationTest, DeletingATenantDropsItsPendingReencryption) {
  options_.reencryption_records_per_second = 10;
  Start();
  ASSERT_GRPC_OK(client_->CreateShop("acme", "main"));
  ASSERT_GRPC_OK(client_->PutShop("acme", "main", 1, 50));
  v1::RotateTenantKeyResponse rotated;
  ASSERT_GRPC_OK(client_->Rotate("acme", &rotated));
  EXPECT_TRUE(Status("acme").reencrypting());
  ASSERT_GRPC_OK(client_->DeleteTenant("acme"));
  v1::GetTenantKeyStatusResponse key_status;
  EXPECT_EQ(client_->Status("acme", &key_status).error_code(), StatusCode::NOT_FOUND);
  // A tenant of the same name starts clean, with the next key id (never reused).
  ASSERT_GRPC_OK(client_->CreateShop("acme", "main"));
  ASSERT_GRPC_OK(client_->PutShop("acme", "main", 1, 1));
  EXPECT_EQ(ToText(Status("acme")),
            "current 3 keys 3 referenced 3 idle; main target 0 scanned 0 rewritten 0 done");
  // And a restart resumes nothing for it.
  Stop();
  Start();
  EXPECT_EQ(server_->key_rotations().running(), 0);
}

}  // namespace
}  // namespace recordstore::server
