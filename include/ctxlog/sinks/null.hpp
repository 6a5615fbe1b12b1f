// ctxlog/sinks/null.hpp — a sink that discards every line (for benchmarks and tests of
// everything but the output).
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <memory>

#include "ctxlog/sink.hpp"

namespace ctxlog {
inline namespace v1 {
namespace sinks {

class discard_sink final : public sink {
 public:
  using sink::sink;
  void write(const log_line&) override {}
};

inline sink_ptr null_sink(level min_level = level::trace) { return std::make_shared<discard_sink>(min_level); }

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
