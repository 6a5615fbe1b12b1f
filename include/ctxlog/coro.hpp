// ctxlog/coro.hpp — C++20 coroutines that keep their context across every co_await.
//
// Sits on the context store (context.hpp) like the other adapters. A ctxlog::task<T>
// owns a context of its own: it swaps it in whenever the coroutine runs and swaps the
// resuming thread's context back whenever it suspends, so a co_await never loses the
// coroutine's fields and never leaks them into what the thread runs next.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <condition_variable>
#include <coroutine>
#include <exception>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "ctxlog/context.hpp"

namespace ctxlog {
inline namespace v1 {

template <class T = void>
class task;

namespace detail {

template <class A>
concept member_co_await = requires(A&& a) { static_cast<A&&>(a).operator co_await(); };
template <class A>
concept free_co_await = requires(A&& a) { operator co_await(static_cast<A&&>(a)); };

template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (member_co_await<A>) return static_cast<A&&>(a).operator co_await();
  else if constexpr (free_co_await<A>) return operator co_await(static_cast<A&&>(a));
  else return static_cast<A&&>(a);
}

// Awaiters whose await_suspend runs no user code before the coroutine can resume (they
// only record or post the handle): for these the context is moved, not copied, at the
// suspension, which saves two atomic reference-count operations per co_await.
template <class Aw>
inline constexpr bool runs_no_user_code_v = false;
template <>
inline constexpr bool runs_no_user_code_v<std::suspend_always> = true;
template <>
inline constexpr bool runs_no_user_code_v<std::suspend_never> = true;

// The context bookkeeping of one task coroutine. One member, other_, holds whichever
// context is not in the thread's slot:
//   running:   the slot holds the coroutine's context; other_ holds the context the
//              resuming thread had (with its ownership flag, other_lent_: the resumer
//              may be inside a bound call), to put back at the next suspension;
//   suspended: other_ holds the coroutine's context (always owned).
// Entering and leaving are then one swap each, with no reference-count traffic.
class promise_base {
 public:
  // A task starts in its creator's context. Whether to mark the thread as running
  // managed work (the context-loss check) is decided once, here.
  promise_base() noexcept : other_(snapshot()), track_(context_loss_check()) {}
  promise_base(const promise_base&) = delete;
  promise_base& operator=(const promise_base&) = delete;
  ~promise_base() {
    if (other_lent_) slot_access::take(other_);  // not ours to release (not reached normally)
  }

  // On (re)entry, on the thread that resumes the coroutine.
  void enter() noexcept {
    thread_context& t = current_slot();
    swap(t.ctx, other_);
    std::swap(t.lent, other_lent_);
    if (track_) managed_.emplace(t.ctx);
  }
  // At a suspension: keeps the coroutine's context and hands back the resumer's. With
  // copy, the coroutine's context stays installed (and other_ gets a copy) until the
  // caller reinstates the returned resumer context.
  saved_context leave(bool copy) noexcept {
    if (track_) managed_.reset();
    thread_context& t = current_slot();
    if (copy) {
      const saved_context resumer{slot_access::take(other_), other_lent_};
      other_ = t.ctx;  // a counted copy, whatever the slot's flag says
      other_lent_ = false;
      return resumer;
    }
    if (t.lent) [[unlikely]] {  // a borrowed frame must not outlive its call here
      if (!t.ctx.empty()) retain(t.ctx.frame_ptr());
      t.lent = false;
    }
    swap(t.ctx, other_);
    std::swap(t.lent, other_lent_);
    return {};
  }
  // The awaiter's await_suspend threw after leave(true): the coroutine keeps running here.
  void abort_leave(saved_context resumer) noexcept {
    if (frame* copy = slot_access::take(other_)) release(copy);
    slot_access::put(other_, resumer.f);
    other_lent_ = resumer.lent;
    if (track_) managed_.emplace(current_slot().ctx);
  }
  // At the final suspension: the coroutine's context is dropped.
  void finish() noexcept {
    if (track_) managed_.reset();
    reinstate(current_slot(), {slot_access::take(other_), std::exchange(other_lent_, false)});
  }
  // The coroutine's context while suspended (its creator's before the first resume).
  const context& suspended_context() const noexcept { return other_; }
  // Before the first resume only: the coroutine starts in c instead of its creator's.
  bool reseat(context c) noexcept {
    if (started_) return false;
    other_ = std::move(c);
    return true;
  }
  void mark_started() noexcept { started_ = true; }

  std::coroutine_handle<> continuation_;

 private:
  context other_;
  bool other_lent_ = false;
  bool started_ = false;
  bool track_;
  std::optional<managed_scope> managed_;
};

// Wraps every co_await inside a task: the coroutine's context is saved before the
// awaited operation can resume it elsewhere, and installed again in await_resume on
// whichever thread resumed it. Nothing is read from a thread_local across the
// suspension: each side calls current_slot() afresh on its own thread.
template <class Aw>
class context_awaiter {
 public:
  context_awaiter(Aw&& aw, promise_base* p) noexcept : aw_(std::forward<Aw>(aw)), p_(p) {}

  bool await_ready() { return aw_.await_ready(); }

  template <class P>
  auto await_suspend(std::coroutine_handle<P> h) {
    using R = decltype(aw_.await_suspend(h));
    constexpr bool copy = !runs_no_user_code_v<std::remove_cvref_t<Aw>>;
    suspended_ = true;
    // From the moment aw_.await_suspend starts, h may be resumed (and even destroyed) on
    // another thread: touch only locals and this thread's slot after it returns.
    const saved_context resumer = p_->leave(copy);
    try {
      if constexpr (std::is_void_v<R>) {
        aw_.await_suspend(h);
        if (copy) reinstate(current_slot(), resumer);
      } else {
        R r = aw_.await_suspend(h);
        if (copy) reinstate(current_slot(), resumer);
        return r;
      }
    } catch (...) {
      if (copy) p_->abort_leave(resumer);
      else p_->enter();
      suspended_ = false;
      throw;
    }
  }

  decltype(auto) await_resume() {
    if (suspended_) p_->enter();
    return aw_.await_resume();
  }

 private:
  Aw aw_;
  promise_base* p_;
  bool suspended_ = false;
};

template <class T>
class task_promise;

template <class T>
struct task_awaiter {
  std::coroutine_handle<task_promise<T>> h;
  bool await_ready() const noexcept { return !h || h.done(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> cont) noexcept {
    h.promise().continuation_ = cont;
    return h;
  }
  T await_resume() { return h.promise().result(); }
};
template <class T>
inline constexpr bool runs_no_user_code_v<task_awaiter<T>> = true;

template <class T>
class task_promise_storage {
 public:
  template <class U>
  void return_value(U&& v) {
    result_.template emplace<1>(std::forward<U>(v));
  }
  void unhandled_exception() noexcept { result_.template emplace<2>(std::current_exception()); }
  T result() {
    if (result_.index() == 2) std::rethrow_exception(std::get<2>(result_));
    return std::move(std::get<1>(result_));
  }

 private:
  std::variant<std::monostate, T, std::exception_ptr> result_;
};
template <>
class task_promise_storage<void> {
 public:
  void return_void() noexcept {}
  void unhandled_exception() noexcept { error_ = std::current_exception(); }
  void result() {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::exception_ptr error_;
};

template <class T>
class task_promise final : public promise_base, public task_promise_storage<T> {
 public:
  task<T> get_return_object() noexcept;

  auto initial_suspend() noexcept {
    struct starter {
      promise_base* p;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<>) const noexcept {}
      void await_resume() const noexcept {
        p->mark_started();
        p->enter();
      }
    };
    return starter{this};
  }
  auto final_suspend() noexcept {
    struct finisher {
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<task_promise> h) const noexcept {
        auto& p = h.promise();
        p.finish();
        return p.continuation_ ? p.continuation_ : std::noop_coroutine();
      }
      void await_resume() const noexcept {}
    };
    return finisher{};
  }

  template <class A>
  auto await_transform(A&& a) noexcept(noexcept(get_awaiter(std::forward<A>(a)))) {
    using Aw = decltype(get_awaiter(std::forward<A>(a)));
    return context_awaiter<Aw>(get_awaiter(std::forward<A>(a)), this);
  }
};

}  // namespace detail

// A lazy coroutine task that carries the ambient context.
//
// Captured: the context current when the task is created (the coroutine function is
// called), like an async function in Node; ctxlog::run(fields, [] -> task<> {...}) thus
// gives the task a context of its own.
// Restored: at every co_await inside the task, the coroutine's context (including any
// scope opened inside the body) is saved before the awaited operation can resume it and
// installed again on whichever thread resumes it; the resuming thread's own context is
// put back when the coroutine suspends again or finishes. A scope inside the body lasts
// until its block ends, across any number of co_awaits, on any threads.
// Exceptions: one escaping the body is rethrown by co_await / sync_wait; the context is
// restored as on a normal return. Destroying a suspended task runs the destructors of
// its locals in the coroutine's context and leaves the destroying thread's unchanged.
//
// Example:
//   ctxlog::task<int> handle() {
//     LOG_INFO("start");                 // carries the caller's requestId
//     co_await ctxlog::resume_on(pool);  // continues on a pool thread
//     LOG_INFO("done");                  // same requestId, other thread
//     co_return 42;
//   }
template <class T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::task_promise<T>;
  using handle_type = std::coroutine_handle<promise_type>;

