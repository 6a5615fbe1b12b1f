// Fault injection with real faults (issue 12): a file past its size limit (short writes,
// then EFBIG, and SIGXFSZ), a pipe nobody reads (EAGAIN, short writes), a reader that goes
// away (EPIPE), a terminal whose other side closed (EIO), a full disk (ENOSPC, /dev/full),
// stdout closed, a log directory removed or made read-only. Each time the program keeps
// running, every line is either in the destination, whole, or counted as lost, and the
// sink carries on when the fault goes away.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/sinks/fd_sink.hpp"
#include "ctxlog/sinks/file.hpp"
#include "ctxlog/sinks/rotating_file.hpp"
#include "ctxlog/sinks/stdio.hpp"
#include "sink_files.hpp"
#include "support.hpp"

namespace {

using ctxlog::sinks::fd_sink;
using ctxlog_test::read_file;
using ctxlog_test::temp_dir;

std::string text(long seq, std::size_t pad = 80) {
  return "{\"seq\":" + std::to_string(seq) + ",\"pad\":\"" + std::string(pad, 'x') + "\"}\n";
}
void put(ctxlog::sink& s, long seq, std::size_t pad = 80) {
  const auto t = text(seq, pad);
  s.write({ctxlog::level::info, "faults", t});
}

// The errno of the std::system_error f throws; 0 when it throws none.
template <class F>
int error_of(F&& f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return e.code().value();
  }
  return 0;
}

// The "seq" of every line in bytes. Every line must be one whole JSON object ending in
// '\n' (parse_line fails the test otherwise); a fragment left by a short write fails it.
std::vector<long> seqs_of(const std::string& bytes) {
  std::vector<long> out;
  std::size_t start = 0;
  while (start < bytes.size()) {
    const auto nl = bytes.find('\n', start);
    const auto end = nl == std::string::npos ? bytes.size() : nl + 1;
    out.push_back(ctxlog_test::parse_line(bytes.substr(start, end - start))["seq"].get<long>());
    start = end;
  }
  return out;
}

bool strictly_increasing(const std::vector<long>& v) {
  for (std::size_t i = 1; i < v.size(); ++i)
    if (v[i] <= v[i - 1]) return false;
  return true;
}

bool pending(int sig) {
  sigset_t set;
  sigemptyset(&set);
  sigpending(&set);
  return sigismember(&set, sig) == 1;
}

// Reads a pipe on its own thread while running.
class pipe_reader {
 public:
  explicit pipe_reader(int fd) : fd_(fd) {}
  ~pipe_reader() { stop(); }
  void start() {
    stop_ = false;
    thread_ = std::thread([this] {
      char buf[8192];
      for (;;) {
        pollfd p{fd_, POLLIN, 0};
        ::poll(&p, 1, 20);
        const ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n > 0) {
          bytes_.append(buf, static_cast<std::size_t>(n));
          received_.fetch_add(static_cast<std::size_t>(n));
        }
        if (n <= 0 && stop_.load()) return;
      }
    });
  }
  void stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
  }
  const std::string& bytes() const { return bytes_; }  // after stop()
  std::size_t received() const { return received_.load(); }

 private:
  int fd_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> received_{0};
  std::thread thread_;
  std::string bytes_;
};

// Child processes (exec'd, so that a limit, a closed stdout or a changed user stays there).
// Each checks its own steps and exits 0, or prints what failed and exits 1.
[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "child: %s\n", what);
  std::_Exit(1);
}
void expect(bool ok, const char* what) {
  if (!ok) fail(what);
}

