// ctxlog/httplib.hpp against real cpp-httplib servers on 127.0.0.1 (free ports): each
// request's context on httplib's workers, response headers, the access line, exceptions,
// client disconnects, failing downstreams and header hygiene. A server is stopped (its
// workers joined) before its access lines are checked: they are written after the response.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "../support.hpp"
#include "ctxlog/ctxlog.hpp"
#include "ctxlog/httplib.hpp"
#include "ctxlog/trace.hpp"

using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// An instrumented server listening on a free loopback port until stop().
class test_server {
 public:
  explicit test_server(const std::function<void(httplib::Server&)>& routes, ctxlog::http::server_options o = {},
                       std::size_t workers = 0) {
    if (workers > 0) srv_.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
    routes(srv_);
    ctxlog::http::instrument(srv_, std::move(o));
    port_ = srv_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { srv_.listen_after_bind(); });
    while (!srv_.is_running()) std::this_thread::yield();
  }
  ~test_server() { stop(); }
  test_server(const test_server&) = delete;
  test_server& operator=(const test_server&) = delete;

  // Returns once every worker is done: every access line has been logged.
  void stop() {
    if (!thread_.joinable()) return;
    srv_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(5s);
    c.set_read_timeout(20s);
    return c;
  }

 private:
  httplib::Server srv_;
  int port_ = 0;
  std::thread thread_;
};

int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

void send_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    const auto n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    REQUIRE(n > 0);
    off += static_cast<std::size_t>(n);
  }
}

struct raw_response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string head, body;
  std::vector<std::string> values(std::string_view name) const {
    std::vector<std::string> v;
    for (const auto& [k, val] : headers)
      if (k == name) v.push_back(val);
    return v;
  }
};

// Sends bytes no well-behaved client would (control characters, huge headers) and reads
// one response: the head, then Content-Length bytes of body.
raw_response raw_exchange(int port, const std::string& request) {
  const int fd = connect_loopback(port);
  send_all(fd, request);
  std::string in;
  char buf[4096];
  raw_response r;
  std::size_t head_end = std::string::npos, want = 0;
  for (;;) {
    if (head_end == std::string::npos && (head_end = in.find("\r\n\r\n")) != std::string::npos) {
      r.head = in.substr(0, head_end);
      std::size_t pos = r.head.find("\r\n");
      r.status = std::stoi(r.head.substr(9, 3));
      while (pos != std::string::npos && pos < r.head.size()) {
        const auto next = r.head.find("\r\n", pos + 2);
        const auto line = r.head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
        const auto colon = line.find(':');
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        r.headers.emplace_back(name, line.substr(line.find_first_not_of(' ', colon + 1)));
        pos = next;
      }
      for (const auto& v : r.values("content-length")) want = std::stoul(v);
    }
    if (head_end != std::string::npos && in.size() >= head_end + 4 + want) break;
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  REQUIRE(head_end != std::string::npos);
  r.body = in.substr(head_end + 4, want);
  return r;
}

std::string get_request(std::string_view path, std::string_view extra_headers) {
  return fmt::format("GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\n{}Connection: close\r\n\r\n", path, extra_headers);
}

std::vector<json> with_request_id(const std::vector<json>& lines, const std::string& id) {
  std::vector<json> out;
  for (const auto& l : lines)
    if (l.value("requestId", "") == id) out.push_back(l);
  return out;
}

const json* access_line(const std::vector<json>& lines) {
  for (const auto& l : lines)
    if (l.value("spanKind", "") == "server") return &l;
  return nullptr;
}

// The handler's view of its context, as a JSON body.
void describe_context(const httplib::Request&, httplib::Response& res) {
  const auto& c = ctxlog::current();
  LOG_INFO("describing");
  res.set_content(json{{"requestId", c.request_id()},
                       {"traceId", c.trace_id()},
                       {"spanId", c.span_id()},
                       {"parentSpanId", c.parent_span_id()},
                       {"rejected", c.get(ctxlog::rejected_headers_field)},
                       {"region", c.get("region")},
                       {"city", c.get("city")}}
                      .dump(),
                  "application/json");
}

// libcpp-httplib is not built with TSan. Its function-local statics (the request-method
// set of parse_request_line, ...) are initialized by the first worker that needs them, and
// other workers read them after the guard's fast-path check, an atomic load TSan cannot
// see in an uninstrumented library: a false race between two workers. Serving one request
// of each kind on a server that is then stopped initializes them, and stopping (joining
// its threads) orders that before every later server's workers, which TSan does see.
void warm_up_httplib_statics() {
  test_server warm([](httplib::Server& s) {
    s.Get("/warm", [](const httplib::Request&, httplib::Response& res) { res.set_content("w", "text/plain"); });
    s.Post("/warm", [](const httplib::Request&, httplib::Response& res) { res.set_content("w", "text/plain"); });
  });
  auto cli = warm.client();
  REQUIRE(cli.Get("/warm", {{"X-Request-Id", "warm-up"}}));
  REQUIRE(cli.Post("/warm", "{}", "application/json"));
  warm.stop();
}

const std::string sent_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string sent_parent = "00f067aa0ba902b7";
const std::string sent_tp = "00-" + sent_trace + "-" + sent_parent + "-01";

}  // namespace

