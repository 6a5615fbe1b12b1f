// bench/sinks/clickhouse_rate.cpp — how many lines per second does one process get into
// a real clickhouse-server over HTTP, at what CPU cost off the calling thread and what
// buffer memory, against a file sink in the same run? (issue 11)
//
// Starts a throwaway server (scripts/clickhouse_local.py, free loopback ports) unless
// given one (`clickhouse_rate [lines] [HOST:PORT]`). Per sink: N lines from one thread
// (a request context with 4 ids, two kv() fields), wall time from the first call until
// the sink holds nothing (file: ctxlog::flush(); ClickHouse: flush() and drain(), i.e.
// the server acknowledged every insert). CPU of every thread but the caller's (the
// back-end, and the ClickHouse sink's sender) per line. The buffer's peak: lines held
// (sampled every ms) and the growth of RSS. Ratios ClickHouse / file are printed. The
// producer is paced for ClickHouse (see run()): the rate is the sustained one, no drops.
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/sinks/clickhouse.hpp"

#ifndef CTXLOG_CLICKHOUSE_LOCAL
#define CTXLOG_CLICKHOUSE_LOCAL "scripts/clickhouse_local.py"
#endif

namespace {

double cpu_seconds(int who) {
  if (who == RUSAGE_SELF) {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  }
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + t.tv_nsec / 1e9;
}

long rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string key;
  long v = 0;
  while (f >> key)
    if (key == "VmRSS:" && f >> v) return v;
  return 0;
}

