// Time order across threads, reconfiguring while threads log, and fork() while the
// back-end is busy.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ctxlog/ctxlog.hpp"
#include "support.hpp"

namespace {

using ctxlog_test::capture_sink;

constexpr int k_scale = ctxlog_test::sanitized ? 4 : 1;

// Reads "t" and "seq" of every line a sink got, per writer.
std::map<long, std::vector<long>> by_writer(const std::vector<nlohmann::json>& lines) {
  std::map<long, std::vector<long>> out;
  for (const auto& j : lines)
    if (j.contains("t")) out[j["t"].get<long>()].push_back(j["seq"].get<long>());
  return out;
}

std::string temp_path(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / fmt::format("ctxlog_order_{}_{}", ::getpid(), name);
  std::filesystem::remove(p);
  return p.string();
}

}  // namespace

TEST_SUITE("time order") {
  TEST_CASE("a line logged after joining a thread follows that thread's line, every time") {
    auto sink = std::make_shared<capture_sink>();
    ctxlog::configure({.sinks = {sink}, .queue_capacity = 16 * 1024});
    const int rounds = 3000 / k_scale;
    for (int i = 0; i < rounds; ++i) {
      LOG_INFO("A", ctxlog::kv("i", i));
      std::thread([i] { LOG_INFO("B", ctxlog::kv("i", i)); }).join();
      LOG_INFO("C", ctxlog::kv("i", i));
    }
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == static_cast<std::size_t>(3 * rounds));
    int wrong = 0;
    for (int i = 0; i < rounds; ++i)
      for (int k = 0; k < 3; ++k) {
        const auto& j = lines[static_cast<std::size_t>(3 * i + k)];
        if (j["msg"] != std::string(1, "ABC"[k]) || j["i"] != i) ++wrong;
      }
    CHECK(wrong == 0);
  }

  TEST_CASE("a token passed around four threads keeps their lines in the order it passed") {
    auto sink = std::make_shared<capture_sink>();
    ctxlog::configure({.sinks = {sink}, .queue_capacity = 64 * 1024});
    const int total = 20000 / k_scale;
    std::mutex mu;  // the hand-off a program makes: a lock (a spin on a bare atomic, see docs)
    std::condition_variable cv;
    int turn = 0;
    std::vector<std::thread> threads;
    for (int me = 0; me < 4; ++me)
      threads.emplace_back([&, me] {
        for (;;) {
          std::unique_lock lk(mu);
          cv.wait(lk, [&] { return turn >= total || turn % 4 == me; });
          if (turn >= total) return;
          LOG_INFO("turn", ctxlog::kv("n", turn), ctxlog::kv("me", me));
          ++turn;  // the next thread's line happens after this one
          cv.notify_all();
        }
      });
    for (auto& t : threads) t.join();
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == static_cast<std::size_t>(total));
    int wrong = 0;
    for (int i = 0; i < total; ++i) wrong += lines[static_cast<std::size_t>(i)]["n"] != i;
    CHECK(wrong == 0);
  }

  TEST_CASE("threads logging at once: each thread's lines in order, the merge in timestamp order") {
    auto sink = std::make_shared<capture_sink>();
    sink->set_layout(ctxlog::json_layout({.precision = ctxlog::time_precision::ns, .format = ctxlog::time_format::epoch}));
    ctxlog::configure({.sinks = {sink}, .queue_capacity = 64 * 1024});
    constexpr int per_thread = 50000 / k_scale;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([t] {
        for (int i = 0; i < per_thread; ++i) LOG_INFO("x", ctxlog::kv("t", t), ctxlog::kv("seq", i));
      });
    for (auto& t : threads) t.join();
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == static_cast<std::size_t>(4 * per_thread));
    for (const auto& writer : by_writer(lines)) {
      const auto& seqs = writer.second;  // no structured binding: INFO captures it (clang 14)
      INFO("thread " << writer.first);
      REQUIRE(seqs.size() == static_cast<std::size_t>(per_thread));
      bool ordered = true;
      for (int i = 0; i < per_thread; ++i) ordered &= seqs[static_cast<std::size_t>(i)] == i;
      CHECK(ordered);
    }
    // Lines of threads that do not synchronise are in timestamp order except where one
    // thread's record was stamped but not yet visible when a pass began (its stores
    // still on their way to the back-end's CPU, or the thread preempted mid-call): then it
    // follows lines stamped just after it. Reported, not asserted: how often depends on
    // the machine (the causal cases above are the guarantee).
    std::size_t inversions = 0;
    long long widest = 0;
    for (std::size_t i = 1; i < lines.size(); ++i) {
      const long long gap = lines[i - 1]["ts"].get<long long>() - lines[i]["ts"].get<long long>();
      if (gap > 0) ++inversions, widest = std::max(widest, gap);
    }
    MESSAGE("lines out of timestamp order: " << inversions << " of " << lines.size() << ", by at most " << widest
                                             << " ns");
  }

  TEST_CASE("a thread that logs rarely does not hold back the lines of the others") {
    auto sink = std::make_shared<capture_sink>();
    ctxlog::configure({.sinks = {sink}});
    std::atomic<bool> go_on{false};
    std::thread rare([&] {
      LOG_INFO("rare one");
      while (!go_on.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      LOG_INFO("rare two");
    });
    while (sink->size() == 0) std::this_thread::yield();
    for (int i = 0; i < 1000; ++i) LOG_INFO("busy", ctxlog::kv("seq", i));
    // No flush() (it would force everything out): the back-end's own passes must write
    // the busy lines while the rare thread stays silent. Bounded wait, generous.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (sink->received() < 1001 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK(sink->received() == 1001);
    const auto lines = sink->parsed();
    CHECK(lines.size() == 1001);
    CHECK(lines.back()["seq"] == 999);
    go_on = true;
    rare.join();
    CHECK(sink->last()["msg"] == "rare two");
  }
}

