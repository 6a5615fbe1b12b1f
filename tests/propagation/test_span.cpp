// ctxlog/span.hpp: a span is a child context with one end line; in plain code, pool tasks
// and coroutines; outcome and error fields; the trace state rides along.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "../support.hpp"
#include "ctxlog/ctxlog.hpp"
#include "ctxlog/pool.hpp"
#include "ctxlog/span.hpp"
#include "ctxlog/trace.hpp"

namespace {
struct payment_declined : std::runtime_error {
  using std::runtime_error::runtime_error;
};

nlohmann::json span_line(const std::vector<nlohmann::json>& lines, const std::string& name) {
  for (const auto& j : lines)
    if (j.contains("span") && j["span"] == name) return j;
  FAIL("no end line for span " << name);
  return {};
}
}  // namespace

TEST_SUITE("span") {
  TEST_CASE("a span is a child of the current span and ends with one line naming it") {
    auto sink = ctxlog_test::capture_all();
    const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736", parent = "00f067aa0ba902b7";
    std::string inner_id;
    ctxlog::run(ctxlog::fields{}.request_id("r-1").trace_id(trace).span_id(parent), [&] {
      ctxlog::span s("charge");
      inner_id = std::string(s.span_id());
      CHECK(ctxlog::current().span_id() == s.span_id());
      CHECK(ctxlog::current().parent_span_id() == parent);
      LOG_INFO("charging");
    });
    CHECK(ctxlog::current().empty());  // the scope is gone with the span
    ctxlog::flush();
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0]["msg"] == "charging");
    CHECK(lines[0]["spanId"] == inner_id);
    const auto end = span_line(lines, "charge");
    CHECK(end["traceId"] == trace);
    CHECK(end["spanId"] == inner_id);
    CHECK(end["parentSpanId"] == parent);
    CHECK(end["requestId"] == "r-1");
    CHECK(end["outcome"] == "ok");
    CHECK(end["spanKind"] == "internal");
    CHECK(end["level"] == "info");
    CHECK(end["logger"] == "span");
    CHECK(end["durationNs"].get<std::uint64_t>() > 0);
    CHECK(end["startUnixNano"].get<std::uint64_t>() > 1'600'000'000'000'000'000ull);
    CHECK(std::string(end["msg"]).rfind("span charge ok in ", 0) == 0);
  }

  TEST_CASE("nested spans form a chain; outside any trace the outer span starts one") {
    auto sink = ctxlog_test::capture_all();
    std::string outer_id, inner_id, trace;
    {
      ctxlog::span outer("handle");
      outer_id = std::string(outer.span_id());
      trace = std::string(ctxlog::current().trace_id());
      CHECK(trace.size() == 32);
      CHECK(ctxlog::current().parent_span_id().empty());
      const auto* st = ctxlog::trace_state_of(ctxlog::current());
      REQUIRE(st);
      CHECK(st->flags == (ctxlog::trace_flag_sampled | ctxlog::trace_flag_random));
      {
        ctxlog::span inner("load");
        inner_id = std::string(inner.span_id());
        CHECK(ctxlog::current().parent_span_id() == outer_id);
        CHECK(ctxlog::current().trace_id() == trace);
      }
      CHECK(ctxlog::current().span_id() == outer_id);
    }
    ctxlog::flush();
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0]["span"] == "load");  // the inner span ends first
    CHECK(lines[0]["parentSpanId"] == outer_id);
    CHECK(lines[1]["span"] == "handle");
    CHECK_FALSE(lines[1].contains("parentSpanId"));
    CHECK(outer_id != inner_id);
  }

  TEST_CASE("in_span records the exception's type and message, rethrows, and writes at error level") {
    auto sink = ctxlog_test::capture_all();
    CHECK_THROWS_AS(ctxlog::in_span("pay", [] { throw payment_declined("card expired"); }), payment_declined);
    CHECK_THROWS_AS(ctxlog::in_span("odd", [] { throw 42; }), int);
    ctxlog::flush();
    const auto lines = sink->parsed();
    const auto pay = span_line(lines, "pay");
    CHECK(pay["outcome"] == "error");
    CHECK(pay["level"] == "error");
    CHECK(pay["errorType"] == "(anonymous namespace)::payment_declined");
    CHECK(pay["errorMessage"] == "card expired");
    const auto odd = span_line(lines, "odd");
    CHECK(odd["errorType"] == "int");
  }

  TEST_CASE("a span left by an exception it was not told about still ends as an error") {
    auto sink = ctxlog_test::capture_all();
    try {
      ctxlog::span s("unwound");
      throw std::logic_error("boom");
    } catch (const std::logic_error&) {
    }
    ctxlog::flush();
    const auto end = span_line(sink->parsed(), "unwound");
    CHECK(end["outcome"] == "error");
    CHECK(end["errorType"] == "unknown");
  }

  TEST_CASE("a span inside a caught exception's handler is not mistaken for a failure") {
    auto sink = ctxlog_test::capture_all();
    try {
      throw std::runtime_error("handled");
    } catch (const std::exception&) {
      ctxlog::span s("cleanup");  // an exception is being handled, none is unwinding this span
    }
    ctxlog::flush();
    CHECK(span_line(sink->parsed(), "cleanup")["outcome"] == "ok");
  }

  TEST_CASE("fail() marks the outcome; the end level and logger come from the options") {
    auto sink = ctxlog_test::capture_all();
    {
      ctxlog::span s("validate", {.end_level = ctxlog::level::debug});
      s.fail("validation", "qty must be positive");
    }
    { ctxlog::span s("quiet", {.log = &ctxlog::get_logger("db"), .end_level = ctxlog::level::debug}); }
    ctxlog::flush();
    const auto lines = sink->parsed();
    const auto v = span_line(lines, "validate");
    CHECK(v["level"] == "error");  // an error outcome is never written below error
    CHECK(v["errorType"] == "validation");
    CHECK(v["errorMessage"] == "qty must be positive");
    const auto q = span_line(lines, "quiet");
    CHECK(q["logger"] == "db");
    CHECK(q["level"] == "debug");
  }

  TEST_CASE("a pool task submitted inside a span runs in it; a span inside the task is its child") {
    auto sink = ctxlog_test::capture_all();
    ctxlog::thread_pool pool(2);
    std::string outer_id, task_parent;
    {
      ctxlog::span s("fan out");
      outer_id = std::string(s.span_id());
      pool.submit([&] {
            ctxlog::span child("work");
            task_parent = std::string(ctxlog::current().parent_span_id());
          })
          .get();
    }
    CHECK(task_parent == outer_id);
    ctxlog::flush();
    CHECK(span_line(sink->parsed(), "work")["parentSpanId"] == outer_id);
  }

  TEST_CASE("a span in a coroutine lasts across co_await on another thread and ends there") {
    auto sink = ctxlog_test::capture_all();
    ctxlog::thread_pool pool(1);
    std::string span_id, after_resume;
    auto body = [&]() -> ctxlog::task<int> {
      ctxlog::span s("coro step");
      span_id = std::string(s.span_id());
      co_await ctxlog::resume_on(pool);
      after_resume = std::string(ctxlog::current().span_id());
      co_return 7;
    };
    auto outer = [&]() -> ctxlog::task<int> { co_return co_await ctxlog::in_span("coro outer", body()); };
    CHECK(ctxlog::sync_wait(outer()) == 7);
    CHECK(after_resume == span_id);
    ctxlog::flush();
    const auto lines = sink->parsed();
    const auto step = span_line(lines, "coro step");
    const auto outer_line = span_line(lines, "coro outer");
    CHECK(step["parentSpanId"] == outer_line["spanId"]);
    CHECK(step["traceId"] == outer_line["traceId"]);
    CHECK(ctxlog::current().empty());
  }

  TEST_CASE("the trace state (flags, tracestate) of an extracted context is inherited by its spans") {
    std::map<std::string, std::string> in{{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"},
                                          {"tracestate", "congo=t61rcWkgMzE"}};
    std::map<std::string, std::string> out;
    ctxlog::run(ctxlog::extract(in), [&] {
      ctxlog::span s("call");
      ctxlog::inject(out);
      CHECK(out["traceparent"] ==
            ctxlog::format_traceparent("4bf92f3577b34da6a3ce929d0e0e4736", s.span_id(), 0));  // not sampled: kept
    });
    CHECK(out["tracestate"] == "congo=t61rcWkgMzE");
  }

  TEST_CASE("span ids are distinct across threads") {
    std::set<std::string> ids;
    std::mutex mu;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&] {
        for (int i = 0; i < 500; ++i) {
          ctxlog::span s("x", {.end_level = ctxlog::level::off});
          std::lock_guard lock(mu);
          ids.insert(std::string(s.span_id()));
        }
      });
    for (auto& th : threads) th.join();
    CHECK(ids.size() == 2000);
  }
}

