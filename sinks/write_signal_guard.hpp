// sinks/write_signal_guard.hpp — private to sinks/: makes a write that would raise a
// process-killing signal come back as an error instead. SIGPIPE (a closed pipe or socket:
// EPIPE) and SIGXFSZ (a file past the RLIMIT_FSIZE limit: EFBIG) both terminate a process
// by default, and a logger must never be the reason a service dies. Used around write(2)
// (fd_sink) and around calls into spdlog sinks (spdlog_sink), whose fwrite/fflush can raise
// them the same way.
#pragma once

#include <pthread.h>
#include <signal.h>

namespace ctxlog {
inline namespace v1 {
namespace sinks {
namespace detail {

// Set on a thread that keeps SIGPIPE and SIGXFSZ blocked for its whole life (the back-end
// thread, src/backend.cpp): its guards change no signal mask (three system calls fewer
// per write out, which the back-end does after every batch) and only discard, after an
// error, what the write left pending.
inline thread_local bool t_write_signals_blocked = false;

// Blocks SIGPIPE and SIGXFSZ on this thread for its lifetime. When told that a write may
// have raised one (saw_error), it discards those now pending before unblocking, except one
// that was already pending when the guard was made (that one is not ours to swallow). The
// kernel directs both at the writing thread, so they stay pending here.
class write_signal_guard {
 public:
  write_signal_guard() noexcept {
    if (t_write_signals_blocked) return;
    sigemptyset(&blocked_);
    sigaddset(&blocked_, SIGPIPE);
    sigaddset(&blocked_, SIGXFSZ);
    sigemptyset(&was_pending_);
    sigpending(&was_pending_);
    pthread_sigmask(SIG_BLOCK, &blocked_, &old_);
  }
  ~write_signal_guard() {
    const bool masked = !t_write_signals_blocked;
    if (saw_error_) {
      sigset_t ours;
      sigemptyset(&ours);
      for (const int s : {SIGPIPE, SIGXFSZ})
        if (!masked || sigismember(&was_pending_, s) != 1) sigaddset(&ours, s);
      const timespec zero{};
      while (sigtimedwait(&ours, nullptr, &zero) > 0) {
      }
    }
    if (masked) pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  write_signal_guard(const write_signal_guard&) = delete;
  write_signal_guard& operator=(const write_signal_guard&) = delete;

  // A write failed (EPIPE, EFBIG, or an error whose errno is unknown).
  void saw_error() noexcept { saw_error_ = true; }

 private:
  sigset_t blocked_, old_, was_pending_;
  bool saw_error_ = false;
};

}  // namespace detail
}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
