// ctxlog/asio.hpp — the ambient context for asio handlers and coroutines.
//
// Header-only, and it names no asio type: include <asio.hpp> (standalone) or
// <boost/asio.hpp> first; the adapter is a template over the wrapped executor, so the
// same code serves both. An executor adapter carries a context; everything asio runs
// through it (post/dispatch/defer handlers, completions of operations on I/O objects
// created with it, each resumption of a co_spawn'ed awaitable) runs in that context.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <type_traits>
#include <utility>

#include "ctxlog/context.hpp"
#include "ctxlog/detail/handoff.hpp"

namespace ctxlog {
inline namespace v1 {
namespace asio {

#if !defined(ASIO_VERSION) && !defined(BOOST_ASIO_VERSION)
#error "include <asio.hpp> or <boost/asio.hpp> before <ctxlog/asio.hpp>"
#endif

// The asio customisation points of whichever asio flavours are included.
namespace detail_asio {
#if defined(ASIO_VERSION)
template <class E, class P>
auto query(const E& e, const P& p) noexcept(noexcept(::asio::query(e, p))) -> decltype(::asio::query(e, p)) {
  return ::asio::query(e, p);
}
template <class E, class P>
auto require(const E& e, const P& p) -> decltype(::asio::require(e, p)) {
  return ::asio::require(e, p);
}
template <class E, class P>
auto prefer(const E& e, const P& p) -> decltype(::asio::prefer(e, p)) {
  return ::asio::prefer(e, p);
}
template <class E, class F>
auto execute(const E& e, F&& f) -> decltype(::asio::execution::execute(e, std::forward<F>(f))) {
  return ::asio::execution::execute(e, std::forward<F>(f));
}
#endif
#if defined(BOOST_ASIO_VERSION)
template <class E, class P>
auto query(const E& e, const P& p) noexcept(noexcept(::boost::asio::query(e, p)))
    -> decltype(::boost::asio::query(e, p)) {
  return ::boost::asio::query(e, p);
}
template <class E, class P>
auto require(const E& e, const P& p) -> decltype(::boost::asio::require(e, p)) {
  return ::boost::asio::require(e, p);
}
template <class E, class P>
auto prefer(const E& e, const P& p) -> decltype(::boost::asio::prefer(e, p)) {
  return ::boost::asio::prefer(e, p);
}
template <class E, class F>
auto execute(const E& e, F&& f) -> decltype(::boost::asio::execution::execute(e, std::forward<F>(f))) {
  return ::boost::asio::execution::execute(e, std::forward<F>(f));
}
#endif
}  // namespace detail_asio

// An asio executor that runs every function it is given in a fixed context (the one
// current when it was made), then restores the running thread's own. It forwards
// query/require/prefer to the inner executor and keeps its context through require and
// prefer, so it converts to any_io_executor and works with co_spawn, timers and sockets.
//
// Captured: the context at wrap() (or the one passed in), once.
// Restored: around each function asio executes through it, on any io thread, also when
// the function throws (the exception then continues into io_context::run as usual).
//
// Example:
//   ctxlog::run(ctxlog::fields{}.request_id(id), [&] {
//     auto ex = ctxlog::asio::wrap(io.get_executor());
//     asio::post(ex, [] { LOG_INFO("in the request"); });
//     asio::co_spawn(ex, handle_request(), asio::detached);  // every resume: same context
//   });
template <class Inner>
class context_executor {
 public:
  context_executor(Inner inner, context ctx) noexcept(std::is_nothrow_move_constructible_v<Inner>)
      : inner_(std::move(inner)), ctx_(std::move(ctx)) {}

  template <class F>
  void execute(F&& f) const {
    detail_asio::execute(inner_, detail::carried<std::decay_t<F>>(ctx_, std::forward<F>(f), "asio executor", origin{nullptr, 0}));
  }

  // Properties go through the asio customisation points (the inner executor's members
  // may be private); a property the inner executor lacks removes the overload.
  template <class P, class I = Inner>
  auto query(const P& p) const noexcept(noexcept(detail_asio::query(std::declval<const I&>(), p)))
      -> decltype(detail_asio::query(std::declval<const I&>(), p)) {
    return detail_asio::query(inner_, p);
  }
  template <class P, class I = Inner>
  auto require(const P& p) const
      -> context_executor<std::decay_t<decltype(detail_asio::require(std::declval<const I&>(), p))>> {
    return {detail_asio::require(inner_, p), ctx_};
  }
  template <class P, class I = Inner>
  auto prefer(const P& p) const
      -> context_executor<std::decay_t<decltype(detail_asio::prefer(std::declval<const I&>(), p))>> {
    return {detail_asio::prefer(inner_, p), ctx_};
  }

  friend bool operator==(const context_executor& a, const context_executor& b) noexcept {
    return a.inner_ == b.inner_ && a.ctx_ == b.ctx_;
  }
  friend bool operator!=(const context_executor& a, const context_executor& b) noexcept { return !(a == b); }

  const Inner& inner() const noexcept { return inner_; }
  const context& captured() const noexcept { return ctx_; }

 private:
  Inner inner_;
  context ctx_;
};

template <class E>
inline constexpr bool is_context_executor_v = false;
template <class I>
inline constexpr bool is_context_executor_v<context_executor<I>> = true;

// An executor that runs everything in the calling code's current context.
template <class Executor>
  requires(!is_context_executor_v<std::decay_t<Executor>>)
context_executor<std::decay_t<Executor>> wrap(Executor&& ex) {
  return {std::forward<Executor>(ex), snapshot()};
}
// An executor that runs everything in c.
template <class Executor>
  requires(!is_context_executor_v<std::decay_t<Executor>>)
context_executor<std::decay_t<Executor>> wrap(Executor&& ex, context c) {
  return {std::forward<Executor>(ex), std::move(c)};
}
// Unwrapping an already wrapped executor first, so that contexts never nest.
template <class Inner>
context_executor<Inner> wrap(const context_executor<Inner>& ex) {
  return {ex.inner(), snapshot()};
}
template <class Inner>
context_executor<Inner> wrap(const context_executor<Inner>& ex, context c) {
  return {ex.inner(), std::move(c)};
}

// For a single completion handler instead of a whole executor: ctxlog::bind(handler)
// captures at the call that starts the operation, e.g.
//   timer.async_wait(ctxlog::bind([](auto ec) { LOG_INFO("fired"); }));
// (its associated executor is then the I/O object's).

}  // namespace asio
}  // namespace v1
}  // namespace ctxlog
