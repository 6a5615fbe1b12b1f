// schemas — one record in every schema layout: ECS (Elastic), OpenTelemetry OTLP/JSON,
// Google Cloud Logging, Datadog and logfmt, each on a sink of its own.
//
// Expected stdout (one line per schema, in sink order; ids, times and thread vary):
//   {"@timestamp":"2026-12-01T21:28:43.994Z","log.level":"info","message":"order 42 created","ecs.version":"8.11.0",...}
//   {"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"orders"}},...
//   {"severity":"INFO","message":"order 42 created","time":"2026-12-01T21:28:43.994392Z","logging.googleapis.com/trace":"projects/my-project/traces/...",...}
//   {"date":"2026-12-01T21:28:43.994Z","status":"info","message":"order 42 created","logger.name":"default",...,"dd.trace_id":"...",...}
//   ts=2026-12-01T21:28:43.994392Z level=info logger=default msg="order 42 created" requestId=r-1 ... amount=12.5 ...
#include <ctxlog/ctxlog.hpp>
#include <ctxlog/schemas.hpp>
#include <ctxlog/trace.hpp>

int main() {
  const ctxlog::layout_ptr layouts[] = {
      ctxlog::ecs_layout(),
      ctxlog::otel_layout(),
      ctxlog::gcp_layout({.project_id = "my-project"}),
      ctxlog::datadog_layout(),
      ctxlog::make_layout("logfmt"),  // by name, e.g. from a command-line flag
  };
  std::vector<ctxlog::sink_ptr> sinks;
  for (const auto& l : layouts) {
    auto s = ctxlog::sinks::stdout_sink();
    s->set_layout(l);
    sinks.push_back(s);
  }
  ctxlog::configure({.sinks = sinks, .process = {.service = "orders", .version = "1.4.2", .environment = "prod"}});

  // A request with a new (sampled) trace, as ctxlog::extract() would make for a call without one.
  const auto request = ctxlog::start_trace(ctxlog::context{}.with(ctxlog::fields{}.request_id("r-1").tenant_id("acme")));
  ctxlog::run(request, [] { LOG_INFO("order {} created", 42, ctxlog::kv("amount", 12.5), ctxlog::kv("paid", true)); });
}
