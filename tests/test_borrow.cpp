// Bound calls borrow their context: bind(), async_resource and the adapters install the
// captured frame without a reference count increment. These cases check that whatever
// the called code does (destroy or move the callable, enter_with, disable, open scopes,
// recurse, resume coroutines) every frame is still freed exactly once: a frame carries a
// storage<tracked> value whose copies are counted, so a leak or an early free shows.
// (ASan and TSan runs of this suite check the "never a use after free" half.)
#include <doctest/doctest.h>

#include <atomic>
#include <coroutine>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ctxlog/coro.hpp"
#include "ctxlog/context.hpp"

using ctxlog::fields;

namespace {

struct tracked {
  static inline std::atomic<int> alive{0};
  int tag = 0;
  explicit tracked(int t) : tag(t) { ++alive; }
  tracked(const tracked& o) : tag(o.tag) { ++alive; }
  tracked(tracked&& o) noexcept : tag(o.tag) { ++alive; }
  tracked& operator=(const tracked&) = default;
  ~tracked() { --alive; }
};

ctxlog::storage<tracked> g_store{{.name = "tracked"}};

std::string rid() { return std::string(ctxlog::current().request_id()); }
// Built with append, not "literal" + std::string: g++ 12 gives a false -Wrestrict on that.
std::string cat(std::string a, const std::string& b) { return a.append(b); }
int tag() {
  const tracked* t = g_store.get();
  return t ? t->tag : 0;
}

// A context holding a tracked value: its frame is freed exactly when alive drops.
ctxlog::context make_context(const char* request, int t) {
  return ctxlog::run(fields{}.request_id(request), [&] { return g_store.run(tracked{t}, [] { return ctxlog::snapshot(); }); });
}

// What the callables below see, recorded through globals: a callable destroyed during its
// own call must not touch its captures afterwards.
std::string g_seen_rid;
int g_seen_tag = 0;
int g_alive_inside = 0;
std::function<void()> g_self;
std::vector<std::optional<ctxlog::bound_fn<std::function<void(int)>>>>* g_chain = nullptr;
std::vector<std::string>* g_chain_seen = nullptr;

}  // namespace

