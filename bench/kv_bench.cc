// recordstore_bench kv: the KV engine against raw RocksDB, same workload, same process.
// With --kv=etcd (a 3-member cluster started for the run) or --kv=etcd://h:p,.../ (an existing
// cluster), the etcd backend against raw etcd requests on the same cluster instead (see
// RunKvEtcd below).
//
// Both sides run on RocksDB with the same options (RocksDbTunedOptions) and the same
// durability (WAL written, not fsynced per commit, unless --sync), in fresh directories:
//   write         N keys (~200-byte values), 100 per transaction   | raw: 100-key WriteBatch
//   point_read    random Gets, 100 per read-only transaction        | raw: DB::Get
//   range_scan    1,000-row GetRange from a random key              | raw: iterator, 1,000 Next
//   rmw_contended T threads incrementing random hot keys, retrying | raw: OptimisticTransactionDB
// Both sides materialize the same rows (std::string key and value) so the scan compares
// equal work. Each workload runs in --rounds rounds alternating between the systems, so
// background compaction and machine noise fall on both alike. Latency percentiles are per
// transaction for write (100 keys), per Get for point_read, per scan for range_scan and per
// successful increment for rmw_contended.
#include <rocksdb/db.h>
#include <rocksdb/utilities/optimistic_transaction_db.h>
#include <rocksdb/utilities/transaction.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <random>
#include <thread>

#include "bench/bench.h"
#include "kv/engine/engine_database.h"
#include "kv/etcd/etcd_client.h"
#include "kv/etcd/etcd_cluster.h"
#include "kv/rocksdb/rocksdb_storage.h"
#include "recordstore/kv.h"

