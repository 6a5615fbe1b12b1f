// bench/propagation/pool_submit.cpp — what does carrying the context cost a pool task?
// ctxlog::thread_pool::submit() of an empty task, inside a request context, with
// context_policy::carry vs the same pool with context_policy::none. Each batch: the
// worker is held by a gate task while 256 tasks are submitted, then let go, and the
// batch ends when the pool is idle; time per task = (submit + run + future) / 256. The
// gate keeps the worker from sleeping and waking between tasks: those wake-ups cost
// microseconds, vary by tens of percent from run to run here, and would hide the
// nanoseconds the context costs.
#include "ctxlog/ctxlog.hpp"
#include "ctxlog/pool.hpp"
#include "ratios.hpp"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace {
constexpr int batch = 256;

void submit_batch(benchmark::State& st, ctxlog::context_policy policy, bool with_future) {
  ctxlog::thread_pool pool{1, policy};
  ctxlog::scope s{ctxlog::fields{}.request_id("bench-request").tenant_id("acme")};
  std::vector<std::future<void>> fs;
  fs.reserve(batch);
  for (auto _ : st) {
    std::atomic<bool> open{false};
    pool.post([&open] {
      while (!open.load(std::memory_order_acquire)) std::this_thread::yield();
    });
    for (int i = 0; i < batch; ++i) {
      if (with_future) fs.push_back(pool.submit([] {}));
      else pool.post([] {});
    }
    open.store(true, std::memory_order_release);
    pool.wait_idle();
    fs.clear();
  }
  st.SetItemsProcessed(st.iterations() * batch);
  st.counters["ns/task"] = benchmark::Counter(static_cast<double>(st.iterations() * batch),
                                              benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
}  // namespace

BENCHMARK_CAPTURE(submit_batch, submit_carry, ctxlog::context_policy::carry, true)->UseRealTime();
BENCHMARK_CAPTURE(submit_batch, submit_none, ctxlog::context_policy::none, true)->UseRealTime();
BENCHMARK_CAPTURE(submit_batch, post_carry, ctxlog::context_policy::carry, false)->UseRealTime();
BENCHMARK_CAPTURE(submit_batch, post_none, ctxlog::context_policy::none, false)->UseRealTime();

int main(int argc, char** argv) {
  // Unless told otherwise: each case 7 times, interleaved in random order, medians.
  std::vector<char*> args(argv, argv + argc);
  std::string reps = "--benchmark_repetitions=7", mix = "--benchmark_enable_random_interleaving=true",
              min_time = "--benchmark_min_time=0.3";
  if (argc == 1) args.insert(args.end(), {reps.data(), mix.data(), min_time.data()});
  int n = static_cast<int>(args.size());
  return prop_bench::run(n, args.data(),
                         {{"submit_batch/submit_carry/real_time", "submit_batch/submit_none/real_time"},
                          {"submit_batch/post_carry/real_time", "submit_batch/post_none/real_time"}},
                         "ratio <= 1.10 (per batch of 256 empty tasks)");
}
