// src/propagation/http.cpp — the cpp-httplib middleware (ctxlog/httplib.hpp): a context per
// request on the server's workers, an access line after each response, and a client whose
// calls are spans that carry the context out.
//
// httplib 0.11.4 has no hook around a handler, so the request's context lives in a
// per-worker slot: the first of the pre-routing, exception, post-routing and logger hooks
// that sees a request opens it (pre-routing, unless httplib answered 400/414 before
// routing), the logger hook ends it, and the task-queue wrapper clears it when the worker
// is done with a connection.
#include "ctxlog/httplib.hpp"

#include <exception>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ctxlog/log.hpp"
#include "ctxlog/span.hpp"

namespace ctxlog {
inline namespace v1 {
namespace http {

namespace {

std::uint64_t unix_nanos() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// ---- reading the request's headers ----------------------------------------------------

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool baggage_delimiter(char c) noexcept { return c == ',' || c == ';' || c == '='; }

// httplib 0.11.4 percent-decodes every header value it reads, so a baggage value sent as
// "eu%20west" or "caf%C3%A9" arrives as "eu west" / raw UTF-8, which the baggage grammar
// does not allow. Encode again what can never appear raw in a baggage header: '%', quotes,
// backslashes, controls, bytes >= 0x7f, and spaces between two value characters (spaces
// next to a delimiter or an end are the grammar's optional whitespace). A ',' ';' or '='
// that was sent encoded cannot be told from a delimiter any more: that member is lost.
std::string reencode_baggage(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  const auto outer_space = [&](std::size_t i) {
    std::size_t a = i, b = i;
    while (a > 0 && (v[a - 1] == ' ' || v[a - 1] == '\t')) --a;
    while (b < v.size() && (v[b] == ' ' || v[b] == '\t')) ++b;
    return a == 0 || b == v.size() || baggage_delimiter(v[a - 1]) || baggage_delimiter(v[b]);
  };
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    const bool raw = (c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '%') ||
                     ((c == ' ' || c == '\t') && outer_space(i));
    if (raw) out.push_back(static_cast<char>(c));
    else fmt::format_to(std::back_inserter(out), "%{:02X}", c);
  }
  return out;
}

context context_of(const httplib::Request& req, const extract_options& o) {
  std::vector<std::string> fixed;  // re-encoded baggage lines, owned here for the views
  for (const auto& [k, v] : req.headers)
    if (iequals(k, baggage_header)) fixed.push_back(reencode_baggage(v));
  detail::header_list list;
  list.reserve(req.headers.size());
  std::size_t next_fixed = 0;
  for (const auto& [k, v] : req.headers) {
    if (iequals(k, baggage_header)) list.emplace_back(k, fixed[next_fixed++]);
    else list.emplace_back(k, v);
  }
  return detail::extract_headers(list, o);
}

// ---- the request a worker is serving --------------------------------------------------

struct server_config {
  const logger* access_log;  // resolved once by instrument(): never null
  extract_options extract;
  std::function<std::string(const httplib::Request&)> route;
  std::optional<flight_recorder_options> recorder;
};

struct request_state {
  const httplib::Request* req = nullptr;
  std::string route;
  std::uint64_t start_unix_ns = 0;
  std::chrono::steady_clock::time_point start;
  context ctx;
  std::optional<scope> installed;  // ctx, current on this worker until the logger hook
  std::optional<flight_recorder> recorder;  // inside installed: ends first
  bool threw = false;
  std::string error_type, error_message;
};

// One request at a time per worker thread: httplib runs a connection's requests one after
// the other on the worker that accepted it.
thread_local std::optional<request_state> t_request;

void end_request() noexcept { t_request.reset(); }  // puts the worker's own context back

request_state& begin_request(const httplib::Request& req, const server_config& cfg) {
  end_request();  // a previous request whose logger hook never ran
  auto& st = t_request.emplace();
  st.req = &req;
  st.start = std::chrono::steady_clock::now();
  st.start_unix_ns = unix_nanos();
  try {
    if (cfg.route) st.route = cfg.route(req);
  } catch (...) {  // a throwing route function must not take the request down with it
  }
  if (st.route.empty()) st.route = fmt::format("{} {}", req.method, req.path);
  st.ctx = context_of(req, cfg.extract);
  st.installed.emplace(st.ctx);
  if (cfg.recorder) st.recorder.emplace(*cfg.recorder);
  return st;
}

// The state of req, opened now when no pre-routing hook saw it (httplib's own 400s).
request_state& request_for(const httplib::Request& req, const server_config& cfg) {
  if (t_request && t_request->req == &req) return *t_request;
  return begin_request(req, cfg);
}

// Clears the slot when a worker is done with a connection, whatever happened in it.
class clearing_queue final : public httplib::TaskQueue {
 public:
  explicit clearing_queue(httplib::TaskQueue* inner) : inner_(inner) {}
  void enqueue(std::function<void()> fn) override {
    inner_->enqueue([fn = std::move(fn)] {
      struct guard {
        ~guard() { end_request(); }
      } g;
      fn();
    });
  }
  void shutdown() override { inner_->shutdown(); }
  void on_idle() override { inner_->on_idle(); }

 private:
  std::unique_ptr<httplib::TaskQueue> inner_;
};

void record_exception(request_state& st, std::exception_ptr ep) {
  st.threw = true;
  std::tie(st.error_type, st.error_message) = detail::describe_exception(ep);
}

// ---- the access line ------------------------------------------------------------------

std::size_t bytes_in(const httplib::Request& req) {
  if (!req.body.empty() || !req.has_header("Content-Length")) return req.body.size();
  return static_cast<std::size_t>(req.get_header_value<std::uint64_t>("Content-Length"));
}
std::size_t bytes_out(const httplib::Request& req, const httplib::Response& res) {
  if (req.method == "HEAD") return 0;
  return res.body.empty() ? res.content_length_ : res.body.size();
}

template <level L>
void access_line(const logger& log, const request_state& st, const httplib::Request& req,
                 const httplib::Response& res) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - st.start);
  const auto dur_ns = static_cast<std::uint64_t>(ns.count());
  const double ms = static_cast<double>(dur_ns) / 1e6;
  const std::string_view outcome = st.threw || res.status >= 500 ? "error" : "ok";
  const std::size_t in = bytes_in(req), out = bytes_out(req, res);
  if constexpr (L == level::error) {
    if (st.threw) {
      CTXLOG_LOG_TO(log, L, "{} {} {} in {:.1f} ms", req.method, req.path, res.status, ms, kv("method", req.method),
                    kv("route", st.route), kv("path", req.path), kv("status", res.status), kv("durationMs", ms),
                    kv("bytesIn", in), kv("bytesOut", out), kv("span", st.route), kv("spanKind", std::string_view("server")),
                    kv("startUnixNano", st.start_unix_ns), kv("durationNs", dur_ns), kv("outcome", outcome),
                    kv("errorType", st.error_type), kv("errorMessage", st.error_message));
      return;
    }
  }
  CTXLOG_LOG_TO(log, L, "{} {} {} in {:.1f} ms", req.method, req.path, res.status, ms, kv("method", req.method),
                kv("route", st.route), kv("path", req.path), kv("status", res.status), kv("durationMs", ms),
                kv("bytesIn", in), kv("bytesOut", out), kv("span", st.route), kv("spanKind", std::string_view("server")),
                kv("startUnixNano", st.start_unix_ns), kv("durationNs", dur_ns), kv("outcome", outcome));
}

void log_access(const server_config& cfg, const httplib::Request& req, const httplib::Response& res) {
  auto& st = request_for(req, cfg);
  const logger& log = *cfg.access_log;
  if (st.threw || res.status >= 500) access_line<level::error>(log, st, req, res);
  else if (res.status >= 400) access_line<level::warn>(log, st, req, res);
  else access_line<level::info>(log, st, req, res);
}

// ---- response headers -----------------------------------------------------------------

void echo_headers(const server_config& cfg, const httplib::Request& req, httplib::Response& res) {
  const auto& st = request_for(req, cfg);
  // httplib's default exception handling puts e.what() in this header; never send it.
  res.headers.erase("EXCEPTION_WHAT");
  res.headers.erase(std::string(request_id_header));  // Headers compare names case-insensitively
  res.headers.erase(std::string(traceparent_header));
  if (valid_request_id(st.ctx.request_id())) res.headers.emplace("X-Request-Id", std::string(st.ctx.request_id()));
  const trace_state* ts = trace_state_of(st.ctx);
  auto tp = format_traceparent(st.ctx.trace_id(), st.ctx.span_id(), ts ? ts->flags : trace_flag_sampled);
  if (!tp.empty()) res.headers.emplace(std::string(traceparent_header), std::move(tp));
}

void on_exception(const server_config& cfg, const httplib::Request& req, httplib::Response& res,
                  std::exception_ptr ep) {
  auto& st = request_for(req, cfg);
  record_exception(st, ep);
  const logger& log = *cfg.access_log;
  CTXLOG_ERROR_TO(log, "unhandled exception in {}: {}", st.route, st.error_message, kv("errorType", st.error_type),
                  kv("errorMessage", st.error_message));
  // What the handler had started to answer is dropped: a plain 500, nothing of the error.
  res.status = 500;
  res.body = "Internal Server Error";
  res.content_provider_ = nullptr;
  res.content_length_ = 0;
  res.is_chunked_content_provider_ = false;
  res.headers.erase("Content-Type");
  res.headers.erase("Content-Length");
  res.headers.emplace("Content-Type", "text/plain");
}

}  // namespace

