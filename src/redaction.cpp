// src/redaction.cpp — key patterns, the redacted copy of per-call fields, the redacted
// twin of a context, and a small JSON rewriter for structured values (redaction.hpp).
#include "redaction.hpp"

#include <cstring>
#include <stdexcept>

#include "ctxlog/detail/codec.hpp"
#include "ctxlog/detail/json.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

constexpr int k_max_depth = 64;  // deeper structured values are replaced as a whole

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool same_name(std::string_view lowered, std::string_view key) noexcept {
  if (lowered.size() != key.size()) return false;
  for (std::size_t i = 0; i < key.size(); ++i)
    if (lowered[i] != lower(key[i])) return false;
  return true;
}

// Appends the segments of key ("user.token" -> user, token) to p; returns how many.
std::size_t split_into(std::string_view key, std::vector<std::string_view>& p) {
  std::size_t n = 0, start = 0;
  for (;;) {
    const std::size_t dot = key.find('.', start);
    p.push_back(key.substr(start, dot == std::string_view::npos ? key.npos : dot - start));
    ++n;
    if (dot == std::string_view::npos) return n;
    start = dot + 1;
  }
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) out += fmt::format("\\x{:02x}", u);
    else out += c;
  }
  return out + "\"";
}

// ---- the encoded per-call fields ([key][tag][value], as codec.hpp writes them) ----

void put(std::vector<std::byte>& b, const void* p, std::size_t n) {
  const std::size_t at = b.size();
  b.resize(at + n);
  if (n) std::memcpy(b.data() + at, p, n);
}
void put_tag(std::vector<std::byte>& b, kv_tag t) { b.push_back(static_cast<std::byte>(t)); }
void put_string(std::vector<std::byte>& b, std::string_view s) {
  const auto n = static_cast<std::uint32_t>(std::min<std::size_t>(s.size(), max_string));
  put(b, &n, sizeof n);
  put(b, s.data(), n);
}

void put_value(std::vector<std::byte>& b, const field_value& v) {
  switch (v.type) {
    case field_value::kind::i64: put_tag(b, kv_tag::i64), put(b, &v.i, sizeof v.i); break;
    case field_value::kind::u64: put_tag(b, kv_tag::u64), put(b, &v.u, sizeof v.u); break;
    case field_value::kind::f64: put_tag(b, kv_tag::f64), put(b, &v.f, sizeof v.f); break;
    case field_value::kind::boolean: put_tag(b, kv_tag::boolean), b.push_back(std::byte{v.b ? std::uint8_t{1} : std::uint8_t{0}}); break;
    case field_value::kind::string: put_tag(b, kv_tag::string), put_string(b, v.str); break;
    case field_value::kind::json: put_tag(b, kv_tag::json), put_string(b, v.str); break;
  }
}

// The text a censor function is shown for a value.
std::string text_of(const field_value& v) {
  switch (v.type) {
    case field_value::kind::i64: return fmt::format("{}", v.i);
    case field_value::kind::u64: return fmt::format("{}", v.u);
    case field_value::kind::f64: return fmt::format("{}", v.f);
    case field_value::kind::boolean: return v.b ? "true" : "false";
    case field_value::kind::string:
    case field_value::kind::json: break;
  }
  return std::string(v.str);
}

// ---- a small JSON scanner (the values come from ctxlog's encoder; still checked) ----

void skip_ws(std::string_view& in) noexcept {
  while (!in.empty() && (in[0] == ' ' || in[0] == '\t' || in[0] == '\n' || in[0] == '\r')) in.remove_prefix(1);
}

// A string token, quotes included.
bool scan_string(std::string_view& in, std::string_view& raw) noexcept {
  if (in.empty() || in[0] != '"') return false;
  for (std::size_t i = 1; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '\\') {
      ++i;
    } else if (c == '"') {
      raw = in.substr(0, i + 1);
      in.remove_prefix(i + 1);
      return true;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      return false;
    }
  }
  return false;
}

