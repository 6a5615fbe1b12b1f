// src/json.cpp — JSON string escaping and UTF-8 repair for every line the back-end writes.
#include "ctxlog/detail/json.hpp"

#include <array>
#include <cstdint>
#include <cstring>

#include "ctxlog/detail/frame.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

// 1 for bytes that cannot be copied as they are: control characters, '"', '\\', non-ASCII.
constexpr std::array<std::uint8_t, 256> k_special = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  return t;
}();

constexpr std::string_view k_replacement = "\xEF\xBF\xBD";  // U+FFFD

void append_escape(line_buffer& out, unsigned char c) {
  switch (c) {
    case '"': append(out, "\\\""); return;
    case '\\': append(out, "\\\\"); return;
    case '\n': append(out, "\\n"); return;
    case '\r': append(out, "\\r"); return;
    case '\t': append(out, "\\t"); return;
    case '\b': append(out, "\\b"); return;
    case '\f': append(out, "\\f"); return;
    default: {
      constexpr char hex[] = "0123456789abcdef";
      const char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
      out.append(esc, esc + 6);
    }
  }
}

// Length of the well-formed UTF-8 sequence at s[i] (Unicode 15, table 3-7), or the
// negated length of its maximal ill-formed subpart (at least 1).
int utf8_sequence(std::string_view s, std::size_t i) noexcept {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  int need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) need = 1;
  else if (c == 0xE0) need = 2, lo = 0xA0;
  else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) need = 2;
  else if (c == 0xED) need = 2, hi = 0x9F;  // no encoded surrogates
  else if (c == 0xF0) need = 3, lo = 0x90;
  else if (c >= 0xF1 && c <= 0xF3) need = 3;
  else if (c == 0xF4) need = 3, hi = 0x8F;
  else return -1;
  for (int k = 1; k <= need; ++k) {
    if (i + k >= s.size()) return -k;
    const unsigned char t = b(i + k);
    if (t < lo || t > hi) return -k;
    lo = 0x80, hi = 0xBF;
  }
  return need + 1;
}

// True when one of the 8 bytes in w needs attention: < 0x20, '"', '\\' or >= 0x80.
// (SWAR: the classic "has a zero byte" test applied to w ^ '"', w ^ '\\' and w - 0x20.)
constexpr bool word_has_special(std::uint64_t w) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  const auto has_zero = [](std::uint64_t x) { return (x - ones) & ~x & highs; };
  const std::uint64_t below_space = (w - 0x20 * ones) & ~w & highs;
  return (w & highs) | below_space | has_zero(w ^ (ones * '"')) | has_zero(w ^ (ones * '\\'));
}

// The index of the first byte of s that cannot be copied as it is (s.size() if none).
std::size_t plain_prefix(std::string_view s) noexcept {
  std::size_t i = 0;
  const std::size_t n = s.size();
  for (; i + 8 <= n; i += 8) {  // 8 bytes at a time
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if (word_has_special(w)) break;
  }
  while (i < n && !k_special[static_cast<unsigned char>(s[i])]) ++i;
  return i;
}

}  // namespace

void append_json_string(line_buffer& out, std::string_view s) {
  std::size_t i = plain_prefix(s);
  const std::size_t at = out.size();
  if (i == s.size()) {  // the common case: nothing to escape, one copy
    out.try_resize(at + s.size() + 2);
    char* p = out.data() + at;
    p[0] = '"';
    if (!s.empty()) std::memcpy(p + 1, s.data(), s.size());
    p[s.size() + 1] = '"';
    return;
  }
  out.push_back('"');
  append(out, s.substr(0, i));
  const std::size_t n = s.size();
  std::size_t run = i;
  while (i < n) {
    if (const std::size_t skip = plain_prefix(s.substr(i)); skip > 0) {
      i += skip;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    append(out, s.substr(run, i - run));
    if (c < 0x80) {
      append_escape(out, c);
      ++i;
    } else {
      const int len = utf8_sequence(s, i);
      if (len < 0) {
        append(out, k_replacement);
        i += static_cast<std::size_t>(-len);
      } else {
        // U+2028 and U+2029 are valid JSON but end lines in JavaScript: escape them.
        if (len == 3 && c == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
            (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xA8)
          append(out, static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029");
        else
          append(out, s.substr(i, static_cast<std::size_t>(len)));
        i += static_cast<std::size_t>(len);
      }
    }
    run = i;
  }
  append(out, s.substr(run, n - run));
  out.push_back('"');
}

bool repair_utf8(std::string_view s, std::string& out) {
  std::size_t i = 0;
  while (i < s.size() && static_cast<unsigned char>(s[i]) < 0x80) ++i;
  if (i == s.size()) return false;
  bool repaired = false;
  std::string r(s.substr(0, i));
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      r.push_back(s[i++]);
      continue;
    }
    const int len = utf8_sequence(s, i);
    if (len < 0) {
      r.append(k_replacement);
      i += static_cast<std::size_t>(-len);
      repaired = true;
    } else {
      r.append(s.substr(i, static_cast<std::size_t>(len)));
      i += static_cast<std::size_t>(len);
    }
  }
  if (repaired) out = std::move(r);
  return repaired;
}

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
