// src/backend.hpp — the back-end: its thread, the merge of the rings in time order, and
// configure / flush / shutdown / stats.
//
// Consumer rule: the rings are read only by the holder of the router's lock (the
// back-end thread during a pass, or a thread writing synchronously, configuring,
// flushing without a back-end thread, or waiting for room in a full ring when no
// back-end thread runs). So any of them may drain, and lines stay in one order.
//
// Lock order (a thread holding one may take only those after it):
//   control_mu_  ->  router lock  ->  producer registry lock  ->  wake_mu_
// and the logger registry's lock, signals_mu_ and the ring cache's lock (queue.hpp) as leaves.
// fork() takes them all in that order.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "ctxlog/config.hpp"
#include "producers.hpp"
#include "sink_router.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

// True on the back-end thread and on a thread that holds the router's lock: its own log
// calls (from a sink or a layout) must not wait on a queue.
extern constinit thread_local bool t_in_backend;

// A drain bound that holds nothing back.
inline constexpr std::uint64_t k_everything = ~std::uint64_t{0};

// The bound of a pass that starts now: records stamped up to it are complete, whatever
// the CPUs did out of order. rdtsc is not ordered with the memory accesses around it: a
// producer's stamp may be taken a few hundred cycles before the loads that precede it
// in program order (the one that saw another thread's line, say), so a pass writes only
// what is older than now by a margin well above that window (~1.6 us); and its own
// reading of the clock is fenced so that it comes before the pass reads any ring.
std::uint64_t pass_bound() noexcept;
// The margin, in timestamp units.
inline constexpr std::uint64_t k_stamp_margin = timestamp_is_tsc ? 4096 : 2000;

class backend {
 public:
  static backend& get() noexcept {
    static auto* b = new backend();  // never destroyed: usable from static destructors
    return *b;
  }

  // ---- for the front-end (frontend.cpp) ----
  dispatch_mode mode() const noexcept { return mode_.load(std::memory_order_relaxed); }
  overflow_policy overflow() const noexcept { return overflow_.load(std::memory_order_relaxed); }
  bool worker_running() const noexcept { return worker_running_flag_.load(std::memory_order_acquire); }
  // Registers the calling thread's producer (and starts the back-end thread if none
  // runs); nullptr when the thread is exiting.
  producer* register_thread();
  // Writes the record on the calling thread, after every queued record stamped no
  // later than it (synchronous mode, exiting threads).
  void write_sync(const std::byte* rec) noexcept;
  // No back-end thread runs and the caller's ring is full: drain the rings here.
  void drain_without_worker() noexcept;
  void count_failed() noexcept;
  // A log call made while its thread was inside another (from a signal handler): issued
  // and dropped, counted with atomics. Async-signal-safe.
  void count_interrupted() noexcept {
    issued_elsewhere_.fetch_add(1, std::memory_order_relaxed);
    dropped_elsewhere_.fetch_add(1, std::memory_order_relaxed);
  }
  // A flight recorder's signal that found its thread's ring full (drop mode): handled
  // at the end of the next pass instead.
  void signal_out_of_band(record_kind kind, std::uint64_t id) noexcept;

  // ---- control ----
  void configure(config c);
  void flush();
  void shutdown();
  stats get_stats();

 private:
  backend();
  void run();
  void start_worker();  // under control_mu_
  void stop_worker();   // under control_mu_; mode_ must be sync already
  void pin_worker();    // under control_mu_
  // Under the router lock: writes every queued record stamped at or before `until`, in
  // timestamp order across the rings; returns how many.
  std::size_t drain(std::uint64_t until);
  std::size_t drain_locked(std::uint64_t until);
  void report_dropped(producer& p);
  void signals_out_of_band();  // under the router lock
  // Drains every ring on the calling thread (the consumer rule), then flushes or closes
  // the sinks. Does nothing on a thread that holds the router lock already.
  enum class then { nothing, flush, close };
  void drain_here(then after) noexcept;
  void at_exit();
  void crash_drain() noexcept;
  void prepare_fork();
  void after_fork_in_parent();
  void unlock_after_fork(bool child);
  void after_fork_in_child();

  sink_router router_;
  producer_registry producers_;
  std::atomic<dispatch_mode> mode_{dispatch_mode::async};
  std::atomic<std::size_t> capacity_{1u << 20};
  std::atomic<std::size_t> initial_capacity_{16u << 10};
  std::atomic<overflow_policy> overflow_{overflow_policy::block};
  int backend_cpu_ = -1;  // under control_mu_

  std::mutex control_mu_;  // configure / shutdown / start / stop

  // Under the router lock: the consumer's view of the producers.
  std::vector<std::shared_ptr<producer>> snapshot_;
  std::uint64_t seen_version_ = ~std::uint64_t{0};

  std::mutex wake_mu_;
  std::condition_variable wake_cv_, done_cv_;
  std::uint64_t flush_requested_ = 0, flush_done_ = 0;
  std::uint64_t flush_done_snapshot_ = 0;  // back-end thread only: flush_done_ as last seen
  bool stop_requested_ = false;
  bool worker_running_ = false;
  std::atomic<bool> worker_running_flag_{false};  // worker_running_, readable without the lock
  std::thread worker_;
  std::atomic<bool> crash_requested_{false}, crash_done_{false};

  std::atomic<std::uint64_t> issued_elsewhere_{0}, dropped_elsewhere_{0};

  std::mutex signals_mu_;  // a leaf
  std::vector<std::pair<record_kind, std::uint64_t>> signals_;
  std::atomic<bool> signals_pending_{false};
};

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
