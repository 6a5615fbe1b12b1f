// examples/order_service/service_main.cpp — flags, logging set-up and the serve loop.
#include "service_main.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <pthread.h>
#include <unistd.h>

#include <ctxlog/ctxlog.hpp>
#include <ctxlog/sinks/clickhouse.hpp>
#include <ctxlog/sinks/file.hpp>
#include <ctxlog/sinks/stdio.hpp>

namespace order_demo {

flags::flags(int argc, char** argv, std::string_view usage) : usage_(usage) {
  for (int i = 1; i < argc; i += 2) {
    const std::string name = argv[i];
    if (name.rfind("--", 0) != 0 || i + 1 >= argc)
      throw std::invalid_argument("bad argument '" + name + "'\nusage: " + usage_);
    values_[name.substr(2)] = argv[i + 1];
  }
}

std::string flags::get(const std::string& name, std::string fallback) const {
  const auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

int flags::get_int(const std::string& name, int fallback) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  try {
    std::size_t used = 0;
    const int v = std::stoi(it->second, &used);
    if (used == it->second.size()) return v;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument("--" + name + " wants a number, not '" + it->second + "'\nusage: " + usage_);
}

namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

void block_stop_signals() {
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void configure_logging(const std::string& service, const std::string& log_path, const std::string& clickhouse) {
  ctxlog::sink_ptr out = log_path.empty() || log_path == "-" ? ctxlog::sinks::stdout_sink()
                                                             : ctxlog::sink_ptr(ctxlog::sinks::file_sink(log_path));
  std::vector<ctxlog::sink_ptr> sinks = {out};
  ctxlog::process_info process{.service = service, .version = "1.0.0"};
  if (!clickhouse.empty()) {
    // HOST:PORT of the server's HTTP interface; the table "logs", created if missing.
    const std::size_t colon = clickhouse.rfind(':');
    int port = 0;
    try {
      port = colon == std::string::npos ? 0 : std::stoi(clickhouse.substr(colon + 1));
    } catch (const std::exception&) {
    }
    if (colon == 0 || port <= 0 || port > 65535)
      throw std::invalid_argument("--clickhouse wants HOST:PORT, not '" + clickhouse + "'");
    sinks.push_back(ctxlog::sinks::clickhouse({.host = clickhouse.substr(0, colon),
                                               .port = static_cast<std::uint16_t>(port),
                                               .table = "logs",
                                               .create_table = true}));
    process.host = ctxlog::this_host();
  }
  ctxlog::configure({.sinks = std::move(sinks),
                     .min_level = ctxlog::level::info,
                     .layout = ctxlog::json_layout({.pid = true}),
                     .process = std::move(process)});
}

int serve(httplib::Server& server, const std::string& service, int port, const std::string& ready_file) {
  const int bound = port == 0 ? server.bind_to_any_port("127.0.0.1") : port;
  if (port != 0 && !server.bind_to_port("127.0.0.1", port)) {
    LOG_ERROR("{} cannot listen on 127.0.0.1:{}", service, port);
    ctxlog::shutdown();
    return 1;
  }
  if (bound <= 0) {
    LOG_ERROR("{} cannot listen on 127.0.0.1", service);
    ctxlog::shutdown();
    return 1;
  }
  LOG_INFO("{} listening on 127.0.0.1:{}", service, bound, ctxlog::kv("port", bound));
  if (!ready_file.empty()) {
    const std::string tmp = ready_file + ".tmp";
    std::ofstream(tmp) << bound << '\n';
    std::rename(tmp.c_str(), ready_file.c_str());
  }

  // The stop signals are blocked in every thread (block_stop_signals), so only the
  // waiter receives them. When the server ends by itself, main wakes the waiter with a
  // signal of its own; done tells it that this one is not a request to stop.
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    const sigset_t set = stop_signals();
    int sig = 0;
    sigwait(&set, &sig);
    if (done.load()) return;
    LOG_INFO("{} stopping on signal {}", service, sig);
    // stop() does nothing before listen_after_bind() has begun: repeat until it returned.
    while (!done.load()) {
      server.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  const bool ok = server.listen_after_bind();
  done.store(true);
  pthread_kill(waiter.native_handle(), SIGTERM);  // stays pending if the waiter is past sigwait
  waiter.join();
  LOG_INFO("{} stopped", service);
  ctxlog::shutdown();
  return ok ? 0 : 1;
}

}  // namespace order_demo
