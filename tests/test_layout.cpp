// Layouts: the record view, the JSON layout's options, user layouts, rendering once per
// layout, failing layouts, rejected options, and the rule that keeps keys unique.
#include <doctest/doctest.h>
#include <unistd.h>

#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "ctxlog/ctxlog.hpp"
#include "support.hpp"

namespace {

using ctxlog_test::capture_sink;
using ctxlog_test::parse_line;

std::shared_ptr<capture_sink> with_layout(ctxlog::layout_ptr l) {
  auto s = std::make_shared<capture_sink>();
  s->set_layout(std::move(l));
  return s;
}

std::vector<std::string> keys_of(const std::string& line) {
  // nlohmann's ordered_json keeps the keys in the order of the line.
  std::vector<std::string> out;
  const auto j = nlohmann::ordered_json::parse(line);
  for (const auto& [k, v] : j.items()) out.push_back(k);
  return out;
}

// A user layout: "level|logger|msg|requestId|k=v,...|thread|pid|file:line|function\n".
class pipe_layout final : public ctxlog::layout {
 public:
  void render(const ctxlog::record_view& r, ctxlog::buffer& out) override {
    ++renders;
    fmt::format_to(fmt::appender(out), "{}|{}|{}|{}|", ctxlog::to_string(r.severity), r.logger, r.message,
                   r.ctx.request_id());
    for (const auto& f : r.fields) {
      fmt::format_to(fmt::appender(out), "{}=", f.key);
      if (f.value.type == ctxlog::field_value::kind::i64) fmt::format_to(fmt::appender(out), "{},", f.value.i);
      else fmt::format_to(fmt::appender(out), "{},", f.value.str);
    }
    fmt::format_to(fmt::appender(out), "|{}|{}|{}:{}|{}|{}\n", r.thread, r.pid, r.where.file, r.where.line,
                   r.where.function, r.process.service);
  }
  int renders = 0;
};

class throwing_layout final : public ctxlog::layout {
 public:
  void render(const ctxlog::record_view&, ctxlog::buffer&) override { throw std::runtime_error("layout broke"); }
};

class rejecting_layout final : public ctxlog::layout {
 public:
  void render(const ctxlog::record_view&, ctxlog::buffer& out) override { out.push_back('\n'); }
  void configure(const ctxlog::process_info& p) override {
    if (p.service.empty()) throw std::invalid_argument("rejecting_layout: a service name is required");
  }
};

void log_from_a_named_function() { LOG_INFO("from here"); }

}  // namespace

