// Failing sinks next to healthy ones: a full disk, a closed pipe, a sink that throws. The
// errors are counted, nothing crashes or hangs, and the other sinks get every line.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/sinks/null.hpp"
#include "ctxlog/sinks/rotating_file.hpp"
#include "sink_files.hpp"
#include "support.hpp"

namespace {

using ctxlog_test::capture_sink;
using ctxlog_test::check_failing_beside_healthy;
using ctxlog_test::release_sinks;
using ctxlog_test::sigpipe_pending;
using ctxlog_test::temp_dir;

// Throws from flush() only, as a sink whose buffered bytes cannot be written would.
class flush_fails_sink final : public ctxlog::sink {
 public:
  void write(const ctxlog::log_line&) override {}
  void flush() override { throw std::runtime_error("flush_fails_sink told to fail"); }
};

}  // namespace

TEST_SUITE("sink failures") {
  TEST_CASE("a sink that throws on every write costs the healthy sink no line") {
    auto failing = std::make_shared<capture_sink>();
    failing->fail(true);
    auto healthy = std::make_shared<capture_sink>();
    ctxlog::configure({.sinks = {failing, healthy}, .min_level = ctxlog::level::trace});
    const auto before = ctxlog::get_stats().sink_errors;
    for (int i = 0; i < 200; ++i) LOG_INFO("line {}", i, ctxlog::kv("i", i));
    ctxlog::flush();
    CHECK(ctxlog::get_stats().sink_errors - before == 200);
    const auto lines = healthy->parsed();
    REQUIRE(lines.size() == 200);
    for (int i = 0; i < 200; ++i) CHECK(lines[static_cast<std::size_t>(i)]["i"] == i);
    CHECK(failing->size() == 0);
    release_sinks();
  }

  TEST_CASE("a sink whose flush throws is counted, and the healthy sink gets every line") {
    auto healthy = std::make_shared<capture_sink>();
    ctxlog::configure({.sinks = {std::make_shared<flush_fails_sink>(), healthy}});
    const auto before = ctxlog::get_stats().sink_errors;
    for (int i = 0; i < 20; ++i) LOG_INFO("line {}", i);
    ctxlog::flush();
    CHECK(ctxlog::get_stats().sink_errors > before);
    CHECK(healthy->size() == 20);
    release_sinks();
  }

  TEST_CASE("each sink of a logger gets only the lines at or above its own minimum level") {
    auto all = std::make_shared<capture_sink>(ctxlog::level::trace);
    auto warn = std::make_shared<capture_sink>(ctxlog::level::warn);
    auto err = std::make_shared<capture_sink>(ctxlog::level::error);
    ctxlog::configure({.sinks = {all, warn, err}, .min_level = ctxlog::level::trace});
    LOG_DEBUG("d");
    LOG_INFO("i");
    LOG_WARN("w");
    LOG_ERROR("e");
    LOG_CRITICAL("c");
    ctxlog::flush();
    CHECK(all->size() == 5);
    CHECK(warn->size() == 3);
    REQUIRE(err->size() == 2);
    CHECK(err->parsed()[0]["level"] == "error");
    CHECK(err->parsed()[1]["level"] == "critical");
    release_sinks();
  }

  TEST_CASE("the rotating sink on a full disk (/dev/full) counts errors; the other sink keeps every line") {
    if (!std::filesystem::exists("/dev/full")) return;
    temp_dir dir("dev_full");
    // Through a symlink: a rotation renames the link, never the device node.
    const auto path = dir.file("full.log");
    std::filesystem::create_symlink("/dev/full", path);
    check_failing_beside_healthy(ctxlog::sinks::rotating_file(path, {.max_size = 1 << 30, .max_backups = 2}));
  }

  TEST_CASE("a closed pipe behind the rotating sink is a sink error, not a SIGPIPE death") {
    temp_dir dir("fifo");
    const auto path = dir.file("pipe.log");
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    const int reader = ::open(path.c_str(), O_RDONLY | O_NONBLOCK);  // lets the sink open it
    REQUIRE(reader >= 0);
    auto to_pipe = ctxlog::sinks::rotating_file(path, {.max_size = 1 << 30, .max_backups = 1});
    ::close(reader);  // the reader is gone
    auto healthy = std::make_shared<capture_sink>();
    ctxlog::configure({.sinks = {to_pipe, healthy}});
    const auto before = ctxlog::get_stats().sink_errors;
    for (int i = 0; i < 50; ++i) LOG_INFO("nobody reads {}", i);
    ctxlog::flush();
    CHECK(ctxlog::get_stats().sink_errors > before);
    CHECK(healthy->size() == 50);
    CHECK_FALSE(sigpipe_pending());
    release_sinks();
  }
}
