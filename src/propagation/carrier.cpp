// src/propagation/carrier.cpp — the trace state a context carries, and the hand-off of a
// context through headers: extract() on the way in, inject() on the way out.
#include <algorithm>

#include "ctxlog/storage.hpp"
#include "ctxlog/trace.hpp"
#include "ids.hpp"
#include "text.hpp"

namespace ctxlog {
inline namespace v1 {

namespace {

storage<trace_state>& trace_store() {
  static storage<trace_state> s({.name = "ctxlog trace state"});
  return s;
}

bool ieq(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Baggage may fill context fields, not the correlation ids nor ctxlog's own flag.
bool reserved_key(std::string_view k) noexcept {
  return k == "requestId" || k == "traceId" || k == "spanId" || k == "parentSpanId" ||
         k == rejected_headers_field;
}

// A baggage value that may become a context field: not too long to repeat in every line.
bool field_worthy(const baggage_member& m) noexcept { return m.key.size() <= 64 && m.value.size() <= 256; }

void append_list(std::string& list, std::string_view name) {
  if (list.find(name) != std::string::npos) return;
  if (!list.empty()) list += ',';
  list += name;
}

}  // namespace

const trace_state* trace_state_of(const context& c) noexcept {
  if (c.empty()) return nullptr;
  return trace_store().get(c);
}

context with_trace_state(const context& c, trace_state s) { return trace_store().with(c, std::move(s)); }

context start_trace(const context& c, bool sampled) {
  char trace[32], span[16];
  detail::fill_trace_id(trace);
  detail::fill_span_id(span);
  const context ids = c.with(fields{}
                                 .trace_id(std::string_view(trace, 32))
                                 .span_id(std::string_view(span, 16))
                                 .parent_span_id(""));
  trace_state s;
  s.flags = static_cast<std::uint8_t>((sampled ? trace_flag_sampled : 0) | trace_flag_random);
  if (const trace_state* old = trace_state_of(c)) s.baggage = old->baggage;  // baggage is not per trace
  return with_trace_state(ids, std::move(s));
}

namespace detail {

context extract_headers(const header_list& headers, const extract_options& o) {
  std::string rejected;
  std::string_view tp_value, request_id, tenant_id;
  int tp_count = 0, rid_count = 0, tenant_count = 0;
  std::string ts_joined, bag_joined;
  bool has_ts = false;
  for (const auto& [k, v] : headers) {
    if (ieq(k, traceparent_header)) {
      ++tp_count;
      tp_value = v;
    } else if (ieq(k, tracestate_header)) {
      // Several lines are one list (RFC 7230 field order), in the order received.
      if (has_ts) ts_joined += ',';
      ts_joined.append(v);
      has_ts = true;
    } else if (ieq(k, baggage_header)) {
      if (!bag_joined.empty()) bag_joined += ',';
      bag_joined.append(v);
    } else if (ieq(k, request_id_header)) {
      ++rid_count;
      request_id = v;
    } else if (ieq(k, tenant_id_header)) {
      ++tenant_count;
      tenant_id = v;
    }
  }

  // The trace: continued from a single valid traceparent, else started here.
  trace_state state;
  std::optional<traceparent> tp;
  if (tp_count == 1) tp = parse_traceparent(tp_value);
  if (tp_count > 0 && !tp) append_list(rejected, traceparent_header);
  if (o.restart_trace) tp.reset();
  char trace_buf[32], span_buf[16], rid_buf[36];
  fill_span_id(span_buf);
  fields f;
  f.span_id(std::string_view(span_buf, 16));
  if (tp) {
    f.trace_id(tp->trace_id).parent_span_id(tp->parent_id);
    state.flags = static_cast<std::uint8_t>(tp->flags & trace_flags_known);
    // The spec: a failed traceparent means tracestate is not parsed at all.
    if (has_ts) {
      if (auto ts = tracestate::parse(ts_joined)) state.state = std::move(*ts);
      else append_list(rejected, tracestate_header);
    }
  } else {
    fill_trace_id(trace_buf);
    f.trace_id(std::string_view(trace_buf, 32));
    state.flags = static_cast<std::uint8_t>((o.sample_new_traces ? trace_flag_sampled : 0) | trace_flag_random);
  }

  // The request: the caller's id when it is safe to repeat, else a new one.
  if (rid_count > 0 && (rid_count > 1 || !valid_request_id(request_id))) append_list(rejected, request_id_header);
  if (o.trust_request_id && rid_count == 1 && valid_request_id(request_id)) {
    f.request_id(request_id);
  } else {
    fill_uuid_v7(rid_buf);
    f.request_id(std::string_view(rid_buf, 36));
  }
  const bool tenant_ok = tenant_count == 1 && safe_header_value(tenant_id);
  if (tenant_count > 0 && !tenant_ok) append_list(rejected, tenant_id_header);
  if (tenant_ok) f.tenant_id(tenant_id);

  // Baggage: every valid member is passed on; the first few become fields.
  if (!bag_joined.empty()) {
    parsed_baggage b = parse_baggage(bag_joined, o.baggage);
    if (b.skipped || b.dropped) append_list(rejected, baggage_header);
    state.baggage = std::move(b.members);
  }
  std::size_t as_fields = 0;
  bool bad_baggage_id = false;
  for (const auto& m : state.baggage) {
    if (as_fields == o.max_baggage_fields) break;
    if (reserved_key(m.key) || !field_worthy(m)) continue;
    if (m.key == "tenantId" || m.key == "userId") {
      if (!safe_header_value(m.value)) {
        bad_baggage_id = true;
        continue;
      }
      if (m.key == "tenantId" && tenant_ok) continue;  // the explicit header wins
      if (m.key == "tenantId") f.tenant_id(m.value);
      else f.user_id(m.value);
    } else {
      f.set(m.key, m.value);
    }
    ++as_fields;
  }
  if (bad_baggage_id) append_list(rejected, baggage_header);
  if (!rejected.empty()) f.set(rejected_headers_field, rejected);
  return with_trace_state(context().with(f), std::move(state));
}

std::vector<std::pair<std::string, std::string>> inject_headers(const context& c) {
  std::vector<std::pair<std::string, std::string>> h;
  const trace_state* state = trace_state_of(c);
  // A context whose ids were set by hand (no trace state) is sent as sampled.
  const std::uint8_t flags = state ? state->flags : trace_flag_sampled;
  if (auto tp = format_traceparent(c.trace_id(), c.span_id(), flags); !tp.empty()) {
    h.emplace_back(std::string(traceparent_header), std::move(tp));
    if (state && !state->state.empty()) h.emplace_back(std::string(tracestate_header), state->state.to_string());
  }
  if (valid_request_id(c.request_id())) h.emplace_back(std::string(request_id_header), std::string(c.request_id()));

  // Baggage: the context's fields (with the properties they arrived with, when their
  // value is unchanged), then the received members that are not fields, as received.
  std::vector<baggage_member> bag;
  auto add_field = [&](std::string_view key, std::string_view value) {
    baggage_member m{std::string(key), std::string(value), {}};
    if (state)
      for (const auto& in : state->baggage)
        if (in.key == key && in.value == value) m.properties = in.properties;
    bag.push_back(std::move(m));
  };
  if (!c.tenant_id().empty()) add_field("tenantId", c.tenant_id());
  if (!c.user_id().empty()) add_field("userId", c.user_id());
  for (const auto& kv : c.custom())
    if (kv.key != rejected_headers_field) add_field(kv.key, kv.value);
  if (state)
    for (const auto& in : state->baggage)
      if (std::none_of(bag.begin(), bag.end(), [&](const baggage_member& m) { return m.key == in.key; }))
        bag.push_back(in);
  if (auto b = format_baggage(bag); !b.empty()) h.emplace_back(std::string(baggage_header), std::move(b));
  return h;
}

}  // namespace detail

}  // namespace v1
}  // namespace ctxlog
