// sinks/stdio.cpp — stdout and stderr.
#include "ctxlog/sinks/stdio.hpp"

#include "ctxlog/sinks/fd_sink.hpp"

namespace ctxlog {
inline namespace v1 {
namespace sinks {

sink_ptr stdout_sink(level min_level) { return std::make_shared<fd_sink>(1, fd_sink::ownership::borrowed, min_level); }
sink_ptr stderr_sink(level min_level) { return std::make_shared<fd_sink>(2, fd_sink::ownership::borrowed, min_level); }

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
