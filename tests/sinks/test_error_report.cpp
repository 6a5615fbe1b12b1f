// The stderr report of sink errors is rate-limited: a burst of failures gives one line
// per interval, with the count. Its own executable: the interval starts at the first
// report of the process.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/sinks/null.hpp"
#include "sink_files.hpp"
#include "support.hpp"

namespace {

// src/core.cpp reports at most once per this interval.
constexpr auto k_report_interval = std::chrono::seconds(10);

// Runs fn with file descriptor 2 going to a file; returns what was written to it.
template <class F>
std::string capture_stderr(const ctxlog_test::temp_dir& dir, F fn) {
  const auto path = dir.file("stderr.txt");
  const int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(file >= 0);
  const int saved = ::dup(2);
  ::dup2(file, 2);
  ::close(file);
  fn();
  ::dup2(saved, 2);
  ::close(saved);
  return ctxlog_test::read_file(path);
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_SUITE("sink error report") {
  TEST_CASE("a burst of sink errors is reported on stderr once per interval, with the cause") {
    ctxlog_test::temp_dir dir("error_report");
    auto failing = std::make_shared<ctxlog_test::capture_sink>();
    failing->fail(true);
    auto healthy = std::make_shared<ctxlog_test::capture_sink>();
    ctxlog::configure({.sinks = {failing, healthy}});
    const auto errors_before = ctxlog::get_stats().sink_errors;
    constexpr int n = 1000;
    const auto start = std::chrono::steady_clock::now();
    const auto err = capture_stderr(dir, [] {
      for (int i = 0; i < n; ++i) LOG_INFO("line {}", i);
      ctxlog::flush();
    });
    const auto elapsed = std::chrono::steady_clock::now() - start;
    ctxlog::configure({.sinks = {ctxlog::sinks::null_sink()}});

    CHECK(ctxlog::get_stats().sink_errors - errors_before == n);
    CHECK(healthy->size() == n);
    const auto reports = count(err, "ctxlog: sink error");
    CHECK(reports >= 1);
    // One report when the burst starts, then at most one per interval that passed.
    CHECK(reports <= 1 + static_cast<std::size_t>(elapsed / k_report_interval));
    CHECK(count(err, "capture_sink told to fail") == reports);
    CHECK(count(err, "\n") == reports);  // nothing else, and whole lines
  }
}