TEST_SUITE("http server") {
  TEST_CASE("each request's handler and access lines carry only its own ids, across httplib's workers") {
    warm_up_httplib_statics();
    auto sink = ctxlog_test::capture_all();
    test_server srv([](httplib::Server& s) {
      s.Get("/work", [](const httplib::Request& req, httplib::Response& res) {
        LOG_INFO("handling", ctxlog::kv("sent", req.get_header_value("X-Request-Id")));
        res.set_content(std::string(ctxlog::current().request_id()), "text/plain");
      });
    });
    constexpr int threads = 8, per_thread = ctxlog_test::sanitized ? 10 : 50;
    struct answer {
      std::string id, trace, parent, echoed_id, echoed_tp;
      int status = 0;
    };
    std::vector<std::vector<answer>> answers(threads);
    std::vector<std::thread> clients;
    for (int t = 0; t < threads; ++t)
      clients.emplace_back([&srv, &answers, t] {
        auto cli = srv.client();
        for (int i = 0; i < per_thread; ++i) {
          answer a;
          a.id = fmt::format("t{}-r{}", t, i);
          a.trace = fmt::format("{:032x}", t * 1000 + i + 1);
          a.parent = fmt::format("{:016x}", t * 1000 + i + 1);
          auto r = cli.Get("/work", {{"X-Request-Id", a.id}, {"traceparent", "00-" + a.trace + "-" + a.parent + "-01"}});
          if (r) {
            a.status = r->status;
            a.echoed_id = r->get_header_value("X-Request-Id");
            a.echoed_tp = r->get_header_value("traceparent");
          }
          answers[static_cast<std::size_t>(t)].push_back(a);
        }
      });
    for (auto& c : clients) c.join();
    srv.stop();

    const auto lines = sink->parsed();
    CHECK(lines.size() == static_cast<std::size_t>(2 * threads * per_thread));
    for (const auto& per : answers)
      for (const auto& a : per) {
        INFO("request " << a.id);
        CHECK(a.status == 200);
        CHECK(a.echoed_id == a.id);
        const auto own = with_request_id(lines, a.id);
        REQUIRE(own.size() == 2);
        const json* acc = access_line(own);
        REQUIRE(acc != nullptr);
        const json& handler = &own[0] == acc ? own[1] : own[0];
        CHECK(handler["sent"] == a.id);
        for (const json* l : {&handler, acc}) {
          CHECK((*l)["traceId"] == a.trace);
          CHECK((*l)["parentSpanId"] == a.parent);
        }
        CHECK(handler["spanId"] == (*acc)["spanId"]);
        const auto tp = ctxlog::parse_traceparent(a.echoed_tp);
        REQUIRE(tp);
        CHECK(tp->version == 0);
        CHECK(tp->trace_id == a.trace);
        CHECK(tp->parent_id == handler["spanId"].get<std::string>());
        CHECK(tp->sampled());
      }
  }

  TEST_CASE("the access line has the RED and span fields, at info, warn for 4xx and error for 5xx") {
    auto sink = ctxlog_test::capture_all();
    ctxlog::http::server_options o;
    o.route = [](const httplib::Request& req) {
      return req.path.rfind("/orders/", 0) == 0 ? req.method + " /orders/:id" : std::string();
    };
    test_server srv(
        [](httplib::Server& s) {
          s.Post("/orders/(\\d+)", [](const httplib::Request&, httplib::Response& res) {
            res.status = 201;
            res.set_content("created", "text/plain");
          });
          s.Get("/unavailable", [](const httplib::Request&, httplib::Response& res) { res.status = 503; });
        },
        o);
    auto cli = srv.client();
    const auto before = std::chrono::system_clock::now();
    REQUIRE(cli.Post("/orders/42", {{"X-Request-Id", "red-1"}}, "{\"sku\":\"A1\"}", "application/json"));
    REQUIRE(cli.Get("/missing", {{"X-Request-Id", "red-2"}}));
    REQUIRE(cli.Get("/unavailable", {{"X-Request-Id", "red-3"}}));
    srv.stop();
    const auto lines = sink->parsed();

    const auto created = with_request_id(lines, "red-1");
    REQUIRE(created.size() == 1);
    const json& a = created[0];
    CHECK(a["level"] == "info");
    CHECK(a["logger"] == "http");
    CHECK(a["msg"].get<std::string>().rfind("POST /orders/42 201 in ", 0) == 0);
    CHECK(a["method"] == "POST");
    CHECK(a["route"] == "POST /orders/:id");
    CHECK(a["path"] == "/orders/42");
    CHECK(a["status"] == 201);
    CHECK(a["durationMs"].is_number_float());
    CHECK(a["bytesIn"] == 12);
    CHECK(a["bytesOut"] == 7);
    CHECK(a["span"] == "POST /orders/:id");
    CHECK(a["spanKind"] == "server");
    CHECK(a["outcome"] == "ok");
    CHECK(a["durationNs"].is_number_unsigned());
    const auto start_ns = a["startUnixNano"].get<std::uint64_t>();
    const auto before_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(before.time_since_epoch()).count();
    CHECK(start_ns >= static_cast<std::uint64_t>(before_ns));
    CHECK(a["durationMs"].get<double>() * 1e6 == doctest::Approx(a["durationNs"].get<double>()).epsilon(0.01));

    const auto missing = with_request_id(lines, "red-2");
    REQUIRE(missing.size() == 1);
    CHECK(missing[0]["level"] == "warn");
    CHECK(missing[0]["status"] == 404);
    CHECK(missing[0]["route"] == "GET /missing");
    CHECK(missing[0]["outcome"] == "ok");

    const auto down = with_request_id(lines, "red-3");
    REQUIRE(down.size() == 1);
    CHECK(down[0]["level"] == "error");
    CHECK(down[0]["status"] == 503);
    CHECK(down[0]["outcome"] == "error");
  }

  TEST_CASE("server_options::flight_recorder: a request's debug lines are written only when it fails") {
    auto sink = ctxlog_test::capture_all(ctxlog::level::info);
    ctxlog::http::server_options o;
    o.flight_recorder = ctxlog::flight_recorder_options{};
    test_server srv(
        [](httplib::Server& s) {
          s.Get("/ok", [](const httplib::Request&, httplib::Response& res) {
            LOG_DEBUG("looking up the order");
            res.set_content("ok", "text/plain");
          });
          s.Get("/broken", [](const httplib::Request&, httplib::Response& res) {
            LOG_DEBUG("looking up the order");
            LOG_DEBUG("the database said no");
            res.status = 500;  // no error line of its own: the access line is the trigger
          });
        },
        o, 2);
    auto cli = srv.client();
    for (int i = 0; i < 3; ++i) {
      REQUIRE(cli.Get("/ok", {{"X-Request-Id", "fr-ok-" + std::to_string(i)}}));
      REQUIRE(cli.Get("/broken", {{"X-Request-Id", "fr-bad-" + std::to_string(i)}}));
    }
    srv.stop();
    const auto lines = sink->parsed();
    for (int i = 0; i < 3; ++i) {
      const auto ok = with_request_id(lines, "fr-ok-" + std::to_string(i));
      REQUIRE(ok.size() == 1);  // the access line only
      CHECK(ok[0]["status"] == 200);
      const auto bad = with_request_id(lines, "fr-bad-" + std::to_string(i));
      REQUIRE(bad.size() == 3);
      CHECK(bad[0]["msg"] == "looking up the order");
      CHECK(bad[0]["replayed"] == true);
      CHECK(bad[1]["msg"] == "the database said no");
      CHECK(bad[2]["status"] == 500);
    }
    ctxlog::flush();
    const auto st = ctxlog::get_stats();
    CHECK(st.discarded >= 3);
    CHECK(st.issued == st.written + st.dropped + st.discarded + st.held);
  }

  TEST_CASE("requests on one keep-alive connection each get their own context") {
    auto sink = ctxlog_test::capture_all();
    test_server srv([](httplib::Server& s) { s.Get("/who", describe_context); });
    auto cli = srv.client();
    cli.set_keep_alive(true);
    std::vector<std::string> ids;
    for (int i = 0; i < 4; ++i) {
      httplib::Headers h;
      if (i != 2) h.emplace("X-Request-Id", fmt::format("ka-{}", i));  // the third sends none
      if (i == 1) h.emplace("traceparent", sent_tp);
      auto r = cli.Get("/who", h);
      REQUIRE(r);
      const auto seen = json::parse(r->body);
      ids.push_back(seen["requestId"].get<std::string>());
      CHECK(seen["parentSpanId"] == (i == 1 ? sent_parent : ""));
      CHECK(seen["traceId"] == r->get_header_value("traceparent").substr(3, 32));
    }
    CHECK(ids[0] == "ka-0");
    CHECK(ids[1] == "ka-1");
    CHECK(ids[2] != "ka-1");
    CHECK(ctxlog::valid_request_id(ids[2]));
    CHECK(ids[3] == "ka-3");
    srv.stop();
    const auto lines = sink->parsed();
    for (const auto& id : ids) CHECK(with_request_id(lines, id).size() == 2);
  }

  TEST_CASE("server_options: another access logger; a throwing route function falls back to method and path") {
    auto sink = ctxlog_test::capture_all();
    ctxlog::http::server_options o;
    o.access_log = &ctxlog::get_logger("access");
    o.route = [](const httplib::Request&) -> std::string { throw std::runtime_error("no route"); };
    test_server srv(
        [](httplib::Server& s) {
          s.Get("/x", [](const httplib::Request&, httplib::Response& res) { res.set_content("x", "text/plain"); });
        },
        o);
    REQUIRE(srv.client().Get("/x", {{"X-Request-Id", "opt-1"}}));
    srv.stop();
    const auto lines = with_request_id(sink->parsed(), "opt-1");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0]["logger"] == "access");
    CHECK(lines[0]["route"] == "GET /x");
    CHECK(lines[0]["status"] == 200);
  }

  TEST_CASE("a handler exception: a plain 500 without its text, an error line in the request's context, no leak") {
    auto sink = ctxlog_test::capture_all();
    test_server srv(
        [](httplib::Server& s) {
          s.Get("/boom", [](const httplib::Request&, httplib::Response& res) {
            res.set_header("X-Partial", "yes");
            res.set_content("half an answer", "text/html");
            throw std::runtime_error("secret detail");
          });
          s.Get("/boom-int", [](const httplib::Request&, httplib::Response&) { throw 42; });
          s.Get("/who", describe_context);
        },
        {}, 1);  // one worker: the next request runs where the exception was
    const auto boom = raw_exchange(srv.port(), get_request("/boom", "X-Request-Id: boom-1\r\ntraceparent: " + sent_tp + "\r\n"));
    CHECK(boom.status == 500);
    CHECK(boom.head.find("secret") == std::string::npos);
    CHECK(boom.body.find("secret") == std::string::npos);
    CHECK(boom.head.find("EXCEPTION_WHAT") == std::string::npos);
    CHECK(boom.body.find("half") == std::string::npos);
    CHECK(boom.values("x-request-id") == std::vector<std::string>{"boom-1"});
    const auto boom_int = raw_exchange(srv.port(), get_request("/boom-int", "X-Request-Id: boom-2\r\n"));
    CHECK(boom_int.status == 500);
    CHECK(boom_int.head.find("EXCEPTION_WHAT") == std::string::npos);

    auto who = srv.client().Get("/who");
    REQUIRE(who);
    const auto seen = json::parse(who->body);
    CHECK(seen["requestId"] != "boom-1");
    CHECK(seen["requestId"] != "boom-2");
    CHECK(seen["traceId"] != sent_trace);
    CHECK(seen["parentSpanId"] == "");
    srv.stop();

    const auto lines = with_request_id(sink->parsed(), "boom-1");
    REQUIRE(lines.size() == 2);
    const json& err = lines[0];
    CHECK(err["level"] == "error");
    CHECK(err["errorType"] == "std::runtime_error");
    CHECK(err["errorMessage"] == "secret detail");
    CHECK(err["traceId"] == sent_trace);
    const json& acc = lines[1];
    CHECK(acc["status"] == 500);
    CHECK(acc["level"] == "error");
    CHECK(acc["outcome"] == "error");
    CHECK(acc["errorType"] == "std::runtime_error");
    CHECK(acc["spanId"] == err["spanId"]);
    const auto int_lines = with_request_id(sink->parsed(), "boom-2");
    REQUIRE(int_lines.size() == 2);
    CHECK(int_lines[0]["errorType"] == "int");
  }

  TEST_CASE("a client that disconnects mid-request leaves no context on the worker") {
    auto sink = ctxlog_test::capture_all();
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    test_server srv(
        [&released](httplib::Server& s) {
          s.Post("/upload", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
          s.Get("/slow", [released](const httplib::Request&, httplib::Response& res) {
            released.wait();
            LOG_INFO("slow handler done");
            res.set_content(std::string(64 * 1024, 'x'), "text/plain");
          });
          s.Get("/who", describe_context);
        },
        {}, 1);

    // 1. Gone in the middle of the body.
    const int fd = connect_loopback(srv.port());
    send_all(fd, "POST /upload HTTP/1.1\r\nHost: x\r\nX-Request-Id: gone-1\r\nContent-Length: 100\r\n\r\n0123");
    ::close(fd);
    // 2. Gone while the handler runs (the client's read times out); the handler then
    // writes to a closed socket.
    {
      auto cli = srv.client();
      cli.set_read_timeout(200ms);
      auto r = cli.Get("/slow", {{"X-Request-Id", "gone-2"}});
      CHECK_FALSE(r);
      release.set_value();
    }
    // One worker: this request is served after both of the others are done.
    auto who = srv.client().Get("/who");
    REQUIRE(who);
    const auto seen = json::parse(who->body);
    CHECK(seen["requestId"] != "gone-1");
    CHECK(seen["requestId"] != "gone-2");
    CHECK(seen["parentSpanId"] == "");
    srv.stop();

    const auto lines = sink->parsed();
    const auto upload = with_request_id(lines, "gone-1");
    REQUIRE(upload.size() == 1);
    CHECK(upload[0]["status"] == 400);
    CHECK(upload[0]["bytesIn"] == 4);
    const auto slow = with_request_id(lines, "gone-2");
    REQUIRE(slow.size() == 2);
    CHECK(slow[0]["msg"] == "slow handler done");
    CHECK(slow[1]["spanKind"] == "server");
    CHECK(slow[1]["spanId"] == slow[0]["spanId"]);
  }
}

