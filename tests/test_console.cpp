// The console layout: the shape of a line, colour (always, never, automatic on a
// terminal, NO_COLOR), escaping of control characters, multi-line values, structured
// values, and its options.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <regex>
#include <string>

#include "ctxlog/console.hpp"
#include "ctxlog/ctxlog.hpp"
#include "ctxlog/sinks/fd_sink.hpp"
#include "support.hpp"

namespace {

struct json_text {  // a kv() value that is already JSON (kind::json)
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

std::shared_ptr<capture_sink> console(ctxlog::console_options o = {.color = ctxlog::console_color::never,
                                                                   .time = ctxlog::console_time::none}) {
  auto s = std::make_shared<capture_sink>();
  s->set_layout(ctxlog::console_layout(o));
  ctxlog::configure({.sinks = {s}, .min_level = ctxlog::level::trace, .mode = ctxlog::dispatch_mode::sync});
  return s;
}

std::string last_line(const std::shared_ptr<capture_sink>& s) { return s->lines().back(); }

struct env_var {
  env_var(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    if (value) ::setenv(name, value, 1);
    else ::unsetenv(name);
  }
  ~env_var() {
    if (had_) ::setenv(name_, old_.c_str(), 1);
    else ::unsetenv(name_);
  }
  const char* name_;
  std::string old_;
  bool had_ = false;
};

// A pseudo-terminal: an fd_sink on its terminal side, the bytes read from the other.
struct pty {
  pty() {
    master = ::posix_openpt(O_RDWR | O_NOCTTY);
    REQUIRE(master >= 0);
    REQUIRE(::grantpt(master) == 0);
    REQUIRE(::unlockpt(master) == 0);
    const int slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
    REQUIRE(slave >= 0);
    sink = std::make_shared<ctxlog::sinks::fd_sink>(slave, ctxlog::sinks::fd_sink::ownership::owned);
  }
  ~pty() {
    sink.reset();
    ::close(master);
  }
  std::string read_some() {
    std::string out;
    pollfd p{master, POLLIN, 0};
    while (::poll(&p, 1, 200) > 0) {
      char buf[4096];
      const ssize_t n = ::read(master, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
      if (out.find('\n') != std::string::npos) break;
    }
    return out;
  }
  int master = -1;
  std::shared_ptr<ctxlog::sinks::fd_sink> sink;
};

}  // namespace

TEST_SUITE("console line") {
  TEST_CASE("a line has the level, logger, message, fields and the context after a bar") {
    auto s = console();
    auto& orders = ctxlog::get_logger("orders");
    ctxlog::run(ctxlog::fields{}
                    .request_id("r-1")
                    .tenant_id("acme")
                    .trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
                    .span_id("00f067aa0ba902b7")
                    .user_id("u-3")
                    .set("region", "eu"),
                [&] { LOG_INFO_TO(orders, "order {} created", 42, ctxlog::kv("amount", 12.5), ctxlog::kv("ok", true)); });
    CHECK(last_line(s) ==
          "INFO  [orders] order 42 created amount=12.5 ok=true | req=r-1 tenant=acme trace=4bf92f35 span=00f067aa "
          "user=u-3 region=eu\n");
    LOG_WARN("plain");
    CHECK(last_line(s) == "WARN  plain\n");  // the default logger's name is left out
  }

  TEST_CASE("every level has its own five-letter name") {
    auto s = console();
    LOG_TRACE("t");
    LOG_DEBUG("d");
    LOG_INFO("i");
    LOG_WARN("w");
    LOG_ERROR("e");
    LOG_CRITICAL("c");
    const auto lines = s->lines();
    REQUIRE(lines.size() == 6);
    CHECK(lines[0] == "TRACE t\n");
    CHECK(lines[1] == "DEBUG d\n");
    CHECK(lines[4] == "ERROR e\n");
    CHECK(lines[5] == "CRIT  c\n");
  }

  TEST_CASE("values with spaces, quotes, '=' or nothing are quoted; structured values are compact JSON") {
    auto s = console();
    LOG_INFO("m", ctxlog::kv("a", "x y"), ctxlog::kv("b", ""), ctxlog::kv("c", "say \"hi\""), ctxlog::kv("d", "k=v"),
             ctxlog::kv("e", json_text{R"({"n":[1,2],"s":"a b"})"}), ctxlog::kv("n", -3), ctxlog::kv("u", 7u));
    CHECK(last_line(s) == "INFO  m a=\"x y\" b=\"\" c=\"say \\\"hi\\\"\" d=\"k=v\" e={\"n\":[1,2],\"s\":\"a b\"} n=-3 u=7\n");
  }

  TEST_CASE("of two fields with one key the later is shown, and a field hides a context field") {
    auto s = console();
    ctxlog::run({{"region", "eu"}, {"zone", "a"}}, [] { LOG_INFO("m", ctxlog::kv("k", 1), ctxlog::kv("region", "us"), ctxlog::kv("k", 2)); });
    CHECK(last_line(s) == "INFO  m region=us k=2 | zone=a\n");
  }

  TEST_CASE("the time: UTC with a Z, local, with the date and more digits") {
    auto s = console({.color = ctxlog::console_color::never, .time = ctxlog::console_time::utc});
    LOG_INFO("m");
    CHECK(std::regex_match(last_line(s), std::regex(R"(\d\d:\d\d:\d\d\.\d{3}Z INFO  m\n)")));
    s = console({.color = ctxlog::console_color::never, .time = ctxlog::console_time::utc, .date = true,
                 .precision = ctxlog::time_precision::us});
    LOG_INFO("m");
    CHECK(std::regex_match(last_line(s), std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}Z INFO  m\n)")));

    env_var tz("TZ", "XST-5:30");  // UTC+5:30, no tz database needed
    ::tzset();
    auto utc = console({.color = ctxlog::console_color::never, .time = ctxlog::console_time::utc});
    LOG_INFO("m");
    const std::string u = last_line(utc);
    auto local = console({.color = ctxlog::console_color::never, .time = ctxlog::console_time::local});
    LOG_INFO("m");
    const std::string l = last_line(local);
    const int um = std::stoi(u.substr(0, 2)) * 60 + std::stoi(u.substr(3, 2));
    const int lm = std::stoi(l.substr(0, 2)) * 60 + std::stoi(l.substr(3, 2));
    const int diff = ((lm - um) % 1440 + 1440) % 1440;
    CHECK((diff == 330 || diff == 331));  // a minute may have turned between the two calls
    CHECK(l.find('Z') == std::string::npos);
  }

  TEST_CASE("the source and the thread at the end, when asked for") {
    auto s = console({.color = ctxlog::console_color::never, .time = ctxlog::console_time::none, .source = true,
                      .thread = true});
    LOG_INFO("m");
    CHECK(std::regex_match(last_line(s), std::regex(R"(INFO  m test_console\.cpp:\d+ thread=\d+\n)")));
  }

  TEST_CASE("the shortened ids can be shown in full") {
    auto s = console({.color = ctxlog::console_color::never, .time = ctxlog::console_time::none, .id_chars = 0});
    ctxlog::run(ctxlog::fields{}.trace_id("4bf92f3577b34da6a3ce929d0e0e4736"), [] { LOG_INFO("m"); });
    CHECK(last_line(s) == "INFO  m | trace=4bf92f3577b34da6a3ce929d0e0e4736\n");
  }

  TEST_CASE("the console layout works as config::layout") {
    auto s = std::make_shared<capture_sink>();
    ctxlog::configure({.sinks = {s},
                       .mode = ctxlog::dispatch_mode::sync,
                       .layout = ctxlog::console_layout({.color = ctxlog::console_color::never, .time = ctxlog::console_time::none})});
    LOG_INFO("m {}", 1);
    CHECK(last_line(s) == "INFO  m 1\n");
  }
}

TEST_SUITE("console safety") {
  TEST_CASE("control characters from log data are escaped: no terminal escape sequence gets through") {
    auto s = console({.color = ctxlog::console_color::always, .time = ctxlog::console_time::none});
    ctxlog::run({{"ctx\x1b]0;title\x07", "v\x1b[2J"}}, [] {
      LOG_INFO("a\x1b[31mred\rX\x07\x7f{}", "\t", ctxlog::kv("k\x1b", "v\x1b[1m"), ctxlog::kv("c1", "\xc2\x9b" "31m"),
               ctxlog::kv("bidi", "\xe2\x80\xae" "abc"), ctxlog::kv("bad", "\xff\xfe"));
    });
    const std::string line = last_line(s);
    // The only escape sequences are the layout's own colours.
    const std::string no_colors = std::regex_replace(line, std::regex("\x1b\\[[0-9;]*m"), "");
    CHECK(no_colors.find('\x1b') == std::string::npos);
    CHECK(no_colors.find('\r') == std::string::npos);
    CHECK(no_colors.find('\x07') == std::string::npos);
    CHECK(no_colors.find('\x7f') == std::string::npos);
    CHECK(no_colors.find("\xc2\x9b") == std::string::npos);
    CHECK(no_colors.find("\xe2\x80\xae") == std::string::npos);
    CHECK(no_colors.find("a\\x1b[31mred\\rX\\x07\\x7f\\t") != std::string::npos);
    CHECK(no_colors.find("\"k\\x1b\"=") != std::string::npos);  // quoted: it holds a control character
    CHECK(no_colors.find("\\u009b31m") != std::string::npos);
    CHECK(no_colors.find("\\u202eabc") != std::string::npos);
    CHECK(no_colors.find("bad=\xef\xbf\xbd\xef\xbf\xbd") != std::string::npos);  // invalid UTF-8 replaced
    CHECK(no_colors.find("\"ctx\\x1b]0;title\\x07\"=\"v\\x1b[2J\"") != std::string::npos);
  }

  TEST_CASE("a multi-line message or value continues on indented lines, so it cannot pose as a record") {
    auto s = console({.color = ctxlog::console_color::never, .time = ctxlog::console_time::utc});
    LOG_INFO("first\n00:00:00.000Z ERROR forged\n", ctxlog::kv("trace", "at a()\nat b()"));
    const std::string line = last_line(s);
    const auto nl = line.find('\n');
    REQUIRE(nl != std::string::npos);
    CHECK(line.substr(nl, 28) == "\n    00:00:00.000Z ERROR for");
    CHECK(line.find("trace=\"at a()\n    at b()\"") != std::string::npos);
    // Every line after the first is indented; the record ends in exactly one newline.
    for (std::size_t p = line.find('\n'); p + 1 < line.size(); p = line.find('\n', p + 1))
      CHECK(line.substr(p + 1, 4) == "    ");
    CHECK(line.substr(line.size() - 2) != "\n\n");
  }
}

TEST_SUITE("console colour") {
  TEST_CASE("always colours the level, never colours nothing") {
    auto s = console({.color = ctxlog::console_color::always, .time = ctxlog::console_time::none});
    LOG_INFO("m");
    LOG_ERROR("e");
    const auto lines = s->lines();
    CHECK(lines[0].find("\x1b[32mINFO \x1b[0m") != std::string::npos);
    CHECK(lines[1].find("\x1b[31mERROR\x1b[0m") != std::string::npos);
    s = console();
    LOG_INFO("m");
    CHECK(last_line(s).find('\x1b') == std::string::npos);
  }

  TEST_CASE("automatic: no colour for a sink that is not a terminal") {
    env_var nc("NO_COLOR", nullptr);
    auto s = console({.time = ctxlog::console_time::none});
    LOG_INFO("m");
    CHECK(last_line(s) == "INFO  m\n");
  }

  TEST_CASE("automatic: colour on a terminal unless NO_COLOR is set non-empty") {
    for (const char* no_color : {static_cast<const char*>(nullptr), "", "1"}) {
      CAPTURE(no_color ? no_color : "(unset)");
      env_var nc("NO_COLOR", no_color);
      pty t;
      REQUIRE(t.sink->is_terminal());
      t.sink->set_layout(ctxlog::console_layout({.time = ctxlog::console_time::none}));
      ctxlog::configure({.sinks = {t.sink}, .mode = ctxlog::dispatch_mode::sync});
      LOG_INFO("on a tty");
      ctxlog::flush();
      const std::string out = t.read_some();
      CHECK(out.find("on a tty") != std::string::npos);
      const bool colored = out.find("\x1b[32m") != std::string::npos;
      CHECK(colored == !(no_color && *no_color));
      ctxlog::configure({.sinks = {std::make_shared<capture_sink>()}, .mode = ctxlog::dispatch_mode::sync});
    }
  }
}