// RLIMIT_FSIZE: the file may hold 10 000 bytes. Writing past it is a short write, then
// EFBIG and a SIGXFSZ, whose default action kills the process.
void fsize_child(const std::string& path) {
  const rlimit small{10000, RLIM_INFINITY};
  expect(::setrlimit(RLIMIT_FSIZE, &small) == 0, "setrlimit");
  auto sink = ctxlog::sinks::file_sink(path);
  long seq = 0;
  for (; seq < 200; ++seq) put(*sink, seq);  // 20 KB
  expect(error_of([&] { sink->flush(); }) == EFBIG, "the flush past the limit throws EFBIG");
  expect(sink->failing(), "failing after EFBIG");
  expect(!pending(SIGXFSZ), "no SIGXFSZ left pending");
  const auto held = read_file(path);
  expect(held.size() <= 10000, "the file stays within the limit");
  expect(!held.empty() && held.back() == '\n', "no half line at the end of the file");
  for (; seq < 20000; ++seq) put(*sink, seq);  // 2 MB more while failing: only 1 MiB is kept
  expect(error_of([&] { sink->flush(); }) == EFBIG, "still EFBIG");
  expect(sink->lines_lost() > 0, "lines beyond the kept MiB are counted as lost");
  const rlimit big{RLIM_INFINITY, RLIM_INFINITY};
  expect(::setrlimit(RLIMIT_FSIZE, &big) == 0, "setrlimit back");
  expect(error_of([&] { sink->flush(); }) == 0, "the flush after the limit was raised succeeds");
  expect(!sink->failing(), "recovered");
  for (; seq < 20100; ++seq) put(*sink, seq);
  sink->flush();
  const auto lost = sink->lines_lost();
  sink.reset();
  std::FILE* report = std::fopen((path + ".report").c_str(), "w");
  expect(report != nullptr, "report");
  std::fprintf(report, "%ld %llu\n", seq, static_cast<unsigned long long>(lost));
  std::fclose(report);
  std::_Exit(0);
}

// stdout closed before the logger starts: the stdout sink's writes fail (EBADF) and are
// counted; the file opened next must not become fd 1 and receive the stdout lines too.
void closed_stdout_child(const std::string& path) {
  ::close(1);
  auto file = ctxlog::sinks::file_sink(path);
  expect(file != nullptr, "file sink");
  ctxlog::configure({.sinks = {ctxlog::sinks::stdout_sink(), file}});
  const auto before = ctxlog::get_stats();
  for (int i = 0; i < 10; ++i) LOG_INFO("seq {}", i, ctxlog::kv("seq", i));
  ctxlog::flush();
  ctxlog::configure({.sinks = {file}});  // releases the stdout sink: its kept lines are given up
  LOG_INFO("last", ctxlog::kv("seq", 10));
  ctxlog::flush();
  const auto after = ctxlog::get_stats();
  expect(after.sink_errors > before.sink_errors, "the failed stdout writes are sink errors");
  expect(after.sink_dropped - before.sink_dropped == 10, "the 10 stdout lines are counted as lost");
  ctxlog::shutdown();
  std::_Exit(0);
}

// A rotating file in a directory that becomes read-only: rotation fails (rename: EACCES),
// the lines stay in the current file past max_size, none is lost; once the directory is
// writable again the next rotation succeeds. As root, permissions do not stop writes, so
// the child first becomes nobody (the parent gave it the directory).
void readonly_dir_child(const std::string& dir) {
  if (::geteuid() == 0) {
    expect(::setgid(65534) == 0 && ::setuid(65534) == 0, "become nobody");
  }
  const std::string path = dir + "/app.log";
  auto sink = ctxlog::sinks::rotating_file(path, {.max_size = 4096, .max_backups = 3});
  long seq = 0;
  for (; seq < 100; ++seq) put(*sink, seq);  // ~10 KB: two rotations
  sink->flush();
  expect(std::filesystem::exists(path + ".1"), "rotated while writable");
  expect(::chmod(dir.c_str(), 0555) == 0, "chmod 0555");
  const long readonly_from = seq;
  int errors = 0;
  for (; seq < 300; ++seq) {
    if (error_of([&] { put(*sink, seq); }) == EACCES) ++errors;
  }
  if (error_of([&] { sink->flush(); }) != 0) ++errors;
  expect(errors > 0, "the failed rotations are errors (EACCES)");
  expect(sink->lines_lost() == 0, "a failed rotation loses no line");
  expect(std::filesystem::file_size(path) > 4096, "the current file grew past max_size");
  expect(::chmod(dir.c_str(), 0755) == 0, "chmod 0755");
  const long writable_from = seq;
  for (; seq < 350; ++seq)  // 5 KB: one or two rotations, so the read-only file stays as .1 or .2
    expect(error_of([&] { put(*sink, seq); }) == 0, "no error once writable");
  sink->flush();
  expect(std::filesystem::file_size(path) <= 4096, "rotated again once writable");
  // The read-only phase went to the file that is now .1 or .2: together with the current
  // file they hold every line from there on, in order.
  std::string all;
  for (const auto& p : {path + ".3", path + ".2", path + ".1", path}) all += read_file(p);
  std::vector<long> got;
  std::size_t start = 0;
  while (start < all.size()) {
    const auto nl = all.find('\n', start);
    expect(nl != std::string::npos, "no half line");
    const auto at = all.find("\"seq\":", start);
    got.push_back(std::strtol(all.c_str() + at + 6, nullptr, 10));
    start = nl + 1;
  }
  expect(!got.empty() && got.front() <= readonly_from, "the kept files start before the read-only phase");
  for (std::size_t i = 1; i < got.size(); ++i) expect(got[i] == got[i - 1] + 1, "every line from there on, in order");
  expect(got.back() == seq - 1 && writable_from < seq, "up to the last line");
  std::_Exit(0);
}

