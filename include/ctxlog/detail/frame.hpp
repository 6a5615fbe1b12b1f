// ctxlog/detail/frame.hpp — the immutable frame behind a ctxlog::context.
//
// Not API. One heap block holds the header, the views of the well-known fields, the
// custom key/values, the storage<T> slots and the bytes all views point into. A frame is
// never modified after make_frame() returns, so any thread may read it without a lock;
// its lifetime is an atomic reference count.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ctxlog/field.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

// Index of each well-known field; the JSON names are in well_known_names.
enum class well_known : std::uint8_t { request_id, tenant_id, trace_id, span_id, parent_span_id, user_id };
inline constexpr std::size_t well_known_count = 6;
inline constexpr std::string_view well_known_names[well_known_count] = {
    "requestId", "tenantId", "traceId", "spanId", "parentSpanId", "userId"};

// A custom key/value; the public name is ctxlog::field (context::custom()).
using kv_view = field;

// The value of one storage<T>, shared by every frame that inherits it.
struct value_box {
  std::atomic<std::uint32_t> refs{1};
  void (*destroy)(value_box*) noexcept = nullptr;
};

template <class T>
struct typed_box final : value_box {
  template <class... A>
  explicit typed_box(A&&... a) : value(static_cast<A&&>(a)...) {
    destroy = [](value_box* b) noexcept { delete static_cast<typed_box*>(b); };
  }
  T value;
};

// box == nullptr marks the store as hidden (storage<T>::exit).
struct slot {
  std::uint32_t store;
  value_box* box;
};

// A string_view without constructors: a frame made with `new (p) frame` then needs no
// zeroing of its views before they are set (a `rep stos` that cost ~40 % of derive()).
struct text {
  const char* ptr;
  std::size_t len;
  operator std::string_view() const noexcept { return {ptr, len}; }
  text& operator=(std::string_view s) noexcept {
    ptr = s.data();
    len = s.size();
    return *this;
  }
  bool empty() const noexcept { return len == 0; }
  std::size_t size() const noexcept { return len; }
};

struct frame {
  std::atomic<std::uint32_t> refs;
  std::uint32_t n_custom;
  std::uint32_t n_slots;
  std::uint32_t block;  // bytes allocated for the frame (0: a block of the standard size)
  std::uint64_t id;     // unique for the life of the process; 0 is never used
  text well_known[well_known_count];
  const kv_view* custom;
  const slot* slots;
  const char* bytes;      // the bytes every view of this frame points into
  std::uint32_t n_bytes;  // their count
};

inline void retain(const frame* f) noexcept {
  // Relaxed is enough for an increment: the caller already holds a reference, so the
  // frame cannot be freed concurrently (the usual shared_ptr argument).
  const_cast<frame*>(f)->refs.fetch_add(1, std::memory_order_relaxed);
}

void destroy_frame(frame* f) noexcept;

inline void release(const frame* f) noexcept {
  auto& refs = const_cast<frame*>(f)->refs;
  // The only reference is ours: no other thread can hold one, so none can take one
  // either, and no locked decrement is needed. acquire pairs with the release half of
  // the decrements other threads made before (their reads happen-before the free).
  if (refs.load(std::memory_order_acquire) == 1) {
    destroy_frame(const_cast<frame*>(f));
    return;
  }
  // acq_rel: the release half orders this thread's reads of the frame before the
  // decrement; the acquire half makes every other thread's reads happen-before the free
  // done by whoever drops the last reference.
  if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy_frame(const_cast<frame*>(f));
}

// Drops n references at once (the caller holds all n).
inline void release_n(const frame* f, std::uint32_t n) noexcept {
  auto& refs = const_cast<frame*>(f)->refs;
  if (refs.load(std::memory_order_acquire) == n || refs.fetch_sub(n, std::memory_order_acq_rel) == n)
    destroy_frame(const_cast<frame*>(f));
}

inline void retain(value_box* b) noexcept { b->refs.fetch_add(1, std::memory_order_relaxed); }
inline void release(value_box* b) noexcept {
  if (b->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) b->destroy(b);
}

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
