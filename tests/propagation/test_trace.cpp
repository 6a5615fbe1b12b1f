// ctxlog/trace.hpp: ids, W3C Trace Context Level 2 (traceparent, tracestate), W3C Baggage,
// header hygiene, and inject()/extract() round trips. Spec vectors, valid and invalid,
// for every header: each class of malformed input is rejected, not guessed.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

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

using multi = std::vector<std::pair<std::string, std::string>>;  // headers, repeats allowed

bool is_hex(std::string_view s) { return s.find_first_not_of("0123456789abcdef") == std::string_view::npos; }
}  // namespace

TEST_SUITE("ids") {
  TEST_CASE("trace and span ids are lower-case hex of the right length, non-zero and distinct") {
    std::set<std::string> seen;
    for (int i = 0; i < 2000; ++i) {
      const auto t = ctxlog::new_trace_id(), s = ctxlog::new_span_id();
      REQUIRE(t.size() == 32);
      REQUIRE(s.size() == 16);
      CHECK(is_hex(t));
      CHECK(is_hex(s));
      CHECK(ctxlog::format_traceparent(t, s) != "");  // accepted by our own formatter
      seen.insert(t);
      seen.insert(s);
    }
    CHECK(seen.size() == 4000);
  }

  TEST_CASE("request ids are UUID version 7: layout, version and variant, time-ordered across milliseconds") {
    const auto a = ctxlog::new_request_id();
    REQUIRE(a.size() == 36);
    CHECK(a[8] == '-');
    CHECK(a[13] == '-');
    CHECK(a[18] == '-');
    CHECK(a[23] == '-');
    CHECK(a[14] == '7');  // version
    CHECK(std::string_view("89ab").find(a[19]) != std::string_view::npos);  // variant 10xx
    const auto ms = std::stoull(a.substr(0, 8) + a.substr(9, 4), nullptr, 16);
    const auto now = static_cast<unsigned long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                          std::chrono::system_clock::now().time_since_epoch())
                                                          .count());
    CHECK(ms <= now);
    CHECK(now - ms < 5000);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    CHECK(ctxlog::new_request_id() > a);  // sorts after: a later millisecond
    CHECK(ctxlog::valid_request_id(a));
  }

  TEST_CASE("ids are distinct across threads") {
    std::vector<std::vector<std::string>> per(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&per, t] {
        for (int i = 0; i < 1000; ++i) per[t].push_back(ctxlog::new_span_id());
      });
    for (auto& th : threads) th.join();
    std::set<std::string> all;
    for (const auto& v : per) all.insert(v.begin(), v.end());
    CHECK(all.size() == 4000);
  }

  TEST_CASE("a fork()ed child does not repeat the parent's next ids") {
    (void)ctxlog::new_trace_id();  // seed this thread's generator before the fork
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const auto id = ctxlog::new_trace_id();
      (void)!write(fds[1], id.data(), id.size());
      _exit(0);
    }
    close(fds[1]);
    const auto mine = ctxlog::new_trace_id();
    char buf[32];
    std::size_t got = 0;
    while (got < sizeof buf) {
      const auto n = read(fds[0], buf + got, sizeof buf - got);
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    REQUIRE(got == 32);
    CHECK(std::string(buf, 32) != mine);
  }
}

