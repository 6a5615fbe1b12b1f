// src/dispatch.hpp — the last stage: record -> JSON line -> the sinks of its logger.
//
// Everything here runs under the dispatch lock (lock()), held by the back-end thread for
// a batch, or by a logging thread for one record in synchronous mode. It owns the sinks,
// the per-logger routes, the line formatter and the wall clock, and counts what it wrote
// and every sink error (reported on stderr at most once per interval).
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "clock.hpp"
#include "ctxlog/config.hpp"
#include "line_format.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

class dispatch {
 public:
  std::unique_lock<std::mutex> lock() { return std::unique_lock<std::mutex>(mu_); }

  // --- under lock() ---
  void install(std::vector<sink_ptr> defaults,
               std::unordered_map<const logger*, std::vector<sink_ptr>> routes);  // flushes the old sinks first
  void close();  // flushes, then drops every sink
  bool closed() const noexcept { return closed_; }
  // Formats the record and hands the line to its logger's sinks (they may buffer it).
  void write(const std::byte* rec, const frame* ctx, bool context_lost, std::uint32_t thread);
  // Writes a notice line from ctxlog itself ("N records dropped") to the default sinks.
  void notice(level severity, std::string_view msg, std::string_view key, std::uint64_t value, std::uint32_t thread);
  // Flushes the sinks if any line was written since the last flush (or if forced).
  void flush_sinks(bool force = false);

  std::atomic<std::uint64_t> written{0};
  std::atomic<std::uint64_t> sink_errors{0};

 private:
  void ensure_sinks();
  void deliver(const std::vector<sink_ptr>& sinks, const log_line& line);
  void sink_failed(const char* what) noexcept;

  std::mutex mu_;
  std::vector<sink_ptr> defaults_;
  std::unordered_map<const logger*, std::vector<sink_ptr>> routes_;
  bool wrote_ = false;  // a line went to a sink since the last flush_sinks()
  line_formatter formatter_;
  wall_clock clock_;
  line_buffer line_;
  bool configured_ = false;
  bool closed_ = false;
  std::chrono::steady_clock::time_point last_report_{};
  std::uint64_t unreported_ = 0;
};

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
