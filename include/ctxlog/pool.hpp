// ctxlog/pool.hpp — carrying the ambient context across thread hand-offs.
//
// Sits between the context store (context.hpp) and code that hands work to other
// threads: a context-carrying thread_pool, carry() for any other pool or executor with a
// submit/post/execute/enqueue member, and helpers for std::async, std::thread and
// std::jthread. Every hand-off here captures the caller's context (O(1)), runs the work
// inside it, and puts the worker's previous context back afterwards, also on exceptions.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <cstddef>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

#include "ctxlog/context.hpp"
#include "ctxlog/detail/handoff.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

// One queued pool task, type-erased. run() executes and destroys the callable inside the
// task's context, so destructors of captured state log with the right fields too.
class pool_job {
 public:
  explicit pool_job(context c) noexcept : ctx_(std::move(c)) {}
  virtual ~pool_job() = default;
  pool_job(const pool_job&) = delete;
  pool_job& operator=(const pool_job&) = delete;
  virtual void run() noexcept = 0;
  // Releases the callable without running it (pool discarded): inside its context.
  virtual void discard() noexcept = 0;
  // After run(): hands over the job's reference to its frame. A worker releases the
  // references of consecutive jobs of one request in one step, so the count's cache line
  // does not travel between the submitting and the running CPU once per task.
  frame* take_context() noexcept { return slot_access::take(ctx_); }

 protected:
  context ctx_;  // borrowed by run()
};

// Logs (at error level, inside the task's context) an exception that escaped a post()ed
// task, which has no future to carry it.
void report_task_exception(std::exception_ptr e, origin where) noexcept;

template <class R, class F>
class future_job final : public pool_job {
 public:
  future_job(context c, bool carry, F&& f, origin where) : pool_job(std::move(c)), carry_(carry), where_(where) {
    f_.emplace(std::move(f));
  }
  std::future<R> get_future() { return promise_.get_future(); }

  // The promise is fulfilled only after the task's context is gone from the worker, so
  // whoever waits on the future sees a worker that is already clean.
  void run() noexcept override {
    if (carry_) {
      adapter_scope s(ctx_, "thread_pool", where_);
      invoke();
    } else {
      invoke();
    }
    if (error_) {
      promise_.set_exception(std::move(error_));
    } else if constexpr (std::is_void_v<R>) {
      promise_.set_value();
    } else {
      promise_.set_value(std::move(*result_));
    }
  }
  void discard() noexcept override {
    scope s(ctx_);
    f_.reset();  // the promise breaks when the job is freed: get() throws broken_promise
  }

 private:
  void invoke() noexcept {
    try {
      if constexpr (std::is_void_v<R>) std::invoke(std::move(*f_));
      else result_.emplace(std::invoke(std::move(*f_)));
    } catch (...) {
      error_ = std::current_exception();
    }
    f_.reset();
  }

  struct no_result {};
  std::conditional_t<std::is_void_v<R>, no_result, std::optional<R>> result_;
  std::exception_ptr error_;
  bool carry_;
  origin where_;
  std::optional<F> f_;
  std::promise<R> promise_;
};

template <class F>
class detached_job final : public pool_job {
 public:
  detached_job(context c, bool carry, F&& f, origin where) : pool_job(std::move(c)), carry_(carry), where_(where) {
    f_.emplace(std::move(f));
  }
  void run() noexcept override {
    if (carry_) {
      adapter_scope s(ctx_, "thread_pool", where_);
      invoke();
    } else {
      invoke();
    }
  }
  void discard() noexcept override {
    scope s(ctx_);
    f_.reset();
  }

 private:
  void invoke() noexcept {
    try {
      std::invoke(std::move(*f_));
    } catch (...) {
      report_task_exception(std::current_exception(), where_);
    }
    f_.reset();
  }

  bool carry_;
  origin where_;
  std::optional<F> f_;
};

}  // namespace detail

// Whether a pool carries the submitter's context to its tasks. `none` exists for
// baselines and for pools whose tasks must never see a request's fields.
enum class context_policy { carry, none };

// What shutdown() does with tasks still queued.
enum class shutdown_policy {
  drain,    // run every queued task, then stop (the destructor's choice)
  discard,  // drop queued tasks unrun: their futures throw std::future_error(broken_promise)
};

// Thrown by submit()/post() once shutdown() has begun.
class pool_stopped : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A fixed-size thread pool whose tasks run in the context of the code that submitted
// them.
//
// Captured: the submitter's current context, at submit()/post() (O(1)).
// Restored: the worker installs it for the task (and the destruction of the callable),
// then puts back its own empty context, also when the task throws. A submit() task's
// exception goes to its future; a post() task's is logged at error level in the task's
// context. Thread-safe.
//
// Example:
//   ctxlog::thread_pool pool{4};
//   ctxlog::run(ctxlog::fields{}.request_id("r-1"), [&] {
//     auto f = pool.submit([] { LOG_INFO("on a worker"); return 42; });  // carries r-1
//   });
class thread_pool {
 public:
  explicit thread_pool(std::size_t threads = std::thread::hardware_concurrency(),
                       context_policy policy = context_policy::carry);
  // Drains: every task already submitted runs before the destructor returns.
  ~thread_pool();
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  // Queues f() and returns a future of its result. Throws pool_stopped after shutdown().
  template <class F>
  auto submit(F&& f, origin where = {}) -> std::future<std::invoke_result_t<std::decay_t<F>>> {
    using R = std::invoke_result_t<std::decay_t<F>>;
    std::decay_t<F> fn(std::forward<F>(f));
    auto job = std::make_unique<detail::future_job<R, std::decay_t<F>>>(capture(), carrying(), std::move(fn), where);
    auto fut = job->get_future();
    enqueue(std::move(job));
    return fut;
  }

