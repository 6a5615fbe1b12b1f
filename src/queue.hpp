// src/queue.hpp — one producer thread's bounded, lock-free byte ring (SPSC).
//
// The producer reserves contiguous space for an entry, writes it in place and publishes
// it with one release store; the back-end reads entries in place and hands the space
// back with one release store per batch. Entries are 8-byte aligned and start with an
// entry_header; an entry that would cross the end of the ring is preceded by a padding
// entry, so every entry is contiguous. A ring's memory is touched when it is allocated
// (a thread's first call, or a growth): first touch of a page costs microseconds here,
// and is not left to the stores of the hot path.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "ctxlog/detail/record.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

enum class entry_kind : std::uint32_t {
  record,       // a record_header and its arguments
  heap_record,  // a pointer to a record too large for the ring (the back-end frees it)
  frame,        // the producer's context changed: a retained frame* (or none) follows
  padding,      // skip to the start of the ring
  link,         // the producer went on in a larger ring (ring_segment::next); no payload
};

struct entry_header {
  std::uint32_t size;  // of the whole entry, header included, a multiple of 8
  entry_kind kind;
};

struct frame;

// The entries, each defined once; every entry is written and read whole through these
// (memcpy: the ring's bytes have no object lifetime of their own).
// entry_kind::record: the header, then a record_header and its arguments
// (ctxlog/detail/record.hpp), padded to a multiple of 8.
struct frame_entry {
  entry_header h;
  const frame* f;  // the producer's new context, one counted reference; nullptr: none
  std::uint32_t lost;  // 1: no context, and the context-loss check flagged it
  std::uint32_t unused;
};
struct heap_entry {
  entry_header h;
  std::byte* record;  // new[]-allocated record_header and arguments; the back-end frees it
};
static_assert(sizeof(frame_entry) % 8 == 0 && sizeof(heap_entry) % 8 == 0);

template <class E>
inline void put_entry(std::byte* at, const E& e) noexcept {
  std::memcpy(at, &e, sizeof e);
}
template <class E>
inline E get_entry(const std::byte* at) noexcept {
  E e;
  std::memcpy(&e, at, sizeof e);
  return e;
}

constexpr std::size_t align8(std::size_t n) noexcept { return (n + 7) & ~std::size_t{7}; }

// One ring of a record_queue: a power-of-two buffer and its two positions.
struct ring_segment {
  explicit ring_segment(std::size_t c)
      : buf(std::make_unique<std::byte[]>(c)), cap(c) {}  // value-initialised: every page touched now
  std::unique_ptr<std::byte[]> buf;
  const std::size_t cap;
  ring_segment* next = nullptr;  // the producer's next ring, set before the link entry is published
  alignas(64) std::atomic<std::size_t> published{0};
  alignas(64) std::atomic<std::size_t> consumed{0};
};

// Rings come from and go back to a small process-wide cache: a freed ring of up to
// 64 KiB is kept (at most 256 KiB of each size) for the next thread or growth that needs
// one of its size. A new page costs ~10 us to fault in on the machines measured, and a
// freed ring's pages are often given back to the kernel by malloc (the top of a thread's
// arena), so without it a thread's first log call paid up to ~100 us (bench/thread_start).
// Defined in producers.cpp. make_ring throws std::bad_alloc; drop_ring(nullptr) is a no-op.
ring_segment* make_ring(std::size_t cap);
void drop_ring(ring_segment* s) noexcept;
// The back-end thread, once per pass: a few rings of cap bytes (a new thread's first
// ring) wait in the cache, allocated and touched there, so a burst of new threads does
// not find it empty.
void keep_rings_ready(std::size_t cap) noexcept;
// fork(): held across it (after every other lock of the back-end), so the child's cache
// is consistent.
void lock_ring_cache() noexcept;
void unlock_ring_cache() noexcept;

// A producer's queue: a ring that starts small and grows. A thread's first log call
// allocates (and touches) only `initial` bytes; when an entry does not fit and the ring
// is smaller than `capacity`, the producer allocates one twice as large (grow), and when
// the ring laps fast it takes a full-size one the back-end allocated (busy); either way
// it ends the old ring with a link entry and goes on in the new one, and the back-end
// frees the old ring when it reads the link. So a thread that logs a few lines costs a
// few KiB, a thread with bursts or a steady flow gets up to `capacity`, and only a full
// ring of `capacity` bytes is full. The ring does not shrink while its thread lives; it
// is freed when the thread exits (docs/architecture.md#memory).
class record_queue {
 public:
  // Sizes in bytes, rounded up to a power of two, at least 4 KiB; initial <= capacity.
  record_queue(std::size_t initial, std::size_t capacity) {
    max_cap_ = round_up(capacity);
    auto* s = make_ring(first_ring(initial, capacity));
    bytes_.store(s->cap, std::memory_order_relaxed);
    wseg_ = rseg_ = s;
    use_for_writing(s);
    rbuf_ = s->buf.get();
    rmask_ = s->cap - 1;
  }
  ~record_queue() {
    drop_ring(offered_.load(std::memory_order_relaxed));
    // The chain from the oldest unread ring to the one being written.
    for (ring_segment* s = rseg_; s;) {
      ring_segment* n = s == wseg_ ? nullptr : s->next;
      drop_ring(s);
      s = n;
    }
  }
  record_queue(const record_queue&) = delete;
  record_queue& operator=(const record_queue&) = delete;

