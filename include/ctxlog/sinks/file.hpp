// ctxlog/sinks/file.hpp — sinks that append to a named file and reopen it for logrotate.
//
// A file sink writes through fd_sink's buffer to the file it opened. After logrotate
// moved the file away, reopen() (or a request: request_reopen(), SIGHUP once
// reopen_on_sighup() was called) makes it continue in a new file at the same path.
//
// Example:
//   auto f = ctxlog::sinks::file_sink("/var/log/orders.log");
//   ctxlog::configure({.sinks = {f}});
//   ctxlog::sinks::reopen_on_sighup();  // logrotate's postrotate: kill -HUP <pid>
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>

#include "ctxlog/sinks/fd_sink.hpp"

namespace ctxlog {
inline namespace v1 {
namespace sinks {

// What every file sink shares: its path, reopening it, and carrying out reopen requests.
// write() and flush() first carry out a pending request; when the path cannot be opened
// the line still goes to the old file, then the error is thrown (the back-end counts and
// reports it). A request is tried once: send another one, or call reopen(), to retry.
// A file deleted while open, or whose directory was removed, is noticed at the first
// write out once name_check_interval_ms has passed since the last look (one fstat): the
// sink opens the path again, and until it can (the directory is back) it keeps the lines as
// for a failed write (fd_sink.hpp). Lines written out within that interval after the
// deletion went to the deleted file, as any line written just before it did.
class reopenable_file_sink : public fd_sink {
 public:
  void write(const log_line& line) override;
  void flush() override;

  // Writes out the buffer, closes the file and opens the path again, now. Throws
  // std::system_error when the path cannot be opened; the old file then stays in use.
  // Not safe while another thread may be in write() or flush() (the back-end thread in
  // async mode): use request_reopen() there.
  void reopen();
  // Asks the sink to reopen its path before its next write or flush. Thread-safe and
  // async-signal-safe.
  void request_reopen() noexcept { reopen_requested_.store(true, std::memory_order_relaxed); }

  const std::string& path() const noexcept { return path_; }
  // The file's size when it was opened plus the bytes given to write() since. Read it
  // where no write can run at the same time (e.g. after ctxlog::flush() returned).
  std::uint64_t file_size() const noexcept { return size_; }

  // How often, at most, a write out checks that the file still has a name. The back-end
  // writes out after every batch, often tens of thousands of times a second; an fstat
  // each time cost 5-9 % of the file sink's rate (bench/throughput).
  static constexpr std::int64_t name_check_interval_ms = 10;

 protected:
  // Opens (creating, mode 0644) path for appending. Throws std::system_error.
  reopenable_file_sink(std::string path, level min_level);
  // Carries out a pending reopen request (request_reopen() or SIGHUP). Returns the error
  // instead of throwing it, so that the caller can still write its line first.
  std::exception_ptr reopen_if_requested() noexcept;
  // Hands the line to fd_sink's buffer and counts its bytes in file_size().
  void append(const log_line& line);
  // For write() after an error of the line's own reopen or rotation: writes the buffer
  // out, then throws error.
  [[noreturn]] void write_out_then_throw(const std::exception_ptr& error);
  // A file deleted (or its directory removed) while open: opens the path again.
  std::exception_ptr before_write_out() noexcept override;

 private:
  reopenable_file_sink(int fd, std::string&& path, level min_level);  // &&: see file.cpp

  std::string path_;
  std::uint64_t size_ = 0;
  std::uint32_t seen_sighups_;
  std::int64_t name_checked_ms_ = 0;  // CLOCK_MONOTONIC_COARSE, of the last fstat
  // relaxed: the flag carries no data; path_ is immutable and the writing thread reads it.
  std::atomic<bool> reopen_requested_{false};
};

// Appends lines to one file. Throws std::system_error when the file cannot be opened.
class append_file_sink final : public reopenable_file_sink {
 public:
  explicit append_file_sink(std::string path, level min_level = level::trace)
      : reopenable_file_sink(std::move(path), min_level) {}
};

inline std::shared_ptr<append_file_sink> file_sink(std::string path, level min_level = level::trace) {
  return std::make_shared<append_file_sink>(std::move(path), min_level);
}

// Opt-in: installs a SIGHUP handler that asks every file sink (append and rotating) to
// reopen its path on its next write or flush; a sink that is not written to keeps the old
// file open until then. The handler only bumps an atomic counter, then calls the handler
// that was installed before (unless that was SIG_DFL or SIG_IGN). Idempotent and
// thread-safe; throws std::system_error if sigaction fails.
//
// Example (logrotate):  postrotate  kill -HUP $(cat /run/orders.pid)  endscript
void reopen_on_sighup();

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
