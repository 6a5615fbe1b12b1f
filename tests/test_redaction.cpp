// Redaction: key patterns (case, wildcards, nesting), per-call and context fields, a
// censor function (also one that throws), rules rejected by configure(), and the rule
// that no layout ever shows a redacted value.
#include <doctest/doctest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "ctxlog/console.hpp"
#include "ctxlog/ctxlog.hpp"
#include "ctxlog/schemas.hpp"
#include "support.hpp"

namespace {

// A kv() value that is already JSON text (kind::json), as the structured values of
// issue 10 (kv() of a map, a container, an optional) arrive in a record.
struct json_text {
  std::string text;
};

}  // namespace

template <>
struct fmt::formatter<json_text> : fmt::formatter<std::string_view> {
  auto format(const json_text& j, fmt::format_context& ctx) const { return fmt::format_to(ctx.out(), "{}", j.text); }
};

namespace ctxlog::detail {
template <>
struct kv_value<json_text> {
  explicit kv_value(const json_text& v) : str(v.text) {}
  kv_value(const kv_value&) = delete;
  kv_value& operator=(const kv_value&) = delete;
  std::size_t size() const noexcept { return 1 + encoded_size(str); }
  std::byte* write(std::byte* p) const noexcept {
    *p++ = static_cast<std::byte>(kv_tag::json);
    return encode(p, str);
  }
  std::string_view str;
};
}  // namespace ctxlog::detail

