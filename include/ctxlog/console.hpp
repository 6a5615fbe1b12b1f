// ctxlog/console.hpp — the console layout: one readable line per record for a developer's
// terminal, instead of JSON (docs/console.md).
//
//   12:04:05.123 INFO  [orders] order 42 created amount=12.5 sku=A-7 | req=r-1 tenant=acme trace=4bf92f35 span=00f067aa
//
// Level, time, logger, message, the kv() fields as key=value, then the context after a
// '|'. Control characters in any of them are escaped (no terminal escape sequence comes
// from log data) and a multi-line message or value continues on indented lines, so no
// data can pose as a record of its own. Colour: see console_color.
//
// Example:
//   auto out = ctxlog::sinks::stderr_sink();
//   out->set_layout(ctxlog::console_layout({.time = ctxlog::console_time::utc}));
//   ctxlog::configure({.sinks = {out}});
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <cstddef>

#include "ctxlog/layout.hpp"

namespace ctxlog {
inline namespace v1 {

enum class console_color {
  // Colour for a sink that writes to a terminal (stdout_sink(), stderr_sink(), an
  // fd_sink whose descriptor isatty() when configure() installs it), unless the
  // environment variable NO_COLOR is set to a non-empty value (https://no-color.org);
  // no colour for every other sink, and when render() is called outside configure().
  automatic,
  always,  // ANSI colours whatever the sink and the environment (a --color=always flag)
  never,
};

enum class console_time {
  local,  // the local time zone (localtime_r): 12:04:05.123
  utc,    // UTC, marked with a Z: 12:04:05.123Z
  none,   // no time at all (tests, output piped into a tool that stamps lines)
};

struct console_options {
  console_color color = console_color::automatic;
  console_time time = console_time::local;
  bool date = false;                                    // YYYY-MM-DD before the time
  time_precision precision = time_precision::ms;        // digits of the second's fraction
  bool logger = true;                                   // [name], except for the default logger
  bool source = false;                                  // file:line at the end
  bool thread = false;                                  // thread=<tid> at the end
  std::size_t id_chars = 8;                             // digits of traceId / spanId shown (0: all)
};

// The console layout. Works with any sink: sink->set_layout(ctxlog::console_layout()).
// Thread-safety as for every layout (render() is called by one thread at a time).
layout_ptr console_layout(console_options options = {});

}  // namespace v1
}  // namespace ctxlog
