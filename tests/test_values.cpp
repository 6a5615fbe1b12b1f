// kv() of the values users log: containers, maps, optionals, enums, durations, time
// points, tuples, user types with a formatter, exceptions (ctxlog::error) — written as
// JSON values, not strings; a throwing formatter; every line strict JSON.
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <deque>
#include <filesystem>
#include <limits>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/std.h>

#include "support.hpp"
#include "ctxlog/ctxlog.hpp"

namespace {

enum class color { red = 1, green = 7 };
enum plain_enum : unsigned char { small = 3 };
enum class status { active, closed };

struct money {
  long cents;
};
struct throws_when_formatted {};

struct payment_declined : std::runtime_error {
  using std::runtime_error::runtime_error;
};

nlohmann::json one(const std::shared_ptr<ctxlog_test::capture_sink>& sink) {
  ctxlog::flush();
  const auto lines = sink->parsed();  // strict: one object per line, unique keys
  REQUIRE(lines.size() == 1);
  sink->clear();
  return lines[0];
}

}  // namespace

template <>
struct fmt::formatter<money> : fmt::formatter<std::string_view> {
  auto format(const money& m, format_context& ctx) const {
    return fmt::format_to(ctx.out(), "{}.{:02} EUR", m.cents / 100, m.cents % 100);
  }
};
template <>
struct fmt::formatter<status> : fmt::formatter<std::string_view> {
  auto format(status s, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(s == status::active ? "active" : "closed", ctx);
  }
};
template <>
struct fmt::formatter<throws_when_formatted> : fmt::formatter<std::string_view> {
  auto format(const throws_when_formatted&, format_context&) const -> format_context::iterator {
    throw std::runtime_error("no format today");
  }
};

