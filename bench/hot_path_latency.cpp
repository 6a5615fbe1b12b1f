// bench/hot_path_latency.cpp — how long does the calling thread spend in one log call?
//
// One LOG_INFO("order {} created for customer {}", int, std::string) timed with the TSC
// (a bare rdtsc before and after) and reported as percentiles, with a short spin between calls so
// that no queue fills (Quill's hot_path_latency method). Also: the call outside any
// context, a call below the level, and spdlog 1.10's async logger with the four IDs as
// explicit fmt arguments, in the same run. Both libraries write to a null sink, then
// (issue 8) to a file in a fresh temp dir: ctxlog's file_sink, spdlog's basic_file_sink,
// and as the machine's floor a bare SPSC ring of 64-byte slots whose consumer thread
// copies them to a file.
//
// rdtsc costs ~10 ns here and steps in ~10 ns, so small differences (the context's extra
// cost) are taken from batch averages: 20 consecutive calls timed together, divided by 20.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "ctxlog/config.hpp"
#include "ctxlog/context.hpp"
#include "ctxlog/log.hpp"
#include "ctxlog/sinks/file.hpp"
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

// fenced: the "4 IDs" call followed by a full fence inside the timed region. A call's
// stores may still wait in the store buffer when it returns (for a cache line the
// back-end's CPU holds); the caller pays that wait at its next locked instruction or
// fence (a mutex, a reference count, a scope exit), which this shows.
enum class variant { in_context, no_context, disabled, fenced };
enum class library { ctxlog, spdlog, ring };
const char* name_of(library l) {
  switch (l) {
    case library::ctxlog: return "ctxlog";
    case library::spdlog: return "spdlog";
    case library::ring: return "ring";
  }
  return "";
}
const char* name_of(variant v) {
  switch (v) {
    case variant::in_context: return "4 IDs";
    case variant::no_context: return "no IDs";
    case variant::disabled: return "disabled level";
    case variant::fenced: return "4 IDs + fence";
  }
  return "";
}

// The floor: a plain SPSC ring of 64-byte slots (1 MiB, touched up front, as ctxlog's
// queue is), one release store per write; its consumer thread, pinned to cpu 1, polls
// every 0.5 ms like ctxlog's back-end and copies the slots to a file with write(2) at
// 64 KiB and at the end of each batch, like fd_sink.
class ring_reference {
 public:
  explicit ring_reference(const std::string& path)
      : buf_(std::make_unique<slot[]>(k_slots)), fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644)) {
    if (fd_ < 0) {
      std::perror(path.c_str());
      std::exit(1);
    }
    consumer_ = std::thread([this] { consume(); });
  }
  ~ring_reference() {
    stop_.store(true, std::memory_order_release);
    consumer_.join();
    ::close(fd_);
  }
  ring_reference(const ring_reference&) = delete;
  ring_reference& operator=(const ring_reference&) = delete;

  // Producer (one thread): copies one 64-byte line into the next slot and publishes it.
  void push(int i) noexcept {
    if (write_ - read_cache_ == k_slots) {
      // acquire pairs with the consumer's release: the slot has been copied out.
      while (write_ - (read_cache_ = consumed_.load(std::memory_order_acquire)) == k_slots) std::this_thread::yield();
    }
    slot& s = buf_[write_ & (k_slots - 1)];
    std::memcpy(s.bytes, k_line, sizeof s.bytes);
    const auto tag = static_cast<std::uint32_t>(i) | 0x80808080u;  // no byte of it is a newline
    std::memcpy(s.bytes + 6, &tag, sizeof tag);                     // over "????": the line stays 64 bytes
    // release pairs with the consumer's acquire: the slot is written before it is visible.
    published_.store(++write_, std::memory_order_release);
  }
  // Returns once every line pushed so far is in the file.
  void flush() const {
    const std::size_t end = write_;
    while (written_.load(std::memory_order_acquire) < end) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }

 private:
  static constexpr std::size_t k_slots = 16384;
  static constexpr char k_line[65] = "order ???? created for customer customer-4711, ring reference..\n";
  struct alignas(64) slot {
    char bytes[64];
  };

  void consume() {
    bench::pin_to_cpu(1);
    std::string out;
    out.reserve(128 * 1024);
    std::size_t read = 0;
    auto write_out = [&] {
      for (std::size_t off = 0; off < out.size();) {
        const ssize_t n = ::write(fd_, out.data() + off, out.size() - off);
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
      }
      out.clear();
    };
    for (;;) {
      const std::size_t end = published_.load(std::memory_order_acquire);
      if (end == read) {
        if (stop_.load(std::memory_order_acquire)) return;
        std::this_thread::sleep_for(std::chrono::microseconds(500));
        continue;
      }
      for (; read != end; ++read) {
        out.append(buf_[read & (k_slots - 1)].bytes, sizeof(slot));
        if ((read & 127) == 127) consumed_.store(read + 1, std::memory_order_release);
        if (out.size() >= 64 * 1024) write_out();
      }
      consumed_.store(read, std::memory_order_release);
      write_out();
      written_.store(read, std::memory_order_release);
    }
  }

  std::unique_ptr<slot[]> buf_;  // value-initialised: every page touched now
  int fd_;
  std::thread consumer_;
  alignas(64) std::size_t write_ = 0;  // producer only
  std::size_t read_cache_ = 0;         // producer only: last consumed_ seen
  alignas(64) std::atomic<std::size_t> published_{0};
  alignas(64) std::atomic<std::size_t> consumed_{0};
  std::atomic<std::size_t> written_{0};
  std::atomic<bool> stop_{false};
};

