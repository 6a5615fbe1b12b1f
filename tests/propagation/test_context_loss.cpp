// Finding context loss (the debug aid), and bind()/async_resource for callbacks.
// With the check on, a log call made with an empty context inside work an adapter runs
// for a captured context is flagged "contextLost"; an adapter whose work returns in a
// different context than it was given is reported.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "../support.hpp"
#include "ctxlog/coro.hpp"
#include "ctxlog/ctxlog.hpp"
#include "ctxlog/pool.hpp"

namespace {
ctxlog::fields req(const std::string& id) { return ctxlog::fields{}.request_id(id); }
std::string rid() { return std::string(ctxlog::current().request_id()); }

// Runs fn with file descriptor 2 redirected to a temporary file; returns what was written.
template <class F>
std::string capture_stderr(F fn) {
  std::fflush(stderr);
  std::FILE* tmp = std::tmpfile();
  REQUIRE(tmp);
  const int saved = ::dup(2);
  ::dup2(::fileno(tmp), 2);
  fn();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::string out;
  std::rewind(tmp);
  for (int c; (c = std::fgetc(tmp)) != EOF;) out += static_cast<char>(c);
  std::fclose(tmp);
  return out;
}

struct loss_check {
  explicit loss_check(bool on) { ctxlog::set_context_loss_check(on); }
  ~loss_check() { ctxlog::set_context_loss_check(false); }
};
}  // namespace

TEST_SUITE("context loss check") {
  TEST_CASE("a log call that lost the context inside a pool task is flagged with its source line") {
    auto sink = ctxlog_test::capture_all();
    loss_check on{true};
    ctxlog::thread_pool pool{1};
    ctxlog::run(req("r-lost"), [&] {
      pool.submit([] {
        LOG_INFO("kept");
        ctxlog::exit([] { LOG_INFO("dropped"); });  // e.g. a library that resets the context
      }).get();
    });
    pool.submit([] { LOG_INFO("unmanaged"); }).get();  // no captured context: not flagged
    ctxlog::flush();
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == 3);
    CHECK(lines[0]["requestId"] == "r-lost");
    CHECK_FALSE(lines[0].contains("contextLost"));
    CHECK(lines[1]["msg"] == "dropped");
    CHECK(lines[1]["contextLost"] == true);
    CHECK(lines[1]["file"] == "test_context_loss.cpp");
    CHECK(lines[1].contains("line"));
    CHECK_FALSE(lines[2].contains("contextLost"));
  }

  TEST_CASE("with the check off, nothing is flagged") {
    auto sink = ctxlog_test::capture_all();
    ctxlog::thread_pool pool{1};
    ctxlog::run(req("r"), [&] { pool.submit([] { ctxlog::exit([] { LOG_INFO("dropped"); }); }).get(); });
    ctxlog::flush();
    CHECK_FALSE(sink->last().contains("contextLost"));
  }

  TEST_CASE("a bound callback and a coroutine that lose their context are flagged too") {
    auto sink = ctxlog_test::capture_all();
    loss_check on{true};
    auto cb = ctxlog::run(req("r-cb"), [] { return ctxlog::bind([] { ctxlog::exit([] { LOG_INFO("cb lost"); }); }); });
    std::thread(cb).join();
    auto t = ctxlog::run(req("r-co"), [] {
      return []() -> ctxlog::task<> {
        co_await std::suspend_never{};
        ctxlog::exit([] { LOG_INFO("coro lost"); });
      }();
    });
    ctxlog::sync_wait(std::move(t));
    ctxlog::flush();
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0]["contextLost"] == true);
    CHECK(lines[1]["contextLost"] == true);
  }

  TEST_CASE("a task that leaves a different context behind is reported, and the worker is restored anyway") {
    loss_check on{true};
    ctxlog::thread_pool pool{1};
    const std::string report = capture_stderr([&] {
      ctxlog::run(req("r-1"), [&] { pool.submit([] { ctxlog::enter_with(req("stray")); }).get(); });
    });
    CHECK(report.find("context not restored") != std::string::npos);
    CHECK(report.find("test_context_loss.cpp") != std::string::npos);
    CHECK(report.find("requestId=stray") != std::string::npos);
    CHECK(ctxlog::exit([&] { return pool.submit([] { return rid(); }).get(); }) == "");
  }
}

TEST_SUITE("bind and async_resource") {
  TEST_CASE("bind carries the context to another thread and works with move-only callables") {
    auto p = std::make_unique<int>(5);
    auto f = ctxlog::run(req("b-1"), [&] {
      return ctxlog::bind([p = std::move(p)](int x) { return rid() + ":" + std::to_string(*p + x); });
    });
    std::string out;
    std::thread([&, g = std::move(f)]() mutable { out = g(1); }).join();
    CHECK(out == "b-1:6");
    CHECK(ctxlog::current().empty());
  }

  TEST_CASE("a bound callable restores the caller's context after it returns or throws") {
    auto f = ctxlog::run(req("inside"), [] { return ctxlog::bind([] { throw std::runtime_error("x"); }); });
    ctxlog::run(req("caller"), [&] {
      CHECK_THROWS(f());
      CHECK(rid() == "caller");
    });
  }

  TEST_CASE("async_resource runs callbacks in the context captured at construction, from any thread") {
    std::unique_ptr<ctxlog::async_resource> res;
    ctxlog::run(req("lib"), [&] { res = std::make_unique<ctxlog::async_resource>(); });
    std::string seen;
    std::thread([&] {
      ctxlog::scope s{req("library-thread")};
      seen = res->run_in_scope([](int n) { return rid() + std::to_string(n); }, 7);
      CHECK(rid() == "library-thread");
    }).join();
    CHECK(seen == "lib7");
  }
}
