// src/layouts/schema_common.hpp — what the schema layouts (ecs, otel, gcp, datadog,
// logfmt) share: keys as written and the rule that keeps them unique, a per-frame cache
// of the rendered context, and small appenders.
//
// The key rule is json.cpp's: a user key is UTF-8-repaired, then '_' is prefixed while it
// clashes with a name the schema reserves; of two user fields with one written key the
// later wins. Only the clash test differs per schema (exact name, dotted path, prefix).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <forward_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ctxlog/detail/json.hpp"
#include "ctxlog/layout.hpp"
#include "time_text.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace schema {

template <class Int>
void append_int(buffer& out, Int v) {
  const fmt::format_int f(v);
  append(out, std::string_view(f.data(), f.size()));
}

// A JSON number, bool, string or copied JSON text, as json.cpp writes them (a
// non-finite double as the strings "NaN", "Infinity", "-Infinity").
inline void append_json_value(buffer& out, const field_value& v) {
  switch (v.type) {
    case field_value::kind::i64: append_int(out, v.i); break;
    case field_value::kind::u64: append_int(out, v.u); break;
    case field_value::kind::f64:
      if (std::isfinite(v.f)) fmt::format_to(fmt::appender(out), "{}", v.f);
      else append(out, std::isnan(v.f) ? "\"NaN\"" : v.f > 0 ? "\"Infinity\"" : "\"-Infinity\"");
      break;
    case field_value::kind::boolean: append(out, v.b ? "true" : "false"); break;
    case field_value::kind::string: append_json_string(out, v.str); break;
    case field_value::kind::json: append(out, v.str); break;  // valid JSON made by ctxlog
  }
}

// The RFC 3339 UTC date-time of ns, without quotes; seconds come from cache.
inline void append_time(buffer& out, std::uint64_t ns, time_precision p, second_cache& cache) {
  char frac[10];
  const unsigned n = format_fraction(ns, p, frac);
  append(out, std::string_view(cache.text(static_cast<std::int64_t>(ns / 1000000000u)), 19));
  append(out, std::string_view(frac, n));
  out.push_back('Z');
}

// A list whose items are appended each with a leading ',': open_list() writes the
// opener, close_list() drops the first item's comma and writes the closer, or takes the
// opener back when no item came.
inline std::size_t open_list(buffer& out, std::string_view opener) {
  const std::size_t mark = out.size();
  append(out, opener);
  return mark;
}
inline void close_list(buffer& out, std::size_t mark, std::string_view opener, char closer) {
  const std::size_t first = mark + opener.size();
  if (out.size() == first) {
    out.resize(mark);
    return;
  }
  std::memmove(out.data() + first, out.data() + first + 1, out.size() - first - 1);
  out.resize(out.size() - 1);
  out.push_back(closer);
}

