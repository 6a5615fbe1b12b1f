// ctxlog/httplib.hpp — HTTP middleware for cpp-httplib: a context per request in, the
// context injected into every call out.
//
// Optional: built when cpp-httplib is found (meson feature 'httplib'); link
// ctxlog_httplib_dep. Include <httplib.h> yourself or let this header do it.
//
// Server side, instrument(server) once before listen():
//   - each request runs in a context built by extract() from its traceparent, tracestate,
//     baggage, X-Request-Id and X-Tenant-Id (or generated), with a new server spanId;
//     every handler, on whichever worker of httplib's pool, logs in it;
//   - the response echoes X-Request-Id and a traceparent naming the server span;
//   - one access line per request, after the response: method, route, status, duration,
//     bytes in and out (the RED fields), written at info (warn for 4xx, error for 5xx),
//     with the span fields of span.hpp (span, spanKind "server", startUnixNano,
//     durationNs, outcome) so the request is a span of its trace.
// Client side, client: each call is a client span (a new spanId, so the callee's parent
// is a span that is in the log), its headers carry the current context, and a failed call
// (refused, timed out, reset) ends with an error line carrying the request's ids.
// docs/http.md has the fields, the hygiene rules and httplib 0.11.4's quirks.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <httplib.h>

#include "ctxlog/context.hpp"
#include "ctxlog/flight_recorder.hpp"
#include "ctxlog/trace.hpp"

namespace ctxlog {
inline namespace v1 {

class logger;

namespace http {

struct server_options {
  // The access lines' logger; nullptr: get_logger("http").
  const logger* access_log = nullptr;
  // How the request's context is built from its headers.
  extract_options extract{};
  // The route named in the access line and the span ("POST /orders/:id" rather than the
  // path with its ids); default: "<method> <path>".
  std::function<std::string(const httplib::Request&)> route{};
  // A flight recorder per request (flight_recorder.hpp): its debug and trace lines are
  // written only if it fails (an error line, a 5xx access line); nullopt: none.
  std::optional<flight_recorder_options> flight_recorder{};
};

// Installs ctxlog's handlers on server: its pre-routing, exception and post-routing
// handlers and its logger (httplib keeps one of each: setting one of them afterwards
// replaces ctxlog's), and wraps server.new_task_queue so that a worker is left with no
// request context when it is done with a connection. Call before listen().
//
// Propagation: the context is built when routing starts, installed on the worker for
// the handler, kept while the response is written and the access line logged, and the
// worker's own context is put back after that line: also when the handler threw (the
// exception is logged in the request's context and answered with a plain 500 that does
// not contain its text), when the client went away, and for the 400s httplib answers
// before routing (those get an access line in a fresh context). route is called on the
// workers, concurrently.
//
// Example:
//   httplib::Server server;
//   server.Get("/orders/(\\d+)", get_order);
//   ctxlog::http::instrument(server, {.route = [](const httplib::Request& r) { return r.method + " /orders/:id"; }});
//   server.listen("127.0.0.1", 8080);
void instrument(httplib::Server& server, server_options options = {});

struct client_options {
  // Where failed calls are reported and the client spans' end lines go; nullptr:
  // get_logger("http").
  const logger* log = nullptr;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds read_timeout{5000};
  std::chrono::milliseconds write_timeout{5000};
};

// An httplib::Client whose calls carry the current context. Thread-compatible like
// httplib::Client (one per thread, or guard it). Each call is a ctxlog::span of kind
// client named "<METHOD> <host>:<port><path without query>"; its headers get the span's
// traceparent, tracestate, baggage and x-request-id (replacing a header of the same name
// you passed). No response (httplib::Error) fails the span and logs one error line,
// "<name> failed: <httplib::to_string(error)>"; a 5xx response fails the span only.
//
// Example:
//   ctxlog::http::client inventory("127.0.0.1", 5001);
//   auto res = inventory.post("/reserve", R"({"sku":"A1","qty":2})", "application/json");
//   if (!res) ...   // already logged: "POST 127.0.0.1:5001/reserve failed: Read timeout"
class client {
 public:
  client(std::string host, int port, client_options options = {});
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  httplib::Result get(const std::string& path, httplib::Headers headers = {});
  httplib::Result post(const std::string& path, const std::string& body, const std::string& content_type,
                       httplib::Headers headers = {});
  httplib::Result put(const std::string& path, const std::string& body, const std::string& content_type,
                      httplib::Headers headers = {});
  httplib::Result del(const std::string& path, httplib::Headers headers = {});

  // The underlying client, for settings not wrapped here; calls made on it directly do not
  // carry the context (add outbound_headers() yourself).
  httplib::Client& native() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// The trace headers for a request sent with any other client: traceparent, tracestate,
// baggage and x-request-id of c. Send each call from a span of its own (span.hpp).
httplib::Headers outbound_headers(const context& c = current());

}  // namespace http
}  // namespace v1
}  // namespace ctxlog
