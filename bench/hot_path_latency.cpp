// bench/hot_path_latency.cpp — how long does the calling thread spend in one log call?
//
// One LOG_INFO("order {} created for customer {}", int, std::string) timed with the TSC
// (a bare rdtsc before and after) and reported as percentiles, with a short spin between calls so
// that no queue fills (Quill's hot_path_latency method). Also: the call outside any
// context, a call below the level, and spdlog 1.10's async logger with the four IDs as
// explicit fmt arguments, in the same run. Both libraries write to a null sink.
//
// rdtsc costs ~10 ns here and steps in ~10 ns, so small differences (the context's extra
// cost) are taken from batch averages: 20 consecutive calls timed together, divided by 20.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/async.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "ctxlog/config.hpp"
#include "ctxlog/context.hpp"
#include "ctxlog/log.hpp"
#include "ctxlog/sinks/null.hpp"
#include "harness.hpp"

namespace {

constexpr std::size_t k_batch = 20;

struct settings {
  std::size_t calls = 50000;   // timed calls per thread per variant
  std::size_t batches = 5000;  // timed batches per thread per variant
  std::size_t warmup = 5000;    // untimed calls per thread before each variant
  double pause_ns = 3000;       // spin after each call: the back-end needs ~1 us per line
};

using bench::request;

enum class variant { in_context, no_context, disabled };
enum class library { ctxlog, spdlog };
const char* name_of(variant v) {
  switch (v) {
    case variant::in_context: return "4 IDs";
    case variant::no_context: return "no IDs";
    case variant::disabled: return "disabled level";
  }
  return "";
}

std::shared_ptr<spdlog::logger> g_spdlog;

// The call under test. ctxlog's "4 IDs" variant runs inside a scope the caller entered.
inline void log_once(library lib, variant v, const request& r, int i) {
  if (lib == library::ctxlog) {
    if (v == variant::disabled) LOG_DEBUG("order {} created for customer {}", i, r.customer);
    else LOG_INFO("order {} created for customer {}", i, r.customer);
    return;
  }
  spdlog::logger* l = g_spdlog.get();
  switch (v) {
    case variant::in_context:
      SPDLOG_LOGGER_CALL(l, spdlog::level::info,
                         "\"msg\":\"order {} created for customer {}\",\"requestId\":\"{}\",\"tenantId\":\"{}\","
                         "\"traceId\":\"{}\",\"spanId\":\"{}\"",
                         i, r.customer, r.request_id, r.tenant_id, r.trace_id, r.span_id);
      break;
    case variant::no_context:
      SPDLOG_LOGGER_CALL(l, spdlog::level::info, "\"msg\":\"order {} created for customer {}\"", i, r.customer);
      break;
    case variant::disabled:
      SPDLOG_LOGGER_CALL(l, spdlog::level::debug, "\"msg\":\"order {} created for customer {}\"", i, r.customer);
      break;
  }
}

struct thread_result {
  std::vector<std::uint64_t> ticks;  // per call
  std::vector<double> batch_ticks;   // per call, averaged over a batch
};

// Runs on one pinned producer thread: warm-up, timed single calls, timed batches.
void produce(library lib, variant v, const settings& s, std::uint64_t pause, const ctxlog::context& ctx,
             std::atomic<unsigned>& ready, unsigned threads, thread_result& out) {
  const request r;
  ctxlog::context mine = v == variant::in_context && lib == library::ctxlog ? ctx : ctxlog::context{};
  ctxlog::run(mine, [&] {
    ready.fetch_add(1);
    while (ready.load() < threads) {
    }
    int i = 0;
    for (std::size_t n = 0; n < s.warmup; ++n, ++i) {
      log_once(lib, v, r, i);
      bench::spin_for(pause);
    }
    out.ticks.resize(s.calls);
    for (std::size_t n = 0; n < s.calls; ++n, ++i) {
      const std::uint64_t t0 = bench::tsc_start();
      log_once(lib, v, r, i);
      const std::uint64_t t1 = bench::tsc_stop();
      out.ticks[n] = t1 - t0;
      bench::spin_for(pause);
    }
    out.batch_ticks.resize(s.batches);
    for (std::size_t n = 0; n < s.batches; ++n) {
      const std::uint64_t t0 = bench::tsc_start();
      for (std::size_t k = 0; k < k_batch; ++k, ++i) log_once(lib, v, r, i);
      const std::uint64_t t1 = bench::tsc_stop();
      out.batch_ticks[n] = static_cast<double>(t1 - t0) / k_batch;
      bench::spin_for(pause * k_batch);
    }
  });
}

struct row {
  library lib;
  variant v;
  unsigned threads;
  double p50, p90, p99, p999, max, batch_median;  // ns
};

row measure(library lib, variant v, unsigned threads, const settings& s, double tpn, const ctxlog::context& ctx) {
  std::vector<thread_result> results(threads);
  std::atomic<unsigned> ready{0};
  const auto pause = static_cast<std::uint64_t>(s.pause_ns * tpn);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      bench::pin_to_cpu(t);
      produce(lib, v, s, pause, ctx, ready, threads, results[t]);
    });
  for (auto& th : pool) th.join();
  if (lib == library::ctxlog) ctxlog::flush();
  else g_spdlog->flush();

  std::vector<std::uint64_t> all;
  std::vector<double> batches;
  for (auto& r : results) {
    all.insert(all.end(), r.ticks.begin(), r.ticks.end());
    batches.insert(batches.end(), r.batch_ticks.begin(), r.batch_ticks.end());
  }
  std::sort(all.begin(), all.end());
  auto ns = [tpn](double ticks) { return ticks / tpn; };
  return {lib,
          v,
          threads,
          ns(static_cast<double>(bench::quantile(all, 0.5))),
          ns(static_cast<double>(bench::quantile(all, 0.9))),
          ns(static_cast<double>(bench::quantile(all, 0.99))),
          ns(static_cast<double>(bench::quantile(all, 0.999))),
          ns(static_cast<double>(all.empty() ? 0 : all.back())),
          ns(bench::median(batches))};
}

