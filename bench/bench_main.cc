#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <sstream>

#include "bench/bench.h"

namespace recordstore::bench {
namespace {

struct Suite {
  std::string help;
  SuiteFn fn;
};

std::map<std::string, Suite>& Suites() {
  static std::map<std::string, Suite> suites;
  return suites;
}

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

bool LooksNumeric(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

int Usage() {
  std::cerr << "usage: recordstore_bench <suite> [--format=json] [--key=value ...]\n\nsuites:\n";
  for (const auto& [name, suite] : Suites())
    std::cerr << "  " << name << "  " << suite.help << "\n";
  return 2;
}

}  // namespace

void LatencyRecorder::Merge(const LatencyRecorder& other) {
  samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
  sorted_ = false;
}

double LatencyRecorder::Percentile(double p) const {
  if (samples_.empty()) return 0;
  if (!sorted_) {
    std::sort(samples_.begin(), samples_.end());
    sorted_ = true;
  }
  size_t index = static_cast<size_t>(std::ceil(p / 100.0 * samples_.size()));
  if (index > 0) --index;
  return samples_[std::min(index, samples_.size() - 1)];
}

Result MakeResult(std::string workload, std::string system, uint64_t ops, double seconds,
                  const LatencyRecorder& latencies) {
  Result r;
  r.workload = std::move(workload);
  r.system = std::move(system);
  r.ops_per_sec = seconds > 0 ? ops / seconds : 0;
  r.p50_us = latencies.Percentile(50);
  r.p99_us = latencies.Percentile(99);
  return r;
}

void Reporter::Add(const Result& r) {
  throughput_[{r.workload, r.system}] = r.ops_per_sec;
  if (json_) {
    std::ostringstream out;
    out.precision(6);
    out << "{\"suite\":\"" << JsonEscape(suite_) << "\",\"workload\":\"" << JsonEscape(r.workload)
        << "\",\"system\":\"" << JsonEscape(r.system) << "\",\"ops_per_sec\":" << std::fixed
        << r.ops_per_sec << ",\"p50_us\":" << r.p50_us << ",\"p99_us\":" << r.p99_us;
    for (const auto& [key, value] : r.params) {
      out << ",\"" << JsonEscape(key) << "\":";
      if (LooksNumeric(value)) {
        out << value;
      } else {
        out << "\"" << JsonEscape(value) << "\"";
      }
    }
    out << "}";
    std::cout << out.str() << std::endl;
    return;
  }
  std::printf("%-8s %-16s %-14s %14.0f ops/s   p50 %9.1f us   p99 %9.1f us", suite_.c_str(),
              r.workload.c_str(), r.system.c_str(), r.ops_per_sec, r.p50_us, r.p99_us);
  for (const auto& [key, value] : r.params) std::printf("   %s=%s", key.c_str(), value.c_str());
  std::printf("\n");
  std::fflush(stdout);
}

void Reporter::PrintRatio(const std::string& workload, const std::string& system,
                          const std::string& baseline, const std::string& note) {
  auto ours = throughput_.find({workload, system});
  auto base = throughput_.find({workload, baseline});
  if (json_ || ours == throughput_.end() || base == throughput_.end() || base->second <= 0) return;
  std::printf("ratio    %-16s %s/%s = %.3f%s%s\n", workload.c_str(), system.c_str(),
              baseline.c_str(), ours->second / base->second, note.empty() ? "" : "   ",
              note.c_str());
  std::fflush(stdout);
}

std::string Options::Get(const std::string& key, const std::string& fallback) const {
  auto it = flags.find(key);
  return it == flags.end() ? fallback : it->second;
}

int64_t Options::GetInt(const std::string& key, int64_t fallback) const {
  auto it = flags.find(key);
  return it == flags.end() ? fallback : std::stoll(it->second);
}

bool RegisterSuite(const std::string& name, const std::string& help, SuiteFn fn) {
  Suites()[name] = Suite{help, std::move(fn)};
  return true;
}

void Progress(const std::string& message) { std::cerr << "[bench] " << message << std::endl; }

}  // namespace recordstore::bench

int main(int argc, char** argv) {
  using namespace recordstore::bench;
  if (argc < 2) return Usage();
  std::string suite_name = argv[1];
  auto it = Suites().find(suite_name);
  if (it == Suites().end()) {
    std::cerr << "unknown suite '" << suite_name << "'\n";
    return Usage();
  }
  Options options;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      std::cerr << "unexpected argument '" << arg << "'\n";
      return Usage();
    }
    arg = arg.substr(2);
    size_t eq = arg.find('=');
    std::string key = arg.substr(0, eq);
    std::string value = eq == std::string::npos ? "true" : arg.substr(eq + 1);
    if (key == "format") {
      if (value != "json" && value != "text") {
        std::cerr << "--format must be json or text\n";
        return 2;
      }
      options.json = value == "json";
    } else {
      options.flags[key] = value;
    }
  }
  Reporter reporter(suite_name, options.json);
  return it->second.fn(options, reporter);
}
