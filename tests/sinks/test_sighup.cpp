// The opt-in SIGHUP hook: after logrotate moved the files away, a real SIGHUP makes the
// append and rotating sinks continue in new files, and the handler installed before still
// runs. Its own executable: the handler is process-wide and installed once.
#include <doctest/doctest.h>
#include <signal.h>

#include <filesystem>
#include <string>
#include <vector>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/sinks/null.hpp"
#include "ctxlog/sinks/rotating_file.hpp"
#include "sink_files.hpp"
#include "support.hpp"

namespace {

using ctxlog_test::parse_line;
using ctxlog_test::read_lines;

volatile sig_atomic_t g_previous_handler_calls = 0;
extern "C" void previous_handler(int) { g_previous_handler_calls = g_previous_handler_calls + 1; }

std::vector<std::string> messages(const std::string& path) {
  std::vector<std::string> out;
  for (const auto& l : read_lines(path)) out.push_back(parse_line(l)["msg"].get<std::string>());
  return out;
}

void release_sinks() { ctxlog::configure({.sinks = {ctxlog::sinks::null_sink()}}); }

}  // namespace

TEST_SUITE("sighup reopen") {
  // Kept first: the previous handler must be installed before reopen_on_sighup().
  TEST_CASE("after SIGHUP the file sinks write to new files and the previous handler still runs") {
    struct sigaction sa {};
    sa.sa_handler = previous_handler;
    sigemptyset(&sa.sa_mask);
    REQUIRE(::sigaction(SIGHUP, &sa, nullptr) == 0);
    ctxlog::sinks::reopen_on_sighup();
    ctxlog::sinks::reopen_on_sighup();  // idempotent: must not chain to itself

    ctxlog_test::temp_dir dir("sighup");
    auto plain = ctxlog::sinks::file_sink(dir.file("plain.log"));
    auto rot = ctxlog::sinks::rotating_file(dir.file("rot.log"), {.max_size = 1 << 20, .max_backups = 3});
    ctxlog::configure({.sinks = {plain, rot}});
    LOG_INFO("before");
    ctxlog::flush();
    std::filesystem::rename(dir.file("plain.log"), dir.file("plain.log.1"));  // what logrotate does
    std::filesystem::rename(dir.file("rot.log"), dir.file("rot.log.old"));
    REQUIRE(::raise(SIGHUP) == 0);
    CHECK(g_previous_handler_calls == 1);
    LOG_INFO("after");
    ctxlog::flush();
    release_sinks();

    CHECK(messages(dir.file("plain.log.1")) == std::vector<std::string>{"before"});
    CHECK(messages(dir.file("plain.log")) == std::vector<std::string>{"after"});
    CHECK(messages(dir.file("rot.log.old")) == std::vector<std::string>{"before"});
    CHECK(messages(dir.file("rot.log")) == std::vector<std::string>{"after"});
  }

  TEST_CASE("a sink that gets no line after SIGHUP reopens when it is flushed") {
    ctxlog::sinks::reopen_on_sighup();
    ctxlog_test::temp_dir dir("sighup_flush");
    auto plain = ctxlog::sinks::file_sink(dir.file("app.log"), ctxlog::level::error);
    auto other = std::make_shared<ctxlog_test::capture_sink>();
    ctxlog::configure({.sinks = {plain, other}});
    LOG_ERROR("before");
    ctxlog::flush();
    std::filesystem::rename(dir.file("app.log"), dir.file("app.log.1"));
    REQUIRE(::raise(SIGHUP) == 0);
    LOG_INFO("below the file sink's level");  // a batch for the other sink: every sink is flushed
    ctxlog::flush();
    CHECK(std::filesystem::exists(dir.file("app.log")));  // reopened: the old file is closed
    release_sinks();
  }

  TEST_CASE("a reopen that fails is a sink error and the line still goes to the old file") {
    ctxlog::sinks::reopen_on_sighup();
    ctxlog_test::temp_dir dir("sighup_fails");
    std::filesystem::create_directories(dir.path() / "sub");
    const auto path = (dir.path() / "sub" / "app.log").string();
    auto plain = ctxlog::sinks::file_sink(path);
    ctxlog::configure({.sinks = {plain}});
    std::filesystem::rename(path, dir.file("moved.log"));
    std::filesystem::remove(dir.path() / "sub");  // the path cannot be opened again
    const auto before = ctxlog::get_stats().sink_errors;
    REQUIRE(::raise(SIGHUP) == 0);
    LOG_INFO("still kept");
    ctxlog::flush();
    CHECK(ctxlog::get_stats().sink_errors > before);
    CHECK(messages(dir.file("moved.log")) == std::vector<std::string>{"still kept"});
    release_sinks();
  }
}
