// ctxlog/sink.hpp — the narrow interface every sink implements.
//
// The back-end hands each sink finished lines: one JSON object followed by '\n'. A sink
// only stores bytes; it never formats. write() and flush() are called by one thread at a
// time (the back-end thread, or in synchronous mode the logging thread holding the
// dispatch lock), so a sink needs no locking of its own.
#pragma once

#include <atomic>
#include <memory>
#include <string_view>

#include "ctxlog/level.hpp"

namespace ctxlog {
inline namespace v1 {

struct log_line {
  level severity;
  std::string_view logger;  // the logger's name
  std::string_view json;    // one complete JSON object and its trailing '\n'
};

class sink {
 public:
  explicit sink(level min_level = level::trace) noexcept : min_level_(min_level) {}
  virtual ~sink() = default;
  sink(const sink&) = delete;
  sink& operator=(const sink&) = delete;

  // Takes one line. May buffer it. May throw: the back-end counts the error, reports it
  // (rate-limited) on stderr and goes on with the other sinks.
  virtual void write(const log_line& line) = 0;
  // Pushes out what write() buffered. Called after each batch and by ctxlog::flush().
  virtual void flush() {}

  // Lines below this level are not given to this sink. Thread-safe.
  level min_level() const noexcept { return min_level_.load(std::memory_order_relaxed); }
  void set_min_level(level l) noexcept { min_level_.store(l, std::memory_order_relaxed); }

 private:
  std::atomic<level> min_level_;
};

using sink_ptr = std::shared_ptr<sink>;

}  // namespace v1
}  // namespace ctxlog
