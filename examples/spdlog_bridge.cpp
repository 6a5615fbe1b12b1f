// spdlog_bridge — ctxlog's JSON lines written by spdlog sinks, so that spdlog's daily,
// syslog, rotating ... sinks can be reused as they are.
//
// Every line goes to spdlog's stdout sink; warnings and above also go to spdlog's daily
// file sink (/tmp/ctxlog-spdlog-example/orders_YYYY-MM-DD.log), which the program prints
// at the end. The bridge sets each spdlog sink's pattern to "%v": the output is exactly
// ctxlog's JSON object and spdlog's end of line.
//
// Expected output:
//   {"ts":"...","level":"info","logger":"orders","msg":"order 1 created","requestId":"req-1",...}
//   {"ts":"...","level":"warn","logger":"orders","msg":"order 2 is late","requestId":"req-2",...}
//   daily file:
//   {"ts":"...","level":"warn","logger":"orders","msg":"order 2 is late","requestId":"req-2",...}
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <spdlog/sinks/daily_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <ctxlog/ctxlog.hpp>
#include <ctxlog/sinks/spdlog_sink.hpp>

namespace fs = std::filesystem;

int main() {
  const fs::path dir = fs::temp_directory_path() / "ctxlog-spdlog-example";
  fs::remove_all(dir);
  fs::create_directories(dir);

  auto console = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  auto daily = std::make_shared<spdlog::sinks::daily_file_sink_mt>((dir / "orders.log").string(), 0, 0);
  ctxlog::configure({.sinks = {ctxlog::sinks::to_spdlog(console),
                               ctxlog::sinks::to_spdlog(daily, ctxlog::level::warn)}});

  auto& orders = ctxlog::get_logger("orders");
  ctxlog::run(ctxlog::fields{}.request_id("req-1"), [&] { LOG_INFO_TO(orders, "order {} created", 1); });
  ctxlog::run(ctxlog::fields{}.request_id("req-2"),
              [&] { LOG_WARN_TO(orders, "order {} is late", 2, ctxlog::kv("minutes", 12)); });
  ctxlog::shutdown();  // flushes both spdlog sinks

  std::cout << "daily file:\n";
  for (const auto& e : fs::directory_iterator(dir)) std::cout << std::ifstream(e.path()).rdbuf();
  fs::remove_all(dir);
}
