// ctxlog/detail/handoff.hpp — the hand-off helper every propagation adapter (pool.hpp,
// asio.hpp, tbb.hpp) runs work through: adapter_scope installs the context captured at the
// hand-off, marks the work as managed, then checks and restores; carried is a callable
// bound to a captured context. Not API, except ctxlog::origin.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <functional>
#include <type_traits>
#include <utility>

#include "ctxlog/context.hpp"

namespace ctxlog {
inline namespace v1 {

// Where a hand-off was made (file:line of the submit/post/run call), for the debug
// reports of the context-loss check. Filled in by the default argument at the call site.
// API (a parameter of thread_pool::submit, tbb::task_group::run, ...), unlike the rest of
// this header.
struct origin {
  const char* file;
  unsigned line;
  constexpr origin(const char* f = __builtin_FILE(), unsigned l = __builtin_LINE()) noexcept : file(f), line(l) {}
};

namespace detail {

// With the context-loss check on (set_context_loss_check), reports once per call site on
// stderr that work run by an adapter returned with a context other than the one the
// adapter installed: it called enter_with() or left a scope open, and without the
// adapter's restore that context would have leaked into the next task on the thread.
void report_unrestored(const char* adapter, origin where, const context& installed, const context& found) noexcept;

// The guard every adapter puts around work it runs for a captured context: installs the
// captured context, marks the thread as running managed work (for the "contextLost"
// flag), and on exit (also during unwinding) checks and restores the previous context.
// The captured context is borrowed (see thread_context): it must outlive the guard.
class adapter_scope {
 public:
  adapter_scope(const context& captured, const char* adapter, origin where) noexcept
      : installed_(captured), adapter_(adapter), where_(where), borrow_(captured), managed_(captured) {}
  ~adapter_scope() {
    if (context_loss_check()) {
      const context& now = current_slot().ctx;
      if (now != installed_) report_unrestored(adapter_, where_, installed_, now);
    }
  }
  adapter_scope(const adapter_scope&) = delete;
  adapter_scope& operator=(const adapter_scope&) = delete;

 private:
  const context& installed_;
  const char* adapter_;
  origin where_;
  borrow_scope borrow_;
  managed_scope managed_;
};

// f bound to a captured context: what carry(), async() and the thread helpers hand to the
// underlying executor. Callable as often as f is (lvalue calls keep f; an rvalue call
// moves it), with the arguments f accepts, so std::jthread still sees whether f takes a
// stop_token. Copyable when f is.
template <class F>
class carried {
 public:
  carried(context c, F f, const char* adapter, origin where)
      : ctx_(std::move(c)), f_(std::move(f)), adapter_(adapter), where_(where) {}

  template <class... A>
    requires std::is_invocable_v<F&, A...>
  decltype(auto) operator()(A&&... a) & {
    adapter_scope s(ctx_.get(), adapter_, where_);
    return std::invoke(f_, std::forward<A>(a)...);
  }
  template <class... A>
    requires std::is_invocable_v<const F&, A...>
  decltype(auto) operator()(A&&... a) const& {
    adapter_scope s(ctx_.get(), adapter_, where_);
    return std::invoke(f_, std::forward<A>(a)...);
  }
  template <class... A>
    requires std::is_invocable_v<F, A...>
  decltype(auto) operator()(A&&... a) && {
    adapter_scope s(ctx_.get(), adapter_, where_);
    return std::invoke(std::move(f_), std::forward<A>(a)...);
  }
  const context& captured() const noexcept { return ctx_.get(); }

 private:
  lent_context ctx_;  // borrowed by each call
  F f_;
  const char* adapter_;
  origin where_;
};

template <class F>
carried<std::decay_t<F>> make_carried(F&& f, const char* adapter, origin where) {
  return {snapshot(), std::forward<F>(f), adapter, where};
}

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
