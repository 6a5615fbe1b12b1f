// rotating_file — a size-based rotating log file that keeps 3 backups, and the opt-in
// SIGHUP hook for logrotate.
//
// Writes 2,000 JSON lines through a rotating sink limited to 16 KiB per file, then lists
// the files left in /tmp/ctxlog-rotating-example: app.log (newest) and app.log.1 ...
// app.log.3. Lines older than the third backup were deleted on purpose; no line is ever
// split across two files. Then it moves app.log away and raises SIGHUP, as logrotate's
// postrotate would, and the next line starts a new app.log.
//
// Expected output (sizes vary a little):
//   app.log.3      16xxx bytes   88 lines
//   app.log.2      16xxx bytes   88 lines
//   app.log.1      16xxx bytes   88 lines
//   app.log         9xxx bytes   51 lines
//   after SIGHUP: app.log holds 1 line: {"ts":"...","level":"info",...,"msg":"reopened"...}
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <ctxlog/ctxlog.hpp>
#include <ctxlog/sinks/rotating_file.hpp>

namespace fs = std::filesystem;

namespace {

void show(const fs::path& p) {
  std::ifstream in(p);
  int lines = 0;
  for (std::string l; std::getline(in, l);) ++lines;
  std::printf("%-12s %6ju bytes %4d lines\n", p.filename().c_str(), static_cast<std::uintmax_t>(fs::file_size(p)),
              lines);
}

}  // namespace

int main() {
  const fs::path dir = fs::temp_directory_path() / "ctxlog-rotating-example";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path log = dir / "app.log";

  auto sink = ctxlog::sinks::rotating_file(log.string(), {.max_size = 16 * 1024, .max_backups = 3});
  ctxlog::configure({.sinks = {sink}});
  ctxlog::sinks::reopen_on_sighup();

  for (int i = 0; i < 2000; ++i)
    ctxlog::run(ctxlog::fields{}.request_id("req-" + std::to_string(i)),
                [&] { LOG_INFO("order {} stored", i, ctxlog::kv("amount", 10.0 + i)); });
  ctxlog::flush();
  for (int i = 3; i >= 1; --i) show(sink->backup_path(static_cast<std::size_t>(i)));
  show(log);

  fs::rename(log, dir / "app.log.rotated-by-logrotate");
  ::raise(SIGHUP);  // what `kill -HUP <pid>` in logrotate's postrotate does
  LOG_INFO("reopened");
  ctxlog::flush();
  std::ifstream in(log);
  std::string line;
  std::getline(in, line);
  std::printf("after SIGHUP: app.log holds 1 line: %s\n", line.c_str());
  ctxlog::shutdown();
  fs::remove_all(dir);
}