bool scan_literal(std::string_view& in, std::string_view& raw) noexcept {
  for (const std::string_view word : {"true", "false", "null"})
    if (in.substr(0, word.size()) == word) {
      raw = in.substr(0, word.size());
      in.remove_prefix(word.size());
      return true;
    }
  if (in.empty() || !(in[0] == '-' || (in[0] >= '0' && in[0] <= '9'))) return false;
  std::size_t i = 1;
  while (i < in.size() && std::strchr("0123456789+-.eE", in[i]) != nullptr && in[i] != '\0') ++i;
  raw = in.substr(0, i);
  in.remove_prefix(i);
  return true;
}

// One value of any kind, as it is written.
bool scan_value(std::string_view& in, std::string_view& raw) noexcept {
  skip_ws(in);
  if (in.empty()) return false;
  if (in[0] == '"') return scan_string(in, raw);
  if (in[0] != '{' && in[0] != '[') return scan_literal(in, raw);
  const std::string_view start = in;
  std::size_t depth = 0;
  while (!in.empty()) {
    const char c = in[0];
    if (c == '"') {
      std::string_view s;
      if (!scan_string(in, s)) return false;
      continue;
    }
    in.remove_prefix(1);
    if (c == '{' || c == '[') ++depth;
    else if ((c == '}' || c == ']') && --depth == 0) {
      raw = start.substr(0, start.size() - in.size());
      return true;
    }
  }
  return false;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool hex4(std::string_view s, std::uint32_t& v) noexcept {
  if (s.size() < 4) return false;
  v = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = s[static_cast<std::size_t>(i)];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
    else return false;
  }
  return true;
}

// The text of a string token (quotes included); lone surrogates become U+FFFD.
bool unescape(std::string_view raw, std::string& out) {
  out.clear();
  const std::string_view s = raw.substr(1, raw.size() - 2);
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i >= s.size()) return false;
    switch (s[i]) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        std::uint32_t cp;
        if (!hex4(s.substr(i + 1), cp)) return false;
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00) {
          std::uint32_t lo;
          if (s.substr(i + 1, 2) == "\\u" && hex4(s.substr(i + 3), lo) && lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          } else {
            cp = 0xFFFD;
          }
        } else if (cp >= 0xDC00 && cp < 0xE000) {
          cp = 0xFFFD;
        }
        append_utf8(out, cp);
        break;
      }
      default: return false;
    }
  }
  return true;
}

void append_quoted_json(std::string& out, std::string_view s) {
  buffer b;
  append_json_string(b, s);
  out.append(b.data(), b.size());
}

}  // namespace

redactor::redactor(redact_options o) : o_(std::move(o)) {
  if (o_.keys.empty() && o_.censor_fn)
    throw std::invalid_argument("redact: censor_fn is set but keys is empty, so no field would be redacted "
                                "(the pattern \"**\" matches every key)");
  for (std::size_t k = 0; k < o_.keys.size(); ++k) {
    const std::string& key = o_.keys[k];
    const std::string what = "redact: keys[" + std::to_string(k) + "] " + quoted(key);
    if (key.empty()) throw std::invalid_argument("redact: keys[" + std::to_string(k) + "] is empty");
    for (const char c : key)
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
        throw std::invalid_argument(what + " holds whitespace or a control character");
    pattern pat;
    std::vector<std::string_view> parts;
    split_into(key, parts);
    for (const std::string_view part : parts) {
      if (part.empty()) throw std::invalid_argument(what + " has an empty segment (a leading, trailing or doubled '.')");
      if (part == "*") {
        pat.push_back({segment::kind::one, {}});
      } else if (part == "**") {
        pat.push_back({segment::kind::any, {}});
      } else if (part.find('*') != std::string_view::npos) {
        throw std::invalid_argument(what + ": '*' must be a whole segment (\"*\" or \"**\"), not part of " +
                                    quoted(part));
      } else {
        std::string text(part);
        for (char& c : text) c = lower(c);
        pat.push_back({segment::kind::name, std::move(text)});
      }
    }
    if (pat.size() > 1 || pat[0].type == segment::kind::any) nested_ = true;
    patterns_.push_back(std::move(pat));
  }
  contexts_ = std::make_unique<std::array<cached_context, std::size_t{1} << k_context_bits>>();
}

