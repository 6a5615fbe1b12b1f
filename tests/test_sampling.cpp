// Sampling and rate limiting: every-N, K per interval per call site, per key; summary
// lines when a window closes (and at shutdown); suppressed calls counted, from many
// threads; a level that is off counts nothing.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "ctxlog/ctxlog.hpp"
#include "support.hpp"

using namespace std::chrono_literals;

namespace {

using ctxlog::level;
using ctxlog_test::capture_sink;

std::shared_ptr<capture_sink> setup(level lvl = level::info) {
  auto s = std::make_shared<capture_sink>();
  ctxlog::configure({.sinks = {s}, .min_level = lvl, .level_env = ""});
  return s;
}

std::vector<nlohmann::json> with_msg_prefix(const std::vector<nlohmann::json>& lines, const std::string& p) {
  std::vector<nlohmann::json> out;
  for (const auto& l : lines)
    if (l["msg"].get<std::string>().rfind(p, 0) == 0) out.push_back(l);
  return out;
}

// Waits (a bounded time) until the sink holds a summary line: the back-end writes it once
// the window closed.
std::vector<nlohmann::json> wait_for_summaries(const capture_sink& s, std::size_t n) {
  for (int i = 0; i < 400; ++i) {
    const auto lines = with_msg_prefix(s.parsed(), "");
    std::vector<nlohmann::json> sums;
    for (const auto& l : lines)
      if (l.contains("suppressed")) sums.push_back(l);
    if (sums.size() >= n) return sums;
    std::this_thread::sleep_for(10ms);
  }
  return {};
}

// Windows are aligned to multiples of their interval on CLOCK_MONOTONIC (steady_clock):
// start a burst right after a boundary, so that it cannot straddle two windows.
void at_window_start(std::chrono::milliseconds interval) {
  const auto now = std::chrono::steady_clock::now().time_since_epoch();
  const auto next = (now / interval + 1) * interval + 1ms;
  std::this_thread::sleep_for(next - now);
}

}  // namespace

TEST_CASE("LOG_INFO_EVERY writes the first of every n calls and counts the rest") {
  auto sink = setup();
  const auto before = ctxlog::get_stats();
  for (int i = 0; i < 25; ++i) LOG_INFO_EVERY(10, "call {}", i);
  const auto lines = sink->parsed();
  REQUIRE(lines.size() == 3);
  CHECK(lines[0]["msg"] == "call 0");
  CHECK(lines[1]["msg"] == "call 10");
  CHECK(lines[2]["msg"] == "call 20");
  const auto after = ctxlog::get_stats();
  CHECK(after.suppressed - before.suppressed == 22);
  CHECK(after.issued - before.issued == 3);
}

TEST_CASE("a level that is off: nothing is counted, nothing sampled") {
  auto sink = setup(level::warn);
  const auto before = ctxlog::get_stats();
  for (int i = 0; i < 10; ++i) LOG_INFO_EVERY(2, "off {}", i);
  for (int i = 0; i < 10; ++i) LOG_INFO_LIMIT(1, 1h, "off {}", i);
  CHECK(sink->size() == 0);
  CHECK(ctxlog::get_stats().suppressed == before.suppressed);
}

TEST_CASE("LOG_WARN_LIMIT: at most k per window; a summary line with the count once the window closed") {
  auto sink = setup();
  const auto before = ctxlog::get_stats();
  at_window_start(200ms);
  for (int i = 0; i < 20; ++i) LOG_WARN_LIMIT(3, 200ms, "slow query {}", i);
  const int limited_line = __LINE__ - 1;
  {
    const auto lines = with_msg_prefix(sink->parsed(), "slow query");
    REQUIRE(lines.size() == 3);
    CHECK(lines[0]["msg"] == "slow query 0");
  }
  CHECK(ctxlog::get_stats().suppressed - before.suppressed == 17);
  const auto sums = wait_for_summaries(*sink, 1);
  REQUIRE(sums.size() == 1);
  const auto& s = sums[0];
  CHECK(s["suppressed"] == 17);
  CHECK(s["limit"] == 3);
  CHECK(s["intervalMs"] == 200);
  CHECK(s["level"] == "warn");
  CHECK(s["line"] == limited_line);
  CHECK(s["msg"] == "17 lines suppressed (limit 3 per 200 ms)");
  CHECK_FALSE(s.contains("key"));
  // A new window: the site writes again.
  sink->clear();
  LOG_WARN_LIMIT(3, 200ms, "slow query {}", "again");
  CHECK(sink->size() == 1);
}

