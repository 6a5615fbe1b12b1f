// src/producers.cpp — per-thread producers: registration, exit, retirement (producers.hpp).
#include "producers.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

constinit thread_local std::uint32_t t_tid = 0;
std::atomic<std::uint32_t> g_pid{0};

constinit thread_local producer* t_producer = nullptr;
constinit thread_local bool t_exited = false;  // this thread's producer is retired

// Marks the thread's producer finished when the thread exits; the back-end then drains
// it and lets it go. Log calls made later on this thread take the synchronous path.
struct reaper {
  std::shared_ptr<producer> p;
  ~reaper() {
    // release pairs with the consumer's acquire in retire_finished(): every record this
    // thread published is visible once it sees `finished`.
    if (p) p->finished.store(true, std::memory_order_release);
    t_producer = nullptr;
    t_exited = true;
  }
};
thread_local reaper t_reaper;

}  // namespace

std::uint32_t thread_id() noexcept {
  if (t_tid == 0) t_tid = static_cast<std::uint32_t>(::syscall(SYS_gettid));
  return t_tid;
}

std::uint32_t process_id() noexcept {
  std::uint32_t p = g_pid.load(std::memory_order_relaxed);
  if (p == 0) g_pid.store(p = static_cast<std::uint32_t>(::getpid()), std::memory_order_relaxed);
  return p;
}

producer* this_thread_producer() noexcept { return t_producer; }

producer* producer_registry::register_this_thread(std::size_t initial, std::size_t capacity) {
  if (t_exited) return nullptr;
  auto p = std::make_shared<producer>(initial, capacity, thread_id());
  {
    std::lock_guard lk(mu_);
    list_.push_back(p);
    version_.fetch_add(1, std::memory_order_release);
  }
  t_producer = p.get();
  t_reaper.p = std::move(p);
  return t_producer;
}

void producer_registry::refresh(std::vector<std::shared_ptr<producer>>& out, std::uint64_t& seen) const {
  if (seen == version_.load(std::memory_order_acquire)) return;
  std::lock_guard lk(mu_);
  out = list_;
  seen = version_.load(std::memory_order_relaxed);
}

void producer_registry::retire_finished() {
  std::lock_guard lk(mu_);
  const auto n = list_.size();
  std::erase_if(list_, [this](const std::shared_ptr<producer>& p) {
    if (!p->finished.load(std::memory_order_acquire) || !p->queue.empty()) return false;
    retired_.issued += p->issued.load(std::memory_order_relaxed);
    retired_.dropped += p->dropped.load(std::memory_order_relaxed);
    p->ctx_now = context{};
    return true;
  });
  if (list_.size() != n) version_.fetch_add(1, std::memory_order_release);
}

producer_registry::totals producer_registry::count() const {
  std::lock_guard lk(mu_);
  totals t = retired_;
  for (const auto& p : list_) {
    t.issued += p->issued.load(std::memory_order_relaxed);
    t.dropped += p->dropped.load(std::memory_order_relaxed);
    t.queue_bytes += p->queue.bytes();
  }
  return t;
}

void producer_registry::forget_all_in_child() noexcept {
  // The other threads do not exist here: nothing else uses their producers. (glibc makes
  // malloc usable in the child of a multi-threaded fork.)
  list_.clear();
  retired_ = {};
  version_.fetch_add(1, std::memory_order_relaxed);
  t_reaper.p.reset();
  t_producer = nullptr;
  t_tid = 0;
  g_pid.store(0, std::memory_order_relaxed);
}

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