// True when s is exactly n hex digits (either case).
inline bool is_hex(std::string_view s, std::size_t n) noexcept {
  if (s.size() != n) return false;
  for (const char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

// ---- keys ----------------------------------------------------------------------------

// A key as written: `prefix` underscores, then name.
struct out_key {
  std::string_view name;
  unsigned prefix = 0;
  std::size_t size() const noexcept { return prefix + name.size(); }
  char at(std::size_t i) const noexcept { return i < prefix ? '_' : name[i - prefix]; }
};

inline bool starts_with(out_key k, std::string_view s) noexcept {
  if (k.size() < s.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (k.at(i) != s[i]) return false;
  return true;
}
inline bool equals(out_key k, std::string_view s) noexcept { return k.size() == s.size() && starts_with(k, s); }
inline bool same_key(out_key a, out_key b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a.at(i) != b.at(i)) return false;
  return true;
}

// The key's text for an appender (a copy only when it has a prefix: rare).
template <class F>
void with_text(out_key k, F&& f) {
  if (k.prefix == 0) {
    f(k.name);
    return;
  }
  std::string s(k.prefix, '_');
  s.append(k.name);
  f(std::string_view(s));
}

// ,"key": (the key is repaired already: escaping makes no further change)
inline void append_member_key(buffer& out, out_key k) {
  out.push_back(',');
  with_text(k, [&out](std::string_view s) { append_json_string(out, s); });
  out.push_back(':');
}

// How a written key clashes with a reserved name r.
enum class clash {
  exact,  // k == r
  path,   // k == r, or one is a dotted path under the other ("log" and "log.level")
};

// What a key must look like besides valid UTF-8.
enum class key_form {
  as_is,
  dedot,  // no '.': each becomes '_' (ECS label names)
  bare,   // no byte <= ' ', '=', '"' or DEL: each becomes '_'; "" becomes "_" (logfmt keys)
};

class key_rule {
 public:
  key_rule() = default;
  key_rule(std::vector<std::string> reserved, clash c, std::vector<std::string> prefixes = {},
           key_form form = key_form::as_is)
      : reserved_(std::move(reserved)), prefixes_(std::move(prefixes)), clash_(c), form_(form) {}

  void reserve(std::string name) { reserved_.push_back(std::move(name)); }

  bool clashes(out_key k) const noexcept {
    for (const std::string& p : prefixes_)
      if (starts_with(k, p)) return true;
    for (const std::string& r : reserved_) {
      if (equals(k, r)) return true;
      if (clash_ != clash::path) continue;
      if (k.size() > r.size() && k.at(r.size()) == '.' && starts_with(k, r)) return true;
      if (r.size() > k.size() && r[k.size()] == '.' && prefix_of(k, r)) return true;
    }
    return false;
  }

  // The key as written: invalid UTF-8 replaced and the bytes the form forbids made '_'
  // (a new text is kept in store); then '_' prefixed while it clashes.
  out_key written(std::string_view key, std::forward_list<std::string>& store) const {
    if (std::string r; repair_utf8(key, r)) key = store.emplace_front(std::move(r));
    if (form_ != key_form::as_is) {
      const auto bad = [this](char c) {
        const auto u = static_cast<unsigned char>(c);
        return form_ == key_form::dedot ? c == '.' : u <= ' ' || u == 0x7f || c == '=' || c == '"';
      };
      bool any = form_ == key_form::bare && key.empty();
      for (const char c : key) any = any || bad(c);
      if (any) {
        std::string d = key.empty() ? std::string("_") : std::string(key);
        for (char& c : d)
          if (bad(c)) c = '_';
        key = store.emplace_front(std::move(d));
      }
    }
    out_key k{key, 0};
    while (clashes(k)) ++k.prefix;
    return k;
  }

 private:
  static bool prefix_of(out_key k, std::string_view r) noexcept {
    for (std::size_t i = 0; i < k.size(); ++i)
      if (k.at(i) != r[i]) return false;
    return true;
  }

  std::vector<std::string> reserved_;
  std::vector<std::string> prefixes_;
  clash clash_ = clash::exact;
  key_form form_ = key_form::as_is;
};

// The kv() fields of one record with their written keys. Reused from record to record,
// so that after the first lines it allocates nothing.
class call_set {
 public:
  void load(const call_fields& fields, const key_rule& rule) {
    fields_.clear();
    keys_.clear();
    kept_.clear();
    store_.clear();
    for (const call_field& f : fields) {
      fields_.push_back(f);
      keys_.push_back(rule.written(f.key, store_));
    }
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      bool repeated = false;  // a later field has the same written key: it wins
      for (std::size_t j = i + 1; j < keys_.size() && !repeated; ++j) repeated = same_key(keys_[i], keys_[j]);
      kept_.push_back(!repeated);
    }
  }
  std::size_t size() const noexcept { return fields_.size(); }
  bool kept(std::size_t i) const noexcept { return kept_[i]; }
  const field_value& value(std::size_t i) const noexcept { return fields_[i].value; }
  out_key key(std::size_t i) const noexcept { return keys_[i]; }
  bool has(out_key k) const noexcept {
    for (const out_key& c : keys_)
      if (same_key(c, k)) return true;
    return false;
  }
  bool has_any(std::span<const out_key> ks) const noexcept {
    for (const out_key& k : ks)
      if (has(k)) return true;
    return false;
  }

 private:
  std::vector<call_field> fields_;
  std::vector<out_key> keys_;
  std::vector<bool> kept_;
  std::forward_list<std::string> store_;
};

// Calls emit(key, value) for each custom field of ctx with its written key, leaving out
// one that a later custom field (same written key) or skip overrides.
template <class Emit>
void for_each_custom(const context& ctx, const key_rule& rule, std::forward_list<std::string>& store,
                     const call_set* skip, Emit&& emit) {
  const auto custom = ctx.custom();
  std::vector<out_key> keys;
  keys.reserve(custom.size());
  for (const field& f : custom) keys.push_back(rule.written(f.key, store));
  for (std::size_t i = 0; i < custom.size(); ++i) {
    bool drop = skip && skip->has(keys[i]);
    for (std::size_t j = i + 1; j < custom.size() && !drop; ++j) drop = same_key(keys[i], keys[j]);
    if (!drop) emit(keys[i], custom[i].value);
  }
}

// The rendered context of a frame: `text` and `more` hold whatever the layout puts
// there, `keys` the written keys of the custom fields (views into the frame, used only
// while a record of this frame is rendered, so the frame is alive; or into store).
struct context_entry {
  std::uint64_t id = 0;  // frame ids are never reused: a hit is the same frame
  std::string text, more;
  std::vector<out_key> keys;
  std::forward_list<std::string> store;
};

// A direct-mapped cache of rendered contexts keyed by frame id (as json.cpp's).
class frame_cache {
 public:
  // The entry of ctx's frame; stale when it holds another frame (the caller rebuilds it
  // and sets id).
  context_entry& slot(const context& ctx, bool& stale) {
    // Fibonacci hashing: frame ids come from per-thread blocks, their low bits repeat.
    context_entry& e = entries_[(ctx.id() * 0x9E3779B97F4A7C15ull) >> (64 - k_bits)];
    stale = e.id != ctx.id();
    if (stale) {
      e.text.clear();
      e.more.clear();
      e.keys.clear();
      e.store.clear();
    }
    return e;
  }
  void clear() noexcept {
    for (context_entry& e : entries_) e.id = 0;
  }

 private:
  static constexpr unsigned k_bits = 10;  // 1024 frames: the contexts of many requests in flight
  std::vector<context_entry> entries_ = std::vector<context_entry>(std::size_t{1} << k_bits);
};

}  // namespace schema
}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
