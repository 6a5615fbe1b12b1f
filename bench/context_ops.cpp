// bench/context_ops.cpp — what do the ambient-context operations cost? (issue 2 targets)
//
// ns per current(), per run() scope that adds one field, per snapshot() (capture and
// destruction of the copy), per bind()-ed call against the same call made plainly, in
// the style of folly's RequestContextBenchmark. Each figure is the median over batches
// of consecutive operations timed with steady_clock, one thread pinned to cpu 0.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "ctxlog/context.hpp"
#include "harness.hpp"

namespace {

constexpr std::size_t k_ops = 1000;  // per batch: steady_clock's ~25 ns spreads to 0.03 ns

struct result {
  double median_ns;
  double min_ns;
};

template <class Op>
result measure(Op&& op, std::size_t batches) {
  for (std::size_t i = 0; i < k_ops * 10; ++i) op();  // warm caches and branch predictors
  std::vector<double> per_op;
  per_op.reserve(batches);
  for (std::size_t b = 0; b < batches; ++b) {
    const std::uint64_t t0 = bench::steady_ns();
    for (std::size_t i = 0; i < k_ops; ++i) op();
    const std::uint64_t t1 = bench::steady_ns();
    per_op.push_back(static_cast<double>(t1 - t0) / k_ops);
  }
  std::sort(per_op.begin(), per_op.end());
  return {bench::quantile(per_op, 0.5), per_op.front()};
}

void print(const char* what, result r, double target_ns) {
  if (target_ns > 0)
    std::printf("%-58s %8.2f %8.2f %8.1f  %s\n", what, r.median_ns, r.min_ns, target_ns,
                r.median_ns <= target_ns ? "met" : "MISSED");
  else
    std::printf("%-58s %8.2f %8.2f %8s\n", what, r.median_ns, r.min_ns, "-");
}

std::uint64_t g_calls = 0;
[[gnu::noinline]] void work() noexcept { bench::do_not_optimize(++g_calls); }

}  // namespace

int main(int argc, char** argv) {
  const std::size_t batches = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 2000;
  bench::pin_to_cpu(0);

  std::printf("context_ops: ns per operation, median (and min) of %zu batches of %zu; loop overhead included\n",
              batches, k_ops);
  std::printf("%-58s %8s %8s %8s\n", "operation", "median", "min", "target");

  print("empty loop (reference)", measure([] { bench::clobber_memory(); }, batches), 0);

  // Every operation below runs inside a request context holding the four usual IDs.
  ctxlog::scope request{ctxlog::fields{}
                            .request_id("r-7f3a9c2e")
                            .tenant_id("acme-corp")
                            .trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
                            .span_id("00f067aa0ba902b7")};

  print("current()", measure([] { bench::do_not_optimize(&ctxlog::current()); }, batches), 2.0);
  print("current().request_id()", measure([] {
          const std::string_view id = ctxlog::current().request_id();
          bench::do_not_optimize(id);
        }, batches), 0);
  print("run(fields{}.user_id(..), fn): derive+enter+exit+free",
        measure([] { ctxlog::run(ctxlog::fields{}.user_id("u-1029"), [] { bench::clobber_memory(); }); }, batches),
        50.0);
  const ctxlog::context captured = ctxlog::snapshot();
  print("run(captured, fn): re-enter a captured context",
        measure([&] { ctxlog::run(captured, [] { bench::clobber_memory(); }); }, batches), 0);
  print("snapshot() + destroying the copy", measure([] {
          ctxlog::context c = ctxlog::snapshot();
          bench::do_not_optimize(c);
        }, batches), 5.0);

  // The plain call and the bound call run the same out-of-line function.
  const result plain = measure([] { work(); }, batches);
  auto bound = ctxlog::bind([] { work(); });
  const result with_bind = measure([&] { bound(); }, batches);
  print("plain call of a function", plain, 0);
  print("bind()-ed call of the same function", with_bind, 0);
  print("  extra cost of the bind()-ed call", {with_bind.median_ns - plain.median_ns, with_bind.min_ns - plain.min_ns}, 0);
  print("bind(fn) + destroying it (capture only)", measure([] {
          auto b = ctxlog::bind([] { work(); });
          bench::do_not_optimize(b);
        }, batches), 0);

  // The same capture while a thread on the other cpu captures the same frame: the
  // reference count's cache line moves between the cores on every operation.
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> other_ops{0};
  std::atomic<bool> started{false};
  std::thread other([&] {
    bench::pin_to_cpu(1);
    ctxlog::run(captured, [&] {
      started.store(true);
      std::uint64_t n = 0;
      for (; !stop.load(std::memory_order_relaxed); ++n) {
        ctxlog::context c = ctxlog::snapshot();
        bench::do_not_optimize(c);
      }
      other_ops.store(n);
    });
  });
  while (!started.load()) std::this_thread::yield();
  const std::uint64_t t0 = bench::steady_ns();
  print("snapshot() + destroy, another cpu doing the same frame", measure([] {
          ctxlog::context c = ctxlog::snapshot();
          bench::do_not_optimize(c);
        }, batches), 0);
  const double seconds = static_cast<double>(bench::steady_ns() - t0) / 1e9;
  stop.store(true);
  other.join();
  std::printf("  (meanwhile the other thread captured %.1f M times: %.1f ns each)\n",
              static_cast<double>(other_ops.load()) / 1e6, seconds * 1e9 / static_cast<double>(other_ops.load() + 1));
  return 0;
}
