// ctxlog::thread_pool, carry() for foreign pools, and the std::async / std::thread /
// std::jthread helpers: the submitter's context reaches the task, and nothing of it stays
// on the worker afterwards.
#include <doctest/doctest.h>

#include <atomic>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/pool.hpp"
#include "../support.hpp"

namespace {
ctxlog::fields req(const std::string& id) { return ctxlog::fields{}.request_id(id); }
std::string rid() { return std::string(ctxlog::current().request_id()); }

// Foreign executors with the four member names carry() knows.
struct inline_submit_pool {
  template <class F>
  auto submit(F&& f) {
    std::packaged_task<std::invoke_result_t<F>()> t(std::forward<F>(f));
    auto fut = t.get_future();
    std::thread(std::move(t)).join();
    return fut;
  }
};
struct function_queue {  // only takes copyable std::function, like many hand-written pools
  std::vector<std::function<void()>> q;
  void post(std::function<void()> f) { q.push_back(std::move(f)); }
  bool enqueue(std::function<void()> f, int priority) {
    q.push_back(std::move(f));
    return priority > 0;
  }
  void run_all() {
    std::thread([&] {
      for (auto& f : q) f();
    }).join();
    q.clear();
  }
};
struct execute_only {
  std::vector<std::thread> ts;
  execute_only() = default;
  execute_only(execute_only&&) = default;
  template <class F>
  void execute(F f) {
    ts.emplace_back(std::move(f));
  }
  ~execute_only() {
    for (auto& t : ts) t.join();
  }
};
}  // namespace