void instrument(httplib::Server& server, server_options options) {
  auto cfg = std::make_shared<const server_config>(
      server_config{options.access_log ? options.access_log : &get_logger("http"), std::move(options.extract),
                    std::move(options.route), options.flight_recorder});
  auto inner = server.new_task_queue;
  server.new_task_queue = [inner] {
    return new clearing_queue(inner ? inner() : new httplib::ThreadPool(CPPHTTPLIB_THREAD_POOL_COUNT));
  };
  server.set_pre_routing_handler([cfg](const httplib::Request& req, httplib::Response&) {
    begin_request(req, *cfg);
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server.set_exception_handler([cfg](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    on_exception(*cfg, req, res, ep);
  });
  server.set_post_routing_handler(
      [cfg](const httplib::Request& req, httplib::Response& res) { echo_headers(*cfg, req, res); });
  server.set_logger([cfg](const httplib::Request& req, const httplib::Response& res) {
    // After the response was written (or failed to be): the line, then the worker's own
    // context back, also when logging throws.
    struct guard {
      ~guard() { end_request(); }
    } g;
    log_access(*cfg, req, res);
  });
}

httplib::Headers outbound_headers(const context& c) {
  httplib::Headers h;
  for (auto& [k, v] : detail::inject_headers(c)) h.emplace(std::move(k), std::move(v));
  return h;
}

// ---- client ---------------------------------------------------------------------------

struct client::impl {
  impl(std::string h, int p, client_options o)
      : host(std::move(h)), port(p), opts(o), log(o.log ? *o.log : get_logger("http")), cli(host, port) {
    cli.set_connection_timeout(opts.connect_timeout);
    cli.set_read_timeout(opts.read_timeout);
    cli.set_write_timeout(opts.write_timeout);
  }

  template <class Send>
  httplib::Result call(std::string_view method, const std::string& path, httplib::Headers& headers, Send&& send) {
    const auto query = path.find('?');
    const std::string name = fmt::format("{} {}:{}{}", method, host, port, std::string_view(path).substr(0, query));
    span s(name, {.kind = span_kind::client, .log = &log});
    // The span's context wins over a caller's header of the same name; names the context
    // has no value for (a request id, say) are left as the caller set them.
    for (auto& [k, v] : detail::inject_headers(s.ctx())) {
      headers.erase(k);
      headers.emplace(std::move(k), std::move(v));
    }
    try {
      httplib::Result r = send(headers);
      if (!r) {
        const std::string what = httplib::to_string(r.error());
        s.fail("httplib::Error", what);
        CTXLOG_ERROR_TO(log, "{} failed: {}", name, what, kv("error", what));
      } else if (r->status >= 500) {
        s.fail("HTTP status", std::to_string(r->status));
      }
      return r;
    } catch (...) {
      s.fail(std::current_exception());
      throw;
    }
  }

  std::string host;
  int port;
  client_options opts;
  const logger& log;
  httplib::Client cli;
};

client::client(std::string host, int port, client_options options)
    : impl_(std::make_unique<impl>(std::move(host), port, options)) {}
client::~client() = default;

httplib::Result client::get(const std::string& path, httplib::Headers headers) {
  return impl_->call("GET", path, headers, [&](const httplib::Headers& h) { return impl_->cli.Get(path, h); });
}
httplib::Result client::post(const std::string& path, const std::string& body, const std::string& content_type,
                             httplib::Headers headers) {
  return impl_->call("POST", path, headers,
                     [&](const httplib::Headers& h) { return impl_->cli.Post(path, h, body, content_type); });
}
httplib::Result client::put(const std::string& path, const std::string& body, const std::string& content_type,
                            httplib::Headers headers) {
  return impl_->call("PUT", path, headers,
                     [&](const httplib::Headers& h) { return impl_->cli.Put(path, h, body, content_type); });
}
httplib::Result client::del(const std::string& path, httplib::Headers headers) {
  return impl_->call("DELETE", path, headers, [&](const httplib::Headers& h) { return impl_->cli.Delete(path, h); });
}
httplib::Client& client::native() noexcept { return impl_->cli; }

}  // namespace http
}  // namespace v1
}  // namespace ctxlog
