// src/producers.cpp — per-thread producers: registration, exit, retirement (producers.hpp).
#include "producers.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <iterator>

#include "ctxlog/detail/lifetime.hpp"
#if CTXLOG_DETAIL_ASAN
#include <sanitizer/asan_interface.h>
#endif

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

// ---- the ring cache (queue.hpp) ----
namespace {

constexpr unsigned k_smallest_shift = 12;        // 4 KiB, the smallest ring
constexpr unsigned k_cached_sizes = 5;           // 4 KiB .. 64 KiB
constexpr std::size_t k_cached_bytes = 256 << 10;  // kept per size
constexpr std::size_t k_ready = 8;                 // first rings kept ready (keep_rings_ready)

// Held for a few loads and stores only, by a new thread and the back-end at once at
// times: a sleeping lock's wake-up costs ~15 us on the machines measured, so it spins.
class spin_lock {
 public:
  void lock() noexcept {
    while (held_.exchange(true, std::memory_order_acquire))
      while (held_.load(std::memory_order_relaxed)) pause();
  }
  void unlock() noexcept { held_.store(false, std::memory_order_release); }

 private:
  static void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  std::atomic<bool> held_{false};
};

// Free rings as lists linked through ring_segment::next (unused while a ring is free).
struct ring_cache {
  spin_lock mu;
  ring_segment* head[k_cached_sizes] = {};
  std::atomic<std::size_t> count[k_cached_sizes] = {};  // written under mu, read without it too
};
// Never destroyed: rings are freed by threads that exit after static destructors ran.
ring_cache& rings() {
  static ring_cache* c = new ring_cache;
  return *c;
}

// How many free rings of size class k are kept.
constexpr std::size_t kept_at_most(unsigned k) noexcept { return k_cached_bytes >> (k + k_smallest_shift); }

// The list for rings of cap bytes, or k_cached_sizes when that size is not kept.
unsigned size_class(std::size_t cap) noexcept {
  const unsigned shift = static_cast<unsigned>(std::countr_zero(cap));
  return shift >= k_smallest_shift && shift < k_smallest_shift + k_cached_sizes ? shift - k_smallest_shift
                                                                                : k_cached_sizes;
}

}  // namespace

ring_segment* make_ring(std::size_t cap) {
  if (const unsigned k = size_class(cap); k < k_cached_sizes) {
    ring_cache& c = rings();
    ring_segment* s = nullptr;
    {
      std::lock_guard lk(c.mu);
      if ((s = c.head[k])) {
        c.head[k] = s->next;
        c.count[k].store(c.count[k].load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
      }
    }
    if (s) {
#if CTXLOG_DETAIL_ASAN
      ASAN_UNPOISON_MEMORY_REGION(s->buf.get(), s->cap);
#endif
      s->next = nullptr;
      s->published.store(0, std::memory_order_relaxed);
      s->consumed.store(0, std::memory_order_relaxed);
      return s;  // its old bytes are never read: every entry is written before it is published
    }
  }
  return new ring_segment(cap);
}

void drop_ring(ring_segment* s) noexcept {
  if (!s) return;
  if (const unsigned k = size_class(s->cap); k < k_cached_sizes) {
    ring_cache& c = rings();
    std::lock_guard lk(c.mu);
    if (const std::size_t n = c.count[k].load(std::memory_order_relaxed); n < kept_at_most(k)) {
#if CTXLOG_DETAIL_ASAN
      ASAN_POISON_MEMORY_REGION(s->buf.get(), s->cap);  // a read of a freed ring is still reported
#endif
      s->next = c.head[k];
      c.head[k] = s;
      c.count[k].store(n + 1, std::memory_order_relaxed);
      return;
    }
  }
  delete s;
}

void keep_rings_ready(std::size_t cap) noexcept {
  const unsigned k = size_class(cap);
  if (k >= k_cached_sizes) return;
  ring_cache& c = rings();
  const std::size_t want = std::min(k_ready, kept_at_most(k));  // drop_ring keeps no more
  while (c.count[k].load(std::memory_order_relaxed) < want) {
    try {
      drop_ring(new ring_segment(cap));
    } catch (...) {  // no memory now: a new thread allocates its own
      return;
    }
  }
}

void lock_ring_cache() noexcept { rings().mu.lock(); }
void unlock_ring_cache() noexcept { rings().mu.unlock(); }

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

// A new thread's first log call takes mu_ to list itself: the back-end holds it only to
// copy or edit the list, never while a producer is destroyed (its ring freed, its context
// released), which happens after the lock is let go.
void producer_registry::refresh(std::vector<std::shared_ptr<producer>>& out, std::uint64_t& seen) const {
  if (seen == version_.load(std::memory_order_acquire)) return;
  std::vector<std::shared_ptr<producer>> fresh;
  {
    std::lock_guard lk(mu_);
    fresh = list_;
    seen = version_.load(std::memory_order_relaxed);
  }
  out.swap(fresh);  // fresh now holds the last references to retired producers
}

void producer_registry::retire_finished() {
  std::vector<std::shared_ptr<producer>> gone;
  {
    std::lock_guard lk(mu_);
    // (The back-end merges rings by time stamp: their order in the list does not matter.)
    const auto done = std::partition(list_.begin(), list_.end(), [](const std::shared_ptr<producer>& p) {
      return !p->finished.load(std::memory_order_acquire) || !p->queue.empty();
    });
    if (done == list_.end()) return;
    for (auto it = done; it != list_.end(); ++it) {
      retired_.issued += (*it)->issued.load(std::memory_order_relaxed);
      retired_.dropped += (*it)->dropped.load(std::memory_order_relaxed);
    }
    gone.assign(std::make_move_iterator(done), std::make_move_iterator(list_.end()));
    list_.erase(done, list_.end());
    version_.fetch_add(1, std::memory_order_release);
  }
  for (const auto& p : gone) p->ctx_now = context{};  // the consumer's own: no lock needed
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
