// sinks/sigpipe_guard.hpp — private to sinks/: makes a write to a closed pipe come back as
// EPIPE instead of killing the process. Used around write(2) (fd_sink) and around calls
// into spdlog sinks (spdlog_sink), whose fwrite/fflush can raise SIGPIPE the same way.
#pragma once

#include <pthread.h>
#include <signal.h>

namespace ctxlog {
inline namespace v1 {
namespace sinks {
namespace detail {

// Blocks SIGPIPE on this thread for its lifetime. When told that a write may have raised
// one (saw_epipe), it discards the SIGPIPE that is now pending before unblocking, unless
// one was already pending when the guard was made (that one is not ours to swallow).
// SIGPIPE raised by write(2) is directed at the writing thread, so it stays pending here.
class sigpipe_guard {
 public:
  sigpipe_guard() noexcept {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~sigpipe_guard() {
    if (got_epipe_ && !was_pending_) {
      const timespec zero{};
      while (sigtimedwait(&pipe_, nullptr, &zero) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  sigpipe_guard(const sigpipe_guard&) = delete;
  sigpipe_guard& operator=(const sigpipe_guard&) = delete;

  void saw_epipe() noexcept { got_epipe_ = true; }

 private:
  sigset_t pipe_, old_;
  bool was_pending_ = false;
  bool got_epipe_ = false;
};

}  // namespace detail
}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