TEST_SUITE("http header hygiene") {
  TEST_CASE("hostile request headers: served, context from what is valid, rejectedHeaders named, safe response") {
    auto sink = ctxlog_test::capture_all();
    test_server srv([](httplib::Server& s) { s.Get("/who", describe_context); });
    struct hostile {
      std::string name, headers, rejected;
    };
    const std::vector<hostile> cases = {
        {"8 KB request id", "X-Request-Id: " + std::string(8000, 'a') + "\r\n", "x-request-id"},
        {"CRLF, percent-encoded (httplib decodes it)", "X-Request-Id: r%0d%0aSet-Cookie:%20evil=1\r\n", "x-request-id"},
        {"quotes", "X-Request-Id: \"r-1\"\r\n", "x-request-id"},
        {"control character", std::string("X-Request-Id: r\x01-1\r\n"), "x-request-id"},
        {"two request ids", "X-Request-Id: a\r\nX-Request-Id: b\r\n", "x-request-id"},
        {"bad traceparent", "traceparent: 00-" + sent_trace + "-zz-01\r\n", "traceparent"},
        {"two traceparents", "traceparent: " + sent_tp + "\r\ntraceparent: " + sent_tp + "\r\n", "traceparent"},
        {"bad tracestate", "traceparent: " + sent_tp + "\r\ntracestate: a=1,a=2\r\n", "tracestate"},
        {"tenant with a space", "X-Tenant-Id: acme corp\r\n", "x-tenant-id"},
    };
    for (const auto& c : cases) {
      INFO(c.name);
      const auto r = raw_exchange(srv.port(), get_request("/who", c.headers));
      CHECK(r.status == 200);
      CHECK(r.values("set-cookie").empty());
      const auto ids = r.values("x-request-id");
      REQUIRE(ids.size() == 1);
      CHECK(ctxlog::valid_request_id(ids[0]));
      const auto tps = r.values("traceparent");
      REQUIRE(tps.size() == 1);
      CHECK(ctxlog::parse_traceparent(tps[0]));
      for (const auto& h : r.headers)
        for (char ch : h.second) CHECK((ch >= 0x20 && ch < 0x7f));
      const auto seen = json::parse(r.body);
      CHECK(seen["requestId"] == ids[0]);
      CHECK(seen["rejected"].get<std::string>().find(c.rejected) != std::string::npos);
    }
    // A header line over 8 KB: httplib 0.11.4 answers 400 before routing; still one access
    // line, in a context of its own, and safe response headers.
    const auto big = raw_exchange(srv.port(), get_request("/who", "X-Request-Id: " + std::string(10240, 'a') + "\r\n"));
    CHECK(big.status == 400);
    REQUIRE(big.values("x-request-id").size() == 1);
    CHECK(ctxlog::valid_request_id(big.values("x-request-id")[0]));
    srv.stop();

    const auto lines = sink->parsed();
    std::size_t access = 0;
    for (const auto& l : lines) {
      if (l.value("spanKind", "") != "server") continue;
      ++access;
      CHECK(ctxlog::valid_request_id(l["requestId"].get<std::string>()));
      if (l["status"] == 200) CHECK(l.contains("rejectedHeaders"));
    }
    CHECK(access == cases.size() + 1);
    const auto bad400 = with_request_id(lines, big.values("x-request-id")[0]);
    REQUIRE(bad400.size() == 1);
    CHECK(bad400[0]["status"] == 400);
    CHECK(bad400[0]["level"] == "warn");
  }

  TEST_CASE("percent-encoded baggage survives httplib's decoding of header values") {
    ctxlog_test::capture_all();
    test_server srv([](httplib::Server& s) { s.Get("/who", describe_context); });
    const auto r = raw_exchange(srv.port(), get_request("/who", "baggage: region = eu%20west, city=caf%C3%A9;p=1\r\n"));
    REQUIRE(r.status == 200);
    const auto seen = json::parse(r.body);
    CHECK(seen["region"] == "eu west");
    CHECK(seen["city"] == "caf\xc3\xa9");
    CHECK(seen["rejected"] == "");
  }
}

