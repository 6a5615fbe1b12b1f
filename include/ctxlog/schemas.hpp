// ctxlog/schemas.hpp — layouts for the schemas that log stores expect: Elastic Common
// Schema, OpenTelemetry (OTLP/JSON), Google Cloud Logging, Datadog, and logfmt text.
//
// Each is a ctxlog::layout (layout.hpp) that a sink chooses; the records, the context and
// the pipeline are the same whatever the layout. Every JSON schema writes one valid JSON
// object per line with no key twice; a user key (custom context field or kv()) that
// names a field of the schema is written with '_' prefixed until it does not (the rule
// per schema is in docs/destinations/). Like every layout, these render on the back-end
// thread, one record at a time per instance; share one instance among sinks freely.
//
// Example:
//   auto out = ctxlog::sinks::stdout_sink();
//   out->set_layout(ctxlog::gcp_layout({.project_id = "my-project"}));
//   ctxlog::configure({.sinks = {out}, .process = {.service = "orders", .version = "1.4.2"}});
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <string>
#include <string_view>

#include "ctxlog/layout.hpp"

namespace ctxlog {
inline namespace v1 {

// ---- Elastic Common Schema (docs/destinations/elastic.md) ----------------------------

// What transaction.id holds. Elastic APM calls the entry span of a service its
// transaction; a context knows only its current span, so this is the caller's choice.
enum class ecs_transaction {
  none,     // no transaction.id
  span_id,  // the context's spanId (right when each request is one span, as with the HTTP middleware)
};

struct ecs_options {
  time_precision precision = time_precision::ms;  // digits of @timestamp
  bool origin = true;  // log.origin.file.name, log.origin.file.line, log.origin.function
  bool thread = true;  // process.thread.id
  bool pid = true;     // process.pid
  ecs_transaction transaction = ecs_transaction::none;
  std::string ecs_version = "8.11.0";  // ecs.version: the ECS release the fields follow
};

// {"@timestamp":..,"log.level":..,"message":..,"ecs.version":..,"log.logger":..,<ids>,<kv()>,"labels":{..},..}
// Custom context fields and config::process extras go to labels (strings, '.' in a
// label name becomes '_'); kv() fields are top-level fields with their types.
layout_ptr ecs_layout(ecs_options options = {});

// ---- OpenTelemetry, OTLP/JSON (docs/destinations/opentelemetry.md) -------------------

struct otel_options {
  bool code = true;    // code.file.path, code.line.number, code.function.name attributes
  bool thread = true;  // thread.id attribute
};

// One ExportLogsServiceRequest per line, as the Collector's file exporter writes and its
// otlpjsonfile receiver reads: {"resourceLogs":[{"resource":{..},"scopeLogs":[{"scope":
// {"name":<logger>},"logRecords":[{<one LogRecord>}]}]}]}. The context and kv() fields
// are attributes; a kv() holding JSON becomes a kvlistValue or arrayValue.
layout_ptr otel_layout(otel_options options = {});

// ---- Google Cloud Logging (docs/destinations/google-cloud.md) ------------------------

struct gcp_options {
  // Makes logging.googleapis.com/trace "projects/<project_id>/traces/<traceId>", which
  // links a line to Cloud Trace; empty: the bare traceId.
  std::string project_id{};
  time_precision precision = time_precision::us;  // digits of time
  bool source_location = true;  // logging.googleapis.com/sourceLocation
  bool thread = true;           // thread (in jsonPayload)
};

// A structured-logging line for the Cloud Logging agents (Cloud Run, GKE, Ops Agent):
// severity, message, time, the special logging.googleapis.com/* fields; kv() fields are
// jsonPayload fields; the context ids and custom fields are labels.
layout_ptr gcp_layout(gcp_options options = {});

// ---- Datadog (docs/destinations/datadog.md) ------------------------------------------

enum class datadog_trace_id {
  low64_decimal,  // the decimal of the low 64 bits, as Datadog's tracers log 64-bit ids
  hex128,         // all 32 hex digits, as tracers with 128-bit logging enabled do
};

struct datadog_options {
  datadog_trace_id trace_id = datadog_trace_id::low64_decimal;
  time_precision precision = time_precision::ms;  // digits of date
  bool source = true;  // logger.method_name, file, line
  bool thread = true;  // logger.thread_name
};

// {"date":..,"status":..,"message":..,"service":..,"env":..,"version":..,"host":..,
//  "logger.name":..,"dd.trace_id":..,"dd.span_id":..,<context>,<kv()>,..}: the fields
// Datadog's log pipeline and trace correlation read.
layout_ptr datadog_layout(datadog_options options = {});

// ---- logfmt (docs/destinations/logfmt.md) --------------------------------------------

struct logfmt_options {
  bool logger = true, thread = true, file = true, line = true, function = false, pid = false;
  bool process = true;  // the non-empty config::process fields
  time_precision precision = time_precision::us;
};

// ts=.. level=info logger=orders msg="order 42 created" requestId=r-1 amount=12.5 ..
// One line per record: a value is quoted (with \" \\ \n \t \r \u00XX escapes) when it is
// empty or holds a space, '=', '"', '\' or a non-printable byte; keys with such bytes
// get '_' in their place.
layout_ptr logfmt_layout(logfmt_options options = {});

// ---- by name -------------------------------------------------------------------------

// The layout called name with its default options: "json", "console" (console.hpp),
// "ecs", "otel", "gcp", "datadog" or "logfmt" (e.g. from a command line or an environment
// variable). Throws std::invalid_argument naming the valid names for any other.
layout_ptr make_layout(std::string_view name);

}  // namespace v1
}  // namespace ctxlog