TEST_SUITE("borrow") {
  TEST_CASE("a bound call lends its context and gives the caller's back, counts unchanged") {
    {
      auto bound = make_context("A", 1).run([] { return ctxlog::bind([] { return rid() + "/" + std::to_string(tag()); }); });
      CHECK(tracked::alive == 1);
      ctxlog::run(fields{}.request_id("caller"), [&] {
        CHECK(bound() == "A/1");
        CHECK(std::as_const(bound)() == "A/1");
        CHECK(rid() == "caller");
      });
      CHECK(std::move(bound)() == "A/1");
      CHECK(ctxlog::current().empty());
      CHECK(tracked::alive == 1);
    }
    CHECK(tracked::alive == 0);
  }

  TEST_CASE("a callable destroyed during its own call keeps its context until the call returns") {
    g_self = make_context("self", 2).run([] {
      return std::function<void()>(ctxlog::bind([] {
        g_self = nullptr;  // destroys this very callable (and its captured context)
        g_seen_rid = rid();
        g_seen_tag = tag();
        g_alive_inside = tracked::alive;
      }));
    });
    ctxlog::run(fields{}.request_id("caller"), [] {
      g_self();
      CHECK(rid() == "caller");
    });
    CHECK(g_seen_rid == "self");
    CHECK(g_seen_tag == 2);
    CHECK(g_alive_inside == 1);  // the frame lived on until the call returned...
    CHECK(tracked::alive == 0);  // ...and was freed then
    CHECK(ctxlog::current().empty());
  }

  TEST_CASE("callables bound and destroyed inside a long borrowing call do not pile up references") {
    // A thread whose whole body is one borrowing call (make_thread, a pool worker's job)
    // binds and drops callables to its own context all the time: at most one reference
    // may be parked with the borrowing call, whatever their number.
    {
      auto outer = make_context("long", 12).run([] {
        return ctxlog::bind([] {
          const auto* f = ctxlog::current().frame_ptr();
          const auto refs_before = f->refs.load();
          for (int i = 0; i < 10000; ++i) {
            auto b = ctxlog::bind([] { return rid(); });
            CHECK(b() == "long");
          }
          g_alive_inside = static_cast<int>(f->refs.load() - refs_before);
        });
      });
      outer();
      CHECK(g_alive_inside <= 1);
      CHECK(tracked::alive == 1);
    }
    CHECK(tracked::alive == 0);
  }

  TEST_CASE("chains of borrowing calls deeper than the recorded depth stay exact") {
    // 40 nested bound calls, each in its own context; the innermost destroys the holders
    // of call 5 (recorded depth) and call 30 (beyond it) while both are running.
    constexpr int n = 40;
    using fn = std::function<void(int)>;
    std::vector<std::optional<ctxlog::bound_fn<fn>>> chain(n);
    std::vector<std::string> seen(n);
    g_chain = &chain;
    g_chain_seen = &seen;
    for (int i = 0; i < n; ++i) {
      const std::string name = cat("L", std::to_string(i));
      chain[static_cast<std::size_t>(i)].emplace(make_context(name.c_str(), 100 + i), fn([](int k) {
        auto& c = *g_chain;
        if (k + 1 < n) {
          (*c[static_cast<std::size_t>(k) + 1])(k + 1);
        } else {
          c[5].reset();
          c[30].reset();
          g_alive_inside = tracked::alive;
        }
        // The holder of this very call may be gone: only globals from here on.
        (*g_chain_seen)[static_cast<std::size_t>(k)] = rid() + "/" + std::to_string(tag());
      }));
    }
    CHECK(tracked::alive == n);
    ctxlog::run(fields{}.request_id("caller"), [&] {
      (*chain[0])(0);
      CHECK(rid() == "caller");
    });
    CHECK(g_alive_inside == n);
    for (int i = 0; i < n; ++i)
      CHECK(seen[static_cast<std::size_t>(i)] == cat("L", std::to_string(i)) + "/" + std::to_string(100 + i));
    CHECK(tracked::alive == n - 2);
    chain.clear();
    CHECK(tracked::alive == 0);
  }

  TEST_CASE("a callable that moves itself to another thread during its call stays safe") {
    using fn = std::function<void()>;
    auto holder = std::make_unique<std::optional<ctxlog::bound_fn<fn>>>();
    auto* h = holder.get();
    holder->emplace(make_context("mover", 3), fn([h] {
                      // Move the running callable out and destroy the moved-to copy on another
                      // thread while this call goes on.
                      auto moved = std::move(**h);
                      std::thread([m = std::move(moved)]() mutable { auto gone = std::move(m); }).join();
                      g_seen_rid = rid();
                      g_seen_tag = tag();
                    }));
    (**holder)();
    CHECK(g_seen_rid == "mover");
    CHECK(g_seen_tag == 3);
    CHECK(tracked::alive == 1);  // the moved-from callable still holds its reference
    holder.reset();
    CHECK(tracked::alive == 0);
  }

  TEST_CASE("enter_with and storage::enter_with inside a bound call end with the call, counts exact") {
    {
      auto bound = make_context("A", 4).run([] {
        return ctxlog::bind([] {
          ctxlog::enter_with(fields{}.user_id("u-1"));
          CHECK(rid() == "A");
          CHECK(ctxlog::current().user_id() == "u-1");
          g_store.enter_with(tracked{5});
          CHECK(tag() == 5);
          CHECK(tracked::alive == 2);
        });
      });
      ctxlog::run(fields{}.request_id("caller"), [&] {
        bound();
        CHECK(rid() == "caller");
        CHECK(ctxlog::current().user_id().empty());
        CHECK(tag() == 0);
      });
      CHECK(tracked::alive == 1);  // the enter_with frame is gone, the bound one is not
    }
    CHECK(tracked::alive == 0);
  }

  TEST_CASE("disable() inside a bound call drops nothing twice") {
    {
      auto probe = make_context("probe", 13).run([] { return ctxlog::bind([] { return ctxlog::current().empty(); }); });
      auto bound = make_context("A", 6).run([] {
        return ctxlog::bind([] {
          ctxlog::disable();
          CHECK(ctxlog::current().empty());
        });
      });
      ctxlog::run(fields{}.request_id("caller"), [&] {
        bound();
        CHECK(ctxlog::current().empty());  // disabled until the next run
      });
      // A bound call is not a run: it does not enable the context again (as in Node).
      CHECK(probe());
      CHECK(ctxlog::current().empty());
      ctxlog::run(fields{}.request_id("again"), [] { CHECK(rid() == "again"); });
      CHECK(tracked::alive == 2);
    }
    CHECK(tracked::alive == 0);
  }

  TEST_CASE("scopes, nested bound calls and recursion of one bound callable") {
    {
      std::function<int(int)> self;
      self = make_context("R", 7).run([&] {
        return std::function<int(int)>(ctxlog::bind([&](int depth) -> int {
          CHECK(rid() == "R");
          if (depth == 0) return 0;
          const std::string span = cat("s", std::to_string(depth));
          ctxlog::scope s{fields{}.span_id(span)};
          const int below = self(depth - 1);  // the same callable, called again from inside
          CHECK(ctxlog::current().span_id() == span);
          auto inner = make_context("inner", 8).run([] { return ctxlog::bind([] { return rid(); }); });
          CHECK(inner() == "inner");
          CHECK(rid() == "R");
          return below + 1;
        }));
      });
      ctxlog::run(fields{}.request_id("caller"), [&] {
        CHECK(self(4) == 4);
        CHECK(rid() == "caller");
      });
      CHECK(tracked::alive == 1);
    }
    CHECK(tracked::alive == 0);
  }

  TEST_CASE("a task resumed from inside a bound call gives the bound context back when it suspends") {
    std::coroutine_handle<> waiting;
    struct park {
      std::coroutine_handle<>* out;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) const noexcept { *out = h; }
      void await_resume() const noexcept {}
    };
    std::vector<std::string> seen;
    auto body = [&]() -> ctxlog::task<> {
      seen.push_back(rid());
      co_await park{&waiting};
      seen.push_back(rid());
      co_await park{&waiting};
      seen.push_back(rid());
    };
    {
      auto t = ctxlog::run(fields{}.request_id("coro"), [&] { return body(); });
      auto resumer = make_context("binder", 9).run([&] {
        return ctxlog::bind([&] {
          waiting.resume();
          seen.push_back(cat("after:", rid()));
        });
      });
      ctxlog::run(fields{}.request_id("caller"), [&] {
        t.handle().resume();  // runs to the first park
        resumer();            // resumes it inside the bound call, up to the second park
        CHECK(rid() == "caller");
      });
      CHECK(seen == std::vector<std::string>{"coro", "coro", "after:binder"});
      CHECK(tracked::alive == 1);
      // t is destroyed while suspended, resumer afterwards
    }
    CHECK(tracked::alive == 0);
    CHECK(ctxlog::current().empty());
  }

  TEST_CASE("an async_resource destroyed inside its own run_in_scope") {
    auto res = std::make_unique<ctxlog::async_resource>(make_context("res", 10));
    res->run_in_scope([&] {
      res.reset();
      g_seen_rid = rid();
      g_alive_inside = tracked::alive;
    });
    CHECK(g_seen_rid == "res");
    CHECK(g_alive_inside == 1);
    CHECK(tracked::alive == 0);
  }

  TEST_CASE("one const bound callable called from several threads at once") {
    {
      const auto bound = make_context("shared", 11).run([] { return ctxlog::bind([] { return tag(); }); });
      std::atomic<long> sum{0};
      std::vector<std::thread> threads;
      for (int i = 0; i < 4; ++i)
        threads.emplace_back([&, i] {
          const std::string name = cat("t", std::to_string(i));
          ctxlog::run(fields{}.request_id(name), [&] {
            long local = 0;
            for (int n = 0; n < 20000; ++n) local += bound();
            sum += local;
            CHECK(rid() == name);
          });
        });
      for (auto& t : threads) t.join();
      CHECK(sum == 4L * 20000 * 11);
      CHECK(tracked::alive == 1);
    }
    CHECK(tracked::alive == 0);
  }
}
