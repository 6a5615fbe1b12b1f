// src/propagation/trace.cpp — W3C Trace Context Level 2 (traceparent, tracestate) and
// W3C Baggage: parse and serialize.
//
// Every parser here sees bytes another process chose. Each checks lengths and character
// sets before it copies anything, indexes only within its input, and on a mismatch
// returns nullopt (traceparent, tracestate: the spec discards the whole header) or skips
// the member (baggage: the spec allows removing a malformed entry). Allocation failure
// inside a noexcept parser is reported as "not parsed".
#include <cstdio>

#include "ctxlog/trace.hpp"
#include "text.hpp"

namespace ctxlog {
inline namespace v1 {

using namespace detail::header_text;

// ---- traceparent ---------------------------------------------------------------------

std::optional<traceparent> parse_traceparent(std::string_view v) noexcept {
  try {
    v = trim_ows(v);
    if (v.size() < 55) return std::nullopt;
    const std::string_view version = v.substr(0, 2);
    if (!all_lower_hex(version) || version == "ff" || v[2] != '-') return std::nullopt;
    // Version 00 is exactly 55 characters; a later version may add fields after a '-'.
    if (version == "00" ? v.size() != 55 : (v.size() > 55 && v[55] != '-')) return std::nullopt;
    if (v[35] != '-' || v[52] != '-') return std::nullopt;
    const auto trace = v.substr(3, 32), parent = v.substr(36, 16), flags = v.substr(53, 2);
    if (!all_lower_hex(trace) || !all_lower_hex(parent) || !all_lower_hex(flags)) return std::nullopt;
    if (all_zero(trace) || all_zero(parent)) return std::nullopt;
    return traceparent{std::string(trace), std::string(parent), hex_byte(flags), hex_byte(version)};
  } catch (...) {
    return std::nullopt;
  }
}

std::string format_traceparent(std::string_view trace_id, std::string_view span_id, std::uint8_t flags) {
  if (trace_id.size() != 32 || span_id.size() != 16 || !all_lower_hex(trace_id) || !all_lower_hex(span_id) ||
      all_zero(trace_id) || all_zero(span_id))
    return {};
  static constexpr char hex[] = "0123456789abcdef";
  const unsigned f = flags & trace_flags_known;  // reserved bits are sent as zero
  std::string s;
  s.reserve(55);
  s.append("00-").append(trace_id).append("-").append(span_id).append("-");
  s += hex[f >> 4];
  s += hex[f & 15];
  return s;
}

// ---- tracestate ----------------------------------------------------------------------

bool tracestate::valid_key(std::string_view k) noexcept {
  // Level 2: key = ( lcalpha / DIGIT ) 0*255( keychar ), keychar = lcalpha / DIGIT / _ - * / @
  if (k.empty() || k.size() > 256) return false;
  if (!is_lcalpha(k[0]) && !is_digit(k[0])) return false;
  for (char c : k)
    if (!is_lcalpha(c) && !is_digit(c) && c != '_' && c != '-' && c != '*' && c != '/' && c != '@') return false;
  return true;
}

bool tracestate::valid_value(std::string_view v) noexcept {
  // value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = %x21-7E except ',' '='
  if (v.empty() || v.size() > 256 || v.back() == ' ') return false;
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e || c == ',' || c == '=') return false;
  }
  return true;
}

std::optional<tracestate> tracestate::parse(std::string_view v) noexcept {
  try {
    tracestate out;
    bool ok = true;
    for_each_member(v, ',', [&](std::string_view m) {
      m = trim_ows(m);
      if (m.empty() || !ok) return;  // empty and whitespace-only members are allowed
      const auto eq = m.find('=');
      if (eq == std::string_view::npos) return void(ok = false);
      const auto key = m.substr(0, eq), value = m.substr(eq + 1);
      if (!valid_key(key) || !valid_value(value) || out.members_.size() == 32 || !out.get(key).empty())
        return void(ok = false);
      out.members_.push_back({std::string(key), std::string(value)});
    });
    if (!ok) return std::nullopt;
    return out;
  } catch (...) {
    return std::nullopt;
  }
}

std::string_view tracestate::get(std::string_view key) const noexcept {
  for (const auto& m : members_)
    if (m.key == key) return m.value;
  return {};
}

bool tracestate::erase(std::string_view key) noexcept {
  for (auto it = members_.begin(); it != members_.end(); ++it)
    if (it->key == key) {
      members_.erase(it);
      return true;
    }
  return false;
}

bool tracestate::put(std::string_view key, std::string_view value) {
  if (!valid_key(key) || !valid_value(value)) return false;
  erase(key);
  members_.insert(members_.begin(), member{std::string(key), std::string(value)});
  if (members_.size() > 32) members_.pop_back();
  return true;
}