// scripts/clickhouse_local.py DIR as a child; returns its pid and its first output line
// (which names the server's port), or -1.
pid_t start_server(const std::string& dir, std::string& first_line) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  std::string script = CTXLOG_CLICKHOUSE_LOCAL;
  char* args[] = {const_cast<char*>("python3"), script.data(), const_cast<char*>(dir.c_str()), nullptr};
  pid_t pid = -1;
  if (posix_spawnp(&pid, "python3", &fa, nullptr, args, environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  char c;
  while (pid > 0 && read(fds[0], &c, 1) == 1 && c != '\n') first_line.push_back(c);
  close(fds[0]);
  return pid;
}

constexpr std::uint64_t k_unsettled = 60000;  // ~24 MiB of rows, within the 32 MiB buffer

struct result {
  double seconds = 0, others_cpu = 0;
  std::uint64_t peak_buffered = 0;
  long rss_growth_kib = 0;
  bool complete = true;
};

result run(const ctxlog::sink_ptr& sink, ctxlog::sinks::clickhouse_sink* ch, long lines) {
  ctxlog::configure({.sinks = {sink}, .process = {.service = "bench", .host = "bench-host"}});
  const auto ctx = ctxlog::context{}.with(ctxlog::fields{}
                                              .request_id("r-7f3a9c2e")
                                              .tenant_id("acme-corp")
                                              .trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
                                              .span_id("00f067aa0ba902b7"));
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> peak{0};
  std::thread sampler;
  if (ch)
    sampler = std::thread([&] {
      while (!done.load()) {
        const std::uint64_t b = ch->delivery().buffered;
        if (b > peak.load()) peak.store(b);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  const long rss0 = rss_kib();
  const double cpu0 = cpu_seconds(RUSAGE_SELF), mine0 = cpu_seconds(RUSAGE_THREAD);
  const auto t0 = std::chrono::steady_clock::now();
  ctxlog::run(ctx, [lines, ch] {
    for (long i = 0; i < lines; ++i) {
      // One producer outruns any server by far (3 M lines/s into a file): measured flat
      // out, a burst mostly measures how many lines the buffer drops. Paced instead: the
      // producer waits while more than k_unsettled lines are neither delivered nor
      // dropped, so the figure is the rate the sink sustains with nothing dropped.
      if (ch && i % 1000 == 0)
        while (true) {
          const auto d = ch->delivery();
          if (static_cast<std::uint64_t>(i) - std::min<std::uint64_t>(i, d.delivered + d.dropped) <= k_unsettled) break;
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
      LOG_INFO("order {} created", i, ctxlog::kv("amount", 12.5), ctxlog::kv("items", 3));
    }
  });
  ctxlog::flush();
  result r;
  if (ch) r.complete = ch->drain(std::chrono::seconds(120));
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.rss_growth_kib = rss_kib() - rss0;
  done.store(true);
  if (sampler.joinable()) sampler.join();
  // The sampler's own few wake-ups are in this figure too (about 1 ms of sleep each).
  r.others_cpu = (cpu_seconds(RUSAGE_SELF) - cpu0) - (cpu_seconds(RUSAGE_THREAD) - mine0);
  r.peak_buffered = peak.load();
  if (ch) {
    const auto d = ch->delivery();
    r.complete = r.complete && d.delivered == d.accepted;
    std::printf("  clickhouse sink: accepted %llu, delivered %llu, dropped %llu, failed attempts %llu\n",
                static_cast<unsigned long long>(d.accepted), static_cast<unsigned long long>(d.delivered),
                static_cast<unsigned long long>(d.dropped), static_cast<unsigned long long>(d.failures));
  }
  return r;
}

void print(const char* name, const result& r, long lines) {
  std::printf("%-22s %10.0f lines/s  %8.0f ns CPU/line off the caller  peak buffered %8llu lines  RSS +%ld KiB%s\n",
              name, lines / r.seconds, r.others_cpu * 1e9 / lines, static_cast<unsigned long long>(r.peak_buffered),
              r.rss_growth_kib, r.complete ? "" : "  (INCOMPLETE)");
}

}  // namespace

int main(int argc, char** argv) {
  const long lines = argc > 1 ? std::atol(argv[1]) : 200000;
  std::string where = argc > 2 ? argv[2] : "";
  pid_t server = -1;
  const std::string dir = "/tmp/ctxlog-bench-ch-" + std::to_string(getpid());
  if (where.empty()) {
    std::string line;
    server = start_server(dir, line);
    const std::size_t at = line.find("127.0.0.1:");
    if (server < 0 || at == std::string::npos) {
      std::printf("SKIP: no clickhouse-server could be started (%s %s): %s\n", CTXLOG_CLICKHOUSE_LOCAL, dir.c_str(),
                  line.c_str());
      if (server > 0) waitpid(server, nullptr, 0);
      return 0;
    }
    std::printf("%s\n", line.c_str());
    where = line.substr(at, line.find(' ', at) - at);
  }
  const std::size_t colon = where.rfind(':');
  std::printf("%ld lines per sink, one producer; server %s\n", lines, where.c_str());

  const std::string path = "/tmp/ctxlog-bench-ch-" + std::to_string(getpid()) + ".log";
  const result file = run(ctxlog::sinks::file_sink(path), nullptr, lines);
  print("file_sink", file, lines);
  std::remove(path.c_str());

  auto ch = ctxlog::sinks::clickhouse({.host = where.substr(0, colon),
                                       .port = static_cast<std::uint16_t>(std::stoi(where.substr(colon + 1))),
                                       .table = "bench_logs",
                                       .create_table = true});  // clickhouse_queue_defaults()
  const result chr = run(ch, ch.get(), lines);
  print("clickhouse_sink (HTTP)", chr, lines);
  std::printf("ratios clickhouse/file: time %.2f, CPU per line %.2f; buffer bound %zu MiB (queue_options)\n",
              chr.seconds / file.seconds, chr.others_cpu / file.others_cpu, ch->settings().queue.max_buffered_bytes >> 20);
  ctxlog::shutdown();
  if (server > 0) {  // the script stops the server on SIGTERM
    kill(server, SIGTERM);
    waitpid(server, nullptr, 0);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return chr.complete ? 0 : 1;
}
