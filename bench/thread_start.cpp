// bench/thread_start.cpp — what a logging thread costs: the first log call on a new
// thread, a thread's life with and without logging, and the memory of many live threads
// that each logged a few lines (issue 12 item 3). spdlog 1.10 async is the peer.
//
//   thread_start [threads (default 2000)] [live threads (default 500)]
//
// Each scenario runs in a forked child, so one library's freed memory and threads do not
// count against the other's. Null sinks, the request's IDs in the context (ctxlog) or as
// arguments (spdlog), as in hot_path_latency.
//
// first call: steady_clock around the thread's first LOG_INFO (its producer registered,
//   its ring allocated); second call: the same around the next one.
// thread life: std::thread created, one log call (or none), joined; mean per thread.
// memory: `live` threads alive at once, each having logged 20 lines, RSS growth over the
//   same threads without logging, per thread.
#include <sys/wait.h>
#include <unistd.h>

#include <barrier>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/async.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/sinks/null.hpp"
#include "harness.hpp"

namespace {

enum class library { ctxlog, spdlog, none };
const char* name(library l) { return l == library::ctxlog ? "ctxlog" : l == library::spdlog ? "spdlog" : "no logging"; }

const bench::request r;
std::shared_ptr<spdlog::logger> g_spdlog;

void setup(library lib) {
  if (lib == library::ctxlog) {
    ctxlog::configure({.sinks = {ctxlog::sinks::null_sink()}, .mode = ctxlog::dispatch_mode::async});
  } else if (lib == library::spdlog) {
    spdlog::init_thread_pool(8192, 1);
    g_spdlog = spdlog::create_async<spdlog::sinks::null_sink_mt>("bench");
    g_spdlog->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n",%v,"thread":%t})",
                          spdlog::pattern_time_type::utc);
  }
}

void log_one(library lib, int i) {
  if (lib == library::ctxlog) {
    LOG_INFO("order {} created for customer {}", i, r.customer);
  } else if (lib == library::spdlog) {
    g_spdlog->info("\"msg\":\"order {} created for customer {}\",\"requestId\":\"{}\",\"tenantId\":\"{}\","
                   "\"traceId\":\"{}\",\"spanId\":\"{}\"",
                   i, r.customer, r.request_id, r.tenant_id, r.trace_id, r.span_id);
  }
}

void teardown(library lib) {
  if (lib == library::ctxlog) ctxlog::shutdown();
  if (lib == library::spdlog) spdlog::shutdown();
}

ctxlog::context request_context() {
  return ctxlog::context{}.with(
      ctxlog::fields{}.request_id(r.request_id).tenant_id(r.tenant_id).trace_id(r.trace_id).span_id(r.span_id));
}

