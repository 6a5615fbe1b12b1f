// The bridge into spdlog sinks: each JSON line reaches spdlog's real file, rotating and
// daily sinks as exactly the line plus spdlog's eol; levels map; spdlog's errors (disk
// full, reader gone) are counted as sink errors and never crash.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/daily_file_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/sinks/null.hpp"
#include "ctxlog/sinks/spdlog_sink.hpp"
#include "sink_files.hpp"
#include "support.hpp"

namespace {

using ctxlog_test::check_failing_beside_healthy;
using ctxlog_test::parse_line;
using ctxlog_test::read_lines;
using ctxlog_test::release_sinks;
using ctxlog_test::sigpipe_pending;
using ctxlog_test::temp_dir;

// A spdlog sink that keeps what spdlog gives its sinks.
class spy_sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  struct entry {
    spdlog::level::level_enum level;
    std::string logger, payload;
  };
  std::vector<entry> entries;

 protected:
  void sink_it_(const spdlog::details::log_msg& m) override {
    entries.push_back({m.level, std::string(m.logger_name.data(), m.logger_name.size()),
                       std::string(m.payload.data(), m.payload.size())});
  }
  void flush_() override {}
};

void log_numbered(int n) {
  for (int i = 0; i < n; ++i) LOG_INFO("line {}", i, ctxlog::kv("i", i), ctxlog::kv("pad", std::string(100, 'p')));
}