[[maybe_unused]] const bool child_mode = [] {
  if (const char* s = std::getenv("CTXLOG_TEST_CHILD")) {
    const std::string scenario = s, arg = std::getenv("CTXLOG_TEST_FILE");
    if (scenario == "fsize") fsize_child(arg);
    if (scenario == "closed-stdout") closed_stdout_child(arg);
    if (scenario == "readonly-dir") readonly_dir_child(arg);
    std::_Exit(4);
  }
  return false;
}();

// A file sink looks at its file's name at most every name_check_interval_ms: wait past it.
void past_name_check() {
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * ctxlog::sinks::reopenable_file_sink::name_check_interval_ms));
}

// Runs this binary as the child `scenario` with CTXLOG_TEST_FILE=arg; its exit status.
int run_child(const std::string& scenario, const std::string& arg) {
  const int status = ctxlog_test::run_self_child(scenario, arg);
  INFO("child status " << status << " (a signal: " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0) << ")");
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

}  // namespace

TEST_SUITE("sink faults") {
  TEST_CASE("a file past RLIMIT_FSIZE: short write, EFBIG, no SIGXFSZ death, no half line; recovers") {
    temp_dir dir("fsize");
    const auto path = dir.file("app.log");
    REQUIRE(run_child("fsize", path) == 0);
    long total = 0;
    unsigned long long lost = 0;
    std::FILE* report = std::fopen((path + ".report").c_str(), "r");
    REQUIRE(report != nullptr);
    REQUIRE(std::fscanf(report, "%ld %llu", &total, &lost) == 2);
    std::fclose(report);
    const auto got = seqs_of(read_file(path));
    MESSAGE(total << " lines, " << got.size() << " in the file, " << lost << " counted lost");
    CHECK(lost > 0);
    CHECK(got.size() + lost == static_cast<unsigned long long>(total));
    CHECK(strictly_increasing(got));
    CHECK(got.back() == total - 1);  // the lines after the recovery are there
  }

  TEST_CASE("a pipe nobody reads: waits up to 5 s, then EAGAIN; keeps 1 MiB, counts the rest; recovers") {
    int p[2];
    REQUIRE(::pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
    ::fcntl(p[1], F_SETPIPE_SZ, 4096);
    const auto dropped_before = ctxlog::get_stats().sink_dropped;
    auto sink = std::make_shared<fd_sink>(p[1], fd_sink::ownership::owned);
    pipe_reader reader(p[0]);
    long seq = 0;
    // A reader that is late, but comes: the flush waits for it.
    for (; seq < 300; ++seq) put(*sink, seq);
    std::thread late([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      reader.start();
    });
    CHECK(error_of([&] { sink->flush(); }) == 0);
    late.join();
    reader.stop();
    // A reader that is gone: after 5 s without progress the flush gives up, EAGAIN.
    for (; seq < 600; ++seq) put(*sink, seq);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(error_of([&] { sink->flush(); }) == EAGAIN);
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(waited >= 4.0);
    CHECK(waited < 15.0);
    CHECK(sink->failing());
    CHECK(sink->lines_lost() == 0);
    // While failing: no more waiting, 1 MiB kept, the rest counted.
    for (; seq < 20600; ++seq) put(*sink, seq);
    const auto t1 = std::chrono::steady_clock::now();
    CHECK(error_of([&] { sink->flush(); }) == EAGAIN);
    CHECK(std::chrono::steady_clock::now() - t1 < std::chrono::seconds(1));
    const auto lost = sink->lines_lost();
    CHECK(lost > 0);
    CHECK(ctxlog::get_stats().sink_dropped - dropped_before == lost);
    // The reader is back (it has read what was in the pipe): everything kept goes out, and
    // the half line is finished first.
    const auto read_before = reader.received();
    reader.start();
    while (reader.received() == read_before) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK(error_of([&] { sink->flush(); }) == 0);
    CHECK_FALSE(sink->failing());
    const long recovered_at = seq;
    for (; seq < recovered_at + 100; ++seq) put(*sink, seq);  // and carries on
    CHECK(error_of([&] { sink->flush(); }) == 0);
    sink.reset();  // closes the write end
    reader.stop();
    const auto got = seqs_of(reader.bytes());
    MESSAGE(seq << " lines, " << got.size() << " read, " << lost << " counted lost");
    CHECK(got.size() + lost == static_cast<std::size_t>(seq));
    CHECK(strictly_increasing(got));
    CHECK(got[got.size() - 101] == static_cast<long>(got.size()) - 101);  // up to the loss, every line
    CHECK(got.back() == seq - 1);
  }

  TEST_CASE("a reader that goes away: EPIPE, no SIGPIPE; what was read and what was lost add up") {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    const auto dropped_before = ctxlog::get_stats().sink_dropped;
    auto sink = std::make_shared<fd_sink>(p[1], fd_sink::ownership::owned);
    long seq = 0;
    for (; seq < 100; ++seq) put(*sink, seq);
    sink->flush();
    std::size_t size = 0;
    for (long i = 0; i < 100; ++i) size += text(i).size();
    std::string bytes(size, '\0');
    REQUIRE(::read(p[0], bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    ::close(p[0]);
    for (; seq < 200; ++seq) put(*sink, seq);
    CHECK(error_of([&] { sink->flush(); }) == EPIPE);
    CHECK_FALSE(pending(SIGPIPE));
    CHECK(error_of([&] { sink->flush(); }) == EPIPE);  // tried again at the next flush, still no signal
    CHECK_FALSE(pending(SIGPIPE));
    sink.reset();  // the 100 kept lines are given up with the sink
    CHECK(seqs_of(bytes).size() == 100);
    CHECK(ctxlog::get_stats().sink_dropped - dropped_before == 100);
  }

  TEST_CASE("a terminal whose other side closed: EIO, counted, the program goes on") {
    const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
    REQUIRE(master >= 0);
    REQUIRE(::grantpt(master) == 0);
    REQUIRE(::unlockpt(master) == 0);
    const int slave = ::open(::ptsname(master), O_WRONLY | O_NOCTTY | O_CLOEXEC);
    REQUIRE(slave >= 0);
    const auto dropped_before = ctxlog::get_stats().sink_dropped;
    auto sink = std::make_shared<fd_sink>(slave, fd_sink::ownership::owned);
    CHECK(sink->is_terminal());
    ::close(master);  // the terminal hangs up
    for (long seq = 0; seq < 50; ++seq) put(*sink, seq);
    CHECK(error_of([&] { sink->flush(); }) == EIO);
    sink.reset();
    CHECK(ctxlog::get_stats().sink_dropped - dropped_before == 50);
  }

  TEST_CASE("a full disk (/dev/full) through the back-end: every line on the healthy sink, every loss counted") {
    const int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    auto full = std::make_shared<fd_sink>(fd, fd_sink::ownership::owned);
    auto healthy = std::make_shared<ctxlog_test::capture_sink>();
    ctxlog::configure({.sinks = {full, healthy}});
    const auto before = ctxlog::get_stats();
    for (int i = 0; i < 100; ++i) LOG_INFO("disk full {}", i);
    ctxlog::flush();
    CHECK(ctxlog::get_stats().sink_errors > before.sink_errors);
    CHECK(full->failing());
    CHECK(healthy->size() == 100);
    ctxlog_test::release_sinks();
    ctxlog::flush();
    std::weak_ptr<fd_sink> gone = full;
    full.reset();
    REQUIRE(gone.expired());
    CHECK(ctxlog::get_stats().sink_dropped - before.sink_dropped == 100);
  }

  TEST_CASE("stdout closed: its lines are counted as lost, and a file opened after never becomes fd 1") {
    temp_dir dir("closed_stdout");
    const auto path = dir.file("app.log");
    REQUIRE(run_child("closed-stdout", path) == 0);
    CHECK(seqs_of(read_file(path)) == std::vector<long>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  }

  TEST_CASE("the log directory removed: lines are kept until it is back, then written; beyond 1 MiB counted") {
    temp_dir dir("removed");
    const auto sub = dir.path() / "logs";
    std::filesystem::create_directories(sub);
    const auto path = (sub / "app.log").string();
    auto sink = ctxlog::sinks::rotating_file(path, {.max_size = 1u << 30, .max_backups = 1});
    long seq = 0;
    for (; seq < 100; ++seq) put(*sink, seq);
    sink->flush();
    std::filesystem::remove_all(sub);  // the open file is gone with it
    past_name_check();
    const long removed_at = seq;
    for (; seq < 200; ++seq) put(*sink, seq);
    CHECK(error_of([&] { sink->flush(); }) == ENOENT);  // "cannot open log file": the directory is missing
    CHECK(sink->failing());
    for (; seq < 300; ++seq) put(*sink, seq);
    CHECK(error_of([&] { sink->flush(); }) == ENOENT);
    std::filesystem::create_directories(sub);
    for (; seq < 400; ++seq) put(*sink, seq);
    CHECK(error_of([&] { sink->flush(); }) == 0);
    CHECK_FALSE(sink->failing());
    CHECK(sink->lines_lost() == 0);
    std::vector<long> want;
    for (long i = removed_at; i < seq; ++i) want.push_back(i);
    CHECK(seqs_of(read_file(path)) == want);
    // Again, for longer: more than the kept MiB arrives while the directory is missing.
    std::filesystem::remove_all(sub);
    past_name_check();
    const long second_from = seq;
    for (; seq < second_from + 20000; ++seq) error_of([&] { put(*sink, seq); });  // a write out at 64 KiB throws
    CHECK(error_of([&] { sink->flush(); }) == ENOENT);
    std::filesystem::create_directories(sub);
    CHECK(error_of([&] { sink->flush(); }) == 0);
    const auto got = seqs_of(read_file(path));
    MESSAGE((seq - second_from) << " lines while missing, " << got.size() << " written, " << sink->lines_lost()
                              << " counted lost");
    CHECK(sink->lines_lost() > 0);
    CHECK(got.size() + sink->lines_lost() == static_cast<std::size_t>(seq - second_from));
    CHECK(got.front() == second_from);
    CHECK(strictly_increasing(got));
  }

  TEST_CASE("the log file deleted while open: the sink creates it again at its next write out") {
    temp_dir dir("deleted");
    const auto path = dir.file("app.log");
    auto sink = ctxlog::sinks::file_sink(path);
    put(*sink, 0);
    sink->flush();
    std::filesystem::remove(path);
    past_name_check();
    put(*sink, 1);
    CHECK(error_of([&] { sink->flush(); }) == 0);
    CHECK(seqs_of(read_file(path)) == std::vector<long>{1});
  }

  TEST_CASE("a rotating file whose directory becomes read-only: rotation fails, no line is lost, and resumes") {
    temp_dir dir("readonly");
    const auto sub = dir.path() / "logs";
    std::filesystem::create_directories(sub);
    if (::geteuid() == 0) REQUIRE(::chown(sub.c_str(), 65534, 65534) == 0);  // the child runs as nobody
    CHECK(run_child("readonly-dir", sub.string()) == 0);
    ::chmod(sub.c_str(), 0755);
  }
}