std::string tracestate::to_string(std::size_t max_chars) const {
  std::vector<const member*> keep;
  std::size_t total = 0;
  for (const auto& m : members_) {
    keep.push_back(&m);
    total += m.key.size() + 1 + m.value.size() + (keep.size() > 1 ? 1 : 0);
  }
  auto size_of = [](const member* m) { return m->key.size() + 1 + m->value.size(); };
  // Over the limit: drop whole members, those over 128 characters first (last one first),
  // then from the end.
  while (total > max_chars && !keep.empty()) {
    std::size_t drop = keep.size() - 1;
    for (std::size_t i = keep.size(); i-- > 0;)
      if (size_of(keep[i]) > 128) {
        drop = i;
        break;
      }
    total -= size_of(keep[drop]) + (keep.size() > 1 ? 1 : 0);
    keep.erase(keep.begin() + static_cast<std::ptrdiff_t>(drop));
  }
  std::string s;
  for (const member* m : keep) {
    if (!s.empty()) s += ',';
    s.append(m->key).append("=").append(m->value);
  }
  return s;
}

// ---- baggage -------------------------------------------------------------------------

namespace {

// baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E
bool is_baggage_octet(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
}
bool all_baggage_octets(std::string_view s) noexcept {
  for (char c : s)
    if (!is_baggage_octet(c)) return false;
  return true;
}

std::optional<std::string> percent_decode(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out += v[i];
      continue;
    }
    if (v.size() - i < 3) return std::nullopt;  // truncated escape
    const int hi = hex_value(v[i + 1]), lo = hex_value(v[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const auto c = static_cast<unsigned char>(hi * 16 + lo);
    if (c < 0x20 || c == 0x7f) return std::nullopt;  // no control bytes into the context
    out += static_cast<char>(c);
    i += 2;
  }
  return out;
}

// ";k=v;flag" with every part checked and OWS trimmed; nullopt when a property is malformed.
std::optional<std::string> normalize_properties(std::string_view props) {
  std::string out;
  bool ok = true;
  for_each_member(props, ';', [&](std::string_view p) {
    p = trim_ows(p);
    if (p.empty() || !ok) return;
    const auto eq = p.find('=');
    const auto key = trim_ows(p.substr(0, eq));
    if (!is_token(key)) return void(ok = false);
    out.append(";").append(key);
    if (eq == std::string_view::npos) return;
    const auto value = trim_ows(p.substr(eq + 1));
    if (!all_baggage_octets(value)) return void(ok = false);
    out.append("=").append(value);
  });
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace

parsed_baggage parse_baggage(std::string_view v, baggage_limits limits) noexcept {
  parsed_baggage out;
  try {
    std::size_t bytes = 0;
    for_each_member(v, ',', [&](std::string_view m) {
      m = trim_ows(m);
      if (m.empty()) return;
      const auto semi = m.find(';');
      const auto kv = m.substr(0, semi);
      const auto eq = kv.find('=');
      if (eq == std::string_view::npos) return void(++out.skipped);
      const auto key = trim_ows(kv.substr(0, eq));
      const auto raw = trim_ows(kv.substr(eq + 1));
      if (!is_token(key) || !all_baggage_octets(raw)) return void(++out.skipped);
      auto value = percent_decode(raw);
      auto props = semi == std::string_view::npos ? std::optional<std::string>(std::string())
                                                  : normalize_properties(m.substr(semi + 1));
      if (!value || !props) return void(++out.skipped);
      const std::size_t size = key.size() + 1 + raw.size() + props->size() + (out.members.empty() ? 0 : 1);
      if (out.members.size() >= limits.max_members || bytes + size > limits.max_bytes) return void(++out.dropped);
      bytes += size;
      out.members.push_back({std::string(key), std::move(*value), std::move(*props)});
    });
  } catch (...) {
    out.members.clear();
  }
  return out;
}

std::string format_baggage(const std::vector<baggage_member>& members, baggage_limits limits) {
  std::string out;
  std::size_t n = 0;
  for (const auto& m : members) {
    if (!is_token(m.key)) continue;
    std::string one = m.key;
    one += '=';
    for (const char c : m.value) {
      if (is_baggage_octet(c) && c != '%') {
        one += c;
      } else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
        one += buf;
      }
    }
    if (auto props = normalize_properties(m.properties)) one += *props;
    if (n == limits.max_members || out.size() + (out.empty() ? 0 : 1) + one.size() > limits.max_bytes) continue;
    if (!out.empty()) out += ',';
    out += one;
    ++n;
  }
  return out;
}

// ---- untrusted values ------------------------------------------------------------------

bool safe_header_value(std::string_view v) noexcept {
  if (v.empty() || v.size() > 128) return false;
  for (char c : v) {
    const bool ok = is_lcalpha(c) || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_' || c == '.' ||
                    c == ':' || c == '/' || c == '+' || c == '=' || c == '@';
    if (!ok) return false;
  }
  return true;
}

bool valid_request_id(std::string_view v) noexcept { return safe_header_value(v); }

}  // namespace v1
}  // namespace ctxlog
