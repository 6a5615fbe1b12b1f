// ctxlog/level.hpp — severity levels, shared by the front-end, the back-end and sinks.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace ctxlog {
inline namespace v1 {

enum class level : std::uint8_t { trace, debug, info, warn, error, critical, off };

// The name written in the "level" field: "trace" ... "critical" ("off" for off).
constexpr std::string_view to_string(level l) noexcept {
  constexpr std::string_view names[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  const auto i = static_cast<unsigned>(l);
  return i < 7 ? names[i] : std::string_view("off");
}

// Parses a level name as written by to_string (also "warning"); nullopt when unknown.
constexpr std::optional<level> parse_level(std::string_view s) noexcept {
  for (unsigned i = 0; i <= static_cast<unsigned>(level::off); ++i)
    if (to_string(static_cast<level>(i)) == s) return static_cast<level>(i);
  if (s == "warning") return level::warn;
  return std::nullopt;
}

}  // namespace v1
}  // namespace ctxlog
