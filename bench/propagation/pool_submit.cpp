// bench/propagation/pool_submit.cpp — what does carrying the context cost a pool task?
// ctxlog::thread_pool::submit() of an empty task, inside a request context, with
// context_policy::carry vs the same pool with context_policy::none. Batches of 256
// submits then wait_idle(); time per task (submit + run + future).
#include "ctxlog/ctxlog.hpp"
#include "ctxlog/pool.hpp"
#include "ratios.hpp"

namespace {
constexpr int batch = 256;

void submit_batch(benchmark::State& st, ctxlog::context_policy policy, bool with_future) {
  ctxlog::thread_pool pool{1, policy};
  ctxlog::scope s{ctxlog::fields{}.request_id("bench-request").tenant_id("acme")};
  std::vector<std::future<void>> fs;
  fs.reserve(batch);
  for (auto _ : st) {
    for (int i = 0; i < batch; ++i) {
      if (with_future) fs.push_back(pool.submit([] {}));
      else pool.post([] {});
    }
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
  return prop_bench::run(argc, argv,
                         {{"submit_batch/submit_carry/real_time", "submit_batch/submit_none/real_time"},
                          {"submit_batch/post_carry/real_time", "submit_batch/post_none/real_time"}},
                         "ratio <= 1.10 (per batch of 256 empty tasks)");
}