TEST_SUITE("reconfiguring under load") {
  TEST_CASE("configure() while threads log flat out loses nothing and returns while they go on") {
    auto a = std::make_shared<capture_sink>(), b = std::make_shared<capture_sink>();
    const auto small = std::size_t{16 * 1024};  // full rings: producers wait for room
    ctxlog::configure({.sinks = {a}, .queue_capacity = small});
    const auto before = ctxlog::get_stats();
    std::atomic<bool> stop{false};
    std::atomic<int> logged[2] = {0, 0};
    std::vector<std::thread> writers;
    for (int t = 0; t < 2; ++t)
      writers.emplace_back([&, t] {
        int i = 0;
        for (; !stop.load(std::memory_order_relaxed); ++i) LOG_INFO("w", ctxlog::kv("t", t), ctxlog::kv("seq", i));
        logged[t] = i;
      });
    // Wait until both write, then reconfigure again and again while they do, switching
    // sinks, and to synchronous mode and back.
    while (a->size() < 1000) std::this_thread::yield();
    std::chrono::nanoseconds longest{0};
    for (int round = 0; round < 40 / k_scale + 4; ++round) {
      const auto t0 = std::chrono::steady_clock::now();
      ctxlog::configure({.sinks = {round % 2 ? a : b},
                         .mode = round % 5 == 3 ? ctxlog::dispatch_mode::sync : ctxlog::dispatch_mode::async,
                         .queue_capacity = small});
      longest = std::max(longest, std::chrono::steady_clock::now() - t0);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    stop = true;
    for (auto& w : writers) w.join();
    ctxlog::flush();
    MESSAGE("longest configure() while two threads log: "
            << std::chrono::duration_cast<std::chrono::microseconds>(longest).count() << " us");

    std::vector<nlohmann::json> all = a->parsed();
    for (auto& j : b->parsed()) all.push_back(std::move(j));
    const auto writers_lines = by_writer(all);
    for (int t = 0; t < 2; ++t) {
      INFO("writer " << t);
      std::set<long> seen(writers_lines.at(t).begin(), writers_lines.at(t).end());
      CHECK(writers_lines.at(t).size() == static_cast<std::size_t>(logged[t].load()));  // each once
      CHECK(seen.size() == static_cast<std::size_t>(logged[t].load()));
      CHECK(*seen.rbegin() == logged[t] - 1);
    }
    const auto after = ctxlog::get_stats();
    CHECK(after.dropped == before.dropped);
    CHECK(after.issued - before.issued == after.written - before.written);
  }
}

TEST_SUITE("fork") {
  TEST_CASE("fork() while threads log: the child logs at once, with its own ids, and nothing twice") {
    const auto path = temp_path("fork.log");
    auto file = ctxlog::sinks::file_sink(path);
    file->set_layout(ctxlog::json_layout({.pid = true}));
    ctxlog::configure({.sinks = {file}, .queue_capacity = 64 * 1024});
    std::atomic<bool> stop{false};
    std::atomic<int> logged[2] = {0, 0};
    std::vector<std::thread> writers;
    // Bounded, so that a child that hangs cannot make them fill the disk meanwhile.
    const int cap = 400000 / k_scale;
    for (int t = 0; t < 2; ++t)
      writers.emplace_back([&, t] {
        int i = 0;
        for (; !stop.load(std::memory_order_relaxed) && i < cap; ++i)
          LOG_INFO("parent", ctxlog::kv("t", t), ctxlog::kv("seq", i));
        logged[t] = i;
      });
    const int children = 40 / k_scale;
    std::vector<pid_t> pids;
    int hung = 0;
    for (int c = 0; c < children; ++c) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      LOG_INFO("forking", ctxlog::kv("child", c));  // the forking thread has logged: its id is known
      const pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        LOG_INFO("child", ctxlog::kv("child", c), ctxlog::kv("child_pid", static_cast<long>(::getpid())));
        ctxlog::flush();
        ::_exit(0);
      }
      pids.push_back(pid);
      // A child that deadlocked on a lock taken at fork time never exits: give it 5 s.
      int status = 0;
      bool done = false;
      for (int ms = 0; ms < 5000 && !done; ++ms) {
        done = ::waitpid(pid, &status, WNOHANG) == pid;
        if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (!done) {
        ++hung;
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
      } else {
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
      }
    }
    stop = true;
    for (auto& w : writers) w.join();
    ctxlog::flush();
    CHECK(hung == 0);

    std::ifstream in(path);
    std::map<int, int> child_lines;
    std::map<long, std::map<long, int>> parent_lines;
    int wrong_ids = 0;  // counted, not CHECKed per line: the parent writes ~10^5 lines
    for (std::string l; std::getline(in, l);) {
      const auto j = ctxlog_test::parse_line(l + "\n");
      if (j["msg"] == "child") {
        ++child_lines[j["child"].get<int>()];
        // The forking thread is the child's main thread: its id is the child's pid.
        const bool ok = j["pid"] == j["child_pid"] && j["thread"] == j["child_pid"] && j["pid"] != ::getpid();
        CHECK_MESSAGE(ok, l);
      } else {
        if (j["msg"] == "parent") ++parent_lines[j["t"].get<long>()][j["seq"].get<long>()];
        wrong_ids += j["pid"] != ::getpid();
      }
    }
    CHECK(wrong_ids == 0);
    CHECK(child_lines.size() == static_cast<std::size_t>(children));
    for (const auto& child : child_lines)
      CHECK_MESSAGE(child.second == 1, "child " << child.first << " wrote " << child.second << " lines");
    for (int t = 0; t < 2; ++t) {
      INFO("writer " << t);
      CHECK(parent_lines[t].size() == static_cast<std::size_t>(logged[t].load()));
      int twice = 0;
      for (const auto& [seq, n] : parent_lines[t]) twice += n != 1;
      CHECK(twice == 0);
    }
    std::filesystem::remove(path);
  }
}
