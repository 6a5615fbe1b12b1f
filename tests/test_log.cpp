// The front-end: line layout, context in every line, kv(), levels, loggers, bad input.
#include <doctest/doctest.h>

#include <cctype>
#include <chrono>
#include <stdexcept>
#include <string>

#include "ctxlog/ctxlog.hpp"
#include "support.hpp"

int log_stripped_calls(int& evaluations);  // stripped_calls.cpp: built with CTXLOG_ACTIVE_LEVEL=3

namespace {
struct money {
  long cents;
};
struct explosive {};
int evaluated = 0;
int side_effect() { return ++evaluated; }
}  // namespace

template <>
struct fmt::formatter<money> : fmt::formatter<std::string_view> {
  auto format(const money& m, fmt::format_context& ctx) const {
    return fmt::format_to(ctx.out(), "{}.{:02} EUR", m.cents / 100, m.cents % 100);
  }
};
template <>
struct fmt::formatter<explosive> : fmt::formatter<std::string_view> {
  auto format(const explosive&, fmt::format_context&) const -> fmt::format_context::iterator {
    throw std::runtime_error("formatter exploded");
  }
};

TEST_SUITE("log") {
  TEST_CASE("a line has ts, level, logger, msg, thread, file and line") {
    auto sink = ctxlog_test::capture_all();
    LOG_INFO("order {} created for {}", 42, "bob");
    const auto j = sink->last();
    CHECK(j["msg"] == "order 42 created for bob");
    CHECK(j["level"] == "info");
    CHECK(j["logger"] == "default");
    CHECK(j["file"] == "test_log.cpp");
    CHECK(j["line"] == __LINE__ - 6);
    CHECK(j["thread"].get<long>() > 0);
    // RFC 3339, UTC, microseconds: YYYY-MM-DDTHH:MM:SS.uuuuuuZ (no std::regex: g++ 12
    // warns inside <regex> under ASan with -Werror)
    const std::string ts = j["ts"];
    const std::string shape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    REQUIRE(ts.size() == shape.size());
    for (std::size_t i = 0; i < ts.size(); ++i)
      CHECK_MESSAGE((shape[i] == 'd' ? std::isdigit(static_cast<unsigned char>(ts[i])) != 0 : ts[i] == shape[i]), ts);
    CHECK_FALSE(j.contains("requestId"));  // no context: no context fields
  }

  TEST_CASE("the timestamp is UTC and current") {
    auto sink = ctxlog_test::capture_all();
    const auto before = std::chrono::system_clock::now();
    LOG_INFO("now");
    const std::string ts = sink->last()["ts"];
    const std::time_t t = std::chrono::system_clock::to_time_t(before);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char expect[32];
    std::strftime(expect, sizeof expect, "%Y-%m-%dT%H:%M", &tm);
    CHECK(ts.substr(0, 16) == expect);
  }

  TEST_CASE("every context field that is set, and custom ones, appear in the line") {
    auto sink = ctxlog_test::capture_all();
    ctxlog::run(ctxlog::fields{}
                    .request_id("req-1")
                    .tenant_id("acme")
                    .trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
                    .span_id("00f067aa0ba902b7")
                    .user_id("u-1")
                    .set("region", "eu"),
                [] {
                  LOG_INFO("inside");
                  ctxlog::run(ctxlog::fields{}.span_id("1111111111111111").parent_span_id("00f067aa0ba902b7"),
                              [] { LOG_INFO("child span"); });
                });
    LOG_INFO("outside");
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == 3);
    CHECK(lines[0]["requestId"] == "req-1");
    CHECK(lines[0]["tenantId"] == "acme");
    CHECK(lines[0]["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK(lines[0]["spanId"] == "00f067aa0ba902b7");
    CHECK(lines[0]["userId"] == "u-1");
    CHECK(lines[0]["region"] == "eu");
    CHECK_FALSE(lines[0].contains("parentSpanId"));
    CHECK(lines[1]["spanId"] == "1111111111111111");
    CHECK(lines[1]["parentSpanId"] == "00f067aa0ba902b7");
    CHECK(lines[1]["requestId"] == "req-1");
    CHECK_FALSE(lines[2].contains("requestId"));
  }

  TEST_CASE("kv() fields keep their JSON types") {
    auto sink = ctxlog_test::capture_all();
    const std::string sku = "sku-9";
    LOG_INFO("paid", ctxlog::kv("amount", 12.5), ctxlog::kv("qty", 3), ctxlog::kv("big", 18446744073709551615ull),
             ctxlog::kv("neg", -7LL), ctxlog::kv("ok", true), ctxlog::kv("sku", sku), ctxlog::kv("note", "lit"),
             ctxlog::kv("ch", 'x'), ctxlog::kv("price", money{1999}), ctxlog::kv("nan", std::nan("")),
             ctxlog::kv("inf", -1.0 / 0.0));
    const auto j = sink->last();
    CHECK(j["amount"] == 12.5);
    CHECK(j["qty"] == 3);
    CHECK(j["big"].get<unsigned long long>() == 18446744073709551615ull);
    CHECK(j["neg"] == -7);
    CHECK(j["ok"] == true);
    CHECK(j["sku"] == "sku-9");
    CHECK(j["note"] == "lit");
    CHECK(j["ch"] == "x");
    CHECK(j["price"] == "19.99 EUR");
    CHECK(j["nan"] == "NaN");
    CHECK(j["inf"] == "-Infinity");
  }

  TEST_CASE("message arguments of every kind format as fmt would") {
    auto sink = ctxlog_test::capture_all();
    const char* null_str = nullptr;
    std::string s = "str";
    int x = 0;
    LOG_INFO("{} {} {:.2f} {:>5} {} {} {} {:#x} {}", true, 'c', 3.14159, s, std::string_view("sv"), null_str,
             money{250}, 255u, static_cast<const void*>(&x) != nullptr);
    CHECK(sink->last()["msg"] == "true c 3.14   str sv (null) 2.50 EUR 0xff true");
  }

  TEST_CASE("arguments are copied at the call: later changes do not show") {
    auto sink = ctxlog_test::capture_all();
    std::string s = "before";
    LOG_INFO("{}", s);
    s = "after";
    CHECK(sink->last()["msg"] == "before");
  }

  TEST_CASE("a formatter that throws gives a line that says so") {
    auto sink = ctxlog_test::capture_all();
    LOG_ERROR("value {}", explosive{});
    LOG_ERROR("kv", ctxlog::kv("v", explosive{}));
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0]["msg"].get<std::string>().find("formatting failed: formatter exploded") != std::string::npos);
    CHECK(lines[1]["v"].get<std::string>().find("formatter exploded") != std::string::npos);
  }

  TEST_CASE("a format error found only at run time is reported in the line") {
    auto sink = ctxlog_test::capture_all();
    LOG_INFO("{:{}}", 5, -1);  // negative dynamic width
    CHECK(sink->last()["msg"].get<std::string>().find("formatting failed") != std::string::npos);
  }

  TEST_CASE("disabled levels do not evaluate their arguments") {
    auto sink = ctxlog_test::capture_all(ctxlog::level::info);
    evaluated = 0;
    LOG_DEBUG("{}", side_effect());
    LOG_TRACE("{}", side_effect());
    CHECK(evaluated == 0);
    LOG_INFO("{}", side_effect());
    CHECK(evaluated == 1);
    CHECK(sink->size() == 1);
  }

  TEST_CASE("calls below CTXLOG_ACTIVE_LEVEL are compiled out") {
    auto sink = ctxlog_test::capture_all(ctxlog::level::trace);
    int evaluations = 0;
    CHECK(log_stripped_calls(evaluations) == 1);  // only the LOG_WARN of three calls
    CHECK(evaluations == 1);
    CHECK(sink->size() == 1);
  }

  TEST_CASE("named loggers have their own runtime level") {
    auto sink = ctxlog_test::capture_all(ctxlog::level::info);
    auto& orders = ctxlog::get_logger("orders");
    CHECK(&orders == &ctxlog::get_logger("orders"));
    CHECK(&ctxlog::get_logger("default") == &ctxlog::default_logger());
    orders.set_level(ctxlog::level::debug);
    LOG_DEBUG_TO(orders, "debug on orders");
    LOG_DEBUG("debug on default");
    orders.set_level(ctxlog::level::error);
    LOG_WARN_TO(orders, "warn on orders");
    LOG_CRITICAL_TO(orders, "critical on orders");
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0]["logger"] == "orders");
    CHECK(lines[0]["level"] == "debug");
    CHECK(lines[1]["level"] == "critical");
  }

  TEST_CASE("configure() sets levels and sinks per logger") {
    auto all = std::make_shared<ctxlog_test::capture_sink>();
    auto sql = std::make_shared<ctxlog_test::capture_sink>();
    ctxlog::configure({.sinks = {all},
                       .min_level = ctxlog::level::info,
                       .loggers = {{.name = "sql", .min_level = ctxlog::level::trace, .sinks = {sql}},
                                   {.name = "noisy", .min_level = ctxlog::level::error}}});
    LOG_TRACE_TO(ctxlog::get_logger("sql"), "select 1");
    LOG_WARN_TO(ctxlog::get_logger("noisy"), "dropped by level");
    LOG_ERROR_TO(ctxlog::get_logger("noisy"), "kept");
    LOG_INFO_TO(ctxlog::get_logger("fresh"), "new logger at the default level");
    CHECK(sql->size() == 1);
    const auto lines = all->parsed();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0]["logger"] == "noisy");
    CHECK(lines[1]["logger"] == "fresh");
  }

  TEST_CASE("each sink has its own minimum level") {
    auto everything = std::make_shared<ctxlog_test::capture_sink>(ctxlog::level::trace);
    auto errors = std::make_shared<ctxlog_test::capture_sink>(ctxlog::level::error);
    ctxlog::configure({.sinks = {everything, errors}, .min_level = ctxlog::level::trace});
    LOG_DEBUG("d");
    LOG_ERROR("e");
    CHECK(everything->size() == 2);
    CHECK(errors->size() == 1);
  }

  TEST_CASE("a failing sink is counted and the others keep working") {
    auto bad = std::make_shared<ctxlog_test::capture_sink>();
    auto good = std::make_shared<ctxlog_test::capture_sink>();
    ctxlog::configure({.sinks = {bad, good}});
    bad->fail(true);
    const auto before = ctxlog::get_stats().sink_errors;
    LOG_INFO("one");
    LOG_INFO("two");
    ctxlog::flush();
    CHECK(ctxlog::get_stats().sink_errors == before + 2);
    CHECK(good->size() == 2);
  }

  TEST_CASE("after shutdown, log calls are counted as dropped; configure revives") {
    auto sink = ctxlog_test::capture_all();
    ctxlog::shutdown();
    const auto before = ctxlog::get_stats();
    LOG_INFO("into the void");
    ctxlog::flush();
    const auto after = ctxlog::get_stats();
    CHECK(after.dropped == before.dropped + 1);
    CHECK(after.issued == before.issued + 1);
    CHECK(sink->size() == 0);
    auto fresh = ctxlog_test::capture_all();
    LOG_INFO("back");
    CHECK(fresh->size() == 1);
  }

  TEST_CASE("written + dropped == issued") {
    ctxlog_test::capture_all();
    for (int i = 0; i < 100; ++i) LOG_INFO("n {}", i);
    ctxlog::flush();
    const auto s = ctxlog::get_stats();
    CHECK(s.written + s.dropped == s.issued);
    CHECK(s.issued >= 100);
  }
}
