// src/layouts/logfmt.cpp — the logfmt layout (logfmt_layout()): one line of key=value
// pairs per record, for people and for tools that read logfmt (Loki, Heroku, Grafana).
//
// ts level logger msg <context> <kv()> thread pid <process> file line function, with the
// JSON layout's field names. A value is bare when it is non-empty and holds no byte <= ' ',
// DEL, '=', '"' or '\'; otherwise it is quoted with \" \\ \n \r \t and \u00XX escapes, so
// no value can break the line or forge a pair. Invalid UTF-8 is replaced (U+FFFD). Keys:
// the forbidden bytes become '_'; then json.cpp's rule keeps them unique (a user key naming
// one of the line's own gets '_' prefixed; kv() over context, later kv() over earlier).
#include <cmath>
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

bool needs_quotes(std::string_view s) noexcept {
  if (s.empty()) return true;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || u == 0x7f || c == '=' || c == '"' || c == '\\') return true;
  }
  return false;
}

// s as a logfmt value (UTF-8 repaired, quoted and escaped when it must be).
void append_text(buffer& out, std::string_view s) {
  std::string repaired;
  if (repair_utf8(s, repaired)) s = repaired;
  if (!needs_quotes(s)) {
    append(out, s);
    return;
  }
  out.push_back('"');
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': append(out, "\\\""); break;
      case '\\': append(out, "\\\\"); break;
      case '\n': append(out, "\\n"); break;
      case '\r': append(out, "\\r"); break;
      case '\t': append(out, "\\t"); break;
      default:
        if (u < 0x20 || u == 0x7f) fmt::format_to(fmt::appender(out), "\\u{:04x}", static_cast<unsigned>(u));
        else out.push_back(c);
    }
  }
  out.push_back('"');
}

void append_value(buffer& out, const field_value& v) {
  switch (v.type) {
    case field_value::kind::f64:
      if (std::isfinite(v.f)) fmt::format_to(fmt::appender(out), "{}", v.f);
      else append(out, std::isnan(v.f) ? "NaN" : v.f > 0 ? "+Inf" : "-Inf");
      break;
    case field_value::kind::string:
    case field_value::kind::json: append_text(out, v.str); break;  // JSON text: quoted when it has quotes or spaces
    default: append_json_value(out, v); break;                      // integers and booleans read the same
  }
}

// " key=" (the key is bare already)
void append_key(buffer& out, out_key k) {
  out.push_back(' ');
  with_text(k, [&out](std::string_view s) { append(out, s); });
  out.push_back('=');
}

const std::vector<std::string>& logfmt_fields() {
  static const std::vector<std::string> names = {"ts",     "level",        "logger", "msg",         "requestId",
                                                 "tenantId", "traceId",    "spanId", "parentSpanId", "userId",
                                                 "contextLost", "thread",  "pid",    "file",        "line",
                                                 "function", "service",    "version", "env",        "host"};
  return names;
}

class logfmt_line final : public layout {
 public:
  explicit logfmt_line(logfmt_options o) : o_(o), rule_(logfmt_fields(), clash::exact, {}, key_form::bare) {}

  void configure(const process_info& p) override {
    std::vector<std::string> reserved = logfmt_fields();
    buffer b;
    if (o_.process) {
      const std::pair<const char*, const std::string*> named[] = {
          {" service=", &p.service}, {" version=", &p.version}, {" env=", &p.environment}, {" host=", &p.host}};
      for (const auto& [key, value] : named) {
        if (value->empty()) continue;
        append(b, key);
        append_text(b, *value);
      }
      std::forward_list<std::string> store;
      for (const auto& [key, value] : p.extra) {
        const out_key k = key_rule({}, clash::exact, {}, key_form::bare).written(key, store);
        const std::string name(k.name);
        for (const std::string& r : reserved)
          if (r == name)
            throw std::invalid_argument("logfmt_layout: the process field \"" + name + "\" names one of the line's own");
        reserved.push_back(name);
        append_key(b, k);
        append_text(b, value);
      }
    }
    rule_ = key_rule(std::move(reserved), clash::exact, {}, key_form::bare);
    process_.assign(b.data(), b.size());
    contexts_.clear();  // their keys were renamed against the old rule
  }

  void render(const record_view& r, buffer& out) override {
    append(out, "ts=");
    append_time(out, r.time_ns, o_.precision, seconds_);
    append(out, " level=");
    append(out, to_string(r.severity));
    if (o_.logger) {
      append(out, " logger=");
      append_text(out, r.logger);
    }
    append(out, " msg=");
    append_text(out, r.message);
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
    if (r.context_lost) append(out, " contextLost=true");
    for (std::size_t i = 0; i < calls_.size(); ++i) {
      if (!calls_.kept(i)) continue;
      append_key(out, calls_.key(i));
      append_value(out, calls_.value(i));
    }
    if (o_.thread) {
      append(out, " thread=");
      append_int(out, r.thread);
    }
    if (o_.pid) {
      append(out, " pid=");
      append_int(out, r.pid);
    }
    append(out, process_);
    if (!r.where.file.empty()) {
      if (o_.file) {
        append(out, " file=");
        append_text(out, r.where.file);
      }
      if (o_.line) {
        append(out, " line=");
        append_int(out, r.where.line);
      }
      if (o_.function && !r.where.function.empty()) {
        append(out, " function=");
        append_text(out, r.where.function);
      }
    }
    out.push_back('\n');
  }

 private:
  void render_context(const context& ctx, buffer& b, std::vector<out_key>* keys, const call_set* skip,
                      std::forward_list<std::string>& store) const {
    const frame* f = ctx.frame_ptr();
    for (std::size_t i = 0; i < well_known_count; ++i) {
      if (f->well_known[i].empty()) continue;
      b.push_back(' ');
      append(b, well_known_names[i]);
      b.push_back('=');
      append_text(b, f->well_known[i]);
    }
    for_each_custom(ctx, rule_, store, skip, [&b, keys](out_key k, std::string_view v) {
      if (keys) keys->push_back(k);
      append_key(b, k);
      append_text(b, v);
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

  logfmt_options o_;
  key_rule rule_;
  std::string process_;
  second_cache seconds_;
  frame_cache contexts_;
  call_set calls_;
  std::forward_list<std::string> store_;  // keys repaired while a shadowed context is rendered
};

}  // namespace
}  // namespace detail

layout_ptr logfmt_layout(logfmt_options options) { return std::make_shared<detail::logfmt_line>(options); }

}  // namespace v1
}  // namespace ctxlog
