// examples/trace_context_service.cpp — the service the W3C Trace Context test suite
// (github.com/w3c/trace-context, test/) drives: POST /test with a JSON array of
// {"url": ..., "arguments": [...]}; for each element, in order, the service POSTs the
// arguments to the url with the trace headers it propagates, then answers 200.
//
// The instrumented server builds each request's context from its headers (a new trace
// when the incoming traceparent is invalid); each callback is a client span of its own,
// so every callback carries a new parent id. Log lines (JSON) go to stderr.
//
//   trace_context_service --port 5000 &        # --port 0: any free port, printed on stdout
//   python3 test/test.py http://127.0.0.1:5000/test     # in a clone of w3c/trace-context
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/httplib.hpp"

namespace {

struct target {
  std::string host;
  int port = 80;
  std::string path = "/";
};

// "http://host[:port][/path]"; false for anything else (no https, no user info).
bool parse_url(std::string_view url, target& t) {
  constexpr std::string_view scheme = "http://";
  if (url.substr(0, scheme.size()) != scheme) return false;
  url.remove_prefix(scheme.size());
  const auto slash = url.find('/');
  const auto authority = url.substr(0, slash);
  if (slash != std::string_view::npos) t.path = std::string(url.substr(slash));
  const auto colon = authority.rfind(':');
  t.host = std::string(authority.substr(0, colon));
  if (colon != std::string_view::npos) t.port = std::atoi(std::string(authority.substr(colon + 1)).c_str());
  return !t.host.empty() && t.port > 0 && t.port < 65536;
}

void run_test(const httplib::Request& req, httplib::Response& res) {
  const auto steps = nlohmann::json::parse(req.body, nullptr, false);
  if (!steps.is_array()) {
    LOG_WARN("body is not a JSON array");
    res.status = 400;
    return;
  }
  for (const auto& step : steps) {
    target t;
    if (!step.is_object() || !step.contains("url") || !step["url"].is_string() ||
        !parse_url(step["url"].get<std::string>(), t)) {
      LOG_WARN("skipping a step without an http url");
      continue;
    }
    const auto args = step.contains("arguments") ? step["arguments"] : nlohmann::json::array();
    ctxlog::http::client callback(t.host, t.port);
    auto r = callback.post(t.path, args.dump(), "application/json");  // a failure is logged by the client
    if (r) LOG_INFO("callback {} answered {}", t.path, r->status);
  }
  res.status = 200;
  res.set_content("{}", "application/json");
}

}  // namespace

int main(int argc, char** argv) {
  int port = 5000;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string_view(argv[i]) == "--port") port = std::atoi(argv[++i]);
  ctxlog::configure({.sinks = {ctxlog::sinks::stderr_sink()}});

  httplib::Server server;
  server.Post("/test", run_test);
  ctxlog::http::instrument(server);
  // --port 0: any free port, printed on stdout (the CI conformance test reads it).
  const bool bound = port == 0 ? (port = server.bind_to_any_port("127.0.0.1")) > 0 : server.bind_to_port("127.0.0.1", port);
  if (!bound) {
    LOG_ERROR("cannot listen on 127.0.0.1:{}", port);
    ctxlog::flush();
    return 1;
  }
  std::printf("listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);
  LOG_INFO("trace-context service on 127.0.0.1:{}", port);
  server.listen_after_bind();
}
