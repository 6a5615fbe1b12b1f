// ctxlog/config.hpp — configuring loggers and sinks in code, and the back-end's lifecycle.
//
// Until configure() is called, lines go to stdout at level info. configure() may be
// called again at any time to replace the configuration; shutdown() flushes and closes
// the sinks, after which log calls are counted as dropped and do nothing else.
//
// Example:
//   ctxlog::configure({
//       .sinks = {ctxlog::sinks::stdout_sink(), ctxlog::sinks::file_sink("app.log", ctxlog::level::warn)},
//       .min_level = ctxlog::level::debug,
//       .loggers = {{.name = "sql", .min_level = ctxlog::level::warn}},
//   });
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ctxlog/layout.hpp"
#include "ctxlog/level.hpp"
#include "ctxlog/level_spec.hpp"
#include "ctxlog/redact.hpp"
#include "ctxlog/sink.hpp"

namespace ctxlog {
inline namespace v1 {

// How records reach the sinks. async: the calling thread copies the record into its
// own lock-free queue and a back-end thread formats and writes it. sync: the calling
// thread formats and writes under a lock (tests, tiny programs).
enum class dispatch_mode { async, sync };

// What a full queue does to the calling thread in async mode.
enum class overflow_policy {
  block,  // wait for space: nothing is ever lost (the default)
  drop,   // never wait: the record is counted as dropped, and a line says how many
};

struct logger_config {
  std::string name{};
  level min_level = level::info;
  std::vector<sink_ptr> sinks{};  // empty: the configuration's default sinks
};

struct config {
  std::vector<sink_ptr> sinks{};  // the default sinks; empty: one stdout sink
  level min_level = level::info;  // of the default logger and every logger not listed below
  std::vector<logger_config> loggers{};
  dispatch_mode mode = dispatch_mode::async;
  // Async mode: each logging thread's queue starts with queue_initial_capacity bytes
  // (allocated on its first log call) and doubles when full, up to queue_capacity; only a
  // full queue of queue_capacity bytes blocks or drops (overflow). Freed when the thread
  // exits. docs/architecture.md#memory.
  std::size_t queue_capacity = 1u << 20;
  std::size_t queue_initial_capacity = 16u << 10;
  overflow_policy overflow = overflow_policy::block;
  // Write out queued records on SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL and
  // std::terminate, then chain to the previous handler.
  bool crash_handler = true;
  // Pin the back-end thread to this CPU (-1: let the OS place it). For benchmarks and
  // latency-critical services that reserve a core for logging.
  int backend_cpu = -1;
  // The layout of every sink that has none of its own (sink::set_layout); nullptr: the
  // JSON line layout with its default options.
  layout_ptr layout = nullptr;
  // Static facts every line may carry (service, version, environment, host): given once.
  process_info process{};
  // The environment variable holding a level spec ("info,orders=debug", see
  // level_spec.hpp), read by configure() (and at start-up, for the default
  // configuration). Its levels beat min_level and loggers[i].min_level, a name beating a
  // default (docs/logging.md#levels). "": the environment is not read. A bad value is
  // ignored as a whole, with one line on stderr.
  std::string level_env = "CTXLOG_LEVEL";
  // Field values replaced before any layout renders them (redact.hpp). No keys: none, and
  // no cost. A pattern that cannot match makes configure() throw std::invalid_argument.
  redact_options redact{};
  // The most bytes all flight recorders together keep (flight_recorder.hpp); a line that
  // would exceed it is discarded (counted in stats::discarded).
  std::size_t flight_recorder_bytes = std::size_t{16} << 20;
};

// Replaces the configuration. Thread-safe, also while other threads log: records logged
// before the call go to the old sinks, and no record is lost in block mode. Throws
// std::invalid_argument (from a layout or a redaction rule) when the configuration makes
// no sense; the old one then stays in force. Levels set at run time (set_level()) are
// replaced by those of the configuration and the environment.
void configure(config c);

// Returns once every line logged before the call has been handed to the sinks and the
// sinks have been flushed.
void flush();

// Flushes, then closes the sinks. Later log calls are counted as dropped. Idempotent.
void shutdown();

struct stats {
  std::uint64_t issued;       // log calls that passed the level check
  std::uint64_t written;      // records formatted and handed to the sinks
  std::uint64_t dropped;      // records given up (after shutdown, re-entrant calls, errors)
  std::uint64_t sink_errors;  // failed sink writes or flushes
  // Lines sinks took and then gave up: queued sinks (network destinations,
  // sinks/queued_sink.hpp: buffer full, refused, left at close) and fd sinks (stdout, files,
  // pipes, sinks/fd_sink.hpp: writes that failed); and the lines queued sinks hold now.
  std::uint64_t sink_dropped = 0;
  std::uint64_t sink_buffered = 0;
  // Lines flight recorders kept and then discarded (the request ended without failing,
  // max_lines or flight_recorder_bytes reached), and the lines they keep right now.
  std::uint64_t discarded = 0;
  std::uint64_t held = 0;
  // Calls not made into records by a sampled or rate-limited call site (sample.hpp).
  // Not part of issued: they never entered the pipeline.
  std::uint64_t suppressed = 0;
  // Bytes of the logging threads' queues right now (async mode; each grows from
  // config::queue_initial_capacity up to config::queue_capacity).
  std::uint64_t queue_bytes = 0;
};
// Counters since the program started. Once flush() returned:
//   issued == written + dropped + discarded + held.
stats get_stats() noexcept;

}  // namespace v1
}  // namespace ctxlog