namespace recordstore::bench {
namespace {

struct KvParams {
  int64_t keys;
  int value_size;
  int batch;
  int64_t reads;
  int64_t scans;
  int scan_rows;
  int threads;
  int64_t rmw_ops;
  int hot_keys;
  bool sync;
  int rounds;
};

std::string KeyOf(int64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key%012lld", static_cast<long long>(i));
  return buf;
}

std::string ValueOf(int64_t i, int size) {
  std::string value(size, 'v');
  std::string tag = std::to_string(i);
  std::copy(tag.begin(), tag.end(), value.begin());
  return value;
}

std::string CounterKey(int i) { return "hot" + std::to_string(i); }

int64_t DecodeCounter(const std::string& s) { return s.empty() ? 0 : std::stoll(s); }

// A scratch directory removed when the benchmark ends.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name) {
    path_ = std::filesystem::temp_directory_path() /
            ("recordstore_bench_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

void Check(const rocksdb::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

// The insertion order: a seeded permutation, identical for both systems.
std::vector<int64_t> Permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
  return order;
}

// Work and latencies of one system, accumulated over rounds.
struct Tally {
  LatencyRecorder latencies;
  double seconds = 0;
  int64_t ops = 0;
  Result ToResult(const std::string& workload, const std::string& system) const {
    return MakeResult(workload, system, ops, seconds, latencies);
  }
};

// Writes keys order[from, to) in transactions of p.batch keys.
void WriteOurs(kv::Database& db, const KvParams& p, const std::vector<int64_t>& order, int64_t from,
               int64_t to, Tally& tally) {
  double start = NowSeconds();
  for (int64_t i = from; i < to; i += p.batch) {
    double t0 = NowSeconds();
    auto txn = db.CreateTransaction();
    for (int64_t j = i; j < std::min(to, i + p.batch); ++j) {
      txn->Set(KeyOf(order[j]), ValueOf(order[j], p.value_size));
    }
    Check(txn->Commit(), "commit");
    tally.latencies.Record((NowSeconds() - t0) * 1e6);
  }
  tally.seconds += NowSeconds() - start;
  tally.ops += to - from;
}

void WriteRaw(rocksdb::DB& db, const KvParams& p, const std::vector<int64_t>& order, int64_t from,
              int64_t to, Tally& tally) {
  rocksdb::WriteOptions options;
  options.sync = p.sync;
  double start = NowSeconds();
  for (int64_t i = from; i < to; i += p.batch) {
    double t0 = NowSeconds();
    rocksdb::WriteBatch batch;
    for (int64_t j = i; j < std::min(to, i + p.batch); ++j) {
      batch.Put(KeyOf(order[j]), ValueOf(order[j], p.value_size));
    }
    Check(db.Write(options, &batch), "write");
    tally.latencies.Record((NowSeconds() - t0) * 1e6);
  }
  tally.seconds += NowSeconds() - start;
  tally.ops += to - from;
}

void PointReadOurs(kv::Database& db, const KvParams& p, int64_t count, std::mt19937_64& rng,
                   Tally& tally) {
  double start = NowSeconds();
  for (int64_t i = 0; i < count; i += 100) {
    auto txn = db.CreateTransaction();
    for (int64_t j = i; j < std::min(count, i + 100); ++j) {
      double t0 = NowSeconds();
      auto value = txn->Get(KeyOf(static_cast<int64_t>(rng() % p.keys)));
      Check(value.status(), "get");
      if (!value->has_value()) std::fprintf(stderr, "point_read: missing key\n"), std::exit(1);
      tally.latencies.Record((NowSeconds() - t0) * 1e6);
    }
    Check(txn->Commit(), "commit");
  }
  tally.seconds += NowSeconds() - start;
  tally.ops += count;
}

void PointReadRaw(rocksdb::DB& db, const KvParams& p, int64_t count, std::mt19937_64& rng,
                  Tally& tally) {
  double start = NowSeconds();
  for (int64_t i = 0; i < count; ++i) {
    double t0 = NowSeconds();
    std::string value;
    Check(db.Get(rocksdb::ReadOptions(), KeyOf(static_cast<int64_t>(rng() % p.keys)), &value),
          "get");
    tally.latencies.Record((NowSeconds() - t0) * 1e6);
  }
  tally.seconds += NowSeconds() - start;
  tally.ops += count;
}

void ScanOurs(kv::Database& db, const KvParams& p, int64_t count, std::mt19937_64& rng,
              Tally& tally) {
  double start = NowSeconds();
  for (int64_t i = 0; i < count; ++i) {
    double t0 = NowSeconds();
    auto txn = db.CreateTransaction();
    kv::RangeOptions options;
    options.limit = p.scan_rows;
    auto rows = txn->GetRange(KeyOf(static_cast<int64_t>(rng() % (p.keys - p.scan_rows))),
                              std::string_view("\xff", 1), options);
    Check(rows.status(), "range");
    if (static_cast<int>(rows->rows.size()) != p.scan_rows) {
      std::fprintf(stderr, "range_scan: short scan\n");
      std::exit(1);
    }
    tally.latencies.Record((NowSeconds() - t0) * 1e6);
  }
  tally.seconds += NowSeconds() - start;
  tally.ops += count;
}

void ScanRaw(rocksdb::DB& db, const KvParams& p, int64_t count, std::mt19937_64& rng,
             Tally& tally) {
  double start = NowSeconds();
  for (int64_t i = 0; i < count; ++i) {
    double t0 = NowSeconds();
    std::vector<kv::KeyValue> rows;
    rows.reserve(p.scan_rows);
    std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(KeyOf(static_cast<int64_t>(rng() % (p.keys - p.scan_rows))));
         it->Valid() && static_cast<int>(rows.size()) < p.scan_rows; it->Next()) {
      rows.push_back({it->key().ToString(), it->value().ToString()});
    }
    Check(it->status(), "iterate");
    if (static_cast<int>(rows.size()) != p.scan_rows) {
      std::fprintf(stderr, "range_scan: short scan\n");
      std::exit(1);
    }
    tally.latencies.Record((NowSeconds() - t0) * 1e6);
  }
  tally.seconds += NowSeconds() - start;
  tally.ops += count;
}

// Increments of one rmw_contended system, accumulated over rounds.
struct RmwTally {
  Tally tally;
  std::atomic<int64_t> retries{0};
  Result ToResult(const KvParams& p, const std::string& system) const {
    Result r = tally.ToResult("rmw_contended", system);
    r.params = {{"clients", std::to_string(p.threads)},
                {"retries", std::to_string(retries.load())}};
    return r;
  }
};

// Runs `one_increment(rng)` `ops` times split over p.threads threads (thread t draws its keys
// from seed round_seed + t, so both systems of a round increment the same keys) into `rmw`.
template <typename Fn>
void RunThreads(const KvParams& p, int64_t ops, uint64_t round_seed, RmwTally& rmw,
                Fn one_increment) {
  std::vector<LatencyRecorder> per_thread(p.threads);
  std::vector<std::thread> threads;
  double start = NowSeconds();
  for (int t = 0; t < p.threads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(round_seed + t);
      for (int64_t i = t; i < ops; i += p.threads) {
        double t0 = NowSeconds();
        one_increment(rng);
        per_thread[t].Record((NowSeconds() - t0) * 1e6);
      }
    });
  }
  for (auto& th : threads) th.join();
  rmw.tally.seconds += NowSeconds() - start;
  rmw.tally.ops += ops;
  for (const auto& rec : per_thread) rmw.tally.latencies.Merge(rec);
}

