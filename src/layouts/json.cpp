// src/layouts/json.cpp — the JSON line layout (json_layout(), the default):
// {"ts":..,"level":..,"logger":..,"msg":..,<context>,<per-call fields>,"thread":..,"file":..,"line":..}
//
// Renders the parts that repeat once and copies them: per call site (and logger) the
// head and tail of the line, per context frame its fields, per second the date-time.
// No key appears twice: a user key (custom context field or kv()) that names one of the
// line's own fields gets '_' prefixed until it does not; then of two fields with one key
// the later in the line wins: a per-call field over a context field, a later kv() over an
// earlier one.
#include <array>
#include <cmath>
#include <forward_list>
#include <stdexcept>
#include <string>
#include <vector>

#include "ctxlog/detail/json.hpp"
#include "ctxlog/layout.hpp"
#include "time_text.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

// A key as written: `prefix` underscores, then name.
struct out_key {
  std::string_view name;
  unsigned prefix = 0;
};

bool same_key(out_key a, out_key b) noexcept {
  if (a.prefix + a.name.size() != b.prefix + b.name.size()) return false;
  if (a.prefix < b.prefix) std::swap(a, b);
  const unsigned d = a.prefix - b.prefix;  // b.name must start with d underscores
  for (unsigned i = 0; i < d; ++i)
    if (b.name[i] != '_') return false;
  return b.name.substr(d) == a.name;
}

template <class Int>
void append_int(buffer& out, Int v) {
  const fmt::format_int f(v);
  out.append(f.data(), f.data() + f.size());
}

void append_value(buffer& out, const field_value& v) {
  switch (v.type) {
    case field_value::kind::i64: append_int(out, v.i); break;
    case field_value::kind::u64: append_int(out, v.u); break;
    case field_value::kind::f64:
      if (std::isfinite(v.f)) fmt::format_to(fmt::appender(out), "{}", v.f);
      else append(out, std::isnan(v.f) ? "\"NaN\"" : v.f > 0 ? "\"Infinity\"" : "\"-Infinity\"");
      break;
    case field_value::kind::boolean: append(out, v.b ? "true" : "false"); break;
    case field_value::kind::string: append_json_string(out, v.str); break;
    case field_value::kind::json: append(out, v.str); break;  // already JSON, made by ctxlog
  }
}

// ,"name": with the name escaped.
std::string member_key(std::string_view name) {
  buffer b;
  b.push_back(',');
  append_json_string(b, name);
  b.push_back(':');
  return std::string(b.data(), b.size());
}

class json_line final : public layout {
 public:
  explicit json_line(json_options o) : o_(std::move(o)) {
    json_names& n = o_.names;
    // Names are compared as written: two of different invalid UTF-8 may be one key.
    for (std::string* s : {&n.ts, &n.level, &n.logger, &n.msg, &n.request_id, &n.tenant_id, &n.trace_id,
                           &n.span_id, &n.parent_span_id, &n.user_id, &n.context_lost, &n.thread, &n.pid,
                           &n.file, &n.line, &n.function, &n.service, &n.version, &n.environment, &n.host})
      *s = as_written(*s);
    const std::string* always[] = {&n.ts, &n.level, &n.msg, &n.context_lost, &n.request_id, &n.tenant_id,
                                   &n.trace_id, &n.span_id, &n.parent_span_id, &n.user_id};
    for (const std::string* s : always) own_.push_back(*s);
    const std::pair<bool, const std::string*> optional[] = {{o_.logger, &n.logger}, {o_.thread, &n.thread},
                                                            {o_.pid, &n.pid},       {o_.file, &n.file},
                                                            {o_.line, &n.line},     {o_.function, &n.function}};
    for (const auto& [on, s] : optional)
      if (on) own_.push_back(*s);
    check_names(own_, "json_layout");
    const std::string* ids[] = {&n.request_id, &n.tenant_id, &n.trace_id, &n.span_id, &n.parent_span_id, &n.user_id};
    for (std::size_t i = 0; i < well_known_count; ++i) id_keys_[i] = member_key(*ids[i]);
    ts_key_ = member_key(n.ts).substr(1);  // the first member: no comma
    lost_member_ = member_key(n.context_lost) + "true";
    thread_key_ = member_key(n.thread);
    pid_key_ = member_key(n.pid);
    reserved_ = own_;
  }