// The context's extra cost: batches with the four IDs and batches without, alternated on
// each thread so that drift in the machine's speed hits both alike; the median of the
// paired differences, in ns per call.
double context_extra(library lib, unsigned threads, const settings& s, double tpn, const ctxlog::context& ctx) {
  std::vector<std::vector<double>> diffs(threads);
  std::atomic<unsigned> ready{0};
  const auto pause = static_cast<std::uint64_t>(s.pause_ns * tpn) * k_batch;
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      bench::pin_to_cpu(t);
      const request r;
      ready.fetch_add(1);
      while (ready.load() < threads) {
      }
      int i = 0;
      auto batch = [&](variant v) {
        const std::uint64_t t0 = bench::tsc_start();
        for (std::size_t k = 0; k < k_batch; ++k, ++i) log_once(lib, v, r, i);
        const std::uint64_t t1 = bench::tsc_stop();
        bench::spin_for(pause);
        return static_cast<double>(t1 - t0) / k_batch;
      };
      for (std::size_t n = 0; n < s.batches; ++n) {
        double with = 0;
        ctxlog::run(ctx, [&] { with = batch(variant::in_context); });
        const double without = batch(variant::no_context);
        if (n >= s.batches / 10) diffs[t].push_back((with - without) / tpn);  // first 10%: warm-up
      }
    });
  for (auto& th : pool) th.join();
  std::vector<double> all;
  for (auto& d : diffs) all.insert(all.end(), d.begin(), d.end());
  return bench::median(all);
}

const row& find(const std::vector<row>& rows, library lib, variant v, unsigned threads) {
  for (const auto& r : rows)
    if (r.lib == lib && r.v == v && r.threads == threads) return r;
  return rows.front();
}

const char* verdict(bool ok) { return ok ? "met" : "MISSED"; }

}  // namespace