TEST_CASE("LOG_WARN_LIMIT_BY: each key has its own budget and its own summary") {
  auto sink = setup();
  const auto before = ctxlog::get_stats();
  at_window_start(300ms);
  for (int round = 0; round < 5; ++round)
    for (const char* tenant : {"acme", "globex", "initech"})
      ctxlog::run(ctxlog::fields{}.tenant_id(tenant),
                  [&] { LOG_WARN_LIMIT_BY(ctxlog::current().tenant_id(), 2, 300ms, "quota exceeded round {}", round); });
  const auto written = with_msg_prefix(sink->parsed(), "quota exceeded");
  std::map<std::string, int> per_tenant;
  for (const auto& l : written) ++per_tenant[l["tenantId"].get<std::string>()];
  CHECK(per_tenant == std::map<std::string, int>{{"acme", 2}, {"globex", 2}, {"initech", 2}});
  CHECK(ctxlog::get_stats().suppressed - before.suppressed == 9);
  const auto sums = wait_for_summaries(*sink, 3);
  REQUIRE(sums.size() == 3);
  std::map<std::string, int> suppressed;
  for (const auto& s : sums) suppressed[s["key"].get<std::string>()] = s["suppressed"].get<int>();
  CHECK(suppressed == std::map<std::string, int>{{"acme", 3}, {"globex", 3}, {"initech", 3}});
}

TEST_CASE("more keys than the table holds share one budget, reported as (other)") {
  auto sink = setup();
  at_window_start(300ms);
  for (int k = 0; k < 100; ++k)
    for (int i = 0; i < 2; ++i) LOG_INFO_LIMIT_BY(std::to_string(k), 1, 300ms, "key {}", k);
  const auto written = with_msg_prefix(sink->parsed(), "key ");
  // 64 keys get one line each; the 36 others share a budget of one.
  CHECK(written.size() == 65);
  const auto sums = wait_for_summaries(*sink, 65);
  std::uint64_t total = 0, other = 0;
  for (const auto& s : sums) {
    total += s["suppressed"].get<std::uint64_t>();
    if (s["key"] == "(other)") other = s["suppressed"].get<std::uint64_t>();
  }
  CHECK(total == 200 - 65);
  CHECK(other == 36 * 2 - 1);
}

TEST_CASE("many threads on one limited site: exactly k written per window, every other call counted") {
  auto sink = setup();
  const auto before = ctxlog::get_stats();
  constexpr int threads = 4, calls = 5000;
  std::atomic<bool> go{false};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < calls; ++i) LOG_INFO_LIMIT(10, 1h, "hot {}", i);
    });
  go = true;
  for (auto& t : ts) t.join();
  CHECK(with_msg_prefix(sink->parsed(), "hot ").size() == 10);
  CHECK(ctxlog::get_stats().suppressed - before.suppressed == threads * calls - 10);
}

TEST_CASE("shutdown writes the summaries of windows still open") {
  auto sink = setup();
  for (int i = 0; i < 7; ++i) LOG_ERROR_LIMIT(2, 1h, "disk nearly full {}", i);
  ctxlog::shutdown();
  std::vector<nlohmann::json> sums;
  for (const auto& l : sink->parsed())
    if (l.contains("suppressed") && l["level"] == "error") sums.push_back(l);
  REQUIRE(sums.size() == 1);  // (the hot site of the case before is reported too, at info)
  CHECK(sums[0]["suppressed"] == 5);
  CHECK(sums[0]["level"] == "error");
}