// Exits when the hot keys' counters do not add up to every increment made.
void CheckNoLostUpdates(int64_t total, const RmwTally& rmw, const char* system) {
  if (total != rmw.tally.ops) {
    std::fprintf(stderr, "rmw %s: lost updates (%lld of %lld)\n", system,
                 static_cast<long long>(total), static_cast<long long>(rmw.tally.ops));
    std::exit(1);
  }
}

void RunRmwOurs(kv::Database& db, const KvParams& p, int64_t ops, uint64_t round_seed,
                RmwTally& rmw) {
  RunThreads(p, ops, round_seed, rmw, [&](std::mt19937_64& rng) {
    std::string key = CounterKey(static_cast<int>(rng() % p.hot_keys));
    bool first = true;
    Check(db.Run([&](kv::Transaction& txn) -> Status {
      if (!first) rmw.retries.fetch_add(1);
      first = false;
      auto value = txn.Get(key);
      if (!value.ok()) return value.status();
      txn.Set(key, std::to_string(DecodeCounter(value->value_or("")) + 1));
      return absl::OkStatus();
    }),
          "rmw");
  });
  int64_t total = 0;
  auto txn = db.CreateTransaction();
  for (int i = 0; i < p.hot_keys; ++i)
    total += DecodeCounter(txn->Get(CounterKey(i))->value_or(""));
  CheckNoLostUpdates(total, rmw, "recordstore");
}

void RunRmwRaw(rocksdb::OptimisticTransactionDB& db, const KvParams& p, int64_t ops,
               uint64_t round_seed, RmwTally& rmw) {
  rocksdb::WriteOptions write_options;
  write_options.sync = p.sync;
  RunThreads(p, ops, round_seed, rmw, [&](std::mt19937_64& rng) {
    std::string key = CounterKey(static_cast<int>(rng() % p.hot_keys));
    while (true) {
      std::unique_ptr<rocksdb::Transaction> txn(db.BeginTransaction(write_options));
      std::string value;
      rocksdb::Status s = txn->GetForUpdate(rocksdb::ReadOptions(), key, &value);
      if (s.IsNotFound())
        value.clear();
      else
        Check(s, "get for update");
      Check(txn->Put(key, std::to_string(DecodeCounter(value) + 1)), "put");
      s = txn->Commit();
      if (s.ok()) return;
      if (!s.IsBusy() && !s.IsTryAgain()) Check(s, "commit");
      rmw.retries.fetch_add(1);
    }
  });
  int64_t total = 0;
  for (int i = 0; i < p.hot_keys; ++i) {
    std::string value;
    if (db.GetBaseDB()->Get(rocksdb::ReadOptions(), CounterKey(i), &value).ok()) {
      total += DecodeCounter(value);
    }
  }
  CheckNoLostUpdates(total, rmw, "rocksdb");
}

// --- The etcd backend against raw etcd ---
//
// Both systems run on one cluster, under different key prefixes, with the same concurrency:
//   write         N keys, p.batch per transaction       | raw: one Txn of p.batch Puts
//   point_read    random Gets, 100 per read-only txn    | raw: one (linearizable) Range per Get
//   range_scan    p.scan_rows-row GetRange              | raw: one Range with that limit
//   rmw_contended T threads incrementing hot keys       | raw: Range, then Txn comparing the
//                                                       |      key's mod_revision (etcd's CAS)
// Every workload, rmw_contended included, runs in --rounds rounds alternating between the
// systems. The backend pays for its guarantees: a read version per transaction (one
// linearizable request, which also carries the transaction's first read), the commit clock and
// idempotency marker in every commit, value tags.

