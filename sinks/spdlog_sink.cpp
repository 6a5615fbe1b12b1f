// sinks/spdlog_sink.cpp — the bridge from ctxlog's finished JSON lines to spdlog sinks.
// Built as its own library (ctxlog_spdlog) only when meson finds spdlog.
#include "ctxlog/sinks/spdlog_sink.hpp"

#include <spdlog/details/log_msg.h>

#include <stdexcept>
#include <string_view>

#include "write_signal_guard.hpp"

namespace ctxlog {
inline namespace v1 {
namespace sinks {

spdlog::level::level_enum to_spdlog_level(level l) noexcept {
  switch (l) {
    case level::trace: return spdlog::level::trace;
    case level::debug: return spdlog::level::debug;
    case level::info: return spdlog::level::info;
    case level::warn: return spdlog::level::warn;
    case level::error: return spdlog::level::err;
    case level::critical: return spdlog::level::critical;
    case level::off: break;
  }
  return spdlog::level::off;
}

spdlog_sink::spdlog_sink(std::shared_ptr<spdlog::sinks::sink> target, level min_level, spdlog_pattern pattern)
    : sink(min_level), target_(std::move(target)) {
  if (!target_) throw std::invalid_argument("ctxlog: spdlog_sink needs a spdlog sink");
  if (pattern == spdlog_pattern::json_only) target_->set_pattern("%v");
}

void spdlog_sink::write(const log_line& line) {
  const auto lvl = to_spdlog_level(line.severity);
  if (!target_->should_log(lvl)) return;
  std::string_view body = line.text;
  if (!body.empty() && body.back() == '\n') body.remove_suffix(1);  // spdlog adds its own eol
  const spdlog::details::log_msg msg(spdlog::source_loc{}, spdlog::string_view_t(line.logger.data(), line.logger.size()),
                                     lvl, spdlog::string_view_t(body.data(), body.size()));
  detail::write_signal_guard guard;
  try {
    target_->log(msg);
  } catch (...) {
    guard.saw_error();  // spdlog keeps errno only as text: discard a SIGPIPE/SIGXFSZ if one is pending
    throw;
  }
}

void spdlog_sink::flush() {
  detail::write_signal_guard guard;
  try {
    target_->flush();
  } catch (...) {
    guard.saw_error();
    throw;
  }
}

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
