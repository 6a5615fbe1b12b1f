// The ambient context: run, current, scope, nesting, exceptions, capture, bind, exit,
// enter_with, disable, async_resource.
#include <doctest/doctest.h>

#include <future>
#include <memory>
#include <stdexcept>
#include <span>
#include <thread>
#include <type_traits>

#include "ctxlog/context.hpp"

using ctxlog::fields;

TEST_SUITE("context") {
  TEST_CASE("current() is empty outside any run") {
    CHECK(ctxlog::current().empty());
    CHECK(ctxlog::current().request_id().empty());
    CHECK(ctxlog::current().id() == 0);
  }

  TEST_CASE("run sets every well-known field and returns fn's result") {
    const int r = ctxlog::run(fields{}
                                  .request_id("req-1")
                                  .tenant_id("acme")
                                  .trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
                                  .span_id("00f067aa0ba902b7")
                                  .parent_span_id("aaaaaaaaaaaaaaaa")
                                  .user_id("u-7"),
                              [] {
                                const auto& c = ctxlog::current();
                                CHECK(c.request_id() == "req-1");
                                CHECK(c.tenant_id() == "acme");
                                CHECK(c.trace_id() == "4bf92f3577b34da6a3ce929d0e0e4736");
                                CHECK(c.span_id() == "00f067aa0ba902b7");
                                CHECK(c.parent_span_id() == "aaaaaaaaaaaaaaaa");
                                CHECK(c.user_id() == "u-7");
                                CHECK(c.get("tenantId") == "acme");
                                return 42;
                              });
    CHECK(r == 42);
    CHECK(ctxlog::current().empty());
  }

  TEST_CASE("run returns references and move-only results unchanged") {
    int x = 1;
    int& ref = ctxlog::run(fields{}.request_id("r"), [&]() -> int& { return x; });
    CHECK(&ref == &x);
    auto p = ctxlog::run(fields{}.request_id("r"), [] { return std::make_unique<int>(5); });
    CHECK(*p == 5);
  }

  TEST_CASE("custom() gives ctxlog::field key/values that outlive the scope in a copy") {
    static_assert(std::is_same_v<decltype(ctxlog::current().custom()), std::span<const ctxlog::field>>);
    ctxlog::context kept;
    ctxlog::run({{"requestId", "r-1"}, {"region", "eu"}, {"shard", "7"}}, [&] { kept = ctxlog::snapshot(); });
    REQUIRE(kept.custom().size() == 2);  // requestId is well-known, not custom
    const ctxlog::field& f = kept.custom()[1];
    CHECK(f.key == "shard");
    CHECK(f.value == "7");
    CHECK(ctxlog::current().custom().empty());
  }

  TEST_CASE("nested runs inherit and override, and the parent is never modified") {
    ctxlog::run({{"requestId", "outer"}, {"tenantId", "t1"}, {"region", "eu"}}, [] {
      const ctxlog::context outer = ctxlog::snapshot();
      ctxlog::run({{"requestId", "inner"}, {"region", "us"}, {"shard", "7"}}, [&] {
        const auto& c = ctxlog::current();
        CHECK(c.request_id() == "inner");
        CHECK(c.tenant_id() == "t1");
        CHECK(c.get("region") == "us");
        CHECK(c.get("shard") == "7");
        REQUIRE(c.custom().size() == 2);
        CHECK(c.custom()[0].key == "region");  // inherited keys keep their place
        CHECK(c.custom()[1].key == "shard");
        ctxlog::run(fields{}.request_id("deepest"), [] {
          ctxlog::run(fields{}.user_id("u"), [] { CHECK(ctxlog::current().request_id() == "deepest"); });
        });
        CHECK(outer.request_id() == "outer");
        CHECK(outer.get("region") == "eu");
        CHECK(outer.get("shard").empty());
      });
      CHECK(ctxlog::current().request_id() == "outer");
      CHECK(ctxlog::current() == outer);
    });
  }

  TEST_CASE("an empty value removes a field in the derived context only") {
    ctxlog::run({{"requestId", "r"}, {"region", "eu"}}, [] {
      ctxlog::run({{"requestId", ""}, {"region", ""}}, [] {
        CHECK(ctxlog::current().request_id().empty());
        CHECK(ctxlog::current().get("region").empty());
        CHECK(ctxlog::current().empty());  // nothing left: the empty context
      });
      CHECK(ctxlog::current().request_id() == "r");
    });
  }

  TEST_CASE("the previous context comes back when fn throws") {
    ctxlog::run(fields{}.request_id("outer"), [] {
      CHECK_THROWS_AS(ctxlog::run(fields{}.request_id("inner"), []() -> int { throw std::runtime_error("x"); }),
                      std::runtime_error);
      CHECK(ctxlog::current().request_id() == "outer");
    });
    CHECK(ctxlog::current().empty());
  }

  TEST_CASE("run nests to any depth") {
    std::function<int(int)> dive = [&](int depth) -> int {
      if (depth == 0) return static_cast<int>(ctxlog::current().custom().size());
      std::string key = std::to_string(depth % 50);  // (not "k" + ...: g++ 12 -Wrestrict false positive)
      key.insert(key.begin(), 'k');
      const std::string value = std::to_string(depth);
      return ctxlog::run({{key, value}}, [&] { return dive(depth - 1); });
    };
    CHECK(dive(2000) == 50);
    CHECK(ctxlog::current().empty());
  }

  TEST_CASE("snapshot is O(1): the same frame, and it outlives the run") {
    ctxlog::context kept;
    ctxlog::run(fields{}.request_id("r-9"), [&] {
      kept = ctxlog::snapshot();
      CHECK(kept == ctxlog::current());
      CHECK(kept.id() == ctxlog::current().id());
    });
    CHECK(ctxlog::current().empty());
    CHECK(kept.request_id() == "r-9");
    kept.run([] { CHECK(ctxlog::current().request_id() == "r-9"); });
    ctxlog::run(kept, [] { CHECK(ctxlog::current().request_id() == "r-9"); });
  }

  TEST_CASE("with() derives without touching the original or the thread") {
    const ctxlog::context base = ctxlog::context().with(fields{}.tenant_id("t"));
    const ctxlog::context derived = base.with(fields{}.request_id("r"));
    CHECK(base.request_id().empty());
    CHECK(derived.tenant_id() == "t");
    CHECK(derived.request_id() == "r");
    CHECK(ctxlog::current().empty());
  }

  TEST_CASE("bind runs the callable in the context of bind time, on any thread") {
    auto bound = ctxlog::run(fields{}.request_id("bound"), [] {
      return ctxlog::bind([](int a) { return std::string(ctxlog::current().request_id()) + std::to_string(a); });
    });
    CHECK(bound(1) == "bound1");
    CHECK(ctxlog::current().empty());
    std::string seen;
    std::thread t([&] {
      ctxlog::run(fields{}.request_id("thread-own"), [&] {
        seen = bound(2);
        CHECK(ctxlog::current().request_id() == "thread-own");  // restored after the call
      });
    });
    t.join();
    CHECK(seen == "bound2");
  }

  TEST_CASE("bind accepts move-only callables and restores after exceptions") {
    auto p = std::make_unique<int>(7);
    auto bound = ctxlog::run(fields{}.request_id("mo"), [&] {
      return ctxlog::bind([p = std::move(p)] { return *p + static_cast<int>(ctxlog::current().request_id().size()); });
    });
    CHECK(std::move(bound)() == 9);
    auto thrower = ctxlog::run(fields{}.request_id("t"), [] { return ctxlog::bind([] { throw std::logic_error("x"); }); });
    CHECK_THROWS(thrower());
    CHECK(ctxlog::current().empty());
  }

  TEST_CASE("exit runs fn with no context and restores it afterwards") {
    ctxlog::run(fields{}.request_id("r"), [] {
      ctxlog::exit([] { CHECK(ctxlog::current().empty()); });
      CHECK(ctxlog::current().request_id() == "r");
    });
  }

  TEST_CASE("enter_with stays for the rest of the thread's current context") {
    std::thread([] {
      ctxlog::enter_with(fields{}.request_id("entered"));
      CHECK(ctxlog::current().request_id() == "entered");
      ctxlog::run(fields{}.user_id("u"), [] { CHECK(ctxlog::current().request_id() == "entered"); });
      CHECK(ctxlog::current().request_id() == "entered");
      ctxlog::enter_with(ctxlog::context{});
      CHECK(ctxlog::current().empty());
    }).join();
    CHECK(ctxlog::current().empty());  // other threads are not affected
  }

  TEST_CASE("enter_with inside a run is undone when the run ends") {
    ctxlog::run(fields{}.request_id("a"), [] {
      ctxlog::enter_with(fields{}.request_id("b"));
      CHECK(ctxlog::current().request_id() == "b");
    });
    CHECK(ctxlog::current().empty());
  }

  TEST_CASE("disable hides the context on every thread until the next run") {
    std::promise<void> entered, disabled, checked;
    std::thread other([&] {
      ctxlog::enter_with(fields{}.request_id("other"));
      entered.set_value();
      disabled.get_future().wait();
      CHECK(ctxlog::current().empty());
      checked.set_value();
    });
    entered.get_future().wait();
    ctxlog::disable();
    disabled.set_value();
    checked.get_future().wait();
    other.join();
    CHECK(ctxlog::current().empty());
    ctxlog::run(fields{}.request_id("back"), [] { CHECK(ctxlog::current().request_id() == "back"); });
  }

  TEST_CASE("async_resource re-enters its construction context later") {
    std::unique_ptr<ctxlog::async_resource> res;
    ctxlog::run(fields{}.request_id("res"), [&] { res = std::make_unique<ctxlog::async_resource>(); });
    std::string seen;
    std::thread([&] { seen = res->run_in_scope([](int n) { return std::string(ctxlog::current().request_id()) + std::to_string(n); }, 3); }).join();
    CHECK(seen == "res3");
  }

  TEST_CASE("threads never see each other's context") {
    std::vector<std::thread> ts;
    std::atomic<int> wrong{0};
    for (int i = 0; i < 8; ++i)
      ts.emplace_back([i, &wrong] {
        const std::string id = "req-" + std::to_string(i);
        for (int k = 0; k < 2000; ++k)
          ctxlog::run(fields{}.request_id(id), [&] {
            if (ctxlog::current().request_id() != id) ++wrong;
            const auto c = ctxlog::snapshot();
            std::this_thread::yield();
            if (c.request_id() != id || ctxlog::current().request_id() != id) ++wrong;
          });
      });
    for (auto& t : ts) t.join();
    CHECK(wrong == 0);
  }

  TEST_CASE("bad field names and values are kept as data, never interpreted") {
    const std::string nul("a\0b", 3);
    ctxlog::run({{"", "empty-key"}, {nul, nul}, {"requestId\"", "\xff\xfe"}}, [&] {
      CHECK(ctxlog::current().get("") == "empty-key");
      CHECK(ctxlog::current().get(nul) == nul);
      CHECK(ctxlog::current().get("requestId\"") == "\xff\xfe");
      CHECK(ctxlog::current().request_id().empty());
    });
  }
}
