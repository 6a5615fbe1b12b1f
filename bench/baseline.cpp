// bench/baseline.cpp — what do the machine's primitive operations cost?
//
// Reference costs to read every other benchmark against: a relaxed atomic load (a level
// check), an uncontended atomic increment (a reference count), rdtsc (our timer), the
// wall clock ctxlog stamps records with, an uncontended mutex (the synchronous dispatch
// lock) and a thread_local read through an out-of-line function (how ctxlog reaches the
// current context). Google Benchmark, one thread.
#include <benchmark/benchmark.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <mutex>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace {

std::atomic<std::uint64_t> g_word{1};

void atomic_load_relaxed(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(g_word.load(std::memory_order_relaxed));
}
BENCHMARK(atomic_load_relaxed);

void atomic_increment_uncontended(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(g_word.fetch_add(1, std::memory_order_relaxed));
}
BENCHMARK(atomic_increment_uncontended);

// A reference count's release: the acq_rel decrement that ctxlog's context destructor does.
void atomic_decrement_acq_rel(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(g_word.fetch_sub(1, std::memory_order_acq_rel));
}
BENCHMARK(atomic_decrement_acq_rel);

#if defined(__x86_64__) || defined(__i386__)
void rdtsc(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(__rdtsc());
}
BENCHMARK(rdtsc);

// Intel's fenced start/stop pair (lfence; rdtsc; lfence ... rdtscp; lfence): shows why
// hot_path_latency times with bare rdtsc instead.
void rdtsc_fenced_pair(benchmark::State& state) {
  for (auto _ : state) {
    _mm_lfence();
    const std::uint64_t a = __rdtsc();
    _mm_lfence();
    unsigned aux;
    const std::uint64_t b = __rdtscp(&aux);
    _mm_lfence();
    benchmark::DoNotOptimize(b - a);
  }
}
BENCHMARK(rdtsc_fenced_pair);

// The bare pair hot_path_latency times each call with.
void rdtsc_pair(benchmark::State& state) {
  for (auto _ : state) {
    const std::uint64_t a = __rdtsc();
    benchmark::ClobberMemory();
    const std::uint64_t b = __rdtsc();
    benchmark::DoNotOptimize(b - a);
  }
}
BENCHMARK(rdtsc_pair);
#endif

void clock_gettime_realtime(benchmark::State& state) {
  timespec ts;
  for (auto _ : state) {
    ::clock_gettime(CLOCK_REALTIME, &ts);
    benchmark::DoNotOptimize(ts);
  }
}
BENCHMARK(clock_gettime_realtime);

// What ctxlog's synchronous dispatch pays for its lock when no other thread holds it.
void mutex_lock_unlock_uncontended(benchmark::State& state) {
  std::mutex mu;
  for (auto _ : state) {
    mu.lock();
    benchmark::ClobberMemory();
    mu.unlock();
  }
}
BENCHMARK(mutex_lock_unlock_uncontended);

thread_local std::uint64_t t_slot = 42;

// noinline: each read is a real call, like ctxlog::detail::current_slot() with clang
// (with g++ that read is inline).
[[gnu::noinline]] std::uint64_t& thread_slot() noexcept { return t_slot; }
[[gnu::noinline]] std::uint64_t& global_slot() noexcept {
  static std::uint64_t g = 42;
  return g;
}

void thread_local_out_of_line(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(thread_slot());
}
BENCHMARK(thread_local_out_of_line);

// The same call returning a global: the difference is the cost of reaching the TLS block.
void global_out_of_line(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(global_slot());
}
BENCHMARK(global_out_of_line);

}  // namespace

BENCHMARK_MAIN();
