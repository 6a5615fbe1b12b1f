// ctxlog/sinks/syslog.hpp — a sink that sends lines to a syslog collector (rsyslog,
// syslog-ng, journald's socket): RFC 5424 messages whose structured data carries the
// request context, over UDP, TCP (RFC 6587 octet counting) or a unix socket (/dev/log).
// Its own library: link ctxlog_syslog_dep (meson) or ctxlog-syslog (pkg-config).
//
// The sink is a queued_sink (queued_sink.hpp): the back-end never waits for the
// collector; lines wait in a bounded buffer and are sent in batches by the sink's own
// thread, failed sends are retried with back-off, and every line is delivered or counted
// as dropped. Its layout is syslog_layout() (the message format); the sink only frames
// and sends. A line looks like
//
//   <14>1 2026-11-22T02:10:46.123456Z web-1 orders 4242 http [ctx@32473 requestId="r-1"
//   traceId="4bf92f3577b34da6a3ce929d0e0e4736" spanId="00f067aa0ba902b7"] order 7 created
//
// Example:
//   auto sl = ctxlog::sinks::syslog({.transport = ctxlog::sinks::syslog_transport::tcp,
//                                    .host = "127.0.0.1", .port = 514});
//   ctxlog::configure({.sinks = {sl}, .process = {.service = "orders", .host = ctxlog::this_host()}});
//   ...
//   ctxlog::shutdown();  // delivers what is buffered (queue.linger at most)
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ctxlog/layout.hpp"
#include "ctxlog/sinks/queued_sink.hpp"

