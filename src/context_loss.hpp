// src/context_loss.hpp — the back-end's side of the context-loss check (context_loss.cpp).
#pragma once

#include <cstdint>
#include <string_view>

namespace ctxlog {
inline namespace v1 {
namespace detail {

// Reports on stderr, once per call site, that the log call at file:line ran with an empty
// context inside managed work (its line carries "contextLost":true). Thread-safe.
void report_context_loss(std::string_view file, std::uint32_t line) noexcept;

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
