// tests/fuzz/fuzz_trace.cpp — the parsers of what arrives from the network: traceparent,
// tracestate, baggage, the header hygiene check, and extract()/inject() as a whole.
//
// The first byte picks the part, the rest is the header value (or, for extract, a list
// of headers). Properties: nothing crashes or hangs; what a parser accepts is valid by
// its own rules and survives format -> parse unchanged; a header value that passes
// safe_header_value() holds only the characters it promises; a context made by extract()
// from any headers carries well-formed ids only, and inject() of it gives headers that
// extract() reads back to the same trace and request.
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>

#include "ctxlog/trace.hpp"
#include "fuzz_support.hpp"

namespace {

bool lower_hex(std::string_view s, std::size_t n) {
  if (s.size() != n) return false;
  bool nonzero = false;
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    nonzero |= c != '0';
  }
  return nonzero;
}

// safe_header_value() from its documented promise, not from its code.
bool safe_by_definition(std::string_view v) {
  if (v.empty() || v.size() > 128) return false;
  for (const char c : v) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    std::string_view("-_.:/+=@").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

void traceparent_case(std::string_view v) {
  const auto tp = ctxlog::parse_traceparent(v);
  if (!tp) return;
  fuzz::check(lower_hex(tp->trace_id, 32), "accepted trace id is not 32 lower-case hex, not all zero", tp->trace_id);
  fuzz::check(lower_hex(tp->parent_id, 16), "accepted parent id is not 16 lower-case hex, not all zero", tp->parent_id);
  fuzz::check(tp->version != 0xff, "version ff accepted", v);
  const std::string out = ctxlog::format_traceparent(tp->trace_id, tp->parent_id, tp->flags);
  fuzz::check(out.size() == 55 && out.rfind("00-", 0) == 0, "format of an accepted traceparent", out);
  const auto again = ctxlog::parse_traceparent(out);
  fuzz::check(again && again->trace_id == tp->trace_id && again->parent_id == tp->parent_id &&
                  again->flags == (tp->flags & ctxlog::trace_flags_known) && again->version == 0,
              "format -> parse changes the traceparent", out);
}

void tracestate_case(std::string_view v) {
  const auto ts = ctxlog::tracestate::parse(v);
  if (!ts) return;
  fuzz::check(ts->members().size() <= 32, "more than 32 tracestate members accepted", v);
  for (const auto& m : ts->members())
    fuzz::check(ctxlog::tracestate::valid_key(m.key) && ctxlog::tracestate::valid_value(m.value),
                "an accepted member is not valid by the class's own checks", m.key + "=" + m.value);
  const std::string all = ts->to_string(std::numeric_limits<std::size_t>::max());
  const auto again = ctxlog::tracestate::parse(all);
  fuzz::check(again && *again == *ts, "to_string -> parse changes the tracestate", all);
  const std::string cut = ts->to_string(512);
  fuzz::check(cut.size() <= 512, "to_string(512) longer than 512", cut);
  const auto kept = ctxlog::tracestate::parse(cut);
  fuzz::check(kept.has_value(), "to_string(512) does not parse", cut);
  for (const auto& m : kept->members())
    fuzz::check(ts->get(m.key) == m.value, "truncation made up a member", cut);
}

void baggage_case(std::string_view v) {
  const ctxlog::parsed_baggage b = ctxlog::parse_baggage(v);
  fuzz::check(b.members.size() <= 64, "more than the member limit kept", v);
  for (const auto& m : b.members)
    for (const char c : m.value)
      fuzz::check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f, "a decoded baggage value holds a control character", m.value);
  const ctxlog::baggage_limits unlimited{.max_members = 1u << 20, .max_bytes = 1u << 30};
  const std::string out = ctxlog::format_baggage(b.members, unlimited);
  const ctxlog::parsed_baggage again = ctxlog::parse_baggage(out, unlimited);
  fuzz::check(again.skipped == 0 && again.members == b.members, "format -> parse changes the baggage", out);
  const std::string limited = ctxlog::format_baggage(b.members);
  fuzz::check(limited.size() <= 8192, "format_baggage beyond max_bytes", limited);
}

void extract_case(fuzz::reader& in) {
  static constexpr std::string_view names[] = {"traceparent", "tracestate", "baggage", "x-request-id",
                                               "TraceParent", "X-Request-ID", "content-type"};
  std::vector<std::string> storage;
  storage.reserve(16);
  ctxlog::detail::header_list headers;
  const std::size_t n = in.below(9);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string_view name = names[in.below(std::size(names))];
    storage.push_back(in.text(200));
    headers.emplace_back(name, storage.back());
  }
  const ctxlog::extract_options o{.restart_trace = in.flag(), .sample_new_traces = in.flag(),
                                  .trust_request_id = in.flag(), .max_baggage_fields = in.below(20), .baggage = {}};
  const ctxlog::context c = ctxlog::detail::extract_headers(headers, o);
  fuzz::check(lower_hex(c.trace_id(), 32), "extract() gave a malformed traceId", c.trace_id());
  fuzz::check(lower_hex(c.span_id(), 16), "extract() gave a malformed spanId", c.span_id());
  fuzz::check(c.parent_span_id().empty() || lower_hex(c.parent_span_id(), 16), "extract() gave a malformed parentSpanId",
              c.parent_span_id());
  fuzz::check(safe_by_definition(c.request_id()), "extract() gave an unsafe requestId", c.request_id());

  std::map<std::string, std::string> carrier;
  for (const auto& [k, v] : ctxlog::detail::inject_headers(c)) {
    for (const char ch : v)
      fuzz::check(static_cast<unsigned char>(ch) >= 0x20 && ch != 0x7f, "inject() wrote a control character", v);
    carrier[k] = v;
  }
  const ctxlog::context back = ctxlog::extract(carrier);
  fuzz::check(back.trace_id() == c.trace_id() && back.parent_span_id() == c.span_id() && back.request_id() == c.request_id(),
              "extract(inject(c)) lost the trace or the request", c.trace_id());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::reader in(data, size);
  const std::uint8_t part = in.byte() % 5;
  if (part == 4) {
    extract_case(in);
    return 0;
  }
  const std::string v = in.rest();
  switch (part) {
    case 0: traceparent_case(v); break;
    case 1: tracestate_case(v); break;
    case 2: baggage_case(v); break;
    default:
      fuzz::check(ctxlog::safe_header_value(v) == safe_by_definition(v), "safe_header_value() disagrees with its definition", v);
  }
  return 0;
}