TEST_SUITE("spawn") {
  TEST_CASE("spawn starts a task on the pool without waiting; it keeps its creator's context") {
    auto sink = ctxlog_test::capture_all();
    ctxlog::thread_pool pool(1);
    std::promise<std::string> seen;
    std::promise<void> release;
    auto job = [&]() -> ctxlog::task<> {
      release.get_future().wait();  // the spawner must already have returned
      seen.set_value(std::string(ctxlog::current().request_id()));
      co_return;
    };
    ctxlog::run(ctxlog::fields{}.request_id("r-spawn"), [&] { ctxlog::spawn(pool, job()); });
    release.set_value();  // would deadlock if spawn() waited for the task
    CHECK(seen.get_future().get() == "r-spawn");
  }

  TEST_CASE("an exception escaping a spawned task is an error line in the task's context") {
    auto sink = ctxlog_test::capture_all();
    ctxlog::thread_pool pool(1);
    auto job = []() -> ctxlog::task<int> {
      throw payment_declined("insufficient funds");
      co_return 1;
    };
    ctxlog::run(ctxlog::fields{}.request_id("r-fail"), [&] { ctxlog::spawn(pool, job()); });
    pool.wait_idle();
    ctxlog::flush();
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0]["level"] == "error");
    CHECK(lines[0]["requestId"] == "r-fail");
    CHECK(lines[0]["errorType"] == "(anonymous namespace)::payment_declined");
    CHECK(lines[0]["errorMessage"] == "insufficient funds");
    CHECK(lines[0]["msg"] == "task failed: (anonymous namespace)::payment_declined: insufficient funds");
  }

  TEST_CASE("a worker can spawn onto its own single-threaded pool (sync_wait there would deadlock)") {
    ctxlog::thread_pool pool(1);
    std::promise<int> done;
    auto inner = [&]() -> ctxlog::task<> {
      co_await ctxlog::resume_on(pool);
      done.set_value(5);
    };
    pool.post([&] { ctxlog::spawn(pool, inner()); });
    auto f = done.get_future();
    REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK(f.get() == 5);
  }

  TEST_CASE("a pool that refuses the job: the failure is reported, the task destroyed, nothing leaks") {
    auto sink = ctxlog_test::capture_all();
    ctxlog::thread_pool pool(1);
    pool.shutdown();
    bool ran = false;
    auto job = [&]() -> ctxlog::task<> {
      ran = true;
      co_return;
    };
    ctxlog::run(ctxlog::fields{}.request_id("r-late"), [&] { ctxlog::spawn(pool, job()); });
    ctxlog::flush();
    CHECK_FALSE(ran);
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0]["requestId"] == "r-late");
    CHECK(lines[0]["level"] == "error");
  }
}
