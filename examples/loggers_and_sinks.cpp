// loggers_and_sinks — named loggers with their own levels, per-call fields, several
// sinks with their own minimum levels, and the compile-time checked format string.
//
// Everything goes to stdout; warnings and above also to ./loggers_and_sinks.log.
// Expected stdout:
//   {"level":"info","logger":"default","msg":"service started","port":8080,...}
//   {"level":"debug","logger":"sql","msg":"select * from orders where id = 42",...}
//   {"level":"warn","logger":"default","msg":"slow request","elapsedMs":812.5,...}
#include <ctxlog/ctxlog.hpp>

int main() {
  ctxlog::configure({
      .sinks = {ctxlog::sinks::stdout_sink(), ctxlog::sinks::file_sink("loggers_and_sinks.log", ctxlog::level::warn)},
      .min_level = ctxlog::level::info,
      .loggers = {{.name = "sql", .min_level = ctxlog::level::debug}},
  });
  auto& sql = ctxlog::get_logger("sql");

  LOG_INFO("service started", ctxlog::kv("port", 8080));
  LOG_DEBUG("not written: the default logger is at info");
  LOG_DEBUG_TO(sql, "select * from orders where id = {}", 42);
  LOG_WARN("slow request", ctxlog::kv("elapsedMs", 812.5));
  // LOG_INFO("{} {}", 1);  // does not compile: two placeholders, one argument

  ctxlog::get_logger("sql").set_level(ctxlog::level::off);  // runtime level change
  LOG_DEBUG_TO(sql, "not written: sql is off now");
}