void CheckEtcd(const grpc::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what, s.error_message().c_str());
    std::exit(1);
  }
}

// Sends `request` until the cluster answers (raw etcd clients retry the same way).
etcdserverpb::TxnResponse RawTxn(kv::etcd::EtcdClient& client,
                                 const etcdserverpb::TxnRequest& request) {
  etcdserverpb::TxnResponse response;
  for (int attempt = 0;; ++attempt) {
    response.Clear();
    grpc::Status s =
        client.TxnOnce(request, &response, kv::etcd::Clock::now() + std::chrono::seconds(10));
    if (s.ok()) return response;
    if (!kv::etcd::IsUnreachable(s) || attempt == 20) CheckEtcd(s, "raw txn");
  }
}

etcdserverpb::RangeResponse RawRange(kv::etcd::EtcdClient& client, const std::string& key,
                                     const std::string& end, int64_t limit) {
  etcdserverpb::RangeRequest request;
  request.set_key(key);
  if (!end.empty()) request.set_range_end(end);
  request.set_limit(limit);
  etcdserverpb::RangeResponse response;
  Check(client.Range(request, &response), "raw range");
  return response;
}

void WriteRawEtcd(kv::etcd::EtcdClient& client, const std::string& prefix, const KvParams& p,
                  const std::vector<int64_t>& order, int64_t from, int64_t to, Tally& tally) {
  double start = NowSeconds();
  for (int64_t i = from; i < to; i += p.batch) {
    double t0 = NowSeconds();
    etcdserverpb::TxnRequest request;
    for (int64_t j = i; j < std::min(to, i + p.batch); ++j) {
      auto* put = request.add_success()->mutable_request_put();
      put->set_key(prefix + KeyOf(order[j]));
      put->set_value(ValueOf(order[j], p.value_size));
    }
    RawTxn(client, request);
    tally.latencies.Record((NowSeconds() - t0) * 1e6);
  }
  tally.seconds += NowSeconds() - start;
  tally.ops += to - from;
}

void PointReadRawEtcd(kv::etcd::EtcdClient& client, const std::string& prefix, const KvParams& p,
                      int64_t count, std::mt19937_64& rng, Tally& tally) {
  double start = NowSeconds();
  for (int64_t i = 0; i < count; ++i) {
    double t0 = NowSeconds();
    auto response = RawRange(client, prefix + KeyOf(static_cast<int64_t>(rng() % p.keys)), "", 0);
    if (response.kvs_size() != 1) {
      std::fprintf(stderr, "point_read raw: missing key\n");
      std::exit(1);
    }
    tally.latencies.Record((NowSeconds() - t0) * 1e6);
  }
  tally.seconds += NowSeconds() - start;
  tally.ops += count;
}

void ScanRawEtcd(kv::etcd::EtcdClient& client, const std::string& prefix, const KvParams& p,
                 int64_t count, std::mt19937_64& rng, Tally& tally) {
  double start = NowSeconds();
  for (int64_t i = 0; i < count; ++i) {
    double t0 = NowSeconds();
    auto response =
        RawRange(client, prefix + KeyOf(static_cast<int64_t>(rng() % (p.keys - p.scan_rows))),
                 prefix + "\xff", p.scan_rows);
    std::vector<kv::KeyValue> rows;
    rows.reserve(p.scan_rows);
    for (const auto& kv : response.kvs()) rows.push_back({kv.key(), kv.value()});
    if (static_cast<int>(rows.size()) != p.scan_rows) {
      std::fprintf(stderr, "range_scan raw: short scan\n");
      std::exit(1);
    }
    tally.latencies.Record((NowSeconds() - t0) * 1e6);
  }
  tally.seconds += NowSeconds() - start;
  tally.ops += count;
}

