// ctxlog/trace.hpp: W3C traceparent / tracestate / baggage, X-Request-Id, and
// inject()/extract() round trips. Each class of malformed input is rejected, not guessed.
#include <doctest/doctest.h>

#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "../support.hpp"
#include "ctxlog/ctxlog.hpp"
#include "ctxlog/trace.hpp"

namespace {
// Concatenation without operator+ chains (g++ 12 reports a false -Wrestrict on those).
std::string join(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (auto p : parts) s.append(p);
  return s;
}
const std::string good_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string good_span = "00f067aa0ba902b7";
const std::string good_tp = join({"00-", good_trace, "-", good_span, "-01"});
}  // namespace

TEST_SUITE("trace ids") {
  TEST_CASE("new ids are lower-case hex of the right length, non-zero and distinct") {
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
      const auto t = ctxlog::new_trace_id(), s = ctxlog::new_span_id();
      CHECK(t.size() == 32);
      CHECK(s.size() == 16);
      CHECK(t.find_first_not_of("0123456789abcdef") == std::string::npos);
      CHECK(ctxlog::format_traceparent(t, s) != "");  // accepted by our own formatter
      seen.insert(t);
    }
    CHECK(seen.size() == 200);
  }
}

TEST_SUITE("traceparent") {
  TEST_CASE("a valid version-00 traceparent parses and formats back to itself") {
    auto tp = ctxlog::parse_traceparent(good_tp);
    REQUIRE(tp);
    CHECK(tp->trace_id == good_trace);
    CHECK(tp->parent_id == good_span);
    CHECK(tp->sampled());
    CHECK(ctxlog::format_traceparent(tp->trace_id, tp->parent_id, tp->flags) == good_tp);
  }

  TEST_CASE("a future version with extra fields is accepted, version 00 with extra fields is not") {
    CHECK(ctxlog::parse_traceparent(join({"cc-", good_trace, "-", good_span, "-01-what-the-future-holds"})));
    CHECK_FALSE(ctxlog::parse_traceparent(join({good_tp, "-extra"})));
    CHECK_FALSE(ctxlog::parse_traceparent(join({"cc-", good_trace, "-", good_span, "-01x"})));
  }

  TEST_CASE("malformed traceparents are rejected: length, separators, case, zero ids, version ff") {
    CHECK_FALSE(ctxlog::parse_traceparent(""));
    CHECK_FALSE(ctxlog::parse_traceparent(good_tp.substr(0, 54)));                            // truncated
    CHECK_FALSE(ctxlog::parse_traceparent(join({"00_", good_trace, "-", good_span, "-01"})));      // separator
    CHECK_FALSE(ctxlog::parse_traceparent(join({"00-", good_trace, "-", good_span, "_01"})));
    CHECK_FALSE(ctxlog::parse_traceparent(join({"00-4BF92F3577B34DA6A3CE929D0E0E4736-", good_span, "-01"})));  // upper case
    CHECK_FALSE(ctxlog::parse_traceparent(join({"00-", std::string(32, '0'), "-", good_span, "-01"})));      // zero trace
    CHECK_FALSE(ctxlog::parse_traceparent(join({"00-", good_trace, "-", std::string(16, '0'), "-01"})));     // zero span
    CHECK_FALSE(ctxlog::parse_traceparent(join({"ff-", good_trace, "-", good_span, "-01"})));                // version ff
    CHECK_FALSE(ctxlog::parse_traceparent(join({"0g-", good_trace, "-", good_span, "-01"})));                // non-hex
    CHECK_FALSE(ctxlog::parse_traceparent(join({std::string("00-"), good_trace.substr(0, 31), std::string_view("\0-", 2), good_span, "-01"})));
  }

  TEST_CASE("format_traceparent refuses ids it could not parse back") {
    CHECK(ctxlog::format_traceparent("abc", good_span) == "");
    CHECK(ctxlog::format_traceparent(good_trace, "ZZ00000000000000") == "");
    CHECK(ctxlog::format_traceparent(std::string(32, '0'), good_span) == "");
  }
}

TEST_SUITE("tracestate") {
  TEST_CASE("valid tracestate lists parse, including tenant@system keys and empty members") {
    auto ts = ctxlog::parse_tracestate("rojo=00f067aa0ba902b7, ,congo=t61rcWkgMzE,t1@sys=x");
    REQUIRE(ts);
    CHECK(ts->size() == 3);
    CHECK((*ts)[1].second == "t61rcWkgMzE");
  }
  TEST_CASE("malformed tracestate is rejected: bad key, bad value, duplicate key, too many members") {
    CHECK_FALSE(ctxlog::parse_tracestate("Rojo=1"));
    CHECK_FALSE(ctxlog::parse_tracestate("rojo"));
    CHECK_FALSE(ctxlog::parse_tracestate("rojo=a=b"));
    CHECK_FALSE(ctxlog::parse_tracestate("rojo=1,rojo=2"));
    std::string many;
    for (int i = 0; i < 33; ++i) many += join({"k", std::to_string(i), "=v,"});
    CHECK_FALSE(ctxlog::parse_tracestate(many));
  }
}

