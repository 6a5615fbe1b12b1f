// Misuse with a defined outcome (issue 12 item 4; docs/misuse.md): what happens when a
// program logs from a signal handler, static destructors and atexit handlers, reconfigures
// from many threads at once, shuts down while threads log, never restores an enter_with,
// or keeps a snapshot longer than its storage<T>. Each outcome is asserted, including the
// accounting: every record is written or counted as dropped.
#include <doctest/doctest.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/pool.hpp"
#include "support.hpp"

namespace {

using ctxlog_test::capture_sink;
using ctxlog_test::sanitized;

// ---- a child process for the exit paths ----

struct noisy {
  const char* what;
  ~noisy() { LOG_INFO("from a static destructor", ctxlog::kv("hook", what)); }
};
void atexit_before() { LOG_INFO("from an atexit handler", ctxlog::kv("hook", "atexit before the back-end")); }
void atexit_after() { LOG_INFO("from an atexit handler", ctxlog::kv("hook", "atexit after the back-end")); }

// Hooks registered before the back-end starts run after its exit drain (the rest is then
// written synchronously); hooks registered after it run before the drain (queued).
void exit_hooks_child(const char* file) {
  static noisy before{"static before the back-end"};
  std::atexit(atexit_before);
  ctxlog::configure({.sinks = {ctxlog::sinks::file_sink(file)}});
  LOG_INFO("main", ctxlog::kv("hook", "main"));  // starts the back-end thread
  std::atexit(atexit_after);
  static noisy after{"static after the back-end"};
  std::exit(0);
}

[[maybe_unused]] const bool child_mode = [] {
  if (const char* s = std::getenv("CTXLOG_TEST_CHILD")) {
    if (std::string(s) == "exit-hooks") exit_hooks_child(std::getenv("CTXLOG_TEST_FILE"));
    std::_Exit(4);
  }
  return false;
}();

std::string temp_file(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("ctxlog_misuse_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove(p);
  return p.string();
}

// ---- signal handlers ----

std::atomic<long> g_handler_calls{0};
void logging_handler(int) {
  const int saved = errno;
  g_handler_calls.fetch_add(1, std::memory_order_relaxed);
  LOG_INFO("from a signal handler", ctxlog::kv("handler", true));
  errno = saved;
}

// Per-thread "seq" values, in the order written, of the lines with a "t" field.
std::map<long, std::vector<long>> by_thread(const std::vector<nlohmann::json>& lines) {
  std::map<long, std::vector<long>> out;
  for (const auto& j : lines)
    if (j.contains("t") && j.contains("seq")) out[j["t"].get<long>()].push_back(j["seq"].get<long>());
  return out;
}

}  // namespace

TEST_SUITE("misuse") {
  TEST_CASE("logging from static destructors and atexit handlers, before and after the exit drain") {
    const auto file = temp_file("exit-hooks.log");
    const int status = ctxlog_test::run_self_child("exit-hooks", file);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    std::ifstream in(file);
    std::multiset<std::string> hooks;
    for (std::string l; std::getline(in, l);) hooks.insert(ctxlog_test::parse_line(l + "\n")["hook"].get<std::string>());
    std::filesystem::remove(file);
    const std::multiset<std::string> expected{"main", "atexit after the back-end", "static after the back-end",
                                              "atexit before the back-end", "static before the back-end"};
    CHECK(hooks == expected);  // each exactly once
  }

  TEST_CASE("a signal handler that logs, also while its thread is inside a log call") {
    // The handler's call either goes in (the thread was between calls) or, when it
    // interrupted one, is counted as dropped: the interrupted call's record is never
    // corrupted, nothing is lost uncounted. The thread's queue is full-size from the
    // start, so no call allocates (a growing ring would, which a handler must not).
    auto sink = std::make_shared<capture_sink>();
    ctxlog::configure({.sinks = {sink}, .queue_capacity = 1u << 20, .queue_initial_capacity = 1u << 20});
    struct sigaction sa{}, old{};
    sa.sa_handler = logging_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    REQUIRE(::sigaction(SIGUSR1, &sa, &old) == 0);
    ctxlog::flush();
    const auto before = ctxlog::get_stats();
    g_handler_calls = 0;
    constexpr long n = sanitized ? 20000 : 200000;
    std::atomic<bool> ready{false}, done{false};
    std::thread target([&] {
      LOG_INFO("warm", ctxlog::kv("t", 0), ctxlog::kv("seq", -1));  // the queue exists before any signal
      ready = true;
      for (long i = 0; i < n; ++i) LOG_INFO("order {} created", i, ctxlog::kv("t", 0), ctxlog::kv("seq", i));
      done = true;
    });
    const pthread_t h = target.native_handle();
    while (!ready.load()) std::this_thread::yield();
    long sent = 0;
    while (!done.load()) {
      ::pthread_kill(h, SIGUSR1);
      ++sent;
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
    target.join();
    REQUIRE(::sigaction(SIGUSR1, &old, nullptr) == 0);
    ctxlog::flush();
    const auto after = ctxlog::get_stats();
    const long calls = g_handler_calls.load();
    MESSAGE("signals sent " << sent << ", handler calls " << calls << ", dropped (interrupted a call) "
                            << after.dropped - before.dropped);
    CHECK(calls > 0);
    const auto lines = sink->parsed();  // every line one JSON object, or the test fails
    long from_handler = 0;
    for (const auto& j : lines) from_handler += j.contains("handler");
    CHECK(after.issued - before.issued == static_cast<std::uint64_t>(n + 1 + calls));
    CHECK(after.written - before.written + after.dropped - before.dropped == after.issued - before.issued);
    CHECK(static_cast<std::uint64_t>(from_handler) + after.dropped - before.dropped == static_cast<std::uint64_t>(calls));
    // The thread's own lines: all there, in order (only the handlers' calls are dropped).
    const auto seqs = by_thread(lines)[0];
    REQUIRE(seqs.size() == static_cast<std::size_t>(n + 1));
    bool ordered = true;
    for (long i = 0; i <= n; ++i) ordered &= seqs[static_cast<std::size_t>(i)] == i - 1;
    CHECK(ordered);
  }

  TEST_CASE("configure() from many threads at once while others log: every record in exactly one sink") {
    constexpr int configurers = 3, rounds = sanitized ? 20 : 60, loggers = 2;
    constexpr long per_logger = sanitized ? 20000 : 100000;
    std::vector<std::shared_ptr<capture_sink>> sinks;
    for (int i = 0; i < configurers * 2; ++i) sinks.push_back(std::make_shared<capture_sink>());
    ctxlog::configure({.sinks = {sinks[0]}});
    ctxlog::flush();
    const auto before = ctxlog::get_stats();
    std::atomic<int> logging{loggers};
    std::vector<std::thread> ts;
    for (int t = 0; t < loggers; ++t)
      ts.emplace_back([&, t] {
        for (long i = 0; i < per_logger; ++i) LOG_INFO("n", ctxlog::kv("t", t), ctxlog::kv("seq", i));
        --logging;
      });
    for (int c = 0; c < configurers; ++c)
      ts.emplace_back([&, c] {
        for (int r = 0; r < rounds || logging.load() > 0; ++r) {
          ctxlog::configure({.sinks = {sinks[static_cast<std::size_t>(2 * c + r % 2)]},
                             .min_level = r % 3 == 0 ? ctxlog::level::debug : ctxlog::level::info});
          if (r >= 10 * rounds) break;  // the loggers are slow (sanitizers): enough rounds
        }
      });
    for (auto& t : ts) t.join();
    ctxlog::flush();
    const auto after = ctxlog::get_stats();
    std::vector<nlohmann::json> all;
    for (const auto& s : sinks)
      for (auto& j : s->parsed()) all.push_back(std::move(j));
    CHECK(after.dropped == before.dropped);
    CHECK(after.issued - before.issued == static_cast<std::uint64_t>(loggers * per_logger));
    CHECK(after.written - before.written == static_cast<std::uint64_t>(loggers * per_logger));
    // Each logger's lines: every seq exactly once over all the sinks.
    auto seqs = by_thread(all);
    for (int t = 0; t < loggers; ++t) {
      auto& v = seqs[t];
      std::sort(v.begin(), v.end());
      REQUIRE(v.size() == static_cast<std::size_t>(per_logger));
      bool exact = true;
      for (long i = 0; i < per_logger; ++i) exact &= v[static_cast<std::size_t>(i)] == i;
      CHECK(exact);
    }
  }

  TEST_CASE("shutdown() while threads log: each thread's written lines are a prefix, the rest counted") {
    auto sink = std::make_shared<capture_sink>();
    ctxlog::configure({.sinks = {sink}});
    ctxlog::flush();
    const auto before = ctxlog::get_stats();
    constexpr int threads = 3;
    constexpr long per_thread = sanitized ? 50000 : 300000;
    std::atomic<int> started{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&, t] {
        ++started;
        for (long i = 0; i < per_thread; ++i) LOG_INFO("n", ctxlog::kv("t", t), ctxlog::kv("seq", i));
      });
    while (started.load() < threads) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ctxlog::shutdown();
    for (auto& t : ts) t.join();
    const auto after = ctxlog::get_stats();
    CHECK(after.issued - before.issued == static_cast<std::uint64_t>(threads * per_thread));
    CHECK(after.written - before.written + after.dropped - before.dropped == after.issued - before.issued);
    const auto lines = sink->parsed();
    CHECK(lines.size() == after.written - before.written);
    for (const auto& thread_lines : by_thread(lines)) {  // no structured binding: clang 14
      const auto& v = thread_lines.second;
      bool prefix = true;
      for (std::size_t i = 0; i < v.size(); ++i) prefix &= v[i] == static_cast<long>(i);
      CHECK_MESSAGE(prefix, "thread " << thread_lines.first);
    }
    ctxlog::configure({.sinks = {sink}});  // revive for the cases after this one
  }

  TEST_CASE("enter_with never restored: it ends with the thread, and a pool's next task does not see it") {
    auto sink = std::make_shared<capture_sink>();
    ctxlog::configure({.sinks = {sink}});
    // A thread that enters a context and exits: the context is released with the thread
    // (ASan's leak check at exit would report the frame otherwise).
    std::thread([] {
      ctxlog::enter_with(ctxlog::fields{}.request_id("thread-never-restored"));
      LOG_INFO("on the thread");
    }).join();
    // A carrying pool puts its worker's own context back after every task.
    ctxlog::thread_pool pool(1);
    pool.submit([] { ctxlog::enter_with(ctxlog::fields{}.request_id("leaky-task")); }).get();
    pool.submit([] { LOG_INFO("next task"); }).get();
    ctxlog::flush();
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0]["requestId"] == "thread-never-restored");
    CHECK_FALSE(lines[1].contains("requestId"));
  }

  TEST_CASE("a snapshot outliving its storage<T> keeps the value alive; a later store never sees it") {
    static std::atomic<int> alive{0};
    struct tracked {
      int v;
      explicit tracked(int x) : v(x) { ++alive; }
      tracked(const tracked& o) : v(o.v) { ++alive; }
      tracked(tracked&& o) noexcept : v(o.v) { ++alive; }
      ~tracked() { --alive; }
    };
    ctxlog::context kept;
    {
      ctxlog::storage<tracked> store;
      store.run(tracked{7}, [&] { kept = ctxlog::snapshot(); });
      REQUIRE(store.get(kept) != nullptr);
      CHECK(store.get(kept)->v == 7);
    }  // the store is gone; the value lives in the snapshot's frame
    CHECK(alive == 1);
    ctxlog::storage<tracked> later;  // a new store has a new id: not the old value
    CHECK(later.get(kept) == nullptr);
    ctxlog::run(kept, [&] { CHECK(later.get() == nullptr); });
    kept = ctxlog::context{};
    CHECK(alive == 0);  // destroyed exactly once, with the last reference
  }
}