TEST_SUITE("traceparent") {
  TEST_CASE("valid traceparents: version 00, flags, OWS, future versions (with and without extra fields)") {
    struct vec {
      std::string in;
      std::uint8_t flags;
      std::uint8_t version;
    };
    const vec valid[] = {
        {good_tp, 0x01, 0},
        {join({"00-", good_trace, "-", good_span, "-00"}), 0x00, 0},
        {join({"00-", good_trace, "-", good_span, "-03"}), 0x03, 0},  // sampled + random
        {join({"00-", good_trace, "-", good_span, "-ff"}), 0xff, 0},  // reserved bits parse, are not sent
        {join({" \t", good_tp, "\t "}), 0x01, 0},                     // optional whitespace around
        {join({"01-", good_trace, "-", good_span, "-01"}), 0x01, 1},
        {join({"cc-", good_trace, "-", good_span, "-01-what-the-future-holds"}), 0x01, 0xcc},
        {join({"fe-", good_trace, "-", good_span, "-09-"}), 0x09, 0xfe},
    };
    for (const auto& v : valid) {
      INFO(v.in);
      const auto tp = ctxlog::parse_traceparent(v.in);
      REQUIRE(tp);
      CHECK(tp->trace_id == good_trace);
      CHECK(tp->parent_id == good_span);
      CHECK(tp->flags == v.flags);
      CHECK(tp->version == v.version);
    }
  }

  TEST_CASE("invalid traceparents: length, separators, case, zero ids, version ff, 00 with extra fields") {
    const std::string invalid[] = {
        "",
        "garbage",
        good_tp.substr(0, 54),                                       // truncated
        join({good_tp, "-extra"}),                                   // version 00 has no more fields
        join({good_tp, "0"}),                                        // too long
        join({"00_", good_trace, "-", good_span, "-01"}),            // separators
        join({"00-", good_trace, "_", good_span, "-01"}),
        join({"00-", good_trace, "-", good_span, "_01"}),
        join({"00-4BF92F3577B34DA6A3CE929D0E0E4736-", good_span, "-01"}),  // upper-case hex
        join({"00-", good_trace, "-00F067AA0BA902B7-01"}),
        join({"00-", good_trace, "-", good_span, "-0A"}),
        join({"0A-", good_trace, "-", good_span, "-01"}),
        join({"00-", std::string(32, '0'), "-", good_span, "-01"}),  // all-zero ids
        join({"00-", good_trace, "-", std::string(16, '0'), "-01"}),
        join({"ff-", good_trace, "-", good_span, "-01"}),            // version ff
        join({"0g-", good_trace, "-", good_span, "-01"}),            // not hex
        join({"00-", good_trace.substr(0, 31), "g-", good_span, "-01"}),
        join({"00-", good_trace, "-", good_span, "-0g"}),
        join({"cc-", good_trace, "-", good_span, "-01x"}),           // future version: flags then '-' or end
        join({"cc-", good_trace, "-", good_span.substr(0, 15), "-01-"}),
        join({"00-", good_trace.substr(0, 31), std::string_view("\0-", 2), good_span, "-01"}),
        join({"00 -", good_trace, "-", good_span, "-01"}),
        join({"00-", good_trace, "-", good_span, "-01\r\n"}),
    };
    for (const auto& v : invalid) {
      INFO(v);
      CHECK_FALSE(ctxlog::parse_traceparent(v));
    }
  }

  TEST_CASE("format_traceparent writes version 00 with only the known flags, and refuses bad ids") {
    CHECK(ctxlog::format_traceparent(good_trace, good_span, 0xff) == join({"00-", good_trace, "-", good_span, "-03"}));
    CHECK(ctxlog::format_traceparent(good_trace, good_span, 0x00) == join({"00-", good_trace, "-", good_span, "-00"}));
    CHECK(ctxlog::format_traceparent("abc", good_span) == "");
    CHECK(ctxlog::format_traceparent(good_trace, "ZZ00000000000000") == "");
    CHECK(ctxlog::format_traceparent(std::string(32, '0'), good_span) == "");
    CHECK(ctxlog::format_traceparent(good_trace, std::string(16, '0')) == "");
  }
}

