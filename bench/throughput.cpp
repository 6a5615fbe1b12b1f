// bench/throughput.cpp — how many lines per second reach a file, and at what peak memory?
//
// 2 M lines of LOG_INFO("order {} created for customer {}", int, std::string) with four
// IDs in the context, from 1 producer thread and from 2 (1 M each), to a file; wall time
// from the first call to the end of the final drain (ctxlog::flush(); for spdlog 1.10's
// async logger, the thread pool's join). Each run is a forked child, so ru_maxrss is that
// library's peak alone. The parent counts the lines of every file before deleting it.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include "ctxlog/config.hpp"
#include "ctxlog/context.hpp"
#include "ctxlog/log.hpp"
#include "ctxlog/sinks/file.hpp"
#include "harness.hpp"

namespace {

enum class library { ctxlog, spdlog };
const char* name_of(library l) { return l == library::ctxlog ? "ctxlog" : "spdlog"; }

using bench::request;

// What a child reports through its pipe.
struct child_result {
  double seconds;
  long max_rss_kib;
  std::uint64_t dropped;  // ctxlog's own count of lost records
  int ok;
};

// Starts `producers` threads pinned to cpus 0.., each calling produce(per_thread) (which
// logs that many lines) once all are ready; returns the seconds from the start signal to
// the end of drain().
template <class Produce, class Drain>
double run_producers(unsigned producers, std::size_t per_thread, Produce produce, Drain drain) {
  std::atomic<unsigned> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < producers; ++t)
    pool.emplace_back([&, t] {
      bench::pin_to_cpu(t);
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) {
      }
      produce(per_thread);
    });
  while (ready.load() < producers) {
  }
  const std::uint64_t t0 = bench::steady_ns();
  go.store(true, std::memory_order_release);
  for (auto& th : pool) th.join();
  drain();
  return static_cast<double>(bench::steady_ns() - t0) / 1e9;
}

child_result run_ctxlog(const std::string& path, unsigned producers, std::size_t lines) {
  ctxlog::configure({.sinks = {ctxlog::sinks::file_sink(path)},
                     .min_level = ctxlog::level::info,
                     .mode = ctxlog::dispatch_mode::async});
  const request r;
  const auto ctx = ctxlog::context{}.with(
      ctxlog::fields{}.request_id(r.request_id).tenant_id(r.tenant_id).trace_id(r.trace_id).span_id(r.span_id));
  const double s = run_producers(
      producers, lines / producers,
      [&](std::size_t n) {
        ctxlog::run(ctx, [&] {  // each producer serves one request
          for (std::size_t i = 0; i < n; ++i) LOG_INFO("order {} created for customer {}", static_cast<int>(i), r.customer);
        });
      },
      [] { ctxlog::flush(); });
  const auto st = ctxlog::get_stats();
  ctxlog::shutdown();
  return {s, 0, st.dropped, 1};
}

child_result run_spdlog(const std::string& path, unsigned producers, std::size_t lines) {
  spdlog::init_thread_pool(8192, 1);
  auto l = spdlog::create_async<spdlog::sinks::basic_file_sink_mt>("bench", path, true);
  l->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n",%v,"thread":%t,"file":"%s","line":%#})",
                 spdlog::pattern_time_type::utc);
  const request r;
  spdlog::logger* raw = l.get();
  const double s = run_producers(
      producers, lines / producers,
      [&](std::size_t n) {
        for (std::size_t i = 0; i < n; ++i)
          SPDLOG_LOGGER_CALL(raw, spdlog::level::info,
                             "\"msg\":\"order {} created for customer {}\",\"requestId\":\"{}\",\"tenantId\":\"{}\","
                             "\"traceId\":\"{}\",\"spanId\":\"{}\"",
                             static_cast<int>(i), r.customer, r.request_id, r.tenant_id, r.trace_id, r.span_id);
      },
      [&] {
        // The flush request queues behind every line; dropping the pool joins its worker
        // once the queue is empty, and the last reference to the sink closes the file.
        l->flush();
        l.reset();
        spdlog::shutdown();
      });
  return {s, 0, 0, 1};
}

// Runs fn in a forked child and returns what it reported, with the child's peak RSS.
template <class Fn>
child_result in_child(Fn fn) {
  int fds[2];
  if (::pipe(fds) != 0) {
    std::perror("pipe");
    std::exit(1);
  }
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("fork");
    std::exit(1);
  }
  if (pid == 0) {
    ::close(fds[0]);
    child_result r{};
    try {
      r = fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child failed: %s\n", e.what());
      r.ok = 0;
    }
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    r.max_rss_kib = ru.ru_maxrss;
    [[maybe_unused]] auto n = ::write(fds[1], &r, sizeof r);
    ::_exit(0);
  }
  ::close(fds[1]);
  child_result r{};
  if (::read(fds[0], &r, sizeof r) != static_cast<ssize_t>(sizeof r)) r.ok = 0;
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) r.ok = 0;
  return r;
}

struct file_facts {
  std::uint64_t lines = 0;
  std::uint64_t bytes = 0;
  std::string first_line;
};

file_facts inspect(const std::string& path) {
  file_facts f;
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return f;
  std::vector<char> buf(1 << 20);
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n <= 0) break;
    if (f.bytes == 0) f.first_line.assign(buf.data(), std::find(buf.data(), buf.data() + n, '\n'));
    f.lines += static_cast<std::uint64_t>(std::count(buf.data(), buf.data() + n, '\n'));
    f.bytes += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  return f;
}

struct run_result {
  double seconds;
  long max_rss_kib;
  bool complete;
};

}  // namespace

