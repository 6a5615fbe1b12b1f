// src/layouts/otel.cpp — the OpenTelemetry layout (otel_layout()): each line one OTLP/JSON
// ExportLogsServiceRequest holding one LogRecord, the form the Collector's file exporter
// writes and its otlpjsonfile receiver reads.
//
// OTLP/JSON rules kept here: 64-bit integers are decimal strings (timeUnixNano,
// intValue), traceId/spanId are hex, enum severityNumber is a number, attribute values
// are typed AnyValues. Attributes are a list, but OTel still wants their keys unique: the
// json.cpp rule applies (a user key naming one of the layout's own attributes gets '_';
// a kv() wins over a custom context field and a later kv() over an earlier one). The
// context's attributes are rendered once per frame, the resource once per configure().
#include <charconv>
#include <stdexcept>
#include <string>
#include <vector>

#include "ctxlog/schemas.hpp"
#include "ctxlog/trace.hpp"
#include "schema_common.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

using namespace schema;

// ---- a kv() holding JSON as an AnyValue ----------------------------------------------

void skip_space(std::string_view s, std::size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
}

// The JSON string at s[i] (quotes included), copied as it is: it is escaped already.
bool raw_string(std::string_view s, std::size_t& i, buffer& out) {
  const std::size_t start = i++;
  for (; i < s.size() && s[i] != '"'; ++i) {
    if (static_cast<unsigned char>(s[i]) < 0x20) return false;
    if (s[i] == '\\' && ++i == s.size()) return false;
  }
  if (i == s.size()) return false;
  append(out, s.substr(start, ++i - start));
  return true;
}

// Moves i past the JSON number at s[i]: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool json_number(std::string_view s, std::size_t& i) {
  const auto digits = [&s, &i] {
    const std::size_t from = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > from;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') ++i;
  else if (!digits()) return false;
  if (i < s.size() && s[i] == '.' && (++i, !digits())) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return true;
}

// Appends the JSON value at s[i] as an AnyValue: object -> kvlistValue, array ->
// arrayValue, string -> stringValue, integer -> intValue (as a string), other number ->
// doubleValue, true/false -> boolValue, null -> the empty AnyValue. False when the text
// is not JSON (or nests deeper than 64): the caller then writes it as a stringValue.
bool any_value(std::string_view s, std::size_t& i, buffer& out, int depth) {
  skip_space(s, i);
  if (i == s.size() || depth > 64) return false;
  const char c = s[i];
  if (c == '{' || c == '[') {
    const bool object = c == '{';
    append(out, object ? "{\"kvlistValue\":{\"values\":[" : "{\"arrayValue\":{\"values\":[");
    ++i;
    for (bool first = true;; first = false) {
      skip_space(s, i);
      if (i < s.size() && s[i] == (object ? '}' : ']')) break;
      if (!first) {
        if (i == s.size() || s[i] != ',') return false;
        ++i;
        skip_space(s, i);
        out.push_back(',');
      }
      if (object) {
        if (i == s.size() || s[i] != '"') return false;
        append(out, "{\"key\":");
        if (!raw_string(s, i, out)) return false;
        skip_space(s, i);
        if (i == s.size() || s[i] != ':') return false;
        ++i;
        append(out, ",\"value\":");
      }
      if (!any_value(s, i, out, depth + 1)) return false;
      if (object) out.push_back('}');
    }
    ++i;
    append(out, "]}}");
    return true;
  }
  if (c == '"') {
    append(out, "{\"stringValue\":");
    if (!raw_string(s, i, out)) return false;
    out.push_back('}');
    return true;
  }
  for (const std::string_view lit : {"true", "false", "null"})
    if (s.substr(i, lit.size()) == lit) {
      i += lit.size();
      append(out, lit == "null" ? std::string_view("{}") : lit == "true" ? "{\"boolValue\":true}" : "{\"boolValue\":false}");
      return true;
    }
  const std::size_t start = i;
  if (!json_number(s, i)) return false;
  const std::string_view num = s.substr(start, i - start);
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
  if (ec == std::errc() && end == num.data() + num.size()) {
    append(out, "{\"intValue\":\"");
    append(out, num);
    append(out, "\"}");
  } else {
    append(out, "{\"doubleValue\":");
    append(out, num);
    out.push_back('}');
  }
  return true;
}

