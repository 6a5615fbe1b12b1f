// ctxlog/sinks/fd_sink.hpp — a buffered sink over a file descriptor (stdout, a file, a
// pipe, a socket). The base of the stdio and file sinks.
//
// write() appends to a buffer and writes it out with write(2) once it holds 64 KiB;
// flush() writes out the rest. A write that fails (disk full, reader gone) throws
// std::system_error after discarding the buffered bytes, so a broken descriptor can
// neither grow memory nor block the program; a closed pipe raises no SIGPIPE.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <atomic>
#include <string>

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

 protected:
  // Flushes, then makes the sink write to fd (closing the old one if owned). When the
  // flush fails the switch still happens, then the error is thrown.
  void replace_fd(int fd, ownership own);

 private:
  int fd_;
  ownership own_;
  std::atomic<bool> terminal_{false};  // relaxed: a fact about fd_, read on its own
  std::string buffer_;
};

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
