// syslog — send lines to a syslog collector as RFC 5424 messages whose structured data
// carries the request context. The collector is given on the command line:
//
//   build/examples/syslog                       # UDP to 127.0.0.1:514
//   build/examples/syslog tcp://127.0.0.1:514   # TCP, octet-counted frames (RFC 6587)
//   build/examples/syslog unix:///dev/log       # the local syslog socket
//
// Logs three requests of one trace each (a context with requestId and traceId, a kv()
// field), waits up to 3 s until the sink has sent them, and prints what the sink says
// became of every line. With no collector listening it still ends, within 4 s, and the
// counts say so (TCP, unix: failed attempts, lines still buffered, which the sink counts
// as dropped when it is destroyed at exit; UDP cannot know: a datagram sent is delivered). See docs/destinations/rsyslog.md for the rsyslog side; with
// rsyslog's default configuration the lines land in /var/log/syslog, e.g.
//
//   <14>1 2026-11-22T02:10:46.123456Z web-1 example 4242 default [ctx@32473 requestId="req-1"
//   traceId="4bf92f3577b34da6a3ce929d0e0e0001"][fields@32473 items="2"] order 1 received
//
// Expected output, a collector listening:
//   delivered 7 of 7 lines (dropped 0, buffered 0, failed attempts 0) to syslog tcp 127.0.0.1:514
#include <chrono>
#include <cstdio>
#include <string>

#include <ctxlog/ctxlog.hpp>
#include <ctxlog/sinks/syslog.hpp>

int main(int argc, char** argv) {
  const std::string where = argc > 1 ? argv[1] : "udp://127.0.0.1:514";
  namespace sl = ctxlog::sinks;
  sl::syslog_options o{.layout = {.app_name = "example"},
                       .queue = {.batch_delay = std::chrono::milliseconds(50),
                                 .linger = std::chrono::milliseconds(500)}};
  const std::size_t scheme = where.find("://");
  const std::string kind = scheme == std::string::npos ? "" : where.substr(0, scheme);
  const std::string rest = scheme == std::string::npos ? "" : where.substr(scheme + 3);
  const std::size_t colon = rest.rfind(':');
  if (kind == "unix" && !rest.empty()) {
    o.transport = sl::syslog_transport::unix_dgram;
    o.path = rest;
  } else if ((kind == "udp" || kind == "tcp") && colon != std::string::npos && colon > 0) {
    o.transport = kind == "tcp" ? sl::syslog_transport::tcp : sl::syslog_transport::udp;
    o.host = rest.substr(0, colon);
    o.port = static_cast<std::uint16_t>(std::stoi(rest.substr(colon + 1)));
  } else {
    std::fprintf(stderr, "usage: %s [udp://HOST:PORT | tcp://HOST:PORT | unix://PATH]\n", argv[0]);
    return 2;
  }
  auto sink = sl::syslog(o);
  ctxlog::configure({.sinks = {sink, ctxlog::sinks::stdout_sink()},
                     .process = {.service = "example", .host = ctxlog::this_host()}});

  for (int i = 1; i <= 3; ++i) {
    char trace[33];
    std::snprintf(trace, sizeof trace, "4bf92f3577b34da6a3ce929d0e0e%04d", i);
    const std::string request = "req-" + std::to_string(i);
    ctxlog::run(ctxlog::fields{}.request_id(request).trace_id(trace), [i] {
      LOG_INFO("order {} received", i, ctxlog::kv("items", i * 2));
      if (i == 2) LOG_WARN("order {} is slow", i, ctxlog::kv("waited_ms", 250));
      LOG_INFO("order {} done", i);
    });
  }
  ctxlog::flush();
  if (!sink->drain(std::chrono::seconds(3))) std::fprintf(stderr, "the collector did not take everything in 3 s\n");
  ctxlog::shutdown();  // gives the sink its linger (0.5 s) to send what it still holds
  const auto d = sink->delivery();
  std::printf("delivered %llu of %llu lines (dropped %llu, buffered %llu, failed attempts %llu) to %s\n",
              static_cast<unsigned long long>(d.delivered), static_cast<unsigned long long>(d.accepted),
              static_cast<unsigned long long>(d.dropped), static_cast<unsigned long long>(d.buffered),
              static_cast<unsigned long long>(d.failures), where.c_str());
  return 0;
}