TEST_SUITE("tracestate") {
  TEST_CASE("valid lists: Level 2 keys (digits first, @, 256 characters), empty members, OWS, 32 members") {
    auto ts = ctxlog::tracestate::parse("rojo=00f067aa0ba902b7, ,congo=t61rcWkgMzE,\t1tenant@sys=x ,a-b_c*d/e@f=v");
    REQUIRE(ts);
    REQUIRE(ts->members().size() == 4);
    CHECK(ts->members()[1].value == "t61rcWkgMzE");
    CHECK(ts->get("1tenant@sys") == "x");
    CHECK(ts->get("a-b_c*d/e@f") == "v");
    CHECK(ctxlog::tracestate::parse(""));  // an empty header is accepted
    CHECK(ctxlog::tracestate::parse(" , ,"));
    CHECK(ctxlog::tracestate::parse(join({std::string(256, 'k'), "=v"})));
    CHECK(ctxlog::tracestate::parse(join({"k=", std::string(256, 'v')})));
    auto spaced = ctxlog::tracestate::parse("k= leading space kept");
    REQUIRE(spaced);
    CHECK(spaced->get("k") == " leading space kept");
    std::string thirty_two;
    for (int i = 0; i < 32; ++i) thirty_two += join({"k", std::to_string(i), "=v,"});
    auto many = ctxlog::tracestate::parse(thirty_two);
    REQUIRE(many);
    CHECK(many->members().size() == 32);
  }

  TEST_CASE("invalid lists are discarded whole: bad key, bad value, duplicate key, 33 members") {
    std::string thirty_three;
    for (int i = 0; i < 33; ++i) thirty_three += join({"k", std::to_string(i), "=v,"});
    const std::string invalid[] = {
        "Rojo=1",  // upper case
        "rojo",    // no '='
        "rojo=a=b",
        "rojo=1,rojo=2",
        "_rojo=1",  // must start with a letter or digit
        "ro jo=1",
        "rojo =1",  // no OWS inside a member
        "rojo=",
        "rojo=a,b",  // (the ',' splits: "b" has no '=')
        join({std::string(257, 'k'), "=v"}),
        join({"k=", std::string(257, 'v')}),
        "k=tab\there",
        "k=caf\xc3\xa9",
        thirty_three,
    };
    for (const auto& v : invalid) {
      INFO(v);
      CHECK_FALSE(ctxlog::tracestate::parse(v));
    }
  }

  TEST_CASE("put moves the vendor to the front, keeps 32 members; to_string truncates whole members") {
    auto ts = *ctxlog::tracestate::parse("rojo=1,congo=2");
    CHECK(ts.put("congo", "3"));
    CHECK(ts.to_string() == "congo=3,rojo=1");
    CHECK_FALSE(ts.put("Bad", "x"));
    CHECK_FALSE(ts.put("ok", "a,b"));
    for (int i = 0; i < 40; ++i) ts.put(join({"v", std::to_string(i)}), "x");
    CHECK(ts.members().size() == 32);
    CHECK(ts.members().front().key == "v39");
    CHECK(ts.erase("v39"));
    CHECK_FALSE(ts.erase("v39"));

    ctxlog::tracestate big;
    big.put("z", std::string(200, 'z'));  // over 128: dropped first
    for (int i = 0; i < 10; ++i) big.put(join({"k", std::to_string(i)}), std::string(40, 'v'));
    const auto s = big.to_string(512);
    CHECK(s.size() <= 512);
    CHECK(s.find("z=") == std::string::npos);
    CHECK(s.rfind("k9=", 0) == 0);  // the latest vendor survives
    const auto again = ctxlog::tracestate::parse(s);
    REQUIRE(again);
    CHECK(again->members().size() == 10);
  }
}

