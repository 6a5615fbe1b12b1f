// src/level_spec_env.hpp — the level spec of an environment variable, for the registry.
#pragma once

#include <optional>
#include <string>

#include "ctxlog/level_spec.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

// The spec held by the environment variable `variable`; nullopt when the name is empty,
// the variable is unset, or its value is bad (then one line on stderr says why, once
// per distinct value). Called under the logger registry's lock.
std::optional<level_spec> read_level_env(const std::string& variable);

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
