// ctxlog/span.hpp — spans: a child of the current span per operation, one line at its end.
//
// A span is a context: opening one installs a context with a new spanId whose
// parentSpanId is the span that was current (and a new trace when there was none), so
// every line logged inside it, and everything it hands work to (pool tasks, coroutines,
// outbound calls through inject()), carries it. Its end writes one line with the span's
// name, kind, start, duration and outcome, so a trace can be rebuilt from the log alone:
//
//   {"msg":"span charge ok in 2.114 ms","traceId":"...","spanId":"<this span>",
//    "parentSpanId":"<its parent>",...,"span":"charge","spanKind":"internal",
//    "startUnixNano":1764633600123456789,"durationNs":2114000,"outcome":"ok"}
//
// and, when an exception passed through it, "outcome":"error","errorType":"<dynamic type>",
// "errorMessage":"<what()>".
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "ctxlog/context.hpp"
#include "ctxlog/coro.hpp"
#include "ctxlog/level.hpp"

namespace ctxlog {
inline namespace v1 {

class logger;

namespace detail {
// The dynamic type (demangled) and what() of a non-null e; what() is "" for a type that
// is not a std::exception. Shared by spans, spawn() and the HTTP middleware.
std::pair<std::string, std::string> describe_exception(std::exception_ptr e);
}  // namespace detail

enum class span_kind : std::uint8_t { internal, server, client, producer, consumer };
std::string_view to_string(span_kind k) noexcept;

struct span_options {
  span_kind kind = span_kind::internal;
  // Where the end line goes; nullptr: the logger named "span" (get_logger("span")).
  const logger* log = nullptr;
  // The end line's level; an error outcome is written at error level or above.
  level end_level = level::info;
};

// An RAII span. Not copyable or movable: its context is installed for exactly its scope
// (in a ctxlog::task body it lasts across co_await, like any scope).
//
// Example:
//   void charge(const order& o) {
//     ctxlog::span s("charge");
//     LOG_INFO("charging {}", o.id);     // carries the span's spanId
//   }                                     // -> "span charge ok in ... ms"
class span {
 public:
  explicit span(std::string_view name, span_options o = {});
  ~span();
  span(const span&) = delete;
  span& operator=(const span&) = delete;

  // Marks the outcome as error. The exception forms record its dynamic type (demangled)
  // and what() (for a std::exception). A span left by an exception it was not told about
  // still ends with outcome error ("errorType":"unknown"): a destructor cannot see the
  // exception in flight. in_span() tells it.
  void fail(std::string_view type, std::string_view message);
  void fail(const std::exception& e);
  void fail(std::exception_ptr e);

  std::string_view name() const noexcept { return name_; }
  std::string_view span_id() const noexcept;
  const context& ctx() const noexcept { return ctx_; }

 private:
  std::string name_;
  span_options opts_;
  context ctx_;
  scope scope_;
  std::uint64_t start_mono_;    // steady clock; startUnixNano is derived at the end
  int unwinding_;               // std::uncaught_exceptions() at the start
  bool failed_ = false;
  std::string error_type_;
  std::string error_message_;
};

// Runs fn inside a span named name; an exception escaping fn is recorded (type and
// message) and rethrown.
//
// Example:
//   auto total = ctxlog::in_span("price order", [&] { return price(o); });
template <class F>
  requires std::invocable<F&>
decltype(auto) in_span(std::string_view name, F&& fn, span_options o = {}) {
  span s(name, o);
  try {
    return std::invoke(std::forward<F>(fn));
  } catch (...) {
    s.fail(std::current_exception());
    throw;
  }
}

// A task that runs t inside a span named name (for coroutines: the span opens when the
// returned task starts and ends when t finishes, on whatever thread that is).
//
// Example:
//   co_await ctxlog::in_span("reserve stock", reserve(order));
template <class T>
task<T> in_span(std::string name, task<T> t, span_options o = {}) {
  span s(name, o);
  t.start_in(snapshot());  // t was created outside the span: it starts inside it
  try {
    co_return co_await std::move(t);
  } catch (...) {
    s.fail(std::current_exception());
    throw;
  }
}

}  // namespace v1
}  // namespace ctxlog
