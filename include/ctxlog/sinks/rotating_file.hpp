// ctxlog/sinks/rotating_file.hpp — a file sink that starts a new file when the current one
// would grow past a size, keeping the last N files: app.log, app.log.1 ... app.log.N.
// Its own library: link ctxlog_rotating_dep (meson) or ctxlog-rotating (pkg-config).
//
// Example:
//   ctxlog::configure({.sinks = {ctxlog::sinks::rotating_file("/var/log/orders.log",
//                                                             {.max_size = 50 << 20, .max_backups = 4})}});
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "ctxlog/sinks/file.hpp"

namespace ctxlog {
inline namespace v1 {
namespace sinks {

struct rotation_limits {
  std::uint64_t max_size = 10u << 20;  // bytes per file; a longer line gets a file of its own
  std::size_t max_backups = 5;         // app.log.1 (newest) ... app.log.N; 0: no backups, start empty
};

// Before writing a line that would take the file past max_size, renames app.log.(N-1) to
// app.log.N (replacing the oldest), ..., app.log to app.log.1, and opens a new app.log.
// A line is never split across files. When a rename or the open fails, nothing is
// overwritten, the line goes to the file still open, the error is thrown for the back-end
// to count and report, and the next attempt waits until another max_size bytes were
// written. reopen(), request_reopen() and reopen_on_sighup() work as for file_sink.
// Thread-safety: as every sink, write() and flush() are called by one thread at a time.
class rotating_file_sink final : public reopenable_file_sink {
 public:
  // Opens (creating) path for appending; throws std::system_error when it cannot, and
  // std::invalid_argument when limits.max_size is 0.
  rotating_file_sink(std::string path, rotation_limits limits, level min_level = level::trace);

  void write(const log_line& line) override;

  const rotation_limits& limits() const noexcept { return limits_; }
  // The name of backup i (1 = newest): path() + "." + i.
  std::string backup_path(std::size_t i) const;

 private:
  void rotate();

  rotation_limits limits_;
  std::uint64_t retry_at_size_ = 0;  // after a failed rotation: do not try before this size
};

inline std::shared_ptr<rotating_file_sink> rotating_file(std::string path, rotation_limits limits = {},
                                                         level min_level = level::trace) {
  return std::make_shared<rotating_file_sink>(std::move(path), limits, min_level);
}

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
