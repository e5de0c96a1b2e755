// recordstore_bench cursor: KeyValueCursor against raw range reads over the same transaction
// API, same data, same process.
//
//   scan_1m   one full scan of --keys keys (default 1,000,000, --value-size 100-byte values),
//             written first through the rocksdb:// engine (the EngineDatabase over RocksDB
//             storage that rocksdb:// URLs open, built directly so that the benchmark can
//             compact it before reading); each scan in a new transaction:
//     recordstore   KeyValueCursor over the subspace: every row comes back as a KeyValueRow
//                   (sharing its batch) in a CursorResult that can give its continuation
//                   (built from the row only when asked for; this scan does not ask)
//     engine        kv::RangeReader over the same byte range with the same batch sizes; rows
//                   are read in place and freed a batch at a time (the baseline)
//     engine_owned  the same batched Transaction::GetRange loop, but each row is moved out
//                   to the consumer and freed on its own: what handing out owned
//                   kv::KeyValues would cost (the reason KeyValueRow shares its batch)
// Every side looks at each row (sizes and last bytes of key and value) and checks the row
// count. One untimed scan per system warms the caches; then rounds rotate which system goes
// first. Throughput is keys divided by the *median* scan time (p50), not by the total: the
// machine is shared, and a scan that another process preempts should not decide the ratio.
// Latencies are per full scan.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "bench/bench.h"
#include "cursor/key_value_cursor.h"
#include "kv/engine/engine_database.h"
#include "kv/rocksdb/rocksdb_storage.h"
#include "recordstore/kv.h"