namespace ctxlog {
inline namespace v1 {
namespace sinks {

// RFC 5424 §6.2.1 facilities.
enum class syslog_facility : std::uint8_t {
  kern = 0, user = 1, mail = 2, daemon = 3, auth = 4, syslog = 5, lpr = 6, news = 7, uucp = 8, cron = 9,
  authpriv = 10, ftp = 11, ntp = 12, audit = 13, alert = 14, clock = 15,
  local0 = 16, local1 = 17, local2 = 18, local3 = 19, local4 = 20, local5 = 21, local6 = 22, local7 = 23,
};

// The syslog severity of a ctxlog level: trace and debug → 7 (debug), info → 6
// (informational), warn → 4 (warning), error → 3 (err), critical → 2 (crit).
constexpr unsigned syslog_severity(level l) noexcept {
  switch (l) {
    case level::trace:
    case level::debug: return 7;
    case level::info: return 6;
    case level::warn: return 4;
    case level::error: return 3;
    case level::critical: return 2;
    case level::off: break;
  }
  return 7;
}

// PRI = facility * 8 + severity (RFC 5424 §6.2.1).
constexpr unsigned syslog_pri(syslog_facility f, level l) noexcept {
  return static_cast<unsigned>(f) * 8u + syslog_severity(l);
}

enum class syslog_format {
  rfc5424,  // <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG
  rfc3164,  // BSD: <PRI>Mmm dd hh:mm:ss HOSTNAME APP-NAME[PID]: SD MSG (local time, no year)
};

// What goes into MSG.
enum class syslog_message {
  text,  // the message, then the kv() fields as an SD element (default)
  json,  // the whole record as one JSON object (json_layout(json)), for mmjsonparse
};

struct syslog_layout_options {
  syslog_format format = syslog_format::rfc5424;
  syslog_facility facility = syslog_facility::user;  // syslog(3)'s default
  // HOSTNAME: "" takes config::process.host, else gethostname(). Bytes outside
  // printable US-ASCII become '_'; at most 255; "-" when empty.
  std::string hostname{};
  // APP-NAME: "" takes the program's name (program_invocation_short_name). Printable
  // US-ASCII, at most 48.
  std::string app_name{};
  // MSGID: "" takes the logger's name per record; "-" writes the NILVALUE. Printable
  // US-ASCII, at most 32.
  std::string msgid{};
  // SD-ID of the context element: an SD-NAME "@" a private enterprise number (32473 is
  // the IANA number for examples: use your own). Throws std::invalid_argument when it
  // is not 1..32 characters of printable US-ASCII without '=', ' ', ']', '"'.
  std::string sd_id = "ctx@32473";
  // SD-ID of the element of kv() fields (text messages only); "" leaves them out.
  std::string fields_sd_id = "fields@32473";
  syslog_message message = syslog_message::text;
  // RFC 5424 §6.4: MSG may begin with a BOM to say it is UTF-8 (MSG-UTF8). Off by
  // default: collectors keep it as three bytes in the message.
  bool bom = false;
  // TIMESTAMP fraction: ms or us (RFC 5424 allows six digits: ns is written as us).
  time_precision precision = time_precision::us;
  json_options json{};  // the JSON object of syslog_message::json
};

// The RFC 5424 (or 3164) message of one record, ending in '\n' (the sink takes that
// away for octet-counted and datagram transports). SD: the context element holds the
// ids that are set (requestId, traceId, spanId, parentSpanId, tenantId, userId) and
// the custom context fields, the fields element the kv() fields; a parameter whose
// value is empty is left out, an element without parameters too; "-" when none is left.
// Parameter names are cut to 32 characters, other bytes become '_'. Values: '"', '\'
// and ']' escaped with '\', invalid UTF-8 replaced by U+FFFD, control characters
// written as #ooo (octal, as rsyslog does), so that a message is always one line; the
// same for a text MSG. Throws std::invalid_argument for a bad sd_id.
layout_ptr syslog_layout(syslog_layout_options options = {});

enum class syslog_transport {
  udp,          // one datagram per message (RFC 5426), cut to max_datagram
  tcp,          // a stream, each message framed per `framing` (RFC 6587)
  unix_dgram,   // a datagram socket at `path` (/dev/log, rsyslog imuxsock), cut to max_datagram
  unix_stream,  // a stream socket at `path` (rsyslog imptcp path=...), framed per `framing`
};

enum class syslog_framing {
  octet_counting,  // "LEN SP MSG" (RFC 6587 §3.4.1): a message may hold any byte
  lf,              // MSG LF (§3.4.2, "non-transparent")
};

struct syslog_options {
  syslog_transport transport = syslog_transport::udp;
  std::string host = "127.0.0.1";  // udp, tcp: a name or an IPv4/IPv6 address
  std::uint16_t port = 514;
  std::string path = "/dev/log";   // unix_dgram, unix_stream
  syslog_framing framing = syslog_framing::octet_counting;
  // Datagrams: a longer message is cut (within MSG, at a UTF-8 boundary; if the header
  // and SD alone are too long, after the last SD parameter that fits) and counted in
  // truncated(). rsyslog's default maxMessageSize is 8 KiB.
  std::size_t max_datagram = 8192;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds io_timeout{5000};  // a send that makes no progress
  // Streams: a collector that crashes loses what it had read but not yet stored, and
  // what sat in the sockets' buffers, though the sink had sent it. The sink keeps copies
  // of the most recent lines it sent, up to this many bytes, and sends them again first
  // on a connection that follows one the collector broke (closed or reset): at least
  // once, a line at most twice. 0: at most once.
  std::size_t resend_bytes = 256u << 10;
  syslog_layout_options layout{};  // of syslog_layout(), set as the sink's layout
  queue_options queue{};
};

// Thread-safety: as every sink; delivery(), truncated(), resent() and drain() from any thread.
class syslog_sink final : public queued_sink {
 public:
  // Checks the options (std::invalid_argument for an empty host, port 0, an empty or
  // too long path, a bad sd_id, max_datagram < 480) and starts the sender on the first
  // line; does not connect (a collector that is down at start costs buffered lines only).
  explicit syslog_sink(syslog_options options, level min_level = level::trace);
  ~syslog_sink() override;

  const syslog_options& settings() const noexcept { return options_; }
  // Messages cut to max_datagram (datagram transports).
  std::uint64_t truncated() const noexcept;
  // Lines sent again on a new connection after the collector broke one (streams).
  std::uint64_t resent() const noexcept;

  struct impl;

 private:
  outcome deliver(const line_batch& batch) override;
  void idle() override;
  void forked() override;
  std::string describe() const override;

  syslog_options options_;
  std::unique_ptr<impl> impl_;
};

inline std::shared_ptr<syslog_sink> syslog(syslog_options options, level min_level = level::trace) {
  return std::make_shared<syslog_sink>(std::move(options), min_level);
}

namespace syslog_detail {
// Not API (for tests): the frame of one message on a stream ("LEN SP MSG" or "MSG LF"),
// msg without its '\n'.
std::string frame(std::string_view msg, syslog_framing framing);
// Not API (for tests): msg (an RFC 5424 or 3164 message without '\n') cut to at most
// max bytes as the datagram transports do; unchanged when it fits.
std::string_view cut(std::string_view msg, std::size_t max, std::string& scratch);
}  // namespace syslog_detail

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
