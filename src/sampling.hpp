// src/sampling.hpp — what the back-end and get_stats() need of the sampled and limited
// call sites (ctxlog/sample.hpp, src/sampling.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "ctxlog/sample.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

// Calls suppressed by every sampler and limiter, since the start.
std::uint64_t suppressed_total() noexcept;

// Writes one summary line: `count` calls of l's site (and key, empty for none) suppressed.
using summary_writer = std::function<void(const limiter& l, const logger& source, std::uint64_t count, std::string_view key)>;
// Back-end, under the router lock: a summary line for every limiter (and key) whose
// window with suppressed calls has closed; all: also those whose window is still open
// (shutdown). Cheap when nothing was suppressed since the last call.
void report_suppressed(bool all, const summary_writer& write);

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
