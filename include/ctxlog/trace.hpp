// ctxlog/trace.hpp — trace ids and explicit hand-off of the context across processes.
//
// Where propagation cannot be automatic (a message queue, a cron job, another service),
// inject() writes the current context into a string map of headers and extract() builds
// a context from one on the other side. Trace fields use the W3C Trace Context header
// (traceparent), custom and tenant/user fields the W3C baggage header, and the request id
// X-Request-Id. Every parser rejects malformed input rather than guessing.
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

// 32 / 16 lower-case hex digits, random, never all zero. Thread-safe.
std::string new_trace_id();
std::string new_span_id();

// A parsed traceparent: "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>".
struct traceparent {
  std::string trace_id;
  std::string parent_id;
  std::uint8_t flags = 0;
  bool sampled() const noexcept { return flags & 1u; }
};

// nullopt unless v is a valid traceparent: version 00 with exactly 55 characters, or a
// later version (not ff) whose first 55 characters have the version-00 layout and whose
// rest starts with '-'; lower-case hex only; trace and parent ids not all zero.
std::optional<traceparent> parse_traceparent(std::string_view v) noexcept;
// "" when the ids are not lower-case hex of the right length or are all zero.
std::string format_traceparent(std::string_view trace_id, std::string_view span_id, std::uint8_t flags = 1);

// tracestate: "vendor=value,other@tenant=value"; nullopt when any member is malformed,
// a key repeats or there are more than 32 members.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_tracestate(std::string_view v) noexcept;

// baggage: "key=value;prop,key2=value2" with percent-encoded values. Members that are
// malformed (bad key, bad percent-encoding) are skipped; nullopt when the header is over
// 8192 bytes or has more than 180 members. Properties are dropped.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_baggage(std::string_view v) noexcept;
std::string format_baggage(const std::vector<std::pair<std::string, std::string>>& kvs);

// X-Request-Id as accepted by extract(): 1-128 visible ASCII characters.
bool valid_request_id(std::string_view v) noexcept;

namespace detail {
std::vector<std::pair<std::string, std::string>> inject_headers(const context& c);
context extract_headers(const std::vector<std::pair<std::string_view, std::string_view>>& headers);
}  // namespace detail

// Writes c (default: the current context) into carrier (anything with
// carrier[std::string] = std::string, e.g. std::map or std::unordered_map):
// traceparent from traceId + spanId, x-request-id from requestId, and baggage with
// tenantId, userId and the custom fields.
//
// Example:
//   std::map<std::string, std::string> headers;
//   ctxlog::inject(headers);              // before sending a message
template <class Carrier>
void inject(Carrier& carrier, const context& c = current()) {
  for (auto& [k, v] : detail::inject_headers(c)) carrier[k] = std::move(v);
}

// A context built from carrier's headers (the current context is not merged in): the
// incoming span becomes parentSpanId and a new spanId is generated; requestId comes from
// x-request-id; tenantId, userId and custom fields from baggage. Baggage cannot set
// traceId, spanId, parentSpanId or requestId. Malformed headers are ignored one by one.
//
// Example:
//   ctxlog::run(ctxlog::extract(msg.headers), [&] { consume(msg); });
template <class Carrier>
context extract(const Carrier& carrier) {
  std::vector<std::pair<std::string_view, std::string_view>> h;
  for (const auto& [k, v] : carrier) h.emplace_back(k, v);
  return detail::extract_headers(h);
}

}  // namespace v1
}  // namespace ctxlog