  // The size of the first ring of a queue made with these sizes.
  static std::size_t first_ring(std::size_t initial, std::size_t capacity) noexcept {
    return std::min(round_up(initial), round_up(capacity));
  }

  // The largest entry that goes into the ring; larger records go to the heap.
  std::size_t max_entry() const noexcept { return max_cap_ / 4; }

  // Producer: space for an entry of n bytes (n a multiple of 8, n <= max_entry()), or
  // nullptr when the ring is full. Nothing is visible to the back-end before publish().
  // Every reservation leaves room for a link entry after it.
  std::byte* reserve(std::size_t n) noexcept {
    std::size_t pos = write_ & mask_;
    std::size_t pad = cap_ - pos < n ? cap_ - pos : 0;
    if (write_ + pad + n + sizeof(entry_header) - read_cache_ > cap_) {
      // acquire pairs with the back-end's release in release(): the space it hands back
      // is no longer being read.
      read_cache_ = wseg_->consumed.load(std::memory_order_acquire);
      if ((cap_ < max_cap_ || asked_) && busy(n)) {  // asked_: an offer may still come, to be freed
        pos = 0;
        pad = 0;
      } else if (write_ + pad + n + sizeof(entry_header) - read_cache_ > cap_) {
        if (cap_ == max_cap_ || !grow(n)) return nullptr;
        pos = 0;
        pad = 0;
      }
    }
    if (pad) {
      put_entry(buf_ + pos, entry_header{static_cast<std::uint32_t>(pad), entry_kind::padding});
      write_ += pad;
    }
    std::byte* p = buf_ + (write_ & mask_);
    write_ += n;
    return p;
  }

  // Producer: makes every entry reserved so far visible. release pairs with the acquire
  // in readable(): the entries' bytes are written before the position that covers them.
  // Then asks for the next entry's first two cache lines in exclusive state: the back-end
  // read them one lap ago and may still hold them, so each store to them would otherwise
  // wait for the other CPU's copy to be invalidated (~150 ns here). The store buffer
  // hides that wait from the call itself, but the calling thread's next locked
  // instruction or fence (a scope exit, a mutex, a reference count) pays it. A hint
  // only: nothing is read or written, so it needs no ordering.
  void publish() noexcept {
    wseg_->published.store(write_, std::memory_order_release);
    prefetch_for_write(buf_ + (write_ & mask_));
    prefetch_for_write(buf_ + ((write_ + 64) & mask_));
  }

  // Consumer: the position up to which entries may be read (in the ring being read).
  std::size_t readable() const noexcept { return rseg_->published.load(std::memory_order_acquire); }
  std::size_t read_position() const noexcept { return read_; }
  const std::byte* at(std::size_t pos) const noexcept { return rbuf_ + (pos & rmask_); }
  // Consumer: everything before pos has been read and may be reused.
  void release(std::size_t pos) noexcept {
    read_ = pos;
    rseg_->consumed.store(pos, std::memory_order_release);
  }
  bool empty() const noexcept { return read_ == readable(); }
  // Consumer, at a link entry (everything before it read): frees the ring and goes on
  // in the next one, at position 0.
  void follow_link() noexcept {
    ring_segment* n = rseg_->next;
    bytes_.fetch_sub(rseg_->cap, std::memory_order_relaxed);
    drop_ring(rseg_);
    rseg_ = n;
    rbuf_ = n->buf.get();
    rmask_ = n->cap - 1;
    read_ = 0;
  }

  // Consumer, once per pass: allocates (and touches) the larger ring a busy producer asked
  // for, off the producer's path; the producer links to it at its next lap.
  void offer_ring() noexcept {
    if (want_.load(std::memory_order_relaxed) == 0 || offered_.load(std::memory_order_relaxed)) return;
    const std::size_t c = want_.exchange(0, std::memory_order_relaxed);
    try {
      auto* s = make_ring(c);
      bytes_.fetch_add(c, std::memory_order_relaxed);
      // release pairs with the producer's acquire in busy(): the ring is constructed.
      offered_.store(s, std::memory_order_release);
    } catch (...) {  // no memory now: ask again at the next pass
      want_.store(c, std::memory_order_relaxed);
    }
  }

  // Bytes of ring memory this queue holds now (any thread).
  std::size_t bytes() const noexcept { return bytes_.load(std::memory_order_relaxed); }

 private:
  static std::size_t round_up(std::size_t n) noexcept {
    std::size_t c = 4096;
    while (c < n && c < (std::size_t{1} << 40)) c <<= 1;
    return c;
  }