  // Queues f() with no future (fire and forget). Throws pool_stopped after shutdown().
  template <class F>
  void post(F&& f, origin where = {}) {
    std::decay_t<F> fn(std::forward<F>(f));
    enqueue(std::make_unique<detail::detached_job<std::decay_t<F>>>(capture(), carrying(), std::move(fn), where));
  }

  // Same as post(): lets generic code treat the pool as an executor.
  template <class F>
  void execute(F&& f, origin where = {}) {
    post(std::forward<F>(f), where);
  }

  // Blocks until the queue is empty and no task is running.
  void wait_idle();

  // Stops taking tasks, handles the queued ones per policy, and joins the workers. Must
  // not be called from one of this pool's tasks. Idempotent.
  void shutdown(shutdown_policy p = shutdown_policy::drain);

  std::size_t size() const noexcept;

 private:
  context capture() const noexcept { return carrying() ? snapshot() : context(); }
  bool carrying() const noexcept { return policy_ == context_policy::carry; }
  void enqueue(std::unique_ptr<detail::pool_job> job);

  struct state;
  context_policy policy_;
  std::unique_ptr<state> s_;
};

// A view of another pool or executor whose submit/post/execute/enqueue(f, args...) wrap f
// so that it runs in the context current at the call. Each member exists when the
// underlying one does; results (futures, bools) are passed through. Holds the executor
// by reference when given an lvalue, by value when given an rvalue (executor handles).
//
// Example:
//   BS::thread_pool bs;  auto pool = ctxlog::carry(bs);
//   pool.submit_task([] { ... });          // not one of the four: use pool.get()
//   pool.submit([] { LOG_INFO("carries the caller's context"); });
template <class E>
class carrying_executor {
 public:
  explicit carrying_executor(E e) : e_(std::forward<E>(e)) {}

  template <class F, class... A>
  decltype(auto) submit(F&& f, A&&... a)
    requires requires(std::remove_reference_t<E>& x) { x.submit(std::declval<detail::carried<std::decay_t<F>>>(), std::forward<A>(a)...); }
  {
    return e_.submit(detail::make_carried(std::forward<F>(f), "carry().submit", origin{nullptr, 0}), std::forward<A>(a)...);
  }
  template <class F, class... A>
  decltype(auto) post(F&& f, A&&... a)
    requires requires(std::remove_reference_t<E>& x) { x.post(std::declval<detail::carried<std::decay_t<F>>>(), std::forward<A>(a)...); }
  {
    return e_.post(detail::make_carried(std::forward<F>(f), "carry().post", origin{nullptr, 0}), std::forward<A>(a)...);
  }
  template <class F, class... A>
  decltype(auto) execute(F&& f, A&&... a)
    requires requires(std::remove_reference_t<E>& x) { x.execute(std::declval<detail::carried<std::decay_t<F>>>(), std::forward<A>(a)...); }
  {
    return e_.execute(detail::make_carried(std::forward<F>(f), "carry().execute", origin{nullptr, 0}), std::forward<A>(a)...);
  }
  template <class F, class... A>
  decltype(auto) enqueue(F&& f, A&&... a)
    requires requires(std::remove_reference_t<E>& x) { x.enqueue(std::declval<detail::carried<std::decay_t<F>>>(), std::forward<A>(a)...); }
  {
    return e_.enqueue(detail::make_carried(std::forward<F>(f), "carry().enqueue", origin{nullptr, 0}), std::forward<A>(a)...);
  }

  std::remove_reference_t<E>& get() noexcept { return e_; }

 private:
  E e_;
};

// Wraps a pool or executor so that the work handed to it carries the caller's context.
template <class E>
carrying_executor<E> carry(E&& e) {
  return carrying_executor<E>(std::forward<E>(e));
}

// std::async that runs f in the caller's context (also with launch::deferred: the
// context is the one at the async() call, not the one at get()).
template <class F, class... A>
auto async(std::launch policy, F&& f, A&&... a) {
  return std::async(policy, detail::make_carried(std::forward<F>(f), "ctxlog::async", origin{nullptr, 0}), std::forward<A>(a)...);
}
template <class F, class... A>
auto async(F&& f, A&&... a) {
  return ctxlog::async(std::launch::async | std::launch::deferred, std::forward<F>(f), std::forward<A>(a)...);
}

// A std::thread whose function runs in the caller's context. An exception escaping f
// calls std::terminate, as with std::thread.
template <class F, class... A>
std::thread make_thread(F&& f, A&&... a) {
  return std::thread(detail::make_carried(std::forward<F>(f), "ctxlog::make_thread", origin{nullptr, 0}), std::forward<A>(a)...);
}

// A std::jthread whose function runs in the caller's context; f still receives the
// stop_token when it takes one.
template <class F, class... A>
std::jthread make_jthread(F&& f, A&&... a) {
  return std::jthread(detail::make_carried(std::forward<F>(f), "ctxlog::make_jthread", origin{nullptr, 0}), std::forward<A>(a)...);
}

}  // namespace v1
}  // namespace ctxlog