void RunRmwRawEtcd(kv::etcd::EtcdClient& client, const std::string& prefix, const KvParams& p,
                   int64_t ops, uint64_t round_seed, RmwTally& rmw) {
  RunThreads(p, ops, round_seed, rmw, [&](std::mt19937_64& rng) {
    std::string key = prefix + CounterKey(static_cast<int>(rng() % p.hot_keys));
    while (true) {
      auto current = RawRange(client, key, "", 0);
      int64_t value = current.kvs_size() == 0 ? 0 : DecodeCounter(current.kvs(0).value());
      etcdserverpb::TxnRequest request;
      auto* compare = request.add_compare();
      compare->set_target(etcdserverpb::Compare::MOD);
      compare->set_result(etcdserverpb::Compare::EQUAL);
      compare->set_key(key);
      compare->set_mod_revision(current.kvs_size() == 0 ? 0 : current.kvs(0).mod_revision());
      auto* put = request.add_success()->mutable_request_put();
      put->set_key(key);
      put->set_value(std::to_string(value + 1));
      if (RawTxn(client, request).succeeded()) return;
      rmw.retries.fetch_add(1);
    }
  });
  int64_t total = 0;
  for (int i = 0; i < p.hot_keys; ++i) {
    auto response = RawRange(client, prefix + CounterKey(i), "", 0);
    if (response.kvs_size() > 0) total += DecodeCounter(response.kvs(0).value());
  }
  CheckNoLostUpdates(total, rmw, "etcd");
}

