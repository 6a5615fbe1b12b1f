// sinks/fd_sink.cpp — buffered write(2) with EINTR, partial writes, EAGAIN and EPIPE
// handled; never raises SIGPIPE and never waits more than a few seconds.
#include "ctxlog/sinks/fd_sink.hpp"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include <system_error>

#include "sigpipe_guard.hpp"

namespace ctxlog {
inline namespace v1 {
namespace sinks {
namespace {

constexpr std::size_t k_flush_at = 64 * 1024;

void write_all(int fd, const char* p, std::size_t n) {
  detail::sigpipe_guard guard;
  int waits = 0;
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w >= 0) {
      p += w;
      n -= static_cast<std::size_t>(w);
      continue;
    }
    if (errno == EINTR) continue;
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && waits < 50) {  // non-blocking fd: wait, but not forever
      pollfd pfd{fd, POLLOUT, 0};
      ::poll(&pfd, 1, 100);
      ++waits;
      continue;
    }
    if (errno == EPIPE) guard.saw_epipe();
    throw std::system_error(errno, std::generic_category(), "ctxlog: write to fd " + std::to_string(fd));
  }
}

}  // namespace

fd_sink::fd_sink(int fd, ownership own, level min_level) : sink(min_level), fd_(fd), own_(own) {
  terminal_.store(fd >= 0 && ::isatty(fd) == 1, std::memory_order_relaxed);
  buffer_.reserve(k_flush_at * 2);
}

fd_sink::~fd_sink() {
  try {
    flush();
  } catch (...) {  // nobody to tell: the error was counted when it happened, if ever
  }
  if (own_ == ownership::owned && fd_ >= 0) ::close(fd_);
}

void fd_sink::write(const log_line& line) {
  buffer_.append(line.text);
  if (buffer_.size() >= k_flush_at) fd_sink::flush();  // not virtual: derived sinks hook flush()
}

void fd_sink::flush() {
  if (buffer_.empty()) return;
  // Cleared also when the write fails: a broken descriptor must not grow memory.
  struct clear_after {
    std::string& b;
    ~clear_after() { b.clear(); }
  } clear{buffer_};
  write_all(fd_, buffer_.data(), buffer_.size());
}

void fd_sink::replace_fd(int fd, ownership own) {
  try {
    fd_sink::flush();
  } catch (...) {
    if (own_ == ownership::owned) ::close(fd_);
    fd_ = fd;
    own_ = own;
    terminal_.store(fd >= 0 && ::isatty(fd) == 1, std::memory_order_relaxed);
    throw;
  }
  if (own_ == ownership::owned) ::close(fd_);
  fd_ = fd;
  own_ = own;
  terminal_.store(fd >= 0 && ::isatty(fd) == 1, std::memory_order_relaxed);
}

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
