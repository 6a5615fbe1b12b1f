// ctxlog/sinks/fd_sink.hpp — a buffered sink over a file descriptor (stdout, a file, a
// pipe, a socket). The base of the stdio and file sinks.
//
// write() appends to a buffer and writes it out with write(2) once it holds 64 KiB;
// flush() writes out the rest. A closed pipe raises no SIGPIPE and a file past its
// RLIMIT_FSIZE no SIGXFSZ: both come back as errors.
//
// When a write fails (disk full, reader gone, descriptor closed, a pipe that stayed full
// for 5 s), the sink
//   - keeps the lines it could not write, oldest first, up to 1 MiB, and tries them again
//     at the next flush (the back-end flushes after every batch); while it is failing it
//     does not wait for a full pipe again, and lines that do not fit are dropped;
//   - never leaves half a line behind: after a short write it finishes that line first at
//     the next attempt, or (a regular file nobody appended to since) truncates the file
//     back to the end of the last whole line;
//   - throws std::system_error with the cause, which the back-end counts (sink_errors)
//     and reports on stderr, rate-limited.
// Every line it takes is written or counted in lines_lost() and in
// ctxlog::get_stats().sink_dropped: a line given up, or still kept when the sink is
// destroyed. When the fault goes away the kept lines are written and the sink carries on.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "ctxlog/sink.hpp"

namespace ctxlog {
inline namespace v1 {
namespace sinks {

class fd_sink : public sink {
 public:
  enum class ownership { borrowed, owned };
  fd_sink(int fd, ownership own, level min_level = level::trace);
  ~fd_sink() override;

  void write(const log_line& line) override;
  void flush() override;

  // Whether the descriptor was a terminal (isatty) when it was given to the sink; read
  // by configure() for console_color::automatic (console.hpp). Thread-safe.
  bool is_terminal() const noexcept { return terminal_.load(std::memory_order_relaxed); }

  // Lines this sink took and gave up (see above). Thread-safe.
  std::uint64_t lines_lost() const noexcept { return lost_.load(std::memory_order_relaxed); }
  // Whether the last attempt to write out failed (the sink is keeping lines). Thread-safe.
  bool failing() const noexcept { return failing_.load(std::memory_order_relaxed); }

  // The most bytes of lines kept while writes fail.
  static constexpr std::size_t max_kept_bytes = std::size_t{1} << 20;

 protected:
  // Makes the sink write to fd (-1: nowhere, until the next switch) without writing out
  // first: what is buffered goes to the new descriptor, but a line half written to the
  // old one is given up. Closes the old descriptor if owned.
  void switch_fd(int fd, ownership own) noexcept;
  int fd() const noexcept { return fd_; }
  // Called by flush() before it writes the buffer out: a derived sink may check its
  // destination there and switch_fd(). An error it returns is thrown after the write.
  virtual std::exception_ptr before_write_out() noexcept { return nullptr; }

 private:
  void write_out();
  void give_up(std::size_t lines) noexcept;

  int fd_;
  ownership own_;
  std::atomic<bool> terminal_{false};  // relaxed: a fact about fd_, read on its own
  std::atomic<bool> failing_{false};
  std::atomic<std::uint64_t> lost_{0};
  std::string buffer_;
  std::vector<std::size_t> ends_;  // where each line of buffer_ ends
  std::size_t sent_ = 0;           // bytes of buffer_'s first line already written
};

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