void append_any(buffer& out, const field_value& v) {
  switch (v.type) {
    case field_value::kind::i64:
      append(out, "{\"intValue\":\"");
      append_int(out, v.i);
      append(out, "\"}");
      break;
    case field_value::kind::u64:  // intValue is an int64: larger values keep their digits as a string
      append(out, v.u <= static_cast<std::uint64_t>(INT64_MAX) ? "{\"intValue\":\"" : "{\"stringValue\":\"");
      append_int(out, v.u);
      append(out, "\"}");
      break;
    case field_value::kind::f64:  // proto3 JSON: a non-finite double is "NaN", "Infinity", "-Infinity"
      append(out, "{\"doubleValue\":");
      append_json_value(out, v);
      out.push_back('}');
      break;
    case field_value::kind::boolean: append(out, v.b ? "{\"boolValue\":true}" : "{\"boolValue\":false}"); break;
    case field_value::kind::string:
      append(out, "{\"stringValue\":");
      append_json_string(out, v.str);
      out.push_back('}');
      break;
    case field_value::kind::json: {
      const std::size_t mark = out.size();
      std::size_t i = 0;
      bool ok = any_value(v.str, i, out, 0);
      skip_space(v.str, i);
      if (!ok || i != v.str.size()) {
        out.resize(mark);
        append(out, "{\"stringValue\":");
        append_json_string(out, v.str);
        out.push_back('}');
      }
      break;
    }
  }
}

// ,{"key":K,"value":
void open_attribute(buffer& out, out_key k) {
  append(out, ",{\"key\":");
  with_text(k, [&out](std::string_view s) { append_json_string(out, s); });
  append(out, ",\"value\":");
}

void string_attribute(buffer& out, std::string_view key, std::string_view value) {
  open_attribute(out, out_key{key, 0});
  append(out, "{\"stringValue\":");
  append_json_string(out, value);
  append(out, "}}");
}

struct severity {
  const char* number;
  const char* text;
};
// The OTel data model's mapping: the first number of each range, its short name.
constexpr severity severities[] = {{"1", "TRACE"}, {"5", "DEBUG"}, {"9", "INFO"},
                                   {"13", "WARN"}, {"17", "ERROR"}, {"21", "FATAL"}};

// ---- the layout ----------------------------------------------------------------------

class otel_line final : public layout {
 public:
  explicit otel_line(otel_options o)
      : o_(o),
        rule_({"requestId", "tenantId", "userId", "parentSpanId", "traceId", "spanId", "contextLost", "thread.id",
               "code.file.path", "code.line.number", "code.function.name"},
              clash::exact) {
    configure(process_info{});
  }

  void configure(const process_info& p) override {
    buffer b;
    std::vector<std::string> names = {"service.name", "process.pid"};
    string_attribute(b, "service.name", p.service.empty() ? std::string_view("unknown_service") : p.service);
    const std::pair<const char*, const std::string*> named[] = {
        {"service.version", &p.version}, {"deployment.environment.name", &p.environment}, {"host.name", &p.host}};
    for (const auto& [key, value] : named) {
      names.emplace_back(key);
      if (!value->empty()) string_attribute(b, key, *value);
    }
    for (const auto& [name, value] : p.extra) {
      std::string key = as_written(name);  // compared as written
      for (const std::string& n : names)
        if (n == key) throw std::invalid_argument("otel_layout: two resource attributes are named \"" + key + "\"");
      names.push_back(std::move(key));
      string_attribute(b, names.back(), value);
    }
    // The pid follows: the record's own (a fork()ed child's differs).
    resource_.assign("{\"resourceLogs\":[{\"resource\":{\"attributes\":[");
    resource_.append(b.data() + 1, b.size() - 1);  // service.name is always there: drop its comma
    resource_.append(",{\"key\":\"process.pid\",\"value\":{\"intValue\":\"");
  }

