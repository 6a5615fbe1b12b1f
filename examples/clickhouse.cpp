// clickhouse — log into a ClickHouse table over HTTP, then read one request back by its
// traceId. The server is given on the command line (start a throwaway one with
// `python3 scripts/clickhouse_local.py /tmp/ch`, which prints its port):
//
//   build/examples/clickhouse 127.0.0.1:8123
//
// Creates the table ctxlog_example if it is missing (clickhouse_table_ddl()), logs three
// requests of one trace each, waits until the sink has delivered them, and prints what
// the sink says became of every line. Then query it, e.g. with curl:
//
//   curl 'http://127.0.0.1:8123/' --data-binary "SELECT ts_ns, message FROM ctxlog_example
//        WHERE traceId = '4bf92f3577b34da6a3ce929d0e0e0001' ORDER BY ts_ns, seq"
//
// Expected output: the seven lines as JSON on stdout, then
//   delivered 7 of 7 lines (dropped 0, buffered 0, failed attempts 0) into 127.0.0.1:8123 ctxlog_example
#include <chrono>
#include <cstdio>
#include <string>

#include <ctxlog/ctxlog.hpp>
#include <ctxlog/sinks/clickhouse.hpp>

int main(int argc, char** argv) {
  const std::string where = argc > 1 ? argv[1] : "127.0.0.1:8123";
  const std::size_t colon = where.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    std::fprintf(stderr, "usage: %s HOST:PORT (the server's HTTP interface)\n", argv[0]);
    return 2;
  }
  auto ch = ctxlog::sinks::clickhouse({.host = where.substr(0, colon),
                                       .port = static_cast<std::uint16_t>(std::stoi(where.substr(colon + 1))),
                                       .table = "ctxlog_example",
                                       .create_table = true,
                                       .queue = {.batch_delay = std::chrono::milliseconds(100)}});
  ctxlog::configure({.sinks = {ch, ctxlog::sinks::stdout_sink()},
                     .process = {.service = "example", .host = ctxlog::this_host()}});

  for (int i = 1; i <= 3; ++i) {
    char trace[33];
    std::snprintf(trace, sizeof trace, "4bf92f3577b34da6a3ce929d0e0e%04d", i);
    ctxlog::run(ctxlog::fields{}.request_id("req-" + std::to_string(i)).trace_id(trace).set("plan", "gold"), [i] {
      LOG_INFO("order {} received", i, ctxlog::kv("items", i * 2));
      if (i == 2) LOG_WARN("order {} is slow", i, ctxlog::kv("waited_ms", 250));
      LOG_INFO("order {} done", i);
    });
  }
  ctxlog::flush();
  if (!ch->drain(std::chrono::seconds(10))) std::fprintf(stderr, "the server did not take everything in 10 s\n");
  const auto d = ch->delivery();
  std::printf("delivered %llu of %llu lines (dropped %llu, buffered %llu, failed attempts %llu) into %s %s\n",
              static_cast<unsigned long long>(d.delivered), static_cast<unsigned long long>(d.accepted),
              static_cast<unsigned long long>(d.dropped), static_cast<unsigned long long>(d.buffered),
              static_cast<unsigned long long>(d.failures), where.c_str(), ch->settings().table.c_str());
  ctxlog::shutdown();
  return d.delivered == d.accepted ? 0 : 1;
}