  task() noexcept = default;
  explicit task(handle_type h) noexcept : h_(h) {}
  task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  task& operator=(task o) noexcept {
    std::swap(h_, o.h_);
    return *this;
  }
  ~task() { destroy(); }

  detail::task_awaiter<T> operator co_await() && noexcept { return {h_}; }
  detail::task_awaiter<T> operator co_await() & noexcept { return {h_}; }

  bool done() const noexcept { return !h_ || h_.done(); }
  handle_type handle() const noexcept { return h_; }

  // Makes a task that has not started yet start in c rather than in the context it was
  // created in (in_span() runs a task inside its span this way). False, and no change,
  // once the task has started.
  bool start_in(context c) noexcept { return h_ && h_.promise().reseat(std::move(c)); }

 private:
  void destroy() noexcept {
    if (!h_) return;
    if (!h_.done()) {
      // Suspended mid-body: locals (a scope among them) are destroyed now, on this
      // thread. Run them in the coroutine's context and give this thread its own back.
      scope s(h_.promise().suspended_context());
      h_.destroy();
    } else {
      h_.destroy();
    }
    h_ = {};
  }
  handle_type h_;
};

template <class T>
task<T> detail::task_promise<T>::get_return_object() noexcept {
  return task<T>(std::coroutine_handle<task_promise<T>>::from_promise(*this));
}

