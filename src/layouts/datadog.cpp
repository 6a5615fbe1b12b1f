// src/layouts/datadog.cpp — the Datadog layout (datadog_layout()): a JSON line with the
// reserved and standard attributes Datadog's log pipeline reads and the dd.trace_id /
// dd.span_id pair that links a line to its APM trace.
//
// Datadog's tracers log 64-bit ids as decimal strings: dd.trace_id is the decimal of the
// W3C trace id's low 64 bits (or its 32 hex digits, datadog_trace_id::hex128), dd.span_id
// the decimal of the span id. An id that is not hex of the W3C length is written as it is
// under traceId/spanId. Context and kv() fields are top-level attributes; unique keys as in
// json.cpp: a user key that is, or is a dotted path above or below, an attribute this
// layout writes or Datadog remaps (status, level, timestamp, dd.*, logger.* ...) gets '_'
// prefixed; a kv() wins over a custom context field, a later kv() over an earlier one.
#include <charconv>
#include <stdexcept>
#include <string>
#include <vector>

#include "ctxlog/schemas.hpp"
#include "schema_common.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

using namespace schema;

const std::vector<std::string>& datadog_fields() {
  static const std::vector<std::string> names = {
      // written here
      "date", "status", "message", "service", "env", "version", "host", "logger", "dd", "usr.id", "requestId",
      "tenantId", "parentSpanId", "traceId", "spanId", "contextLost", "file", "line",
      // read by Datadog's default remappers and reserved attributes
      "@timestamp", "timestamp", "_timestamp", "Timestamp", "eventTime", "published_date", "level", "severity",
      "syslog", "msg", "log", "hostname", "source", "ddsource", "ddtags", "trace_id", "span_id"};
  return names;
}

// The decimal of the 16 hex digits h.
std::string decimal_of_hex(std::string_view h) {
  std::uint64_t v = 0;
  std::from_chars(h.data(), h.data() + h.size(), v, 16);
  return std::string(fmt::format_int(v).str());
}

class datadog_line final : public layout {
 public:
  explicit datadog_line(datadog_options o) : o_(o), rule_(datadog_fields(), clash::path) {}

  void configure(const process_info& p) override {
    std::vector<std::string> reserved = datadog_fields();
    buffer b;
    const std::pair<const char*, const std::string*> named[] = {
        {",\"service\":", &p.service}, {",\"env\":", &p.environment}, {",\"version\":", &p.version}, {",\"host\":", &p.host}};
    for (const auto& [key, value] : named) {
      if (value->empty()) continue;
      append(b, key);
      append_json_string(b, *value);
    }
    for (const auto& [name, value] : p.extra) {
      std::string key = as_written(name);  // compared as written
      if (key_rule(reserved, clash::path).clashes(out_key{key, 0}))
        throw std::invalid_argument("datadog_layout: the process field \"" + key + "\" names one of the line's own");
      reserved.push_back(std::move(key));
      append_member_key(b, out_key{reserved.back(), 0});
      append_json_string(b, value);
    }
    rule_ = key_rule(std::move(reserved), clash::path);
    process_.assign(b.data(), b.size());
    contexts_.clear();  // their keys were renamed against the old rule
  }

  void render(const record_view& r, buffer& out) override {
    append(out, "{\"date\":\"");
    append_time(out, r.time_ns, o_.precision, seconds_);
    append(out, "\",\"status\":\"");
    append(out, to_string(r.severity));  // Datadog's status remapper reads trace as debug
    append(out, "\",\"message\":");
    append_json_string(out, r.message);
    append(out, ",\"logger.name\":");
    append_json_string(out, r.logger);
    append(out, process_);
    calls_.load(r.fields, rule_);
    if (!r.ctx.empty()) {
      const context_entry& c = context_parts(r.ctx);
      if (calls_.has_any(c.keys)) {
        store_.clear();
        render_context(r.ctx, out, nullptr, &calls_, store_);
      } else {
        append(out, c.text);
      }
    }
    if (r.context_lost) append(out, ",\"contextLost\":true");
    for (std::size_t i = 0; i < calls_.size(); ++i) {
      if (!calls_.kept(i)) continue;
      append_member_key(out, calls_.key(i));
      append_json_value(out, calls_.value(i));
    }
    if (o_.thread) {
      append(out, ",\"logger.thread_name\":\"");
      append_int(out, r.thread);
      out.push_back('"');
    }
    if (o_.source && !r.where.file.empty()) {
      if (!r.where.function.empty()) {
        append(out, ",\"logger.method_name\":");
        append_json_string(out, r.where.function);
      }
      append(out, ",\"file\":");
      append_json_string(out, r.where.file);
      append(out, ",\"line\":");
      append_int(out, r.where.line);
    }
    append(out, "}\n");
  }

 private:
  void render_context(const context& ctx, buffer& b, std::vector<out_key>* keys, const call_set* skip,
                      std::forward_list<std::string>& store) const {
    const std::string_view trace = ctx.trace_id(), span = ctx.span_id();
    if (is_hex(trace, 32) || is_hex(trace, 16)) {
      append(b, ",\"dd.trace_id\":\"");
      if (o_.trace_id == datadog_trace_id::hex128) {
        if (trace.size() == 16) append(b, "0000000000000000");
        for (const char c : trace) b.push_back(c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c);
      } else {
        append(b, decimal_of_hex(trace.substr(trace.size() - 16)));
      }
      b.push_back('"');
    }
    if (is_hex(span, 16)) {
      append(b, ",\"dd.span_id\":\"");
      append(b, decimal_of_hex(span));
      b.push_back('"');
    }
    const std::pair<const char*, std::string_view> ids[] = {
        {",\"requestId\":", ctx.request_id()},
        {",\"tenantId\":", ctx.tenant_id()},
        {",\"usr.id\":", ctx.user_id()},
        {",\"parentSpanId\":", ctx.parent_span_id()},
        {",\"traceId\":", is_hex(trace, 32) || is_hex(trace, 16) ? std::string_view() : trace},
        {",\"spanId\":", is_hex(span, 16) ? std::string_view() : span}};
    for (const auto& [key, value] : ids) {
      if (value.empty()) continue;
      append(b, key);
      append_json_string(b, value);
    }
    for_each_custom(ctx, rule_, store, skip, [&b, keys](out_key k, std::string_view v) {
      if (keys) keys->push_back(k);
      append_member_key(b, k);
      append_json_string(b, v);
    });
  }

  const context_entry& context_parts(const context& ctx) {
    bool stale = false;
    context_entry& e = contexts_.slot(ctx, stale);
    if (!stale) return e;
    buffer b;
    render_context(ctx, b, &e.keys, nullptr, e.store);
    e.text.assign(b.data(), b.size());
    e.id = ctx.id();
    return e;
  }

  datadog_options o_;
  key_rule rule_;
  std::string process_;
  second_cache seconds_;
  frame_cache contexts_;
  call_set calls_;
  std::forward_list<std::string> store_;  // keys repaired while a shadowed context is rendered
};

}  // namespace
}  // namespace detail

layout_ptr datadog_layout(datadog_options options) { return std::make_shared<detail::datadog_line>(options); }

}  // namespace v1
}  // namespace ctxlog
