// src/backend.cpp — the back-end thread and its lifecycle (see backend.hpp).
//
// A pass (drain.cpp) writes the records stamped before it began, in timestamp order.
#include "backend.hpp"
#include "sampling.hpp"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "../sinks/write_signal_guard.hpp"
#include "os_hooks.hpp"
#include "registry.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

constinit thread_local bool t_in_backend = false;


backend::backend() {
  install_fork_hooks({[] { get().prepare_fork(); }, [] { get().after_fork_in_parent(); },
                      [] { get().after_fork_in_child(); }});
}

// ---------------- for the front-end ----------------

producer* backend::register_thread() {
  producer* p = producers_.register_this_thread(initial_capacity_.load(std::memory_order_relaxed),
                                               capacity_.load(std::memory_order_relaxed));
  if (p && !worker_running()) {
    std::lock_guard control(control_mu_);
    if (mode_.load(std::memory_order_relaxed) == dispatch_mode::async) start_worker();
  }
  return p;
}

void backend::write_sync(const std::byte* rec) noexcept {
  record_header h;
  std::memcpy(&h, rec, sizeof h);
  const bool line = is_log_line(static_cast<record_kind>(h.kind));  // else a recorder's signal
  if (line) issued_elsewhere_.fetch_add(1, std::memory_order_relaxed);
  if (t_in_backend) {  // logged from inside a sink or layout: the lock is ours already
    if (line) dropped_elsewhere_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  t_in_backend = true;
  try {
    auto lk = router_.lock();
    // Queued records stamped before this one go first; the margin keeps a record that
    // happened-before this one in that set even if its stamp was taken early.
    drain_locked(h.timestamp + k_stamp_margin);
    if (router_.closed()) {
      if (line) dropped_elsewhere_.fetch_add(1, std::memory_order_relaxed);
    } else {
      router_.write(rec, current(), context_lost(), thread_id());
      router_.flush_sinks();  // synchronous: the line is out when the call returns
    }
  } catch (...) {
    if (line) dropped_elsewhere_.fetch_add(1, std::memory_order_relaxed);
  }
  t_in_backend = false;
}

void backend::drain_without_worker() noexcept { drain_here(then::nothing); }

void backend::drain_here(then after) noexcept {
  if (t_in_backend) return;  // a sink or layout of ours: the lock holder drains
  t_in_backend = true;
  try {
    auto lk = router_.lock();
    drain_locked(k_everything);
    if (after == then::flush) router_.flush_sinks(true);
    if (after == then::close) router_.close();
  } catch (...) {
  }
  t_in_backend = false;
}

void backend::count_failed() noexcept {
  if (producer* p = this_thread_producer()) {
    bump(p->issued);
    bump(p->dropped);
  } else {
    issued_elsewhere_.fetch_add(1, std::memory_order_relaxed);
    dropped_elsewhere_.fetch_add(1, std::memory_order_relaxed);
  }
}

// ---------------- control ----------------

void backend::configure(config c) {
  routing r = make_routing(c);
  std::lock_guard control(control_mu_);
  {
    // Records logged before this call go to the old sinks: drained here, under the lock
    // that the back-end thread takes for a pass, so it goes on running (no record waits
    // for a new thread, none is dropped) and this returns after one bounded drain.
    auto lk = router_.lock();
    t_in_backend = true;
    try {
      drain_locked(k_everything);
      router_.install(std::move(r));  // may reject the configuration: nothing changed
    } catch (...) {
      t_in_backend = false;
      throw;
    }
    t_in_backend = false;
  }
  apply_levels(c);
  capacity_.store(c.queue_capacity, std::memory_order_relaxed);
  initial_capacity_.store(c.queue_initial_capacity, std::memory_order_relaxed);
  overflow_.store(c.overflow, std::memory_order_relaxed);
  const bool repin = backend_cpu_ != c.backend_cpu;
  backend_cpu_ = c.backend_cpu;
  set_crash_hooks(c.crash_handler, {[]() noexcept { get().crash_drain(); },
                                    []() noexcept {
                                      try {
                                        get().flush();
                                      } catch (...) {
                                      }
                                    }});
  if (c.mode == dispatch_mode::sync) {
    mode_.store(dispatch_mode::sync, std::memory_order_release);
    stop_worker();
    drain_without_worker();
  } else {
    mode_.store(dispatch_mode::async, std::memory_order_release);
    if (repin) pin_worker();
    start_worker();
  }
}

void backend::flush() {
  if (t_in_backend) return;  // from a sink: the lock holder flushes after this pass
  {
    std::unique_lock lk(wake_mu_);
    if (worker_running_) {
      const std::uint64_t ticket = ++flush_requested_;
      wake_cv_.notify_all();
      done_cv_.wait(lk, [&] { return flush_done_ >= ticket || !worker_running_; });
      if (flush_done_ >= ticket) return;
    }
  }
  drain_here(then::flush);  // no back-end thread: drain what async mode left queued, here
}

void backend::shutdown() {
  std::lock_guard control(control_mu_);
  mode_.store(dispatch_mode::sync, std::memory_order_release);
  stop_worker();
  drain_here(then::close);
}

stats backend::get_stats() {
  const auto t = producers_.count();
  return {issued_elsewhere_.load(std::memory_order_relaxed) + t.issued,
          router_.written.load(std::memory_order_relaxed),
          dropped_elsewhere_.load(std::memory_order_relaxed) + t.dropped,
          router_.sink_errors.load(std::memory_order_relaxed),
          sink_line_totals.dropped.load(std::memory_order_relaxed),
          sink_line_totals.buffered.load(std::memory_order_relaxed),
          router_.recorders().discarded.load(std::memory_order_relaxed),
          router_.recorders().held.load(std::memory_order_relaxed),
          suppressed_total(),
          t.queue_bytes};
}

// At exit: drain and stop the thread; later log calls (static destructors) are written
// synchronously.
void backend::at_exit() {
  std::lock_guard control(control_mu_);
  mode_.store(dispatch_mode::sync, std::memory_order_release);
  stop_worker();
  drain_here(then::flush);
}

// In a fatal-signal handler: have the back-end write out everything queued, waiting at
// most a few seconds. Uses only async-signal-safe calls.
void backend::crash_drain() noexcept {
  if (!worker_running() || t_in_backend) return;
  crash_requested_.store(true, std::memory_order_release);
  for (int i = 0; i < 3000 && !crash_done_.load(std::memory_order_acquire); ++i) {
    const timespec ms{0, 1000000};
    ::nanosleep(&ms, nullptr);
  }
}

// ---------------- the back-end thread ----------------

void backend::start_worker() {
  std::lock_guard lk(wake_mu_);
  if (worker_running_) return;
  stop_requested_ = false;
  worker_running_ = true;
  worker_running_flag_.store(true, std::memory_order_release);
  worker_ = std::thread([this] { run(); });
  pin_worker();
  static const bool registered = [] {
    std::atexit([] { get().at_exit(); });
    return true;
  }();
  (void)registered;
}

void backend::pin_worker() {
  if (!worker_.joinable()) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (backend_cpu_ >= 0 && backend_cpu_ < CPU_SETSIZE) {
    CPU_SET(backend_cpu_, &set);
  } else {
    for (int i = 0; i < CPU_SETSIZE; ++i) CPU_SET(i, &set);
  }
  ::pthread_setaffinity_np(worker_.native_handle(), sizeof set, &set);  // best effort
}

void backend::stop_worker() {
  {
    std::lock_guard lk(wake_mu_);
    if (!worker_running_) return;
    stop_requested_ = true;
    wake_cv_.notify_all();
  }
  worker_.join();
  std::lock_guard lk(wake_mu_);
  worker_running_ = false;
  worker_running_flag_.store(false, std::memory_order_release);
  done_cv_.notify_all();
}

void backend::run() {
  t_in_backend = true;
  // A closed pipe must come back as EPIPE and a file past RLIMIT_FSIZE as EFBIG, not kill
  // the process: blocked for the thread's life, so the sinks' guards need not do it per write.
  sigset_t fatal;
  sigemptyset(&fatal);
  sigaddset(&fatal, SIGPIPE);
  sigaddset(&fatal, SIGXFSZ);
  sinks::detail::t_write_signals_blocked = pthread_sigmask(SIG_BLOCK, &fatal, nullptr) == 0;
  unsigned idle_passes = 0;
  for (;;) {
    std::uint64_t ticket;
    bool stopping;
    {
      std::lock_guard lk(wake_mu_);
      ticket = flush_requested_;
      stopping = stop_requested_;
    }
    const bool crash = crash_requested_.load(std::memory_order_acquire);
    // A flush() waits for every record logged before it, stopping (mode_ is sync, nothing
    // new is queued) and crashing want everything: such a pass writes all that is
    // published, in timestamp order. Otherwise only what is older than the pass bound.
    const bool everything = stopping || crash || ticket > flush_done_snapshot_;
    const std::uint64_t until = everything ? k_everything : pass_bound();
    std::size_t n = 0;
    try {
      n = drain(until);
    } catch (...) {
    }
    keep_rings_ready(record_queue::first_ring(initial_capacity_.load(std::memory_order_relaxed),
                                              capacity_.load(std::memory_order_relaxed)));
    if (crash) crash_done_.store(true, std::memory_order_release);
    if (ticket > flush_done_snapshot_) {  // flush() promises every sink flushed, written to or not
      auto lk = router_.lock();
      router_.flush_sinks(true);
    }
    {
      std::unique_lock lk(wake_mu_);
      if (ticket > flush_done_) {
        flush_done_ = ticket;
        done_cv_.notify_all();
      }
      flush_done_snapshot_ = flush_done_;
      if (stopping && n == 0) return;
      // Idle: poll every 0.5 ms at first, every 5 ms after a while. Producers never
      // signal (no system call on the hot path); flush() and stop do.
      idle_passes = n == 0 ? idle_passes + 1 : 0;
      if (n == 0 && flush_requested_ == flush_done_ && !stop_requested_)
        wake_cv_.wait_for(lk, idle_passes < 200 ? std::chrono::microseconds(500) : std::chrono::microseconds(5000));
    }
  }
}

// ---------------- fork ----------------
// The child must be able to log (synchronously) whatever the parent's threads held when
// it forked, so fork() waits for every lock, in the lock order. The sinks are flushed
// first, so the child never writes out bytes the parent had buffered.

void backend::prepare_fork() {
  control_mu_.lock();
  router_.mutex().lock();
  const bool was = t_in_backend;
  t_in_backend = true;
  router_.flush_sinks(true);
  t_in_backend = was;
  queued_sinks_prepare_fork();
  producers_.mutex().lock();
  wake_mu_.lock();
  signals_mu_.lock();
  logger_registry_mutex().lock();
  lock_ring_cache();
}

void backend::unlock_after_fork(bool child) {
  unlock_ring_cache();
  logger_registry_mutex().unlock();
  signals_mu_.unlock();
  wake_mu_.unlock();
  producers_.mutex().unlock();
  queued_sinks_after_fork(child);
  router_.mutex().unlock();
  control_mu_.unlock();
}

void backend::after_fork_in_parent() { unlock_after_fork(false); }

void backend::after_fork_in_child() {
  unlock_after_fork(true);
  // The back-end thread does not exist in the child: log synchronously there until the
  // child configures ctxlog again (which starts a new back-end thread). The records in
  // the parent's rings are the parent's to write.
  new (&worker_) std::thread();  // the parent's handle means nothing here; never join it
  worker_running_ = false;
  worker_running_flag_.store(false, std::memory_order_relaxed);
  stop_requested_ = false;
  flush_requested_ = flush_done_ = flush_done_snapshot_ = 0;
  crash_requested_.store(false, std::memory_order_relaxed);
  crash_done_.store(false, std::memory_order_relaxed);
  mode_.store(dispatch_mode::sync, std::memory_order_relaxed);
  snapshot_.clear();
  seen_version_ = ~std::uint64_t{0};
  producers_.forget_all_in_child();
  router_.reset_counts_in_child();
  issued_elsewhere_.store(0, std::memory_order_relaxed);
  dropped_elsewhere_.store(0, std::memory_order_relaxed);
  signals_.clear();  // the parent's recorders
  signals_pending_.store(false, std::memory_order_relaxed);
}

}  // namespace detail

void configure(config c) { detail::backend::get().configure(std::move(c)); }
void flush() { detail::backend::get().flush(); }
void shutdown() { detail::backend::get().shutdown(); }
stats get_stats() noexcept {
  try {
    return detail::backend::get().get_stats();
  } catch (...) {
    return {};
  }
}

}  // namespace v1
}  // namespace ctxlog