namespace {

template <class Segment>
bool match_from(const std::vector<Segment>& pat, std::size_t pi, const std::vector<std::string_view>& p,
                std::size_t si) {
  if (pi == pat.size()) return si == p.size();
  switch (pat[pi].type) {
    case Segment::kind::any:
      return match_from(pat, pi + 1, p, si) || (si < p.size() && match_from(pat, pi, p, si + 1));
    case Segment::kind::one: return si < p.size() && match_from(pat, pi + 1, p, si + 1);
    case Segment::kind::name: return si < p.size() && same_name(pat[pi].text, p[si]) && match_from(pat, pi + 1, p, si + 1);
  }
  return false;
}

// Could the pattern match a path that extends p by at least one segment?
template <class Segment>
bool viable_from(const std::vector<Segment>& pat, std::size_t pi, const std::vector<std::string_view>& p,
                 std::size_t si) {
  if (si == p.size()) return pi < pat.size();
  if (pi == pat.size()) return false;
  switch (pat[pi].type) {
    case Segment::kind::any: return viable_from(pat, pi + 1, p, si) || viable_from(pat, pi, p, si + 1);
    case Segment::kind::one: return viable_from(pat, pi + 1, p, si + 1);
    case Segment::kind::name: return same_name(pat[pi].text, p[si]) && viable_from(pat, pi + 1, p, si + 1);
  }
  return false;
}

}  // namespace

bool redactor::matches(const path& p) const {
  for (const pattern& pat : patterns_)
    if (match_from(pat, 0, p, 0)) return true;
  return false;
}

bool redactor::may_match_below(const path& p) const {
  if (!nested_) return false;
  for (const pattern& pat : patterns_)
    if (viable_from(pat, 0, p, 0)) return true;
  return false;
}

std::string redactor::replacement(const path& p, std::string_view value) {
  if (!o_.censor_fn) return o_.censor;
  std::string key;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (i) key += '.';
    key.append(p[i]);
  }
  try {
    return o_.censor_fn(key, value);
  } catch (...) {
    return o_.censor;  // never the raw value
  }
}

bool redactor::rewrite_value(std::string_view& in, std::string& out, path& p, std::deque<std::string>& keys,
                             int depth) {
  skip_ws(in);
  if (in.empty()) return false;
  const char open = in[0];
  if (open != '{' && open != '[') {
    std::string_view raw;
    if (!scan_value(in, raw)) return false;
    out.append(raw);
    return true;
  }
  if (depth >= k_max_depth) return false;
  const char close = open == '{' ? '}' : ']';
  out += open;
  in.remove_prefix(1);
  skip_ws(in);
  if (!in.empty() && in[0] == close) {
    out += close;
    in.remove_prefix(1);
    return true;
  }
  for (;;) {
    std::size_t added = 0;
    if (open == '{') {
      skip_ws(in);
      std::string_view raw_key;
      if (!scan_string(in, raw_key)) return false;
      keys.emplace_back();
      if (!unescape(raw_key, keys.back())) return false;
      out.append(raw_key);
      skip_ws(in);
      if (in.empty() || in[0] != ':') return false;
      in.remove_prefix(1);
      out += ':';
      added = split_into(keys.back(), p);  // views into the deque's string: stable until popped
    }
    bool ok = true;
    skip_ws(in);
    if (added && matches(p)) {
      std::string_view raw;
      ok = scan_value(in, raw);
      std::string text;
      if (ok && raw[0] == '"') ok = unescape(raw, text);
      else text.assign(raw);
      if (ok) append_quoted_json(out, replacement(p, text));
    } else if (!in.empty() && (in[0] == '{' || in[0] == '[') && may_match_below(p)) {
      ok = rewrite_value(in, out, p, keys, depth + 1);
    } else {
      std::string_view raw;
      ok = scan_value(in, raw);
      if (ok) out.append(raw);
    }
    if (added) {
      p.resize(p.size() - added);
      keys.pop_back();
    }
    if (!ok) return false;
    skip_ws(in);
    if (in.empty()) return false;
    if (in[0] == ',') {
      out += ',';
      in.remove_prefix(1);
      continue;
    }
    if (in[0] != close) return false;
    out += close;
    in.remove_prefix(1);
    return true;
  }
}

