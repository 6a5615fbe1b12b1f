// The basic sinks: stdout, file append and reopen, and failing descriptors.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "ctxlog/ctxlog.hpp"
#include "support.hpp"

namespace {
std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l + "\n");
  return out;
}
// Run as a child with CTXLOG_TEST_UNCONFIGURED=1: log before anything configured ctxlog.
const bool child_mode = [] {
  if (!std::getenv("CTXLOG_TEST_UNCONFIGURED")) return false;
  LOG_INFO("before configure");
  ctxlog::flush();
  std::_Exit(0);
}();

std::string temp_path(const char* name) {
  auto p = std::filesystem::temp_directory_path() / (std::string("ctxlog_") + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove(p);
  return p.string();
}
}  // namespace

TEST_SUITE("sinks") {
  TEST_CASE("the file sink appends one JSON object per line") {
    const auto path = temp_path("append.log");
    {
      std::ofstream(path) << "{\"pre\":\"existing\"}\n";
    }
    ctxlog::configure({.sinks = {ctxlog::sinks::file_sink(path)}});
    ctxlog::run(ctxlog::fields{}.request_id("file-req"), [] { LOG_INFO("to file {}", 1); });
    LOG_INFO("to file {}", 2);
    ctxlog::flush();
    const auto lines = read_lines(path);
    REQUIRE(lines.size() == 3);
    CHECK(ctxlog_test::parse_line(lines[0])["pre"] == "existing");
    CHECK(ctxlog_test::parse_line(lines[1])["requestId"] == "file-req");
    CHECK(ctxlog_test::parse_line(lines[2])["msg"] == "to file 2");
    std::filesystem::remove(path);
  }

  TEST_CASE("reopen() continues in a new file after the old one was moved away") {
    const auto path = temp_path("rotate.log");
    auto f = ctxlog::sinks::file_sink(path);
    ctxlog::configure({.sinks = {f}});
    LOG_INFO("first");
    ctxlog::flush();
    std::filesystem::rename(path, path + ".1");
    f->reopen();
    LOG_INFO("second");
    ctxlog::flush();
    CHECK(read_lines(path + ".1").size() == 1);
    const auto now = read_lines(path);
    REQUIRE(now.size() == 1);
    CHECK(ctxlog_test::parse_line(now[0])["msg"] == "second");
    std::filesystem::remove(path);
    std::filesystem::remove(path + ".1");
  }

  TEST_CASE("opening a file that cannot be created throws a clear error") {
    CHECK_THROWS_WITH_AS(ctxlog::sinks::file_sink("/nonexistent-dir/x.log"),
                         doctest::Contains("/nonexistent-dir/x.log"), std::system_error);
  }

  TEST_CASE("stdout receives the lines") {
    int pipefd[2];
    REQUIRE(::pipe(pipefd) == 0);
    const int saved = ::dup(1);
    ::dup2(pipefd[1], 1);
    ctxlog::configure({.sinks = {ctxlog::sinks::stdout_sink()}});
    LOG_INFO("to stdout", ctxlog::kv("n", 1));
    ctxlog::flush();
    ::dup2(saved, 1);
    ::close(saved);
    ::close(pipefd[1]);
    char buf[4096];
    const auto n = ::read(pipefd[0], buf, sizeof buf);
    ::close(pipefd[0]);
    REQUIRE(n > 0);
    const auto j = ctxlog_test::parse_line(std::string(buf, static_cast<std::size_t>(n)));
    CHECK(j["msg"] == "to stdout");
  }

  TEST_CASE("a full disk (/dev/full) is counted as sink errors, never a crash") {
    if (!std::filesystem::exists("/dev/full")) return;
    auto good = std::make_shared<ctxlog_test::capture_sink>();
    ctxlog::configure({.sinks = {ctxlog::sinks::file_sink("/dev/full"), good}, .mode = ctxlog::dispatch_mode::sync});
    const auto before = ctxlog::get_stats().sink_errors;
    for (int i = 0; i < 10; ++i) LOG_INFO("lost {}", i);
    CHECK(ctxlog::get_stats().sink_errors >= before + 10);
    CHECK(good->size() == 10);
  }

  TEST_CASE("a closed pipe is a sink error, not a SIGPIPE death") {
    int pipefd[2];
    REQUIRE(::pipe(pipefd) == 0);
    ::close(pipefd[0]);  // the reader is gone
    auto to_pipe = std::make_shared<ctxlog::sinks::fd_sink>(pipefd[1], ctxlog::sinks::fd_sink::ownership::owned);
    ctxlog::configure({.sinks = {to_pipe}});
    ctxlog::flush();
    const auto before = ctxlog::get_stats();
    LOG_INFO("nobody reads this");
    ctxlog::flush();
    // Counted at each attempt: the sink keeps the line and tries again at every flush.
    CHECK(ctxlog::get_stats().sink_errors >= before.sink_errors + 1);
    CHECK(to_pipe->failing());
    ctxlog::configure({});
    ctxlog::flush();
    to_pipe.reset();  // the kept line is given up, and counted, with the sink
    CHECK(ctxlog::get_stats().sink_dropped == before.sink_dropped + 1);
  }

  TEST_CASE("logging before any configure() goes to stdout") {
    int pipefd[2];
    REQUIRE(::pipe(pipefd) == 0);
    const std::string self = ctxlog_test::self_exe_path();  // not /proc/self/exe: valgrind
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::dup2(pipefd[1], 1);
      ::close(pipefd[0]);
      char env[] = "CTXLOG_TEST_UNCONFIGURED=1";
      char* const envp[] = {env, nullptr};
      execle(self.c_str(), "test_sinks", static_cast<char*>(nullptr), envp);
      ::_exit(127);
    }
    ::close(pipefd[1]);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    ::close(pipefd[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK(WIFEXITED(status));
    REQUIRE(!out.empty());
    CHECK(ctxlog_test::parse_line(out)["msg"] == "before configure");
  }
}
