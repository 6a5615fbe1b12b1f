// sinks/file.cpp — append to a named file; reopen it on request or on SIGHUP (logrotate).
// The SIGHUP hook lives here because the core library builds this file: the append sink
// of the core and the rotating sink of sinks/rotating_file.cpp both read its counter.
#include "ctxlog/sinks/file.hpp"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mutex>
#include <system_error>

namespace ctxlog {
inline namespace v1 {
namespace sinks {
namespace {

int open_append(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "ctxlog: cannot open log file '" + path + "'");
  // A program started with stdout (or stdin, stderr) closed gets the lowest free number:
  // the file must not become fd 1, or every line written to "stdout" lands in it too.
  if (fd <= 2) {
    const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    const int error = errno;
    ::close(fd);
    if (moved < 0) throw std::system_error(error, std::generic_category(), "ctxlog: cannot open log file '" + path + "'");
    fd = moved;
  }
  return fd;
}

std::uint64_t size_of(int fd) noexcept {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && st.st_size > 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// SIGHUPs received since reopen_on_sighup(). relaxed everywhere: a sink only compares the
// value with the last one it saw; nothing else is published through it.
std::atomic<std::uint32_t> g_sighups{0};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "the signal handler needs a lock-free counter");
struct sigaction g_previous_sighup {};

extern "C" void on_sighup(int sig, siginfo_t* info, void* uctx) {
  const int saved_errno = errno;
  g_sighups.fetch_add(1, std::memory_order_relaxed);
  if (g_previous_sighup.sa_flags & SA_SIGINFO) {
    if (g_previous_sighup.sa_sigaction != nullptr) g_previous_sighup.sa_sigaction(sig, info, uctx);
  } else if (g_previous_sighup.sa_handler != SIG_DFL && g_previous_sighup.sa_handler != SIG_IGN) {
    g_previous_sighup.sa_handler(sig);
  }
  errno = saved_errno;
}

}  // namespace

void reopen_on_sighup() {
  static std::once_flag once;
  std::call_once(once, [] {  // a throw leaves the flag unset, so a later call retries
    // Read the previous action before installing ours: the handler may run as soon as
    // sigaction returns, and it reads g_previous_sighup.
    if (::sigaction(SIGHUP, nullptr, &g_previous_sighup) != 0)
      throw std::system_error(errno, std::generic_category(), "ctxlog: sigaction(SIGHUP)");
    struct sigaction sa {};
    sa.sa_sigaction = on_sighup;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (::sigaction(SIGHUP, &sa, nullptr) != 0)
      throw std::system_error(errno, std::generic_category(), "ctxlog: sigaction(SIGHUP)");
  });
}

// The delegate takes the path by reference, so that open_append(path) reads it before the
// member initializer moves from it, whatever the order the arguments are evaluated in.
reopenable_file_sink::reopenable_file_sink(std::string path, level min_level)
    : reopenable_file_sink(open_append(path), std::move(path), min_level) {}

reopenable_file_sink::reopenable_file_sink(int fd, std::string&& path, level min_level)
    : fd_sink(fd, ownership::owned, min_level),
      path_(std::move(path)),
      size_(size_of(fd)),
      seen_sighups_(g_sighups.load(std::memory_order_relaxed)) {}

void reopenable_file_sink::reopen() {
  // Write the buffer out first, into the file it was meant for; a failure (disk full) must
  // not stop the reopen, which may be what cures it.
  std::exception_ptr flush_error;
  try {
    fd_sink::flush();
  } catch (...) {
    flush_error = std::current_exception();
  }
  const int fd = open_append(path_);
  size_ = size_of(fd);
  switch_fd(fd, ownership::owned);  // lines kept after a failed write go to the new file
  if (flush_error) std::rethrow_exception(flush_error);
}

std::exception_ptr reopenable_file_sink::reopen_if_requested() noexcept {
  const auto sighups = g_sighups.load(std::memory_order_relaxed);
  if (sighups == seen_sighups_ && !reopen_requested_.load(std::memory_order_relaxed)) return nullptr;
  seen_sighups_ = sighups;
  reopen_requested_.store(false, std::memory_order_relaxed);
  try {
    reopen();
    return nullptr;
  } catch (...) {
    return std::current_exception();
  }
}

void reopenable_file_sink::append(const log_line& line) {
  fd_sink::write(line);
  size_ += line.text.size();
}

void reopenable_file_sink::write(const log_line& line) {
  const auto error = reopen_if_requested();
  append(line);
  if (error) write_out_then_throw(error);
}

void reopenable_file_sink::write_out_then_throw(const std::exception_ptr& error) {
  // A back-end may flush only the sinks whose write() succeeded: write the line out now,
  // so that it is not held back by the error reported for it.
  try {
    fd_sink::flush();
  } catch (...) {  // the error being thrown is the one to report
  }
  std::rethrow_exception(error);
}

// Before a write out, at most every name_check_interval_ms: a file whose last name is
// gone (deleted, or its directory removed) would take the lines where nobody can read
// them. Open the path again; while that fails, write nowhere (every write out tries the
// path again): fd_sink keeps the lines (and counts those it gives up) and they go to the
// file once the path can be created again.
std::exception_ptr reopenable_file_sink::before_write_out() noexcept {
  const int old = fd();
  if (old >= 0) {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &now);  // vDSO: no system call
    const std::int64_t ms = std::int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000;
    if (ms - name_checked_ms_ < name_check_interval_ms) return nullptr;
    name_checked_ms_ = ms;
    struct stat st {};
    if (::fstat(old, &st) != 0 || st.st_nlink > 0) return nullptr;
  }
  try {
    const int fresh = open_append(path_);
    size_ = size_of(fresh);
    switch_fd(fresh, ownership::owned);
    return nullptr;
  } catch (...) {
    if (old >= 0) switch_fd(-1, ownership::owned);
    return std::current_exception();
  }
}

void reopenable_file_sink::flush() {
  const auto error = reopen_if_requested();
  fd_sink::flush();
  if (error) std::rethrow_exception(error);
}

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
