// Flight recorders: a request's detailed lines kept and written before its error line,
// discarded when it ends cleanly, across threads and pools, bounded per request and in
// all, counted; sync mode; nested and dumped recorders; every record accounted for.
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/pool.hpp"
#include "ctxlog/span.hpp"
#include "support.hpp"

namespace {

using ctxlog::level;
using ctxlog_test::capture_sink;

std::shared_ptr<capture_sink> setup(ctxlog::config c = {}) {
  auto s = std::make_shared<capture_sink>();
  c.sinks = {s};
  c.level_env = "";
  ctxlog::configure(std::move(c));
  return s;
}

std::vector<std::string> messages(const capture_sink& s) {
  std::vector<std::string> out;
  for (const auto& j : s.parsed()) out.push_back(j["msg"].get<std::string>());
  return out;
}

// issued == written + dropped + discarded + held, once flushed.
void check_accounting() {
  ctxlog::flush();
  const auto st = ctxlog::get_stats();
  CHECK(st.issued == st.written + st.dropped + st.discarded + st.held);
}

}  // namespace

TEST_CASE("a clean request: its debug lines are kept, then discarded and counted") {
  auto sink = setup();
  const auto before = ctxlog::get_stats();
  {
    ctxlog::scope request{ctxlog::fields{}.request_id("r-clean")};
    ctxlog::flight_recorder recorder;
    LOG_DEBUG("step {}", 1);
    LOG_TRACE("step {}", 2);
    LOG_INFO("done");
    ctxlog::flush();
    CHECK(ctxlog::get_stats().held - before.held == 2);
  }
  CHECK(messages(*sink) == std::vector<std::string>{"done"});
  const auto after = ctxlog::get_stats();
  CHECK(after.discarded - before.discarded == 2);
  CHECK(after.held == before.held);
  CHECK(after.written - before.written == 1);
  check_accounting();
}

TEST_CASE("a failing request: the kept lines come first, in order, marked replayed; later ones are written") {
  auto sink = setup();
  {
    ctxlog::scope request{ctxlog::fields{}.request_id("r-fail")};
    ctxlog::flight_recorder recorder;
    LOG_DEBUG("parsed {} items", 3);
    LOG_INFO("charging");
    LOG_TRACE("card {}", "visa");
    LOG_ERROR("payment failed");
    LOG_DEBUG("after the error");
  }
  const auto lines = sink->parsed();
  REQUIRE(lines.size() == 5);
  CHECK(lines[0]["msg"] == "charging");
  CHECK(lines[1]["msg"] == "parsed 3 items");
  CHECK(lines[1]["replayed"] == true);
  CHECK(lines[1]["level"] == "debug");
  CHECK(lines[2]["msg"] == "card visa");
  CHECK(lines[2]["replayed"] == true);
  CHECK(lines[3]["msg"] == "payment failed");
  CHECK_FALSE(lines[3].contains("replayed"));
  CHECK(lines[4]["msg"] == "after the error");
  CHECK_FALSE(lines[4].contains("replayed"));
  for (const auto& l : lines) CHECK(l["requestId"] == "r-fail");
  // The kept lines carry their own time: earlier than the error line's.
  CHECK(lines[1]["ts"].get<std::string>() <= lines[3]["ts"].get<std::string>());
  check_accounting();
}

TEST_CASE("lines at the logger's level are written as usual; only those below it are kept") {
  auto sink = setup({.loggers = {{.name = "sql", .min_level = level::debug}}});
  auto& sql = ctxlog::get_logger("sql");
  {
    ctxlog::flight_recorder recorder({.keep = level::debug});
    LOG_DEBUG_TO(sql, "select 1");   // sql is at debug: written
    LOG_TRACE_TO(sql, "row 1");      // below keep: nothing at all
    LOG_DEBUG("default is at info"); // kept, then discarded
  }
  CHECK(messages(*sink) == std::vector<std::string>{"select 1"});
  check_accounting();
}

TEST_CASE("outside a recorder, a line below the level makes no record at all") {
  auto sink = setup();
  { ctxlog::flight_recorder recorder; }  // lowers the floor for good
  const auto before = ctxlog::get_stats();
  LOG_DEBUG("no recorder here");
  ctxlog::flush();
  const auto after = ctxlog::get_stats();
  CHECK(after.issued == before.issued);
  CHECK(sink->size() == 0);
}

TEST_CASE("the recorder follows the request onto pool threads and back") {
  auto sink = setup();
  ctxlog::thread_pool pool{2};
  {
    ctxlog::scope request{ctxlog::fields{}.request_id("r-pool")};
    ctxlog::flight_recorder recorder;
    std::vector<std::future<void>> done;
    for (int i = 0; i < 4; ++i) done.push_back(pool.submit([i] { LOG_DEBUG("worker {}", i); }));
    for (auto& f : done) f.get();
    pool.submit([] { LOG_ERROR("worker failed"); }).get();
  }
  const auto lines = sink->parsed();
  REQUIRE(lines.size() == 5);
  int replayed = 0;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    replayed += lines[i].value("replayed", false) ? 1 : 0;
    CHECK(lines[i]["requestId"] == "r-pool");
  }
  CHECK(replayed == 4);
  CHECK(lines.back()["msg"] == "worker failed");
  check_accounting();
}

