// Levels: level specs, CTXLOG_LEVEL at configure() and at start-up, the precedence of
// run-time, environment and configuration levels, set_level() from many threads, and
// calls whose level is a run-time value (LOG_AT).
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ctxlog/ctxlog.hpp"
#include "support.hpp"

namespace {

using ctxlog::level;

// What fn wrote to stderr (fd 2).
template <class F>
std::string stderr_of(F&& fn) {
  std::fflush(stderr);
  FILE* tmp = std::tmpfile();
  REQUIRE(tmp != nullptr);
  const int saved = ::dup(2);
  ::dup2(::fileno(tmp), 2);
  fn();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::string out;
  std::rewind(tmp);
  char buf[512];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, tmp)) > 0;) out.append(buf, n);
  std::fclose(tmp);
  return out;
}

std::string parse_error(std::string_view spec) {
  try {
    (void)ctxlog::parse_level_spec(spec);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

// Sets (or unsets, with nullptr) an environment variable for one scope.
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

int evaluations = 0;
int counted() { return ++evaluations; }

}  // namespace

TEST_SUITE("level specs") {
  TEST_CASE("a spec gives a default level and per-logger levels, whitespace and letter case tolerated") {
    const auto s = ctxlog::parse_level_spec("  info , orders = DEBUG,sql=warning,\tnoisy=off ");
    REQUIRE(s.default_level.has_value());
    CHECK(*s.default_level == level::info);
    REQUIRE(s.loggers.size() == 3);
    CHECK(s.loggers[0] == std::pair<std::string, level>{"orders", level::debug});
    CHECK(s.loggers[1] == std::pair<std::string, level>{"sql", level::warn});
    CHECK(s.loggers[2] == std::pair<std::string, level>{"noisy", level::off});
    for (const char* name : {"trace", "debug", "info", "warn", "error", "critical", "off"})
      CHECK(ctxlog::parse_level_spec(name).default_level == ctxlog::parse_level(name));
  }

  TEST_CASE("of two items for one logger or two defaults the later wins") {
    const auto s = ctxlog::parse_level_spec("debug,orders=info,error,orders=trace");
    CHECK(*s.default_level == level::error);
    REQUIRE(s.loggers.size() == 1);
    CHECK(s.loggers[0].second == level::trace);
  }

  TEST_CASE("an empty spec sets nothing") {
    const auto s = ctxlog::parse_level_spec(" \t");
    CHECK_FALSE(s.default_level.has_value());
    CHECK(s.loggers.empty());
  }

  TEST_CASE("a bad spec throws invalid_argument naming the bad part") {
    CHECK(parse_error("info,orders=dbug").find("\"dbug\"") != std::string::npos);
    CHECK(parse_error("info,orders=dbug").find("\"orders=dbug\"") != std::string::npos);
    CHECK(parse_error("=debug").find("empty logger name") != std::string::npos);
    CHECK(parse_error("info,,sql=warn").find("empty item") != std::string::npos);
    CHECK(parse_error("info,").find("empty item") != std::string::npos);
    CHECK(parse_error("orders=").find("no level") != std::string::npos);
    CHECK(parse_error("a=b=c").find("more than one '='") != std::string::npos);
    CHECK(parse_error("verbose please").find("\"verbose please\"") != std::string::npos);
    CHECK(parse_error("my logger=info").find("whitespace") != std::string::npos);
    CHECK(parse_error("x\x1b[31m=info").find("\\x1b") != std::string::npos);  // no raw escape in the message
  }
}

TEST_SUITE("levels from the environment") {
  TEST_CASE("CTXLOG_LEVEL at configure() sets the default, existing and later-created loggers") {
    auto& early = ctxlog::get_logger("env.early");
    env_var e("CTXLOG_LEVEL", "warn, env.early=debug, env.later=trace");
    auto sink = std::make_shared<ctxlog_test::capture_sink>();
    ctxlog::configure({.sinks = {sink}, .mode = ctxlog::dispatch_mode::sync});
    CHECK(ctxlog::default_logger().get_level() == level::warn);
    CHECK(early.get_level() == level::debug);
    CHECK(ctxlog::get_logger("env.later").get_level() == level::trace);  // created after configure()
    CHECK(ctxlog::get_logger("env.unnamed").get_level() == level::warn);
    LOG_INFO("not written");
    LOG_WARN("written");
    LOG_DEBUG_TO(early, "written too");
    CHECK(sink->size() == 2);
  }

  TEST_CASE("a logger's own level beats a default, and the environment beats the configuration") {
    env_var e("CTXLOG_LEVEL", "debug,prec.b=trace");
    ctxlog::configure({.min_level = level::error,
                       .loggers = {{.name = "prec.a", .min_level = level::warn}, {.name = "prec.b", .min_level = level::critical}}});
    CHECK(ctxlog::default_logger().get_level() == level::debug);      // env default over config.min_level
    CHECK(ctxlog::get_logger("prec.a").get_level() == level::warn);    // a name (config) over a default (env)
    CHECK(ctxlog::get_logger("prec.b").get_level() == level::trace);   // env name over config name
    CHECK(ctxlog::get_logger("prec.c").get_level() == level::debug);
  }

  TEST_CASE("config::level_env names the variable, and an empty name opts out") {
    env_var e("CTXLOG_LEVEL", "trace");
    env_var mine("ORDERS_LOG", "error,optout.x=debug");
    ctxlog::configure({.min_level = level::info, .level_env = ""});
    CHECK(ctxlog::default_logger().get_level() == level::info);
    ctxlog::configure({.min_level = level::info, .level_env = "ORDERS_LOG"});
    CHECK(ctxlog::default_logger().get_level() == level::error);
    CHECK(ctxlog::get_logger("optout.x").get_level() == level::debug);
  }

  TEST_CASE("a bad CTXLOG_LEVEL is ignored as a whole, with one message on stderr naming the bad part") {
    env_var e("CTXLOG_LEVEL", "debug,bad.a=trace,bad.b=loud");
    std::string err = stderr_of([] {
      ctxlog::configure({.min_level = level::warn, .loggers = {{.name = "bad.c", .min_level = level::error}}});
    });
    CHECK(err.find("CTXLOG_LEVEL") != std::string::npos);
    CHECK(err.find("\"loud\"") != std::string::npos);
    CHECK(std::count(err.begin(), err.end(), '\n') == 1);
    CHECK(ctxlog::default_logger().get_level() == level::warn);     // not debug: nothing of the spec applies
    CHECK(ctxlog::get_logger("bad.a").get_level() == level::warn);  // not trace
    CHECK(ctxlog::get_logger("bad.c").get_level() == level::error);
    // The same bad value again: no second message.
    err = stderr_of([] { ctxlog::configure({.min_level = level::warn}); });
    CHECK(err.empty());
  }

  TEST_CASE("before any configure(), the default configuration reads CTXLOG_LEVEL") {
    // A fresh process: this test case runs itself again with the variable set.
    if (std::getenv("CTXLOG_TEST_LEVELS_CHILD")) {  // 42: every check held
      const bool ok = ctxlog::default_logger().get_level() == level::debug &&
                      ctxlog::get_logger("child.sql").get_level() == level::error &&
                      ctxlog::get_logger("child.other").get_level() == level::debug;
      std::_Exit(ok ? 42 : 1);
    }
    const std::string self = ctxlog_test::self_exe_path();  // not /proc/self/exe: valgrind
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::setenv("CTXLOG_TEST_LEVELS_CHILD", "1", 1);
      ::setenv("CTXLOG_LEVEL", "debug,child.sql=error", 1);
      const char* args[] = {"test_levels", "--test-case=*the default configuration reads CTXLOG_LEVEL",
                            "--no-version", nullptr};
      ::execv(self.c_str(), const_cast<char* const*>(args));
      ::_exit(127);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 42);
  }
}

