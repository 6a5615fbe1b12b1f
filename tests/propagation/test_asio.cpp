// ctxlog::asio::context_executor with standalone asio (default) or Boost.Asio
// (CTXLOG_TEST_BOOST_ASIO): handlers, timer completions and co_spawn'ed awaitables run
// in the context of the code that started them, on io_contexts run by several threads.
#ifdef CTXLOG_TEST_BOOST_ASIO
#include <utility>  // Boost 1.74's awaitable.hpp needs std::exchange declared first
#include <boost/asio.hpp>
namespace net = boost::asio;
using error_code = boost::system::error_code;
#else
#include <asio.hpp>
namespace net = ::asio;
using error_code = std::error_code;
#endif

#include <doctest/doctest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../support.hpp"
#include "ctxlog/asio.hpp"
#include "ctxlog/ctxlog.hpp"

namespace {
// The kernel's id of the calling thread. Not std::this_thread::get_id(): that is
// pthread_self(), which glibc declares __attribute__((const)), and clang 14 at -O2 reuses
// its value across a co_await (the llvm-project#47179 family), reporting the thread a
// coroutine started on instead of the one it resumed on.
long os_thread_id() { return static_cast<long>(::syscall(SYS_gettid)); }
ctxlog::fields req(const std::string& id) { return ctxlog::fields{}.request_id(id); }
std::string rid() { return std::string(ctxlog::current().request_id()); }

// An io_context run by n threads until stop().
class io_threads {
 public:
  explicit io_threads(int n) : guard_(net::make_work_guard(io)) {
    for (int i = 0; i < n; ++i) ts_.emplace_back([this] { io.run(); });
  }
  ~io_threads() { stop(); }
  void stop() {
    guard_.reset();
    for (auto& t : ts_)
      if (t.joinable()) t.join();
  }
  net::io_context io;

 private:
  net::executor_work_guard<net::io_context::executor_type> guard_;
  std::vector<std::thread> ts_;
};

// Records (expected, seen) pairs from any thread.
struct ledger {
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> rows;
  void add(std::string expected, std::string seen) {
    std::lock_guard lk(mu);
    rows.emplace_back(std::move(expected), std::move(seen));
  }
  int mismatches() {
    std::lock_guard lk(mu);
    int n = 0;
    for (const auto& [e, s] : rows) n += e != s;
    return n;
  }
};
}  // namespace

TEST_SUITE("asio handlers") {
  TEST_CASE("post, dispatch and defer handlers run in the context of the code that started them") {
    io_threads io{2};
    std::promise<std::string> a, b, c;
    ctxlog::run(req("h-1"), [&] {
      auto ex = ctxlog::asio::wrap(io.io.get_executor());
      net::post(ex, [&] { a.set_value(rid()); });
      net::dispatch(ex, [&] { b.set_value(rid()); });
      net::defer(ex, [&] { c.set_value(rid()); });
    });
    CHECK(a.get_future().get() == "h-1");
    CHECK(b.get_future().get() == "h-1");
    CHECK(c.get_future().get() == "h-1");
  }

  TEST_CASE("handlers of many requests on a multi-threaded io_context never mix") {
    ledger l;
    {
      io_threads io{3};
      for (int i = 0; i < 300; ++i) {
        const std::string id = "m-" + std::to_string(i);
        ctxlog::run(req(id), [&] {
          auto ex = ctxlog::asio::wrap(io.io.get_executor());
          net::post(ex, [&l, id, ex] {
            l.add(id, rid());
            net::post(ex, [&l, id] { l.add(id, rid()); });  // a second hop from inside
          });
        });
      }
    }
    CHECK(l.rows.size() == 600);
    CHECK(l.mismatches() == 0);
  }

  TEST_CASE("the io thread is back to an empty context after each handler, also when it throws") {
    net::io_context io;
    ctxlog::run(req("t-1"), [&] {
      net::post(ctxlog::asio::wrap(io.get_executor()), [] { throw std::runtime_error("handler failed"); });
    });
    bool empty_after = false;
    net::post(io, [&] { empty_after = ctxlog::current().empty(); });
    CHECK_THROWS_AS(io.run(), std::runtime_error);
    CHECK(ctxlog::current().empty());
    io.restart();
    io.run();
    CHECK(empty_after);
  }

  TEST_CASE("a timer completion runs in the context of the code that started the wait") {
    io_threads io{2};
    std::promise<std::string> via_executor, via_bind;
    net::steady_timer plain(io.io);
    std::unique_ptr<net::steady_timer> wrapped;
    ctxlog::run(req("timer-ex"), [&] {
      wrapped = std::make_unique<net::steady_timer>(ctxlog::asio::wrap(io.io.get_executor()));
      wrapped->expires_after(std::chrono::milliseconds(1));
      wrapped->async_wait([&](error_code) { via_executor.set_value(rid()); });
    });
    ctxlog::run(req("timer-bind"), [&] {
      plain.expires_after(std::chrono::milliseconds(1));
      plain.async_wait(ctxlog::bind([&](error_code) { via_bind.set_value(rid()); }));
    });
    CHECK(via_executor.get_future().get() == "timer-ex");
    CHECK(via_bind.get_future().get() == "timer-bind");
  }
}