TEST_CASE("two requests at once: one fails, only its lines are written") {
  auto sink = setup();
  std::atomic<int> ready{0};
  auto request = [&](const char* id, bool fail) {
    ctxlog::scope s{ctxlog::fields{}.request_id(id)};
    ctxlog::flight_recorder recorder;
    for (int i = 0; i < 50; ++i) LOG_DEBUG("{} step {}", id, i);
    ready.fetch_add(1);
    while (ready.load() < 2) std::this_thread::yield();
    if (fail) LOG_ERROR("{} failed", id);
  };
  std::thread a(request, "ok", false), b(request, "bad", true);
  a.join();
  b.join();
  const auto lines = sink->parsed();
  REQUIRE(lines.size() == 51);
  for (const auto& l : lines) CHECK(l["requestId"] == "bad");
  for (int i = 0; i < 50; ++i) CHECK(lines[static_cast<std::size_t>(i)]["msg"] == "bad step " + std::to_string(i));
  check_accounting();
}

TEST_CASE("max_lines: the newest lines before the error are kept, the older ones counted") {
  auto sink = setup();
  const auto before = ctxlog::get_stats();
  {
    ctxlog::flight_recorder recorder({.max_lines = 4});
    for (int i = 0; i < 10; ++i) LOG_DEBUG("line {}", i);
    LOG_ERROR("boom");
  }
  CHECK(messages(*sink) == std::vector<std::string>{"line 6", "line 7", "line 8", "line 9", "boom"});
  CHECK(ctxlog::get_stats().discarded - before.discarded == 6);
  check_accounting();
}

TEST_CASE("config::flight_recorder_bytes bounds what all recorders keep together") {
  auto sink = setup({.flight_recorder_bytes = 4096});
  const auto before = ctxlog::get_stats();
  const std::string big(400, 'x');
  {
    ctxlog::flight_recorder recorder({.max_lines = 1000});
    for (int i = 0; i < 100; ++i) LOG_DEBUG("{} {}", i, big);
    ctxlog::flush();
    const auto mid = ctxlog::get_stats();
    CHECK(mid.held - before.held < 10);  // ~4096 / 400
    CHECK(mid.held - before.held > 0);
    LOG_ERROR("boom");
  }
  const auto lines = sink->parsed();
  CHECK(lines.size() < 11);
  CHECK(lines.back()["msg"] == "boom");
  // The newest lines are the ones kept.
  CHECK(lines[lines.size() - 2]["msg"].get<std::string>().rfind("99 ", 0) == 0);
  check_accounting();
}

TEST_CASE("a recorder inside a recorded request joins it") {
  auto sink = setup();
  {
    ctxlog::flight_recorder outer;
    LOG_DEBUG("outer line");
    {
      ctxlog::flight_recorder inner;
      CHECK(inner.joined());
      LOG_DEBUG("inner line");
    }
    LOG_ERROR("failed after the inner scope");
  }
  CHECK(messages(*sink) == std::vector<std::string>{"outer line", "inner line", "failed after the inner scope"});
  check_accounting();
}

TEST_CASE("dump() writes what is kept without an error line") {
  auto sink = setup();
  {
    ctxlog::flight_recorder recorder;
    LOG_DEBUG("before dump");
    recorder.dump();
    LOG_DEBUG("after dump");
  }
  CHECK(messages(*sink) == std::vector<std::string>{"before dump", "after dump"});
  check_accounting();
}

TEST_CASE("a line logged after its request ended is discarded, counted") {
  auto sink = setup();
  ctxlog::context kept_ctx;
  {
    ctxlog::flight_recorder recorder;
    kept_ctx = ctxlog::snapshot();
  }
  const auto before = ctxlog::get_stats();
  kept_ctx.run([] { LOG_DEBUG("late"); });
  check_accounting();
  CHECK(ctxlog::get_stats().discarded - before.discarded == 1);
  kept_ctx.run([] { LOG_ERROR("late error"); });  // at its level: written as usual
  CHECK(messages(*sink) == std::vector<std::string>{"late error"});
}

TEST_CASE("sync mode: the same behaviour") {
  auto sink = setup({.mode = ctxlog::dispatch_mode::sync});
  {
    ctxlog::flight_recorder recorder;
    LOG_DEBUG("kept");
    LOG_ERROR("failed");
  }
  {
    ctxlog::flight_recorder recorder;
    LOG_DEBUG("discarded");
  }
  CHECK(messages(*sink) == std::vector<std::string>{"kept", "failed"});
  check_accounting();
  setup();  // back to async for the cases after this one
}

TEST_CASE("a custom trigger level, and spans inside a recorded request") {
  auto sink = setup();
  {
    ctxlog::scope request{ctxlog::fields{}.request_id("r-span")};
    ctxlog::flight_recorder recorder({.trigger = level::warn});
    { ctxlog::span s("charge", {.end_level = level::debug}); }  // its end line is debug: kept
    LOG_WARN("retrying");
  }
  const auto lines = sink->parsed();
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["span"] == "charge");
  CHECK(lines[0]["replayed"] == true);
  CHECK(lines[1]["msg"] == "retrying");
  check_accounting();
}

TEST_CASE("shutdown discards what the recorders keep; every record is accounted for") {
  auto sink = setup();
  ctxlog::flight_recorder recorder;
  for (int i = 0; i < 10; ++i) LOG_DEBUG("pending {}", i);
  ctxlog::flush();
  CHECK(ctxlog::get_stats().held >= 10);
  ctxlog::shutdown();
  const auto st = ctxlog::get_stats();
  CHECK(st.held == 0);
  CHECK(st.issued == st.written + st.dropped + st.discarded + st.held);
}
