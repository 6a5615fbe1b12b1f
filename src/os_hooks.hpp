// src/os_hooks.hpp — fatal signals, std::terminate and fork(), as callbacks.
//
// Knows nothing of the back-end: it is handed the functions to call. The fatal-signal
// callback must be async-signal-safe; it runs, then the previous handler is restored and
// the signal raised again. The terminate callback runs before the previous terminate
// handler (or std::abort).
#pragma once

namespace ctxlog {
inline namespace v1 {
namespace detail {

struct crash_callbacks {
  void (*on_fatal_signal)() noexcept;  // async-signal-safe
  void (*on_terminate)() noexcept;
};
// Installs the handlers for SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL and
// std::terminate (on), or puts back what was there before (off) unless someone replaced
// ours meanwhile. Not thread-safe: the caller serialises calls.
void set_crash_hooks(bool on, crash_callbacks callbacks) noexcept;

// pthread_atfork, once per process.
struct fork_callbacks {
  void (*prepare)();
  void (*in_parent)();
  void (*in_child)();
};
void install_fork_hooks(fork_callbacks callbacks) noexcept;

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
