// The asynchronous back-end: order, no silent loss, overflow policies, flush, exit and
// crash drains, oversized records, synchronous mode.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "ctxlog/ctxlog.hpp"
#include "support.hpp"

namespace {

// Sanitized builds check the same invariants with fewer records; the optimised build
// runs the full 2 x 1 M.
constexpr int k_bulk = ctxlog_test::sanitized ? 200000 : 1000000;

// Counts lines and checks, per producer, that "seq" values arrive in order. Parsing
// millions of lines with nlohmann would dominate the test, so this reads the two
// integers it needs directly; other suites parse every line fully.
class counting_sink final : public ctxlog::sink {
 public:
  void write(const ctxlog::log_line& line) override {
    ++lines;
    const auto t = ctxlog_test::int_field(line.text, "\"t\":");
    const auto s = ctxlog_test::int_field(line.text, "\"seq\":");
    if (t < 0 || s < 0) return;
    auto& last = last_seq.try_emplace(t, -1).first->second;
    if (s != last + 1) ++out_of_order;
    last = s;
  }
  std::atomic<long> lines{0};
  long out_of_order = 0;
  std::map<long, long> last_seq;
};

// Child processes: started by ctxlog_test::run_self_child() with CTXLOG_TEST_CHILD naming the scenario.
void child_main(const std::string& scenario, const std::string& file) {
  ctxlog::configure({.sinks = {ctxlog::sinks::file_sink(file)}, .mode = ctxlog::dispatch_mode::async});
  ctxlog::run(ctxlog::fields{}.request_id("child"), [] {
    for (int i = 0; i < 5000; ++i) LOG_INFO("line {}", i, ctxlog::kv("seq", i));
  });
  if (scenario == "exit") std::exit(0);  // no flush(): the exit drain must write everything
  if (scenario == "abort") std::abort();
  if (scenario == "segv") {
    volatile int* volatile null = nullptr;
    *null = 1;
  }
  if (scenario == "terminate") std::terminate();
  std::_Exit(3);
}

[[maybe_unused]] const bool child_mode = [] {
  if (const char* s = std::getenv("CTXLOG_TEST_CHILD")) {
    child_main(s, std::getenv("CTXLOG_TEST_FILE"));
    std::_Exit(4);
  }
  return false;
}();

std::vector<nlohmann::json> read_json_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  for (std::string l; std::getline(in, l);) out.push_back(ctxlog_test::parse_line(l + "\n"));
  return out;
}

std::string temp_file(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / fmt::format("ctxlog_backend_{}_{}", ::getpid(), name);
  std::filesystem::remove(p);
  return p.string();
}

void check_child_wrote_everything(const std::string& scenario, int expect_signal) {
  const auto file = temp_file(fmt::format("{}.log", scenario));
  const int status = ctxlog_test::run_self_child(scenario, file, ctxlog_test::child_end::abrupt);
  if (expect_signal) {
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == expect_signal);
  } else {
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  const auto lines = read_json_lines(file);
  REQUIRE(lines.size() == 5000);
  for (int i = 0; i < 5000; ++i) {
    CHECK(lines[i]["seq"] == i);
    CHECK(lines[i]["requestId"] == "child");
  }
  std::filesystem::remove(file);
}

}  // namespace

