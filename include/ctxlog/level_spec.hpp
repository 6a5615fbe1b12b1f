// ctxlog/level_spec.hpp — level specs such as "info,orders=debug,sql=warn": a default
// level and per-logger levels in one string, as the CTXLOG_LEVEL environment variable
// holds them (read by configure(), see config::level_env and docs/logging.md#levels).
//
// Example:
//   const ctxlog::level_spec s = ctxlog::parse_level_spec("info, orders=debug, sql=warn");
//   // s.default_level == level::info; s.loggers == {{"orders", debug}, {"sql", warn}}
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctxlog/level.hpp"

namespace ctxlog {
inline namespace v1 {

struct level_spec {
  std::optional<level> default_level{};                // the item without a name, if any
  std::vector<std::pair<std::string, level>> loggers{};  // name=level items, in order
};

// Parses a comma-separated list of items, each a level ("info") or a logger name, '=' and
// a level ("orders=debug"). Levels: off, trace, debug, info, warn (or warning), error,
// critical, in any letter case. Whitespace around items, names and levels is ignored; a
// whitespace-only text is the empty spec. Of two items for one logger (or two defaults)
// the later wins. Throws std::invalid_argument naming the bad item (an unknown level, an
// empty name, an empty item, a stray '='). Thread-safe (no shared state).
level_spec parse_level_spec(std::string_view text);

}  // namespace v1
}  // namespace ctxlog
