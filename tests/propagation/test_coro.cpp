// ctxlog::task<T>: the context seen after a co_await is the one before it, on whatever
// thread the coroutine resumes, and a suspended coroutine leaves nothing behind.
#include <doctest/doctest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <coroutine>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../support.hpp"
#include "ctxlog/coro.hpp"
#include "ctxlog/ctxlog.hpp"
#include "ctxlog/pool.hpp"

namespace {
// The kernel's id of the calling thread. Not std::this_thread::get_id(): that is
// pthread_self(), which glibc declares __attribute__((const)), and clang 14 at -O2 reuses
// its value across a co_await (the llvm-project#47179 family), reporting the thread a
// coroutine started on instead of the one it resumed on.
long os_thread_id() { return static_cast<long>(::syscall(SYS_gettid)); }
ctxlog::fields req(const std::string& id) { return ctxlog::fields{}.request_id(id); }
std::string rid() { return std::string(ctxlog::current().request_id()); }

// Suspends and hands its handle to the test, which resumes it from wherever it likes.
struct parking {
  std::coroutine_handle<> h;
  auto wait() {
    struct aw {
      parking* p;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) noexcept { p->h = h; }
      void await_resume() const noexcept {}
    };
    return aw{this};
  }
  void resume() { std::exchange(h, {}).resume(); }
};

// A foreign awaiter whose await_suspend does work (logs, reads the context) before
// handing the coroutine to a pool: that work must see the coroutine's context.
struct start_on_pool {
  ctxlog::thread_pool& pool;
  std::string* seen_in_suspend;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    *seen_in_suspend = rid();
    pool.post([h] { h.resume(); });
  }
  void await_resume() const noexcept {}
};

// Resumes the coroutine on the pool without handing it any context.
struct post_without_context {
  ctxlog::thread_pool& pool;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    ctxlog::exit([&] { pool.post([h] { h.resume(); }); });
  }
  void await_resume() const noexcept {}
};

struct throwing_awaiter {
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<>) { throw std::runtime_error("cannot start"); }
  void await_resume() const noexcept {}
};

// Records when it is destroyed, and in which context.
struct witness {
  std::string* out;
  ~witness() { *out = "destroyed in " + rid(); }
};

// A minimal coroutine type that is not ctxlog::task, for with_context().
struct fire {
  struct promise_type {
    fire get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};
}  // namespace