TEST_SUITE("levels at run time") {
  TEST_CASE("set_level(name) applies to a logger now and to one created later, until configure()") {
    ctxlog::configure({.min_level = level::info, .level_env = ""});
    auto& now = ctxlog::get_logger("rt.now");
    ctxlog::set_level("rt.now", level::trace);
    ctxlog::set_level("rt.future", level::error);
    CHECK(now.get_level() == level::trace);
    CHECK(ctxlog::get_logger("rt.future").get_level() == level::error);
    ctxlog::set_level("default", level::critical);
    CHECK(ctxlog::default_logger().get_level() == level::critical);
    ctxlog::configure({.min_level = level::info, .level_env = ""});
    CHECK(now.get_level() == level::info);
    CHECK(ctxlog::get_logger("rt.future").get_level() == level::info);
    CHECK(ctxlog::default_logger().get_level() == level::info);
  }

  TEST_CASE("set_level(level) sets the default, and a level by name still beats it") {
    env_var e("CTXLOG_LEVEL", "rt.env=warn");
    ctxlog::configure({.min_level = level::info, .loggers = {{.name = "rt.cfg", .min_level = level::error}}});
    ctxlog::set_level(level::debug);
    CHECK(ctxlog::default_logger().get_level() == level::debug);
    CHECK(ctxlog::get_logger("rt.plain").get_level() == level::debug);
    CHECK(ctxlog::get_logger("rt.env").get_level() == level::warn);
    CHECK(ctxlog::get_logger("rt.cfg").get_level() == level::error);
    ctxlog::set_level("rt.env", level::trace);  // run time beats the environment
    CHECK(ctxlog::get_logger("rt.env").get_level() == level::trace);
  }

  TEST_CASE("set_level from many threads while others log and create loggers") {
    auto sink = std::make_shared<ctxlog_test::capture_sink>();
    ctxlog::configure({.sinks = {sink}, .min_level = level::info, .level_env = ""});
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    const int rounds = ctxlog_test::sanitized ? 300 : 3000;
    for (int t = 0; t < 2; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < rounds; ++i) {
          ctxlog::set_level("mt.a", i % 2 ? level::debug : level::warn);
          ctxlog::set_level(i % 3 ? level::info : level::error);
          ctxlog::set_level("mt.new" + std::to_string((t * rounds + i) % 50), level::trace);
        }
      });
    for (int t = 0; t < 2; ++t)
      threads.emplace_back([&] {
        auto& a = ctxlog::get_logger("mt.a");
        int i = 0;
        while (!stop.load(std::memory_order_relaxed)) {
          LOG_INFO_TO(a, "a {}", i);
          LOG_AT_TO(ctxlog::get_logger("mt.new" + std::to_string(i % 50)), level::debug, "new {}", i);
          ++i;
        }
        // The setters are done (stop comes after their join): every mt.new* is at trace,
        // so these lines are written however the race above went (under TSan the setters
        // can finish before a logger's first call).
        for (int k = 0; k < 10; ++k) LOG_AT_TO(ctxlog::get_logger("mt.new" + std::to_string(k)), level::debug, "after {}", k);
      });
    for (int t = 0; t < 2; ++t) threads[static_cast<std::size_t>(t)].join();
    stop.store(true);
    for (std::size_t t = 2; t < threads.size(); ++t) threads[t].join();
    for (int i = 0; i < 50; ++i) CHECK(ctxlog::get_logger("mt.new" + std::to_string(i)).get_level() == level::trace);
    ctxlog::flush();
    CHECK(sink->parsed().size() >= 20);  // every line parses; at least the 2 x 10 "after" lines
    const auto s = ctxlog::get_stats();
    CHECK(s.written + s.dropped == s.issued);
  }
}