TEST_SUITE("asio awaitables") {
  TEST_CASE("concurrent co_spawned coroutines keep their own context across every co_await") {
    ledger l;
    {
      io_threads io{4};
      for (int i = 0; i < 40; ++i) {
        const std::string id = "co-" + std::to_string(i);
        ctxlog::run(req(id), [&] {
          auto ex = ctxlog::asio::wrap(io.io.get_executor());
          net::co_spawn(ex, [&l, id]() -> net::awaitable<void> {
            net::steady_timer t(co_await net::this_coro::executor);
            for (int k = 0; k < 5; ++k) {
              t.expires_after(std::chrono::microseconds(50 * (k % 2)));
              co_await t.async_wait(net::use_awaitable);
              l.add(id, rid());
              co_await net::post(co_await net::this_coro::executor, net::use_awaitable);
              l.add(id, rid());
            }
          }, net::detached);
        });
      }
    }
    CHECK(l.rows.size() == 400);
    CHECK(l.mismatches() == 0);
  }

  TEST_CASE("an awaitable keeps its context when it resumes on another io_context's thread") {
    io_threads home{1}, away{1};
    std::promise<std::vector<std::string>> out;
    ctxlog::run(req("hop"), [&] {
      net::co_spawn(ctxlog::asio::wrap(home.io.get_executor()), [&]() -> net::awaitable<void> {
        std::vector<std::string> seen{rid()};
        const auto t0 = os_thread_id();
#ifndef CTXLOG_TEST_BOOST_ASIO
        // Resume on `away`'s thread, through an executor carrying this coroutine's context.
        co_await net::post(net::bind_executor(ctxlog::asio::wrap(away.io.get_executor()), net::use_awaitable));
        seen.push_back(os_thread_id() != t0 ? "moved" : "same thread");
        seen.push_back(rid());
#else
        // Boost 1.74 cannot bind_executor a use_awaitable token: run a child there instead.
        auto [moved, child_rid] = co_await net::co_spawn(ctxlog::asio::wrap(away.io.get_executor()),
            [t0]() -> net::awaitable<std::pair<std::string, std::string>> {
              co_return std::pair{std::string(os_thread_id() != t0 ? "moved" : "same thread"), rid()};
            }, net::use_awaitable);
        seen.push_back(moved);
        seen.push_back(child_rid);
#endif
        co_await net::post(co_await net::this_coro::executor, net::use_awaitable);  // back home
        seen.push_back(rid());
        out.set_value(seen);
      }, net::detached);
    });
    CHECK(out.get_future().get() == std::vector<std::string>{"hop", "moved", "hop", "hop"});
  }

  TEST_CASE("a co_spawned coroutine that throws reports the exception and leaves the io thread empty") {
    net::io_context io;
    std::string caught;
    ctxlog::run(req("boom"), [&] {
      net::co_spawn(ctxlog::asio::wrap(io.get_executor()), []() -> net::awaitable<void> {
        co_await net::post(co_await net::this_coro::executor, net::use_awaitable);
        throw std::runtime_error("failed in " + rid());
      }, [&](std::exception_ptr e) {
        try {
          if (e) std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          caught = std::string(ex.what()) + " / handler in " + rid();
        }
      });
    });
    bool empty_after = false;
    io.run();
    net::post(io, [&] { empty_after = ctxlog::current().empty(); });
    io.restart();
    io.run();
    CHECK(caught == "failed in boom / handler in boom");
    CHECK(empty_after);
    CHECK(ctxlog::current().empty());
  }

  TEST_CASE("an io_context destroyed with a coroutine suspended frees it without leaking its context") {
    auto sink = ctxlog_test::capture_all();
    {
      net::io_context io;
      ctxlog::run(req("suspended"), [&] {
        net::co_spawn(ctxlog::asio::wrap(io.get_executor()), []() -> net::awaitable<void> {
          net::steady_timer t(co_await net::this_coro::executor, std::chrono::hours(1));
          LOG_INFO("waiting");
          co_await t.async_wait(net::use_awaitable);
          LOG_INFO("never");
        }, net::detached);
      });
      io.run_for(std::chrono::milliseconds(20));
    }
    CHECK(ctxlog::current().empty());
    ctxlog::flush();
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0]["requestId"] == "suspended");
  }
}
