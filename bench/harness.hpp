// bench/harness.hpp — the measuring tools the hand-written benchmarks share: the TSC
// clock and its calibration, thread pinning, percentiles and an optimisation barrier.
//
// Not part of ctxlog. Header-only so that each benchmark stays one file plus this.
#pragma once

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define CTXLOG_BENCH_HAS_TSC 1
#else
#define CTXLOG_BENCH_HAS_TSC 0
#endif

namespace bench {

// The request every benchmark logs for: ctxlog finds the IDs in the context, spdlog gets
// them as arguments.
struct request {
  std::string request_id = "r-7f3a9c2e";
  std::string tenant_id = "acme-corp";
  std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  std::string span_id = "00f067aa0ba902b7";
  std::string customer = "customer-4711";
};

// Keeps the compiler from deleting the computation of v (Google Benchmark's trick: small
// trivially copyable values may stay in a register, anything else goes through memory).
template <class T>
inline void do_not_optimize(T const& v) {
  if constexpr (std::is_trivially_copyable_v<T> && sizeof(T) <= sizeof(void*))
    asm volatile("" : : "r,m"(v) : "memory");
  else
    asm volatile("" : : "m"(v) : "memory");
}
template <class T>
inline void do_not_optimize(T& v) {
  if constexpr (std::is_trivially_copyable_v<T> && sizeof(T) <= sizeof(void*))
#if defined(__clang__)
    asm volatile("" : "+r,m"(v) : : "memory");
#else
    asm volatile("" : "+m,r"(v) : : "memory");
#endif
  else
    asm volatile("" : "+m"(v) : : "memory");
}
inline void clobber_memory() { asm volatile("" : : : "memory"); }

inline std::uint64_t steady_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// Start and stop stamps: a bare rdtsc each, with compiler barriers only, as Quill's
// hot_path_latency does. The lfence/rdtscp pattern from Intel's "How to benchmark code
// execution times" orders more strictly but costs ~55 ns a pair on this machine (see
// bench/baseline), more than the calls we time; bare rdtsc costs ~11 ns. Without a TSC
// both fall back to steady_clock.
inline std::uint64_t tsc_start() {
#if CTXLOG_BENCH_HAS_TSC
  std::atomic_signal_fence(std::memory_order_seq_cst);
  const std::uint64_t t = __rdtsc();
  std::atomic_signal_fence(std::memory_order_seq_cst);
  return t;
#else
  return steady_ns();
#endif
}
inline std::uint64_t tsc_stop() { return tsc_start(); }
// A plain read, for pacing loops where ordering does not matter.
inline std::uint64_t tsc_now() {
#if CTXLOG_BENCH_HAS_TSC
  return __rdtsc();
#else
  return steady_ns();
#endif
}

// TSC ticks per nanosecond, measured against steady_clock over about 100 ms.
inline double tsc_per_ns() {
#if CTXLOG_BENCH_HAS_TSC
  const std::uint64_t n0 = steady_ns(), t0 = tsc_now();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const std::uint64_t n1 = steady_ns(), t1 = tsc_now();
  return static_cast<double>(t1 - t0) / static_cast<double>(n1 - n0);
#else
  return 1.0;
#endif
}

// Busy-waits for ticks TSC ticks (a sleep would cost tens of microseconds and cool the caches).
inline void spin_for(std::uint64_t ticks) {
  const std::uint64_t until = tsc_now() + ticks;
  while (tsc_now() < until) {
#if CTXLOG_BENCH_HAS_TSC
    _mm_pause();
#endif
  }
}

// Pins the calling thread to one CPU; false (and a note on stderr) when that fails.
inline bool pin_to_cpu(unsigned cpu) {
  const unsigned n = std::max(1u, std::thread::hardware_concurrency());
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % n, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
    std::fprintf(stderr, "note: could not pin a thread to cpu %u\n", cpu % n);
    return false;
  }
  return true;
}

// The q-quantile (0..1) of sorted samples, nearest rank.
template <class T>
T quantile(const std::vector<T>& sorted, double q) {
  if (sorted.empty()) return T{};
  auto i = static_cast<std::size_t>(q * static_cast<double>(sorted.size()));
  return sorted[std::min(i, sorted.size() - 1)];
}

template <class T>
T median(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return quantile(v, 0.5);
}

}  // namespace bench
