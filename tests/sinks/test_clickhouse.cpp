// The ClickHouse sink's pieces that need no server: the HTTP response parser (whole, in
// pieces, chunked), query encoding, the verdict on an answer, the bisection that isolates
// bad rows, the row layout's golden line and the table's DDL; the HTTP connection and
// the sink against a scripted loopback server (keep-alive, a close mid-response, a slow
// answer, a refused connect, a batch with bad rows). The real server: test_clickhouse_e2e.py.
#include <doctest/doctest.h>

#include <chrono>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "clickhouse/http.hpp"
#include "clickhouse/insert.hpp"
#include "ctxlog/ctxlog.hpp"
#include "ctxlog/sinks/clickhouse.hpp"
#include "fake_http_server.hpp"
#include "support.hpp"

namespace {

namespace http = ctxlog::detail::http;
namespace ch = ctxlog::detail::clickhouse;
using namespace std::chrono_literals;
using ctxlog_test::fake_http_server;
using ctxlog_test::http_reply;
using ctxlog_test::http_request;
using ctxlog_test::reply_text;
using json = nlohmann::json;

// Feeds text to a parser in pieces of `step` bytes; returns the bytes it did not use.
std::string feed_in_pieces(http::response_parser& p, std::string_view text, std::size_t step) {
  std::size_t off = 0;
  while (off < text.size() && !p.done()) {
    const std::string_view piece = text.substr(off, step);
    const std::size_t used = p.feed(piece);
    off += used;
    if (used < piece.size()) break;
  }
  return std::string(text.substr(off));
}

http::response parsed(std::string_view text, std::size_t step = 1 << 20) {
  http::response_parser p;
  feed_in_pieces(p, text, step);
  REQUIRE(p.done());
  return p.get();
}

http::response with(int status, std::string body, std::vector<std::pair<std::string, std::string>> headers = {}) {
  http::response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

// kv() fields as the back-end encodes them ([key][tag][value]).
class kv_bytes {
 public:
  kv_bytes() { b_.reserve(1024); }
  kv_bytes& f64(std::string_view k, double v) {
    key(k, ctxlog::detail::kv_tag::f64);
    const std::size_t n = b_.size();
    b_.resize(n + 8);
    std::memcpy(b_.data() + n, &v, 8);
    return *this;
  }
  kv_bytes& str(std::string_view k, std::string_view v) {
    key(k, ctxlog::detail::kv_tag::string);
    put(v);
    return *this;
  }
  ctxlog::call_fields fields() const { return {b_.data(), b_.data() + b_.size()}; }

 private:
  void put(std::string_view s) {
    std::vector<std::byte> e(ctxlog::detail::encoded_size(s));
    ctxlog::detail::encode(e.data(), s);
    b_.insert(b_.end(), e.begin(), e.end());
  }
  void key(std::string_view k, ctxlog::detail::kv_tag t) {
    put(k);
    b_.push_back(static_cast<std::byte>(t));
  }
  std::vector<std::byte> b_;
};

std::string render_row(ctxlog::layout& l, const ctxlog::context& c, const ctxlog::call_fields& f,
                       const ctxlog::process_info& p, std::string_view message = "order 42 created") {
  return ctxlog_test::render_record(l, c, f, p, 1764633600123456789ull, ctxlog::level::warn, message);
}

// A fake sender for insert_isolating: lines whose text is "bad" are refused (as a batch
// holding one is), every other line goes in; records each send.
struct fake_table {
  std::vector<std::string> lines;
  std::vector<std::string> inserted;
  std::vector<std::pair<std::size_t, std::size_t>> sends;
  int fail_at_send = -1;       // throw at this send (0-based)
  int refuse_from_send = -1;   // answer `refused` from this send on

  ch::answer operator()(std::size_t first, std::size_t count) {
    const int i = static_cast<int>(sends.size());
    sends.emplace_back(first, count);
    if (i == fail_at_send) throw std::runtime_error("connection reset");
    if (refuse_from_send >= 0 && i >= refuse_from_send) return {ch::verdict::refused, 60, "no table"};
    for (std::size_t k = first; k < first + count; ++k)
      if (lines[k] == "bad") return {ch::verdict::bad_rows, 27, "Cannot parse input (line " + std::to_string(k) + ")"};
    for (std::size_t k = first; k < first + count; ++k) inserted.push_back(lines[k]);
    return {};
  }
};

fake_table table_of(std::size_t n, std::set<std::size_t> bad) {
  fake_table t;
  for (std::size_t i = 0; i < n; ++i) t.lines.push_back(bad.count(i) ? "bad" : "line " + std::to_string(i));
  return t;
}

}  // namespace

TEST_SUITE("clickhouse http response parser") {
  TEST_CASE("a Content-Length response is read whole, fed all at once or byte by byte") {
    const std::string text = "HTTP/1.1 200 OK\r\nX-ClickHouse-Summary: {}\r\nContent-Length: 5\r\n\r\nhello";
    for (const std::size_t step : {std::size_t{1}, std::size_t{3}, std::size_t{1000}}) {
      const http::response r = parsed(text, step);
      CHECK(r.status == 200);
      CHECK(r.reason == "OK");
      CHECK(r.body == "hello");
      CHECK(r.keep_alive);
      REQUIRE(r.header("x-clickhouse-summary"));
      CHECK(*r.header("X-CLICKHOUSE-SUMMARY") == "{}");
    }
  }

  TEST_CASE("bytes after the response are not taken: they belong to no response") {
    http::response_parser p;
    const std::string rest = feed_in_pieces(p, "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200", 7);
    CHECK(p.done());
    CHECK(p.get().status == 204);
    CHECK(rest == "HTTP/1.1 200");
  }

  TEST_CASE("a chunked response with extensions and trailers, in pieces of every size") {
    const std::string text =
        "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\nConnection: Keep-Alive\r\n\r\n"
        "5;name=v\r\nCode:\r\n19\r\n 27, e.displayText() = DB\r\n0\r\nX-Trailer: t\r\n\r\n";
    for (std::size_t step = 1; step < text.size(); step += 7) {
      const http::response r = parsed(text, step);
      CHECK(r.status == 500);
      CHECK(r.body == "Code: 27, e.displayText() = DB");
      CHECK(r.keep_alive);
    }
  }

  TEST_CASE("a body without length ends with the connection, which is then not kept") {
    http::response_parser p;
    p.feed("HTTP/1.0 200 OK\r\n\r\npartial body");
    CHECK_FALSE(p.done());
    p.eof();
    CHECK(p.done());
    CHECK(p.get().body == "partial body");
    CHECK_FALSE(p.get().keep_alive);
  }

  TEST_CASE("keep-alive: HTTP/1.1 unless Connection: close; HTTP/1.0 only with keep-alive") {
    CHECK_FALSE(parsed("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").keep_alive);
    CHECK(parsed("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n").keep_alive);
    CHECK_FALSE(parsed("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive);
  }

  TEST_CASE("an interim 100 Continue is skipped") {
    const http::response r = parsed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 2);
    CHECK(r.status == 200);
    CHECK(r.body == "ok");
  }

  TEST_CASE("a body longer than the limit is read to its end but kept only up to the limit") {
    http::response_parser p(false, 4);
    p.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789");
    REQUIRE(p.done());
    CHECK(p.get().body == "0123");
    CHECK(p.get().body_size == 10);
  }

  TEST_CASE("malformed responses are protocol errors, never a response") {
    const char* bad[] = {"HTTP/2 200 OK\r\n\r\n",
                         "HTTP/1.1 2x0 OK\r\n\r\n",
                         "SSH-2.0-OpenSSH\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n",
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"};
    for (const char* text : bad) {
      http::response_parser p;
      CHECK_THROWS_AS_MESSAGE(p.feed(text), http::protocol_error, text);
    }
    http::response_parser cut;
    cut.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    CHECK_THROWS_AS(cut.eof(), http::protocol_error);
    http::response_parser huge;
    CHECK_THROWS_AS(huge.feed("HTTP/1.1 200 OK\r\nX: " + std::string(70000, 'a')), http::protocol_error);
  }
}

TEST_SUITE("clickhouse query and verdicts") {
  TEST_CASE("percent_encode keeps unreserved bytes and encodes every other byte") {
    CHECK(http::percent_encode("INSERT INTO `logs` FORMAT JSONEachRow") ==
          "INSERT%20INTO%20%60logs%60%20FORMAT%20JSONEachRow");
    CHECK(http::percent_encode("a-b_c.d~e&f=g+h/\xC3\xA9\n") == "a-b_c.d~e%26f%3Dg%2Bh%2F%C3%A9%0A");
  }

  TEST_CASE("the insert target names the table quoted, the database and the unknown-columns setting") {
    ctxlog::sinks::clickhouse_sink plain({.table = "logs"});
    CHECK(plain.insert_target() == "/?query=INSERT%20INTO%20%60logs%60%20FORMAT%20JSONEachRow&wait_end_of_query=1");
    ctxlog::sinks::clickhouse_sink full(
        {.database = "obs", .table = "db2.app_logs", .unknown = ctxlog::sinks::unknown_columns::skip});
    CHECK(full.insert_target() ==
          "/?database=obs&query=INSERT%20INTO%20%60db2%60.%60app_logs%60%20FORMAT%20JSONEachRow"
          "&wait_end_of_query=1&input_format_skip_unknown_fields=1");
  }

  TEST_CASE("names that are not identifiers, CR/LF in credentials, an empty host are refused at construction") {
    using ctxlog::sinks::clickhouse_sink;
    for (const char* t : {"", "logs; DROP TABLE x", "a.b.c", "1logs", "lo`gs", "db."})
      CHECK_THROWS_AS_MESSAGE(clickhouse_sink({.table = t}), std::invalid_argument, t);
    CHECK_THROWS_AS(clickhouse_sink({.database = "x y"}), std::invalid_argument);
    CHECK_THROWS_AS(clickhouse_sink({.user = "u\r\nX-Evil: 1"}), std::invalid_argument);
    CHECK_THROWS_AS(clickhouse_sink({.password = "p\n"}), std::invalid_argument);
    CHECK_THROWS_AS(clickhouse_sink({.host = ""}), std::invalid_argument);
    CHECK_THROWS_AS(clickhouse_sink({.port = 0}), std::invalid_argument);
  }

  TEST_CASE("the exception code comes from the header, else from the body") {
    CHECK(ch::exception_code(with(500, "Code: 27, e.displayText() = DB::Exception: Cannot parse")) == 27);
    CHECK(ch::exception_code(with(400, "Code: 117. DB::Exception: Unknown field")) == 117);
    CHECK(ch::exception_code(with(500, "x", {{"X-ClickHouse-Exception-Code", "60"}})) == 60);
    CHECK(ch::exception_code(with(502, "<html>Bad gateway</html>")) == -1);
  }

  TEST_CASE("a row that does not parse splits the batch, whatever the status (18.16 says 500)") {
    CHECK(ch::classify(with(500, "Code: 27, e.displayText() = DB::Exception: Cannot parse input")).what ==
          ch::verdict::bad_rows);
    CHECK(ch::classify(with(400, "Code: 117. DB::Exception: Unknown field found")).what == ch::verdict::bad_rows);
    CHECK(ch::classify(with(400, "something else")).what == ch::verdict::bad_rows);
  }

  TEST_CASE("a missing table, database or access is refused; overload and 5xx are retried; 2xx is ok") {
    CHECK(ch::classify(with(404, "Code: 60, e.displayText() = DB::Exception: Table default.nope doesn't exist."))
              .what == ch::verdict::refused);
    CHECK(ch::classify(with(404, "Code: 81, Database nodb doesn't exist")).what == ch::verdict::refused);
    CHECK(ch::classify(with(403, "Code: 516. Authentication failed")).what == ch::verdict::refused);
    CHECK(ch::classify(with(500, "Code: 252, Too many parts")).what == ch::verdict::retry);
    CHECK(ch::classify(with(500, "Code: 999999")).what == ch::verdict::retry);
    CHECK(ch::classify(with(503, "")).what == ch::verdict::retry);
    CHECK(ch::classify(with(429, "slow down")).what == ch::verdict::retry);
    CHECK(ch::classify(with(200, "")).what == ch::verdict::ok);
  }

  TEST_CASE("the message holds the status and at most ~200 printable bytes of the server's text, on one line") {
    const ch::answer a = ch::classify(with(500, "Code: 27,\n" + std::string(500, 'x') + "\n"));
    CHECK(a.message.rfind("HTTP 500: Code: 27, x", 0) == 0);
    CHECK(a.message.find('\n') == std::string::npos);
    CHECK(a.message.size() < 220);
    CHECK(a.message.substr(a.message.size() - 3) == "...");
    // A cut never ends inside a UTF-8 sequence.
    const std::string e = ch::excerpt(std::string(199, 'a') + "\xC3\xA9\xC3\xA9", 200);
    CHECK(e == std::string(199, 'a') + "...");
  }
}

TEST_SUITE("clickhouse bisection") {
  TEST_CASE("a batch without bad rows takes one request") {
    fake_table t = table_of(100, {});
    const ch::isolated r = ch::insert_isolating(100, 64, std::ref(t));
    CHECK(r.done == 100);
    CHECK(r.rejected == 0);
    CHECK(t.sends.size() == 1);
    CHECK(t.inserted.size() == 100);
  }

  TEST_CASE("one bad row among 1000: only it is rejected, in about log2(1000) requests, the rest in order") {
    for (const std::size_t bad : {std::size_t{0}, std::size_t{1}, std::size_t{499}, std::size_t{500}, std::size_t{999}}) {
      fake_table t = table_of(1000, {bad});
      const ch::isolated r = ch::insert_isolating(1000, 64, std::ref(t));
      CHECK(r.done == 1000);
      CHECK(r.rejected == 1);
      CHECK(r.requests == t.sends.size());
      CHECK(t.sends.size() <= 2 + 2 * 10);
      REQUIRE(t.inserted.size() == 999);
      std::vector<std::string> want;
      for (std::size_t i = 0; i < 1000; ++i)
        if (i != bad) want.push_back("line " + std::to_string(i));
      CHECK(t.inserted == want);
      CHECK(r.first_rejection.find("line " + std::to_string(bad)) != std::string::npos);
    }
  }

  TEST_CASE("several bad rows, neighbours too: exactly they are rejected") {
    const std::set<std::size_t> bad = {3, 4, 17, 63, 64, 200, 255};
    fake_table t = table_of(256, bad);
    const ch::isolated r = ch::insert_isolating(256, 1000, std::ref(t));
    CHECK(r.done == 256);
    CHECK(r.rejected == bad.size());
    CHECK(t.inserted.size() == 256 - bad.size());
    for (const std::string& l : t.inserted) CHECK(l != "bad");
  }

  TEST_CASE("a batch of only bad rows costs at most the budget, then the rest is rejected together") {
    std::set<std::size_t> all;
    for (std::size_t i = 0; i < 5000; ++i) all.insert(i);
    fake_table t = table_of(5000, all);
    const ch::isolated r = ch::insert_isolating(5000, 16, std::ref(t));
    CHECK(r.done == 5000);
    CHECK(r.rejected == 5000);
    CHECK(t.sends.size() == 17);
    CHECK(t.inserted.empty());
  }

  TEST_CASE("a refused answer (the table went away) rejects the rest of the batch without splitting it") {
    fake_table whole = table_of(100, {});
    whole.refuse_from_send = 0;
    const ch::isolated a = ch::insert_isolating(100, 64, std::ref(whole));
    CHECK(a.done == 100);
    CHECK(a.rejected == 100);
    CHECK(whole.sends.size() == 1);

    fake_table mid = table_of(100, {10});
    mid.refuse_from_send = 2;  // the batch (bad), its left half (bad), then refused
    const ch::isolated b = ch::insert_isolating(100, 64, std::ref(mid));
    CHECK(b.done == 100);
    CHECK(b.rejected == 100);
    CHECK(mid.inserted.empty());
  }

  TEST_CASE("a connection failure during the split keeps what is done and leaves the rest for later") {
    fake_table t = table_of(100, {70});
    t.fail_at_send = 2;  // batch (bad), left half [0,50) ok, right half [50,75) fails
    const ch::isolated r = ch::insert_isolating(100, 64, std::ref(t));
    CHECK(r.interrupted);
    CHECK(r.done == 50);
    CHECK(r.rejected == 0);
    CHECK(t.inserted.size() == 50);
    CHECK(r.interruption == "connection reset");
  }

  TEST_CASE("the first request's failure or a retry answer is thrown: nothing is done") {
    fake_table t = table_of(10, {});
    t.fail_at_send = 0;
    CHECK_THROWS_WITH(ch::insert_isolating(10, 64, std::ref(t)), "connection reset");
    const ch::send_fn busy = [](std::size_t, std::size_t) { return ch::answer{ch::verdict::retry, 202, "HTTP 500: busy"}; };
    CHECK_THROWS_WITH(ch::insert_isolating(10, 64, busy), "HTTP 500: busy");
  }
}

TEST_SUITE("clickhouse row layout") {
  TEST_CASE("golden row: every column, the ids, and fields as one JSON object in a string") {
    const auto c = ctxlog::context{}.with(ctxlog::fields{}
                                              .request_id("r-1")
                                              .tenant_id("acme")
                                              .trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
                                              .span_id("00f067aa0ba902b7")
                                              .parent_span_id("b7ad6b7169203331")
                                              .user_id("u-3")
                                              .set("region", "eu-west-1")
                                              .set("plan", "gold"));
    kv_bytes f;
    f.f64("amount", 12.5).str("note", "a \"quoted\"\nnote").str("plan", "platinum");
    const ctxlog::process_info p{.service = "orders", .version = "1.4.2", .environment = "prod", .host = "web-1",
                                 .extra = {{"zone", "eu-1a"}, {"region", "overridden"}}};
    auto l = ctxlog::sinks::clickhouse_layout();
    const std::string line = render_row(*l, c, f.fields(), p);
    // seq is process-wide: take it from the line.
    const json j = json::parse(line);
    const std::string seq = std::to_string(j.at("seq").get<std::uint64_t>());
    CHECK(line ==
          R"({"ts":1764633600,"ts_ns":1764633600123456789,"seq":)" + seq +
              R"(,"level":"warn","logger":"orders","message":"order 42 created","service":"orders","version":"1.4.2",)"
              R"("env":"prod","host":"web-1","pid":100,"thread":4711,"file":"orders.cpp","line":42,"function":"charge",)"
              R"("requestId":"r-1","tenantId":"acme","traceId":"4bf92f3577b34da6a3ce929d0e0e4736",)"
              R"("spanId":"00f067aa0ba902b7","parentSpanId":"b7ad6b7169203331","userId":"u-3","contextLost":0,)"
              R"("fields":"{\"zone\":\"eu-1a\",\"region\":\"eu-west-1\",\"amount\":12.5,\"note\":\"a \\\"quoted\\\"\\nnote\",\"plan\":\"platinum\"}"})"
              "\n");
    const json fields = json::parse(j.at("fields").get<std::string>());
    CHECK(fields == json{{"zone", "eu-1a"}, {"region", "eu-west-1"}, {"amount", 12.5}, {"note", "a \"quoted\"\nnote"},
                         {"plan", "platinum"}});
  }

  TEST_CASE("no context, no fields: every column still there, empty; seq goes up by one per row") {
    auto l = ctxlog::sinks::clickhouse_layout();
    const ctxlog::process_info p{};
    const json a = json::parse(render_row(*l, ctxlog::context{}, {}, p));
    const json b = json::parse(render_row(*l, ctxlog::context{}, {}, p));
    CHECK(a.size() == 23);
    for (const char* k : {"requestId", "tenantId", "traceId", "spanId", "parentSpanId", "userId", "service", "host"})
      CHECK(a.at(k) == "");
    CHECK(a.at("fields") == "{}");
    CHECK(b.at("seq").get<std::uint64_t>() == a.at("seq").get<std::uint64_t>() + 1);
  }

  TEST_CASE("hostile bytes stay inside their strings: one valid row, no forged column") {
    auto l = ctxlog::sinks::clickhouse_layout();
    const auto c = ctxlog::context{}.with(ctxlog::fields{}.request_id("\",\"level\":\"fatal").set("k\xff", "v\x01"));
    const std::string line = render_row(*l, c, {}, {}, "msg\"},{\"level\":\"fatal\n\xc3");
    CHECK(line.find('\n') == line.size() - 1);
    const json j = json::parse(line);
    CHECK(j.at("level") == "warn");
    CHECK(j.at("requestId") == "\",\"level\":\"fatal");
    const json fields = json::parse(j.at("fields").get<std::string>());
    CHECK(fields.at("k\xEF\xBF\xBD") == "v\x01");
  }

  TEST_CASE("the DDL names every column of the row, partitions by day and orders by trace and time") {
    const std::string ddl = ctxlog::sinks::clickhouse_table_ddl("obs.logs");
    CHECK(ddl.rfind("CREATE TABLE IF NOT EXISTS `obs`.`logs`", 0) == 0);
    auto l = ctxlog::sinks::clickhouse_layout();
    const json row = json::parse(render_row(*l, ctxlog::context{}, {}, {}));
    for (const auto& item : row.items()) {
      const std::string k = item.key();
      CHECK_MESSAGE(ddl.find("    " + k + " ") != std::string::npos, k);
    }
    CHECK(ddl.find("PARTITION BY toYYYYMMDD(ts)") != std::string::npos);
    CHECK(ddl.find("ORDER BY (traceId, ts_ns)") != std::string::npos);
    CHECK_THROWS_AS(ctxlog::sinks::clickhouse_table_ddl("x;y"), std::invalid_argument);
  }
}

TEST_SUITE("clickhouse http connection") {
  TEST_CASE("requests share one kept-alive connection; the body goes out whole from its pieces") {
    std::vector<std::string> bodies;
    std::mutex mu;
    fake_http_server srv([&](const http_request& r) {
      std::lock_guard lk(mu);
      bodies.push_back(r.body);
      return http_reply{reply_text(200, "")};
    });
    http::connection c("127.0.0.1", srv.port(), 1000ms, 2000ms);
    const std::string big(300000, 'x');
    const std::string_view pieces[] = {"{\"a\":1}\n", big, "{\"b\":2}\n"};
    for (int i = 0; i < 3; ++i) CHECK(c.request("POST", "/?query=x", {}, pieces).status == 200);
    CHECK(srv.connections() == 1);
    std::lock_guard lk(mu);
    REQUIRE(bodies.size() == 3);
    CHECK(bodies[0] == "{\"a\":1}\n" + big + "{\"b\":2}\n");
  }

  TEST_CASE("a chunked answer over the socket") {
    fake_http_server srv([](const http_request&) {
      return http_reply{"HTTP/1.1 500 E\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nCode\r\n4\r\n: 27\r\n0\r\n\r\n"};
    });
    http::connection c("127.0.0.1", srv.port(), 1000ms, 2000ms);
    const http::response r = c.request("POST", "/", {}, {});
    CHECK(r.status == 500);
    CHECK(r.body == "Code: 27");
    CHECK(c.connected());
  }

  TEST_CASE("a kept-alive connection the server closed is opened again for the next request") {
    fake_http_server srv([](const http_request&) { return http_reply{.bytes = reply_text(200, "ok"), .close = true}; });
    http::connection c("127.0.0.1", srv.port(), 1000ms, 2000ms);
    for (int i = 0; i < 3; ++i) CHECK(c.request("POST", "/", {}, {}).body == "ok");
    CHECK(srv.connections() == 3);
  }

  TEST_CASE("an answer cut in the middle is an error, and the connection is closed") {
    fake_http_server srv([](const http_request&) { return http_reply{.bytes = reply_text(200, "0123456789"), .cut_at = 40}; });
    http::connection c("127.0.0.1", srv.port(), 1000ms, 2000ms);
    CHECK_THROWS_AS(c.request("POST", "/", {}, {}), http::protocol_error);
    CHECK_FALSE(c.connected());
  }

  TEST_CASE("a server that does not answer: io_error after io_timeout, not later") {
    fake_http_server srv([](const http_request&) { return http_reply{.bytes = reply_text(200, ""), .delay = 3000ms}; });
    http::connection c("127.0.0.1", srv.port(), 1000ms, 300ms);
    const auto t0 = std::chrono::steady_clock::now();
    try {
      c.request("POST", "/", {}, {});
      FAIL("no exception");
    } catch (const http::io_error& e) {
      CHECK_FALSE(e.before_response);
    }
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took >= 290ms);
    CHECK(took < 1500ms);
  }

  TEST_CASE("nobody listening: io_error that says nothing was answered") {
    std::uint16_t port = 0;
    {
      fake_http_server gone([](const http_request&) { return http_reply{}; });
      port = gone.port();
    }
    http::connection c("127.0.0.1", port, 500ms, 500ms);
    try {
      c.request("POST", "/", {}, {});
      FAIL("no exception");
    } catch (const http::io_error& e) {
      CHECK(e.before_response);
      CHECK(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
    }
  }
}