TEST_SUITE("json layout") {
  TEST_CASE("the default line keeps its fields in their order") {
    auto sink = ctxlog_test::capture_all();
    ctxlog::run(ctxlog::fields{}.request_id("r-1").tenant_id("acme").set("region", "eu"),
                [] { LOG_INFO("order {} created", 42, ctxlog::kv("amount", 12.5)); });
    const auto lines = sink->lines();
    REQUIRE(lines.size() == 1);
    CHECK(keys_of(lines[0]) == std::vector<std::string>{"ts", "level", "logger", "msg", "requestId", "tenantId", "region",
                                                        "amount", "thread", "file", "line"});
    const auto j = parse_line(lines[0]);
    CHECK(j["ts"].get<std::string>().size() == std::string("2026-11-22T02:10:46.123456Z").size());
    CHECK(j["msg"] == "order 42 created");
  }

  TEST_CASE("fields can be left out and renamed, time shown in ms, ns or as epoch numbers") {
    auto lean = with_layout(ctxlog::json_layout({.logger = false, .thread = false, .file = false, .line = false,
                                                 .precision = ctxlog::time_precision::ms,
                                                 .names = {.ts = "@t", .level = "severity", .msg = "message",
                                                           .request_id = "request.id"}}));
    auto full = with_layout(
        ctxlog::json_layout({.function = true, .pid = true, .precision = ctxlog::time_precision::ns}));
    auto epoch = with_layout(ctxlog::json_layout({.precision = ctxlog::time_precision::ms, .format = ctxlog::time_format::epoch}));
    ctxlog::configure({.sinks = {lean, full, epoch}});
    const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    ctxlog::run(ctxlog::fields{}.request_id("r-2"), [] { log_from_a_named_function(); });
    const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();

    const auto l = lean->lines();
    REQUIRE(l.size() == 1);
    CHECK(keys_of(l[0]) == std::vector<std::string>{"@t", "severity", "message", "request.id"});
    CHECK(parse_line(l[0])["@t"].get<std::string>().size() == std::string("2026-11-22T02:10:46.123Z").size());

    const auto f = parse_line(full->lines().at(0));
    CHECK(f["ts"].get<std::string>().size() == std::string("2026-11-22T02:10:46.123456789Z").size());
    CHECK(f["function"] == "log_from_a_named_function");
    CHECK(f["pid"] == ::getpid());
    CHECK(f["thread"].is_number());

    const auto e = parse_line(epoch->lines().at(0));
    REQUIRE(e["ts"].is_number_unsigned());
    CHECK(e["ts"].get<long long>() >= before - 1);  // the TSC conversion is exact to ~1 ms
    CHECK(e["ts"].get<long long>() <= after + 1);
  }

  TEST_CASE("process fields given once appear on every line") {
    auto sink = std::make_shared<capture_sink>();
    ctxlog::configure({.sinks = {sink},
                       .process = {.service = "orders", .version = "1.4.2", .environment = "prod",
                                   .host = ctxlog::this_host(), .extra = {{"region", "eu-west-1"}}}});
    LOG_INFO("one");
    LOG_WARN_TO(ctxlog::get_logger("sql"), "two");
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == 2);
    for (const auto& j : lines) {
      CHECK(j["service"] == "orders");
      CHECK(j["version"] == "1.4.2");
      CHECK(j["env"] == "prod");
      CHECK(j["host"] == ctxlog::this_host());
      CHECK(j["region"] == "eu-west-1");
    }
    CHECK(!ctxlog::this_host().empty());
    ctxlog::configure({.sinks = {sink}});  // a new configuration: the fields are gone
    sink->clear();
    LOG_INFO("three");
    CHECK(!sink->last().contains("service"));
  }

  TEST_CASE("nonsense options are rejected and the configuration in force stays") {
    CHECK_THROWS_AS(ctxlog::json_layout({.names = {.level = ""}}), std::invalid_argument);
    CHECK_THROWS_AS(ctxlog::json_layout({.names = {.msg = "level"}}), std::invalid_argument);
    CHECK_THROWS_AS(ctxlog::json_layout({.names = {.thread = "requestId"}}), std::invalid_argument);
    CHECK_NOTHROW(ctxlog::json_layout({.thread = false, .names = {.thread = "requestId"}}));  // not written

    auto kept = ctxlog_test::capture_all();
    auto other = std::make_shared<capture_sink>();
    CHECK_THROWS_AS(ctxlog::configure({.sinks = {other}, .process = {.extra = {{"msg", "x"}}}}), std::invalid_argument);
    CHECK_THROWS_AS(ctxlog::configure({.sinks = {other}, .layout = std::make_shared<rejecting_layout>()}),
                    std::invalid_argument);
    LOG_INFO("still here");
    CHECK(kept->size() == 1);
    CHECK(other->size() == 0);
    CHECK(kept->last()["msg"] == "still here");
    CHECK(!kept->last().contains("msg_"));
  }
}

TEST_SUITE("layouts") {
  TEST_CASE("a user layout renders the record view") {
    auto l = std::make_shared<pipe_layout>();
    auto sink = with_layout(l);
    ctxlog::configure({.sinks = {sink}, .process = {.service = "svc"}});
    ctxlog::run(ctxlog::fields{}.request_id("r-9"),
                [] { LOG_WARN_TO(ctxlog::get_logger("orders"), "n={}", 7, ctxlog::kv("a", 1), ctxlog::kv("b", "x")); });
    const auto lines = sink->lines();
    REQUIRE(lines.size() == 1);
    const std::string expected_prefix = "warn|orders|n=7|r-9|a=1,b=x,|";
    CHECK(lines[0].substr(0, expected_prefix.size()) == expected_prefix);
    CHECK(lines[0].find(fmt::format("|{}|test_layout.cpp:", ::getpid())) != std::string::npos);
    CHECK(lines[0].find("|operator()|") != std::string::npos);  // logged inside the lambda
    CHECK(lines[0].substr(lines[0].size() - 5) == "|svc\n");
  }

  TEST_CASE("a line is rendered once per distinct layout, whatever the number of sinks") {
    auto shared = std::make_shared<pipe_layout>();
    auto own = std::make_shared<pipe_layout>();
    auto a = with_layout(shared), b = with_layout(shared), c = with_layout(own);
    auto d = std::make_shared<capture_sink>(), e = std::make_shared<capture_sink>();  // the default JSON layout
    ctxlog::configure({.sinks = {a, b, c, d, e}});
    for (int i = 0; i < 10; ++i) LOG_INFO("line {}", i);
    ctxlog::flush();
    CHECK(shared->renders == 10);
    CHECK(own->renders == 10);
    CHECK(a->lines() == b->lines());
    CHECK(d->lines() == e->lines());
    CHECK(d->size() == 10);
  }

  TEST_CASE("a layout that throws costs only its sinks their line") {
    auto broken = with_layout(std::make_shared<throwing_layout>());
    auto healthy = std::make_shared<capture_sink>();
    ctxlog::configure({.sinks = {broken, healthy}});
    const auto before = ctxlog::get_stats();
    for (int i = 0; i < 50; ++i) LOG_INFO("line {}", i);
    ctxlog::flush();
    const auto after = ctxlog::get_stats();
    CHECK(healthy->size() == 50);
    CHECK(broken->size() == 0);
    CHECK(after.sink_errors - before.sink_errors == 50);
    CHECK(after.written - before.written == 50);
    CHECK(after.dropped == before.dropped);
    CHECK(after.issued - before.issued == 50);
  }
}

