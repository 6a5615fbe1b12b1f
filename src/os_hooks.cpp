// src/os_hooks.cpp — fatal-signal, terminate and fork hooks (os_hooks.hpp).
#include "os_hooks.hpp"

#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <exception>
#include <iterator>

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

constexpr int k_fatal_signals[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};
struct sigaction g_previous[std::size(k_fatal_signals)];
std::terminate_handler g_previous_terminate = nullptr;
crash_callbacks g_crash{};

void on_fatal_signal(int sig) {
  if (g_crash.on_fatal_signal) g_crash.on_fatal_signal();
  for (std::size_t i = 0; i < std::size(k_fatal_signals); ++i)
    if (k_fatal_signals[i] == sig) ::sigaction(sig, &g_previous[i], nullptr);
  // Re-raised with the previous action in place; delivered when this handler returns
  // (or, for a hardware fault, when the faulting instruction runs again).
  ::raise(sig);
}

void on_terminate() {
  if (g_crash.on_terminate) g_crash.on_terminate();
  if (g_previous_terminate) g_previous_terminate();
  std::abort();
}

}  // namespace

void set_crash_hooks(bool on, crash_callbacks callbacks) noexcept {
  static bool installed = false;
  if (on) g_crash = callbacks;
  if (on == installed) return;
  installed = on;
  for (std::size_t i = 0; i < std::size(k_fatal_signals); ++i) {
    if (on) {
      struct sigaction sa {};
      sa.sa_handler = on_fatal_signal;
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = SA_RESTART;
      ::sigaction(k_fatal_signals[i], &sa, &g_previous[i]);
    } else {
      struct sigaction now {};
      ::sigaction(k_fatal_signals[i], nullptr, &now);
      if (now.sa_handler == on_fatal_signal) ::sigaction(k_fatal_signals[i], &g_previous[i], nullptr);
    }
  }
  if (on) {
    g_previous_terminate = std::set_terminate(on_terminate);
  } else if (std::get_terminate() == on_terminate) {
    std::set_terminate(g_previous_terminate);
  }
}

void install_fork_hooks(fork_callbacks callbacks) noexcept {
  ::pthread_atfork(callbacks.prepare, callbacks.in_parent, callbacks.in_child);
}

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
