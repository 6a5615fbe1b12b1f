// src/sink_router.hpp — the last stage: a record -> its view -> each layout once -> sinks.
//
// Everything here runs under lock(), held by the back-end thread for a pass, or by a
// logging thread in synchronous mode. It owns the sinks, the per-logger routes and the
// layouts they use, the wall clock, and counts what it wrote and every sink error
// (reported on stderr at most once per interval).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "clock.hpp"
#include "flight_store.hpp"
#include "ctxlog/config.hpp"
#include "ctxlog/log.hpp"
#include "redaction.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

// The sinks of one route and, for each, which of the router's layouts renders for it.
struct route {
  struct target {
    sink_ptr sink;
    std::size_t layout;
  };
  std::vector<target> targets;
};

// A configuration turned into routes, made before the lock is taken (may throw).
struct routing {
  route defaults;
  std::unordered_map<const logger*, route> by_logger;
  std::vector<layout_ptr> layouts;  // distinct, each once
  std::unique_ptr<process_info> process;
  std::unique_ptr<redactor> redact;  // nullptr: no rule, and no cost
  std::size_t recorder_bytes = std::size_t{16} << 20;  // config::flight_recorder_bytes
};
routing make_routing(config& c);

// Lines sinks took and gave up, and lines queued sinks hold, summed over every sink, for
// get_stats(): queued sinks (sinks/queued_sink.cpp) count both, fd sinks
// (sinks/fd_sink.cpp) the lines whose writes failed.
struct sink_line_counts {
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<std::uint64_t> buffered{0};
};
extern sink_line_counts sink_line_totals;
// fork(): the back-end's handlers call these after taking the router's lock (the lock
// order is router, the queued sinks' list, each queued sink), and before releasing it.
void queued_sinks_prepare_fork();
void queued_sinks_after_fork(bool child);

class sink_router {
 public:
  std::unique_lock<std::mutex> lock() { return std::unique_lock<std::mutex>(mu_); }
  std::mutex& mutex() noexcept { return mu_; }

  // --- under lock() ---
  // Configures the new layouts with the new process facts and installs the routes
  // after flushing the old sinks. When a layout rejects the configuration
  // (std::invalid_argument), the old one stays in force and the exception propagates.
  void install(routing r);
  void close();  // flushes, then drops every sink
  bool closed() const noexcept { return closed_; }
  // Formats the record and hands each of its logger's sinks the line of that sink's
  // layout (they may buffer it). With redaction rules, the layouts see the record's
  // per-call fields and context redacted.
  // A held record is kept by its request's flight recorder (flight_store.hpp) or, once
  // that request failed, written; a line at a recorder's trigger level writes what the
  // recorder kept first; a recorder's signal goes to the store. See flight_recorder.hpp.
  void write(const std::byte* rec, const context& ctx, bool context_lost, std::uint32_t thread);
  // A recorder's signal that could not go through its thread's queue (drop mode, full).
  void signal(record_kind kind, std::uint64_t id, const context& ctx);
  flight_store& recorders() noexcept { return recorders_; }
  // A line from ctxlog itself ("N records dropped", with key: value) to the default sinks.
  void notice(level severity, std::string_view msg, std::string_view key, std::uint64_t value, std::uint32_t thread);
  // Summary lines of the limited call sites whose windows with suppressed calls have
  // closed (all: every one with suppressed calls not reported yet). See sample.hpp.
  void report_suppressed(bool all);
  // Flushes the sinks if any line was written since the last flush (or if forced).
  void flush_sinks(bool force = false);

  std::atomic<std::uint64_t> written{0};
  std::atomic<std::uint64_t> sink_errors{0};

  // fork(): the child's counters start from zero.
  void reset_counts_in_child() noexcept;

 private:
  void ensure_configured();
  void deliver(const route& r, const record_view& view);
  void sink_failed(const char* what) noexcept;
  void write_line(const std::byte* rec, const context& ctx, bool context_lost, std::uint32_t thread);

  std::mutex mu_;
  routing routing_;
  flight_store recorders_;
  std::vector<buffer> lines_;          // per layout: the current record's line
  std::vector<unsigned char> state_;   // per layout: 0 not rendered, 1 rendered, 2 failed
  bool wrote_ = false;  // a line went to a sink since the last flush_sinks()
  wall_clock clock_;
  buffer message_;
  bool configured_ = false;
  bool closed_ = false;
  std::chrono::steady_clock::time_point last_report_{};
  std::uint64_t unreported_ = 0;
};

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
