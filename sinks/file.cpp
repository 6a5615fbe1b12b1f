// sinks/file.cpp — append to a file, reopen for logrotate.
#include "ctxlog/sinks/file.hpp"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <system_error>

namespace ctxlog {
inline namespace v1 {
namespace sinks {
namespace {

int open_append(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "ctxlog: cannot open log file '" + path + "'");
  return fd;
}

}  // namespace

append_file_sink::append_file_sink(std::string path, level min_level)
    : fd_sink(open_append(path), ownership::owned, min_level), path_(std::move(path)) {}

void append_file_sink::reopen() { replace_fd(open_append(path_), ownership::owned); }

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
