// ctxlog/bind.hpp — callables that carry a captured context: bind() and async_resource.
//
// Captured: the current context, when bind() is called or the async_resource is made.
// Restored: around each call, on any thread; the caller's context is back afterwards,
// also when the call throws. Part of the context store: knows nothing about logging.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <functional>
#include <type_traits>
#include <utility>

#include "ctxlog/context.hpp"

namespace ctxlog {
inline namespace v1 {

// A callable that runs f in the context that was current when bind() was called, then
// restores the caller's. Works with move-only callables; the result is as copyable as f.
// A call borrows the captured context (no reference count traffic; see
// detail::thread_context): it costs two thread-local accesses.
template <class F>
class bound_fn {
 public:
  bound_fn(context c, F f) : ctx_(std::move(c)), f_(std::move(f)) {}
  template <class... A>
  decltype(auto) operator()(A&&... a) & {
    detail::borrow_scope s(ctx_.get());
    detail::managed_scope m(ctx_.get());
    return std::invoke(f_, std::forward<A>(a)...);
  }
  template <class... A>
  decltype(auto) operator()(A&&... a) const& {
    detail::borrow_scope s(ctx_.get());
    detail::managed_scope m(ctx_.get());
    return std::invoke(f_, std::forward<A>(a)...);
  }
  template <class... A>
  decltype(auto) operator()(A&&... a) && {
    detail::borrow_scope s(ctx_.get());
    detail::managed_scope m(ctx_.get());
    return std::invoke(std::move(f_), std::forward<A>(a)...);
  }
  const context& captured() const noexcept { return ctx_.get(); }

 private:
  detail::lent_context ctx_;
  F f_;
};

// Binds f to the current context (see bound_fn). Thread-safe.
//
// Example:
//   queue.push(ctxlog::bind([] { LOG_INFO("runs in the request that queued it"); }));
template <class F>
bound_fn<std::decay_t<F>> bind(F&& f) {
  return {snapshot(), std::forward<F>(f)};
}

// Like Node's AsyncResource: captures the context at construction, and run_in_scope(fn)
// later runs fn in it from any thread. For library authors whose callbacks are invoked
// from their own threads or queues.
class async_resource {
 public:
  async_resource() noexcept : ctx_(snapshot()) {}
  explicit async_resource(context c) noexcept : ctx_(std::move(c)) {}
  template <class F, class... A>
  decltype(auto) run_in_scope(F&& fn, A&&... a) const {
    detail::borrow_scope s(ctx_.get());
    detail::managed_scope m(ctx_.get());
    return std::invoke(std::forward<F>(fn), std::forward<A>(a)...);
  }
  const context& captured() const noexcept { return ctx_.get(); }

 private:
  detail::lent_context ctx_;
};

}  // namespace v1
}  // namespace ctxlog
