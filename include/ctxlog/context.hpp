// ctxlog/context.hpp — the ambient request context, C++'s AsyncLocalStorage: the context
// value (fields, context: an immutable, reference-counted frame), each thread's current
// one and the ways to change it (scope, run, exit, enter_with, disable). Knows nothing
// about logging. bind.hpp and storage.hpp build on it; it includes them at its end.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <concepts>
#include <cstdint>
#include <forward_list>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "ctxlog/detail/frame.hpp"
#include "ctxlog/detail/lifetime.hpp"
#include "ctxlog/field.hpp"

namespace ctxlog {
inline namespace v1 {

namespace detail {
struct fields_access;
struct slot_access;
}

// The fields to add to (or override in) the current context: an argument builder.
// A value given as an lvalue or a view (std::string_view, a C string, a string variable)
// is kept as a view: that string must live until the call that consumes the fields (run,
// scope, with, enter_with) returns, which copies the bytes into the new frame. A value
// given as a temporary (`request_id(make_id())`, `request_id(a + b)`) is moved into the
// fields object and lives as long as it (or a copy of it) does, so a fields object kept
// in a variable never dangles. Setting a field to "" removes it from the derived context.
//
// Example:
//   ctxlog::run(ctxlog::fields{}.request_id(req.id).tenant_id(req.tenant), [&] { ... });
//   ctxlog::run({{"requestId", "r-1"}, {"region", "eu-west"}}, handler);
class fields {
 public:
  fields() = default;
  // Each pair is (JSON name, value); the well-known JSON names ("requestId", ...) set
  // the well-known field, any other name a custom field. These are views: for values
  // that are temporaries, use the named setters or set(), which keep them.
  fields(std::initializer_list<std::pair<std::string_view, std::string_view>> kvs) {
    for (const auto& [k, v] : kvs) set(k, v);
  }

  // Each setter takes anything convertible to std::string_view (a null C string is "").
  template <class S>
    requires std::convertible_to<S&&, std::string_view>
  fields& request_id(S&& v) {
    return known(detail::well_known::request_id, hold(std::forward<S>(v)));
  }
  template <class S>
    requires std::convertible_to<S&&, std::string_view>
  fields& tenant_id(S&& v) {
    return known(detail::well_known::tenant_id, hold(std::forward<S>(v)));
  }
  template <class S>
    requires std::convertible_to<S&&, std::string_view>
  fields& trace_id(S&& v) {
    return known(detail::well_known::trace_id, hold(std::forward<S>(v)));
  }
  template <class S>
    requires std::convertible_to<S&&, std::string_view>
  fields& span_id(S&& v) {
    return known(detail::well_known::span_id, hold(std::forward<S>(v)));
  }
  template <class S>
    requires std::convertible_to<S&&, std::string_view>
  fields& parent_span_id(S&& v) {
    return known(detail::well_known::parent_span_id, hold(std::forward<S>(v)));
  }
  template <class S>
    requires std::convertible_to<S&&, std::string_view>
  fields& user_id(S&& v) {
    return known(detail::well_known::user_id, hold(std::forward<S>(v)));
  }

  // Sets a field by JSON name: a well-known one ("requestId") or a custom one.
  template <class K, class S>
    requires std::convertible_to<K&&, std::string_view> && std::convertible_to<S&&, std::string_view>
  fields& set(K&& key, S&& value) {
    const std::string_view k = hold(std::forward<K>(key));
    return set_view(k, hold(std::forward<S>(value)));
  }

  bool empty() const noexcept { return mask_ == 0 && custom_.empty(); }

 private:
  friend struct detail::fields_access;
  fields& known(detail::well_known w, std::string_view v) noexcept {
    const auto i = static_cast<unsigned>(w);
    mask_ = static_cast<std::uint8_t>(mask_ | (1u << i));
    known_[i] = v;
    return *this;
  }
  fields& set_view(std::string_view key, std::string_view value);

  // A view of v: of v itself when it is an lvalue or a view type, else of a kept copy.
  template <class S>
  std::string_view hold(S&& v) {
    using D = std::remove_cvref_t<S>;
    if constexpr (std::is_pointer_v<D>) {  // a C string; an array (a literal) is an lvalue below
      return v ? std::string_view(v) : std::string_view();
    } else if constexpr (std::is_lvalue_reference_v<S> || std::is_same_v<D, std::string_view>) {
      return std::string_view(v);
    } else if constexpr (std::is_same_v<D, std::string> && !std::is_const_v<std::remove_reference_t<S>>) {
      return keep(std::move(v));
    } else {
      return keep(std::string(std::string_view(v)));
    }
  }
  std::string_view keep(std::string&& s);

  std::uint8_t mask_ = 0;
  std::string_view known_[detail::well_known_count];
  std::vector<detail::kv_view> custom_;
  // The strings given as temporaries, shared by copies (the views above point into them).
  std::shared_ptr<std::forward_list<std::string>> kept_;
};

// An immutable captured context. Copying one is O(1) (a reference count increment) and
// safe from any thread; the fields it returns stay valid as long as the context object
// (or any copy of it) lives. The default-constructed context is empty.
class context {
 public:
  constexpr context() noexcept = default;
  context(const context& o) noexcept : f_(o.f_) {
    if (f_) detail::retain(f_);
  }
  context(context&& o) noexcept : f_(std::exchange(o.f_, nullptr)) {}
  context& operator=(context o) noexcept {
    std::swap(f_, o.f_);
    return *this;
  }
  friend void swap(context& a, context& b) noexcept { std::swap(a.f_, b.f_); }
  ~context() {
    if (f_) detail::release(f_);
  }

  std::string_view request_id() const noexcept CTXLOG_LIFETIMEBOUND { return known(detail::well_known::request_id); }
  std::string_view tenant_id() const noexcept CTXLOG_LIFETIMEBOUND { return known(detail::well_known::tenant_id); }
  std::string_view trace_id() const noexcept CTXLOG_LIFETIMEBOUND { return known(detail::well_known::trace_id); }
  std::string_view span_id() const noexcept CTXLOG_LIFETIMEBOUND { return known(detail::well_known::span_id); }
  std::string_view parent_span_id() const noexcept CTXLOG_LIFETIMEBOUND { return known(detail::well_known::parent_span_id); }
  std::string_view user_id() const noexcept CTXLOG_LIFETIMEBOUND { return known(detail::well_known::user_id); }

  // A field by JSON name, well-known or custom; "" when it is not set.
  std::string_view get(std::string_view key) const noexcept CTXLOG_LIFETIMEBOUND;
  // The custom (not well-known) fields, in the order they were first set. The span and
  // the views in it stay valid as long as this context (or a copy of it) lives.
  //
  // Example:
  //   for (const ctxlog::field& f : ctxlog::current().custom()) headers[f.key] = f.value;
  std::span<const field> custom() const noexcept CTXLOG_LIFETIMEBOUND {
    return f_ ? std::span<const field>(f_->custom, f_->n_custom) : std::span<const field>();
  }

  // No fields and no store values.
  bool empty() const noexcept { return f_ == nullptr; }
  // A process-unique id of the underlying frame (0 for the empty context): two contexts
  // with the same id are the same frame.
  std::uint64_t id() const noexcept { return f_ ? f_->id : 0; }

  // A new context = this + f (copy-on-write: *this is not modified).
  context with(const fields& f) const;

  // Runs fn with *this as the current context; the previous one is back when fn returns
  // or throws. Returns what fn returns.
  template <class F>
  decltype(auto) run(F&& fn) const;

  friend bool operator==(const context& a, const context& b) noexcept { return a.f_ == b.f_; }

  // Not API: the frame, for the logger and the adapters.
  const detail::frame* frame_ptr() const noexcept { return f_; }
  static context adopt(detail::frame* f) noexcept {
    context c;
    c.f_ = f;
    return c;
  }

 private:
  friend struct detail::slot_access;
  std::string_view known(detail::well_known w) const noexcept {
    return f_ ? f_->well_known[static_cast<unsigned>(w)] : std::string_view();
  }
  detail::frame* f_ = nullptr;
};

}  // namespace v1
}  // namespace ctxlog

