// ctxlog/detail/borrow.hpp — each thread's context slot and how frames enter and leave it.
//
// Not API: install/reinstate, borrowing without counting (borrow_scope, lent_context) and
// the managed-work count of the context-loss check. context.hpp includes it right after
// the context type it builds on (included first, it includes context.hpp, which does).
#ifndef CTXLOG_DETAIL_BORROW_HPP
#ifndef CTXLOG_DETAIL_CONTEXT_DEFINED
#include "ctxlog/context.hpp"
#else
#define CTXLOG_DETAIL_BORROW_HPP

#include "ctxlog/detail/require_cxx20.hpp"

#include <atomic>
#include <cstdint>
#include <utility>
#include <vector>

#include "ctxlog/detail/frame.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

// The calling thread's context state.
//
// Borrowing: while a bound_fn, async_resource or adapter task runs, the thread's context
// is the frame its callable holds, installed *without* a reference count increment (the
// callable is alive for the whole call), so a bound call costs no atomic operation and
// many threads calling callables bound to one frame do not contend on its count. `lent`
// says the slot's frame is such a borrowed one (not owned: never released from the
// slot). Everything that replaces the slot's frame goes through install()/reinstate(),
// which carry that flag, so a scope or coroutine entered inside a bound call and
// enter_with()/disable() there keep the counts exact.
struct thread_context {
  static constexpr std::uint32_t recorded = 16;
  context ctx;              // what current() returns
  bool lent = false;        // ctx's frame is borrowed, not owned
  std::uint32_t depth = 0;  // borrowing calls open on this thread
  // The frame each of the first `recorded` open borrowing calls borrowed, outermost
  // first; bit 0 set: that call has taken over the reference of a holder destroyed
  // during it, and releases it when it returns (see lent_context).
  std::uintptr_t borrowed[recorded] = {};
  // Deeper than `recorded`: references of holders destroyed there, released when the
  // depth is back to `recorded`.
  std::vector<frame*>* parked = nullptr;
};

// The calling thread's state.
//
// With clang it is read through a real call on purpose: clang optimises a coroutine
// before splitting it at its suspension points, and has kept a thread_local's address
// across a co_await, then used the first thread's slot after resuming on another one
// (llvm-project issue 47179); behind a real call every read is fresh. g++ lowers a
// coroutine into its resume function before optimising, so no value can cross a
// suspension unless it lives in the coroutine frame; there the read is inline: one
// %fs-relative load (tests/propagation/test_coro.cpp checks both compilers).
// t_slot points at the thread's state once the thread has used it (it is a plain
// pointer so that reading it needs no first-use guard); first_slot() sets it.
// The library defines first_slot(), t_slot and current_slot_outlined() whichever
// compiler built it, so code compiled by either compiler links against a library built
// by the other (tests/consumer). In a program mixing both, the two current_slot()
// bodies are equivalent: whichever copy the linker keeps is correct.
thread_context& first_slot() noexcept;
thread_context& current_slot_outlined() noexcept;
#if defined(__clang__) || !defined(__GNUC__)
inline thread_context& current_slot() noexcept { return current_slot_outlined(); }
#else
[[gnu::tls_model("initial-exec")]] extern constinit thread_local thread_context* t_slot;
inline thread_context& current_slot() noexcept {
  if (thread_context* s = t_slot) [[likely]]
    return *s;
  return first_slot();
}
#endif

struct slot_access {
  static frame* take(context& c) noexcept { return std::exchange(c.f_, nullptr); }
  static void put(context& c, frame* f) noexcept { c.f_ = f; }
  static frame* peek(const context& c) noexcept { return c.f_; }
};

