// `recordstore demo`: a short, honest tour of what exists today — the transactional KV engine
// on a durable RocksDB data directory. Concurrent clients move money between accounts with
// optimistic transactions (conflicts are retried), every transfer appends to a versionstamped
// change log, and an audit proves the books balance. Run it twice: the data survives.
#include "cli/demo.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include "recordstore/kv.h"

namespace recordstore::cli {
namespace {

constexpr int kAccounts = 20;
constexpr int64_t kInitialBalance = 1000;
constexpr int64_t kExpectedTotal = kAccounts * kInitialBalance;

std::string AccountKey(int i) { return "demo/account/" + std::to_string(100 + i); }
const std::string kRunsKey = "demo/runs";
const std::string kLogPrefix = "demo/log/";

std::string EncodeInt(int64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(static_cast<uint64_t>(v) >> (8 * i));
  return out;
}

int64_t DecodeInt(const std::string& s) {
  uint64_t v = 0;
  for (size_t i = 0; i < s.size() && i < 8; ++i)
    v |= uint64_t{static_cast<unsigned char>(s[i])} << (8 * i);
  return static_cast<int64_t>(v);
}

std::string Hex(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// Reports a failed step; returns the demo's exit code for it.
int Fail(const char* what, const Status& status) {
  std::fprintf(stderr, "demo: %s: %s\n", what, status.ToString().c_str());
  return 1;
}

}  // namespace

int RunDemo(const std::string& data_dir, int threads, int transfers) {
  std::string path = std::filesystem::absolute(data_dir).lexically_normal().string() + "/kv";
  kv::DatabaseOptions options;
  options.sync_commits = true;  // every acknowledged commit is on disk
  auto opened = kv::Database::Open("rocksdb://" + path, options);
  if (!opened.ok()) return Fail("open", opened.status());
  kv::Database& db = **opened;
  std::printf("Opened rocksdb://%s (fsync on every commit batch)\n", path.c_str());

  // Open the accounts once, and count runs with a conflict-free atomic ADD.
  int64_t runs = 0;
  Status status = db.Run([&](kv::Transaction& txn) -> Status {
    auto first = txn.Get(AccountKey(0));
    if (!first.ok()) return first.status();
    if (!first->has_value()) {
      for (int i = 0; i < kAccounts; ++i) txn.Set(AccountKey(i), EncodeInt(kInitialBalance));
    }
    txn.AtomicOp(kv::MutationType::kAdd, kRunsKey, EncodeInt(1));
    auto previous = txn.Get(kRunsKey);  // read-your-writes: sees the ADD applied
    if (!previous.ok()) return previous.status();
    runs = DecodeInt(previous->value_or(""));
    return absl::OkStatus();
  });
  if (!status.ok()) return Fail("setup", status);
  std::printf("Run #%lld on this data directory; %d accounts of %lld each at creation\n",
              static_cast<long long>(runs), kAccounts, static_cast<long long>(kInitialBalance));

  std::printf("%d clients x %d transfers, each a serializable read-modify-write...\n", threads,
              transfers);
  std::atomic<int64_t> attempts{0};
  std::atomic<bool> failed{false};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  clients.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    clients.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(runs * 1000 + t));
      for (int i = 0; i < transfers && !failed; ++i) {
        int from = static_cast<int>(rng() % kAccounts);
        int to = static_cast<int>((from + 1 + rng() % (kAccounts - 1)) % kAccounts);
        int64_t amount = 1 + static_cast<int64_t>(rng() % 20);
        Status s = db.Run([&](kv::Transaction& txn) -> Status {
          attempts.fetch_add(1);
          auto a = txn.Get(AccountKey(from));
          if (!a.ok()) return a.status();
          auto b = txn.Get(AccountKey(to));
          if (!b.ok()) return b.status();
          int64_t balance = DecodeInt(a->value_or(""));
          if (balance < amount) return absl::OkStatus();  // insufficient funds: no transfer
          txn.Set(AccountKey(from), EncodeInt(balance - amount));
          txn.Set(AccountKey(to), EncodeInt(DecodeInt(b->value_or("")) + amount));
          // Change log entry: key = prefix + versionstamp, placed by the engine at commit.
          std::string log_key = kLogPrefix + std::string(10, '\0');
          uint32_t offset = static_cast<uint32_t>(kLogPrefix.size());
          for (int k = 0; k < 4; ++k) log_key.push_back(static_cast<char>(offset >> (8 * k)));
          txn.AtomicOp(kv::MutationType::kSetVersionstampedKey, log_key,
                       std::to_string(amount) + " from " + std::to_string(100 + from) + " to " +
                           std::to_string(100 + to));
          return absl::OkStatus();
        });
        if (!s.ok()) {
          Fail("transfer", s);
          failed = true;
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  if (failed) return 1;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int64_t done = int64_t{threads} * transfers;
  std::printf("  %lld transfers in %.2f s (%.0f/s), %lld retried after a conflict\n",
              static_cast<long long>(done), seconds, done / seconds,
              static_cast<long long>(attempts.load() - done));

  // Audit: one snapshot-consistent read of every account.
  int64_t total = 0;
  std::vector<kv::KeyValue> newest_log;
  status = db.Run([&](kv::Transaction& txn) -> Status {
    total = 0;
    auto accounts = txn.GetRange("demo/account/", "demo/account0");
    if (!accounts.ok()) return accounts.status();
    for (const auto& row : accounts->rows) total += DecodeInt(row.value);
    kv::RangeOptions last_five;
    last_five.limit = 5;
    last_five.reverse = true;
    auto log = txn.GetRange(kLogPrefix, "demo/log0", last_five);
    if (!log.ok()) return log.status();
    newest_log = log->rows;
    return absl::OkStatus();
  });
  if (!status.ok()) return Fail("audit", status);
  std::printf("Audit: total balance %lld (expected %lld) %s\n", static_cast<long long>(total),
              static_cast<long long>(kExpectedTotal), total == kExpectedTotal ? "OK" : "MISMATCH");
  std::printf("Newest change-log entries (key = versionstamp: commit version + batch order):\n");
  for (const auto& row : newest_log) {
    std::printf("  %s  %s\n", Hex(std::string_view(row.key).substr(kLogPrefix.size())).c_str(),
                row.value.c_str());
  }
  return total == kExpectedTotal ? 0 : 1;
}

}  // namespace recordstore::cli