int RunKvEtcd(const Options& options, Reporter& reporter, const std::string& url) {
  // Smaller defaults than the embedded engine's: every operation is a network round trip
  // through Raft, and the run should take minutes.
  KvParams p;
  p.keys = options.GetInt("keys", 20'000);
  p.value_size = static_cast<int>(options.GetInt("value-size", 200));
  p.batch = static_cast<int>(options.GetInt("batch", 100));
  p.reads = options.GetInt("reads", 20'000);
  p.scans = options.GetInt("scans", 400);
  p.scan_rows = static_cast<int>(options.GetInt("scan-rows", 1'000));
  p.threads = static_cast<int>(options.GetInt("threads", 16));
  p.rmw_ops = options.GetInt("rmw-ops", 3'000);
  p.hot_keys = static_cast<int>(options.GetInt("hot-keys", 100));
  p.rounds = static_cast<int>(options.GetInt("rounds", 4));
  if (p.keys <= p.scan_rows || p.batch <= 0 || p.threads <= 0 || p.hot_keys <= 0 || p.rounds <= 0) {
    std::fprintf(stderr, "need keys > scan-rows and positive batch, threads, hot-keys, rounds\n");
    return 2;
  }

  std::unique_ptr<kv::etcd::EtcdCluster> cluster;
  std::string endpoints;
  if (url == "etcd") {
    Progress("starting a 3-member etcd cluster");
    auto started = kv::etcd::EtcdCluster::Start();
    Check(started.status(), "start etcd");
    cluster = *std::move(started);
    endpoints = cluster->Endpoints();
  } else {
    endpoints = url.substr(std::string_view("etcd://").size());
    endpoints = endpoints.substr(0, endpoints.find('/'));
  }
  const std::string prefix = "recordstore_bench_" + std::to_string(::getpid());
  auto opened = kv::Database::Open("etcd://" + endpoints + "/" + prefix);
  Check(opened.status(), "open recordstore on etcd");
  std::unique_ptr<kv::Database> ours = *std::move(opened);
  std::vector<std::string> endpoint_list;
  for (size_t start = 0; start <= endpoints.size();) {
    size_t comma = std::min(endpoints.find(',', start), endpoints.size());
    endpoint_list.push_back(endpoints.substr(start, comma - start));
    start = comma + 1;
  }
  kv::etcd::EtcdClient raw(endpoint_list);
  const std::string raw_prefix = prefix + "_raw/";

  std::vector<int64_t> order = Permutation(p.keys, 42);
  Progress("write: " + std::to_string(p.keys) + " keys through each system");
  Tally ours_tally, raw_tally;
  for (int r = 0; r < p.rounds; ++r) {
    int64_t from = p.keys * r / p.rounds;
    int64_t to = p.keys * (r + 1) / p.rounds;
    WriteOurs(*ours, p, order, from, to, ours_tally);
    WriteRawEtcd(raw, raw_prefix, p, order, from, to, raw_tally);
  }
  reporter.Add(ours_tally.ToResult("write", "recordstore"));
  reporter.Add(raw_tally.ToResult("write", "etcd"));
  reporter.PrintRatio("write", "recordstore", "etcd");

  Progress("point_read: " + std::to_string(p.reads) + " random reads");
  ours_tally = Tally();
  raw_tally = Tally();
  std::mt19937_64 ours_rng(7), raw_rng(7);
  for (int r = 0; r < p.rounds; ++r) {
    PointReadOurs(*ours, p, p.reads / p.rounds, ours_rng, ours_tally);
    PointReadRawEtcd(raw, raw_prefix, p, p.reads / p.rounds, raw_rng, raw_tally);
  }
  reporter.Add(ours_tally.ToResult("point_read", "recordstore"));
  reporter.Add(raw_tally.ToResult("point_read", "etcd"));
  reporter.PrintRatio("point_read", "recordstore", "etcd");

  Progress("range_scan: " + std::to_string(p.scans) + " scans of " + std::to_string(p.scan_rows));
  ours_tally = Tally();
  raw_tally = Tally();
  ours_rng.seed(9);
  raw_rng.seed(9);
  for (int r = 0; r < p.rounds; ++r) {
    ScanOurs(*ours, p, p.scans / p.rounds, ours_rng, ours_tally);
    ScanRawEtcd(raw, raw_prefix, p, p.scans / p.rounds, raw_rng, raw_tally);
  }
  reporter.Add(ours_tally.ToResult("range_scan", "recordstore"));
  reporter.Add(raw_tally.ToResult("range_scan", "etcd"));
  reporter.PrintRatio("range_scan", "recordstore", "etcd");

  Progress("rmw_contended: " + std::to_string(p.threads) + " threads, " +
           std::to_string(p.hot_keys) + " hot keys");
  // In alternating rounds like the other workloads: a single long run per system let load
  // from outside the benchmark fall on one system only.
  RmwTally ours_rmw, raw_rmw;
  for (int r = 0; r < p.rounds; ++r) {
    const int64_t ops = p.rmw_ops * (r + 1) / p.rounds - p.rmw_ops * r / p.rounds;
    const uint64_t seed = 1000 + static_cast<uint64_t>(r) * p.threads;
    RunRmwOurs(*ours, p, ops, seed, ours_rmw);
    RunRmwRawEtcd(raw, raw_prefix, p, ops, seed, raw_rmw);
  }
  reporter.Add(ours_rmw.ToResult(p, "recordstore"));
  reporter.Add(raw_rmw.ToResult(p, "etcd"));
  reporter.PrintRatio("rmw_contended", "recordstore", "etcd");
  return 0;
}

int RunKv(const Options& options, Reporter& reporter) {
  KvParams p;
  p.keys = options.GetInt("keys", 1'000'000);
  p.value_size = static_cast<int>(options.GetInt("value-size", 200));
  p.batch = static_cast<int>(options.GetInt("batch", 100));
  p.reads = options.GetInt("reads", 300'000);
  p.scans = options.GetInt("scans", 2'000);
  p.scan_rows = static_cast<int>(options.GetInt("scan-rows", 1'000));
  p.threads = static_cast<int>(options.GetInt("threads", 16));
  p.rmw_ops = options.GetInt("rmw-ops", 50'000);
  p.hot_keys = static_cast<int>(options.GetInt("hot-keys", 100));
  p.sync = options.Get("sync", "false") == "true";
  p.rounds = static_cast<int>(options.GetInt("rounds", 10));
  std::string url = options.Get("kv", "");
  if (url == "etcd" || url.rfind("etcd://", 0) == 0) return RunKvEtcd(options, reporter, url);
  if (!url.empty()) {
    std::fprintf(stderr, "--kv=%s: expected --kv=etcd or --kv=etcd://host:port,...\n", url.c_str());
    return 2;
  }
  if (p.keys <= p.scan_rows || p.batch <= 0 || p.threads <= 0 || p.hot_keys <= 0 || p.rounds <= 0) {
    std::fprintf(stderr, "need keys > scan-rows and positive batch, threads, hot-keys, rounds\n");
    return 2;
  }

  ScratchDir ours_dir("kv_ours");
  ScratchDir raw_dir("kv_raw");
  ScratchDir rmw_dir("kv_raw_rmw");
  kv::DatabaseOptions db_options;
  db_options.sync_commits = p.sync;
  // The engine is built directly (not through Database::Open) so the benchmark can compact
  // its storage; it is the same EngineDatabase that rocksdb:// URLs open.
  auto storage = kv::OpenRocksDbStorage(ours_dir.path());
  Check(storage.status(), "open recordstore");
  auto opened = kv::EngineDatabase::Open(*std::move(storage), db_options);
  Check(opened.status(), "start recordstore");
  std::unique_ptr<kv::EngineDatabase> ours = *std::move(opened);
  rocksdb::DB* raw_ptr = nullptr;
  Check(rocksdb::DB::Open(kv::RocksDbTunedOptions(), raw_dir.path(), &raw_ptr), "open rocksdb");
  std::unique_ptr<rocksdb::DB> raw(raw_ptr);

  std::vector<int64_t> order = Permutation(p.keys, 42);
  Progress("write: " + std::to_string(p.keys) + " keys through each system");
  Tally ours_tally, raw_tally;
  for (int r = 0; r < p.rounds; ++r) {
    int64_t from = p.keys * r / p.rounds;
    int64_t to = p.keys * (r + 1) / p.rounds;
    WriteOurs(*ours, p, order, from, to, ours_tally);
    WriteRaw(*raw, p, order, from, to, raw_tally);
  }
  reporter.Add(ours_tally.ToResult("write", "recordstore"));
  reporter.Add(raw_tally.ToResult("write", "rocksdb"));
  reporter.PrintRatio("write", "recordstore", "rocksdb");

  // Fully compact both, so the read workloads start from the same shape of data on both
  // sides instead of whatever flushes and compactions happened to leave.
  Progress("compacting both stores before the read workloads");
  Check(ours->CompactStorage(), "compact recordstore");
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  Check(raw->CompactRange(compact, nullptr, nullptr), "compact rocksdb");

  Progress("point_read: " + std::to_string(p.reads) + " random reads");
  ours_tally = Tally();
  raw_tally = Tally();
  std::mt19937_64 ours_rng(7), raw_rng(7);
  for (int r = 0; r < p.rounds; ++r) {
    PointReadOurs(*ours, p, p.reads / p.rounds, ours_rng, ours_tally);
    PointReadRaw(*raw, p, p.reads / p.rounds, raw_rng, raw_tally);
  }
  reporter.Add(ours_tally.ToResult("point_read", "recordstore"));
  reporter.Add(raw_tally.ToResult("point_read", "rocksdb"));
  reporter.PrintRatio("point_read", "recordstore", "rocksdb");

  Progress("range_scan: " + std::to_string(p.scans) + " scans of " + std::to_string(p.scan_rows));
  ours_tally = Tally();
  raw_tally = Tally();
  ours_rng.seed(9);
  raw_rng.seed(9);
  for (int r = 0; r < p.rounds; ++r) {
    ScanOurs(*ours, p, p.scans / p.rounds, ours_rng, ours_tally);
    ScanRaw(*raw, p, p.scans / p.rounds, raw_rng, raw_tally);
  }
  reporter.Add(ours_tally.ToResult("range_scan", "recordstore"));
  reporter.Add(raw_tally.ToResult("range_scan", "rocksdb"));
  reporter.PrintRatio("range_scan", "recordstore", "rocksdb");
  raw.reset();

  Progress("rmw_contended: " + std::to_string(p.threads) + " threads, " +
           std::to_string(p.hot_keys) + " hot keys");
  rocksdb::OptimisticTransactionDB* rmw_ptr = nullptr;
  Check(rocksdb::OptimisticTransactionDB::Open(kv::RocksDbTunedOptions(), rmw_dir.path(), &rmw_ptr),
        "open optimistic rocksdb");
  std::unique_ptr<rocksdb::OptimisticTransactionDB> rmw(rmw_ptr);
  RmwTally ours_rmw, raw_rmw;
  RunRmwOurs(*ours, p, p.rmw_ops, 1000, ours_rmw);
  RunRmwRaw(*rmw, p, p.rmw_ops, 1000, raw_rmw);
  reporter.Add(ours_rmw.ToResult(p, "recordstore"));
  reporter.Add(raw_rmw.ToResult(p, "rocksdb"));
  reporter.PrintRatio("rmw_contended", "recordstore", "rocksdb");
  return 0;
}

RS_BENCH_SUITE(kv,
               "KV engine vs raw RocksDB (--kv=etcd: etcd backend vs raw etcd): write, "
               "point_read, range_scan, rmw_contended",
               RunKv);

}  // namespace
}  // namespace recordstore::bench