// A context taken out of the slot, with its ownership flag; goes back with reinstate().
struct saved_context {
  frame* f = nullptr;
  bool lent = false;
};
// Puts f in the slot (lent: borrowed, else the slot takes over a reference) and returns
// what was there.
inline saved_context install(thread_context& t, frame* f, bool lent) noexcept {
  const saved_context prev{slot_access::peek(t.ctx), t.lent};
  slot_access::put(t.ctx, f);
  t.lent = lent;
  return prev;
}
// Puts prev back and drops the frame that was there (releasing it when owned). The
// release comes last, so destructors it runs (storage<T> values) see prev installed.
inline void reinstate(thread_context& t, saved_context prev) noexcept {
  frame* const now = slot_access::peek(t.ctx);
  const bool owned = !t.lent;
  slot_access::put(t.ctx, prev.f);
  t.lent = prev.lent;
  if (now && owned) release(now);
}
// The frame that a log call on this thread must carry (nullptr when empty or disabled).
const frame* current_frame() noexcept;
extern std::atomic<bool> g_disabled;
inline void reenable() noexcept {
  if (g_disabled.load(std::memory_order_relaxed)) g_disabled.store(false, std::memory_order_relaxed);
}
// A frame = parent + f + (optionally) one store slot. Never returns nullptr (throws
// std::bad_alloc like new); returns an empty context when the result has nothing in it.
context derive(const context& parent, const fields* f, const slot* s);
std::uint32_t new_store_id() noexcept;
const value_box* find_slot(const frame* f, std::uint32_t store) noexcept;

void release_borrowed(std::uint32_t depth) noexcept;

// Installs a context that the caller guarantees outlives the scope, without touching
// its reference count (see thread_context). For lent_context holders and adapter jobs.
// The frames borrowed by the open calls are recorded in the thread's state, so that a
// holder destroyed during its own call can tell (its `this` never escapes: the saved
// state stays in registers).
class borrow_scope {
 public:
  explicit borrow_scope(const context& c) noexcept {
    thread_context& t = current_slot();
    frame* const f = slot_access::peek(c);
    prev_ = install(t, f, true);
    depth_ = t.depth;
    if (depth_ < thread_context::recorded) [[likely]]
      t.borrowed[depth_] = reinterpret_cast<std::uintptr_t>(f);
    t.depth = depth_ + 1;
  }
  ~borrow_scope() {
    thread_context& t = current_slot();
    reinstate(t, prev_);
    t.depth = depth_;
    if (depth_ < thread_context::recorded ? (t.borrowed[depth_] & 1) != 0 : depth_ == thread_context::recorded)
        [[unlikely]]
      release_borrowed(depth_);
  }
  borrow_scope(const borrow_scope&) = delete;
  borrow_scope& operator=(const borrow_scope&) = delete;

 private:
  saved_context prev_;
  std::uint32_t depth_;
};

// The context of a callable that lends it to the thread when called (bound_fn,
// async_resource, carried). Should the holder be destroyed or reassigned *during* one of
// its own calls (a std::function that resets itself), its frame is still the thread's
// current one: the borrowing call then takes over the holder's reference and releases it
// when it returns. A holder moved during such a call keeps a reference too (the move is
// a copy then), so a callable that moves itself to a queue another thread drains is safe.
void release_lent(frame* f) noexcept;
bool borrowed_here(const frame* f) noexcept;
class lent_context {
 public:
  lent_context() noexcept = default;
  explicit lent_context(context c) noexcept : c_(std::move(c)) {}
  lent_context(const lent_context&) noexcept = default;
  lent_context(lent_context&& o) noexcept {
    if (!o.c_.empty()) {
      if (borrowed_here(o.c_.frame_ptr())) c_ = o.c_;
      else c_ = std::move(o.c_);
    }
  }
  lent_context& operator=(lent_context o) noexcept {
    swap(c_, o.c_);
    return *this;
  }
  ~lent_context() {
    if (frame* f = slot_access::take(c_)) release_lent(f);
  }
  const context& get() const noexcept { return c_; }

 private:
  context c_;
};

// Adapters put one of these around the work they run for a captured context.
// Counts only while the check is on (one relaxed load otherwise), so adapters and bound
// calls pay nothing for the debug aid when it is off.
extern std::atomic<bool> g_loss_check;
void enter_managed() noexcept;
void leave_managed() noexcept;
class managed_scope {
 public:
  explicit managed_scope(const context& captured) noexcept
      : counted_(g_loss_check.load(std::memory_order_relaxed) && !captured.empty()) {
    if (counted_) enter_managed();
  }
  ~managed_scope() {
    if (counted_) leave_managed();
  }
  managed_scope(const managed_scope&) = delete;
  managed_scope& operator=(const managed_scope&) = delete;

 private:
  bool counted_;
};
// True when the calling thread runs managed work and its context is empty.
bool context_lost() noexcept;

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog

#endif  // CTXLOG_DETAIL_CONTEXT_DEFINED
#endif  // CTXLOG_DETAIL_BORROW_HPP
