// ctxlog/sinks/file.hpp — appends lines to a file.
//
// Example:
//   auto f = ctxlog::sinks::file_sink("/var/log/orders.log");
//   ctxlog::configure({.sinks = {f}});
#pragma once

#include <memory>
#include <string>

#include "ctxlog/sinks/fd_sink.hpp"

namespace ctxlog {
inline namespace v1 {
namespace sinks {

// Opens (creating, mode 0644) path for appending. Throws std::system_error when it cannot.
class append_file_sink final : public fd_sink {
 public:
  explicit append_file_sink(std::string path, level min_level = level::trace);
  // Closes and opens the path again: call after logrotate moved the file away.
  void reopen();
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

inline std::shared_ptr<append_file_sink> file_sink(std::string path, level min_level = level::trace) {
  return std::make_shared<append_file_sink>(std::move(path), min_level);
}

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
