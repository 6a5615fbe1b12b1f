// examples/order_service/service_main.hpp — what both demo services do the same way:
// command-line flags, ctxlog's configuration (service name and pid on every line), and
// serving on 127.0.0.1 until SIGTERM or SIGINT.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include <httplib.h>

namespace order_demo {

// "--name value" pairs. Throws std::invalid_argument for anything else.
class flags {
 public:
  flags(int argc, char** argv, std::string_view usage);
  std::string get(const std::string& name, std::string fallback = "") const;
  int get_int(const std::string& name, int fallback) const;
  bool has(const std::string& name) const { return values_.count(name) != 0; }

 private:
  std::map<std::string, std::string> values_;
  std::string usage_;
};

// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts later (call
// first in main), so that serve() can wait for them on a thread of its own.
void block_stop_signals();

// Lines as JSON objects to log_path ("" or "-": stdout), each with "service", "version"
// and "pid"; with clickhouse ("HOST:PORT", --clickhouse) also into the table "logs" of
// that ClickHouse server (ctxlog/sinks/clickhouse.hpp, created if missing).
void configure_logging(const std::string& service, const std::string& log_path, const std::string& clickhouse = "");

// Binds 127.0.0.1:port (0: any free port), writes the port to ready_file (when given,
// atomically: a reader never sees half a number), serves until SIGTERM/SIGINT, then
// stops the server, waits for its handlers, and flushes the log. Returns main's status.
int serve(httplib::Server& server, const std::string& service, int port, const std::string& ready_file);

}  // namespace order_demo