TEST_SUITE("baggage") {
  TEST_CASE("values are percent-decoded, properties kept, OWS trimmed; format encodes them back") {
    const auto b = ctxlog::parse_baggage(
        "userId=alice, serverNode = DF%2028 ;  region = eu ; flag ,isProduction=false,expr=a=b");
    REQUIRE(b.members.size() == 4);
    CHECK(b.skipped == 0);
    CHECK(b.members[0] == ctxlog::baggage_member{"userId", "alice", ""});
    CHECK(b.members[1] == ctxlog::baggage_member{"serverNode", "DF 28", ";region=eu;flag"});
    CHECK(b.members[3].value == "a=b");  // '=' may appear in a value
    const auto text = ctxlog::format_baggage(b.members);
    CHECK(text == "userId=alice,serverNode=DF%2028;region=eu;flag,isProduction=false,expr=a=b");
    CHECK(ctxlog::parse_baggage(text).members == b.members);
    CHECK(ctxlog::format_baggage({{"k", "50% off, \"now\"; ok\\", ""}}) == "k=50%25%20off%2C%20%22now%22%3B%20ok%5C");
  }

  TEST_CASE("malformed members are skipped one by one, counted; the rest are kept") {
    const auto b = ctxlog::parse_baggage(
        "good=1,no-equals,bad key=2,k=bad%zz,k=trunc%2,k=ctl%0A,k=sp ace,k=q\"uote,k=x;bad prop=1,=v,ok=2");
    REQUIRE(b.members.size() == 2);
    CHECK(b.members[0].key == "good");
    CHECK(b.members[1].key == "ok");
    CHECK(b.skipped == 9);
  }

  TEST_CASE("limits: members beyond 64 and bytes beyond 8192 are dropped whole, never cut") {
    std::string many;
    for (int i = 0; i < 70; ++i) many += join({i ? "," : "", "k", std::to_string(i), "=v"});
    auto b = ctxlog::parse_baggage(many);
    CHECK(b.members.size() == 64);
    CHECK(b.dropped == 6);
    const std::string value(3000, 'v');
    auto big = ctxlog::parse_baggage(join({"a=", value, ",b=", value, ",c=", value, ",d=1"}));
    CHECK(big.members.size() == 3);  // a, b and d fit in 8192 bytes; c does not
    CHECK(big.dropped == 1);
    CHECK(big.members[2].key == "d");
    std::vector<ctxlog::baggage_member> huge;
    for (int i = 0; i < 100; ++i) huge.push_back({join({"k", std::to_string(i)}), std::string(200, 'x'), ""});
    const auto out = ctxlog::format_baggage(huge);
    CHECK(out.size() <= 8192);
    CHECK(ctxlog::parse_baggage(out).dropped == 0);
  }
}

TEST_SUITE("header hygiene") {
  TEST_CASE("safe values: 1-128 of A-Z a-z 0-9 - _ . : / + = @ and nothing else") {
    CHECK(ctxlog::safe_header_value("r-1"));
    CHECK(ctxlog::safe_header_value("Root=1-5759e988-bd862e3fe1be46a994272793/abc+def@x.y:z_"));
    CHECK(ctxlog::safe_header_value(std::string(128, 'a')));
    const std::string bad[] = {"", std::string(129, 'a'), std::string(10240, 'a'), "has space", "caf\xc3\xa9",
                               "a\"b", "a\\b", "a\r\nX-Injected: 1", "a,b", "a;b", std::string("a\0b", 3), "a\x7f"};
    for (const auto& v : bad) CHECK_FALSE(ctxlog::safe_header_value(v));
  }
}

