// bench/services/http_rps.cpp — requests/s of a minimal cpp-httplib service with and
// without ctxlog, measured in the same run by a keep-alive client on 127.0.0.1.
//
// Three servers in this process answer GET /orders/42 with a small JSON body:
//   plain      no middleware, no logging (the baseline)
//   access     ctxlog::http::instrument: a context per request, echoed headers, one access line
//   access+log the same, and the handler logs one line in the request's context
// Lines go to a file (a temporary one unless --log). N client threads, each with its own
// keep-alive connection, send requests back to back for --seconds; the variants alternate
// for --rounds. Printed: requests/s (median of the rounds), client-side p50/p99 latency,
// and each variant's requests/s as a ratio of plain's.
//
//   service_rps [--threads 4] [--seconds 3] [--rounds 3] [--log PATH]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <ctxlog/ctxlog.hpp>
#include <ctxlog/httplib.hpp>
#include <ctxlog/sinks/file.hpp>

#include "../harness.hpp"

namespace {

struct variant {
  const char* name;
  bool instrument;
  bool log_in_handler;
  std::unique_ptr<httplib::Server> server{};
  std::thread thread{};
  int port = 0;
  std::vector<double> rps{};
  std::vector<std::uint32_t> latency_ns{};
};

void start(variant& v) {
  v.server = std::make_unique<httplib::Server>();
  httplib::Server& s = *v.server;
  s.set_keep_alive_max_count(1u << 30);  // httplib closes a connection after 5 requests by default
  s.set_tcp_nodelay(true);                // else Nagle and delayed ACKs cost ~40 ms per request
  if (v.instrument) ctxlog::http::instrument(s);
  const bool log = v.log_in_handler;
  s.Get("/orders/42", [log](const httplib::Request&, httplib::Response& res) {
    if (log) LOG_INFO("order {} looked up", 42, ctxlog::kv("status", "confirmed"));
    res.set_content(R"({"orderId":42,"status":"confirmed"})", "application/json");
  });
  v.port = s.bind_to_any_port("127.0.0.1");
  if (v.port <= 0) {
    std::fprintf(stderr, "cannot bind 127.0.0.1\n");
    std::exit(1);
  }
  v.thread = std::thread([&s] { s.listen_after_bind(); });
}

// One round against v: threads clients, back to back for the given time.
void measure(variant& v, int threads, std::chrono::milliseconds length) {
  std::atomic<bool> go{false}, stop{false};
  std::atomic<int> failed{0};
  std::vector<std::vector<std::uint32_t>> lat(static_cast<std::size_t>(threads));
  std::vector<std::thread> clients;
  for (int t = 0; t < threads; ++t)
    clients.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", v.port);
      c.set_keep_alive(true);
      c.set_tcp_nodelay(true);
      c.Get("/orders/42");  // connect before the clock starts
      auto& mine = lat[static_cast<std::size_t>(t)];
      mine.reserve(1 << 16);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      while (!stop.load(std::memory_order_relaxed)) {
        const auto t0 = std::chrono::steady_clock::now();
        auto res = c.Get("/orders/42");
        const auto t1 = std::chrono::steady_clock::now();
        if (!res || res->status != 200) failed.fetch_add(1, std::memory_order_relaxed);
        mine.push_back(static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
      }
    });
  const auto t0 = std::chrono::steady_clock::now();
  go.store(true, std::memory_order_release);
  std::this_thread::sleep_for(length);
  stop.store(true);
  for (auto& c : clients) c.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::size_t n = 0;
  for (auto& l : lat) {
    n += l.size();
    v.latency_ns.insert(v.latency_ns.end(), l.begin(), l.end());
  }
  v.rps.push_back(static_cast<double>(n) / secs);
  std::printf("  %-11s %9.0f req/s  (%zu requests, %d failed)\n", v.name, static_cast<double>(n) / secs, n,
              failed.load());
}

int arg(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == name) return std::atoi(argv[i + 1]);
  return fallback;
}

std::string arg_s(int argc, char** argv, const char* name) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == name) return argv[i + 1];
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = std::max(1, arg(argc, argv, "--threads", 4));
  const auto length = std::chrono::milliseconds(std::max(100, arg(argc, argv, "--seconds", 3) * 1000));
  const int rounds = std::max(1, arg(argc, argv, "--rounds", 3));
  std::string log = arg_s(argc, argv, "--log");
  const bool temp_log = log.empty();
  if (temp_log) log = (std::filesystem::temp_directory_path() / ("ctxlog-service-rps-" + std::to_string(getpid()) + ".log")).string();

  ctxlog::configure({.sinks = {ctxlog::sinks::file_sink(log)}, .process = {.service = "bench"}});

  std::printf("service_rps: GET /orders/42 on 127.0.0.1, %d keep-alive client threads, %d round(s) of %.1f s\n",
              threads, rounds, static_cast<double>(length.count()) / 1000);
  std::printf("compiler: %s, %u hardware threads, lines to %s\n",
#if defined(__clang__)
              "clang " __clang_version__,
#else
              "g++ " __VERSION__,
#endif
              std::thread::hardware_concurrency(), log.c_str());

  std::vector<variant> vs;
  vs.push_back({"plain", false, false});
  vs.push_back({"access", true, false});
  vs.push_back({"access+log", true, true});
  for (auto& v : vs) start(v);

  for (int r = 0; r < rounds; ++r) {
    std::printf("round %d\n", r + 1);
    for (auto& v : vs) measure(v, threads, length);
  }

  std::printf("\n%-11s %12s %10s %10s %8s\n", "variant", "req/s", "p50 us", "p99 us", "ratio");
  const double base = bench::median(vs[0].rps);
  for (auto& v : vs) {
    std::sort(v.latency_ns.begin(), v.latency_ns.end());
    const double rps = bench::median(v.rps);
    std::printf("%-11s %12.0f %10.1f %10.1f %8.3f\n", v.name, rps, bench::quantile(v.latency_ns, 0.50) / 1e3,
                bench::quantile(v.latency_ns, 0.99) / 1e3, rps / base);
  }

  for (auto& v : vs) {
    v.server->stop();
    v.thread.join();
  }
  ctxlog::flush();
  const ctxlog::stats st = ctxlog::get_stats();
  ctxlog::shutdown();
  std::printf("ctxlog: %llu lines written, %llu dropped\n", static_cast<unsigned long long>(st.written),
              static_cast<unsigned long long>(st.dropped));
  if (temp_log) std::filesystem::remove(log);
}
