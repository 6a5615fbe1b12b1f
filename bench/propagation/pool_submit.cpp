// bench/propagation/pool_submit.cpp — what does carrying the context cost a pool task?
// ctxlog::thread_pool::submit() (and post()) of an empty task, inside a request context,
// on a pool with context_policy::carry vs an identical pool with context_policy::none.
//
// One sample = one batch: the worker is held by a gate task while 256 tasks are
// submitted, then let go; the batch ends when the pool is idle. Time per task = (submit
// + run + future) / 256. The gate keeps the worker from sleeping and waking between
// tasks: those wake-ups cost microseconds and would hide the nanoseconds the context
// costs. Batches of the two pools alternate (paired samples), so drifts of the machine
// hit both alike; the ratio is that of the medians. Submitter on cpu 0, workers on cpu 1.
//
//   prop_pool_submit [batches per case, default 2000]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>
#include <vector>

#include "../harness.hpp"
#include "ctxlog/ctxlog.hpp"
#include "ctxlog/pool.hpp"

namespace {
constexpr int k_batch = 256;

double batch_ns(ctxlog::thread_pool& pool, bool with_future, std::vector<std::future<void>>& fs) {
  std::atomic<bool> open{false};
  const std::uint64_t t0 = bench::steady_ns();
  pool.post([&open] {
    while (!open.load(std::memory_order_acquire)) std::this_thread::yield();
  });
  for (int i = 0; i < k_batch; ++i) {
    if (with_future) fs.push_back(pool.submit([] {}));
    else pool.post([] {});
  }
  open.store(true, std::memory_order_release);
  pool.wait_idle();
  const std::uint64_t t1 = bench::steady_ns();
  fs.clear();
  return static_cast<double>(t1 - t0) / k_batch;
}
}  // namespace

int main(int argc, char** argv) {
  const int batches = argc > 1 ? std::max(10, std::atoi(argv[1])) : 2000;
  bench::pin_to_cpu(0);
  ctxlog::thread_pool carry{1, ctxlog::context_policy::carry};
  ctxlog::thread_pool none{1, ctxlog::context_policy::none};
  carry.submit([] { bench::pin_to_cpu(1); }).get();
  none.submit([] { bench::pin_to_cpu(1); }).get();

  ctxlog::scope s{ctxlog::fields{}.request_id("bench-request").tenant_id("acme")};
  std::vector<std::future<void>> fs;
  fs.reserve(k_batch);
  std::printf("pool_submit: ns per task, median of %d batches of %d per case, carry and none alternating\n",
              batches, k_batch);
  std::printf("%-26s %12s %12s %8s %10s\n", "call", "carry ns", "none ns", "ratio", "delta ns");
  for (const bool with_future : {true, false}) {
    std::vector<double> with_ctx, without;
    for (int i = 0; i < 20; ++i) {  // warm-up: allocator, queues, caches
      batch_ns(carry, with_future, fs);
      batch_ns(none, with_future, fs);
    }
    for (int i = 0; i < batches; ++i) {
      if (i % 2 == 0) {
        with_ctx.push_back(batch_ns(carry, with_future, fs));
        without.push_back(batch_ns(none, with_future, fs));
      } else {
        without.push_back(batch_ns(none, with_future, fs));
        with_ctx.push_back(batch_ns(carry, with_future, fs));
      }
    }
    const double c = bench::median(with_ctx), n = bench::median(without);
    std::printf("%-26s %12.1f %12.1f %8.3f %10.1f\n", with_future ? "submit (with a future)" : "post (fire and forget)",
                c, n, c / n, c - n);
  }
  std::printf("target: ratio <= 1.10 for submit of an empty task\n");
  return 0;
}
