// Several threads serve different requests at once: every line carries its own request's
// fields and nobody else's.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "ctxlog/ctxlog.hpp"
#include "support.hpp"

namespace {
// Deep call chain that never sees a context parameter.
void charge(int step) { LOG_DEBUG("charging step {}", step, ctxlog::kv("step", step)); }
void handle(int order) {
  LOG_INFO("order {} received", order);
  for (int s = 0; s < 3; ++s) charge(s);
  ctxlog::run(ctxlog::fields{}.span_id("child"), [&] { LOG_INFO("order {} stored", order); });
}
}  // namespace

TEST_SUITE("isolation") {
  TEST_CASE("concurrent requests on several threads never leak into each other's lines") {
    auto sink = ctxlog_test::capture_all(ctxlog::level::trace);
    constexpr int threads = 6, per_thread = 300;
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([t] {
        for (int r = 0; r < per_thread; ++r) {
          const std::string id = "req-" + std::to_string(t) + "-" + std::to_string(r);
          const std::string tenant = "tenant-" + std::to_string(t);
          ctxlog::run(ctxlog::fields{}.request_id(id).tenant_id(tenant).user_id(id + "-user"), [&] {
            LOG_INFO("start", ctxlog::kv("expect", id));
            handle(r);
            LOG_INFO("done", ctxlog::kv("expect", id));
          });
          LOG_INFO("between requests");  // no context here
        }
      });
    for (auto& t : ts) t.join();
    ctxlog::flush();

    std::map<std::string, int> per_request;
    int without = 0;
    for (const auto& j : sink->parsed()) {
      if (j["msg"] == "between requests") {
        CHECK_FALSE(j.contains("requestId"));
        ++without;
        continue;
      }
      REQUIRE(j.contains("requestId"));
      const std::string id = j["requestId"];
      if (j.contains("expect")) CHECK(j["expect"] == id);
      CHECK(j["userId"] == id + "-user");
      CHECK(j["tenantId"].get<std::string>() == "tenant-" + id.substr(4, id.find('-', 4) - 4));
      ++per_request[id];
    }
    CHECK(without == threads * per_thread);
    CHECK(per_request.size() == static_cast<std::size_t>(threads * per_thread));
    for (const auto& entry : per_request) CHECK_MESSAGE(entry.second == 7, entry.first);  // (clang 14: no structured bindings in doctest's lambdas)
  }
}