TEST_SUITE("carrier") {
  TEST_CASE("inject then extract carries the request across a process boundary with a new child span") {
    std::map<std::string, std::string> carrier;
    ctxlog::run(ctxlog::fields{}.request_id("r-42").tenant_id("acme").user_id("u-1").trace_id(good_trace).span_id(good_span)
                    .set("region", "eu west"),
                [&] { ctxlog::inject(carrier); });
    CHECK(carrier["traceparent"] == good_tp);
    CHECK(carrier["x-request-id"] == "r-42");
    CHECK(carrier["baggage"] == "tenantId=acme,userId=u-1,region=eu%20west");
    CHECK(carrier.count("tracestate") == 0);
    const auto c = ctxlog::extract(carrier);
    CHECK(c.request_id() == "r-42");
    CHECK(c.tenant_id() == "acme");
    CHECK(c.user_id() == "u-1");
    CHECK(c.get("region") == "eu west");
    CHECK(c.trace_id() == good_trace);
    CHECK(c.parent_span_id() == good_span);
    CHECK(c.span_id().size() == 16);
    CHECK(c.span_id() != good_span);
    CHECK(c.get(ctxlog::rejected_headers_field).empty());
  }

  TEST_CASE("flags: sampled and random pass on, reserved bits are zeroed; tracestate and baggage properties pass on") {
    multi h{{"traceparent", join({"00-", good_trace, "-", good_span, "-ff"})},
            {"tracestate", "rojo=00f067aa0ba902b7"},
            {"tracestate", "congo=t61rcWkgMzE"},
            {"baggage", "userId=alice;ttl=30"},
            {"baggage", "other=1;p"}};
    const auto c = ctxlog::extract(h);
    const auto* st = ctxlog::trace_state_of(c);
    REQUIRE(st);
    CHECK(st->flags == 0x03);
    CHECK(st->state.to_string() == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");  // two lines combined
    std::map<std::string, std::string> out;
    ctxlog::inject(out, c);
    CHECK(out["traceparent"] == join({"00-", good_trace, "-", std::string(c.span_id()), "-03"}));
    CHECK(out["tracestate"] == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    CHECK(out["baggage"] == "userId=alice;ttl=30,other=1;p");
  }

  TEST_CASE("no valid traceparent: a new trace (random flag set), tracestate discarded, the rejection named") {
    for (const multi& h : {multi{},
                           multi{{"traceparent", "00-garbage"}, {"tracestate", "rojo=1"}},
                           multi{{"traceparent", good_tp}, {"traceparent", good_tp}},  // duplicated
                           multi{{"traceparent", join({"00-", good_trace.substr(0, 31), "G-", good_span, "-01"})}}}) {
      const auto c = ctxlog::extract(h);
      CHECK(c.trace_id().size() == 32);
      CHECK(c.trace_id() != good_trace);
      CHECK(c.parent_span_id().empty());
      CHECK(c.span_id().size() == 16);
      CHECK(c.request_id().size() == 36);  // a new UUID v7
      const auto* st = ctxlog::trace_state_of(c);
      REQUIRE(st);
      CHECK(st->flags == (ctxlog::trace_flag_sampled | ctxlog::trace_flag_random));
      CHECK(st->state.empty());
      CHECK(c.get(ctxlog::rejected_headers_field) == (h.empty() ? "" : "traceparent"));
    }
    ctxlog::extract_options unsampled;
    unsampled.sample_new_traces = false;
    CHECK(ctxlog::trace_state_of(ctxlog::extract(multi{}, unsampled))->flags == ctxlog::trace_flag_random);
  }

  TEST_CASE("a valid traceparent with an invalid tracestate keeps the trace and drops the tracestate") {
    const auto c = ctxlog::extract(multi{{"traceparent", good_tp}, {"tracestate", "rojo=1,rojo=2"}});
    CHECK(c.trace_id() == good_trace);
    CHECK(ctxlog::trace_state_of(c)->state.empty());
    CHECK(c.get(ctxlog::rejected_headers_field) == "tracestate");
  }

  TEST_CASE("restart_trace: a front gate ignores the incoming trace") {
    ctxlog::extract_options gate;
    gate.restart_trace = true;
    const auto c = ctxlog::extract(multi{{"traceparent", good_tp}, {"tracestate", "rojo=1"}}, gate);
    CHECK(c.trace_id() != good_trace);
    CHECK(c.parent_span_id().empty());
    CHECK(ctxlog::trace_state_of(c)->state.empty());
  }

  TEST_CASE("hostile values never enter the context: replaced by a fresh id and named in rejectedHeaders") {
    auto sink = ctxlog_test::capture_all();
    const std::string hostile[] = {std::string(10240, 'a'), "a\r\nX-Evil: 1", "\"},\"level\":\"fatal", "tab\there",
                                   std::string("nul\0x", 5), "caf\xc3\xa9"};
    for (const auto& bad : hostile) {
      multi h{{"X-Request-Id", bad}, {"x-tenant-id", bad}, {"traceparent", good_tp}};
      const auto c = ctxlog::extract(h);
      CHECK(c.request_id().size() == 36);
      CHECK(c.tenant_id().empty());
      CHECK(c.get(ctxlog::rejected_headers_field) == "x-request-id,x-tenant-id");
      CHECK(c.trace_id() == good_trace);  // what was valid is kept
      ctxlog::run(c, [] { LOG_INFO("served"); });
    }
    ctxlog::flush();
    for (const auto& j : sink->parsed()) {  // parsed strictly: one object, unique keys
      CHECK(j["level"] == "info");
      CHECK(j["requestId"].get<std::string>().size() == 36);
      CHECK(j["rejectedHeaders"] == "x-request-id,x-tenant-id");
    }
    const auto two = ctxlog::extract(multi{{"x-request-id", "a"}, {"x-request-id", "b"}});
    CHECK(two.request_id().size() == 36);
    CHECK(two.get(ctxlog::rejected_headers_field) == "x-request-id");
  }

  TEST_CASE("baggage cannot forge correlation ids; its ids pass the same hygiene; the header wins over it") {
    const auto c = ctxlog::extract(multi{
        {"baggage", "requestId=forged,traceId=forged,spanId=forged,parentSpanId=forged,rejectedHeaders=x,tenantId=t1"},
        {"traceparent", good_tp}});
    CHECK(c.request_id() != "forged");
    CHECK(c.trace_id() == good_trace);
    CHECK(c.span_id() != "forged");
    CHECK(c.parent_span_id() == good_span);
    CHECK(c.tenant_id() == "t1");
    CHECK(c.get(ctxlog::rejected_headers_field).empty());
    const auto d = ctxlog::extract(multi{{"baggage", "userId=a%22b,tenantId=t1"}, {"x-tenant-id", "t2"}});
    CHECK(d.user_id().empty());
    CHECK(d.tenant_id() == "t2");
    CHECK(d.get(ctxlog::rejected_headers_field) == "baggage");
  }

  TEST_CASE("at most max_baggage_fields members become fields; all are passed on") {
    std::string bag;
    for (int i = 0; i < 20; ++i) bag += join({i ? "," : "", "k", std::to_string(i), "=v"});
    const auto c = ctxlog::extract(multi{{"baggage", bag}});
    CHECK(c.custom().size() == 16);
    std::map<std::string, std::string> out;
    ctxlog::inject(out, c);
    CHECK(ctxlog::parse_baggage(out["baggage"]).members.size() == 20);
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
    CHECK_FALSE(j.contains("tracestate"));  // the trace state is carried, not logged
  }

  TEST_CASE("an empty context injects nothing; start_trace makes a root with the random flag") {
    std::map<std::string, std::string> carrier;
    ctxlog::inject(carrier, ctxlog::context());
    CHECK(carrier.empty());
    const auto root = ctxlog::start_trace(ctxlog::context().with(ctxlog::fields{}.request_id("r")), false);
    CHECK(root.trace_id().size() == 32);
    CHECK(root.request_id() == "r");
    CHECK(ctxlog::trace_state_of(root)->flags == ctxlog::trace_flag_random);
    ctxlog::inject(carrier, root);
    CHECK(carrier["traceparent"].substr(53) == "02");
  }

  TEST_CASE("with_trace_state: an application puts its own tracestate member first") {
    auto c = ctxlog::extract(multi{{"traceparent", good_tp}, {"tracestate", "rojo=1"}});
    auto st = *ctxlog::trace_state_of(c);
    st.state.put("ctxlog", "x");
    c = ctxlog::with_trace_state(c, st);
    std::map<std::string, std::string> out;
    ctxlog::inject(out, c);
    CHECK(out["tracestate"] == "ctxlog=x,rojo=1");
  }
}