// The "i" field of every line of every file in dir whose name starts with stem.
std::vector<int> ids_in_dir(const temp_dir& dir, const std::string& stem) {
  std::vector<int> ids;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    if (e.path().filename().string().rfind(stem, 0) != 0) continue;
    for (const auto& l : read_lines(e.path().string())) ids.push_back(parse_line(l)["i"].get<int>());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

TEST_SUITE("spdlog sink") {
  TEST_CASE("a spdlog basic_file_sink gets each JSON line exactly, plus spdlog's eol") {
    temp_dir dir("basic");
    const auto path = dir.file("app.log");
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, true);
    ctxlog::configure({.sinks = {ctxlog::sinks::to_spdlog(file)}, .min_level = ctxlog::level::trace});
    ctxlog::run(ctxlog::fields{}.request_id("r-1"), [] { LOG_INFO("order {} created", 7, ctxlog::kv("amount", 12.5)); });
    LOG_WARN("quote \" and newline \n inside");
    ctxlog::flush();
    release_sinks();

    const auto lines = read_lines(path);  // parse_line: one object, one '\n', nothing else
    REQUIRE(lines.size() == 2);
    const auto first = parse_line(lines[0]);
    CHECK(first["msg"] == "order 7 created");
    CHECK(first["requestId"] == "r-1");
    CHECK(first["amount"] == 12.5);
    CHECK(first["level"] == "info");
    CHECK(parse_line(lines[1])["msg"] == "quote \" and newline \n inside");
  }

  TEST_CASE("ctxlog levels map to spdlog levels, and the spdlog sink's own level is respected") {
    using L = spdlog::level::level_enum;
    CHECK(ctxlog::sinks::to_spdlog_level(ctxlog::level::trace) == L::trace);
    CHECK(ctxlog::sinks::to_spdlog_level(ctxlog::level::debug) == L::debug);
    CHECK(ctxlog::sinks::to_spdlog_level(ctxlog::level::info) == L::info);
    CHECK(ctxlog::sinks::to_spdlog_level(ctxlog::level::warn) == L::warn);
    CHECK(ctxlog::sinks::to_spdlog_level(ctxlog::level::error) == L::err);
    CHECK(ctxlog::sinks::to_spdlog_level(ctxlog::level::critical) == L::critical);
    CHECK(ctxlog::sinks::to_spdlog_level(ctxlog::level::off) == L::off);

    auto spy = std::make_shared<spy_sink>();
    spy->set_level(spdlog::level::warn);
    ctxlog::configure({.sinks = {ctxlog::sinks::to_spdlog(spy)}, .min_level = ctxlog::level::trace});
    auto& orders = ctxlog::get_logger("orders");
    LOG_INFO_TO(orders, "skipped by spdlog's level");
    LOG_WARN_TO(orders, "w");
    LOG_ERROR_TO(orders, "e");
    LOG_CRITICAL_TO(orders, "c");
    ctxlog::flush();
    release_sinks();

    REQUIRE(spy->entries.size() == 3);
    CHECK(spy->entries[0].level == L::warn);
    CHECK(spy->entries[1].level == L::err);
    CHECK(spy->entries[2].level == L::critical);
    for (const auto& e : spy->entries) {
      CHECK(e.logger == "orders");
      const auto j = parse_line(e.payload + "\n");  // the payload is the line without its '\n'
      CHECK(j["logger"] == "orders");
    }
  }

  TEST_CASE("the ctxlog sink's minimum level filters before spdlog") {
    auto spy = std::make_shared<spy_sink>();
    ctxlog::configure({.sinks = {ctxlog::sinks::to_spdlog(spy, ctxlog::level::error)}, .min_level = ctxlog::level::trace});
    LOG_WARN("w");
    LOG_ERROR("e");
    ctxlog::flush();
    release_sinks();
    REQUIRE(spy->entries.size() == 1);
    CHECK(parse_line(spy->entries[0].payload + "\n")["msg"] == "e");
  }

  TEST_CASE("spdlog_pattern::keep leaves the spdlog sink's pattern, with the JSON line as %v") {
    temp_dir dir("keep");
    const auto path = dir.file("app.log");
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, true);
    file->set_pattern("[%n] %v");
    ctxlog::configure({.sinks = {ctxlog::sinks::to_spdlog(file, ctxlog::level::trace, ctxlog::sinks::spdlog_pattern::keep)}});
    LOG_INFO_TO(ctxlog::get_logger("orders"), "kept");
    ctxlog::flush();
    release_sinks();
    const auto lines = read_lines(path);
    REQUIRE(lines.size() == 1);
    const std::string prefix = "[orders] ";
    REQUIRE(lines[0].rfind(prefix, 0) == 0);
    CHECK(parse_line(lines[0].substr(prefix.size()))["msg"] == "kept");
  }

  TEST_CASE("spdlog's rotating_file_sink keeps every line across its files") {
    temp_dir dir("rotating");
    auto rot = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(dir.file("app.log"), 16 * 1024, 100);
    ctxlog::configure({.sinks = {ctxlog::sinks::to_spdlog(rot)}});
    constexpr int n = 3000;  // ~750 KB: dozens of files
    log_numbered(n);
    ctxlog::flush();
    release_sinks();
    rot.reset();

    CHECK(std::filesystem::exists(dir.file("app.10.log")));
    const auto ids = ids_in_dir(dir, "app");
    REQUIRE(ids.size() == n);
    for (int i = 0; i < n; ++i) REQUIRE(ids[static_cast<std::size_t>(i)] == i);
  }

  TEST_CASE("spdlog's daily_file_sink gets every line") {
    temp_dir dir("daily");
    auto daily = std::make_shared<spdlog::sinks::daily_file_sink_mt>(dir.file("daily.log"), 0, 0);
    ctxlog::configure({.sinks = {ctxlog::sinks::to_spdlog(daily)}});
    log_numbered(500);
    ctxlog::flush();
    release_sinks();
    daily.reset();

    const auto ids = ids_in_dir(dir, "daily_");  // daily_YYYY-MM-DD.log
    REQUIRE(ids.size() == 500);
    CHECK(ids.front() == 0);
    CHECK(ids.back() == 499);
  }

  TEST_CASE("a full disk (/dev/full) behind a spdlog sink is counted as sink errors, never a crash") {
    if (!std::filesystem::exists("/dev/full")) return;
    check_failing_beside_healthy(ctxlog::sinks::to_spdlog(std::make_shared<spdlog::sinks::basic_file_sink_mt>("/dev/full")));
  }

  TEST_CASE("a closed pipe behind a spdlog sink is a sink error, not a SIGPIPE death") {
    temp_dir dir("fifo");
    const auto path = dir.file("pipe.log");
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    const int reader = ::open(path.c_str(), O_RDONLY | O_NONBLOCK);  // lets spdlog open it
    REQUIRE(reader >= 0);
    auto to_pipe = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path);
    ::close(reader);  // the reader is gone
    auto healthy = std::make_shared<ctxlog_test::capture_sink>();
    ctxlog::configure({.sinks = {ctxlog::sinks::to_spdlog(to_pipe), healthy}});
    const auto before = ctxlog::get_stats().sink_errors;
    for (int i = 0; i < 50; ++i) LOG_INFO("nobody reads {}", i);
    ctxlog::flush();
    CHECK(ctxlog::get_stats().sink_errors > before);
    CHECK(healthy->size() == 50);
    CHECK_FALSE(sigpipe_pending());
    release_sinks();
  }

  TEST_CASE("a null spdlog sink is refused") {
    CHECK_THROWS_AS(ctxlog::sinks::to_spdlog(nullptr), std::invalid_argument);
  }
}
