// ctxlog/sinks/stdio.hpp — sinks for the process's standard output and standard error.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include "ctxlog/sink.hpp"

namespace ctxlog {
inline namespace v1 {
namespace sinks {

// Lines to file descriptor 1 / 2; the descriptor is not closed.
sink_ptr stdout_sink(level min_level = level::trace);
sink_ptr stderr_sink(level min_level = level::trace);

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
