// ctxlog/flight_recorder.hpp — full detail for the requests that fail, none of the volume
// for those that succeed.
//
// Inside a flight_recorder, the lines of the request that are below their logger's level
// (debug and trace, typically) are not thrown away: the back-end keeps them, per
// request, in a bounded buffer. When the request logs a line at the trigger level (error
// by default) or above, the kept lines are written first, in the order they were logged,
// each with "replayed":true, then the error line; from then on the request's detailed
// lines are written as they come. When the request ends without one (the recorder's
// scope closes), they are discarded. It is the per-request form of spdlog's and Quill's
// backtrace: the recorder follows the request's context onto pool threads, coroutines
// and spans, like every other context value.
//
// Memory is bounded twice: max_lines per request (the oldest kept line makes room for a
// new one) and config::flight_recorder_bytes over all requests (a line that would exceed
// it is not kept). Every line that is not written is counted: get_stats().discarded, and
// get_stats().held for the lines kept right now.
//
// Example (a request handler):
//   ctxlog::scope request{ctxlog::fields{}.request_id(id)};
//   ctxlog::flight_recorder recorder;          // debug/trace lines of this request are kept
//   LOG_DEBUG("parsed {} items", n);           // kept, not written
//   if (!ok) LOG_ERROR("payment failed");      // writes the kept debug line, then this one
//                                              // end of scope: kept lines discarded
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <utility>

#include "ctxlog/context.hpp"
#include "ctxlog/level.hpp"

namespace ctxlog {
inline namespace v1 {

struct flight_recorder_options {
  level keep = level::trace;      // lines at or above this level (and below their logger's) are kept
  level trigger = level::error;   // a line at or above this level writes what is kept
  std::uint32_t max_lines = 256;  // kept per request at most; the oldest goes first
};

namespace detail {
// What a recorder's context carries (a hidden storage<recorder_info>).
struct recorder_info {
  std::uint64_t id;
  level keep, trigger;
  std::uint32_t max_lines;
};
const recorder_info* recorder_of(const context& c) noexcept;
}  // namespace detail

// Starts recording the current request: the scope of a new context (the current one +
// the recorder), restored when the recorder is destroyed, which ends the recording and
// discards what is kept. Inside a request that is recorded already, a new recorder joins
// that one (one request, one recording). Not copyable or movable; create it on the stack
// of the code that owns the request, like ctxlog::scope.
class flight_recorder {
 public:
  explicit flight_recorder(flight_recorder_options options = {});
  ~flight_recorder();
  flight_recorder(const flight_recorder&) = delete;
  flight_recorder& operator=(const flight_recorder&) = delete;

  // Writes what is kept now, as a trigger line would, and every later detailed line of
  // the request as it comes (e.g. for a request answered with a 500 without an error
  // line). Thread-safe; from any thread.
  void dump() noexcept;
  // Whether this recorder joined the recording of an enclosing request.
  bool joined() const noexcept { return !scope_.has_value(); }

 private:
  std::uint64_t id_ = 0;
  std::optional<scope> scope_;
};

// Runs fn inside a flight_recorder; returns fn's result.
template <class F>
decltype(auto) with_flight_recorder(flight_recorder_options options, F&& fn) {
  flight_recorder recorder(options);
  return std::invoke(std::forward<F>(fn));
}
template <class F>
decltype(auto) with_flight_recorder(F&& fn) {
  return with_flight_recorder(flight_recorder_options{}, std::forward<F>(fn));
}

}  // namespace v1
}  // namespace ctxlog