  void configure(const process_info& p) override {
    std::vector<std::string> reserved = own_;
    buffer b;
    if (o_.process) {
      const json_names& n = o_.names;
      const std::pair<const std::string*, const std::string*> named[] = {
          {&n.service, &p.service}, {&n.version, &p.version}, {&n.environment, &p.environment}, {&n.host, &p.host}};
      for (const auto& [name, value] : named) {
        if (value->empty()) continue;
        reserved.push_back(*name);
        append(b, member_key(*name));
        append_json_string(b, *value);
      }
      for (const auto& [name, value] : p.extra) {
        reserved.push_back(as_written(name));  // checked as written, below
        append(b, member_key(reserved.back()));
        append_json_string(b, value);
      }
    }
    check_names(reserved, "json_layout with config::process");
    reserved_ = std::move(reserved);
    process_json_.assign(b.data(), b.size());
    for (auto& s : sites_) s.site = nullptr;  // their tails hold the process fields
    for (auto& c : contexts_) c.id = 0;       // their keys were renamed against reserved_
  }

  void render(const record_view& r, buffer& out) override {
    out.push_back('{');
    append(out, ts_key_);
    append_time(out, r.time_ns);
    const cached_site* site = r.site ? &site_parts(r) : nullptr;
    if (site) append(out, site->head);
    else append_head(r, out);
    append_json_string(out, r.message);
    if (r.fields.empty()) {
      if (!r.ctx.empty()) append(out, context_parts(r.ctx).json);
      if (r.context_lost) append(out, lost_member_);
    } else {
      append_context_and_fields(r, out);
    }
    if (o_.thread) {
      append(out, thread_key_);
      append_int(out, r.thread);
    }
    if (o_.pid) {
      append(out, pid_key_);
      append_int(out, r.pid);
    }
    if (site) append(out, site->tail);
    else append_tail(r, out);
  }

 private:
  struct cached_site {
    const void* site = nullptr;
    const char* logger = nullptr;  // logger names live as long as their loggers: forever
    std::string head;  // ,"level":"info","logger":"orders","msg":
    std::string tail;  // <process fields>,"file":"orders.cpp","line":42}\n
  };
  struct cached_context {
    std::uint64_t id = 0;  // frame ids are never reused: a hit is the same frame
    std::string json;      // the members, each with its leading comma
    // The custom fields' keys as written (views into the frame, used only while a
    // record of this frame is being rendered, so the frame is alive; or into store).
    std::vector<out_key> keys;
    std::forward_list<std::string> store;  // keys repaired from invalid UTF-8
  };

