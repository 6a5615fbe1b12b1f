// bench/propagation/coro_resume.cpp — what does keeping the context cost a coroutine
// resume? One suspend + resume cycle of a ctxlog::task (which saves and restores the
// context at the co_await) vs a bare coroutine type that does nothing with it. Two
// ctxlog cases: a known awaiter (context moved, no atomics) and a foreign awaiter
// (context copied, so the awaiter's await_suspend runs in it: one reference count pair).
#include <coroutine>

#include "ctxlog/coro.hpp"
#include "ctxlog/ctxlog.hpp"
#include "ratios.hpp"

namespace {
// A bare lazy coroutine: the baseline.
struct bare {
  struct promise_type {
    bare get_return_object() noexcept { return {std::coroutine_handle<promise_type>::from_promise(*this)}; }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept {}
  };
  std::coroutine_handle<promise_type> h;
};

// Same as std::suspend_always, but ctxlog does not know it: the copying path.
struct foreign_suspend {
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  void await_resume() const noexcept {}
};

bare bare_loop() {
  for (;;) co_await std::suspend_always{};
}
ctxlog::task<> ctx_loop_known() {
  for (;;) co_await std::suspend_always{};
}
ctxlog::task<> ctx_loop_foreign() {
  for (;;) co_await foreign_suspend{};
}

template <class H>
void resume_loop(benchmark::State& st, H h) {
  for (auto _ : st) {
    h.resume();
    h.resume();
    h.resume();
    h.resume();
  }
  st.SetItemsProcessed(st.iterations() * 4);
}

void resume_bare(benchmark::State& st) {
  auto c = bare_loop();
  resume_loop(st, c.h);
  c.h.destroy();
}
void resume_ctx_known(benchmark::State& st) {
  ctxlog::scope s{ctxlog::fields{}.request_id("bench-request")};
  auto t = ctx_loop_known();
  resume_loop(st, t.handle());
}
void resume_ctx_foreign(benchmark::State& st) {
  ctxlog::scope s{ctxlog::fields{}.request_id("bench-request")};
  auto t = ctx_loop_foreign();
  resume_loop(st, t.handle());
}
}  // namespace

BENCHMARK(resume_bare);
BENCHMARK(resume_ctx_known);
BENCHMARK(resume_ctx_foreign);

int main(int argc, char** argv) {
  return prop_bench::run(argc, argv, {{"resume_ctx_known", "resume_bare"}, {"resume_ctx_foreign", "resume_bare"}},
                         "delta <= 4 x 5 ns per iteration (each iteration is 4 resumes)");
}