TEST_SUITE("backend") {
  TEST_CASE("each thread's lines arrive in the order it logged them") {
    auto sink = std::make_shared<counting_sink>();
    ctxlog::configure({.sinks = {sink}, .queue_capacity = 16 * 1024});
    std::vector<std::thread> ts;
    for (int t = 0; t < 3; ++t)
      ts.emplace_back([t] {
        for (int i = 0; i < 20000; ++i) LOG_INFO("n", ctxlog::kv("t", t), ctxlog::kv("seq", i));
      });
    for (auto& t : ts) t.join();
    ctxlog::flush();
    CHECK(sink->lines == 60000);
    CHECK(sink->out_of_order == 0);
  }

  TEST_CASE("overflow_policy::block loses nothing: 2 producers x 1 M records through a small queue") {
    auto sink = std::make_shared<counting_sink>();
    ctxlog::configure({.sinks = {sink}, .queue_capacity = 64 * 1024, .overflow = ctxlog::overflow_policy::block});
    const auto before = ctxlog::get_stats();
    std::vector<std::thread> ts;
    for (int t = 0; t < 2; ++t)
      ts.emplace_back([t] {
        ctxlog::run(ctxlog::fields{}.request_id("bulk"), [t] {
          for (int i = 0; i < k_bulk; ++i) LOG_INFO("n", ctxlog::kv("t", t), ctxlog::kv("seq", i));
        });
      });
    for (auto& t : ts) t.join();
    ctxlog::flush();
    const auto after = ctxlog::get_stats();
    CHECK(sink->lines == 2 * k_bulk);
    CHECK(sink->out_of_order == 0);
    CHECK(after.dropped == before.dropped);
    CHECK(after.issued - before.issued == 2 * k_bulk);
    CHECK(after.written - before.written == 2 * k_bulk);
  }

  TEST_CASE("overflow_policy::drop never blocks, counts every drop exactly and says so in a line") {
    auto sink = std::make_shared<ctxlog_test::capture_sink>();
    sink->delay(std::chrono::microseconds(200));  // a slow sink: the 4 KiB queue overflows
    ctxlog::configure({.sinks = {sink}, .queue_capacity = 4096, .overflow = ctxlog::overflow_policy::drop});
    const auto before = ctxlog::get_stats();
    for (int i = 0; i < 5000; ++i) LOG_INFO("burst {}", i);
    ctxlog::flush();
    LOG_INFO("after the burst");  // space has returned: the drop notice is written
    ctxlog::flush();
    const auto after = ctxlog::get_stats();
    const auto dropped = after.dropped - before.dropped;
    CHECK(dropped > 0);
    CHECK(after.issued - before.issued == 5001);
    CHECK(after.written + after.dropped == after.issued);
    std::uint64_t records = 0, noticed = 0;
    for (const auto& j : sink->parsed()) {
      if (j["logger"] == "ctxlog") {
        CHECK(j["level"] == "warn");
        noticed += j["dropped"].get<std::uint64_t>();
      } else {
        ++records;
      }
    }
    CHECK(records == after.written - before.written);
    CHECK(noticed == dropped);
  }

  TEST_CASE("flush() returns only once every earlier line reached the sink") {
    auto sink = std::make_shared<ctxlog_test::capture_sink>();
    sink->delay(std::chrono::microseconds(20));
    ctxlog::configure({.sinks = {sink}});
    for (int round = 0; round < 5; ++round) {
      for (int i = 0; i < 200; ++i) LOG_INFO("r{} i{}", round, i);
      ctxlog::flush();
      CHECK(sink->size() == static_cast<std::size_t>(200 * (round + 1)));
    }
  }

  TEST_CASE("a thread that logs and exits at once loses nothing") {
    auto sink = std::make_shared<counting_sink>();
    ctxlog::configure({.sinks = {sink}});
    for (int t = 0; t < 20; ++t)
      std::thread([t] {
        for (int i = 0; i < 100; ++i) LOG_INFO("n", ctxlog::kv("t", t), ctxlog::kv("seq", i));
      }).join();
    ctxlog::flush();
    CHECK(sink->lines == 2000);
    CHECK(sink->out_of_order == 0);
  }

  TEST_CASE("a record larger than the whole queue is written whole, in order") {
    auto sink = ctxlog_test::capture_all();
    ctxlog::configure({.sinks = {sink}, .queue_capacity = 4096});
    const std::string huge(10 * 1024 * 1024, 'x');
    LOG_INFO("before");
    LOG_INFO("{}", huge, ctxlog::kv("also", huge));
    LOG_INFO("after");
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == 3);
    CHECK(lines[0]["msg"] == "before");
    CHECK(lines[1]["msg"].get<std::string>().size() == huge.size());
    CHECK(lines[1]["also"].get<std::string>().size() == huge.size());
    CHECK(lines[2]["msg"] == "after");
  }

  TEST_CASE("context switches between calls are carried exactly") {
    auto sink = ctxlog_test::capture_all();
    for (int i = 0; i < 300; ++i) {
      ctxlog::run(ctxlog::fields{}.request_id(fmt::format("a{}", i)), [] { LOG_INFO("in a"); });
      LOG_INFO("none");
      ctxlog::run(ctxlog::fields{}.request_id(fmt::format("b{}", i)), [] { LOG_INFO("in b"); });
    }
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == 900);
    for (int i = 0; i < 300; ++i) {
      CHECK(lines[3 * i]["requestId"] == fmt::format("a{}", i));
      CHECK_FALSE(lines[3 * i + 1].contains("requestId"));
      CHECK(lines[3 * i + 2]["requestId"] == fmt::format("b{}", i));
    }
  }

  TEST_CASE("a sink that logs does not deadlock; its call is counted as dropped") {
    struct logging_sink final : ctxlog::sink {
      void write(const ctxlog::log_line&) override {
        ++writes;
        LOG_WARN("from inside a sink");
      }
      std::atomic<int> writes{0};
    };
    auto sink = std::make_shared<logging_sink>();
    ctxlog::configure({.sinks = {sink}});
    const auto before = ctxlog::get_stats();
    LOG_INFO("outer");
    ctxlog::flush();
    const auto after = ctxlog::get_stats();
    CHECK(sink->writes == 1);
    CHECK(after.issued - before.issued == 2);
    CHECK(after.dropped - before.dropped == 1);
  }

  TEST_CASE("synchronous mode writes the line before the call returns") {
    struct raw_sink final : ctxlog::sink {
      void write(const ctxlog::log_line& l) override { last = std::string(l.text); }
      std::string last;
    };
    auto sink = std::make_shared<raw_sink>();
    ctxlog::configure({.sinks = {sink}, .mode = ctxlog::dispatch_mode::sync});
    ctxlog::run(ctxlog::fields{}.request_id("sync"), [] { LOG_INFO("now"); });
    const auto j = ctxlog_test::parse_line(sink->last);  // no flush() in between
    CHECK(j["requestId"] == "sync");
    ctxlog::configure({.sinks = {sink}});
  }

  TEST_CASE("written + dropped == issued across modes and reconfiguration") {
    auto sink = std::make_shared<counting_sink>();
    ctxlog::configure({.sinks = {sink}, .mode = ctxlog::dispatch_mode::sync});
    for (int i = 0; i < 100; ++i) LOG_INFO("s");
    ctxlog::configure({.sinks = {sink}, .mode = ctxlog::dispatch_mode::async});
    for (int i = 0; i < 100; ++i) LOG_INFO("a");
    ctxlog::flush();
    const auto s = ctxlog::get_stats();
    CHECK(s.written + s.dropped == s.issued);
    CHECK(sink->lines == 200);
  }

  TEST_CASE("normal exit drains every queued line without flush()") { check_child_wrote_everything("exit", 0); }
  TEST_CASE("abort() writes every queued line before the process dies") {
    check_child_wrote_everything("abort", SIGABRT);
  }
  TEST_CASE("a segfault writes every queued line before the process dies") {
    check_child_wrote_everything("segv", SIGSEGV);
  }
  TEST_CASE("std::terminate writes every queued line before the process dies") {
    check_child_wrote_everything("terminate", SIGABRT);
  }
}
