// src/propagation/text.hpp — character classes and list splitting for the header parsers.
#pragma once

#include <cstdint>
#include <string_view>

namespace ctxlog {
inline namespace v1 {
namespace detail::header_text {

constexpr bool is_lcalpha(char c) noexcept { return c >= 'a' && c <= 'z'; }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_lower_hex(char c) noexcept { return is_digit(c) || (c >= 'a' && c <= 'f'); }

constexpr bool all_lower_hex(std::string_view s) noexcept {
  for (char c : s)
    if (!is_lower_hex(c)) return false;
  return true;
}
constexpr bool all_zero(std::string_view s) noexcept { return s.find_first_not_of('0') == std::string_view::npos; }

constexpr int hex_value(char c) noexcept {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
// Two hex digits already checked.
constexpr std::uint8_t hex_byte(std::string_view two) noexcept {
  return static_cast<std::uint8_t>(hex_value(two[0]) * 16 + hex_value(two[1]));
}

// RFC 7230 OWS: spaces and horizontal tabs.
constexpr std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 7230 tchar / token.
constexpr bool is_tchar(char c) noexcept {
  if (is_lcalpha(c) || (c >= 'A' && c <= 'Z') || is_digit(c)) return true;
  for (char t : std::string_view("!#$%&'*+-.^_`|~"))
    if (c == t) return true;
  return false;
}
constexpr bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

// Calls f with each part of s between separators (empty parts included).
template <class F>
void for_each_member(std::string_view s, char sep, F&& f) {
  std::size_t pos = 0;
  while (true) {
    const auto end = s.find(sep, pos);
    f(s.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    if (end == std::string_view::npos) return;
    pos = end + 1;
  }
}

}  // namespace detail::header_text
}  // namespace v1
}  // namespace ctxlog