TEST_SUITE("baggage") {
  TEST_CASE("baggage values are percent-decoded and properties dropped; format encodes them back") {
    auto b = ctxlog::parse_baggage("userId=alice, region = eu%20west;ttl=5");
    REQUIRE(b);
    REQUIRE(b->size() == 2);
    CHECK((*b)[1] == std::pair<std::string, std::string>{"region", "eu west"});
    CHECK(ctxlog::format_baggage(*b) == "userId=alice,region=eu%20west");
    auto again = ctxlog::parse_baggage(ctxlog::format_baggage({{"k", "a,b;c=d%\"\\"}}));
    REQUIRE(again);
    CHECK((*again)[0].second == "a,b;c=d%\"\\");
  }
  TEST_CASE("malformed baggage members are skipped: bad key, bad or truncated escapes, control bytes") {
    auto b = ctxlog::parse_baggage("ok=1,bad key=2,x=%zz,y=%4,z=%0a,=novalue,w=a b,v=ok");
    REQUIRE(b);
    CHECK(*b == std::vector<std::pair<std::string, std::string>>{{"ok", "1"}, {"v", "ok"}});
  }
  TEST_CASE("oversized baggage is rejected as a whole") {
    CHECK_FALSE(ctxlog::parse_baggage(std::string(8193, 'a')));
    std::string many;
    for (int i = 0; i < 181; ++i) many += join({"k", std::to_string(i), "=v,"});
    CHECK_FALSE(ctxlog::parse_baggage(many));
  }
}

TEST_SUITE("carrier") {
  TEST_CASE("inject then extract carries the request across a process boundary with a new child span") {
    std::map<std::string, std::string> carrier;
    ctxlog::run(ctxlog::fields{}.request_id("r-42").tenant_id("acme").user_id("u 1").trace_id(good_trace).span_id(good_span)
                    .set("region", "eu-west"),
                [&] { ctxlog::inject(carrier); });
    CHECK(carrier["traceparent"] == good_tp);
    CHECK(carrier["x-request-id"] == "r-42");
    const auto c = ctxlog::extract(carrier);
    CHECK(c.request_id() == "r-42");
    CHECK(c.tenant_id() == "acme");
    CHECK(c.user_id() == "u 1");
    CHECK(c.get("region") == "eu-west");
    CHECK(c.trace_id() == good_trace);
    CHECK(c.parent_span_id() == good_span);
    CHECK(c.span_id().size() == 16);
    CHECK(c.span_id() != good_span);
  }

  TEST_CASE("extract matches header names case-insensitively and logs the extracted fields") {
    auto sink = ctxlog_test::capture_all();
    std::unordered_map<std::string, std::string> headers{{"Traceparent", good_tp}, {"X-Request-ID", "abc"}};
    ctxlog::run(ctxlog::extract(headers), [] { LOG_INFO("consumed"); });
    ctxlog::flush();
    const auto j = sink->last();
    CHECK(j["requestId"] == "abc");
    CHECK(j["traceId"] == good_trace);
    CHECK(j["parentSpanId"] == good_span);
  }

  TEST_CASE("baggage cannot forge correlation ids, and invalid headers are ignored one by one") {
    std::map<std::string, std::string> carrier{
        {"baggage", "requestId=forged,traceId=forged,spanId=forged,parentSpanId=forged,tenantId=t1"},
        {"traceparent", "00-garbage"},
        {"x-request-id", std::string("bad\nid")},
    };
    const auto c = ctxlog::extract(carrier);
    CHECK(c.request_id().empty());
    CHECK(c.trace_id().empty());
    CHECK(c.span_id().empty());
    CHECK(c.parent_span_id().empty());
    CHECK(c.tenant_id() == "t1");
  }

  TEST_CASE("an empty carrier gives an empty context, and an empty context injects nothing") {
    std::map<std::string, std::string> carrier;
    CHECK(ctxlog::extract(carrier).empty());
    ctxlog::inject(carrier, ctxlog::context());
    CHECK(carrier.empty());
  }

  TEST_CASE("x-request-id accepts 1-128 visible ASCII characters only") {
    CHECK(ctxlog::valid_request_id("r-1"));
    CHECK_FALSE(ctxlog::valid_request_id(""));
    CHECK_FALSE(ctxlog::valid_request_id(std::string(129, 'a')));
    CHECK_FALSE(ctxlog::valid_request_id("has space"));
    CHECK_FALSE(ctxlog::valid_request_id("caf\xc3\xa9"));
  }
}
