// The size-based rotating file sink: every line kept across the files, old backups
// removed, lines never split, rotation failures reported without losing the line.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/sinks/null.hpp"
#include "ctxlog/sinks/rotating_file.hpp"
#include "sink_files.hpp"
#include "support.hpp"

namespace {

using ctxlog_test::parse_line;
using ctxlog_test::read_lines;
using ctxlog_test::temp_dir;

// The files of a rotating sink from the oldest backup to the current file.
std::vector<std::string> files_oldest_first(const ctxlog::sinks::rotating_file_sink& s) {
  std::vector<std::string> out;
  for (std::size_t i = s.limits().max_backups; i >= 1; --i)
    if (std::filesystem::exists(s.backup_path(i))) out.push_back(s.backup_path(i));
  if (std::filesystem::exists(s.path())) out.push_back(s.path());
  return out;
}

// The "i" field of every line of the files, oldest first; each line must parse.
std::vector<int> ids_in(const std::vector<std::string>& files) {
  std::vector<int> ids;
  for (const auto& f : files)
    for (const auto& l : read_lines(f)) ids.push_back(parse_line(l)["i"].get<int>());
  return ids;
}

void log_numbered(int from, int to) {
  static const std::string pad(120, 'x');
  for (int i = from; i < to; ++i) LOG_INFO("line {}", i, ctxlog::kv("i", i), ctxlog::kv("pad", pad));
}

void use_only(const ctxlog::sink_ptr& s) { ctxlog::configure({.sinks = {s}, .min_level = ctxlog::level::trace}); }
void release_sinks() { ctxlog::configure({.sinks = {ctxlog::sinks::null_sink()}}); }

}  // namespace

