// src/propagation/ids.hpp — id generation into caller buffers (no allocation), for the
// span scope and extract(); the string forms are in trace.hpp.
#pragma once

#include <cstdint>

namespace ctxlog {
inline namespace v1 {
namespace detail {

std::uint64_t random_u64() noexcept;  // per-thread xoshiro256**, fork-safe
void fill_trace_id(char* out) noexcept;  // 32 lower-case hex digits, not all zero
void fill_span_id(char* out) noexcept;   // 16 lower-case hex digits, not all zero
void fill_uuid_v7(char* out) noexcept;   // 36 characters

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
