// tests/sinks/clickhouse_logger.cpp — the program test_clickhouse_e2e.py runs against a
// real clickhouse-server: logs --lines lines through the ClickHouse sink (every
// --trace-every-th in the trace --trace, every --bad-every-th made a row the server
// cannot parse), waits for the sink, shuts down and prints one JSON object with what it
// issued and what the sink and ctxlog::get_stats() say became of it.
//
// Usage: clickhouse_logger --port N --table T --service S --lines N [--trace ID --trace-every K]
//          [--bad-every K] [--sleep-us U] [--create-table 0|1] [--drain-ms MS] [--linger-ms MS]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>

#include <unistd.h>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/sinks/clickhouse.hpp"

namespace {

// The row layout, except that a record whose message starts with "BAD" gets a ts_ns the
// server cannot parse: a bad row, as a layout that does not fit the table would make.
class bad_rows_layout final : public ctxlog::layout {
 public:
  void configure(const ctxlog::process_info& p) override { rows_->configure(p); }
  void render(const ctxlog::record_view& r, ctxlog::buffer& out) override {
    const std::size_t start = out.size();
    rows_->render(r, out);
    if (r.message.substr(0, 3) != "BAD") return;
    std::string row(out.data() + start, out.size() - start);
    const std::size_t at = row.find("\"ts_ns\":");
    row.insert(at + 8, "\"not a number\",\"ts_ns_was\":");
    out.resize(start);
    out.append(row.data(), row.data() + row.size());
  }

 private:
  ctxlog::layout_ptr rows_ = ctxlog::sinks::clickhouse_layout();
};

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a;
  for (int i = 1; i + 1 < argc; i += 2) a[argv[i] + 2] = argv[i + 1];
  const auto num = [&a](const char* k, long long d) { return a.count(k) ? std::stoll(a[k]) : d; };
  const long long lines = num("lines", 100), trace_every = num("trace-every", 0), bad_every = num("bad-every", 0);
  const long long sleep_us = num("sleep-us", 0);
  const std::string service = a.count("service") ? a["service"] : "test";
  const std::string trace = a.count("trace") ? a["trace"] : "";

  ctxlog::sinks::clickhouse_options o{
      .host = "127.0.0.1",
      .port = static_cast<std::uint16_t>(num("port", 8123)),
      .table = a.count("table") ? a["table"] : "logs",
      .create_table = num("create-table", 1) != 0,
      .connect_timeout = std::chrono::milliseconds(500),
      .io_timeout = std::chrono::milliseconds(5000),
      .queue = {.batch_bytes = 64u << 10,
                .batch_lines = 500,
                .batch_delay = std::chrono::milliseconds(50),
                .retry_min = std::chrono::milliseconds(20),
                .retry_max = std::chrono::milliseconds(500),
                .linger = std::chrono::milliseconds(num("linger-ms", 2000))}};
  auto sink = ctxlog::sinks::clickhouse(o);
  if (bad_every > 0) sink->set_layout(std::make_shared<bad_rows_layout>());
  ctxlog::configure({.sinks = {sink}, .min_level = ctxlog::level::trace, .process = {.service = service, .host = "test-host"}});

  for (long long i = 0; i < lines; ++i) {
    ctxlog::fields f;
    f.request_id(service + "-r" + std::to_string(i));  // a temporary: f keeps it
    if (trace_every > 0 && i % trace_every == 0) f.trace_id(trace).span_id(service == "orders" ? "00000000000000a1" : "00000000000000b2");
    ctxlog::run(f, [&] {
      if (bad_every > 0 && i % bad_every == bad_every - 1) LOG_WARN("BAD line {}", i, ctxlog::kv("i", i));
      else LOG_INFO("line {}", i, ctxlog::kv("i", i), ctxlog::kv("service_line", true));
    });
    if (sleep_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
  }
  ctxlog::flush();
  const bool drained = sink->drain(std::chrono::milliseconds(num("drain-ms", 20000)));
  ctxlog::shutdown();
  const ctxlog::sinks::delivery_stats d = sink->delivery();
  const ctxlog::stats s = ctxlog::get_stats();
  std::printf(
      "{\"pid\":%d,\"lines\":%lld,\"drained\":%s,\"accepted\":%llu,\"delivered\":%llu,\"dropped\":%llu,"
      "\"buffered\":%llu,\"failures\":%llu,\"issued\":%llu,\"written\":%llu,\"stats_dropped\":%llu,"
      "\"sink_dropped\":%llu,\"sink_buffered\":%llu}\n",
      static_cast<int>(::getpid()), lines, drained ? "true" : "false", static_cast<unsigned long long>(d.accepted),
      static_cast<unsigned long long>(d.delivered), static_cast<unsigned long long>(d.dropped),
      static_cast<unsigned long long>(d.buffered), static_cast<unsigned long long>(d.failures),
      static_cast<unsigned long long>(s.issued), static_cast<unsigned long long>(s.written),
      static_cast<unsigned long long>(s.dropped), static_cast<unsigned long long>(s.sink_dropped),
      static_cast<unsigned long long>(s.sink_buffered));
  return 0;
}
