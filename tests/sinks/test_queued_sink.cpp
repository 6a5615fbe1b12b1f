// The base of the network sinks (queued_sink): batching, retry with back-off, the bound,
// partial and refused batches, the linger at close, shutdown(), fork(). The destination
// here is a class of the test that keeps what it is given and can be told to fail or to
// hang; the real destinations (rsyslogd, clickhouse-server) have their own suites.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/sinks/queued_sink.hpp"
#include "sink_files.hpp"
#include "support.hpp"

// The fork() case starts the child's sender thread after a fork of a multi-threaded
// process, which is what a real service does and what this suite tests. TSan dies on that
// by default ("starting new threads after multi-threaded fork is not supported"); the
// child here only starts one thread, sends and _exit()s, which TSan handles.
#if defined(__SANITIZE_THREAD__)
#define CTXLOG_TEST_TSAN_FORK 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CTXLOG_TEST_TSAN_FORK 1
#endif
#endif
#ifdef CTXLOG_TEST_TSAN_FORK
extern "C" const char* __tsan_default_options() { return "die_after_fork=0"; }
#endif

namespace {

using namespace std::chrono_literals;
using ctxlog::sinks::delivery_stats;
using ctxlog::sinks::queue_options;

// A destination with switches: down (every attempt throws), hang (an attempt waits until
// released), take_at_most (a partial outcome), reject (lines containing it are refused).
class test_destination final : public ctxlog::sinks::queued_sink {
 public:
  explicit test_destination(queue_options o) : queued_sink(o, ctxlog::level::trace) {}
  ~test_destination() override {
    release();
    stop();
  }

  std::atomic<bool> down{false};
  std::atomic<std::size_t> take_at_most{0};  // 0: the whole batch
  std::string reject;                        // set before the first line
  std::atomic<int> forked_calls{0};

  void hang() {
    std::lock_guard lk(mu_);
    hanging_ = true;
  }
  void release() {
    {
      std::lock_guard lk(mu_);
      hanging_ = false;
    }
    cv_.notify_all();
  }
  std::vector<std::string> lines() const {
    std::lock_guard lk(mu_);
    return got_;
  }
  std::vector<std::size_t> batch_sizes() const {
    std::lock_guard lk(mu_);
    return batches_;
  }
  int attempts() const {
    std::lock_guard lk(mu_);
    return attempts_;
  }

 private:
  outcome deliver(const ctxlog::sinks::line_batch& b) override {
    std::unique_lock lk(mu_);
    ++attempts_;
    cv_.wait(lk, [&] { return !hanging_; });
    if (down) throw std::runtime_error("connection refused (test)");
    std::size_t n = b.lines.size();
    if (const std::size_t k = take_at_most; k && k < n) n = k;
    outcome o{n, 0};
    batches_.push_back(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (!reject.empty() && b.lines[i].find(reject) != std::string_view::npos) {
        ++o.rejected;
        continue;
      }
      got_.emplace_back(b.lines[i]);
    }
    return o;
  }
  void forked() override { ++forked_calls; }
  std::string describe() const override { return "test destination"; }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool hanging_ = false;
  int attempts_ = 0;
  std::vector<std::string> got_;
  std::vector<std::size_t> batches_;
};

void write_lines(ctxlog::sink& s, int from, int to) {
  for (int i = from; i < to; ++i) {
    const std::string text = "line " + std::to_string(i) + "\n";
    s.write({ctxlog::level::info, "t", text});
  }
}

std::vector<std::string> expected(int from, int to) {
  std::vector<std::string> v;
  for (int i = from; i < to; ++i) v.push_back("line " + std::to_string(i) + "\n");
  return v;
}

void check_balance(const delivery_stats& d) {
  CHECK(d.accepted == d.delivered + d.dropped + d.buffered);
}

}  // namespace