int main(int argc, char** argv) {
  const std::size_t lines = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 2000000;
  // Rounds of all four runs, interleaved so that drift in the machine's load hits every
  // run alike. Default: 3 rounds, or 1 when the first took over 15 s (keeps the run short).
  const int asked_rounds = argc > 2 ? std::atoi(argv[2]) : 0;
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/ctxlog-bench-XXXXXX";
  if (!::mkdtemp(dir.data())) {
    std::perror("mkdtemp");
    return 1;
  }

  const child_result floor = in_child([] { return child_result{0, 0, 0, 1}; });
  std::printf("throughput: %zu lines per run to a file in %s; producers pinned to cpu 0 (and 1), back-end\n"
              "threads left to the scheduler; ctxlog dispatch_mode::async requested; spdlog 1.10 async_factory,\n"
              "queue 8192, block; peak RSS of a forked child that does nothing: %.1f MiB\n",
              lines, dir.c_str(), static_cast<double>(floor.max_rss_kib) / 1024);

  struct config {
    library lib;
    unsigned producers;
    std::vector<double> secs{};
    std::vector<long> rss{};
    bool complete = true;
    double bytes_per_line = 0;
  };
  std::vector<config> configs{{library::ctxlog, 1}, {library::spdlog, 1}, {library::ctxlog, 2}, {library::spdlog, 2}};
  int rounds = asked_rounds > 0 ? asked_rounds : 3;
  for (int round = 0; round < rounds; ++round) {
    const std::uint64_t round_start = bench::steady_ns();
    for (auto& c : configs) {
      const std::string path = dir + "/" + name_of(c.lib) + "-" + std::to_string(c.producers) + ".log";
      const child_result r = in_child([&] {
        return c.lib == library::ctxlog ? run_ctxlog(path, c.producers, lines) : run_spdlog(path, c.producers, lines);
      });
      const file_facts f = inspect(path);
      ::unlink(path.c_str());
      const bool ok = r.ok && f.lines == lines;
      c.complete = c.complete && ok;
      c.secs.push_back(r.seconds);
      c.rss.push_back(r.max_rss_kib);
      c.bytes_per_line = f.lines ? static_cast<double>(f.bytes) / static_cast<double>(f.lines) : 0;
      std::printf("  round %d, %s, %u producer%s: %.3f s, %.3f M lines/s, peak RSS %.1f MiB, file has %llu of %zu lines%s%s\n",
                  round + 1, name_of(c.lib), c.producers, c.producers > 1 ? "s" : " ", r.seconds,
                  static_cast<double>(lines) / r.seconds / 1e6, static_cast<double>(r.max_rss_kib) / 1024,
                  static_cast<unsigned long long>(f.lines), lines, ok ? "" : "  INCOMPLETE",
                  r.dropped ? " (ctxlog counted drops)" : "");
      if (round == 0) std::printf("    first line: %s\n", f.first_line.c_str());
    }
    if (round == 0 && asked_rounds <= 0 && bench::steady_ns() - round_start > 15'000'000'000u) rounds = 1;
  }
  ::rmdir(dir.c_str());

  struct summary {
    library lib;
    unsigned producers;
    double seconds, lines_per_s, rss_mib, bytes_per_line;
    bool complete;
  };
  std::vector<summary> table;
  bool all_complete = true;
  for (const auto& c : configs) {
    const double s = bench::median(c.secs);
    table.push_back({c.lib, c.producers, s, static_cast<double>(lines) / s,
                     static_cast<double>(bench::median(c.rss)) / 1024, c.bytes_per_line, c.complete});
    all_complete = all_complete && c.complete;
  }

  std::printf("\nmedian of %d round%s:\n%-8s %4s %9s %12s %13s %11s %s\n", rounds, rounds > 1 ? "s" : "", "library",
              "prod", "seconds", "M lines/s", "peak RSS MiB", "bytes/line", "lines verified");
  for (const auto& t : table)
    std::printf("%-8s %4u %9.3f %12.3f %13.1f %11.1f %s\n", name_of(t.lib), t.producers, t.seconds,
                t.lines_per_s / 1e6, t.rss_mib, t.bytes_per_line, t.complete ? "all" : "NO: lines lost");

  auto get = [&](library l, unsigned p) -> const summary& {
    for (const auto& t : table)
      if (t.lib == l && t.producers == p) return t;
    return table.front();
  };
  auto verdict = [](bool ok) { return ok ? "met" : "MISSED"; };
  std::printf("\ntargets:\n");
  for (unsigned p : {1u, 2u}) {
    const auto& c = get(library::ctxlog, p);
    const auto& s = get(library::spdlog, p);
    std::printf("  %u producer%s: ctxlog %.2f M lines/s (>= 1.8: %s), peak RSS %.1f MiB (<= 64: %s), "
                "ctxlog/spdlog %.2fx (>= 2x: %s)\n",
                p, p > 1 ? "s" : " ", c.lines_per_s / 1e6, verdict(c.lines_per_s >= 1.8e6), c.rss_mib,
                verdict(c.rss_mib <= 64), c.lines_per_s / s.lines_per_s, verdict(c.lines_per_s >= 2 * s.lines_per_s));
  }
  const double r21 = get(library::ctxlog, 2).lines_per_s / get(library::ctxlog, 1).lines_per_s;
  std::printf("  2 producers vs 1: ctxlog %.2fx (no worse, >= 0.95x: %s); spdlog %.2fx\n", r21, verdict(r21 >= 0.95),
              get(library::spdlog, 2).lines_per_s / get(library::spdlog, 1).lines_per_s);
  return all_complete ? 0 : 1;
}
