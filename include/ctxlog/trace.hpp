// ctxlog/trace.hpp — ids, W3C Trace Context Level 2 and W3C Baggage, and the hand-off of
// the context across processes.
//
// Where propagation cannot be automatic (another service, a message queue, a cron job),
// inject() writes the current context into a map of headers and extract() builds a
// context from one on the other side: traceparent and tracestate (W3C Trace Context
// Level 2), baggage (W3C Baggage) for tenantId, userId and custom fields, X-Request-Id and
// X-Tenant-Id. Every parser here reads bytes another process chose: it checks lengths and
// character sets before it copies anything, never reads past its input, and rejects what
// the grammar does not allow rather than guessing. Spans (a child of the current span per
// operation) are in span.hpp.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctxlog/context.hpp"

namespace ctxlog {
inline namespace v1 {

// Header names, lower case as HTTP/2 sends them; extract() matches them case-insensitively.
inline constexpr std::string_view traceparent_header = "traceparent";
inline constexpr std::string_view tracestate_header = "tracestate";
inline constexpr std::string_view baggage_header = "baggage";
inline constexpr std::string_view request_id_header = "x-request-id";
inline constexpr std::string_view tenant_id_header = "x-tenant-id";

// ---- ids -----------------------------------------------------------------------------
//
// Random ids come from a per-thread xoshiro256** generator seeded from the OS (getrandom)
// and reseeded in a fork()ed child, so parent and child never repeat each other's ids: no
// lock, ~10 ns per id (bench/propagation/prop_trace_ids). Not for secrets.

// 32 lower-case hex digits (128 random bits), never all zero.
std::string new_trace_id();
// 16 lower-case hex digits (64 random bits), never all zero.
std::string new_span_id();
// A UUID version 7 (RFC 9562) as 36 characters, e.g. "01938f4e-7c3a-7d2e-9b1f-4c8e2a6d5f10":
// 48 bits of Unix milliseconds, then 74 random bits. Version 7 rather than 4 because its
// ids sort by creation time: an index on requestId (a log store's primary key, a
// database's B-tree) stays local, and a reader can tell when a request began from its id.
std::string new_request_id();

// Trace flags (W3C Trace Context Level 2): sampled, and random (the trace id's right-most
// 7 bytes at least are random; set when ctxlog made the trace id). Other bits are reserved
// and always sent as zero.
inline constexpr std::uint8_t trace_flag_sampled = 0x01;
inline constexpr std::uint8_t trace_flag_random = 0x02;
inline constexpr std::uint8_t trace_flags_known = trace_flag_sampled | trace_flag_random;

// ---- traceparent ---------------------------------------------------------------------

// A parsed traceparent: "<version>-<32 hex trace id>-<16 hex parent id>-<2 hex flags>".
struct traceparent {
  std::string trace_id;
  std::string parent_id;
  std::uint8_t flags = 0;    // as received; format_traceparent() sends only the known bits
  std::uint8_t version = 0;  // as received; ctxlog always sends version 00
  bool sampled() const noexcept { return flags & trace_flag_sampled; }
  bool random() const noexcept { return flags & trace_flag_random; }
};

// nullopt unless v (after optional leading/trailing spaces and tabs) is a valid
// traceparent: version 00 with exactly 55 characters, or a later version other than ff
// whose first 55 characters have the version-00 layout and are followed by the end or a
// '-'; lower-case hex only; trace and parent ids not all zero.
std::optional<traceparent> parse_traceparent(std::string_view v) noexcept;
// "00-<trace>-<span>-<flags & trace_flags_known>"; "" when an id is not lower-case hex of
// the right length or is all zero.
std::string format_traceparent(std::string_view trace_id, std::string_view span_id,
                               std::uint8_t flags = trace_flag_sampled);

// ---- tracestate ----------------------------------------------------------------------

// The vendor list of a trace: at most 32 members "key=value", the latest vendor first.
// Keys: 1-256 of a-z 0-9 _ - * / @, starting with a letter or digit (Level 2); a key with
// '@' is "tenant@system" with one '@', a tenant of at most 241 characters and a system id
// of 1-14 starting with a letter (as the W3C test suite checks); values: 1-256 printable ASCII characters other than ',' and
// '=', not ending in a space.
class tracestate {
 public:
  struct member {
    std::string key;
    std::string value;
    friend bool operator==(const member&, const member&) = default;
  };

  tracestate() = default;

  // nullopt when any member is malformed, a key repeats or there are more than 32
  // members (the spec: discard the whole header, keep the traceparent). Empty and
  // whitespace-only members are skipped. Several header lines: join them with ',' first
  // (extract() does).
  static std::optional<tracestate> parse(std::string_view v) noexcept;

  static bool valid_key(std::string_view k) noexcept;
  static bool valid_value(std::string_view v) noexcept;

  const std::vector<member>& members() const noexcept { return members_; }
  bool empty() const noexcept { return members_.empty(); }
  // The value of key, "" when absent.
  std::string_view get(std::string_view key) const noexcept;
  // Sets key to value and moves it to the front (the spec's rule for the vendor that
  // touched the trace last); the last member goes when that makes 33. False (and no
  // change) when key or value is invalid.
  bool put(std::string_view key, std::string_view value);
  bool erase(std::string_view key) noexcept;

  // The header value. When it would exceed max_chars (the spec asks to propagate at least
  // 512), whole members are dropped: those over 128 characters first, then from the end.
  std::string to_string(std::size_t max_chars = 512) const;

  friend bool operator==(const tracestate&, const tracestate&) = default;

 private:
  std::vector<member> members_;
};

// ---- baggage -------------------------------------------------------------------------

// One baggage list member. value is percent-decoded; properties keeps the member's
// ";k=v;flag" suffix as received (validated, whitespace trimmed), passed on unchanged.
struct baggage_member {
  std::string key;
  std::string value;
  std::string properties;
  friend bool operator==(const baggage_member&, const baggage_member&) = default;
};

struct baggage_limits {
  std::size_t max_members = 64;    // the spec's minimum to propagate
  std::size_t max_bytes = 8192;    // of the header value, likewise
};

struct parsed_baggage {
  std::vector<baggage_member> members;  // in header order
  std::size_t skipped = 0;              // malformed members left out (bad key, value, escape)
  std::size_t dropped = 0;              // well-formed members beyond the limits
};

// Parses a baggage header (several header lines: join them with ','). Malformed members
// are skipped one by one (the spec allows removing them); members past the limits are
// dropped whole, never cut. Percent-decoding yields bytes; a decoded control character
// makes the member malformed.
parsed_baggage parse_baggage(std::string_view v, baggage_limits limits = {}) noexcept;
// The header value: keys that are not RFC 7230 tokens are left out; values are
// percent-encoded where the grammar needs it (and '%' itself); members that would pass
// limits.max_bytes or limits.max_members are left out whole.
std::string format_baggage(const std::vector<baggage_member>& members, baggage_limits limits = {});

// ---- untrusted values ------------------------------------------------------------------

// What extract() lets into the context from a header: 1-128 characters of
// A-Z a-z 0-9 and - _ . : / + = @. No space, quote, backslash, comma, semicolon or
// control character can pass, so an accepted value cannot break or forge a log line or
// a response header.
bool safe_header_value(std::string_view v) noexcept;
// X-Request-Id as accepted by extract(): safe_header_value().
bool valid_request_id(std::string_view v) noexcept;

// ---- the trace state of a context ----------------------------------------------------

// What a context carries for propagation beside its ids, and that log lines do not show:
// the trace flags, the tracestate, and the baggage members as received (with their
// properties). Set by extract() and by a new trace; inherited by every context derived
// from it (run, span, bind, coroutines), passed on by inject().
struct trace_state {
  std::uint8_t flags = 0;
  tracestate state;
  std::vector<baggage_member> baggage;
  bool sampled() const noexcept { return flags & trace_flag_sampled; }
};

// The trace state of c, nullptr when it has none (a context that extract() or
// start_trace() did not make, and that was not derived from one).
const trace_state* trace_state_of(const context& c) noexcept;
// c with its trace state replaced (e.g. with a tracestate member of your own put first).
context with_trace_state(const context& c, trace_state s);

// A context that starts a new trace on top of c: new traceId, new spanId, no
// parentSpanId, flags sampled (or not) and random, empty tracestate.
context start_trace(const context& c = current(), bool sampled = true);

// ---- carriers ----------------------------------------------------------------------

struct extract_options {
  // A front gate into a trusted network: ignore the incoming traceparent and tracestate
  // and start a new trace (the spec's "restart trace"); the incoming ids are not kept.
  bool restart_trace = false;
  // Flags of a trace started here (no valid incoming traceparent, or restart_trace).
  bool sample_new_traces = true;
  // Take the caller's X-Request-Id (when valid) or always make a new one.
  bool trust_request_id = true;
  // Baggage members become context fields (tenantId, userId, custom; they cannot set
  // requestId, traceId, spanId or parentSpanId), at most this many; the rest are still
  // passed on by inject(). 0: none become fields.
  std::size_t max_baggage_fields = 16;
  baggage_limits baggage{};
};

// The name of the context field that lists, comma-separated, the incoming headers that
// extract() rejected (e.g. "x-request-id,traceparent"): absent when all were good.
inline constexpr std::string_view rejected_headers_field = "rejectedHeaders";

namespace detail {
using header_list = std::vector<std::pair<std::string_view, std::string_view>>;
std::vector<std::pair<std::string, std::string>> inject_headers(const context& c);
context extract_headers(const header_list& headers, const extract_options& o);
}  // namespace detail

// Writes c (default: the current context) into carrier (anything with
// carrier[std::string] = std::string, e.g. std::map or std::unordered_map):
// traceparent from traceId + spanId and the trace flags, tracestate as carried,
// x-request-id, and baggage with tenantId, userId and the custom fields (plus the
// incoming baggage members that are not fields, with their properties).
// The parent id sent is c's spanId: send each outbound call from a span of its own
// (span.hpp; the HTTP client of httplib.hpp does) so the callee's parent is a span that
// is in the log.
//
// Example:
//   std::map<std::string, std::string> headers;
//   ctxlog::span s("publish order");   // a new span for this message
//   ctxlog::inject(headers);
template <class Carrier>
void inject(Carrier& carrier, const context& c = current()) {
  for (auto& [k, v] : detail::inject_headers(c)) carrier[k] = std::move(v);
}

// A context for work that continues a caller's request (the current context is not
// merged in). Trace: the incoming traceparent's trace id, its parent id as parentSpanId
// and a new spanId, flags sampled and random as received (the rest zeroed), tracestate
// kept when valid; without a valid traceparent (missing, malformed, or sent twice) a new
// trace is started. requestId: a valid x-request-id, else a new UUID v7. tenantId: a
// valid x-tenant-id, else the baggage's. Several tracestate or baggage lines are
// combined. A header that was present but rejected is named in the rejectedHeaders
// field, its value never enters the context.
//
// Example:
//   ctxlog::run(ctxlog::extract(msg.headers), [&] { consume(msg); });
template <class Carrier>
context extract(const Carrier& carrier, const extract_options& o = {}) {
  detail::header_list h;
  for (const auto& [k, v] : carrier) h.emplace_back(k, v);
  return detail::extract_headers(h, o);
}

}  // namespace v1
}  // namespace ctxlog
