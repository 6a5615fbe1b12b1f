// ctxlog/sinks/spdlog_sink.hpp — hands ctxlog's JSON lines to any spdlog sink, so that
// spdlog's daily, syslog, rotating ... sinks can be reused. Its own library: link
// ctxlog_spdlog_dep (meson, built when spdlog is found) or ctxlog-spdlog (pkg-config);
// the core library does not depend on spdlog.
//
// Example:
//   auto daily = std::make_shared<spdlog::sinks::daily_file_sink_mt>("logs/orders.log", 0, 0);
//   ctxlog::configure({.sinks = {ctxlog::sinks::to_spdlog(daily)}});
//   // logs/orders_2026-11-22.log: one JSON object per line
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <memory>

#include <spdlog/sinks/sink.h>

#include "ctxlog/sink.hpp"

namespace ctxlog {
inline namespace v1 {
namespace sinks {

// What the bridge does to the spdlog sink's formatter when it is made.
enum class spdlog_pattern {
  json_only,  // set_pattern("%v"): each line is ctxlog's JSON object plus spdlog's eol
  keep,       // leave it: the JSON object is spdlog's %v (message) in the sink's own pattern
};

// spdlog's level for a ctxlog level (error -> err; the others have the same name).
spdlog::level::level_enum to_spdlog_level(level l) noexcept;

// Gives each line, without ctxlog's '\n', to target->log() as the message of a log_msg
// with the mapped level, the ctxlog logger's name and the current time; lines below the
// target's own level (target->should_log) are skipped. flush() flushes the target.
// Errors of the target (spdlog_ex: disk full, reader gone) propagate as exceptions, which
// the back-end counts and reports; SIGPIPE is blocked around the calls so a closed pipe
// cannot kill the process. Thread-safety: as every sink; the target may also be shared
// with spdlog loggers if it is one of spdlog's *_mt sinks.
class spdlog_sink final : public sink {
 public:
  // Throws std::invalid_argument when target is null.
  explicit spdlog_sink(std::shared_ptr<spdlog::sinks::sink> target, level min_level = level::trace,
                       spdlog_pattern pattern = spdlog_pattern::json_only);

  void write(const log_line& line) override;
  void flush() override;

  const std::shared_ptr<spdlog::sinks::sink>& target() const noexcept { return target_; }

 private:
  std::shared_ptr<spdlog::sinks::sink> target_;
};

inline std::shared_ptr<spdlog_sink> to_spdlog(std::shared_ptr<spdlog::sinks::sink> target,
                                              level min_level = level::trace,
                                              spdlog_pattern pattern = spdlog_pattern::json_only) {
  return std::make_shared<spdlog_sink>(std::move(target), min_level, pattern);
}

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
