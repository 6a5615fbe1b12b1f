// bench/throughput.cpp — how many lines per second reach a file, and at what peak memory?
//
// 2 M lines of LOG_INFO("order {} created for customer {}", int, std::string) with four
// IDs in the context, from 1 producer thread and from 2 (1 M each), to a file; wall time
// from the first call to the end of the final drain (ctxlog::flush(); for spdlog 1.10's
// async logger, the thread pool's join). Each run is a forked child, so ru_maxrss is that
// library's peak alone. The parent counts the lines of every file before deleting it.
//
// The context's worst case (issue 8): every line from a different request. Each producer
// owns 1000 contexts (four distinct IDs each) made before the start signal and enters the
// next one around every call with run(ctx[i % 1000], ...), so each record is preceded by
// a frame entry and the back-end renders a frame it has not cached. The same call with
// one context entered around every call separates the scope's own cost from that of the
// context change; spdlog gets the 1000 requests' IDs as arguments, changing per line.
// These files are checked line by line: each line's requestId must be the one its order
// number was logged with.
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
#include <string_view>
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

// Which contexts the lines come from.
enum class contexts {
  steady,     // one per producer, entered once around the whole loop
  scoped,     // one per producer, entered around every call (ctxlog only)
  rotating,   // 1000 per producer, the next one around every call
};
const char* name_of(contexts c) {
  switch (c) {
    case contexts::steady: return "1 context";
    case contexts::scoped: return "1, scope/call";
    case contexts::rotating: return "1000 contexts";
  }
  return "";
}
constexpr std::size_t k_rotating = 1000;

using bench::request;

// Producer t's k-th request of the rotating case: requestId "r-<t*1000+k>" (the check in
// inspect() reads it back), the other three IDs distinct too.
request rotating_request(unsigned t, std::size_t k) {
  const std::size_t n = t * k_rotating + k;
  request r;
  char buf[40];
  r.request_id = "r-" + std::to_string(n);
  r.tenant_id = "tenant-" + std::to_string(n);
  std::snprintf(buf, sizeof buf, "%016zx%016zx", n * 0x9e3779b97f4a7c15u, n + 1);
  r.trace_id = buf;
  std::snprintf(buf, sizeof buf, "%016zx", (n + 1) * 0xbf58476d1ce4e5b9u);
  r.span_id = buf;
  return r;
}
std::vector<std::vector<request>> rotating_requests(unsigned producers) {
  std::vector<std::vector<request>> all(producers);
  for (unsigned t = 0; t < producers; ++t)
    for (std::size_t k = 0; k < k_rotating; ++k) all[t].push_back(rotating_request(t, k));
  return all;
}

// What a child reports through its pipe.
struct child_result {
  double seconds;
  long max_rss_kib;
  std::uint64_t dropped;  // ctxlog's own count of lost records
  int ok;
};

// Starts `producers` threads pinned to cpus 0.., each calling produce(t, per_thread)
// (which logs that many lines) once all are ready; returns the seconds from the start
// signal to the end of drain().
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
      produce(t, per_thread);
    });
  while (ready.load() < producers) {
  }
  const std::uint64_t t0 = bench::steady_ns();
  go.store(true, std::memory_order_release);
  for (auto& th : pool) th.join();
  drain();
  return static_cast<double>(bench::steady_ns() - t0) / 1e9;
}

ctxlog::context context_of(const request& r) {
  return ctxlog::context{}.with(
      ctxlog::fields{}.request_id(r.request_id).tenant_id(r.tenant_id).trace_id(r.trace_id).span_id(r.span_id));
}

child_result run_ctxlog(const std::string& path, unsigned producers, std::size_t lines, contexts mode) {
  ctxlog::configure({.sinks = {ctxlog::sinks::file_sink(path)},
                     .min_level = ctxlog::level::info,
                     .mode = ctxlog::dispatch_mode::async});
  const request r;
  const auto ctx = context_of(r);
  // Made before the clock starts: the rotating case times context changes, not creation.
  std::vector<std::vector<ctxlog::context>> ctxs(producers);
  if (mode == contexts::rotating)
    for (unsigned t = 0; t < producers; ++t)
      for (std::size_t k = 0; k < k_rotating; ++k) ctxs[t].push_back(context_of(rotating_request(t, k)));
  const double s = run_producers(
      producers, lines / producers,
      [&](unsigned t, std::size_t n) {
        switch (mode) {
          case contexts::steady:
            ctxlog::run(ctx, [&] {  // each producer serves one request
              for (std::size_t i = 0; i < n; ++i)
                LOG_INFO("order {} created for customer {}", static_cast<int>(i), r.customer);
            });
            break;
          case contexts::scoped:
            for (std::size_t i = 0; i < n; ++i)
              ctxlog::run(ctx, [&] { LOG_INFO("order {} created for customer {}", static_cast<int>(i), r.customer); });
            break;
          case contexts::rotating: {
            const auto& mine = ctxs[t];
            for (std::size_t i = 0, k = 0; i < n; ++i, k = k + 1 == k_rotating ? 0 : k + 1)
              ctxlog::run(mine[k], [&] { LOG_INFO("order {} created for customer {}", static_cast<int>(i), r.customer); });
            break;
          }
        }
      },
      [] { ctxlog::flush(); });
  const auto st = ctxlog::get_stats();
  ctxlog::shutdown();
  return {s, 0, st.dropped, 1};
}

