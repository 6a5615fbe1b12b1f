// examples/console.cpp — the console layout: readable, coloured lines for a terminal,
// beside JSON lines for machines; escaping of hostile values; redaction.
//
// Expected output (stderr, coloured on a terminal unless NO_COLOR is set):
//   14:03:07.215 INFO  [orders] order 42 created amount=12.5 sku=A-7 | req=r-1 tenant=acme trace=4bf92f35 span=00f067aa region=eu
//   14:03:07.215 WARN  [orders] retrying payment attempt=2 card=[redacted] | req=r-1 ...
//   14:03:07.215 ERROR [orders] payment failed reason="card declined" trace="at charge()
//       at place_order()" | req=r-1 ...
//   14:03:07.215 INFO  a hostile value: name="evil\x1b]0;pwned\x07" note="x
//       00:00:00.000 ERROR forged"
// and the same records as JSON lines on stdout.
#include <ctxlog/console.hpp>
#include <ctxlog/ctxlog.hpp>

int main() {
  auto human = ctxlog::sinks::stderr_sink();
  human->set_layout(ctxlog::console_layout());
  ctxlog::configure({
      .sinks = {human, ctxlog::sinks::stdout_sink()},  // console on stderr, JSON on stdout
      .redact = {.keys = {"card"}},
  });

  auto& orders = ctxlog::get_logger("orders");
  ctxlog::run(ctxlog::fields{}
                  .request_id("r-1")
                  .tenant_id("acme")
                  .trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
                  .span_id("00f067aa0ba902b7")
                  .set("region", "eu"),
              [&] {
                LOG_INFO_TO(orders, "order {} created", 42, ctxlog::kv("amount", 12.5), ctxlog::kv("sku", "A-7"));
                LOG_WARN_TO(orders, "retrying payment", ctxlog::kv("attempt", 2), ctxlog::kv("card", "4242424242424242"));
                LOG_AT_TO(orders, ctxlog::level::error, "payment failed", ctxlog::kv("reason", "card declined"),
                          ctxlog::kv("trace", "at charge()\nat place_order()"));
              });
  // Escape sequences and forged lines from log data are written as text.
  LOG_INFO("a hostile value:", ctxlog::kv("name", "evil\x1b]0;pwned\x07"),
           ctxlog::kv("note", "x\n00:00:00.000 ERROR forged"));
}
