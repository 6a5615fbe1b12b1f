// src/level_spec.cpp — parsing level specs ("info,orders=debug"), and reading one from
// the environment for the logger registry (registry.cpp) with a message on stderr when
// it is bad.
#include "ctxlog/level_spec.hpp"

#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "level_spec_env.hpp"

namespace ctxlog {
inline namespace v1 {
namespace {

constexpr bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {  // the message goes to a terminal: no raw control bytes
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

level parse_level_name(std::string_view name, std::string_view item) {
  std::string lower(name);
  for (char& c : lower)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  if (const auto l = parse_level(lower)) return *l;
  throw std::invalid_argument("unknown level " + quoted(name) + " in " + quoted(item) +
                              " (levels: off, trace, debug, info, warn, warning, error, critical)");
}

}  // namespace

level_spec parse_level_spec(std::string_view text) {
  level_spec spec;
  if (trim(text).empty()) return spec;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    const std::string_view raw = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    const std::string_view item = trim(raw);
    if (item.empty()) throw std::invalid_argument("empty item at offset " + std::to_string(start) + " (two commas, or one at an end)");
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      spec.default_level = parse_level_name(item, item);
    } else {
      const std::string_view name = trim(item.substr(0, eq));
      const std::string_view value = trim(item.substr(eq + 1));
      if (name.empty()) throw std::invalid_argument("empty logger name in " + quoted(item));
      if (value.find('=') != std::string_view::npos) throw std::invalid_argument("more than one '=' in " + quoted(item));
      if (value.empty()) throw std::invalid_argument("no level after '=' in " + quoted(item));
      for (const char c : name)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || is_space(c))
          throw std::invalid_argument("logger name " + quoted(name) + " holds whitespace or a control character");
      const level l = parse_level_name(value, item);
      bool replaced = false;  // the later item for a name wins, in the place of the first
      for (auto& [n, lv] : spec.loggers)
        if (n == name) lv = l, replaced = true;
      if (!replaced) spec.loggers.emplace_back(std::string(name), l);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return spec;
}

namespace detail {

std::optional<level_spec> read_level_env(const std::string& variable) {
  if (variable.empty()) return std::nullopt;
  const char* value = std::getenv(variable.c_str());
  if (!value) return std::nullopt;
  try {
    return parse_level_spec(value);
  } catch (const std::invalid_argument& e) {
    // One line per bad value: configure() may be called many times with the same one.
    static std::string last_reported;  // under the logger registry's lock (our only caller)
    std::string msg = "ctxlog: " + variable + "=" + quoted(value) + " ignored: " + e.what() +
                      "; the levels of the configuration apply\n";
    if (msg != last_reported) {
      [[maybe_unused]] const auto r = ::write(2, msg.data(), msg.size());
      last_reported = std::move(msg);
    }
    return std::nullopt;
  }
}

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
