// src/propagation/pool.cpp — the context-carrying thread pool and its report of exceptions
// escaping post()ed tasks.
//
// The pool is a plain mutex + condition-variable queue of type-erased jobs; each job
// carries the context captured at submit and installs it itself (pool_job::run), so the
// workers here know nothing about contexts.
#include "ctxlog/pool.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <utility>
#include <vector>

#include "ctxlog/log.hpp"

namespace ctxlog {
inline namespace v1 {

namespace detail {

void report_task_exception(std::exception_ptr e, origin where) noexcept {
  try {
    std::rethrow_exception(std::move(e));
  } catch (const std::exception& ex) {
    LOG_ERROR_TO(get_logger("ctxlog"), "task posted at {}:{} threw: {}", where.file ? where.file : "?", where.line,
                 ex.what());
  } catch (...) {
    LOG_ERROR_TO(get_logger("ctxlog"), "task posted at {}:{} threw a non-std exception", where.file ? where.file : "?",
                 where.line);
  }
}

}  // namespace detail

namespace {
// The frame references of consecutive jobs of one request, released in one step.
class release_batch {
 public:
  release_batch() = default;
  release_batch(const release_batch&) = delete;
  release_batch& operator=(const release_batch&) = delete;
  ~release_batch() { flush(); }
  void add(detail::frame* f) noexcept {
    if (!f) return;
    if (f != f_) {
      flush();
      f_ = f;
    }
    ++n_;
  }
  bool empty() const noexcept { return f_ == nullptr; }
  void flush() noexcept {
    if (detail::frame* f = std::exchange(f_, nullptr)) detail::release_n(f, std::exchange(n_, 0));
  }

 private:
  detail::frame* f_ = nullptr;
  std::uint32_t n_ = 0;
};
}  // namespace

struct thread_pool::state {
  std::mutex mu;
  std::condition_variable work_cv;  // a job was queued, or stopping
  std::condition_variable idle_cv;  // the queue emptied and no job is running
  std::deque<std::unique_ptr<detail::pool_job>> queue;
  std::size_t running = 0;
  bool stopping = false;
  bool joined = false;
  std::vector<std::thread> workers;

  void work() {
    release_batch batch;  // declared first: flushed after the lock below is let go
    std::unique_lock lk(mu);
    for (;;) {
      work_cv.wait(lk, [&] { return stopping || !queue.empty(); });
      if (queue.empty()) return;  // stopping and drained
      std::unique_ptr<detail::pool_job> job = std::move(queue.front());
      queue.pop_front();
      ++running;
      lk.unlock();
      job->run();
      batch.add(job->take_context());
      job.reset();
      lk.lock();
      // Nothing queued: release now (outside the lock: destructors of stored values may
      // submit again), so an idle pool holds no context.
      if (queue.empty() && !batch.empty()) {
        lk.unlock();
        batch.flush();
        lk.lock();
      }
      --running;
      if (running == 0 && queue.empty()) idle_cv.notify_all();
    }
  }
};

thread_pool::thread_pool(std::size_t threads, context_policy policy) : policy_(policy), s_(std::make_unique<state>()) {
  if (threads == 0) threads = 1;
  s_->workers.reserve(threads);
  try {
    for (std::size_t i = 0; i < threads; ++i) s_->workers.emplace_back([st = s_.get()] { st->work(); });
  } catch (...) {
    shutdown(shutdown_policy::discard);
    throw;
  }
}

thread_pool::~thread_pool() { shutdown(shutdown_policy::drain); }

void thread_pool::enqueue(std::unique_ptr<detail::pool_job> job) {
  {
    std::lock_guard lk(s_->mu);
    if (s_->stopping) throw pool_stopped("ctxlog::thread_pool: submit after shutdown()");
    s_->queue.push_back(std::move(job));
  }
  s_->work_cv.notify_one();
}

void thread_pool::wait_idle() {
  std::unique_lock lk(s_->mu);
  s_->idle_cv.wait(lk, [&] { return s_->queue.empty() && s_->running == 0; });
}

void thread_pool::shutdown(shutdown_policy p) {
  std::deque<std::unique_ptr<detail::pool_job>> dropped;
  {
    std::lock_guard lk(s_->mu);
    if (s_->joined) return;
    s_->stopping = true;
    if (p == shutdown_policy::discard) dropped.swap(s_->queue);
  }
  s_->work_cv.notify_all();
  // Discarded jobs release their callables in their own contexts, outside the lock.
  for (auto& j : dropped) {
    j->discard();
    j.reset();
  }
  for (auto& t : s_->workers)
    if (t.joinable()) t.join();
  std::lock_guard lk(s_->mu);
  s_->joined = true;
  s_->idle_cv.notify_all();
}

std::size_t thread_pool::size() const noexcept { return s_->workers.size(); }

}  // namespace v1
}  // namespace ctxlog
