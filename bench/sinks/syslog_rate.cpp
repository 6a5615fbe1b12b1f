// bench/sinks/syslog_rate.cpp — how many lines per second does one process get into a
// real rsyslogd over TCP (RFC 5424, octet counting), at what CPU cost off the calling
// thread and what buffer memory, against a file sink in the same run? (issue 11)
//
// Starts a throwaway rsyslogd (foreground, its own configuration and work directory in
// /tmp, imtcp on a free loopback port, every message to one file) unless given one
// (`syslog_rate [lines] [HOST:PORT]`). Per sink: N lines from one thread (a request
// context with 4 ids, two kv() fields), wall time from the first call until the sink
// holds nothing (file: ctxlog::flush(); syslog: flush() and drain(), i.e. every message
// written to the socket). CPU of every thread but the caller's (the back-end, and the
// syslog sink's sender) per line. The buffer's peak: lines held (sampled every ms) and
// the growth of RSS. When the bench started rsyslogd it also waits until rsyslogd's file
// holds every line and says how long that took. Ratios syslog / file are printed.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

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
#include "ctxlog/sinks/syslog.hpp"

namespace {

using steady = std::chrono::steady_clock;

double process_cpu() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}
double thread_cpu() {
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

std::uint16_t free_port() {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

bool listening(std::uint16_t port) {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(s);
  return ok;
}

// rsyslogd -n in dir, imtcp on port, every message to dir/out.log; its pid or -1.
pid_t start_rsyslogd(const std::string& dir, std::uint16_t port) {
  std::filesystem::create_directories(dir + "/work");
  std::ofstream(dir + "/rsyslog.conf") << "global(workDirectory=\"" << dir << "/work\" maxMessageSize=\"64k\")\n"
                                       << "module(load=\"imtcp\")\n"
                                       << "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"" << port << "\")\n"
                                       << "action(type=\"omfile\" file=\"" << dir << "/out.log\")\n";
  const std::string conf = dir + "/rsyslog.conf", pidfile = dir + "/rsyslogd.pid", log = dir + "/rsyslogd.log";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  char* args[] = {const_cast<char*>("rsyslogd"), const_cast<char*>("-n"), const_cast<char*>("-C"),
                  const_cast<char*>("-f"), const_cast<char*>(conf.c_str()), const_cast<char*>("-i"),
                  const_cast<char*>(pidfile.c_str()), nullptr};
  pid_t pid = -1;
  // rsyslogd lives in /usr/sbin, which a non-root PATH may lack.
  if (posix_spawn(&pid, "/usr/sbin/rsyslogd", &fa, nullptr, args, environ) != 0 &&
      posix_spawnp(&pid, "rsyslogd", &fa, nullptr, args, environ) != 0)
    pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  for (int i = 0; pid > 0 && i < 200 && !listening(port); ++i) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return pid > 0 && listening(port) ? pid : -1;
}

long count_lines(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  long n = 0;
  char buf[1 << 16];
  while (f.read(buf, sizeof buf) || f.gcount() > 0) {
    for (std::streamsize i = 0; i < f.gcount(); ++i) n += buf[i] == '\n';
    if (!f) break;
  }
  return n;
}

struct result {
  double seconds = 0, others_cpu = 0;
  std::uint64_t peak_buffered = 0;
  long rss_growth_kib = 0;
  bool complete = true;
};

result run(const ctxlog::sink_ptr& sink, ctxlog::sinks::syslog_sink* sl, long lines) {
  ctxlog::configure({.sinks = {sink}, .process = {.service = "bench", .host = "bench-host"}});
  const auto ctx = ctxlog::context{}.with(ctxlog::fields{}
                                              .request_id("r-7f3a9c2e")
                                              .tenant_id("acme-corp")
                                              .trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
                                              .span_id("00f067aa0ba902b7"));
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> peak{0};
  std::thread sampler;
  if (sl)
    sampler = std::thread([&] {
      while (!done.load()) {
        const std::uint64_t b = sl->delivery().buffered;
        if (b > peak.load()) peak.store(b);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  const long rss0 = rss_kib();
  const double cpu0 = process_cpu(), mine0 = thread_cpu();
  const auto t0 = steady::now();
  ctxlog::run(ctx, [lines] {
    for (long i = 0; i < lines; ++i) LOG_INFO("order {} created", i, ctxlog::kv("amount", 12.5), ctxlog::kv("items", 3));
  });
  ctxlog::flush();
  result r;
  if (sl) r.complete = sl->drain(std::chrono::seconds(120));
  r.seconds = std::chrono::duration<double>(steady::now() - t0).count();
  r.rss_growth_kib = rss_kib() - rss0;
  done.store(true);
  if (sampler.joinable()) sampler.join();
  // The sampler's own few wake-ups are in this figure too (about 1 ms of sleep each).
  r.others_cpu = (process_cpu() - cpu0) - (thread_cpu() - mine0);
  r.peak_buffered = peak.load();
  if (sl) {
    const auto d = sl->delivery();
    r.complete = r.complete && d.delivered == d.accepted;
    std::printf("  syslog sink: accepted %llu, delivered %llu, dropped %llu, failed attempts %llu, resent %llu\n",
                static_cast<unsigned long long>(d.accepted), static_cast<unsigned long long>(d.delivered),
                static_cast<unsigned long long>(d.dropped), static_cast<unsigned long long>(d.failures),
                static_cast<unsigned long long>(sl->resent()));
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
  const std::string dir = "/tmp/ctxlog-bench-syslog-" + std::to_string(getpid());
  if (where.empty()) {
    const std::uint16_t port = free_port();
    server = start_rsyslogd(dir, port);
    if (server < 0) {
      std::printf("SKIP: no rsyslogd could be started in %s (is rsyslog installed?)\n", dir.c_str());
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
      return 0;
    }
    where = "127.0.0.1:" + std::to_string(port);
    std::printf("rsyslogd started (pid %d) on %s, messages to %s/out.log\n", static_cast<int>(server), where.c_str(),
                dir.c_str());
  }
  const std::size_t colon = where.rfind(':');
  std::printf("%ld lines per sink, one producer; collector %s (TCP, octet counting)\n", lines, where.c_str());

  const std::string path = dir + ".file.log";
  const result file = run(ctxlog::sinks::file_sink(path), nullptr, lines);
  print("file_sink", file, lines);
  std::remove(path.c_str());

  auto sl = ctxlog::sinks::syslog({.transport = ctxlog::sinks::syslog_transport::tcp,
                                   .host = where.substr(0, colon),
                                   .port = static_cast<std::uint16_t>(std::stoi(where.substr(colon + 1))),
                                   .queue = {.max_buffered_bytes = 64u << 20}});
  const auto t0 = steady::now();
  const result slr = run(sl, sl.get(), lines);
  print("syslog_sink (TCP)", slr, lines);
  std::printf("ratios syslog/file: time %.2f, CPU per line %.2f; buffer bound %zu MiB (queue_options) + resend copies "
              "%zu KiB\n",
              slr.seconds / file.seconds, slr.others_cpu / file.others_cpu, sl->settings().queue.max_buffered_bytes >> 20,
              sl->settings().resend_bytes >> 10);
  ctxlog::shutdown();
  bool stored = true;
  if (server > 0) {
    // Sent is not stored: wait until rsyslogd's file has every line (at most 60 s).
    long n = 0;
    for (int i = 0; i < 600 && (n = count_lines(dir + "/out.log")) < lines; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stored = n >= lines;
    std::printf("rsyslogd stored %ld of %ld lines, %.2f s after the first call\n", n, lines,
                std::chrono::duration<double>(steady::now() - t0).count());
    kill(server, SIGTERM);
    waitpid(server, nullptr, 0);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return slr.complete && stored ? 0 : 1;
}
