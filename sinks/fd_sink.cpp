// sinks/fd_sink.cpp — buffered write(2) with EINTR, partial writes, EAGAIN, EPIPE and
// EFBIG handled; never raises SIGPIPE or SIGXFSZ, never waits more than a few seconds for
// a descriptor that makes no progress, and never loses a line without counting it.
#include "ctxlog/sinks/fd_sink.hpp"

#include <errno.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>

#include "../src/sink_router.hpp"
#include "write_signal_guard.hpp"

namespace ctxlog {
inline namespace v1 {
namespace sinks {
namespace {

constexpr std::size_t k_flush_at = 64 * 1024;

struct outcome {
  std::size_t written = 0;
  int error = 0;  // 0: everything was written
};

// Writes n bytes, or as many as it can before an error. A full non-blocking descriptor is
// waited for, up to 5 s without progress, when `wait` or once some bytes went through (a
// failing sink does not wait for a reader that is gone, but does for one that came back).
outcome write_all(int fd, const char* p, std::size_t n, bool wait) {
  detail::write_signal_guard guard;
  outcome o;
  int waits = 0;
  while (o.written < n) {
    const ssize_t w = ::write(fd, p + o.written, n - o.written);
    if (w > 0) {
      o.written += static_cast<std::size_t>(w);
      waits = 0;
      wait = true;
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait && waits < 50) {
      pollfd pfd{fd, POLLOUT, 0};
      ::poll(&pfd, 1, 100);
      ++waits;
      continue;
    }
    o.error = w < 0 ? errno : EIO;  // write(2) returning 0 for n > 0: no progress possible
    guard.saw_error();
    break;
  }
  return o;
}

// After a short write to a regular file: removes the last `bytes` bytes again, if they
// are still the end of the file (nobody appended since). The descriptor's offset follows,
// so a file opened without O_APPEND gets no hole.
bool take_back(int fd, std::size_t bytes) noexcept {
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
  const off_t end = ::lseek(fd, 0, SEEK_CUR);
  if (end < 0 || end != st.st_size || static_cast<std::uint64_t>(end) < bytes) return false;
  const off_t to = end - static_cast<off_t>(bytes);
  return ::ftruncate(fd, to) == 0 && ::lseek(fd, to, SEEK_SET) == to;
}

}  // namespace

fd_sink::fd_sink(int fd, ownership own, level min_level) : sink(min_level), fd_(fd), own_(own) {
  terminal_.store(fd >= 0 && ::isatty(fd) == 1, std::memory_order_relaxed);
  buffer_.reserve(k_flush_at * 2);
  ends_.reserve(1024);
}

fd_sink::~fd_sink() {
  try {
    flush();
  } catch (...) {  // nobody to tell: the error was counted when it happened, if ever
  }
  give_up(ends_.size());  // still kept: the descriptor never came back
  if (own_ == ownership::owned && fd_ >= 0) ::close(fd_);
}

void fd_sink::give_up(std::size_t lines) noexcept {
  if (lines == 0) return;
  lost_.fetch_add(lines, std::memory_order_relaxed);
  ctxlog::detail::sink_line_totals.dropped.fetch_add(lines, std::memory_order_relaxed);
}

void fd_sink::write(const log_line& line) {
  const bool failing = failing_.load(std::memory_order_relaxed);
  if (failing && buffer_.size() + line.text.size() > max_kept_bytes) {
    give_up(1);
    return;
  }
  buffer_.append(line.text);
  ends_.push_back(buffer_.size());
  if (!failing && buffer_.size() >= k_flush_at) write_out();  // while failing: at flush() only
}

void fd_sink::flush() {
  if (!buffer_.empty()) write_out();
}

void fd_sink::write_out() {
  const std::exception_ptr checked = before_write_out();
  const bool failing = failing_.load(std::memory_order_relaxed);
  outcome o{0, EBADF};
  if (fd_ >= 0) o = write_all(fd_, buffer_.data() + sent_, buffer_.size() - sent_, !failing);
  sent_ += o.written;
  if (o.error == 0) {
    buffer_.clear();
    ends_.clear();
    sent_ = 0;
    if (failing) failing_.store(false, std::memory_order_relaxed);
    if (checked) std::rethrow_exception(checked);
    return;
  }
  // Forget the lines that were written; a line half written is finished at the next
  // attempt, unless the file can take its part back now.
  const auto done = static_cast<std::size_t>(std::upper_bound(ends_.begin(), ends_.end(), sent_) - ends_.begin());
  if (done > 0) {
    const std::size_t cut = ends_[done - 1];
    buffer_.erase(0, cut);
    ends_.erase(ends_.begin(), ends_.begin() + static_cast<std::ptrdiff_t>(done));
    for (auto& e : ends_) e -= cut;
    sent_ -= cut;
  }
  if (sent_ > 0 && take_back(fd_, sent_)) sent_ = 0;
  // Keep whole lines from the oldest, at most max_kept_bytes (the first line always).
  const auto fit = static_cast<std::size_t>(std::upper_bound(ends_.begin(), ends_.end(), max_kept_bytes) - ends_.begin());
  const std::size_t keep = std::max<std::size_t>(fit, 1);
  if (keep < ends_.size()) {
    give_up(ends_.size() - keep);
    buffer_.resize(ends_[keep - 1]);
    ends_.resize(keep);
  }
  failing_.store(true, std::memory_order_relaxed);
  if (checked) std::rethrow_exception(checked);
  throw std::system_error(o.error, std::generic_category(),
                          fd_ < 0 ? std::string("ctxlog: log destination unavailable")
                                  : "ctxlog: write to fd " + std::to_string(fd_));
}

void fd_sink::switch_fd(int fd, ownership own) noexcept {
  if (sent_ > 0) {  // the first line is half in the old descriptor: it cannot be finished elsewhere
    if (take_back(fd_, sent_)) {
      sent_ = 0;
    } else {
      const std::size_t cut = ends_.front();
      buffer_.erase(0, cut);
      ends_.erase(ends_.begin());
      for (auto& e : ends_) e -= cut;
      sent_ = 0;
      give_up(1);
    }
  }
  if (own_ == ownership::owned && fd_ >= 0) ::close(fd_);
  fd_ = fd;
  own_ = own;
  terminal_.store(fd >= 0 && ::isatty(fd) == 1, std::memory_order_relaxed);
}

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
