// bench/propagation/bind_call.cpp — what does a ctxlog::bind()ed callable cost per call
// compared with calling the same callable directly? Two callables: one that the compiler
// inlines (an increment: nothing else in the loop, so the bound call's save and restore
// of the thread's slot are fully exposed) and one that is a real function call (as most
// callbacks are, and as in bench/context_ops).
#include "ctxlog/ctxlog.hpp"
#include "ratios.hpp"

namespace {
[[gnu::noinline]] void work(long& n) {
  ++n;
  benchmark::ClobberMemory();
}

template <class Make>
void loop(benchmark::State& st, Make make) {
  long n = 0;
  auto f = make(n);
  for (auto _ : st) {
    f();
    benchmark::DoNotOptimize(n);
  }
}
auto inlined = [](long& n) { return [&n] { ++n; }; };
auto called = [](long& n) { return [&n] { work(n); }; };
template <class Inner>
auto bound_in_request(Inner inner) {
  return [inner](long& n) {
    return ctxlog::run(ctxlog::fields{}.request_id("bench-request"), [&] { return ctxlog::bind(inner(n)); });
  };
}

void plain_call(benchmark::State& st) { loop(st, inlined); }
void bound_call(benchmark::State& st) { loop(st, bound_in_request(inlined)); }
void bound_call_inside_same_context(benchmark::State& st) {
  ctxlog::scope s{ctxlog::fields{}.request_id("bench-request")};
  loop(st, [](long& n) { return ctxlog::bind(inlined(n)); });
}
void plain_call_of_function(benchmark::State& st) { loop(st, called); }
void bound_call_of_function(benchmark::State& st) { loop(st, bound_in_request(called)); }
}  // namespace

BENCHMARK(plain_call);
BENCHMARK(bound_call);
BENCHMARK(bound_call_inside_same_context);
BENCHMARK(plain_call_of_function);
BENCHMARK(bound_call_of_function);

int main(int argc, char** argv) {
  return prop_bench::run(argc, argv,
                         {{"bound_call", "plain_call"},
                          {"bound_call_inside_same_context", "plain_call"},
                          {"bound_call_of_function", "plain_call_of_function"}},
                         "delta <= 2 ns per call");
}
