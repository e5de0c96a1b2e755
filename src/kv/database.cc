#include <atomic>
#include <filesystem>
#include <system_error>

#include "kv/engine/engine_database.h"
#include "kv/etcd/etcd.h"
#include "kv/memory/memory_storage.h"
#include "kv/rocksdb/rocksdb_storage.h"
#include "recordstore/kv.h"

namespace recordstore::kv {

namespace {

uint64_t NextDatabaseId() {
  static std::atomic<uint64_t> next_id{1};
  return next_id.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

Database::Database() : id_(NextDatabaseId()) {}

StatusOr<std::unique_ptr<Database>> Database::Open(std::string_view url,
                                                   const DatabaseOptions& options) {
  constexpr std::string_view kMemory = "memory://";
  constexpr std::string_view kRocksDb = "rocksdb://";
  constexpr std::string_view kEtcd = "etcd://";
  if (url.substr(0, kMemory.size()) == kMemory) {
    auto database = EngineDatabase::Open(NewMemoryStorage(), options);
    if (!database.ok()) return database.status();
    return std::unique_ptr<Database>(*std::move(database));
  }
  if (url.substr(0, kRocksDb.size()) == kRocksDb) {
    std::string path(url.substr(kRocksDb.size()));
    if (path.empty() || path[0] != '/') {
      return MakeError(ErrorCode::kConnectionStringInvalid,
                       "rocksdb URLs take an absolute path: rocksdb:///var/lib/recordstore");
    }
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return MakeError(ErrorCode::kIoError, "cannot create " + path + ": " + ec.message());
    auto storage = OpenRocksDbStorage(path);
    if (!storage.ok()) return storage.status();
    auto database = EngineDatabase::Open(*std::move(storage), options);
    if (!database.ok()) return database.status();
    return std::unique_ptr<Database>(*std::move(database));
  }
  if (url.substr(0, kEtcd.size()) == kEtcd) return OpenEtcdDatabase(url, options);
  return MakeError(ErrorCode::kConnectionStringInvalid,
                   "unknown database URL '" + std::string(url) +
                       "' (expected memory://, rocksdb:///path or etcd://host:port,.../prefix)");
}

Status Database::Run(const std::function<Status(Transaction&)>& body,
                     const TransactionOptions& options) {
  std::unique_ptr<Transaction> txn = CreateTransaction(options);
  while (true) {
    Status status = body(*txn);
    if (status.ok()) status = txn->Commit();
    if (status.ok()) return status;
    Status retry = txn->OnError(status);
    if (!retry.ok()) return retry;
  }
}

}  // namespace recordstore::kv