  void render(const record_view& r, buffer& out) override {
    append(out, resource_);
    append_int(out, r.pid);
    append(out, "\"}}]},\"scopeLogs\":[{\"scope\":{\"name\":");
    append_json_string(out, r.logger);
    append(out, "},\"logRecords\":[{\"timeUnixNano\":\"");
    append_int(out, r.time_ns);
    const severity& s = severities[std::min<unsigned>(static_cast<unsigned>(r.severity), 5)];
    append(out, "\",\"severityNumber\":");
    append(out, s.number);
    append(out, ",\"severityText\":\"");
    append(out, s.text);
    append(out, "\",\"body\":{\"stringValue\":");
    append_json_string(out, r.message);
    out.push_back('}');

    const std::size_t mark = open_list(out, ",\"attributes\":[");
    const context_entry* c = r.ctx.empty() ? nullptr : &context_parts(r.ctx);
    calls_.load(r.fields, rule_);
    if (c) {
      if (calls_.has_any(c->keys)) {
        store_.clear();
        render_context(r.ctx, out, nullptr, &calls_, store_);
      } else {
        append(out, c->text);
      }
    }
    if (r.context_lost) append(out, ",{\"key\":\"contextLost\",\"value\":{\"boolValue\":true}}");
    for (std::size_t i = 0; i < calls_.size(); ++i) {
      if (!calls_.kept(i)) continue;
      open_attribute(out, calls_.key(i));
      append_any(out, calls_.value(i));
      out.push_back('}');
    }
    if (o_.thread) {
      append(out, ",{\"key\":\"thread.id\",\"value\":{\"intValue\":\"");
      append_int(out, r.thread);
      append(out, "\"}}");
    }
    if (o_.code && !r.where.file.empty()) {
      string_attribute(out, "code.file.path", r.where.file);
      append(out, ",{\"key\":\"code.line.number\",\"value\":{\"intValue\":\"");
      append_int(out, r.where.line);
      append(out, "\"}}");
      if (!r.where.function.empty()) string_attribute(out, "code.function.name", r.where.function);
    }
    close_list(out, mark, ",\"attributes\":[", ']');
    if (c) append(out, c->more);
    append(out, "}]}]}]}\n");
  }

 private:
  // The context's attributes (the custom ones not overridden by skip); with keys, their
  // written keys. Ids that are not hex of the OTLP length are attributes too.
  void render_context(const context& ctx, buffer& b, std::vector<out_key>* keys, const call_set* skip,
                      std::forward_list<std::string>& store) const {
    const std::pair<const char*, std::string_view> ids[] = {
        {"requestId", ctx.request_id()},
        {"tenantId", ctx.tenant_id()},
        {"userId", ctx.user_id()},
        {"parentSpanId", ctx.parent_span_id()},
        {"traceId", is_hex(ctx.trace_id(), 32) ? std::string_view() : ctx.trace_id()},
        {"spanId", is_hex(ctx.span_id(), 16) ? std::string_view() : ctx.span_id()}};
    for (const auto& [key, value] : ids)
      if (!value.empty()) string_attribute(b, key, value);
    for_each_custom(ctx, rule_, store, skip, [&b, keys](out_key k, std::string_view v) {
      if (keys) keys->push_back(k);
      open_attribute(b, k);
      append(b, "{\"stringValue\":");
      append_json_string(b, v);
      append(b, "}}");
    });
  }

  const context_entry& context_parts(const context& ctx) {
    bool stale = false;
    context_entry& e = contexts_.slot(ctx, stale);
    if (!stale) return e;
    buffer b;
    render_context(ctx, b, &e.keys, nullptr, e.store);
    e.text.assign(b.data(), b.size());
    b.clear();
    if (const trace_state* t = trace_state_of(ctx)) {
      append(b, ",\"flags\":");
      append_int(b, static_cast<unsigned>(t->flags));
    }
    if (is_hex(ctx.trace_id(), 32)) {
      append(b, ",\"traceId\":");
      append_json_string(b, ctx.trace_id());
    }
    if (is_hex(ctx.span_id(), 16)) {
      append(b, ",\"spanId\":");
      append_json_string(b, ctx.span_id());
    }
    e.more.assign(b.data(), b.size());
    e.id = ctx.id();
    return e;
  }

  otel_options o_;
  key_rule rule_;
  std::string resource_;
  frame_cache contexts_;
  call_set calls_;
  std::forward_list<std::string> store_;  // keys repaired while a shadowed context is rendered
};

}  // namespace
}  // namespace detail

layout_ptr otel_layout(otel_options options) { return std::make_shared<detail::otel_line>(options); }

}  // namespace v1
}  // namespace ctxlog
