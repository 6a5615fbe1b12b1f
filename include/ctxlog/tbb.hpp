// ctxlog/tbb.hpp — oneTBB algorithms whose bodies run in the caller's context.
//
// Thin wrappers over tbb::parallel_for, parallel_invoke, task_group and
// task_arena::execute: each captures the caller's context once and every body runs inside
// it, on whichever TBB worker (or the calling thread) executes it; the worker's own
// context is put back after each body, also when the body throws (TBB then rethrows the
// exception in the caller, as usual). Include <oneapi/tbb.h> (or the algorithm headers).
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_invoke.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <type_traits>
#include <utility>

#include "ctxlog/context.hpp"
#include "ctxlog/detail/handoff.hpp"

namespace ctxlog {
inline namespace v1 {
namespace tbb {

// tbb::parallel_for(range, body): every chunk of body runs in the caller's context.
//
// Example:
//   ctxlog::tbb::parallel_for(oneapi::tbb::blocked_range<int>(0, n), [&](auto r) {
//     LOG_DEBUG("chunk {}..{}", r.begin(), r.end());   // carries the caller's requestId
//   });
template <class Range, class Body, class... Rest>
  requires(!std::is_integral_v<Range>)
void parallel_for(const Range& range, const Body& body, Rest&&... rest) {
  const auto b = detail::make_carried(body, "tbb::parallel_for", origin{nullptr, 0});
  ::oneapi::tbb::parallel_for(range, b, std::forward<Rest>(rest)...);
}

// tbb::parallel_for(first, last, f) over an index space.
template <class Index, class F>
  requires std::is_integral_v<Index>
void parallel_for(Index first, Index last, const F& f) {
  const auto b = detail::make_carried(f, "tbb::parallel_for", origin{nullptr, 0});
  ::oneapi::tbb::parallel_for(first, last, b);
}

// tbb::parallel_invoke(f...): each function runs in the caller's context.
template <class... F>
void parallel_invoke(F&&... f) {
  const context c = snapshot();
  ::oneapi::tbb::parallel_invoke(detail::carried<std::decay_t<F>>(c, std::forward<F>(f), "tbb::parallel_invoke", origin{nullptr, 0})...);
}

// arena.execute(f) in the caller's context (f may run on an arena worker when the
// calling thread cannot join the arena). Returns what f returns.
template <class F>
decltype(auto) execute(::oneapi::tbb::task_arena& arena, F&& f) {
  return arena.execute(detail::make_carried(std::forward<F>(f), "tbb::task_arena::execute", origin{nullptr, 0}));
}

// arena.enqueue(f), fire and forget, in the caller's context.
template <class F>
void enqueue(::oneapi::tbb::task_arena& arena, F&& f) {
  arena.enqueue(detail::make_carried(std::forward<F>(f), "tbb::task_arena::enqueue", origin{nullptr, 0}));
}

// A tbb::task_group whose run(f) captures the context current at run().
//
// Example:
//   ctxlog::tbb::task_group tg;
//   tg.run([] { LOG_INFO("child task"); });   // the context of this line, not of wait()
//   tg.wait();
class task_group {
 public:
  template <class F>
  void run(F&& f, origin where = {}) {
    tg_.run(detail::make_carried(std::forward<F>(f), "tbb::task_group", where));
  }
  // Runs f in the calling thread's context and waits for every task.
  template <class F>
  ::oneapi::tbb::task_group_status run_and_wait(F&& f) {
    return tg_.run_and_wait(std::forward<F>(f));
  }
  ::oneapi::tbb::task_group_status wait() { return tg_.wait(); }
  void cancel() { tg_.cancel(); }
  ::oneapi::tbb::task_group& get() noexcept { return tg_; }

 private:
  ::oneapi::tbb::task_group tg_;
};

}  // namespace tbb
}  // namespace v1
}  // namespace ctxlog
