// ctxlog/sink.hpp — the narrow interface every sink implements.
//
// The back-end hands each sink finished lines, rendered by the sink's layout (layout.hpp;
// by default the JSON line layout: one JSON object followed by '\n'). A sink only stores
// bytes; it never formats. write() and flush() are called by one thread at a time (the
// back-end thread, or in synchronous mode the logging thread holding the back-end's
// lock), so a sink needs no locking of its own.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <atomic>
#include <memory>
#include <string_view>
#include <utility>

#include "ctxlog/level.hpp"

namespace ctxlog {
inline namespace v1 {

class layout;

struct log_line {
  level severity;
  std::string_view logger;  // the logger's name
  std::string_view text;    // the line as the sink's layout rendered it, terminator included
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

  // The layout that renders this sink's lines; nullptr (the default): the configuration's
  // layout (config::layout, else the JSON line). Read by configure(): set it before.
  const std::shared_ptr<layout>& get_layout() const noexcept { return layout_; }
  void set_layout(std::shared_ptr<layout> l) noexcept { layout_ = std::move(l); }

 private:
  std::atomic<level> min_level_;
  std::shared_ptr<layout> layout_;
};

using sink_ptr = std::shared_ptr<sink>;

}  // namespace v1
}  // namespace ctxlog
