// src/producers.hpp — the per-thread rings and counters, their registration and retirement.
//
// Each logging thread owns one producer (created on its first queued log call): its
// record_queue and its issued/dropped counters. The registry lists them for the
// back-end and keeps the totals of retired ones; a thread's producer is marked finished
// when the thread exits and retired once the back-end has drained it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "ctxlog/context.hpp"
#include "queue.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

// A counter with one writer: a plain load and store, no locked instruction on the hot
// path; relaxed, because readers only want an eventually exact count.
inline void bump(std::atomic<std::uint64_t>& c) noexcept {
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// The calling thread's OS id, and this process's id; both re-read after fork().
std::uint32_t thread_id() noexcept;
std::uint32_t process_id() noexcept;

// frame id the producer sent last when that was "no context, flagged as lost".
inline constexpr std::uint64_t k_lost_key = ~std::uint64_t{0};

// One logging thread's queue and counters, shared by that thread and the back-end.
struct producer {
  producer(std::size_t initial, std::size_t capacity, std::uint32_t tid) : queue(initial, capacity), thread(tid) {}
  record_queue queue;
  const std::uint32_t thread;
  // Written by the producer on every call, on a line of their own: the back-end reads
  // `dropped` and `finished` on every pass, and a line it has read must be taken back
  // from its CPU before the producer's next store to it.
  alignas(64) std::atomic<std::uint64_t> issued{0};  // written by the producer only
  std::uint64_t sent_key = 0;  // producer only: frame id (or k_lost_key) of the last frame entry
  alignas(64) std::atomic<std::uint64_t> dropped{0};  // written by the producer only
  std::atomic<bool> finished{false};                  // the thread has exited
  // consumer only (the holder of the back-end's lock)
  context ctx_now;  // owns the reference the last frame entry carried
  bool lost_now = false;
  std::uint64_t dropped_reported = 0;
};

// The calling thread's producer, or nullptr (not registered yet, or the thread is
// exiting: then registration fails and its log calls take the synchronous path).
producer* this_thread_producer() noexcept;

class producer_registry {
 public:
  // Creates and lists the calling thread's producer; nullptr when the thread is exiting.
  producer* register_this_thread(std::size_t initial, std::size_t capacity);

  // Consumer: refreshes `out` with the listed producers when the list changed since the
  // last call (version kept by the caller). The acquire pairs with the release in
  // register_this_thread and retire: a producer listed later is seen.
  void refresh(std::vector<std::shared_ptr<producer>>& out, std::uint64_t& seen) const;
  // Consumer: unlists the producers of exited threads once drained (the context each
  // holds is released), adding their counters to the retired totals.
  void retire_finished();

  struct totals {
    std::uint64_t issued = 0, dropped = 0;
    std::uint64_t queue_bytes = 0;  // ring memory of the listed producers
  };
  totals count() const;

  // fork(): the child inherits the parent's rings, whose records are the parent's to
  // write: the child forgets them (and the counts) and starts empty.
  std::mutex& mutex() noexcept { return mu_; }
  void forget_all_in_child() noexcept;

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<producer>> list_;
  std::atomic<std::uint64_t> version_{0};
  totals retired_{};
};

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