namespace recordstore::bench {
namespace {

void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

// What every side adds up, so that no loop can be optimized away.
int64_t sink = 0;

// What each side does with a row: looks at its key and value (sizes and last bytes).
void Consume(const std::string& key, const std::string& value) {
  sink += static_cast<int64_t>(key.size() + value.size());
  if (!key.empty()) sink += static_cast<uint8_t>(key.back());
  if (!value.empty()) sink += static_cast<uint8_t>(value.back());
}

struct ScanSetup {
  kv::Database* db;
  Subspace space;
  int64_t keys;
  kv::RangeBatching batching;
};

StatusOr<int64_t> ScanWithCursor(const ScanSetup& setup) {
  auto txn = setup.db->CreateTransaction();
  cursor::KeyValueCursorOptions options;
  options.batching = setup.batching;
  auto cursor = cursor::KeyValueCursor::Create(*txn, setup.space, cursor::KeyEndpoint::Open(),
                                               cursor::KeyEndpoint::Open(),
                                               cursor::Continuation::Start(), options);
  if (!cursor.ok()) return cursor.status();
  int64_t rows = 0;
  while (true) {
    auto result = (*cursor)->Next();
    if (!result.ok()) return result.status();
    if (!result->has_value()) break;
    Consume(result->value().key(), result->value().value());
    ++rows;
  }
  return rows;
}

StatusOr<int64_t> ScanWithRangeReader(const ScanSetup& setup) {
  auto txn = setup.db->CreateTransaction();
  cursor::ResolvedKeyRange range = cursor::ResolveKeyRange(setup.space, cursor::KeyEndpoint::Open(),
                                                           cursor::KeyEndpoint::Open());
  kv::RangeReader reader(*txn, range.begin, range.end, {}, setup.batching);
  int64_t rows = 0;
  while (true) {
    auto row = reader.Next();
    if (!row.ok()) return row.status();
    if (*row == nullptr) break;
    Consume((*row)->key, (*row)->value);
    ++rows;
  }
  return rows;
}

StatusOr<int64_t> ScanOwningRows(const ScanSetup& setup) {
  auto txn = setup.db->CreateTransaction();
  cursor::ResolvedKeyRange range = cursor::ResolveKeyRange(setup.space, cursor::KeyEndpoint::Open(),
                                                           cursor::KeyEndpoint::Open());
  int batch_rows = std::max(1, setup.batching.first_batch_rows);
  int64_t rows = 0;
  while (true) {
    kv::RangeOptions options;
    options.limit = batch_rows;
    auto batch = txn->GetRange(range.begin, range.end, options);
    if (!batch.ok()) return batch.status();
    if (batch->more && !batch->rows.empty()) {
      range.begin = kv::RangeEndpoint::Exclusive(batch->rows.back().key);
    }
    for (kv::KeyValue& row : batch->rows) {
      kv::KeyValue owned = std::move(row);
      Consume(owned.key, owned.value);
      ++rows;
    }
    if (!batch->more || batch->rows.empty()) break;
    batch_rows = std::min(batch_rows * 2, std::max(1, setup.batching.max_batch_rows));
  }
  return rows;
}

struct System {
  const char* name;
  std::function<StatusOr<int64_t>(const ScanSetup&)> scan;
  LatencyRecorder scans;
  // Seconds of each timed scan, in round order.
  std::vector<double> seconds;
  // Scans that ran past the 5 s read-version lifetime (transaction_too_old) on a busy machine
  // and were run again; they are not timed.
  int retries = 0;
};

void TimeScan(const ScanSetup& setup, System& system) {
  double start = NowSeconds();
  StatusOr<int64_t> rows = system.scan(setup);
  for (int attempt = 1; attempt < 4 && HasErrorCode(rows.status(), ErrorCode::kTransactionTooOld);
       ++attempt) {
    ++system.retries;
    start = NowSeconds();
    rows = system.scan(setup);
  }
  double seconds = NowSeconds() - start;
  Check(rows.status(), system.name);
  if (*rows != setup.keys) {
    std::fprintf(stderr, "%s scanned %lld rows, expected %lld\n", system.name,
                 static_cast<long long>(*rows), static_cast<long long>(setup.keys));
    std::exit(1);
  }
  system.scans.Record(seconds * 1e6);
  system.seconds.push_back(seconds);
}

// The median over rounds of baseline time / our time. The systems of one round run back to
// back, so this ratio follows the machine's load less than a ratio of separate medians does.
double MedianRoundRatio(const System& ours, const System& baseline) {
  std::vector<double> ratios;
  for (size_t r = 0; r < ours.seconds.size() && r < baseline.seconds.size(); ++r) {
    ratios.push_back(baseline.seconds[r] / ours.seconds[r]);
  }
  std::sort(ratios.begin(), ratios.end());
  return ratios.empty() ? 0 : ratios[ratios.size() / 2];
}

int RunCursor(const Options& options, Reporter& reporter) {
  int64_t keys = options.GetInt("keys", 1'000'000);
  int value_size = static_cast<int>(options.GetInt("value-size", 100));
  int rounds = static_cast<int>(options.GetInt("rounds", 9));
  kv::RangeBatching batching;
  batching.first_batch_rows = static_cast<int>(options.GetInt("first-batch", 64));
  batching.max_batch_rows = static_cast<int>(options.GetInt("max-batch", 8192));
  if (keys <= 0 || value_size < 0 || rounds <= 0) {
    std::fprintf(stderr, "need positive keys and rounds\n");
    return 2;
  }

  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("recordstore_bench_cursor_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    kv::DatabaseOptions db_options;
    db_options.sync_commits = false;
    auto storage = kv::OpenRocksDbStorage(dir.string());
    Check(storage.status(), "open rocksdb storage");
    auto opened = kv::EngineDatabase::Open(*std::move(storage), db_options);
    Check(opened.status(), "start recordstore");
    std::unique_ptr<kv::EngineDatabase> db = *std::move(opened);
    ScanSetup setup{db.get(), Subspace(Tuple::Of("bench", "cursor")), keys, batching};

    Progress("writing " + std::to_string(keys) + " keys");
    const std::string value(value_size, 'v');
    for (int64_t i = 0; i < keys; i += 1000) {
      Check(db->Run([&](kv::Transaction& txn) {
        for (int64_t j = i; j < std::min(keys, i + 1000); ++j) {
          txn.Set(setup.space.Pack(Tuple::Of(j)), value);
        }
        return absl::OkStatus();
      }),
            "write");
    }

    Progress("compacting, then one untimed scan per system");
    Check(db->CompactStorage(), "compact");
    std::vector<System> systems = {{"recordstore", ScanWithCursor, {}, {}, 0},
                                   {"engine", ScanWithRangeReader, {}, {}, 0},
                                   {"engine_owned", ScanOwningRows, {}, {}, 0}};
    for (System& system : systems) {
      TimeScan(setup, system);
      system.scans = LatencyRecorder();
      system.seconds.clear();
    }

    Progress("scan_1m: " + std::to_string(rounds) + " rounds per system");
    for (int r = 0; r < rounds; ++r) {
      for (size_t i = 0; i < systems.size(); ++i) {
        TimeScan(setup, systems[(r + i) % systems.size()]);
      }
    }
    for (System& system : systems) {
      // Keys per median scan time (see the file comment).
      Result result =
          MakeResult("scan_1m", system.name, keys, system.scans.Percentile(50) / 1e6, system.scans);
      result.params = {{"keys", std::to_string(keys)},
                       {"rounds", std::to_string(rounds)},
                       {"retries", std::to_string(system.retries)}};
      reporter.Add(result);
    }
    reporter.PrintRatio("scan_1m", "recordstore", "engine");
    reporter.PrintRatio("scan_1m", "recordstore", "engine_owned");
    if (!reporter.json()) {
      for (size_t i = 1; i < systems.size(); ++i) {
        std::printf("ratio    scan_1m          recordstore/%s per-round median = %.3f\n",
                    systems[i].name, MedianRoundRatio(systems[0], systems[i]));
      }
    }
  }
  std::filesystem::remove_all(dir);
  return sink == 0 ? 1 : 0;
}

RS_BENCH_SUITE(cursor, "KeyValueCursor vs raw range reads of the same keys: scan_1m", RunCursor);

}  // namespace
}  // namespace recordstore::bench
