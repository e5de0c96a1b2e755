// The benchmark harness shared by every recordstore_bench suite.
//
// A suite is a function registered under a name (`RS_BENCH_SUITE(kv, ...)`). It runs its
// workloads against Record-Store and against a baseline in the same process, and reports each
// (workload, system) pair through a Reporter, which prints a table with ratios or, with
// --format=json, one JSON object per line:
//   {"suite":..,"workload":..,"system":..,"ops_per_sec":..,"p50_us":..,"p99_us":.., params...}
#ifndef RECORDSTORE_BENCH_BENCH_H_
#define RECORDSTORE_BENCH_BENCH_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace recordstore::bench {

// Collects per-operation latencies (microseconds) and the wall time of a run.
class LatencyRecorder {
 public:
  void Record(double micros) { samples_.push_back(micros); }
  // Merges another recorder's samples (one per client thread).
  void Merge(const LatencyRecorder& other);
  double Percentile(double p) const;  // p in [0, 100]
  size_t count() const { return samples_.size(); }

 private:
  mutable std::vector<double> samples_;
  mutable bool sorted_ = false;
};

struct Result {
  std::string workload;
  std::string system;
  double ops_per_sec = 0;
  double p50_us = 0;
  double p99_us = 0;
  // Extra parameters printed with the row (e.g. {"clients","16"}); numbers stay numbers in JSON.
  std::vector<std::pair<std::string, std::string>> params;
};

// Builds a Result from `ops` operations done in `seconds` with the given latencies.
Result MakeResult(std::string workload, std::string system, uint64_t ops, double seconds,
                  const LatencyRecorder& latencies);

class Reporter {
 public:
  Reporter(std::string suite, bool json) : suite_(std::move(suite)), json_(json) {}
  void Add(const Result& result);
  // Text mode: prints "ratio <workload>: <system>/<baseline> = x" for every other system,
  // then `note` (e.g. "clients=16" when a workload runs with several parameter values: the
  // ratio is of the rows added last for the workload).
  void PrintRatio(const std::string& workload, const std::string& system,
                  const std::string& baseline, const std::string& note = "");
  bool json() const { return json_; }

 private:
  std::string suite_;
  bool json_;
  std::map<std::pair<std::string, std::string>, double> throughput_;
};

// Command-line options common to every suite, plus free-form --key=value flags.
struct Options {
  bool json = false;
  std::map<std::string, std::string> flags;
  std::string Get(const std::string& key, const std::string& fallback) const;
  int64_t GetInt(const std::string& key, int64_t fallback) const;
};

using SuiteFn = std::function<int(const Options&, Reporter&)>;
bool RegisterSuite(const std::string& name, const std::string& help, SuiteFn fn);

// Wall-clock seconds since an arbitrary epoch, for timing.
inline double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Prints a progress line to stderr (never to stdout, which carries results).
void Progress(const std::string& message);

// Raw key encodings for the suites' hand-written RocksDB baselines: 8 bytes big-endian, and
// a signed value mapped so that its byte order is its numeric order.
inline void AppendBigEndian(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}
inline uint64_t ReadBigEndian(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}
inline uint64_t Ordered(int64_t v) { return static_cast<uint64_t>(v) ^ (1ULL << 63); }
inline int64_t FromOrdered(uint64_t v) { return static_cast<int64_t>(v ^ (1ULL << 63)); }

}  // namespace recordstore::bench

#define RS_BENCH_SUITE(name, help, fn)           \
  static const bool rs_bench_registered_##name = \
      ::recordstore::bench::RegisterSuite(#name, help, fn)

#endif  // RECORDSTORE_BENCH_BENCH_H_
