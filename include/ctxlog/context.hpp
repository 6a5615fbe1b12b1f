// ctxlog/context.hpp — the ambient request context: C++'s AsyncLocalStorage.
//
// A context is an immutable, reference-counted frame: the well-known correlation fields
// (requestId, tenantId, traceId, spanId, parentSpanId, userId), custom string key/values
// and the values of any number of typed storage<T> stores. Each thread has one *current*
// context. run() / scope install a derived context and put the previous one back on exit;
// snapshot() / bind() capture the current one in O(1) (one reference count increment) so
// that it can be re-entered on another thread later. This header knows nothing about
// logging.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "ctxlog/detail/frame.hpp"

namespace ctxlog {
inline namespace v1 {

namespace detail {
struct fields_access;
struct slot_access;
}

// The fields to add to (or override in) the current context: an argument builder.
// It holds string_views, so the strings it names must live until the call that consumes
// it (run, scope, with, enter_with) returns; those copy the bytes into the new frame.
// Setting a field to "" removes it from the derived context.
//
// Example:
//   ctxlog::run(ctxlog::fields{}.request_id(req.id).tenant_id(req.tenant), [&] { ... });
//   ctxlog::run({{"requestId", "r-1"}, {"region", "eu-west"}}, handler);
class fields {
 public:
  fields() = default;
  // Each pair is (JSON name, value); the well-known JSON names ("requestId", ...) set
  // the well-known field, any other name a custom field.
  fields(std::initializer_list<std::pair<std::string_view, std::string_view>> kvs) {
    for (const auto& [k, v] : kvs) set(k, v);
  }

  fields& request_id(std::string_view v) noexcept { return known(detail::well_known::request_id, v); }
  fields& tenant_id(std::string_view v) noexcept { return known(detail::well_known::tenant_id, v); }
  fields& trace_id(std::string_view v) noexcept { return known(detail::well_known::trace_id, v); }
  fields& span_id(std::string_view v) noexcept { return known(detail::well_known::span_id, v); }
  fields& parent_span_id(std::string_view v) noexcept { return known(detail::well_known::parent_span_id, v); }
  fields& user_id(std::string_view v) noexcept { return known(detail::well_known::user_id, v); }

  // Sets a field by JSON name: a well-known one ("requestId") or a custom one.
  fields& set(std::string_view key, std::string_view value);

  bool empty() const noexcept { return mask_ == 0 && custom_.empty(); }

 private:
  friend struct detail::fields_access;
  fields& known(detail::well_known w, std::string_view v) noexcept {
    const auto i = static_cast<unsigned>(w);
    mask_ = static_cast<std::uint8_t>(mask_ | (1u << i));
    known_[i] = v;
    return *this;
  }

  std::uint8_t mask_ = 0;
  std::string_view known_[detail::well_known_count];
  std::vector<detail::kv_view> custom_;
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

  std::string_view request_id() const noexcept { return known(detail::well_known::request_id); }
  std::string_view tenant_id() const noexcept { return known(detail::well_known::tenant_id); }
  std::string_view trace_id() const noexcept { return known(detail::well_known::trace_id); }
  std::string_view span_id() const noexcept { return known(detail::well_known::span_id); }
  std::string_view parent_span_id() const noexcept { return known(detail::well_known::parent_span_id); }
  std::string_view user_id() const noexcept { return known(detail::well_known::user_id); }

  // A field by JSON name, well-known or custom; "" when it is not set.
  std::string_view get(std::string_view key) const noexcept;
  // The custom (not well-known) fields, in the order they were first set.
  std::span<const detail::kv_view> custom() const noexcept {
    return f_ ? std::span<const detail::kv_view>(f_->custom, f_->n_custom) : std::span<const detail::kv_view>();
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

namespace detail {
// The calling thread's context state.
//
// Borrowing: while a bound_fn, async_resource or adapter task runs, the thread's context
// is the frame its callable holds, installed *without* a reference count increment (the
// callable is alive for the whole call), so a bound call costs no atomic operation and
// many threads calling callables bound to one frame do not contend on its count. `lent`
// says the slot's frame is such a borrowed one (not owned: never released from the
// slot). Everything that replaces the slot's frame goes through install()/reinstate(),
// which carry that flag, so a scope or coroutine entered inside a bound call and
// enter_with()/disable() there keep the counts exact.
struct thread_context {
  static constexpr std::uint32_t recorded = 16;
  context ctx;              // what current() returns
  bool lent = false;        // ctx's frame is borrowed, not owned
  std::uint32_t depth = 0;  // borrowing calls open on this thread
  // The frame each of the first `recorded` open borrowing calls borrowed, outermost
  // first; bit 0 set: that call has taken over the reference of a holder destroyed
  // during it, and releases it when it returns (see lent_context).
  std::uintptr_t borrowed[recorded] = {};
  // Deeper than `recorded`: references of holders destroyed there, released when the
  // depth is back to `recorded`.
  std::vector<frame*>* parked = nullptr;
};

// The calling thread's state.
//
// With clang it is out of line on purpose: clang optimises a coroutine before splitting
// it at its suspension points, and has kept a thread_local's address across a
// co_await, then used the first thread's slot after resuming on another one
// (llvm-project issue 47179); behind a real call every read is fresh. g++ lowers a
// coroutine into its resume function before optimising, so no value can cross a
// suspension unless it lives in the coroutine frame; there the read is inline: one
// %fs-relative load (tests/propagation/test_coro.cpp checks both compilers).
// t_slot points at the thread's state once the thread has used it (it is a plain
// pointer so that reading it needs no first-use guard); first_slot() sets it.
thread_context& first_slot() noexcept;
#if defined(__clang__) || !defined(__GNUC__)
thread_context& current_slot() noexcept;
#else
[[gnu::tls_model("initial-exec")]] extern constinit thread_local thread_context* t_slot;
inline thread_context& current_slot() noexcept {
  if (thread_context* s = t_slot) [[likely]]
    return *s;
  return first_slot();
}
#endif

struct slot_access {
  static frame* take(context& c) noexcept { return std::exchange(c.f_, nullptr); }
  static void put(context& c, frame* f) noexcept { c.f_ = f; }
  static frame* peek(const context& c) noexcept { return c.f_; }
};

// A context taken out of the slot, with its ownership flag; goes back with reinstate().
struct saved_context {
  frame* f = nullptr;
  bool lent = false;
};
// Puts f in the slot (lent: borrowed, else the slot takes over a reference) and returns
// what was there.
inline saved_context install(thread_context& t, frame* f, bool lent) noexcept {
  const saved_context prev{slot_access::peek(t.ctx), t.lent};
  slot_access::put(t.ctx, f);
  t.lent = lent;
  return prev;
}
// Puts prev back and drops the frame that was there (releasing it when owned). The
// release comes last, so destructors it runs (storage<T> values) see prev installed.
inline void reinstate(thread_context& t, saved_context prev) noexcept {
  frame* const now = slot_access::peek(t.ctx);
  const bool owned = !t.lent;
  slot_access::put(t.ctx, prev.f);
  t.lent = prev.lent;
  if (now && owned) release(now);
}
// The frame that a log call on this thread must carry (nullptr when empty or disabled).
const frame* current_frame() noexcept;
extern std::atomic<bool> g_disabled;
inline void reenable() noexcept {
  if (g_disabled.load(std::memory_order_relaxed)) g_disabled.store(false, std::memory_order_relaxed);
}
// A frame = parent + f + (optionally) one store slot. Never returns nullptr (throws
// std::bad_alloc like new); returns an empty context when the result has nothing in it.
context derive(const context& parent, const fields* f, const slot* s);
std::uint32_t new_store_id() noexcept;
const value_box* find_slot(const frame* f, std::uint32_t store) noexcept;
}  // namespace detail

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

namespace detail {
void release_borrowed(std::uint32_t depth) noexcept;

// Installs a context that the caller guarantees outlives the scope, without touching
// its reference count (see thread_context). For lent_context holders and adapter jobs.
// The frames borrowed by the open calls are recorded in the thread's state, so that a
// holder destroyed during its own call can tell (its `this` never escapes: the saved
// state stays in registers).
class borrow_scope {
 public:
  explicit borrow_scope(const context& c) noexcept {
    thread_context& t = current_slot();
    frame* const f = slot_access::peek(c);
    prev_ = install(t, f, true);
    depth_ = t.depth;
    if (depth_ < thread_context::recorded) [[likely]]
      t.borrowed[depth_] = reinterpret_cast<std::uintptr_t>(f);
    t.depth = depth_ + 1;
  }
  ~borrow_scope() {
    thread_context& t = current_slot();
    reinstate(t, prev_);
    t.depth = depth_;
    if (depth_ < thread_context::recorded ? (t.borrowed[depth_] & 1) != 0 : depth_ == thread_context::recorded)
        [[unlikely]]
      release_borrowed(depth_);
  }
  borrow_scope(const borrow_scope&) = delete;
  borrow_scope& operator=(const borrow_scope&) = delete;

 private:
  saved_context prev_;
  std::uint32_t depth_;
};

// The context of a callable that lends it to the thread when called (bound_fn,
// async_resource, carried). Should the holder be destroyed or reassigned *during* one of
// its own calls (a std::function that resets itself), its frame is still the thread's
// current one: the borrowing call then takes over the holder's reference and releases it
// when it returns. A holder moved during such a call keeps a reference too (the move is
// a copy then), so a callable that moves itself to a queue another thread drains is safe.
void release_lent(frame* f) noexcept;
bool borrowed_here(const frame* f) noexcept;
class lent_context {
 public:
  lent_context() noexcept = default;
  explicit lent_context(context c) noexcept : c_(std::move(c)) {}
  lent_context(const lent_context&) noexcept = default;
  lent_context(lent_context&& o) noexcept {
    if (!o.c_.empty()) {
      if (borrowed_here(o.c_.frame_ptr())) c_ = o.c_;
      else c_ = std::move(o.c_);
    }
  }
  lent_context& operator=(lent_context o) noexcept {
    swap(c_, o.c_);
    return *this;
  }
  ~lent_context() {
    if (frame* f = slot_access::take(c_)) release_lent(f);
  }
  const context& get() const noexcept { return c_; }

 private:
  context c_;
};
}  // namespace detail

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

namespace detail {
// Adapters put one of these around the work they run for a captured context.
// Counts only while the check is on (one relaxed load otherwise), so adapters and bound
// calls pay nothing for the debug aid when it is off.
extern std::atomic<bool> g_loss_check;
void enter_managed() noexcept;
void leave_managed() noexcept;
class managed_scope {
 public:
  explicit managed_scope(const context& captured) noexcept
      : counted_(g_loss_check.load(std::memory_order_relaxed) && !captured.empty()) {
    if (counted_) enter_managed();
  }
  ~managed_scope() {
    if (counted_) leave_managed();
  }
  managed_scope(const managed_scope&) = delete;
  managed_scope& operator=(const managed_scope&) = delete;

 private:
  bool counted_;
};
// True when the calling thread runs managed work and its context is empty.
bool context_lost() noexcept;
}  // namespace detail

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

// Thrown by storage<T>::require() when no value is in scope and there is no default.
class missing_context : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// An independent typed store riding on the ambient context, like one
// AsyncLocalStorage instance: a DB transaction, an auth principal, a deadline. Any number
// of stores may exist; each has its own run / get / enter_with / exit / disable and an
// optional default. Values are immutable once stored (get() returns const T*): store a
// pointer or handle when the object itself must change. Thread-safe.
//
// Example:
//   ctxlog::storage<principal> auth{{.name = "auth"}};
//   auth.run(principal{"alice"}, [] { handle(); });
//   ... deep inside handle(): const principal& p = auth.require();
template <class T>
class storage {
 public:
  struct options {
    std::string name{};              // used in require()'s error message
    std::optional<T> default_value{};  // what get()/require() give outside any run
  };

  storage() : id_(detail::new_store_id()) {}
  explicit storage(options o)
      : id_(detail::new_store_id()), name_(std::move(o.name)), default_(std::move(o.default_value)) {}
  storage(const storage&) = delete;
  storage& operator=(const storage&) = delete;

  // The value in scope on this thread, else the default, else nullptr. The pointer stays
  // valid while the run() that stored the value is active (or a captured context holds it).
  const T* get() const noexcept {
    if (!disabled_.load(std::memory_order_relaxed)) {
      if (auto* b = detail::find_slot(detail::current_frame(), id_))
        return &static_cast<const detail::typed_box<T>*>(b)->value;
    }
    return default_ ? &*default_ : nullptr;
  }

  // The value in scope or the default; throws missing_context when there is neither.
  const T& require() const {
    if (const T* v = get()) return *v;
    throw missing_context("ctxlog::storage '" + (name_.empty() ? std::string("<unnamed>") : name_) +
                          "': require() called outside any run() of this store, and it has no default");
  }

  // Runs fn with value stored (and every other store and field kept); returns fn's result.
  template <class F>
  decltype(auto) run(T value, F&& fn) {
    scope s(with_value(std::move(value)));
    return std::invoke(std::forward<F>(fn));
  }

  // Stores value for the rest of this thread's current context (see ctxlog::enter_with
  // for the risks).
  void enter_with(T value) { ctxlog::enter_with(with_value(std::move(value))); }

  // Runs fn with this store empty (get() gives the default); other stores are kept.
  template <class F>
  decltype(auto) exit(F&& fn) {
    const detail::slot s{id_, nullptr};
    scope sc(detail::derive(current(), nullptr, &s));
    return std::invoke(std::forward<F>(fn));
  }

  // Like AsyncLocalStorage.disable(): get() gives the default on every thread until the
  // next run()/enter_with() of this store.
  void disable() noexcept { disabled_.store(true, std::memory_order_relaxed); }

  const std::string& name() const noexcept { return name_; }

 private:
  context with_value(T&& value) {
    auto* box = new detail::typed_box<T>(std::move(value));
    const detail::slot s{id_, box};
    context c;
    try {
      c = detail::derive(current(), nullptr, &s);
    } catch (...) {
      detail::release(box);
      throw;
    }
    detail::release(box);  // the frame holds its own reference now
    disabled_.store(false, std::memory_order_relaxed);
    return c;
  }

  const std::uint32_t id_;
  const std::string name_;
  const std::optional<T> default_;
  std::atomic<bool> disabled_{false};
};

}  // namespace v1
}  // namespace ctxlog