TEST_SUITE("values") {
  TEST_CASE("containers are arrays, maps are objects, nested as deep as they go") {
    auto sink = ctxlog_test::capture_all();
    const std::vector<int> ids{3, 1, 2};
    const std::map<std::string, std::vector<double>> prices{{"a", {1.5, 2}}, {"b", {}}};
    const std::set<std::string> tags{"x", "y\"z"};
    const std::array<bool, 2> flags{true, false};
    const std::list<std::vector<std::string>> nested{{"p", "q"}, {}};
    LOG_INFO("values", ctxlog::kv("ids", ids), ctxlog::kv("prices", prices), ctxlog::kv("tags", tags),
             ctxlog::kv("flags", flags), ctxlog::kv("nested", nested));
    const auto j = one(sink);
    CHECK(j["ids"] == nlohmann::json::array({3, 1, 2}));
    CHECK(j["prices"]["a"] == nlohmann::json::array({1.5, 2.0}));
    CHECK(j["prices"]["b"] == nlohmann::json::array());
    CHECK(j["tags"] == nlohmann::json::array({"x", "y\"z"}));
    CHECK(j["flags"] == nlohmann::json::array({true, false}));
    CHECK(j["nested"][0] == nlohmann::json::array({"p", "q"}));
    CHECK(j["nested"][1].empty());
  }

  TEST_CASE("a range of pairs that repeats a key stays unique: an array of [key, value]") {
    auto sink = ctxlog_test::capture_all();
    const std::vector<std::pair<std::string, int>> kvs{{"a", 1}, {"a", 2}};
    const std::unordered_map<std::string, int> um{{"only", 1}};
    const std::multimap<std::string, int> mm{{"k", 1}, {"k", 2}};
    LOG_INFO("pairs", ctxlog::kv("kvs", kvs), ctxlog::kv("um", um), ctxlog::kv("mm", mm));
    const auto j = one(sink);
    CHECK(j["kvs"] == nlohmann::json::parse(R"([["a",1],["a",2]])"));
    CHECK(j["um"] == nlohmann::json::parse(R"({"only":1})"));
    CHECK(j["mm"] == nlohmann::json::parse(R"([["k",1],["k",2]])"));
  }

  TEST_CASE("optional, tuple, pair, nullptr, enums, durations and time points") {
    auto sink = ctxlog_test::capture_all();
    const std::optional<int> none, some = 4;
    const auto t = std::make_tuple(1, std::string("two"), 3.5);
    const std::optional<std::vector<int>> opt_vec = std::vector<int>{9};
    const auto at = std::chrono::sys_days{std::chrono::year{2026} / 12 / 1} + std::chrono::hours(2) +
                    std::chrono::microseconds(123456);
    LOG_INFO("misc", ctxlog::kv("none", none), ctxlog::kv("some", some), ctxlog::kv("tuple", t),
             ctxlog::kv("pair", std::pair<int, bool>{1, true}), ctxlog::kv("null", nullptr),
             ctxlog::kv("optVec", opt_vec), ctxlog::kv("color", color::green), ctxlog::kv("plain", small),
             ctxlog::kv("status", status::closed), ctxlog::kv("elapsed", std::chrono::milliseconds(1500)),
             ctxlog::kv("at", at), ctxlog::kv("atSeconds", std::chrono::time_point_cast<std::chrono::seconds>(at)));
    const auto j = one(sink);
    CHECK(j["none"].is_null());
    CHECK(j["some"] == 4);
    CHECK(j["tuple"] == nlohmann::json::parse(R"([1,"two",3.5])"));
    CHECK(j["pair"] == nlohmann::json::parse(R"([1,true])"));
    CHECK(j["null"].is_null());
    CHECK(j["optVec"] == nlohmann::json::array({9}));
    CHECK(j["color"] == 7);      // an enum without a formatter: its number
    CHECK(j["plain"] == 3);
    CHECK(j["status"] == "closed");  // a scoped enum with a formatter: its text
    CHECK(j["elapsed"] == 1.5);  // durations: seconds
    CHECK(j["at"] == "2026-12-01T02:00:00.123456Z");
    CHECK(j["atSeconds"] == "2026-12-01T02:00:00Z");
  }

  TEST_CASE("user types with a formatter are text, also inside containers; non-finite doubles are strings") {
    auto sink = ctxlog_test::capture_all();
    const std::vector<money> m{{1250}, {5}};
    const std::vector<double> odd{std::numeric_limits<double>::infinity(), std::nan("")};
    LOG_INFO("money", ctxlog::kv("total", money{1999}), ctxlog::kv("items", m), ctxlog::kv("odd", odd));
    const auto j = one(sink);
    CHECK(j["total"] == "19.99 EUR");
    CHECK(j["items"] == nlohmann::json::array({"12.50 EUR", "0.05 EUR"}));
    CHECK(j["odd"] == nlohmann::json::array({"Infinity", "NaN"}));
  }

  TEST_CASE("hostile strings inside containers are escaped and UTF-8 repaired") {
    auto sink = ctxlog_test::capture_all();
    const std::map<std::string, std::string> m{{"k\"}\n", "\x01\xff"}, {std::string("nul\0", 4), "ok"}};
    LOG_INFO("hostile", ctxlog::kv("m", m), ctxlog::kv("v", std::vector<std::string>{"\"],\"level\":\"x"}));
    const auto j = one(sink);
    CHECK(j["level"] == "info");
    CHECK(j["m"]["k\"}\n"] == "\x01\xef\xbf\xbd");
    CHECK(j["v"][0] == "\"],\"level\":\"x");
  }

  TEST_CASE("a formatter that throws: the line is written with the error in place of that value") {
    auto sink = ctxlog_test::capture_all();
    const std::vector<throws_when_formatted> bad(2);
    LOG_INFO("still written", ctxlog::kv("bad", bad), ctxlog::kv("good", 1));
    const auto j = one(sink);
    CHECK(j["bad"] == "[ctxlog: formatting failed: no format today]");
    CHECK(j["good"] == 1);
  }

  TEST_CASE("ctxlog::error: type, message and the nested_exception chain") {
    auto sink = ctxlog_test::capture_all();
    try {
      try {
        throw std::system_error(std::make_error_code(std::errc::connection_refused), "connect to bank");
      } catch (...) {
        std::throw_with_nested(payment_declined("card could not be charged"));
      }
    } catch (const std::exception& e) {
      LOG_ERROR("payment failed", ctxlog::error(e));
    }
    const auto j = one(sink);
    const auto& err = j["error"];
    CHECK(err["message"] == "card could not be charged");
    CHECK(err["type"].get<std::string>().find("payment_declined") != std::string::npos);
    CHECK(err["cause"]["type"] == "std::system_error");
    CHECK(err["cause"]["message"].get<std::string>().find("connect to bank") == 0);
    CHECK_FALSE(err["cause"].contains("cause"));

    LOG_ERROR("from a pointer", ctxlog::error(std::make_exception_ptr(std::out_of_range("idx"))),
              ctxlog::kv("none", std::exception_ptr()), ctxlog::kv("direct", std::logic_error("kv of an exception")));
    const auto k = one(sink);
    CHECK(k["error"]["type"] == "std::out_of_range");
    CHECK(k["none"].is_null());
    CHECK(k["direct"]["message"] == "kv of an exception");
    LOG_ERROR("not a std::exception", ctxlog::error(std::make_exception_ptr(42)));
    CHECK(one(sink)["error"]["type"] == "int");
  }

  TEST_CASE("a range whose elements are its own type (a path) is text through its formatter, not an endless array") {
    auto sink = ctxlog_test::capture_all();
    LOG_INFO("file", ctxlog::kv("logFile", std::filesystem::path("/var/log/app.log")));
    const auto j = one(sink);
    REQUIRE(j["logFile"].is_string());  // fmt 9 writes a path quoted
    CHECK(j["logFile"].get<std::string>().find("/var/log/app.log") != std::string::npos);
  }

  TEST_CASE("structured values are copied at the call: changing the container later changes nothing") {
    auto sink = ctxlog_test::capture_all();
    std::vector<int> v{1};
    LOG_INFO("copied", ctxlog::kv("v", v));
    v.push_back(2);
    CHECK(one(sink)["v"] == nlohmann::json::array({1}));
  }
}