// Resident memory of this process, bytes.
long rss_bytes() {
  std::ifstream f("/proc/self/statm");
  long size = 0, resident = 0;
  f >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

struct first_calls {
  double first_p50, first_p90, first_p99, second_p50, life_mean;
};

// Threads one after another: the first and second call on each, and its whole life.
first_calls measure_first(library lib, unsigned threads) {
  setup(lib);
  const ctxlog::context ctx = request_context();
  std::vector<std::uint64_t> first(threads), second(threads);
  // A few threads first: the library's own start-up (back-end thread, pools) is not a
  // thread's first call.
  for (int i = 0; i < 8; ++i) std::thread([&] { ctxlog::run(ctx, [&] { log_one(lib, i); }); }).join();
  const std::uint64_t t0 = bench::steady_ns();
  for (unsigned i = 0; i < threads; ++i) {
    std::thread([&, i] {
      ctxlog::run(ctx, [&] {
        const std::uint64_t a = bench::steady_ns();
        log_one(lib, static_cast<int>(i));
        const std::uint64_t b = bench::steady_ns();
        log_one(lib, static_cast<int>(i));
        const std::uint64_t c = bench::steady_ns();
        first[i] = b - a;
        second[i] = c - b;
      });
    }).join();
  }
  const std::uint64_t t1 = bench::steady_ns();
  teardown(lib);
  std::sort(first.begin(), first.end());
  std::sort(second.begin(), second.end());
  return {bench::quantile(first, 0.5) / 1e3, bench::quantile(first, 0.9) / 1e3, bench::quantile(first, 0.99) / 1e3,
          bench::quantile(second, 0.5) / 1e3, static_cast<double>(t1 - t0) / threads / 1e3};
}

// `live` threads alive together, each after 20 log calls: RSS growth per thread.
double measure_memory(library lib, unsigned live) {
  setup(lib);
  const ctxlog::context ctx = request_context();
  std::thread([&] { ctxlog::run(ctx, [&] { log_one(lib, 0); }); }).join();
  ctxlog::flush();
  const long before = rss_bytes();
  long during = 0;
  std::barrier logged(static_cast<std::ptrdiff_t>(live) + 1), done(static_cast<std::ptrdiff_t>(live) + 1);
  std::vector<std::thread> ts;
  for (unsigned i = 0; i < live; ++i) {
    ts.emplace_back([&, i] {
      ctxlog::run(ctx, [&] {
        for (int k = 0; k < 20; ++k) log_one(lib, static_cast<int>(i));
      });
      logged.arrive_and_wait();
      done.arrive_and_wait();
    });
  }
  logged.arrive_and_wait();
  if (lib == library::ctxlog) ctxlog::flush();
  if (lib == library::spdlog) g_spdlog->flush();
  during = rss_bytes();
  done.arrive_and_wait();
  for (auto& t : ts) t.join();
  teardown(lib);
  return static_cast<double>(during - before) / live;
}

// Runs fn in a forked child and returns what it wrote into the pipe.
template <class T, class F>
T in_child(F fn) {
  int fd[2];
  if (pipe(fd) != 0) std::abort();
  const pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    const T v = fn();
    if (write(fd[1], &v, sizeof v) != static_cast<ssize_t>(sizeof v)) _exit(1);
    _exit(0);
  }
  close(fd[1]);
  T v{};
  const bool ok = read(fd[0], &v, sizeof v) == static_cast<ssize_t>(sizeof v);
  close(fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "thread_start: a measuring child failed\n");
    std::exit(1);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const unsigned threads = argc > 1 ? static_cast<unsigned>(std::strtoul(argv[1], nullptr, 10)) : 2000;
  const unsigned live = argc > 2 ? static_cast<unsigned>(std::strtoul(argv[2], nullptr, 10)) : 500;
  std::printf("thread_start: %u threads one after another; %u threads alive at once; null sinks;\n"
              "ctxlog dispatch_mode::async, default queue_capacity; spdlog 1.10 async_factory, queue 8192\n\n",
              threads, live);

  const library libs[] = {library::none, library::ctxlog, library::spdlog};
  first_calls f[3];
  double mem[3];
  for (int i = 0; i < 3; ++i) f[i] = in_child<first_calls>([&] { return measure_first(libs[i], threads); });
  for (int i = 0; i < 3; ++i) mem[i] = in_child<double>([&] { return measure_memory(libs[i], live); });

  std::printf("%-11s %14s %14s %14s %15s %17s %19s\n", "library", "1st call p50", "1st call p90", "1st call p99",
              "2nd call p50", "thread life mean", "RSS per live thread");
  for (int i = 0; i < 3; ++i) {
    if (libs[i] == library::none)
      std::printf("%-11s %14s %14s %14s %15s %14.1f us %16.1f KiB\n", name(libs[i]), "-", "-", "-", "-", f[i].life_mean,
                  mem[i] / 1024);
    else
      std::printf("%-11s %11.2f us %11.2f us %11.2f us %12.2f us %14.1f us %16.1f KiB\n", name(libs[i]), f[i].first_p50,
                  f[i].first_p90, f[i].first_p99, f[i].second_p50, f[i].life_mean, mem[i] / 1024);
  }
  // spdlog keeps nothing per thread: its memory over no logging is ~0, no ratio.
  std::printf("\nratios ctxlog / spdlog: first call p50 %.2f, thread life %.2f\n", f[1].first_p50 / f[2].first_p50,
              f[1].life_mean / f[2].life_mean);
  std::printf("extra per logging thread over no logging: ctxlog %.1f us and %.1f KiB, spdlog %.1f us and %.1f KiB\n",
              f[1].life_mean - f[0].life_mean, (mem[1] - mem[0]) / 1024, f[2].life_mean - f[0].life_mean,
              (mem[2] - mem[0]) / 1024);
  return 0;
}