// An awaiter that moves the coroutine to a thread of ex (anything with post(f)):
// `co_await ctxlog::resume_on(pool);`. In a task the context comes along.
template <class Executor>
struct resume_on_awaiter {
  Executor& ex;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { ex.post([h] { h.resume(); }); }
  void await_resume() const noexcept {}
};
template <class Executor>
resume_on_awaiter<Executor> resume_on(Executor& ex) noexcept {
  return {ex};
}
namespace detail {
template <class E>
inline constexpr bool runs_no_user_code_v<resume_on_awaiter<E>> = true;
}

// For coroutine types other than ctxlog::task (which needs none of this):
// `co_await ctxlog::with_context(op)` captures the context at the co_await and installs
// it again after resumption. It cannot give the resuming thread its own context back
// when the coroutine suspends later, so resume such coroutines only from ctxlog adapters
// (thread_pool, carry(), the asio executor), which restore their thread after each job.
namespace detail {
template <class Aw>
struct with_context_awaiter {
  Aw aw;
  context ctx;
  bool await_ready() { return aw.await_ready(); }
  template <class P>
  auto await_suspend(std::coroutine_handle<P> h) {
    ctx = snapshot();
    return aw.await_suspend(h);
  }
  decltype(auto) await_resume() {
    if (!ctx.empty()) enter_with(std::move(ctx));
    return aw.await_resume();
  }
};
}  // namespace detail