TEST_SUITE("thread_pool") {
  TEST_CASE("a submitted task runs in the submitter's context") {
    ctxlog::thread_pool pool{2};
    auto fut = ctxlog::run(req("r-1").tenant_id("acme"), [&] {
      return pool.submit([] { return rid() + "/" + std::string(ctxlog::current().tenant_id()); });
    });
    CHECK(fut.get() == "r-1/acme");
  }

  TEST_CASE("the worker is back to an empty context after each task") {
    ctxlog::thread_pool pool{1};  // one worker: every task runs on the same thread
    ctxlog::run(req("r-1"), [&] { pool.submit([] {}).get(); });
    CHECK(pool.submit([] { return ctxlog::current().empty(); }).get());
  }

  TEST_CASE("a task that throws delivers its exception and leaves the worker empty") {
    ctxlog::thread_pool pool{1};
    auto fut = ctxlog::run(req("r-throw"), [&] {
      return pool.submit([]() -> int { throw std::runtime_error("boom " + rid()); });
    });
    // Idle first, so the worker has dropped its promise before the exception is read
    // here. Otherwise whichever thread drops the exception last destroys it, and when that
    // is the worker, TSan reports a race with the read below: the exception's reference
    // count lives in libstdc++, which is not built with TSan, so TSan cannot see it order
    // the two. (Real code has no race: the reader holds a reference while it reads.)
    pool.wait_idle();
    CHECK_THROWS_WITH_AS(fut.get(), "boom r-throw", std::runtime_error);
    CHECK(pool.submit([] { return ctxlog::current().empty(); }).get());
  }

  TEST_CASE("a posted task that throws is logged once, in the task's context") {
    auto sink = ctxlog_test::capture_all();
    ctxlog::thread_pool pool{1};
    ctxlog::run(req("r-post"), [&] { pool.post([] { throw std::runtime_error("posted boom"); }); });
    pool.wait_idle();
    CHECK(pool.submit([] { return ctxlog::current().empty(); }).get());
    ctxlog::flush();
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0]["level"] == "error");
    CHECK(lines[0]["requestId"] == "r-post");
    CHECK(lines[0]["msg"].get<std::string>().find("posted boom") != std::string::npos);
  }

  TEST_CASE("a task whose future is never waited runs once and logs once") {
    auto sink = ctxlog_test::capture_all();
    {
      ctxlog::thread_pool pool{2};
      for (int i = 0; i < 50; ++i)
        ctxlog::run(req("r-" + std::to_string(i)), [&] { (void)pool.submit([] { LOG_INFO("ran"); }); });
      pool.wait_idle();
    }
    ctxlog::flush();
    std::map<std::string, int> n;
    for (const auto& j : sink->parsed()) ++n[j.at("requestId").get<std::string>()];
    CHECK(n.size() == 50);
    for (const auto& kv : n) CHECK_MESSAGE(kv.second == 1, kv.first);
  }

  TEST_CASE("move-only callables and results pass through submit and post") {
    ctxlog::thread_pool pool{2};
    auto p = std::make_unique<int>(7);
    auto fut = pool.submit([p = std::move(p)]() mutable { return std::move(p); });
    CHECK(*fut.get() == 7);
    std::promise<int> done;
    auto got = done.get_future();
    pool.post([d = std::move(done)]() mutable { d.set_value(3); });
    CHECK(got.get() == 3);
  }

  TEST_CASE("the destructor drains queued tasks, each once and in its own context") {
    auto sink = ctxlog_test::capture_all();
    std::promise<void> gate;
    {
      ctxlog::thread_pool pool{1};
      pool.post([g = gate.get_future().share()] { g.wait(); });
      for (int i = 0; i < 20; ++i)
        ctxlog::run(req("d-" + std::to_string(i)), [&] { pool.post([i] { LOG_INFO("drained", ctxlog::kv("i", i)); }); });
      gate.set_value();
    }
    ctxlog::flush();
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == 20);
    for (const auto& j : lines) CHECK(j["requestId"] == "d-" + std::to_string(j["i"].get<int>()));
  }

  TEST_CASE("shutdown(discard) drops queued tasks unrun: broken futures, no lines, no leaked context") {
    auto sink = ctxlog_test::capture_all();
    ctxlog::thread_pool pool{1};
    std::promise<void> gate, started;
    auto blocker = pool.submit([g = gate.get_future(), &started] {
      started.set_value();
      g.wait();
    });
    started.get_future().wait();  // the blocker is running, not queued
    std::vector<std::future<void>> queued;
    for (int i = 0; i < 5; ++i)
      ctxlog::run(req("q-" + std::to_string(i)), [&] { queued.push_back(pool.submit([] { LOG_INFO("must not run"); })); });
    std::thread stopper([&] { pool.shutdown(ctxlog::shutdown_policy::discard); });
    for (auto& f : queued) f.wait();  // ready once the stopper has discarded them
    gate.set_value();
    stopper.join();
    blocker.get();
    for (auto& f : queued) {
      try {
        f.get();
        FAIL("a discarded task ran");
      } catch (const std::future_error& e) {
        CHECK(e.code() == std::future_errc::broken_promise);
      }
    }
    CHECK(ctxlog::current().empty());
    ctxlog::flush();
    CHECK(sink->size() == 0);
    CHECK_THROWS_AS(pool.submit([] {}), ctxlog::pool_stopped);
  }

  TEST_CASE("an idle pool holds no reference to the contexts of the tasks it ran") {
    // Workers release the references of consecutive jobs of one request in one step; they
    // must have done so by the time the pool is idle. A stored value counts the frame.
    static std::atomic<int> alive{0};
    struct counted {
      counted() { ++alive; }
      counted(const counted&) { ++alive; }
      counted(counted&&) noexcept { ++alive; }
      ~counted() { --alive; }
    };
    ctxlog::storage<counted> store;
    ctxlog::thread_pool pool{2};
    std::vector<std::future<void>> fs;
    store.run(counted{}, [&] {
      ctxlog::run(req("batch"), [&] {
        for (int i = 0; i < 500; ++i) {
          pool.post([] {});
          fs.push_back(pool.submit([] { CHECK(rid() == "batch"); }));
        }
      });
    });
    for (auto& f : fs) f.get();
    pool.wait_idle();
    CHECK(alive == 0);
    // And again with two requests interleaved, so that batches are cut by frame changes.
    store.run(counted{}, [&] {
      const auto a = ctxlog::current().with(req("a")), b = ctxlog::current().with(req("b"));
      for (int i = 0; i < 300; ++i) ctxlog::run(i % 3 ? a : b, [&] { pool.post([] {}); });
    });
    pool.wait_idle();
    CHECK(alive == 0);
  }

  TEST_CASE("context_policy::none runs tasks without the submitter's context") {
    ctxlog::thread_pool pool{1, ctxlog::context_policy::none};
    auto fut = ctxlog::run(req("r-none"), [&] { return pool.submit([] { return ctxlog::current().empty(); }); });
    CHECK(fut.get());
  }

  TEST_CASE("a task that calls enter_with does not leak it into the next task") {
    ctxlog::thread_pool pool{1};
    ctxlog::run(req("r-1"), [&] { pool.submit([] { ctxlog::enter_with(req("leaked")); }).get(); });
    CHECK(pool.submit([] { return ctxlog::current().empty(); }).get());
  }
}