TEST_SUITE("unique keys") {
  TEST_CASE("per-call fields win over context fields, the later kv over the earlier") {
    auto sink = ctxlog_test::capture_all();
    ctxlog::run({{"requestId", "r-1"}, {"region", "ctx"}, {"zone", "a"}}, [] {
      LOG_INFO("x", ctxlog::kv("region", "call"), ctxlog::kv("n", 1), ctxlog::kv("n", 2), ctxlog::kv("requestId", "forged"),
               ctxlog::kv("_requestId", "literal"));
    });
    const auto lines = sink->lines();
    REQUIRE(lines.size() == 1);
    const auto j = parse_line(lines[0]);  // rejects a key that appears twice
    CHECK(j["region"] == "call");
    CHECK(j["zone"] == "a");
    CHECK(j["n"] == 2);
    CHECK(j["requestId"] == "r-1");       // a call cannot forge a correlation id...
    CHECK(j["_requestId"] == "literal");  // ...its renamed field then loses to the later one
    CHECK(keys_of(lines[0]) == std::vector<std::string>{"ts", "level", "logger", "msg", "requestId", "zone", "region", "n",
                                                        "_requestId", "thread", "file", "line"});
  }

  TEST_CASE("no line carries a key twice, whatever the mix of fields") {
    // Keys drawn from a small set that collides in every way: with the line's own
    // fields, with their renamed forms, between context and call, between calls.
    const std::vector<std::string> pool = {"a", "_a", "level", "_level", "__level", "requestId", "_requestId",
                                           "msg", "ts", "thread", "x", "contextLost", "\xff", "\xfe"};
    const std::vector<std::string> own = {"ts", "level", "logger", "msg", "requestId", "tenantId", "traceId", "spanId",
                                          "parentSpanId", "userId", "contextLost", "thread", "file", "line"};
    auto sink = ctxlog_test::capture_all();
    std::mt19937 rng(7);
    for (int round = 0; round < 300; ++round) {
      ctxlog::fields f;
      std::vector<std::pair<std::string, std::string>> custom;
      for (int i = 0, n = static_cast<int>(rng() % 4); i < n; ++i) {
        const std::string& k = pool[rng() % pool.size()];
        if (k == "requestId") continue;  // a well-known field, not a custom one
        custom.emplace_back(k, fmt::format("c{}", i));
      }
      for (const auto& [k, v] : custom) f.set(k, v);
      const std::string k1 = pool[rng() % pool.size()], k2 = pool[rng() % pool.size()], k3 = pool[rng() % pool.size()];
      ctxlog::run(f, [&] { LOG_INFO("m", ctxlog::kv(k1, 1), ctxlog::kv(k2, 2), ctxlog::kv(k3, 3)); });
      const auto lines = sink->lines();
      REQUIRE(lines.size() == 1);
      const auto j = parse_line(lines[0]);
      sink->clear();

      // The documented rule, computed independently: invalid UTF-8 replaced, renamed
      // while it names one of the line's own fields, then the later field wins.
      std::map<std::string, nlohmann::json> expect;
      auto renamed = [&](std::string k) {
        if (k == "\xff" || k == "\xfe") k = "\xEF\xBF\xBD";  // U+FFFD, as the line writes it
        while (std::find(own.begin(), own.end(), k) != own.end()) k = "_" + k;
        return k;
      };
      std::vector<std::pair<std::string, nlohmann::json>> order;
      for (std::size_t i = 0; i < custom.size(); ++i) {  // a repeated set() keeps its last place and value
        bool later = false;
        for (std::size_t j = i + 1; j < custom.size(); ++j) later |= custom[j].first == custom[i].first;
        if (!later) order.emplace_back(renamed(custom[i].first), custom[i].second);
      }
      order.emplace_back(renamed(k1), 1);
      order.emplace_back(renamed(k2), 2);
      order.emplace_back(renamed(k3), 3);
      for (const auto& [k, v] : order) expect[k] = v;
      CHECK(j.size() == expect.size() + 7);  // ts level logger msg thread file line
      for (const auto& kv : expect) {
        const std::string& key = kv.first;  // a structured binding cannot be captured by INFO with clang 14
        INFO("key " << key << " in " << lines[0]);
        CHECK(j[key] == kv.second);
      }
    }
  }
}