template <class A>
auto with_context(A&& a) {
  using Aw = decltype(detail::get_awaiter(std::forward<A>(a)));
  return detail::with_context_awaiter<Aw>{detail::get_awaiter(std::forward<A>(a)), context()};
}

namespace detail {
struct sync_state {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
};
struct sync_driver {
  struct promise_type {
    sync_state* st = nullptr;
    sync_driver get_return_object() noexcept { return {std::coroutine_handle<promise_type>::from_promise(*this)}; }
    std::suspend_always initial_suspend() noexcept { return {}; }
    auto final_suspend() noexcept {
      struct notify {
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<promise_type> h) const noexcept {
          sync_state* st = h.promise().st;
          std::lock_guard lk(st->mu);  // the waiter destroys the frame only after this unlocks
          st->done = true;
          st->cv.notify_one();
        }
        void await_resume() const noexcept {}
      };
      return notify{};
    }
    void return_void() noexcept {}
    void unhandled_exception() noexcept {}
  };
  std::coroutine_handle<promise_type> h;
};
template <class T>
struct ready_awaiter {  // waits for a task without taking its result
  std::coroutine_handle<task_promise<T>> h;
  bool await_ready() const noexcept { return h.done(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> cont) noexcept {
    h.promise().continuation_ = cont;
    return h;
  }
  void await_resume() const noexcept {}
};
template <class T>
sync_driver drive(std::coroutine_handle<task_promise<T>> h) {
  co_await ready_awaiter<T>{h};
}
}  // namespace detail

namespace detail {
// Writes "task failed: <type>: <what>" at error level in ctx (src/propagation/span.cpp).
void report_spawned_failure(const context& ctx, std::exception_ptr e) noexcept;

struct detached {
  struct promise_type {
    detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }  // not reached: the body catches
  };
};

template <class Executor, class T>
detached run_detached(Executor& ex, task<T> t) {
  const context ctx = t.handle().promise().suspended_context();
  try {
    co_await resume_on(ex);  // the spawner continues; t starts on ex
  } catch (...) {            // ex refused the job (e.g. a pool that was shut down)
    report_spawned_failure(ctx, std::current_exception());
    co_return;
  }
  try {
    (void)co_await std::move(t);
  } catch (...) {
    report_spawned_failure(ctx, std::current_exception());
  }
}
}  // namespace detail

// Starts t on ex (anything with post(f): ctxlog::thread_pool, an asio executor wrapper)
// without waiting for it: fire and forget. The task keeps the context it was created in;
// it owns itself and is destroyed when it finishes. An exception escaping it (or ex
// refusing the job) is written as an error line in that context, "task failed: <type>:
// <what>", never rethrown and never lost. Unlike sync_wait(), it never blocks, so it is
// safe on a pool worker that the task will itself resume on.
//
// Example:
//   ctxlog::run(request_fields, [&] { ctxlog::spawn(pool, send_receipt(order)); });
template <class Executor, class T>
void spawn(Executor& ex, task<T> t) {
  detail::run_detached(ex, std::move(t));
}

// Runs t to completion, blocking the calling thread, and returns its result (or
// rethrows its exception). The calling thread's context is the same afterwards.
template <class T>
T sync_wait(task<T> t) {
  detail::sync_state st;
  auto d = detail::drive<T>(t.handle());
  d.h.promise().st = &st;
  d.h.resume();
  {
    std::unique_lock lk(st.mu);
    st.cv.wait(lk, [&] { return st.done; });
  }
  d.h.destroy();
  return t.handle().promise().result();
}

}  // namespace v1
}  // namespace ctxlog