TEST_SUITE("carry") {
  TEST_CASE("carry().submit runs the task in the caller's context and returns the pool's future") {
    inline_submit_pool raw;
    auto pool = ctxlog::carry(raw);
    auto fut = ctxlog::run(req("c-1"), [&] { return pool.submit([] { return rid(); }); });
    CHECK(fut.get() == "c-1");
  }

  TEST_CASE("carry() works with pools that only accept copyable std::function, and extra arguments") {
    function_queue raw;
    auto q = ctxlog::carry(raw);
    std::vector<std::string> seen;
    std::mutex mu;
    auto record = [&] {
      std::lock_guard lk(mu);
      seen.push_back(rid());
    };
    ctxlog::run(req("a"), [&] { q.post(record); });
    ctxlog::run(req("b"), [&] { CHECK(q.enqueue(record, 1)); });
    q.post(record);  // no context: must stay empty, not inherit "b"
    raw.run_all();
    CHECK(seen == std::vector<std::string>{"a", "b", ""});
  }

  TEST_CASE("carry() of an rvalue executor holds it by value") {
    std::atomic<int> ok{0};
    {
      auto ex = ctxlog::carry(execute_only{});
      ctxlog::run(req("e-1"), [&] { ex.execute([&] { ok += rid() == "e-1"; }); });
      ex.execute([&] { ok += ctxlog::current().empty(); });
    }
    CHECK(ok == 2);
  }
}

TEST_SUITE("std helpers") {
  TEST_CASE("ctxlog::async carries the context with launch::async") {
    auto fut = ctxlog::run(req("as-1"), [] { return ctxlog::async(std::launch::async, [](int x) { return rid() + std::to_string(x); }, 5); });
    CHECK(fut.get() == "as-15");
  }

  TEST_CASE("ctxlog::async with launch::deferred uses the context of the async() call, not of get()") {
    auto fut = ctxlog::run(req("deferred"), [] { return ctxlog::async(std::launch::deferred, [] { return rid(); }); });
    ctxlog::run(req("getter"), [&] {
      CHECK(fut.get() == "deferred");
      CHECK(rid() == "getter");
    });
  }

  TEST_CASE("make_thread runs the function in the creator's context") {
    std::string seen;
    std::thread t = ctxlog::run(req("th-1"), [&] { return ctxlog::make_thread([&](int n) { seen = rid() + "#" + std::to_string(n); }, 2); });
    t.join();
    CHECK(seen == "th-1#2");
  }

  TEST_CASE("make_jthread passes the stop_token and carries the context") {
    std::string seen;
    {
      std::promise<void> started;
      auto st = started.get_future();
      std::jthread t = ctxlog::run(req("jt-1"), [&] {
        return ctxlog::make_jthread([&, s = std::move(started)](std::stop_token tok) mutable {
          s.set_value();
          while (!tok.stop_requested()) std::this_thread::yield();
          seen = rid();
        });
      });
      st.wait();
    }  // ~jthread requests stop and joins
    CHECK(seen == "jt-1");
  }
}