TEST_SUITE("queued sink") {
  TEST_CASE("lines reach the destination in order, in batches of batch_lines at most") {
    test_destination d({.batch_lines = 16, .batch_delay = 5ms});
    write_lines(d, 0, 100);
    REQUIRE(d.drain(10s));
    CHECK(d.lines() == expected(0, 100));
    for (const std::size_t n : d.batch_sizes()) CHECK(n <= 16);
    const delivery_stats s = d.delivery();
    CHECK(s.accepted == 100);
    CHECK(s.delivered == 100);
    CHECK(s.dropped == 0);
    CHECK(s.buffered == 0);
  }

  TEST_CASE("a batch waits for batch_delay, not for more lines; drain() sends it at once") {
    test_destination d({.batch_delay = 60s});
    write_lines(d, 0, 3);
    std::this_thread::sleep_for(50ms);
    CHECK(d.lines().empty());  // 3 lines are no batch yet, and 60 s have not passed
    CHECK(d.delivery().buffered == 3);
    REQUIRE(d.drain(10s));
    CHECK(d.lines() == expected(0, 3));
  }

  TEST_CASE("a destination down at start: lines wait, failures are counted, nothing is lost or repeated") {
    test_destination d({.batch_delay = 1ms, .retry_min = 1ms, .retry_max = 8ms});
    d.down = true;
    write_lines(d, 0, 50);
    while (d.attempts() < 4) std::this_thread::sleep_for(1ms);
    CHECK(d.lines().empty());
    CHECK(d.delivery().buffered == 50);
    write_lines(d, 50, 80);
    d.down = false;
    REQUIRE(d.drain(10s));
    CHECK(d.lines() == expected(0, 80));
    const delivery_stats s = d.delivery();
    CHECK(s.failures >= 4);
    CHECK(s.delivered == 80);
    check_balance(s);
  }

  TEST_CASE("a partial outcome: the rest of the batch is sent again, from where it stopped") {
    test_destination d({.batch_lines = 10, .batch_delay = 1ms, .retry_min = 1ms});
    d.take_at_most = 3;
    write_lines(d, 0, 25);
    REQUIRE(d.drain(10s));
    CHECK(d.lines() == expected(0, 25));
    for (const std::size_t n : d.batch_sizes()) CHECK(n <= 3);
  }

  TEST_CASE("lines the destination refuses are dropped and counted, never retried") {
    test_destination d({.batch_delay = 1ms});
    d.reject = "line 1";  // line 1 and 10..19
    write_lines(d, 0, 30);
    REQUIRE(d.drain(10s));
    const delivery_stats s = d.delivery();
    CHECK(s.dropped == 11);
    CHECK(s.delivered == 19);
    CHECK(d.lines().size() == 19);
    check_balance(s);
  }

  TEST_CASE("a hanging destination: the buffer fills to its bound, then lines are dropped and counted") {
    test_destination d({.max_buffered_bytes = 1000, .batch_lines = 4, .batch_delay = 1ms});
    d.hang();
    write_lines(d, 0, 10);  // "line N\n" is 7 bytes: 10 fit
    while (d.attempts() == 0) std::this_thread::sleep_for(1ms);
    const std::uint64_t totals_before = ctxlog::get_stats().sink_dropped;
    write_lines(d, 10, 1000);
    delivery_stats s = d.delivery();
    check_balance(s);
    CHECK(s.dropped > 0);
    CHECK(s.buffered * 8 <= 1000 + 8);  // the bound holds, the batch in flight included
    CHECK(ctxlog::get_stats().sink_dropped - totals_before == s.dropped);
    d.release();
    REQUIRE(d.drain(10s));
    s = d.delivery();
    check_balance(s);
    CHECK(s.buffered == 0);
    CHECK(s.delivered == d.lines().size());
    CHECK(s.delivered + s.dropped == 1000);
  }

  TEST_CASE("close with the destination down: the linger is spent, then what is left is counted as dropped") {
    auto d = std::make_unique<test_destination>(queue_options{.batch_delay = 1ms, .retry_min = 1ms, .linger = 100ms});
    d->down = true;
    write_lines(*d, 0, 20);
    while (d->attempts() < 2) std::this_thread::sleep_for(1ms);
    const std::uint64_t dropped_before = ctxlog::get_stats().sink_dropped;
    const std::uint64_t buffered_before = ctxlog::get_stats().sink_buffered;
    CHECK(buffered_before >= 20);
    d.reset();  // must return: the linger bounds it
    CHECK(ctxlog::get_stats().sink_dropped - dropped_before == 20);
    CHECK(buffered_before - ctxlog::get_stats().sink_buffered == 20);
  }

  TEST_CASE("the back-end never waits for the destination: flush() returns while it hangs") {
    auto d = std::make_shared<test_destination>(queue_options{.batch_delay = 1ms});
    d->hang();
    ctxlog::configure({.sinks = {d}, .mode = ctxlog::dispatch_mode::async});
    for (int i = 0; i < 200; ++i) LOG_INFO("while it hangs {}", i);
    ctxlog::flush();  // would never return if the back-end waited for deliver()
    CHECK(d->delivery().accepted == 200);
    d->release();
    REQUIRE(d->drain(10s));
    CHECK(d->delivery().delivered == 200);
    ctxlog_test::release_sinks();
  }

  TEST_CASE("shutdown() gives queued sinks their linger to deliver") {
    auto d = std::make_shared<test_destination>(queue_options{.batch_delay = 60s});
    ctxlog::configure({.sinks = {d}, .mode = ctxlog::dispatch_mode::async});
    for (int i = 0; i < 500; ++i) LOG_INFO("before shutdown {}", i);
    ctxlog::shutdown();
    CHECK(d->delivery().delivered == 500);
    CHECK(d->lines().size() == 500);
    ctxlog::configure({});
  }

  TEST_CASE("fork(): the child sends its own lines, not what the parent had buffered") {
    auto d = std::make_shared<test_destination>(queue_options{.batch_delay = 1ms});
    ctxlog::configure({.sinks = {d}, .mode = ctxlog::dispatch_mode::async});
    d->hang();
    for (int i = 0; i < 10; ++i) LOG_INFO("parent {}", i);
    ctxlog::flush();
    while (d->attempts() == 0) std::this_thread::sleep_for(1ms);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      d->release();  // the child's copy of the destination
      for (int i = 0; i < 5; ++i) LOG_INFO("child {}", i);
      ctxlog::flush();
      const bool drained = d->drain(10s);
      const auto got = d->lines();
      int bad = 0;
      for (const auto& l : got) bad += l.find("\"child ") == std::string::npos;
      const delivery_stats s = d->delivery();
      const bool ok = drained && got.size() == 5 && bad == 0 && s.accepted == 5 && s.delivered == 5 &&
                      d->forked_calls == 1;
      ::_exit(ok ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    d->release();
    REQUIRE(d->drain(10s));
    const auto got = d->lines();
    CHECK(got.size() == 10);
    for (const auto& l : got) CHECK(l.find("\"parent ") != std::string::npos);
    CHECK(d->forked_calls == 0);
    ctxlog_test::release_sinks();
  }
}
