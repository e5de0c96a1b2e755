// Suite `tuple`: encode and decode throughput of a typical 3-element key
// ("users", <int64 id>, "<name>@example.com"), against a raw_concat baseline that copies the
// same fields with length prefixes (no escaping, no order preservation): the floor any key
// encoding pays for copying bytes. Latency is timed per batch of kBatchOps operations and
// divided, since timing one ~100 ns operation would mostly measure the clock.
#include <cstring>
#include <string>
#include <vector>

#include "bench/bench.h"
#include "tuple/tuple.h"

namespace recordstore::bench {
namespace {

constexpr int kBatchOps = 1000;
constexpr size_t kDistinctKeys = 1024;  // small enough to stay in cache

struct KeyFields {
  std::string table;
  int64_t id;
  std::string email;
};

std::vector<KeyFields> MakeFields() {
  std::vector<KeyFields> fields;
  for (size_t i = 0; i < kDistinctKeys; ++i) {
    int64_t id = static_cast<int64_t>(i * 7919 + 1000003);
    fields.push_back({"users", id, "user" + std::to_string(id) + "@example.com"});
  }
  return fields;
}

std::string RawConcat(const KeyFields& key) {
  std::string out;
  out.reserve(2 + key.table.size() + 8 + key.email.size());
  out.push_back(static_cast<char>(key.table.size()));
  out.append(key.table);
  char id[8];
  std::memcpy(id, &key.id, sizeof(id));
  out.append(id, sizeof(id));
  out.push_back(static_cast<char>(key.email.size()));
  out.append(key.email);
  return out;
}

KeyFields RawSplit(std::string_view raw) {
  KeyFields key;
  size_t table_size = static_cast<uint8_t>(raw[0]);
  key.table.assign(raw.substr(1, table_size));
  std::memcpy(&key.id, raw.data() + 1 + table_size, sizeof(key.id));
  key.email.assign(raw.substr(1 + table_size + 8 + 1));
  return key;
}

// Runs `op(i)` for at least `ops` operations in timed batches and reports the result.
template <typename Op>
void Measure(const std::string& workload, const std::string& system, int64_t ops, size_t key_bytes,
             Reporter& reporter, Op op) {
  LatencyRecorder latencies;
  int64_t done = 0;
  double start = NowSeconds();
  while (done < ops) {
    double batch_start = NowSeconds();
    for (int i = 0; i < kBatchOps; ++i) {
      op(static_cast<size_t>(done + i) % kDistinctKeys);
    }
    latencies.Record((NowSeconds() - batch_start) * 1e6 / kBatchOps);
    done += kBatchOps;
  }
  Result result = MakeResult(workload, system, done, NowSeconds() - start, latencies);
  result.params = {{"ops", std::to_string(done)}, {"key_bytes", std::to_string(key_bytes)}};
  reporter.Add(result);
}

int RunTupleSuite(const Options& options, Reporter& reporter) {
  int64_t ops = options.GetInt("ops", 2'000'000);
  std::vector<KeyFields> fields = MakeFields();
  std::vector<Tuple> tuples;
  std::vector<std::string> packed;
  std::vector<std::string> raw;
  for (const KeyFields& key : fields) {
    tuples.push_back(Tuple::Of(key.table, key.id, key.email));
    packed.push_back(tuples.back().Pack());
    raw.push_back(RawConcat(key));
  }
  size_t key_bytes = packed[kDistinctKeys / 2].size();
  size_t raw_bytes = raw[kDistinctKeys / 2].size();
  // Consumed after each run so that the compiler cannot drop the work.
  size_t sink = 0;

  Progress("tuple: encode, " + std::to_string(ops) + " ops per system");
  Measure("encode", "recordstore", ops, key_bytes, reporter,
          [&](size_t i) { sink += tuples[i].Pack().size(); });
  Measure("encode", "raw_concat", ops, raw_bytes, reporter,
          [&](size_t i) { sink += RawConcat(fields[i]).size(); });
  reporter.PrintRatio("encode", "recordstore", "raw_concat");

  Progress("tuple: decode, " + std::to_string(ops) + " ops per system");
  Measure("decode", "recordstore", ops, key_bytes, reporter, [&](size_t i) {
    StatusOr<Tuple> tuple = Tuple::Unpack(packed[i]);
    sink += tuple.ok() ? tuple->size() : 0;
  });
  Measure("decode", "raw_concat", ops, raw_bytes, reporter,
          [&](size_t i) { sink += RawSplit(raw[i]).email.size(); });
  reporter.PrintRatio("decode", "recordstore", "raw_concat");

  if (sink == 0) {
    Progress("tuple: nothing was encoded");
  }
  return 0;
}

}  // namespace

RS_BENCH_SUITE(tuple,
               "FDB tuple encode/decode of (string, int64, string) keys vs raw_concat "
               "(--ops=N)",
               RunTupleSuite);

}  // namespace recordstore::bench