TEST_SUITE("run-time level calls") {
  TEST_CASE("LOG_AT writes at the level given at run time, with its own call site per level") {
    auto sink = std::make_shared<ctxlog_test::capture_sink>();
    ctxlog::configure({.sinks = {sink}, .min_level = level::debug, .mode = ctxlog::dispatch_mode::sync, .level_env = ""});
    for (const level l : {level::trace, level::debug, level::info, level::warn, level::error, level::critical})
      LOG_AT(l, "at {}", ctxlog::to_string(l), ctxlog::kv("n", 1));
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == 5);  // trace is below debug
    CHECK(lines[0]["level"] == "debug");
    CHECK(lines[0]["msg"] == "at debug");
    CHECK(lines[4]["level"] == "critical");
    CHECK(lines[4]["n"] == 1);
    CHECK(lines[0]["line"] == lines[4]["line"]);
    auto& orders = ctxlog::get_logger("at.orders");
    LOG_AT_TO(orders, level::error, "failed {}", 7);
    CHECK(sink->last()["logger"] == "at.orders");
    CHECK(sink->last()["level"] == "error");
  }

  TEST_CASE("LOG_AT with a disabled, off or out-of-range level writes nothing and evaluates no argument") {
    auto sink = std::make_shared<ctxlog_test::capture_sink>();
    ctxlog::configure({.sinks = {sink}, .min_level = level::warn, .mode = ctxlog::dispatch_mode::sync, .level_env = ""});
    evaluations = 0;
    LOG_AT(level::info, "{}", counted());
    LOG_AT(level::off, "{}", counted());
    LOG_AT(static_cast<level>(42), "{}", counted());
    CHECK(evaluations == 0);
    CHECK(sink->size() == 0);
    LOG_AT(level::warn, "{}", counted());
    CHECK(evaluations == 1);
    CHECK(sink->size() == 1);
  }
}
