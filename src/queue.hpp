// src/queue.hpp — one producer thread's bounded, lock-free byte ring (SPSC).
//
// The producer reserves contiguous space for an entry, writes it in place and publishes
// it with one release store; the back-end reads entries in place and hands the space
// back with one release store per batch. Entries are 8-byte aligned and start with an
// entry_header; an entry that would cross the end of the ring is preceded by a padding
// entry, so every entry is contiguous. The memory is allocated and touched when the
// thread registers: first touch of a page costs microseconds here, never on the hot path.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace ctxlog {
inline namespace v1 {
namespace detail {

enum class entry_kind : std::uint32_t {
  record,       // a record_header and its arguments
  heap_record,  // a pointer to a record too large for the ring (the back-end frees it)
  frame,        // the producer's context changed: a retained frame* (or none) follows
  padding,      // skip to the start of the ring
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

class record_queue {
 public:
  // capacity: rounded up to a power of two, at least 4 KiB.
  explicit record_queue(std::size_t capacity) {
    cap_ = 4096;
    while (cap_ < capacity) cap_ <<= 1;
    mask_ = cap_ - 1;
    buf_ = std::make_unique<std::byte[]>(cap_);  // value-initialised: every page touched now
  }

  // The largest entry that goes into the ring; larger records go to the heap.
  std::size_t max_entry() const noexcept { return cap_ / 4; }

  // Producer: space for an entry of n bytes (n a multiple of 8, n <= max_entry()), or
  // nullptr when the ring is full. Nothing is visible to the back-end before publish().
  std::byte* reserve(std::size_t n) noexcept {
    const std::size_t pos = write_ & mask_;
    const std::size_t pad = cap_ - pos < n ? cap_ - pos : 0;
    if (write_ + pad + n - read_cache_ > cap_) {
      // acquire pairs with the back-end's release in release(): the space it hands back
      // is no longer being read.
      read_cache_ = consumed_.load(std::memory_order_acquire);
      if (write_ + pad + n - read_cache_ > cap_) return nullptr;
    }
    if (pad) {
      put_entry(buf_.get() + pos, entry_header{static_cast<std::uint32_t>(pad), entry_kind::padding});
      write_ += pad;
    }
    std::byte* p = buf_.get() + (write_ & mask_);
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
    published_.store(write_, std::memory_order_release);
    prefetch_for_write(buf_.get() + (write_ & mask_));
    prefetch_for_write(buf_.get() + ((write_ + 64) & mask_));
  }

  // Consumer: the position up to which entries may be read.
  std::size_t readable() const noexcept { return published_.load(std::memory_order_acquire); }
  std::size_t read_position() const noexcept { return read_; }
  const std::byte* at(std::size_t pos) const noexcept { return buf_.get() + (pos & mask_); }
  // Consumer: everything before pos has been read and may be reused.
  void release(std::size_t pos) noexcept {
    read_ = pos;
    consumed_.store(pos, std::memory_order_release);
  }
  bool empty() const noexcept { return read_ == readable(); }

 private:
  static void prefetch_for_write(const std::byte* p) noexcept {
#if defined(__x86_64__) || defined(__i386__)
    // prefetchw: without -mprfchw, __builtin_prefetch(p, 1) becomes a read prefetch,
    // which fetches a shared copy. CPUs without PRFCHW execute this opcode as a no-op.
    asm volatile("prefetchw %0" : : "m"(*p));
#else
    __builtin_prefetch(p, 1, 3);
#endif
  }

  std::unique_ptr<std::byte[]> buf_;
  std::size_t cap_ = 0, mask_ = 0;
  alignas(64) std::size_t write_ = 0;  // producer only
  std::size_t read_cache_ = 0;         // producer only: last consumed_ seen
  alignas(64) std::atomic<std::size_t> published_{0};
  alignas(64) std::atomic<std::size_t> consumed_{0};
  std::size_t read_ = 0;  // consumer only
};

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