TEST_SUITE("rotating file sink") {
  TEST_CASE("rotation keeps every line: each once, in order, across the files") {
    temp_dir dir("keep_all");
    constexpr std::uint64_t max_size = 32 * 1024;
    auto rot = ctxlog::sinks::rotating_file(dir.file("app.log"), {.max_size = max_size, .max_backups = 100});
    use_only(rot);
    const auto errors_before = ctxlog::get_stats().sink_errors;
    constexpr int n = 10000;
    log_numbered(0, n);
    ctxlog::flush();
    release_sinks();

    const auto files = files_oldest_first(*rot);
    CHECK(files.size() > 10);  // rotated many times
    CHECK_FALSE(std::filesystem::exists(rot->backup_path(100)));  // N was large enough to keep all
    for (const auto& f : files) CHECK(std::filesystem::file_size(f) <= max_size);
    const auto ids = ids_in(files);
    REQUIRE(ids.size() == n);
    for (int i = 0; i < n; ++i) REQUIRE(ids[static_cast<std::size_t>(i)] == i);
    CHECK(ctxlog::get_stats().sink_errors == errors_before);
  }

  TEST_CASE("only max_backups old files are kept; the oldest are deleted") {
    temp_dir dir("prune");
    constexpr std::uint64_t max_size = 8 * 1024;
    auto rot = ctxlog::sinks::rotating_file(dir.file("app.log"), {.max_size = max_size, .max_backups = 3});
    use_only(rot);
    constexpr int n = 2000;  // ~500 KB: about 60 rotations
    log_numbered(0, n);
    ctxlog::flush();
    release_sinks();

    for (std::size_t i = 1; i <= 3; ++i) CHECK(std::filesystem::exists(rot->backup_path(i)));
    CHECK_FALSE(std::filesystem::exists(rot->backup_path(4)));
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
    CHECK(entries == 4);
    // What is left is the newest lines, contiguous: nothing in between went missing.
    const auto ids = ids_in(files_oldest_first(*rot));
    REQUIRE(!ids.empty());
    CHECK(ids.size() < n);
    CHECK(ids.back() == n - 1);
    for (std::size_t k = 1; k < ids.size(); ++k) REQUIRE(ids[k] == ids[k - 1] + 1);
  }

  TEST_CASE("a line longer than max_size gets a file of its own and is never split") {
    temp_dir dir("long_line");
    auto rot = ctxlog::sinks::rotating_file(dir.file("app.log"), {.max_size = 256, .max_backups = 5});
    use_only(rot);
    LOG_INFO("short", ctxlog::kv("i", 0));
    LOG_INFO("long", ctxlog::kv("i", 1), ctxlog::kv("pad", std::string(1000, 'y')));
    LOG_INFO("short", ctxlog::kv("i", 2));
    ctxlog::flush();
    release_sinks();

    const auto files = files_oldest_first(*rot);
    REQUIRE(files.size() == 3);
    for (std::size_t f = 0; f < files.size(); ++f) {
      const auto lines = read_lines(files[f]);
      REQUIRE(lines.size() == 1);
      CHECK(parse_line(lines[0])["i"] == f);
    }
    CHECK(std::filesystem::file_size(files[1]) > 1000);
  }

  TEST_CASE("an existing file already over max_size is rotated before the first new line") {
    temp_dir dir("existing");
    const auto path = dir.file("app.log");
    {
      std::ofstream out(path);
      for (int i = 0; i < 20; ++i) out << "{\"old\":" << i << "}\n";
    }
    auto rot = ctxlog::sinks::rotating_file(path, {.max_size = 64, .max_backups = 2});
    use_only(rot);
    LOG_INFO("new");
    ctxlog::flush();
    release_sinks();

    CHECK(read_lines(rot->backup_path(1)).size() == 20);
    const auto now = read_lines(path);
    REQUIRE(now.size() == 1);
    CHECK(parse_line(now[0])["msg"] == "new");
  }

  TEST_CASE("max_backups = 0 keeps no backup: each rotation starts an empty file") {
    temp_dir dir("no_backups");
    auto rot = ctxlog::sinks::rotating_file(dir.file("app.log"), {.max_size = 1024, .max_backups = 0});
    use_only(rot);
    log_numbered(0, 100);
    ctxlog::flush();
    release_sinks();

    CHECK_FALSE(std::filesystem::exists(rot->backup_path(1)));
    CHECK(std::filesystem::file_size(rot->path()) <= 1024);
    const auto ids = ids_in({rot->path()});
    REQUIRE(!ids.empty());
    CHECK(ids.back() == 99);
  }

  TEST_CASE("a failed rename is a sink error, the line still goes to the open file, and rotation resumes") {
    temp_dir dir("rename_fails");
    const auto path = dir.file("app.log");
    // rename(app.log, app.log.1) fails with EISDIR while app.log.1 is a directory (this
    // works as root too, unlike permissions).
    std::filesystem::create_directories(path + ".1");
    std::ofstream(path + ".1/keep") << "x";
    auto rot = ctxlog::sinks::rotating_file(path, {.max_size = 2048, .max_backups = 1});
    use_only(rot);
    const auto errors_before = ctxlog::get_stats().sink_errors;
    log_numbered(0, 100);  // ~25 KB: every rotation attempt fails
    ctxlog::flush();
    const auto errors = ctxlog::get_stats().sink_errors - errors_before;
    CHECK(errors >= 1);
    CHECK(errors < 100);  // not one error per line: retried once per max_size bytes
    CHECK(std::filesystem::is_directory(path + ".1"));  // nothing was overwritten
    const auto ids = ids_in({path});
    REQUIRE(ids.size() == 100);  // no line lost
    for (int i = 0; i < 100; ++i) REQUIRE(ids[static_cast<std::size_t>(i)] == i);

    std::filesystem::remove_all(path + ".1");
    log_numbered(100, 120);
    ctxlog::flush();
    release_sinks();
    CHECK(std::filesystem::is_regular_file(path + ".1"));  // rotation resumed
    const auto after = ids_in(files_oldest_first(*rot));
    REQUIRE(!after.empty());
    CHECK(after.back() == 119);
  }

  TEST_CASE("request_reopen() from another thread continues in a new file at the same path") {
    temp_dir dir("request_reopen");
    const auto path = dir.file("app.log");
    auto rot = ctxlog::sinks::rotating_file(path, {.max_size = 1 << 20, .max_backups = 2});
    use_only(rot);
    log_numbered(0, 5);
    ctxlog::flush();
    std::filesystem::rename(path, dir.file("moved.log"));
    std::thread([&] { rot->request_reopen(); }).join();
    log_numbered(5, 8);
    ctxlog::flush();
    release_sinks();

    CHECK(ids_in({dir.file("moved.log")}) == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(ids_in({path}) == std::vector<int>{5, 6, 7});
    CHECK(rot->file_size() == std::filesystem::file_size(path));
  }

  TEST_CASE("bad limits and unopenable paths throw clear errors") {
    CHECK_THROWS_AS(ctxlog::sinks::rotating_file("/tmp/ctxlog-unused.log", {.max_size = 0}), std::invalid_argument);
    CHECK_THROWS_WITH_AS(ctxlog::sinks::rotating_file("/nonexistent-dir/x.log"),
                         doctest::Contains("/nonexistent-dir/x.log"), std::system_error);
  }
}
