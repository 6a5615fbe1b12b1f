// sinks/rotating_file.cpp — size-based rotation on top of the reopenable file sink: shift
// the backups, then reopen the path. Built as its own library (ctxlog_rotating).
#include "ctxlog/sinks/rotating_file.hpp"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <stdexcept>
#include <system_error>

namespace ctxlog {
inline namespace v1 {
namespace sinks {
namespace {

// rename(2), where a missing source is not an error (that backup does not exist yet, or
// someone removed the file).
void rename_if_exists(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) == 0 || errno == ENOENT) return;
  throw std::system_error(errno, std::generic_category(),
                          "ctxlog: cannot rotate log file: rename '" + from + "' to '" + to + "'");
}

// Passes the path through once the limits are known to be usable: checked before the base
// class creates the file.
std::string checked(std::string path, const rotation_limits& limits) {
  if (limits.max_size == 0) throw std::invalid_argument("ctxlog: rotating_file_sink needs max_size > 0");
  return path;
}

}  // namespace

rotating_file_sink::rotating_file_sink(std::string path, rotation_limits limits, level min_level)
    : reopenable_file_sink(checked(std::move(path), limits), min_level), limits_(limits) {}

std::string rotating_file_sink::backup_path(std::size_t i) const { return path() + "." + std::to_string(i); }

void rotating_file_sink::write(const log_line& line) {
  auto error = reopen_if_requested();
  const auto size = file_size();
  if (!error && size > 0 && size + line.text.size() > limits_.max_size && size >= retry_at_size_) {
    try {
      rotate();
      retry_at_size_ = 0;
    } catch (...) {
      error = std::current_exception();
      retry_at_size_ = file_size() + limits_.max_size;
    }
  }
  append(line);  // to the new file, or to the old one if the rotation failed
  if (error) write_out_then_throw(error);
}

void rotating_file_sink::rotate() {
  // Oldest first, so that no rename replaces a file that has not been moved on yet; the
  // first failure stops the shift before anything is overwritten. rename(2) of
  // .(N-1) onto .N replaces the oldest backup atomically.
  if (limits_.max_backups == 0) {
    if (::unlink(path().c_str()) != 0 && errno != ENOENT)
      throw std::system_error(errno, std::generic_category(), "ctxlog: cannot rotate log file: unlink '" + path() + "'");
  } else {
    for (std::size_t i = limits_.max_backups - 1; i >= 1; --i) rename_if_exists(backup_path(i), backup_path(i + 1));
    rename_if_exists(path(), backup_path(1));
  }
  // Writes what is buffered into the old file (now .1) and opens a new one. If the open
  // fails, the old file stays in use under its new name and the next attempt moves it on.
  reopen();
}

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
