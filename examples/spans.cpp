// examples/spans.cpp — spans: a child span per operation, one end line each, and a
// fire-and-forget task in the request's context.
//
// A request continues a caller's trace (extract() from its headers), prices an order in a
// span, reserves stock in a coroutine span on a pool thread, fails a payment inside
// in_span() (the exception's type and message land in the end line), and spawns a receipt
// task without waiting for it. Every line carries the same traceId; each span's end line
// names its parent, so the tree can be rebuilt from the output:
//   {"msg":"span price order ok in 0.012 ms",...,"spanId":"<a>","parentSpanId":"<request>","span":"price order",...}
//   {"msg":"span reserve stock ok in ...",...,"spanId":"<b>","parentSpanId":"<request>","spanKind":"internal",...}
//   {"level":"error","msg":"span charge failed in ...",...,"outcome":"error","errorType":"payment_declined",...}
//   {"msg":"receipt sent",...}   (from the spawned task, same requestId)
#include <map>
#include <stdexcept>
#include <string>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/pool.hpp"
#include "ctxlog/span.hpp"
#include "ctxlog/trace.hpp"

struct payment_declined : std::runtime_error {
  using std::runtime_error::runtime_error;
};

double price_order(int qty) {
  ctxlog::span s("price order");
  LOG_INFO("pricing", ctxlog::kv("qty", qty));
  return qty * 9.5;
}

ctxlog::task<bool> reserve_stock(ctxlog::thread_pool& pool, int qty) {
  co_await ctxlog::resume_on(pool);  // continues on a pool thread, still in the span
  LOG_INFO("reserved", ctxlog::kv("qty", qty));
  co_return true;
}

ctxlog::task<> send_receipt() {
  LOG_INFO("receipt sent");
  co_return;
}

int main() {
  ctxlog::configure({.sinks = {ctxlog::sinks::stdout_sink()}});
  ctxlog::thread_pool pool(2);
  const std::map<std::string, std::string> headers{
      {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, {"x-request-id", "req-7"}};
  ctxlog::run(ctxlog::extract(headers), [&] {
    LOG_INFO("request received");
    const double total = price_order(3);
    ctxlog::sync_wait(ctxlog::in_span("reserve stock", reserve_stock(pool, 3)));
    try {
      ctxlog::in_span("charge", [&] {
        if (total > 20) throw payment_declined("card expired");
      });
    } catch (const payment_declined&) {
      LOG_WARN("payment declined, order kept as pending");
    }
    ctxlog::spawn(pool, send_receipt());  // not awaited
  });
  pool.wait_idle();
  ctxlog::shutdown();
}