  static void check_names(const std::vector<std::string>& names, const char* what) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i].empty()) throw std::invalid_argument(std::string(what) + ": a field name is empty");
      for (std::size_t j = 0; j < i; ++j)
        if (names[i] == names[j])
          throw std::invalid_argument(std::string(what) + ": two fields are named \"" + names[i] + "\"");
    }
  }

  // The key as written: invalid UTF-8 replaced (the repaired text kept in store), then
  // '_' prefixed while it names one of the line's own fields.
  out_key written(std::string_view key, std::forward_list<std::string>& store) const {
    if (std::string r; repair_utf8(key, r)) key = store.emplace_front(std::move(r));
    out_key k{key, 0};
    for (;;) {
      bool clash = false;
      for (const std::string& own : reserved_)
        if (same_key(k, out_key{own, 0})) {
          clash = true;
          break;
        }
      if (!clash) return k;
      ++k.prefix;
    }
  }

  static void append_key(buffer& out, out_key k) {
    if (k.prefix == 0) {
      out.push_back(',');
      append_json_string(out, k.name);  // repaired already: no further replacement
      out.push_back(':');
      return;
    }
    std::string s(k.prefix, '_');
    s.append(k.name);
    out.push_back(',');
    append_json_string(out, s);
    out.push_back(':');
  }

  void append_time(buffer& out, std::uint64_t ns) {
    if (o_.format == time_format::epoch) {
      const std::uint64_t v = o_.precision == time_precision::ms ? ns / 1000000u
                              : o_.precision == time_precision::us ? ns / 1000u
                                                                   : ns;
      append_int(out, v);
      return;
    }
    char frac[10];
    const unsigned n = format_fraction(ns, o_.precision, frac);
    char text[32];
    text[0] = '"';
    std::memcpy(text + 1, seconds_.text(static_cast<std::int64_t>(ns / 1000000000u)), 19);
    std::memcpy(text + 20, frac, n);
    text[20 + n] = 'Z';
    text[21 + n] = '"';
    append(out, std::string_view(text, 22 + n));
  }

  void append_head(const record_view& r, buffer& out) const {
    append(out, member_key(o_.names.level));
    out.push_back('"');
    append(out, to_string(r.severity));
    out.push_back('"');
    if (o_.logger) {
      append(out, member_key(o_.names.logger));
      append_json_string(out, r.logger);
    }
    append(out, member_key(o_.names.msg));
  }

  void append_tail(const record_view& r, buffer& out) const {
    append(out, process_json_);
    if (!r.where.file.empty()) {
      if (o_.file) {
        append(out, member_key(o_.names.file));
        append_json_string(out, r.where.file);
      }
      if (o_.line) {
        append(out, member_key(o_.names.line));
        append_int(out, r.where.line);
      }
      if (o_.function) {
        append(out, member_key(o_.names.function));
        append_json_string(out, r.where.function);
      }
    }
    append(out, "}\n");
  }

  const cached_site& site_parts(const record_view& r) {
    // Call sites and loggers live for the whole program, so their addresses are keys.
    cached_site& c = sites_[(reinterpret_cast<std::uintptr_t>(r.site) / 8) % sites_.size()];
    if (c.site != r.site || c.logger != r.logger.data()) {
      buffer b;
      append_head(r, b);
      c.head.assign(b.data(), b.size());
      b.clear();
      append_tail(r, b);
      c.tail.assign(b.data(), b.size());
      c.site = r.site;
      c.logger = r.logger.data();
    }
    return c;
  }

  // The context's members, skipping custom fields whose written key is in skip.
  void render_context(const context& ctx, buffer& b, std::vector<out_key>* keys, const std::vector<out_key>* skip,
                      std::forward_list<std::string>& store) const {
    const frame* f = ctx.frame_ptr();
    for (std::size_t i = 0; i < well_known_count; ++i) {
      if (f->well_known[i].empty()) continue;
      append(b, id_keys_[i]);
      append_json_string(b, f->well_known[i]);
    }
    const auto custom = ctx.custom();
    for (std::size_t i = 0; i < custom.size(); ++i) {
      const out_key k = written(custom[i].key, store);
      bool drop = false;  // a later custom field has the same written key: it wins
      for (std::size_t j = i + 1; j < custom.size() && !drop; ++j) drop = same_key(k, written(custom[j].key, store));
      for (std::size_t j = 0; skip && j < skip->size() && !drop; ++j) drop = same_key(k, (*skip)[j]);
      if (drop) continue;
      if (keys) keys->push_back(k);
      append_key(b, k);
      append_json_string(b, custom[i].value);
    }
  }

  const cached_context& context_parts(const context& ctx) {
    // Fibonacci hashing: frame ids come from per-thread blocks, so their low bits repeat
    // across threads.
    cached_context& c = contexts_[(ctx.id() * 0x9E3779B97F4A7C15ull) >> (64 - k_context_bits)];
    if (c.id != ctx.id()) {
      buffer b;
      c.keys.clear();
      c.store.clear();
      render_context(ctx, b, &c.keys, nullptr, c.store);
      c.json.assign(b.data(), b.size());
      c.id = ctx.id();
    }
    return c;
  }

  // A record with kv() fields: drop every field whose key a later one repeats.
  void append_context_and_fields(const record_view& r, buffer& out) {
    fields_.clear();
    keys_.clear();
    store_.clear();
    for (const call_field& f : r.fields) {
      fields_.push_back(f);
      keys_.push_back(written(f.key, store_));
    }
    bool shadows_context = false;
    if (!r.ctx.empty()) {
      const cached_context& c = context_parts(r.ctx);
      for (std::size_t i = 0; i < keys_.size() && !shadows_context; ++i)
        for (const out_key& k : c.keys)
          if (same_key(k, keys_[i])) {
            shadows_context = true;
            break;
          }
      if (shadows_context) render_context(r.ctx, out, nullptr, &keys_, store_);
      else append(out, c.json);
    }
    if (r.context_lost) append(out, lost_member_);
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      bool repeated = false;
      for (std::size_t j = i + 1; j < keys_.size() && !repeated; ++j) repeated = same_key(keys_[i], keys_[j]);
      if (repeated) continue;
      append_key(out, keys_[i]);
      append_value(out, fields_[i].value);
    }
  }

  json_options o_;
  std::vector<std::string> own_;       // the names of the fields the layout itself writes
  std::vector<std::string> reserved_;  // own_ and the process fields' names
  std::string id_keys_[well_known_count];
  std::string ts_key_, lost_member_, thread_key_, pid_key_;
  std::string process_json_;
  second_cache seconds_;
  std::array<cached_site, 256> sites_{};
  static constexpr unsigned k_context_bits = 10;  // 1024 frames: the contexts of many requests in flight
  std::array<cached_context, std::size_t{1} << k_context_bits> contexts_{};
  std::vector<call_field> fields_;
  std::vector<out_key> keys_;
  std::forward_list<std::string> store_;
};

}  // namespace
}  // namespace detail

layout_ptr json_layout(json_options options) { return std::make_shared<detail::json_line>(std::move(options)); }

}  // namespace v1
}  // namespace ctxlog
