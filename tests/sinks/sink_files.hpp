// tests/sinks/sink_files.hpp — temp directories and line readers for the sink suites.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "ctxlog/config.hpp"
#include "ctxlog/log.hpp"
#include "ctxlog/sinks/null.hpp"
#include "support.hpp"

namespace ctxlog_test {

// A fresh directory under the temp dir, removed with everything in it at scope exit.
class temp_dir {
 public:
  explicit temp_dir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("ctxlog_sinks_" + std::to_string(::getpid()) + "_" + name)) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// True when a SIGPIPE is pending on this thread (a sink must never leave one behind).
inline bool sigpipe_pending() {
  sigset_t pending;
  sigemptyset(&pending);
  sigpending(&pending);
  return sigismember(&pending, SIGPIPE) == 1;
}

// Replaces the configured sinks with a null sink, so the test's sinks are released.
inline void release_sinks() { ctxlog::configure({.sinks = {ctxlog::sinks::null_sink()}}); }

// Logs 50 lines to `failing` and a healthy capture sink side by side: the failures are
// counted as sink errors and the healthy sink still gets every line.
inline void check_failing_beside_healthy(ctxlog::sink_ptr failing) {
  auto healthy = std::make_shared<capture_sink>();
  ctxlog::configure({.sinks = {std::move(failing), healthy}});
  const auto before = ctxlog::get_stats().sink_errors;
  for (int i = 0; i < 50; ++i) LOG_INFO("lost {}", i);
  ctxlog::flush();
  CHECK(ctxlog::get_stats().sink_errors > before);
  CHECK(healthy->size() == 50);
  release_sinks();
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every line of the file with its '\n'; a last line without '\n' is kept as it is, so
// parse_line() fails on a line split across files.
inline std::vector<std::string> read_lines(const std::string& path) {
  const std::string all = read_file(path);
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < all.size()) {
    const auto nl = all.find('\n', start);
    const auto end = nl == std::string::npos ? all.size() : nl + 1;
    out.push_back(all.substr(start, end - start));
    start = end;
  }
  return out;
}

}  // namespace ctxlog_test