child_result run_spdlog(const std::string& path, unsigned producers, std::size_t lines, contexts mode) {
  spdlog::init_thread_pool(8192, 1);
  auto l = spdlog::create_async<spdlog::sinks::basic_file_sink_mt>("bench", path, true);
  l->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n",%v,"thread":%t,"file":"%s","line":%#})",
                 spdlog::pattern_time_type::utc);
  const request r;
  const auto reqs = mode == contexts::rotating ? rotating_requests(producers) : std::vector<std::vector<request>>{};
  spdlog::logger* raw = l.get();
  auto log = [raw](int i, const std::string& customer, const request& q) {
    SPDLOG_LOGGER_CALL(raw, spdlog::level::info,
                       "\"msg\":\"order {} created for customer {}\",\"requestId\":\"{}\",\"tenantId\":\"{}\","
                       "\"traceId\":\"{}\",\"spanId\":\"{}\"",
                       i, customer, q.request_id, q.tenant_id, q.trace_id, q.span_id);
  };
  const double s = run_producers(
      producers, lines / producers,
      [&](unsigned t, std::size_t n) {
        if (mode == contexts::rotating) {
          const auto& mine = reqs[t];
          for (std::size_t i = 0, k = 0; i < n; ++i, k = k + 1 == k_rotating ? 0 : k + 1)
            log(static_cast<int>(i), r.customer, mine[k]);
        } else {
          for (std::size_t i = 0; i < n; ++i) log(static_cast<int>(i), r.customer, r);
        }
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
  std::uint64_t wrong_ids = 0;  // rotating case: lines whose requestId is not their order's
  std::string first_line;
};

// Whether a line of the rotating case carries the requestId its order number was logged
// with: "order <i> ..." and "requestId":"r-<n>" with n % 1000 == i % 1000.
bool ids_match(std::string_view line) {
  constexpr std::string_view order = "order ", rid = "\"requestId\":\"r-";
  const auto a = line.find(order), b = line.find(rid);
  if (a == line.npos || b == line.npos) return false;
  const auto i = std::strtoull(line.data() + a + order.size(), nullptr, 10);
  const auto n = std::strtoull(line.data() + b + rid.size(), nullptr, 10);
  return i % k_rotating == n % k_rotating;
}

file_facts inspect(const std::string& path, bool check_ids) {
  file_facts f;
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return f;
  std::vector<char> buf(1 << 20);
  std::string partial;  // a line cut by the end of a read
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n <= 0) break;
    const char* p = buf.data();
    const char* const end = p + n;
    if (f.bytes == 0) f.first_line.assign(p, std::find(p, end, '\n'));
    f.bytes += static_cast<std::uint64_t>(n);
    while (p != end) {
      const char* nl = std::find(p, end, '\n');
      if (nl == end) {
        if (check_ids) partial.append(p, end);
        break;
      }
      ++f.lines;
      if (check_ids) {
        bool ok;
        if (partial.empty()) {
          ok = ids_match({p, static_cast<std::size_t>(nl - p)});
        } else {
          partial.append(p, nl);
          ok = ids_match(partial);
          partial.clear();
        }
        f.wrong_ids += !ok;
      }
      p = nl + 1;
    }
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
  // Rounds of all runs, interleaved so that drift in the machine's load hits every run
  // alike. Default: 3 rounds, or 1 when the first took over 15 s (keeps the run short).
  const int asked_rounds = argc > 2 ? std::atoi(argv[2]) : 0;
  // Which runs: "default" (all but spdlog's 2-producer rotating run, ~15 s a round here),
  // "all", "steady" (the four runs of before issue 8), "rotating" (the context-change runs
  // and the steady ones they are compared with, without spdlog's 2-producer runs).
  const std::string which = argc > 3 ? argv[3] : "default";
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/ctxlog-bench-XXXXXX";
  if (!::mkdtemp(dir.data())) {
    std::perror("mkdtemp");
    return 1;
  }

  const child_result floor = in_child([] { return child_result{0, 0, 0, 1}; });
  std::printf("throughput: %zu lines per run to a file in %s; producers pinned to cpu 0 (and 1), back-end\n"
              "threads left to the scheduler; ctxlog dispatch_mode::async requested; spdlog 1.10 async_factory,\n"
              "queue 8192, block; peak RSS of a forked child that does nothing: %.1f MiB\n"
              "contexts: '1 context' = one per producer, entered once; '1, scope/call' = the same one entered\n"
              "around every call; '1000 contexts' = 1000 per producer (4 distinct IDs each, made before the\n"
              "clock starts), the next one entered around every call (spdlog: their IDs as arguments)\n",
              lines, dir.c_str(), static_cast<double>(floor.max_rss_kib) / 1024);

  struct config {
    library lib;
    unsigned producers;
    contexts mode;
    std::vector<double> secs{};
    std::vector<long> rss{};
    bool complete = true;
    double bytes_per_line = 0;
    std::uint64_t wrong_ids = 0;
  };
  std::vector<config> all{{library::ctxlog, 1, contexts::steady},   {library::spdlog, 1, contexts::steady},
                          {library::ctxlog, 2, contexts::steady},   {library::spdlog, 2, contexts::steady},
                          {library::ctxlog, 1, contexts::scoped},   {library::ctxlog, 1, contexts::rotating},
                          {library::spdlog, 1, contexts::rotating}, {library::ctxlog, 2, contexts::scoped},
                          {library::ctxlog, 2, contexts::rotating}, {library::spdlog, 2, contexts::rotating}};
  std::vector<config> configs;
  for (const auto& c : all) {
    const bool slow = c.lib == library::spdlog && c.producers == 2;
    if (which == "all" || (which == "steady" && c.mode == contexts::steady) ||
        (which == "rotating" && !slow) || (which == "default" && !(slow && c.mode == contexts::rotating)))
      configs.push_back(c);
  }
  if (configs.empty()) {
    std::fprintf(stderr, "throughput: unknown selection '%s' (default, all, steady, rotating)\n", which.c_str());
    return 2;
  }
  int rounds = asked_rounds > 0 ? asked_rounds : 3;
  for (int round = 0; round < rounds; ++round) {
    const std::uint64_t round_start = bench::steady_ns();
    for (auto& c : configs) {
      const bool rotating = c.mode == contexts::rotating;
      const std::string path = dir + "/" + name_of(c.lib) + "-" + std::to_string(c.producers) + ".log";
      const child_result r = in_child([&] {
        return c.lib == library::ctxlog ? run_ctxlog(path, c.producers, lines, c.mode)
                                        : run_spdlog(path, c.producers, lines, c.mode);
      });
      const file_facts f = inspect(path, rotating);
      ::unlink(path.c_str());
      const bool ok = r.ok && f.lines == lines && f.wrong_ids == 0;
      c.complete = c.complete && ok;
      c.wrong_ids += f.wrong_ids;
      c.secs.push_back(r.seconds);
      c.rss.push_back(r.max_rss_kib);
      c.bytes_per_line = f.lines ? static_cast<double>(f.bytes) / static_cast<double>(f.lines) : 0;
      std::printf("  round %d, %s, %u producer%s, %-13s: %.3f s, %.3f M lines/s, peak RSS %.1f MiB, file has %llu of %zu lines",
                  round + 1, name_of(c.lib), c.producers, c.producers > 1 ? "s" : " ", name_of(c.mode), r.seconds,
                  static_cast<double>(lines) / r.seconds / 1e6, static_cast<double>(r.max_rss_kib) / 1024,
                  static_cast<unsigned long long>(f.lines), lines);
      if (rotating) std::printf(", %llu with a wrong requestId", static_cast<unsigned long long>(f.wrong_ids));
      std::printf("%s%s\n", ok ? "" : "  INCOMPLETE", r.dropped ? " (ctxlog counted drops)" : "");
      if (round == 0) std::printf("    first line: %s\n", f.first_line.c_str());
    }
    if (round == 0 && asked_rounds <= 0 && bench::steady_ns() - round_start > 15'000'000'000u) rounds = 1;
  }
  ::rmdir(dir.c_str());

  struct summary {
    library lib;
    unsigned producers;
    contexts mode;
    double seconds, lines_per_s, rss_mib, bytes_per_line;
    bool complete;
  };
  std::vector<summary> table;
  bool all_complete = true;
  for (const auto& c : configs) {
    const double s = bench::median(c.secs);
    table.push_back({c.lib, c.producers, c.mode, s, static_cast<double>(lines) / s,
                     static_cast<double>(bench::median(c.rss)) / 1024, c.bytes_per_line, c.complete});
    all_complete = all_complete && c.complete;
  }

  std::printf("\nmedian of %d round%s:\n%-8s %4s %-13s %9s %10s %8s %13s %11s %s\n", rounds, rounds > 1 ? "s" : "",
              "library", "prod", "contexts", "seconds", "M lines/s", "ns/line", "peak RSS MiB", "bytes/line",
              "lines verified");
  for (const auto& t : table)
    std::printf("%-8s %4u %-13s %9.3f %10.3f %8.1f %13.1f %11.1f %s\n", name_of(t.lib), t.producers, name_of(t.mode),
                t.seconds, t.lines_per_s / 1e6, 1e9 / t.lines_per_s, t.rss_mib, t.bytes_per_line,
                t.complete ? (t.mode == contexts::rotating ? "all, IDs checked" : "all") : "NO: lines lost or wrong");

  auto get = [&](library l, unsigned p, contexts m) -> const summary* {
    for (const auto& t : table)
      if (t.lib == l && t.producers == p && t.mode == m) return &t;
    return nullptr;
  };
  auto verdict = [](bool ok) { return ok ? "met" : "MISSED"; };
  std::printf("\ntargets:\n");
  for (unsigned p : {1u, 2u}) {
    const summary* c = get(library::ctxlog, p, contexts::steady);
    const summary* s = get(library::spdlog, p, contexts::steady);
    if (!c || !s) continue;
    std::printf("  %u producer%s: ctxlog %.2f M lines/s (>= 1.8: %s), peak RSS %.1f MiB (<= 64: %s), "
                "ctxlog/spdlog %.2fx (>= 2x: %s)\n",
                p, p > 1 ? "s" : " ", c->lines_per_s / 1e6, verdict(c->lines_per_s >= 1.8e6), c->rss_mib,
                verdict(c->rss_mib <= 64), c->lines_per_s / s->lines_per_s, verdict(c->lines_per_s >= 2 * s->lines_per_s));
  }
  const summary* c1 = get(library::ctxlog, 1, contexts::steady);
  const summary* c2 = get(library::ctxlog, 2, contexts::steady);
  const summary* s1 = get(library::spdlog, 1, contexts::steady);
  const summary* s2 = get(library::spdlog, 2, contexts::steady);
  if (c1 && c2 && s1 && s2) {
    const double r21 = c2->lines_per_s / c1->lines_per_s;
    std::printf("  2 producers vs 1: ctxlog %.2fx (no worse, >= 0.95x: %s); spdlog %.2fx\n", r21, verdict(r21 >= 0.95),
                s2->lines_per_s / s1->lines_per_s);
  }

  // Issue 8: the price of a context change per line (throughput ratios of the medians;
  // ns/line differences are wall time per line, so they include the back-end's work).
  bool any = false;
  for (unsigned p : {1u, 2u}) {
    const summary* steady = get(library::ctxlog, p, contexts::steady);
    const summary* scoped = get(library::ctxlog, p, contexts::scoped);
    const summary* rot = get(library::ctxlog, p, contexts::rotating);
    const summary* sp_steady = get(library::spdlog, p, contexts::steady);
    const summary* sp_rot = get(library::spdlog, p, contexts::rotating);
    if (!rot) continue;
    if (!any) std::printf("\ncontext changes (issue 8), ratios of lines/s:\n");
    any = true;
    auto per_line = [](const summary* a, const summary* b) { return 1e9 / a->lines_per_s - 1e9 / b->lines_per_s; };
    std::printf("  %u producer%s: ctxlog 1000 contexts / 1 context %.2fx (%+.1f ns/line)", p, p > 1 ? "s" : " ",
                steady ? rot->lines_per_s / steady->lines_per_s : 0.0, steady ? per_line(rot, steady) : 0.0);
    if (scoped)
      std::printf("; 1000 contexts / 1 with scope/call %.2fx (%+.1f ns/line: the context change itself)",
                  rot->lines_per_s / scoped->lines_per_s, per_line(rot, scoped));
    std::printf("\n");
    if (sp_rot)
      std::printf("               ctxlog/spdlog with 1000 contexts %.2fx; spdlog 1000 / 1: %.2fx\n",
                  rot->lines_per_s / sp_rot->lines_per_s, sp_steady ? sp_rot->lines_per_s / sp_steady->lines_per_s : 0.0);
  }
  return all_complete ? 0 : 1;
}