TEST_SUITE("task") {
  TEST_CASE("a task runs in the context current where it was created") {
    auto t = ctxlog::run(req("creator"), [] { return []() -> ctxlog::task<std::string> { co_return rid(); }(); });
    ctxlog::run(req("waiter"), [&] { CHECK(ctxlog::sync_wait(std::move(t)) == "creator"); });
  }

  TEST_CASE("context survives co_await resumed on another thread") {
    ctxlog::thread_pool pool{1};
    auto body = [&]() -> ctxlog::task<std::vector<std::string>> {
      std::vector<std::string> seen{rid()};
      const auto before = os_thread_id();
      for (int i = 0; i < 3; ++i) {
        co_await ctxlog::resume_on(pool);
        seen.push_back(rid());
      }
      REQUIRE(os_thread_id() != before);
      co_return seen;
    };
    // Created in "hop", driven from a thread with no context: only the task can bring it.
    auto t = ctxlog::run(req("hop"), [&] { return body(); });
    auto seen = ctxlog::sync_wait(std::move(t));
    CHECK(seen == std::vector<std::string>(4, "hop"));
    CHECK(ctxlog::current().empty());
    CHECK(pool.submit([] { return ctxlog::current().empty(); }).get());
  }

  TEST_CASE("a read after resuming on another thread reads that thread's slot, not a cached one (llvm 47179)") {
    // If the compiler kept the first thread's TLS address across the suspension, the
    // second read would return the same object, and the coroutine's install on resume
    // would have gone to the first thread's slot (which the checks below would see).
    ctxlog::thread_pool pool{1};
    const ctxlog::context* slot_before = nullptr;
    const ctxlog::context* slot_after = nullptr;
    long t_before = 0, t_after = 0;
    auto body = [&]() -> ctxlog::task<std::string> {
      slot_before = &ctxlog::current();
      t_before = os_thread_id();
      co_await ctxlog::resume_on(pool);
      slot_after = &ctxlog::current();
      t_after = os_thread_id();
      co_return std::string(slot_after->request_id());
    };
    ctxlog::scope mine{req("main-thread")};
    auto t = ctxlog::run(req("coro"), [&] { return body(); });
    CHECK(ctxlog::sync_wait(std::move(t)) == "coro");
    REQUIRE(t_before != t_after);
    CHECK(slot_before != slot_after);
    CHECK(rid() == "main-thread");
    CHECK(ctxlog::exit([&] { return pool.submit([] { return ctxlog::current().empty(); }).get(); }));
  }

  TEST_CASE("inline slot reads in a coroutine body are fresh after a resume on another thread") {
    // With g++ the slot is read inline (no call): bound calls and the task's own
    // save/restore are inlined into the coroutine body. Were the slot's address kept
    // across the co_await, the calls after it would install into the first thread's
    // slot, and the second thread would not see them.
    ctxlog::thread_pool pool{1};
    auto bound = ctxlog::run(req("bound"), [] { return ctxlog::bind([] { return rid() + "@" + std::to_string(os_thread_id()); }); });
    auto body = [&]() -> ctxlog::task<std::vector<std::string>> {
      std::vector<std::string> seen;
      const auto here = std::to_string(os_thread_id());
      seen.push_back(bound());
      seen.push_back(rid() + "@" + here);
      co_await ctxlog::resume_on(pool);
      const auto there = std::to_string(os_thread_id());
      seen.push_back(bound());
      seen.push_back(rid() + "@" + there);
      seen.push_back(here == there ? "same thread" : "other thread");
      co_return seen;
    };
    ctxlog::scope mine{req("main-thread")};
    auto seen = ctxlog::sync_wait(ctxlog::run(req("coro"), [&] { return body(); }));
    REQUIRE(seen.size() == 5);
    CHECK(seen[4] == "other thread");
    const auto at = [](const std::string& s) { return s.substr(s.find('@')); };
    CHECK(seen[0].starts_with("bound@"));
    CHECK(seen[1].starts_with("coro@"));
    CHECK(at(seen[0]) == at(seen[1]));
    CHECK(seen[2].starts_with("bound@"));
    CHECK(seen[3].starts_with("coro@"));
    CHECK(at(seen[2]) == at(seen[3]));
    CHECK(at(seen[2]) != at(seen[0]));
    CHECK(rid() == "main-thread");
  }

  TEST_CASE("a scope opened inside a task survives its co_awaits and ends with its block") {
    ctxlog::thread_pool pool{2};
    auto body = [&]() -> ctxlog::task<std::vector<std::string>> {
      std::vector<std::string> seen;
      {
        ctxlog::scope s{ctxlog::fields{}.span_id("inner")};
        co_await ctxlog::resume_on(pool);
        seen.push_back(rid() + "/" + std::string(ctxlog::current().span_id()));
        co_await ctxlog::resume_on(pool);
        seen.push_back(rid() + "/" + std::string(ctxlog::current().span_id()));
      }
      seen.push_back(rid() + "/" + std::string(ctxlog::current().span_id()));
      co_await ctxlog::resume_on(pool);
      seen.push_back(rid() + "/" + std::string(ctxlog::current().span_id()));
      co_return seen;
    };
    auto seen = ctxlog::run(req("r"), [&] { return ctxlog::sync_wait(body()); });
    CHECK(seen == std::vector<std::string>{"r/inner", "r/inner", "r/", "r/"});
  }

  TEST_CASE("run(fields, coroutine) is als.run(store, async fn): the child has the fields, the parent keeps its own") {
    ctxlog::thread_pool pool{2};
    auto child = [&]() -> ctxlog::task<std::string> {
      co_await ctxlog::resume_on(pool);
      co_return rid() + "/" + std::string(ctxlog::current().tenant_id());
    };
    auto parent = [&]() -> ctxlog::task<std::vector<std::string>> {
      std::vector<std::string> seen;
      seen.push_back(co_await ctxlog::run(ctxlog::fields{}.tenant_id("t-child"), child));
      seen.push_back(rid() + "/" + std::string(ctxlog::current().tenant_id()));
      co_return seen;
    };
    auto seen = ctxlog::run(req("p"), [&] { return ctxlog::sync_wait(parent()); });
    CHECK(seen == std::vector<std::string>{"p/t-child", "p/"});
  }

  TEST_CASE("a suspended coroutine never leaks its context into the thread's next work") {
    parking park;
    std::vector<std::string> seen;
    auto body = [&]() -> ctxlog::task<> {
      seen.push_back(rid());
      co_await park.wait();
      seen.push_back(rid());
      co_await park.wait();
      seen.push_back(rid());
    };
    auto t = ctxlog::run(req("coro"), [&] { return body(); });
    ctxlog::run(req("starter"), [&] {
      t.handle().resume();  // runs to the first co_await
      CHECK(rid() == "starter");
    });
    CHECK(ctxlog::current().empty());
    std::thread([&] {
      ctxlog::scope s{req("other-thread")};
      park.resume();
      CHECK(rid() == "other-thread");
      park.resume();  // runs to completion
      CHECK(rid() == "other-thread");
    }).join();
    CHECK(t.done());
    CHECK(seen == std::vector<std::string>(3, "coro"));
  }

  TEST_CASE("two coroutines interleaved on one thread never see each other's context") {
    parking pa, pb;
    std::vector<std::string> seen;
    auto body = [&](parking& p) -> ctxlog::task<> {
      for (int i = 0; i < 3; ++i) {
        seen.push_back(rid());
        co_await p.wait();
      }
    };
    auto a = ctxlog::run(req("a"), [&] { return body(pa); });
    auto b = ctxlog::run(req("b"), [&] { return body(pb); });
    a.handle().resume();
    b.handle().resume();
    for (int i = 0; i < 2; ++i) {
      pa.resume();
      pb.resume();
    }
    CHECK(seen == std::vector<std::string>{"a", "b", "a", "b", "a", "b"});
    CHECK(ctxlog::current().empty());
  }

  TEST_CASE("nested tasks: the child inherits, the parent keeps its context after the child ends elsewhere") {
    ctxlog::thread_pool pool{2};
    auto child = [&]() -> ctxlog::task<std::string> {
      ctxlog::scope s{ctxlog::fields{}.span_id("child-span")};
      co_await ctxlog::resume_on(pool);
      co_return rid() + "/" + std::string(ctxlog::current().span_id());
    };
    auto parent = [&]() -> ctxlog::task<std::string> {
      ctxlog::scope s{ctxlog::fields{}.span_id("parent-span")};
      std::string c = co_await child();
      co_return c + "|" + rid() + "/" + std::string(ctxlog::current().span_id());
    };
    auto r = ctxlog::run(req("n"), [&] { return ctxlog::sync_wait(parent()); });
    CHECK(r == "n/child-span|n/parent-span");
  }

  TEST_CASE("work done inside a foreign awaiter's await_suspend sees the coroutine's context") {
    ctxlog::thread_pool pool{1};
    std::string in_suspend;
    auto body = [&]() -> ctxlog::task<std::string> {
      co_await start_on_pool{pool, &in_suspend};
      co_return rid();
    };
    auto r = ctxlog::run(req("fs"), [&] { return ctxlog::sync_wait(body()); });
    CHECK(r == "fs");
    CHECK(in_suspend == "fs");
  }

  TEST_CASE("an await_suspend that throws leaves the coroutine running in its context") {
    auto body = []() -> ctxlog::task<std::string> {
      try {
        co_await throwing_awaiter{};
      } catch (const std::runtime_error&) {
      }
      co_return rid();
    };
    auto r = ctxlog::run(req("thrown"), [&] { return ctxlog::sync_wait(body()); });
    CHECK(r == "thrown");
    CHECK(ctxlog::current().empty());
  }

  TEST_CASE("an exception escaping a task is rethrown by co_await and sync_wait, with contexts restored") {
    ctxlog::thread_pool pool{1};
    auto failing = [&]() -> ctxlog::task<int> {
      ctxlog::scope s{ctxlog::fields{}.span_id("doomed")};
      co_await ctxlog::resume_on(pool);
      throw std::runtime_error("failed in " + rid());
    };
    auto parent = [&]() -> ctxlog::task<std::string> {
      try {
        co_await failing();
      } catch (const std::runtime_error& e) {
        co_return std::string(e.what()) + "|" + rid() + "/" + std::string(ctxlog::current().span_id());
      }
      co_return "no exception";
    };
    auto r = ctxlog::run(req("ex"), [&] { return ctxlog::sync_wait(parent()); });
    CHECK(r == "failed in ex|ex/");
    CHECK_THROWS_WITH(ctxlog::run(req("ex2"), [&] { return ctxlog::sync_wait(failing()); }), "failed in ex2");
    CHECK(pool.submit([] { return ctxlog::current().empty(); }).get());
  }

  TEST_CASE("a task destroyed while suspended destroys its locals in its context and leaves the thread's alone") {
    auto sink = ctxlog_test::capture_all();
    parking park;
    std::string destroyed;
    auto body = [&]() -> ctxlog::task<> {
      witness w{&destroyed};
      ctxlog::scope s{ctxlog::fields{}.span_id("inside")};
      LOG_INFO("before suspend");
      co_await park.wait();
      LOG_INFO("never reached");
    };
    {
      auto t = ctxlog::run(req("abandoned"), [&] { return body(); });
      t.handle().resume();
      ctxlog::scope mine{req("destroyer")};
      // t is destroyed here, before `mine` ends
      t = ctxlog::task<>();
      CHECK(rid() == "destroyer");
      CHECK(ctxlog::current().span_id().empty());
    }
    CHECK(destroyed == "destroyed in abandoned");
    CHECK(ctxlog::current().empty());
    ctxlog::flush();
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0]["requestId"] == "abandoned");
    CHECK(lines[0]["spanId"] == "inside");
  }

  TEST_CASE("a task that is never started is destroyed without running or leaking") {
    bool ran = false;
    {
      auto t = ctxlog::run(req("never"), [&] { return [&]() -> ctxlog::task<> { ran = true; co_return; }(); });
    }
    CHECK_FALSE(ran);
    CHECK(ctxlog::current().empty());
  }

  TEST_CASE("a storage<T> value survives co_await on another thread") {
    static ctxlog::storage<int> tx{{.name = "tx"}};
    ctxlog::thread_pool pool{1};
    auto body = [&]() -> ctxlog::task<int> {
      co_await ctxlog::resume_on(pool);
      co_return tx.require();
    };
    auto t = tx.run(41, [&] { return body(); });
    CHECK(ctxlog::sync_wait(std::move(t)) == 41);
    CHECK(tx.get() == nullptr);
  }
}

TEST_SUITE("with_context") {
  TEST_CASE("with_context restores the context after a foreign coroutine resumes on a pool thread") {
    ctxlog::thread_pool pool{1};
    std::promise<std::string> out;
    auto foreign = [&]() -> fire {
      co_await ctxlog::with_context(post_without_context{pool});
      out.set_value(rid());
    };
    ctxlog::run(req("foreign"), [&] { foreign(); });
    CHECK(out.get_future().get() == "foreign");
    CHECK(pool.submit([] { return ctxlog::current().empty(); }).get());
  }
}
