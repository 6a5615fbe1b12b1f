// src/trace.cpp — W3C trace context, baggage and carriers.
//
// Parsers here see bytes from other processes: each checks lengths and character sets
// before it copies anything, and returns nullopt (or skips the member) on any mismatch.
#include "ctxlog/trace.hpp"

#include <array>
#include <cstdio>
#include <random>

namespace ctxlog {
inline namespace v1 {

namespace {

bool is_lower_hex(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool all_lower_hex(std::string_view s) noexcept {
  for (char c : s)
    if (!is_lower_hex(c)) return false;
  return true;
}
bool all_zero(std::string_view s) noexcept { return s.find_first_not_of('0') == std::string_view::npos; }
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string random_hex(std::size_t digits) {
  // One generator per thread, seeded from the OS: no lock, no shared state.
  thread_local std::mt19937_64 gen{[] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }()};
  static constexpr char hex[] = "0123456789abcdef";
  std::string s(digits, '0');
  do {
    for (std::size_t i = 0; i < digits; i += 16) {
      std::uint64_t x = gen();
      for (std::size_t j = i; j < digits && j < i + 16; ++j, x >>= 4) s[j] = hex[x & 15];
    }
  } while (all_zero(s));
  return s;
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 7230 token characters (baggage keys).
bool is_tchar(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  for (char t : std::string_view("!#$%&'*+-.^_`|~"))
    if (c == t) return true;
  return false;
}

// baggage-octet: printable ASCII except space, '"', ',', ';', '\'.
bool is_baggage_octet(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
}

std::optional<std::string> percent_decode(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!is_baggage_octet(v[i])) return std::nullopt;
    if (v[i] != '%') {
      out += v[i];
      continue;
    }
    if (i + 2 >= v.size()) return std::nullopt;  // truncated escape
    const int hi = hex_value(v[i + 1]), lo = hex_value(v[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const char c = static_cast<char>(hi * 16 + lo);
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return std::nullopt;  // no control bytes
    out += c;
    i += 2;
  }
  return out;
}

bool ieq(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// tracestate keys: lcalpha (lcalpha|digit|_-*/){0,255}, or tenant@system forms.
bool valid_tracestate_key(std::string_view k) noexcept {
  if (k.empty() || k.size() > 256) return false;
  const auto at = k.find('@');
  auto ok_part = [](std::string_view p, std::size_t max, bool digit_first) {
    if (p.empty() || p.size() > max) return false;
    if (!((p[0] >= 'a' && p[0] <= 'z') || (digit_first && p[0] >= '0' && p[0] <= '9'))) return false;
    for (char c : p)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' || c == '/'))
        return false;
    return true;
  };
  if (at == std::string_view::npos) return ok_part(k, 256, false);
  return ok_part(k.substr(0, at), 241, true) && ok_part(k.substr(at + 1), 14, false);
}
bool valid_tracestate_value(std::string_view v) noexcept {
  if (v.empty() || v.size() > 256 || v.back() == ' ') return false;
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e || c == ',' || c == '=') return false;
  }
  return true;
}

}  // namespace

std::string new_trace_id() { return random_hex(32); }
std::string new_span_id() { return random_hex(16); }

std::optional<traceparent> parse_traceparent(std::string_view v) noexcept {
  try {
    v = trim_ows(v);
    if (v.size() < 55) return std::nullopt;
    const std::string_view version = v.substr(0, 2);
    if (!all_lower_hex(version) || version == "ff") return std::nullopt;
    if (version == "00" ? v.size() != 55 : (v.size() > 55 && v[55] != '-')) return std::nullopt;
    if (v[2] != '-' || v[35] != '-' || v[52] != '-') return std::nullopt;
    const auto trace = v.substr(3, 32), parent = v.substr(36, 16), flags = v.substr(53, 2);
    if (!all_lower_hex(trace) || !all_lower_hex(parent) || !all_lower_hex(flags)) return std::nullopt;
    if (all_zero(trace) || all_zero(parent)) return std::nullopt;
    return traceparent{std::string(trace), std::string(parent),
                       static_cast<std::uint8_t>(hex_value(flags[0]) * 16 + hex_value(flags[1]))};
  } catch (...) {
    return std::nullopt;
  }
}

std::string format_traceparent(std::string_view trace_id, std::string_view span_id, std::uint8_t flags) {
  if (trace_id.size() != 32 || span_id.size() != 16 || !all_lower_hex(trace_id) || !all_lower_hex(span_id) ||
      all_zero(trace_id) || all_zero(span_id))
    return {};
  char f[3];
  std::snprintf(f, sizeof f, "%02x", flags);
  std::string s = "00-";
  s.append(trace_id).append("-").append(span_id).append("-").append(f, 2);
  return s;
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_tracestate(std::string_view v) noexcept {
  try {
    std::vector<std::pair<std::string, std::string>> out;
    std::size_t pos = 0;
    while (pos <= v.size()) {
      const auto comma = v.find(',', pos);
      const auto member = trim_ows(v.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
      pos = comma == std::string_view::npos ? v.size() + 1 : comma + 1;
      if (member.empty()) continue;  // empty list members are allowed
      const auto eq = member.find('=');
      if (eq == std::string_view::npos) return std::nullopt;
      const auto key = member.substr(0, eq), value = member.substr(eq + 1);
      if (!valid_tracestate_key(key) || !valid_tracestate_value(value)) return std::nullopt;
      for (const auto& [k, _] : out)
        if (k == key) return std::nullopt;
      if (out.size() == 32) return std::nullopt;
      out.emplace_back(std::string(key), std::string(value));
    }
    return out;
  } catch (...) {
    return std::nullopt;
  }
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_baggage(std::string_view v) noexcept {
  try {
    if (v.size() > 8192) return std::nullopt;
    std::vector<std::pair<std::string, std::string>> out;
    std::size_t pos = 0, members = 0;
    while (pos <= v.size()) {
      const auto comma = v.find(',', pos);
      std::string_view member = v.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
      pos = comma == std::string_view::npos ? v.size() + 1 : comma + 1;
      if (const auto semi = member.find(';'); semi != std::string_view::npos) member = member.substr(0, semi);
      member = trim_ows(member);
      if (member.empty()) continue;
      if (++members > 180) return std::nullopt;
      const auto eq = member.find('=');
      if (eq == std::string_view::npos) continue;
      const auto key = trim_ows(member.substr(0, eq));
      const auto raw = trim_ows(member.substr(eq + 1));
      bool key_ok = !key.empty();
      for (char c : key) key_ok = key_ok && is_tchar(c);
      if (!key_ok) continue;
      auto value = percent_decode(raw);
      if (!value) continue;
      out.emplace_back(std::string(key), std::move(*value));
    }
    return out;
  } catch (...) {
    return std::nullopt;
  }
}

std::string format_baggage(const std::vector<std::pair<std::string, std::string>>& kvs) {
  std::string out;
  for (const auto& [k, v] : kvs) {
    bool key_ok = !k.empty();
    for (char c : k) key_ok = key_ok && is_tchar(c);
    if (!key_ok) continue;
    if (!out.empty()) out += ',';
    out += k;
    out += '=';
    for (const char c : v) {
      if (is_baggage_octet(c) && c != '%') {
        out += c;
      } else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
        out += buf;
      }
    }
  }
  return out;
}

bool valid_request_id(std::string_view v) noexcept {
  if (v.empty() || v.size() > 128) return false;
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e) return false;
  }
  return true;
}

namespace detail {

std::vector<std::pair<std::string, std::string>> inject_headers(const context& c) {
  std::vector<std::pair<std::string, std::string>> h;
  if (auto tp = format_traceparent(c.trace_id(), c.span_id()); !tp.empty())
    h.emplace_back(std::string(traceparent_header), std::move(tp));
  if (valid_request_id(c.request_id())) h.emplace_back(std::string(request_id_header), std::string(c.request_id()));
  std::vector<std::pair<std::string, std::string>> bag;
  if (!c.tenant_id().empty()) bag.emplace_back("tenantId", std::string(c.tenant_id()));
  if (!c.user_id().empty()) bag.emplace_back("userId", std::string(c.user_id()));
  for (const auto& kv : c.custom()) bag.emplace_back(std::string(kv.key), std::string(kv.value));
  if (auto b = format_baggage(bag); !b.empty()) h.emplace_back(std::string(baggage_header), std::move(b));
  return h;
}

context extract_headers(const std::vector<std::pair<std::string_view, std::string_view>>& headers) {
  std::optional<traceparent> tp;
  std::string request_id;
  std::vector<std::pair<std::string, std::string>> bag;
  for (const auto& [k, v] : headers) {
    if (ieq(k, traceparent_header)) {
      tp = parse_traceparent(v);
    } else if (ieq(k, request_id_header)) {
      if (valid_request_id(v)) request_id = std::string(v);
    } else if (ieq(k, baggage_header)) {
      if (auto b = parse_baggage(v)) bag.insert(bag.end(), b->begin(), b->end());
    }
  }
  const std::string span = tp ? new_span_id() : std::string();
  fields f;
  if (tp) f.trace_id(tp->trace_id).parent_span_id(tp->parent_id).span_id(span);
  if (!request_id.empty()) f.request_id(request_id);
  for (const auto& [k, v] : bag) {
    // Baggage is the sender's to fill: it may not forge correlation ids.
    if (k == "requestId" || k == "traceId" || k == "spanId" || k == "parentSpanId") continue;
    f.set(k, v);
  }
  return context().with(f);
}

}  // namespace detail

}  // namespace v1
}  // namespace ctxlog