std::shared_ptr<spdlog::logger> g_spdlog;  // the one of the current phase (null or file sink)
std::unique_ptr<ring_reference> g_ring;

// The call under test. ctxlog's "4 IDs" variant runs inside a scope the caller entered.
inline void log_once(library lib, variant v, const request& r, int i) {
  if (lib == library::ring) {
    g_ring->push(i);
    if (v == variant::fenced) std::atomic_thread_fence(std::memory_order_seq_cst);
    return;
  }
  if (lib == library::ctxlog) {
    if (v == variant::disabled) LOG_DEBUG("order {} created for customer {}", i, r.customer);
    else LOG_INFO("order {} created for customer {}", i, r.customer);
    if (v == variant::fenced) std::atomic_thread_fence(std::memory_order_seq_cst);
    return;
  }
  spdlog::logger* l = g_spdlog.get();
  switch (v) {
    case variant::in_context:
    case variant::fenced:  // not measured for spdlog
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
  const bool ids = v == variant::in_context || v == variant::fenced;
  ctxlog::context mine = ids && lib == library::ctxlog ? ctx : ctxlog::context{};
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
  const char* sink;
  double p50, p90, p99, p999, max, batch_median;  // ns
};

row measure(library lib, variant v, unsigned threads, const settings& s, double tpn, const ctxlog::context& ctx,
            const char* sink) {
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
  else if (lib == library::spdlog) g_spdlog->flush();
  else g_ring->flush();

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
          sink,
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

const row& find(const std::vector<row>& rows, library lib, variant v, unsigned threads, const char* sink = "null") {
  for (const auto& r : rows)
    if (r.lib == lib && r.v == v && r.threads == threads && std::strcmp(r.sink, sink) == 0) return r;
  return rows.front();
}

std::uint64_t count_lines(const std::string& path) {
  std::uint64_t n = 0;
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return 0;
  std::vector<char> buf(1 << 20);
  for (ssize_t r; (r = ::read(fd, buf.data(), buf.size())) > 0;)
    n += static_cast<std::uint64_t>(std::count(buf.data(), buf.data() + r, '\n'));
  ::close(fd);
  return n;
}

// Checks that a file row's lines all reached its file, then empties the file (its writer
// appends, so it continues at the new end), so that the files stay small. spdlog's
// flush() only queues a request, hence the wait (at most 5 s).
bool lines_arrived_then_truncate(const std::string& path, std::uint64_t expected) {
  std::uint64_t n = 0;
  for (int i = 0; i < 500 && (n = count_lines(path)) < expected; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (n != expected)
    std::fprintf(stderr, "hot_path_latency: %s has %llu lines, expected %llu\n", path.c_str(),
                 static_cast<unsigned long long>(n), static_cast<unsigned long long>(expected));
  [[maybe_unused]] int r = ::truncate(path.c_str(), 0);
  return n == expected;
}

const char* verdict(bool ok) { return ok ? "met" : "MISSED"; }

}  // namespace

int main(int argc, char** argv) {
  settings s;
  if (argc > 1) s.calls = std::strtoul(argv[1], nullptr, 10);
  if (argc > 2) s.batches = std::strtoul(argv[2], nullptr, 10);
  // Which sinks: "all" (default), "null" (the rows of before issue 8), "file".
  const std::string which = argc > 3 ? argv[3] : "all";
  const bool null_rows = which == "all" || which == "null", file_rows = which == "all" || which == "file";
  if (!null_rows && !file_rows) {
    std::fprintf(stderr, "hot_path_latency: unknown selection '%s' (all, null, file)\n", which.c_str());
    return 2;
  }
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
              "producers pinned to cpu 0 (and 1)\n",
              s.calls, s.batches, k_batch, s.pause_ns);
  std::printf("ctxlog: dispatch_mode::async, back-end pinned to cpu 1; spdlog 1.10: async_factory, queue 8192, block, worker pinned to cpu 1\n");

  const request r;
  const ctxlog::context ctx = ctxlog::context{}.with(
      ctxlog::fields{}.request_id(r.request_id).tenant_id(r.tenant_id).trace_id(r.trace_id).span_id(r.span_id));
  const auto pattern = R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n",%v,"thread":%t,"file":"%s","line":%#})";
  spdlog::init_thread_pool(8192, 1, [] { bench::pin_to_cpu(1); });
  // One short untimed pass over every row of a phase first: the first row measured must
  // not pay for cold caches, lazily created buffers or a CPU that has not yet clocked up.
  settings warm = s;
  warm.calls = warm.batches = 1000;

  if (null_rows) {
    ctxlog::configure({.sinks = {ctxlog::sinks::null_sink()},
                       .min_level = ctxlog::level::info,
                       .mode = ctxlog::dispatch_mode::async,
                       .backend_cpu = 1});
    g_spdlog = spdlog::create_async<spdlog::sinks::null_sink_mt>("bench");
    g_spdlog->set_pattern(pattern, spdlog::pattern_time_type::utc);
    g_spdlog->set_level(spdlog::level::info);

    for (unsigned threads : {1u, 2u})
      for (library lib : {library::ctxlog, library::spdlog})
        for (variant v : {variant::in_context, variant::no_context, variant::disabled})
          measure(lib, v, threads, warm, tpn, ctx, "null");

    std::vector<row> rows;
    for (unsigned threads : {1u, 2u})
      for (library lib : {library::ctxlog, library::spdlog})
        for (variant v : {variant::in_context, variant::no_context, variant::disabled})
          rows.push_back(measure(lib, v, threads, s, tpn, ctx, "null"));

    std::printf("\n%-8s %-15s %3s %8s %8s %8s %8s %9s  %10s\n", "library", "call", "thr", "p50", "p90", "p99", "p99.9",
                "max", "batch avg");
    for (const auto& x : rows)
      std::printf("%-8s %-15s %3u %8.1f %8.1f %8.1f %8.1f %9.0f  %10.1f\n", name_of(x.lib), name_of(x.v), x.threads,
                  x.p50, x.p90, x.p99, x.p999, x.max, x.batch_median);
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
    spdlog::drop("bench");
  }

  bool complete = true;
  if (file_rows) {
    // Issue 8: the same call, 4 IDs, with each library writing to a file in a fresh temp
    // dir, and the bare ring as the floor. Each file is checked for every line, then
    // emptied, after each row.
    const char* tmp = std::getenv("TMPDIR");
    std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/ctxlog-latency-XXXXXX";
    if (!::mkdtemp(dir.data())) {
      std::perror("mkdtemp");
      return 1;
    }
    const std::string ctxlog_path = dir + "/ctxlog.log", spdlog_path = dir + "/spdlog.log", ring_path = dir + "/ring.log";
    ctxlog::configure({.sinks = {ctxlog::sinks::file_sink(ctxlog_path)},
                       .min_level = ctxlog::level::info,
                       .mode = ctxlog::dispatch_mode::async,
                       .backend_cpu = 1});
    g_spdlog = spdlog::create_async<spdlog::sinks::basic_file_sink_mt>("bench-file", spdlog_path, true);
    g_spdlog->set_pattern(pattern, spdlog::pattern_time_type::utc);
    g_spdlog->set_level(spdlog::level::info);
    g_ring = std::make_unique<ring_reference>(ring_path);
    std::printf("\nfile sinks, in %s: ctxlog file_sink (back-end on cpu 1), spdlog basic_file_sink (async, worker on\n"
                "cpu 1), ring = a bare SPSC ring of 64-byte slots, consumer on cpu 1 polling every 0.5 ms, write(2)\n",
                dir.c_str());

    struct file_case {
      library lib;
      variant v;
      unsigned threads;
      const std::string& path;
    };
    const variant ids = variant::in_context, fenced = variant::fenced;
    const std::vector<file_case> cases{
        {library::ctxlog, ids, 1, ctxlog_path},    {library::spdlog, ids, 1, spdlog_path},
        {library::ring, ids, 1, ring_path},        {library::ctxlog, fenced, 1, ctxlog_path},
        {library::ring, fenced, 1, ring_path},     {library::ctxlog, ids, 2, ctxlog_path},
        {library::spdlog, ids, 2, spdlog_path}};
    auto per_thread = [](const settings& x) { return x.warmup + x.calls + x.batches * k_batch; };
    for (const auto& c : cases) {
      measure(c.lib, c.v, c.threads, warm, tpn, ctx, "file");
      complete &= lines_arrived_then_truncate(c.path, per_thread(warm) * c.threads);
    }
    std::vector<row> rows;
    for (const auto& c : cases) {
      rows.push_back(measure(c.lib, c.v, c.threads, s, tpn, ctx, "file"));
      complete &= lines_arrived_then_truncate(c.path, per_thread(s) * c.threads);
    }
    // The fence's own cost: an empty timed region with the fence in it.
    std::vector<std::uint64_t> fence_only(100000);
    for (auto& e : fence_only) {
      const std::uint64_t t0 = bench::tsc_start();
      std::atomic_thread_fence(std::memory_order_seq_cst);
      const std::uint64_t t1 = bench::tsc_stop();
      e = t1 - t0;
    }
    std::sort(fence_only.begin(), fence_only.end());
    std::printf("%-8s %-15s %3s %8s %8s %8s %8s %9s  %10s\n", "library", "call (file)", "thr", "p50", "p90", "p99",
                "p99.9", "max", "batch avg");
    for (const auto& x : rows)
      std::printf("%-8s %-15s %3u %8.1f %8.1f %8.1f %8.1f %9.0f  %10.1f\n", name_of(x.lib),
                  x.lib == library::ring ? (x.v == fenced ? "slot + fence" : "64-byte slot") : name_of(x.v), x.threads, x.p50, x.p90, x.p99, x.p999, x.max,
                  x.batch_median);
    std::printf("(ns, as above; every line of every row was %s in its file; '+ fence': the call, then a full\n"
                " fence, in the timed region: what the caller's next locked instruction pays for the call's stores;\n"
                " a fence alone: p50 %.1f, p99 %.1f ns with the timer)\n",
                complete ? "found" : "NOT found", static_cast<double>(bench::quantile(fence_only, 0.5)) / tpn,
                static_cast<double>(bench::quantile(fence_only, 0.99)) / tpn);

    const row& c1 = find(rows, library::ctxlog, variant::in_context, 1, "file");
    const row& s1 = find(rows, library::spdlog, variant::in_context, 1, "file");
    const row& g1 = find(rows, library::ring, variant::in_context, 1, "file");
    const row& c2 = find(rows, library::ctxlog, variant::in_context, 2, "file");
    const row& s2 = find(rows, library::spdlog, variant::in_context, 2, "file");
    std::printf("\ntargets (issue 8), file sink, '4 IDs':\n");
    std::printf("  1 thread : ctxlog p50 %.1f ns (<= 30: %s), p99.9 %.1f ns (<= 1500: %s)\n", c1.p50,
                verdict(c1.p50 <= 30), c1.p999, verdict(c1.p999 <= 1500));
    for (const auto* p : {&c1, &c2}) {
      const row& sp = p == &c1 ? s1 : s2;
      std::printf("  %u thread%s: spdlog/ctxlog p50 %.1fx, p99 %.1fx, p99.9 %.1fx\n", p->threads,
                  p->threads > 1 ? "s" : " ", sp.p50 / p->p50, sp.p99 / p->p99, sp.p999 / p->p999);
    }
    std::printf("  floor (bare ring, 1 thread): p50 %.1f, p99 %.1f, p99.9 %.1f ns; ctxlog/ring p99 %.2fx, p99.9 %.2fx\n",
                g1.p50, g1.p99, g1.p999, c1.p99 / g1.p99, c1.p999 / g1.p999);
    const row& cf = find(rows, library::ctxlog, fenced, 1, "file");
    const row& gf = find(rows, library::ring, fenced, 1, "file");
    std::printf("  with a fence after the call: ctxlog p90 %.1f, p99 %.1f, p99.9 %.1f ns; ring p90 %.1f, p99 %.1f, p99.9 %.1f ns\n",
                cf.p90, cf.p99, cf.p999, gf.p90, gf.p99, gf.p999);
    g_ring.reset();
    g_spdlog.reset();
    spdlog::drop("bench-file");
    ctxlog::configure({.sinks = {ctxlog::sinks::null_sink()}, .mode = ctxlog::dispatch_mode::async});  // closes the file
    for (const auto& p : {ctxlog_path, spdlog_path, ring_path}) ::unlink(p.c_str());
    ::rmdir(dir.c_str());
  }

  g_spdlog.reset();
  spdlog::shutdown();
  ctxlog::shutdown();
  return complete ? 0 : 1;
}
