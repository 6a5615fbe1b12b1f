// order_service — the demo behind `make demo`.
//
// Four worker threads serve twelve simulated requests at once. Each request's IDs are set
// once, at the entry point (handle_request); the functions it calls log without any
// context parameter, and every JSON line carries the IDs of its own request.
//
// Expected output: 12 x 4 JSON lines on stdout, e.g.
// {"ts":"...","level":"info","logger":"orders","msg":"order 1003 created","requestId":"req-0003",
//  "tenantId":"globex","traceId":"...","spanId":"...","userId":"user-3","amount":31.5,...}
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <ctxlog/ctxlog.hpp>

namespace {

ctxlog::logger& orders_log = ctxlog::get_logger("orders");

void reserve_stock(int order) {
  LOG_DEBUG_TO(orders_log, "reserving stock for order {}", order, ctxlog::kv("warehouse", "w-2"));
}

void charge(int order, double amount) {
  std::this_thread::sleep_for(std::chrono::milliseconds(1 + order % 3));  // the payment provider is slow
  LOG_INFO("charged order {}", order, ctxlog::kv("amount", amount));
}

void create_order(int order, double amount) {
  reserve_stock(order);
  charge(order, amount);
  LOG_INFO_TO(orders_log, "order {} created", order, ctxlog::kv("amount", amount));
}

// The entry point: the only place that knows the request's IDs.
void handle_request(int n) {
  static const char* tenants[] = {"acme", "globex", "initech"};
  char id[16], trace[33], span[17];
  std::snprintf(id, sizeof id, "req-%04d", n);
  std::snprintf(trace, sizeof trace, "%032x", 0x4bf92f35 + n);
  std::snprintf(span, sizeof span, "%016x", 0x00f067aa + n);
  const std::string user = "user-" + std::to_string(n);
  ctxlog::run(ctxlog::fields{}.request_id(id).tenant_id(tenants[n % 3]).trace_id(trace).span_id(span).user_id(user),
              [&] {
                LOG_INFO("request received", ctxlog::kv("path", "/orders"));
                create_order(1000 + n, 10.5 * (n + 1));
              });
}

}  // namespace

int main() {
  ctxlog::configure({.sinks = {ctxlog::sinks::stdout_sink()},
                     .min_level = ctxlog::level::info,
                     .loggers = {{.name = "orders", .min_level = ctxlog::level::debug}}});
  std::atomic<int> next{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w)
    workers.emplace_back([&] {
      for (int n; (n = next.fetch_add(1)) < 12;) handle_request(n);
    });
  for (auto& t : workers) t.join();
  LOG_INFO("served all requests");  // outside any request: no IDs
  ctxlog::shutdown();
}