  void use_for_writing(ring_segment* s) noexcept {
    wseg_ = s;
    buf_ = s->buf.get();
    cap_ = s->cap;
    mask_ = cap_ - 1;
    write_ = 0;
    read_cache_ = 0;
    rate_mark_ = 0;
    rate_since_ = timestamp();
  }

  // The old ring ends with a link entry to s, which the producer writes from now on.
  // Every reservation left room for the link's header, and positions are multiples of 8,
  // so it is contiguous. The entries reserved before it are complete (an entry is written
  // before the next one is reserved); release: they, the link and the new ring are
  // visible to the back-end once it sees this position. The producer never touches the
  // old ring again: the back-end frees it when it reads the link.
  void link_to(ring_segment* s) noexcept {
    ring_segment* old = wseg_;
    old->next = s;
    put_entry(buf_ + (write_ & mask_), entry_header{sizeof(entry_header), entry_kind::link});
    old->published.store(write_ + sizeof(entry_header), std::memory_order_release);
    use_for_writing(s);
  }

  // Producer, at most about once per lap (when its cached read position runs out): a ring
  // that laps fast (k_busy_laps laps at more than ~4 MB/s) moves to one of the full
  // capacity, which the back-end allocated on request, so the call pays no allocation.
  // A small ring that laps fast makes the producer write cache lines the back-end has
  // just read (in a ring smaller than the back-end CPU's L2 cache, each such store waits
  // for the other CPU's copy): ~30 ns more per call on average, measured
  // (docs/architecture.md#memory). A thread that logs slowly keeps its small ring. True
  // when the producer now writes a new ring (at position 0) with room for n bytes.
  bool busy(std::size_t n) noexcept {
    if (ring_segment* s = offered_.load(std::memory_order_acquire)) {
      offered_.store(nullptr, std::memory_order_relaxed);
      asked_ = false;
      if (s->cap > cap_ && n + sizeof(entry_header) <= s->cap) {
        link_to(s);
        return true;
      }
      bytes_.fetch_sub(s->cap, std::memory_order_relaxed);  // outgrown meanwhile
      drop_ring(s);
    }
    if (asked_ || write_ - rate_mark_ < k_busy_laps * cap_) return false;
    const std::uint64_t now = timestamp();
    // k_busy_window per 16 KiB of ring: the same bytes per second for every size.
    if (now - rate_since_ < (k_busy_window * cap_) >> 14) {
      want_.store(max_cap_, std::memory_order_relaxed);
      asked_ = true;
    }
    rate_mark_ = write_;
    rate_since_ = now;
    return false;
  }

  // Producer, off the hot path: a ring at least twice as large and with room for an
  // entry of n bytes (up to max_cap_), the old one ended by a link entry. False when the
  // memory cannot be had: the ring is full.
  bool grow(std::size_t n) noexcept {
    std::size_t c = cap_ * 2;
    while (c < max_cap_ && c / 4 < n) c *= 2;
    if (c > max_cap_) c = max_cap_;
    ring_segment* s;
    try {
      s = make_ring(c);
    } catch (...) {
      return false;
    }
    bytes_.fetch_add(c, std::memory_order_relaxed);
    link_to(s);
    return true;
  }

  static void prefetch_for_write(const std::byte* p) noexcept {
#if defined(__x86_64__) || defined(__i386__)
    // prefetchw: without -mprfchw, __builtin_prefetch(p, 1) becomes a read prefetch,
    // which fetches a shared copy. CPUs without PRFCHW execute this opcode as a no-op.
    asm volatile("prefetchw %0" : : "m"(*p));
#else
    __builtin_prefetch(p, 1, 3);
#endif
  }

  // producer only
  ring_segment* wseg_ = nullptr;
  std::byte* buf_ = nullptr;
  std::size_t cap_ = 0, mask_ = 0, max_cap_ = 0;
  std::size_t write_ = 0;
  std::size_t read_cache_ = 0;  // last consumed position seen
  std::size_t rate_mark_ = 0;    // write position when rate_since_ was taken
  std::uint64_t rate_since_ = 0;
  bool asked_ = false;           // want_ set, no ring offered since
  static constexpr std::size_t k_busy_laps = 2;
  // 32 KiB through a 16 KiB ring within this many stamps is ~4 MB/s (~40 000 lines/s).
  static constexpr std::uint64_t k_busy_window = timestamp_is_tsc ? std::uint64_t{1} << 24 : 8'000'000;
  std::atomic<std::size_t> bytes_{0};
  // producer asks (a size), consumer offers (a ring)
  alignas(64) std::atomic<std::size_t> want_{0};
  std::atomic<ring_segment*> offered_{nullptr};
  // consumer only
  alignas(64) ring_segment* rseg_ = nullptr;
  const std::byte* rbuf_ = nullptr;
  std::size_t rmask_ = 0;
  std::size_t read_ = 0;
};

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