// The thread's state and the borrowing internals, which build on the complete context
// type (and which scope and enter_with below use).
#define CTXLOG_DETAIL_CONTEXT_DEFINED 1
#include "ctxlog/detail/borrow.hpp"

namespace ctxlog {
inline namespace v1 {

// The calling thread's current context; the empty context outside any run() and while
// disable() is in force. The reference stays valid for the life of the thread, but the
// object it names changes when the thread enters or leaves a scope: copy it (snapshot())
// to keep it. Thread-safe, lock-free, ~1-2 ns.
const context& current() noexcept;

// Captures the current context: O(1), one reference count increment.
inline context snapshot() noexcept { return current(); }

// RAII: makes a context current for the lifetime of the scope object and restores the
// previous one in its destructor (so also during stack unwinding). A scope must end on
// the thread that created it: do not keep one across a co_await that may resume on
// another thread (ctxlog::task saves and restores around every co_await for you).
//
// Example:
//   ctxlog::scope s{ctxlog::fields{}.request_id(id)};
//   LOG_INFO("handling");   // carries requestId
class scope {
 public:
  explicit scope(const fields& f) : scope(detail::derive(current(), &f, nullptr)) {}
  explicit scope(context c) noexcept
      : prev_(detail::install(detail::current_slot(), detail::slot_access::take(c), false)) {
    detail::reenable();
  }
  ~scope() { detail::reinstate(detail::current_slot(), prev_); }
  scope(const scope&) = delete;
  scope& operator=(const scope&) = delete;

 private:
  detail::saved_context prev_;
};

inline context context::with(const fields& f) const { return detail::derive(*this, &f, nullptr); }

template <class F>
decltype(auto) context::run(F&& fn) const {
  scope s(*this);
  return std::invoke(std::forward<F>(fn));
}

// Runs fn in a new context = current + f; the previous context is back when fn returns
// or throws. Nests to any depth. Returns fn's result.
template <class F>
decltype(auto) run(const fields& f, F&& fn) {
  scope s(f);
  return std::invoke(std::forward<F>(fn));
}

// Runs fn in the captured context c (exactly c, not merged with the current one).
template <class F>
decltype(auto) run(const context& c, F&& fn) {
  scope s(c);
  return std::invoke(std::forward<F>(fn));
}

// Runs fn with no context at all (every field and store empty); restores afterwards.
template <class F>
decltype(auto) exit(F&& fn) {
  scope s(context{});
  return std::invoke(std::forward<F>(fn));
}

// Makes current + f the thread's context from now on, with no scope to end it: it stays
// until the next enter_with/scope change on this thread. Risky: on a thread that runs
// unrelated work afterwards (a pool worker, an event loop) the fields leak into that work
// unless something restores the context; ctxlog's own adapters do, per task. Prefer
// run()/scope, and use this only at the top of a thread or task you own.
inline void enter_with(context c) noexcept {
  detail::reinstate(detail::current_slot(), {detail::slot_access::take(c), false});
  detail::reenable();
}
inline void enter_with(const fields& f) { enter_with(detail::derive(current(), &f, nullptr)); }

// Process-wide switch, like AsyncLocalStorage.disable(): from now on current() is empty
// and log lines carry no context on every thread, until the next run()/scope/enter_with
// on any thread enables it again. Also drops the calling thread's context. Like Node's,
// re-entering a captured context (a bound call, an adapter's task, a coroutine resuming)
// does not enable it again.
void disable() noexcept;

// ---- finding context loss ----
// Opt-in debug aid (off by default; CTXLOG_CHECK_CONTEXT_LOSS=1 in the environment turns
// it on at start-up). While on, a log call made with an empty context inside work that an
// adapter (pool task, bound callable, coroutine, asio handler, ...) runs on behalf of a
// non-empty captured context is marked "contextLost":true, and its file:line is reported
// once on stderr: something between the hand-off and the log call dropped the context.
void set_context_loss_check(bool on) noexcept;
bool context_loss_check() noexcept;

}  // namespace v1
}  // namespace ctxlog

// Callables bound to a context and typed stores: their own headers, included here so that
// code written when they lived in this one still compiles.
#include "ctxlog/bind.hpp"
#include "ctxlog/storage.hpp"
