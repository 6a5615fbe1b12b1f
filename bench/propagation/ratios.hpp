// bench/propagation/ratios.hpp — runs the Google Benchmark cases of one file and prints,
// after the usual table, each "with context" case as a ratio of its no-context baseline
// measured in the same run. Not part of ctxlog.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace prop_bench {

class recording_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    // Single runs by name; with --benchmark_repetitions, the median under the same name.
    for (const auto& r : runs) {
      if (r.error_occurred) continue;
      if (r.run_type == Run::RT_Iteration && !ns_.count(r.run_name.str()))
        ns_[r.run_name.str()] = r.GetAdjustedRealTime();  // default unit: ns
      else if (r.run_type == Run::RT_Aggregate && r.aggregate_name == "median")
        ns_[r.run_name.str()] = r.GetAdjustedRealTime();
    }
    ConsoleReporter::ReportRuns(runs);
  }
  const std::map<std::string, double>& ns() const { return ns_; }

 private:
  std::map<std::string, double> ns_;
};

// pairs: (with-context case, baseline case, target text).
inline int run(int argc, char** argv, const std::vector<std::pair<std::string, std::string>>& pairs,
               const char* target) {
  benchmark::Initialize(&argc, argv);
  std::printf("compiler: %s %s\n",
#if defined(__clang__)
              "clang++",
#else
              "g++",
#endif
              __VERSION__);
  recording_reporter rep;
  benchmark::RunSpecifiedBenchmarks(&rep);
  std::printf("\n%-44s %10s %10s %8s %10s\n", "with context vs baseline", "ctx ns", "base ns", "ratio", "delta ns");
  for (const auto& [with, base] : pairs) {
    const auto w = rep.ns().find(with), b = rep.ns().find(base);
    if (w == rep.ns().end() || b == rep.ns().end()) continue;
    std::printf("%-44s %10.2f %10.2f %8.3f %10.2f\n", with.c_str(), w->second, b->second, w->second / b->second,
                w->second - b->second);
  }
  std::printf("target: %s\n", target);
  benchmark::Shutdown();
  return 0;
}

}  // namespace prop_bench