TEST_SUITE("http client") {
  TEST_CASE("a call is a client span whose context the callee continues") {
    auto sink = ctxlog_test::capture_all();
    test_server srv([](httplib::Server& s) { s.Get("/who", describe_context); });
    const auto outer = ctxlog::start_trace(ctxlog::context().with(ctxlog::fields{}.request_id("r-out").user_id("u-1")));
    json seen;
    ctxlog::run(outer, [&] {
      ctxlog::http::client cli("127.0.0.1", srv.port());
      auto r = cli.get("/who?x=1", {{"X-Custom", "kept"}, {"traceparent", "00-" + std::string(32, '1') + "-" + std::string(16, '1') + "-01"}});
      REQUIRE(r);
      CHECK(r->status == 200);
      CHECK(r->get_header_value("X-Request-Id") == "r-out");
      seen = json::parse(r->body);
    });
    srv.stop();
    CHECK(seen["requestId"] == "r-out");
    CHECK(seen["traceId"] == outer.trace_id());
    const auto lines = with_request_id(sink->parsed(), "r-out");
    const json* client_span = nullptr;
    for (const auto& l : lines)
      if (l.value("spanKind", "") == "client") client_span = &l;
    REQUIRE(client_span != nullptr);
    CHECK((*client_span)["span"] == fmt::format("GET 127.0.0.1:{}/who", srv.port()));
    CHECK((*client_span)["parentSpanId"] == outer.span_id());
    CHECK((*client_span)["outcome"] == "ok");
    CHECK(seen["parentSpanId"] == (*client_span)["spanId"]);  // not the caller's forged traceparent
    for (const auto& l : lines) CHECK(l["userId"] == "u-1");  // baggage crossed too
  }

  TEST_CASE("a downstream that is down: the call fails fast with one error line carrying the ids") {
    auto sink = ctxlog_test::capture_all();
    // A bound socket that does not listen: connecting is refused.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    const int port = ntohs(a.sin_port);
    const auto outer = ctxlog::start_trace(ctxlog::context().with(ctxlog::fields{}.request_id("r-down")));
    const auto t0 = std::chrono::steady_clock::now();
    ctxlog::run(outer, [&] {
      ctxlog::http::client cli("127.0.0.1", port);
      auto r = cli.post("/reserve", "{}", "application/json");
      CHECK_FALSE(r);
      CHECK(r.error() == httplib::Error::Connection);
    });
    CHECK(std::chrono::steady_clock::now() - t0 < 2s);
    ::close(fd);
    const auto lines = with_request_id(sink->parsed(), "r-down");
    REQUIRE(lines.size() == 2);
    const std::string name = fmt::format("POST 127.0.0.1:{}/reserve", port);
    CHECK(lines[0]["level"] == "error");
    CHECK(lines[0]["msg"] == name + " failed: Connection");
    CHECK(lines[0]["error"] == "Connection");
    CHECK(lines[0]["traceId"] == outer.trace_id());
    CHECK(lines[0]["parentSpanId"] == outer.span_id());
    CHECK(lines[1]["span"] == name);
    CHECK(lines[1]["spanKind"] == "client");
    CHECK(lines[1]["outcome"] == "error");
    CHECK(lines[1]["spanId"] == lines[0]["spanId"]);
  }

  TEST_CASE("a slow downstream: the read timeout ends the call with an error line carrying the ids") {
    auto sink = ctxlog_test::capture_all();
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    test_server srv([&released](httplib::Server& s) {
      s.Get("/slow", [released](const httplib::Request&, httplib::Response&) { released.wait(); });
    });
    const auto outer = ctxlog::start_trace(ctxlog::context().with(ctxlog::fields{}.request_id("r-slow")));
    const auto t0 = std::chrono::steady_clock::now();
    ctxlog::run(outer, [&] {
      ctxlog::http::client cli("127.0.0.1", srv.port(), {.read_timeout = 200ms});
      auto r = cli.get("/slow");
      CHECK_FALSE(r);
      CHECK(r.error() == httplib::Error::Read);
    });
    CHECK(std::chrono::steady_clock::now() - t0 < 3s);
    release.set_value();
    srv.stop();
    const auto lines = with_request_id(sink->parsed(), "r-slow");
    std::size_t errors = 0;
    for (const auto& l : lines)
      if (l.value("msg", "").find("failed: Read") != std::string::npos) {
        ++errors;
        CHECK(l["traceId"] == outer.trace_id());
        CHECK(l["level"] == "error");
      }
    CHECK(errors == 1);
  }

  TEST_CASE("outbound_headers carries the context's trace headers") {
    const auto c = ctxlog::start_trace(ctxlog::context().with(ctxlog::fields{}.request_id("r-h").tenant_id("acme")));
    const auto h = ctxlog::http::outbound_headers(c);
    REQUIRE(h.count("traceparent") == 1);
    const auto tp = ctxlog::parse_traceparent(h.find("traceparent")->second);
    REQUIRE(tp);
    CHECK(tp->trace_id == c.trace_id());
    CHECK(tp->parent_id == c.span_id());
    CHECK(h.find("x-request-id")->second == "r-h");
    CHECK(h.find("baggage")->second.find("tenantId=acme") != std::string::npos);
    CHECK(ctxlog::http::outbound_headers(ctxlog::context()).count("traceparent") == 0);
  }
}
