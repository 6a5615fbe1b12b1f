// bench/propagation/bind_call.cpp — what does a ctxlog::bind()ed callable cost per call
// compared with calling the same callable directly? The callable adds to a counter.
#include "ctxlog/ctxlog.hpp"
#include "ratios.hpp"

namespace {
void plain_call(benchmark::State& st) {
  long n = 0;
  auto f = [&n] { ++n; };
  for (auto _ : st) {
    f();
    benchmark::DoNotOptimize(n);
  }
}
void bound_call(benchmark::State& st) {
  long n = 0;
  auto f = ctxlog::run(ctxlog::fields{}.request_id("bench-request"), [&] { return ctxlog::bind([&n] { ++n; }); });
  for (auto _ : st) {
    f();
    benchmark::DoNotOptimize(n);
  }
}
void bound_call_inside_same_context(benchmark::State& st) {
  long n = 0;
  ctxlog::scope s{ctxlog::fields{}.request_id("bench-request")};
  auto f = ctxlog::bind([&n] { ++n; });
  for (auto _ : st) {
    f();
    benchmark::DoNotOptimize(n);
  }
}
}  // namespace

BENCHMARK(plain_call);
BENCHMARK(bound_call);
BENCHMARK(bound_call_inside_same_context);

int main(int argc, char** argv) {
  return prop_bench::run(argc, argv,
                         {{"bound_call", "plain_call"}, {"bound_call_inside_same_context", "plain_call"}},
                         "delta <= 2 ns per call");
}