namespace {

using ctxlog_test::capture_sink;

std::shared_ptr<capture_sink> redacting(ctxlog::redact_options r, ctxlog::layout_ptr layout = nullptr) {
  auto s = std::make_shared<capture_sink>();
  if (layout) s->set_layout(std::move(layout));
  ctxlog::configure({.sinks = {s}, .mode = ctxlog::dispatch_mode::sync, .redact = std::move(r)});
  return s;
}

std::string invalid_rule(std::vector<std::string> keys) {
  try {
    ctxlog::configure({.redact = {.keys = std::move(keys)}});
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

// The layouts every redaction guarantee is checked with. A layout added here is checked
// by every test case that loops over it.
struct named_layout {
  const char* name;
  ctxlog::layout_ptr (*make)();
  bool json;  // each line is one JSON object
};
const named_layout k_layouts[] = {
    {"json", [] { return ctxlog::json_layout(); }, true},
    {"json renamed", [] { return ctxlog::json_layout({.names = {.msg = "message"}}); }, true},
    {"console", [] { return ctxlog::console_layout({.color = ctxlog::console_color::always}); }, false},
    {"ecs", [] { return ctxlog::ecs_layout(); }, true},
    {"otel", [] { return ctxlog::otel_layout(); }, true},
    {"gcp", [] { return ctxlog::gcp_layout({.project_id = "p"}); }, true},
    {"datadog", [] { return ctxlog::datadog_layout(); }, true},
    {"logfmt", [] { return ctxlog::logfmt_layout(); }, false},
};

}  // namespace

TEST_SUITE("redaction of per-call fields") {
  TEST_CASE("a matching key's value is replaced by the censor, keys compared case-insensitively") {
    auto s = redacting({.keys = {"password", "Authorization"}});
    LOG_INFO("login", ctxlog::kv("user", "bob"), ctxlog::kv("PassWord", "hunter2"), ctxlog::kv("authorization", 42));
    const auto j = s->last();
    CHECK(j["user"] == "bob");
    CHECK(j["PassWord"] == "[redacted]");
    CHECK(j["authorization"] == "[redacted]");  // a number too, written as the censor string
  }

  TEST_CASE("the censor is configurable, and unmatched records are written as they are") {
    auto s = redacting({.keys = {"secret"}, .censor = "***"});
    LOG_INFO("a", ctxlog::kv("n", 1), ctxlog::kv("f", 2.5), ctxlog::kv("b", true), ctxlog::kv("s", "x"));
    LOG_INFO("b", ctxlog::kv("secret", "y"));
    const auto lines = s->parsed();
    CHECK(lines[0]["n"] == 1);
    CHECK(lines[0]["f"] == 2.5);
    CHECK(lines[0]["b"] == true);
    CHECK(lines[0]["s"] == "x");
    CHECK(lines[1]["secret"] == "***");
  }

  TEST_CASE("'*' matches one segment of a dotted key, '**' any number") {
    auto s = redacting({.keys = {"*.token", "**.pin"}});
    LOG_INFO("x", ctxlog::kv("user.token", "t1"), ctxlog::kv("token", "t2"), ctxlog::kv("a.b.token", "t3"),
             ctxlog::kv("pin", "p1"), ctxlog::kv("card.holder.pin", "p2"));
    const auto j = s->last();
    CHECK(j["user.token"] == "[redacted]");
    CHECK(j["token"] == "t2");
    CHECK(j["a.b.token"] == "t3");
    CHECK(j["pin"] == "[redacted]");
    CHECK(j["card.holder.pin"] == "[redacted]");
  }

  TEST_CASE("nested keys of a structured value are redacted and the value stays valid JSON") {
    auto s = redacting({.keys = {"*.token", "**.cvv", "user.Address"}});
    LOG_INFO("x", ctxlog::kv("user", json_text{R"({"name":"a\"b","token":"x","inner":{"token":"y"},"address":{"city":"c"}})"}),
             ctxlog::kv("cards", json_text{R"([{"cvv":123,"last4":"4242"},{"cvv":456}])"}),
             ctxlog::kv("other", json_text{R"({"token":"z"})"}));
    const auto j = s->last();
    CHECK(j["user"]["name"] == "a\"b");
    CHECK(j["user"]["token"] == "[redacted]");
    CHECK(j["user"]["inner"]["token"] == "y");       // user.inner.token: three segments
    CHECK(j["user"]["address"] == "[redacted]");     // a whole object replaced
    CHECK(j["cards"][0]["cvv"] == "[redacted]");     // array elements add no segment
    CHECK(j["cards"][0]["last4"] == "4242");
    CHECK(j["cards"][1]["cvv"] == "[redacted]");
    CHECK(j["other"]["token"] == "[redacted]");
  }

  TEST_CASE("escaped keys inside a structured value match as their text") {
    auto s = redacting({.keys = {"u.token"}});
    LOG_INFO("x", ctxlog::kv("u", json_text{R"({"to\u006ben":"x","k":"\u00e9\n"})"}));
    const auto j = s->last();
    CHECK(j["u"]["token"] == "[redacted]");
    CHECK(j["u"]["k"] == "\xc3\xa9\n");
  }

  TEST_CASE("a structured value that is not JSON, or too deep to walk, is replaced as a whole") {
    auto s = redacting({.keys = {"**.token"}});
    std::string deep;
    for (int i = 0; i < 100; ++i) deep += R"({"a":)";
    deep += "1";
    for (int i = 0; i < 100; ++i) deep += "}";
    LOG_INFO("x", ctxlog::kv("bad", json_text{R"({"token": "x")"}), ctxlog::kv("deep", json_text{deep}),
             ctxlog::kv("fine", json_text{"[1,2]"}));
    const auto j = s->last();
    CHECK(j["bad"] == "[redacted]");
    CHECK(j["deep"] == "[redacted]");
    CHECK(j["fine"] == nlohmann::json::array({1, 2}));
  }

#if __has_include("ctxlog/detail/kv_json.hpp")
  TEST_CASE("kv() of a map is redacted by its nested keys") {
    auto s = redacting({.keys = {"*.token"}});
    const std::map<std::string, std::string> user{{"name", "a"}, {"token", "x"}};
    LOG_INFO("x", ctxlog::kv("user", user));
    const auto j = s->last();
    CHECK(j["user"]["name"] == "a");
    CHECK(j["user"]["token"] == "[redacted]");
  }
#endif
}

TEST_SUITE("redaction of context fields") {
  TEST_CASE("custom context fields are redacted, correlation ids are not") {
    auto s = redacting({.keys = {"session", "requestId", "user.*"}});
    ctxlog::run({{"requestId", "r-1"}, {"session", "s3cr3t"}, {"region", "eu"}, {"user.email", "a@b"}}, [] {
      LOG_INFO("one");
      LOG_INFO("two", ctxlog::kv("k", 1));
    });
    for (const auto& j : s->parsed()) {
      CHECK(j["requestId"] == "r-1");
      CHECK(j["session"] == "[redacted]");
      CHECK(j["region"] == "eu");
      CHECK(j["user.email"] == "[redacted]");
    }
  }

  TEST_CASE("many contexts, async: each line carries its own context, redacted") {
    auto s = std::make_shared<capture_sink>();
    ctxlog::configure({.sinks = {s}, .redact = {.keys = {"token"}}});
    const int n = ctxlog_test::sanitized ? 200 : 3000;
    for (int i = 0; i < n; ++i) {
      const std::string id = std::to_string(i);
      ctxlog::run({{"requestId", id}, {"token", "t" + id}, {"seq", id}}, [] { LOG_INFO("x"); });
    }
    const auto lines = s->parsed();
    REQUIRE(lines.size() == static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      const auto& j = lines[static_cast<std::size_t>(i)];
      CHECK(j["requestId"] == std::to_string(i));
      CHECK(j["seq"] == std::to_string(i));
      CHECK(j["token"] == "[redacted]");
    }
  }

  TEST_CASE("a per-call field that overrides a context field is redacted too") {
    auto s = redacting({.keys = {"token"}});
    ctxlog::run({{"token", "ctx"}}, [] { LOG_INFO("x", ctxlog::kv("token", "call")); });
    const auto j = s->last();
    CHECK(j["token"] == "[redacted]");
  }
}

TEST_SUITE("censor functions") {
  TEST_CASE("a censor function gets the key path and the value's text") {
    std::vector<std::string> seen;
    auto s = redacting({.keys = {"card", "*.iban", "ctxsecret"},
                        .censor_fn = [&seen](std::string_view key, std::string_view value) {
                          seen.push_back(std::string(key) + "=" + std::string(value));
                          return "len:" + std::to_string(value.size());
                        }});
    ctxlog::run({{"ctxsecret", "abcd"}}, [] {
      LOG_INFO("x", ctxlog::kv("card", "4242424242424242"), ctxlog::kv("acct", json_text{R"({"iban":"DE89\"x"})"}),
               ctxlog::kv("Card", 7));
    });
    const auto j = s->last();
    CHECK(j["card"] == "len:16");
    CHECK(j["Card"] == "len:1");
    CHECK(j["acct"]["iban"] == "len:6");  // DE89"x, unescaped
    CHECK(j["ctxsecret"] == "len:4");
    CHECK(std::find(seen.begin(), seen.end(), "acct.iban=DE89\"x") != seen.end());
    CHECK(std::find(seen.begin(), seen.end(), "ctxsecret=abcd") != seen.end());
  }

  TEST_CASE("a censor function that throws gives the fixed censor, never the raw value") {
    auto s = redacting({.keys = {"password", "**.pin"},
                        .censor_fn = [](std::string_view, std::string_view) -> std::string { throw std::runtime_error("no"); }});
    ctxlog::run({{"password", "ctx-raw"}}, [] {
      LOG_INFO("x", ctxlog::kv("password", "call-raw"), ctxlog::kv("o", json_text{R"({"pin":"nested-raw"})"}));
    });
    const std::string line = s->lines().back();
    CHECK(line.find("raw") == std::string::npos);
    const auto j = ctxlog_test::parse_line(line);
    CHECK(j["password"] == "[redacted]");
    CHECK(j["o"]["pin"] == "[redacted]");
  }
}

TEST_SUITE("redaction rules") {
  TEST_CASE("a rule that cannot match makes configure() throw, and the old configuration stays") {
    auto s = redacting({.keys = {"password"}});
    CHECK(invalid_rule({""}).find("keys[0] is empty") != std::string::npos);
    CHECK(invalid_rule({"ok", "a..b"}).find("keys[1] \"a..b\" has an empty segment") != std::string::npos);
    CHECK(invalid_rule({".a"}).find("empty segment") != std::string::npos);
    CHECK(invalid_rule({"a."}).find("empty segment") != std::string::npos);
    CHECK(invalid_rule({"tok*"}).find("'*' must be a whole segment") != std::string::npos);
    CHECK(invalid_rule({"***"}).find("'*' must be a whole segment") != std::string::npos);
    CHECK(invalid_rule({"a b"}).find("whitespace or a control character") != std::string::npos);
    CHECK(invalid_rule({"a\x1b"}).find("\\x1b") != std::string::npos);
    CHECK_THROWS_AS(ctxlog::configure({.redact = {.censor_fn = [](std::string_view, std::string_view) { return std::string(); }}}),
                    std::invalid_argument);
    LOG_INFO("still", ctxlog::kv("password", "x"));
    CHECK(s->last()["password"] == "[redacted]");  // the old sink, and its rules
  }

  TEST_CASE("no rule: values pass through untouched") {
    auto s = redacting({});
    ctxlog::run({{"password", "ctx"}}, [] { LOG_INFO("x", ctxlog::kv("password", "call")); });
    CHECK(s->last()["password"] == "call");
  }
}

TEST_SUITE("redaction in every layout") {
  TEST_CASE("no layout shows a redacted value, per-call, nested or from the context") {
    for (const named_layout& l : k_layouts) {
      CAPTURE(l.name);
      auto s = redacting({.keys = {"password", "*.token", "session"}}, l.make());
      ctxlog::run({{"requestId", "r-9"}, {"session", "SECRET-1"}}, [] {
        LOG_INFO("login", ctxlog::kv("password", "SECRET-2"), ctxlog::kv("user", json_text{R"({"token":"SECRET-3"})"}),
                 ctxlog::kv("user.token", "SECRET-4"), ctxlog::kv("visible", "shown"));
      });
      const auto lines = s->lines();
      REQUIRE(lines.size() == 1);
      const std::string& line = lines[0];
      CHECK(line.find("SECRET") == std::string::npos);
      CHECK(line.find("[redacted]") != std::string::npos);
      CHECK(line.find("shown") != std::string::npos);
      CHECK(line.find("r-9") != std::string::npos);
      if (l.json) ctxlog_test::parse_line(line);
    }
  }
}
