// tests/sinks/syslog_logger.cpp — the program test_rsyslog_e2e.py runs against a real
// rsyslogd: logs --lines lines through the syslog sink over --transport (udp, tcp,
// unix_dgram, unix_stream), each in a context with requestId "<run>-r<i>", a traceId, a
// spanId and, with --hostile 1, a tenantId and a custom field full of characters that
// need escaping; waits for the sink, shuts down and prints one JSON object with what it
// issued and what the sink and ctxlog::get_stats() say became of it.
//
// With --transport file the lines go as JSON to a rotating file instead (--path, rotated
// every --max-size bytes, --backups kept), for rsyslog's imfile to read.
//
// Usage: syslog_logger --transport T [--port N] [--path P] --run R --lines N [--hostile 0|1]
//          [--message text|json] [--sleep-us U] [--drain-ms MS] [--linger-ms MS] [--resend-bytes B]
//          [--max-size B --backups N]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/sinks/rotating_file.hpp"
#include "ctxlog/sinks/syslog.hpp"

// The hostile value of the e2e test (test_rsyslog_e2e.py has the same).
static const char* const k_hostile = "q\"uote ]bracket\\back [x@1 k=\"v\"] caf\xC3\xA9 \xE2\x82\xAC end";

int main(int argc, char** argv) {
  std::map<std::string, std::string> a;
  for (int i = 1; i + 1 < argc; i += 2) a[argv[i] + 2] = argv[i + 1];
  const auto num = [&a](const char* k, long long d) { return a.count(k) ? std::stoll(a[k]) : d; };
  const auto str = [&a](const char* k, const char* d) { return a.count(k) ? a[k] : std::string(d); };
  const long long lines = num("lines", 100), sleep_us = num("sleep-us", 0);
  const bool hostile = num("hostile", 0) != 0;
  const std::string run = str("run", "run"), t = str("transport", "tcp");

  ctxlog::sinks::syslog_options o{
      .transport = t == "udp"           ? ctxlog::sinks::syslog_transport::udp
                   : t == "unix_dgram"  ? ctxlog::sinks::syslog_transport::unix_dgram
                   : t == "unix_stream" ? ctxlog::sinks::syslog_transport::unix_stream
                                        : ctxlog::sinks::syslog_transport::tcp,
      .host = "127.0.0.1",
      .port = static_cast<std::uint16_t>(num("port", 514)),
      .path = str("path", "/dev/log"),
      .connect_timeout = std::chrono::milliseconds(500),
      .io_timeout = std::chrono::milliseconds(5000),
      .resend_bytes = static_cast<std::size_t>(num("resend-bytes", 256 << 10)),
      .layout = {.app_name = "syslog_logger",
                 .message = str("message", "text") == "json" ? ctxlog::sinks::syslog_message::json
                                                             : ctxlog::sinks::syslog_message::text},
      .queue = {.batch_bytes = 64u << 10,
                .batch_lines = 500,
                .batch_delay = std::chrono::milliseconds(20),
                .retry_min = std::chrono::milliseconds(20),
                .retry_max = std::chrono::milliseconds(300),
                .linger = std::chrono::milliseconds(num("linger-ms", 2000))}};
  const bool to_file = t == "file";
  auto sink = ctxlog::sinks::syslog(o);
  ctxlog::sink_ptr file;
  if (to_file)
    file = ctxlog::sinks::rotating_file(o.path, {.max_size = static_cast<std::uint64_t>(num("max-size", 1 << 20)),
                                                 .max_backups = static_cast<std::size_t>(num("backups", 50))});
  ctxlog::configure({.sinks = {to_file ? file : ctxlog::sink_ptr(sink)}, .min_level = ctxlog::level::trace, .process = {.service = "e2e", .host = "test-host"}});

  for (long long i = 0; i < lines; ++i) {
    const std::string id = run + "-r" + std::to_string(i);  // fields keeps views: the string outlives run()
    ctxlog::fields f;
    f.request_id(id).trace_id("4bf92f3577b34da6a3ce929d0e0e4736").span_id("00f067aa0ba902b7");
    if (hostile) f.tenant_id(k_hostile).set("note", k_hostile);
    ctxlog::run(f, [&] {
      if (hostile) LOG_WARN("hostile {} {}", i, k_hostile, ctxlog::kv("i", i));
      else LOG_INFO("line {}", i, ctxlog::kv("i", i));
    });
    if (sleep_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
  }
  ctxlog::flush();
  const bool drained = sink->drain(std::chrono::milliseconds(num("drain-ms", 20000)));
  ctxlog::shutdown();
  const ctxlog::stats s = ctxlog::get_stats();
  ctxlog::sinks::delivery_stats d = sink->delivery();
  if (to_file) d = {.accepted = s.written, .delivered = s.written};  // a file sink: written is delivered
  std::printf(
      "{\"pid\":%d,\"lines\":%lld,\"drained\":%s,\"accepted\":%llu,\"delivered\":%llu,\"dropped\":%llu,"
      "\"buffered\":%llu,\"failures\":%llu,\"truncated\":%llu,\"resent\":%llu,\"issued\":%llu,\"written\":%llu,"
      "\"stats_dropped\":%llu,\"sink_dropped\":%llu,\"sink_buffered\":%llu}\n",
      static_cast<int>(::getpid()), lines, drained ? "true" : "false", static_cast<unsigned long long>(d.accepted),
      static_cast<unsigned long long>(d.delivered), static_cast<unsigned long long>(d.dropped),
      static_cast<unsigned long long>(d.buffered), static_cast<unsigned long long>(d.failures),
      static_cast<unsigned long long>(sink->truncated()), static_cast<unsigned long long>(sink->resent()),
      static_cast<unsigned long long>(s.issued), static_cast<unsigned long long>(s.written),
      static_cast<unsigned long long>(s.dropped), static_cast<unsigned long long>(s.sink_dropped),
      static_cast<unsigned long long>(s.sink_buffered));
  return 0;
}
