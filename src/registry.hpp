// src/registry.hpp — internal interface of the logger registry.
#pragma once

#include "ctxlog/config.hpp"
#include "ctxlog/log.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

// Sets the level of every logger, existing and future, from c.
void apply_levels(const config& c);

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
