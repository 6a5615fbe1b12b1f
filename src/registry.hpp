// src/registry.hpp — internal interface of the logger registry.
#pragma once

#include <mutex>

#include "ctxlog/config.hpp"
#include "ctxlog/log.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

// Sets the level of every logger, existing and future, from c.
void apply_levels(const config& c);

// The registry's lock (a leaf: nothing is taken while holding it), for fork().
std::mutex& logger_registry_mutex() noexcept;

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