int main(int argc, char** argv) {
  settings s;
  if (argc > 1) s.calls = std::strtoul(argv[1], nullptr, 10);
  if (argc > 2) s.batches = std::strtoul(argv[2], nullptr, 10);
  const double tpn = bench::tsc_per_ns();

  // The timer's own cost: an empty timed region.
  std::vector<std::uint64_t> empty(100000);
  for (auto& e : empty) {
    const std::uint64_t t0 = bench::tsc_start();
    const std::uint64_t t1 = bench::tsc_stop();
    e = t1 - t0;
  }
  std::sort(empty.begin(), empty.end());

  std::printf("hot_path_latency: TSC %.3f GHz; timer overhead (empty region) p50 %.1f ns, min %.1f ns\n", tpn,
              static_cast<double>(bench::quantile(empty, 0.5)) / tpn, static_cast<double>(empty.front()) / tpn);
  std::printf("%zu timed calls + %zu batches of %zu per thread per row, %.0f ns spin after each call; "
              "producers pinned to cpu 0 (and 1); null sinks\n",
              s.calls, s.batches, k_batch, s.pause_ns);
  std::printf("ctxlog: dispatch_mode::async, back-end pinned to cpu 1; spdlog 1.10: async_factory, queue 8192, block, worker pinned to cpu 1\n");

  ctxlog::configure({.sinks = {ctxlog::sinks::null_sink()},
                     .min_level = ctxlog::level::info,
                     .mode = ctxlog::dispatch_mode::async,
                     .backend_cpu = 1});
  spdlog::init_thread_pool(8192, 1, [] { bench::pin_to_cpu(1); });
  g_spdlog = spdlog::create_async<spdlog::sinks::null_sink_mt>("bench");
  g_spdlog->set_pattern(
      R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n",%v,"thread":%t,"file":"%s","line":%#})",
      spdlog::pattern_time_type::utc);
  g_spdlog->set_level(spdlog::level::info);

  const request r;
  const ctxlog::context ctx = ctxlog::context{}.with(
      ctxlog::fields{}.request_id(r.request_id).tenant_id(r.tenant_id).trace_id(r.trace_id).span_id(r.span_id));

  // One short untimed pass over every row first: the first row measured must not pay for
  // cold caches, lazily created buffers or a CPU that has not yet clocked up.
  settings warm = s;
  warm.calls = warm.batches = 1000;
  for (unsigned threads : {1u, 2u})
    for (library lib : {library::ctxlog, library::spdlog})
      for (variant v : {variant::in_context, variant::no_context, variant::disabled})
        measure(lib, v, threads, warm, tpn, ctx);

  std::vector<row> rows;
  for (unsigned threads : {1u, 2u})
    for (library lib : {library::ctxlog, library::spdlog})
      for (variant v : {variant::in_context, variant::no_context, variant::disabled})
        rows.push_back(measure(lib, v, threads, s, tpn, ctx));

  std::printf("\n%-8s %-15s %3s %8s %8s %8s %8s %9s  %10s\n", "library", "call", "thr", "p50", "p90", "p99", "p99.9",
              "max", "batch avg");
  for (const auto& x : rows)
    std::printf("%-8s %-15s %3u %8.1f %8.1f %8.1f %8.1f %9.0f  %10.1f\n", x.lib == library::ctxlog ? "ctxlog" : "spdlog",
                name_of(x.v), x.threads, x.p50, x.p90, x.p99, x.p999, x.max, x.batch_median);
  std::printf("(ns; percentiles of single timed calls include the timer overhead above; batch avg = median over\n"
              " batches of %zu back-to-back calls of their mean, timer overhead spread over %zu calls)\n",
              k_batch, k_batch);

  std::printf("\ntargets (issue 3), '4 IDs' rows:\n");
  for (unsigned t : {1u, 2u}) {
    const row& c = find(rows, library::ctxlog, variant::in_context, t);
    const row& n = find(rows, library::ctxlog, variant::no_context, t);
    const row& sp = find(rows, library::spdlog, variant::in_context, t);
    const double extra = context_extra(library::ctxlog, t, s, tpn, ctx);
    const double extra_spdlog = context_extra(library::spdlog, t, s, tpn, ctx);
    std::printf("  %u thread%s: ctxlog p50 %.1f ns (<= 30: %s), p99.9 %.1f ns (<= 1500: %s)\n", t, t > 1 ? "s" : " ",
                c.p50, verdict(c.p50 <= 30), c.p999, verdict(c.p999 <= 1500));
    std::printf("             ctxlog/spdlog p50 %.3g = %.1fx lower (>= 10x: %s), p99.9 %.3g = %.1fx lower (>= 50x: %s)\n",
                c.p50 / sp.p50, sp.p50 / c.p50, verdict(sp.p50 >= 10 * c.p50), c.p999 / sp.p999, sp.p999 / c.p999,
                verdict(sp.p999 >= 50 * c.p999));
    std::printf("             context's extra cost (batch avg, 4 IDs - no IDs) %.1f ns (<= 5: %s); rows above: %.1f ns;"
                " spdlog's 4 extra args: %.1f ns\n",
                extra, verdict(extra <= 5), c.batch_median - n.batch_median, extra_spdlog);
  }

  g_spdlog.reset();
  spdlog::shutdown();
  ctxlog::shutdown();
  return 0;
}