bool redactor::rewrite_json(std::string_view key, std::string_view json, std::string& out) {
  out.clear();
  path_.clear();
  split_into(key, path_);
  std::deque<std::string> keys;
  std::string_view in = json;
  if (!rewrite_value(in, out, path_, keys, 0)) return false;
  skip_ws(in);
  return in.empty();
}

call_fields redactor::fields(const std::byte* begin, const std::byte* end) {
  const call_fields in(begin, end);
  bool touched = false;  // first without copying: most records have nothing to redact
  for (const call_field& f : in) {
    path_.clear();
    split_into(f.key, path_);
    if (matches(path_) || (f.value.type == field_value::kind::json && may_match_below(path_))) {
      touched = true;
      break;
    }
  }
  if (!touched) return in;
  scratch_.clear();
  for (const call_field& f : in) {
    put_string(scratch_, f.key);
    path_.clear();
    split_into(f.key, path_);
    if (matches(path_)) {
      put_tag(scratch_, kv_tag::string);
      put_string(scratch_, replacement(path_, text_of(f.value)));
    } else if (f.value.type == field_value::kind::json && may_match_below(path_)) {
      if (rewrite_json(f.key, f.value.str, json_)) {
        put_tag(scratch_, kv_tag::json);
        put_string(scratch_, json_);
      } else {  // not JSON after all, or too deep to walk: nothing of it is shown
        put_tag(scratch_, kv_tag::string);
        put_string(scratch_, o_.censor);
      }
    } else {
      put_value(scratch_, f.value);
    }
  }
  return call_fields(scratch_.data(), scratch_.data() + scratch_.size());
}

const context& redactor::context_of(const context& ctx) {
  if (ctx.custom().empty()) return ctx;  // correlation ids are never redacted
  cached_context& c = (*contexts_)[(ctx.id() * 0x9E3779B97F4A7C15ull) >> (64 - k_context_bits)];
  if (c.id != ctx.id()) {
    c.id = 0;
    c.changed = false;
    c.redacted = context();
    const auto custom = ctx.custom();
    std::vector<std::string> values;
    values.reserve(custom.size());  // no reallocation: fields below views these strings
    std::vector<bool> replaced(custom.size(), false);
    for (std::size_t i = 0; i < custom.size(); ++i) {
      path_.clear();
      split_into(custom[i].key, path_);
      if (matches(path_)) {
        values.push_back(replacement(path_, custom[i].value));
        replaced[i] = true;
        c.changed = true;
      } else {
        values.emplace_back();
      }
    }
    if (c.changed) {
      ctxlog::fields f;
      f.request_id(ctx.request_id()).tenant_id(ctx.tenant_id()).trace_id(ctx.trace_id());
      f.span_id(ctx.span_id()).parent_span_id(ctx.parent_span_id()).user_id(ctx.user_id());
      for (std::size_t i = 0; i < custom.size(); ++i) f.set(custom[i].key, replaced[i] ? values[i] : custom[i].value);
      c.redacted = context().with(f);
    }
    c.id = ctx.id();
  }
  return c.changed ? c.redacted : ctx;
}

std::unique_ptr<redactor> make_redactor(const redact_options& o) {
  if (o.keys.empty() && !o.censor_fn) return nullptr;
  return std::make_unique<redactor>(o);
}

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
