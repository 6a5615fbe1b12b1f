// ctxlog/tbb.hpp: parallel_for, parallel_invoke, task_group and task_arena bodies run in
// the caller's context on TBB workers, and the workers keep nothing afterwards.
#include <doctest/doctest.h>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/global_control.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../support.hpp"
#include "ctxlog/ctxlog.hpp"
#include "ctxlog/tbb.hpp"

// libtbb.so is not built with ThreadSanitizer: the happens-before edges of its task
// queues are invisible to TSan, which then reports every hand-off of a TBB task object
// (blocked_range, partitioner state, the body copy) as a race. Those reports are
// suppressed for stacks through TBB; the context code those stacks run is covered without
// TBB by the pool, coroutine and asio suites.
#include "tbb_tsan.hpp"

namespace {
ctxlog::fields req(const std::string& id) { return ctxlog::fields{}.request_id(id); }
std::string rid() { return std::string(ctxlog::current().request_id()); }

struct tally {
  std::mutex mu;
  std::set<std::string> seen;
  std::set<std::thread::id> threads;
  int n = 0;
  void add() {
    std::lock_guard lk(mu);
    seen.insert(rid());
    threads.insert(std::this_thread::get_id());
    ++n;
  }
};
}  // namespace

TEST_SUITE("tbb") {
  TEST_CASE("parallel_for bodies run in the caller's context on every worker") {
    tally t;
    ctxlog::run(req("pf"), [&] {
      ctxlog::tbb::parallel_for(oneapi::tbb::blocked_range<int>(0, 2000, 1), [&](const oneapi::tbb::blocked_range<int>& r) {
        for (int i = r.begin(); i != r.end(); ++i) t.add();
      });
      ctxlog::tbb::parallel_for(0, 500, [&](int) { t.add(); });
    });
    CHECK(t.n == 2500);
    CHECK(t.seen == std::set<std::string>{"pf"});
  }

  TEST_CASE("TBB workers keep no context after a body: a later parallel_for without one sees none") {
    ctxlog::run(req("first"), [&] { ctxlog::tbb::parallel_for(0, 1000, [](int) { ctxlog::enter_with(req("leak")); }); });
    tally t;
    oneapi::tbb::parallel_for(0, 1000, [&](int) { t.add(); });  // plain TBB, no wrapper
    CHECK(t.seen == std::set<std::string>{""});
  }

  TEST_CASE("concurrent parallel_fors of different requests never mix") {
    std::atomic<int> wrong{0}, total{0};
    std::vector<std::thread> ts;
    for (int k = 0; k < 4; ++k)
      ts.emplace_back([&, k] {
        for (int r = 0; r < 10; ++r) {
          const std::string id = "c-" + std::to_string(k) + "-" + std::to_string(r);
          ctxlog::run(req(id), [&] {
            ctxlog::tbb::parallel_for(0, 200, [&](int) {
              wrong += rid() != id;
              ++total;
            });
          });
        }
      });
    for (auto& t : ts) t.join();
    CHECK(total == 4 * 10 * 200);
    CHECK(wrong == 0);
  }

  TEST_CASE("parallel_invoke, task_group and task_arena run their functions in the caller's context") {
    tally t;
    oneapi::tbb::task_arena arena(2);
    ctxlog::run(req("mixed"), [&] {
      ctxlog::tbb::parallel_invoke([&] { t.add(); }, [&] { t.add(); }, [&] { t.add(); });
      ctxlog::tbb::task_group tg;
      for (int i = 0; i < 50; ++i) tg.run([&] { t.add(); });
      tg.wait();
      CHECK(ctxlog::tbb::execute(arena, [&] {
        t.add();
        return rid();
      }) == "mixed");
    });
    CHECK(t.n == 54);
    CHECK(t.seen == std::set<std::string>{"mixed"});
  }

  TEST_CASE("a task_group task captures the context at run(), not at wait()") {
    ctxlog::tbb::task_group tg;
    std::string seen;
    ctxlog::run(req("at-run"), [&] { tg.run([&] { seen = rid(); }); });
    ctxlog::run(req("at-wait"), [&] { tg.wait(); });
    CHECK(seen == "at-run");
  }

  TEST_CASE("a body that throws reaches the caller and leaves every thread without context") {
    ctxlog::run(req("throws"), [&] {
      CHECK_THROWS_AS(ctxlog::tbb::parallel_for(0, 1000, [](int i) {
        if (i == 500) throw std::runtime_error("body failed");
      }), std::runtime_error);
      CHECK(rid() == "throws");
    });
    tally t;
    oneapi::tbb::parallel_for(0, 1000, [&](int) { t.add(); });
    CHECK(t.seen == std::set<std::string>{""});
  }
}
