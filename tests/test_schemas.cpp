// Schemas: the ECS, OpenTelemetry, Google Cloud, Datadog and logfmt layouts. For each, a
// golden line from a hand-built record (fixed time, every id, custom fields, a kv() of
// every kind including json), the schema's own rules checked on lines logged through the
// pipeline, and the collision rule that keeps keys unique. make_layout() by name.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/schemas.hpp"
#include "ctxlog/trace.hpp"
#include "support.hpp"

namespace {

using ctxlog_test::capture_sink;
using ctxlog_test::parse_line;
using json = nlohmann::json;

// ---- a record built by hand ----------------------------------------------------------

// kv() fields encoded as the back-end stores them ([key][tag][value]), including the
// json kind that no LOG_* call can make yet.
class kv_bytes {
 public:
  kv_bytes& i64(std::string_view k, std::int64_t v) { return num(k, ctxlog::detail::kv_tag::i64, v); }
  kv_bytes& u64(std::string_view k, std::uint64_t v) { return num(k, ctxlog::detail::kv_tag::u64, v); }
  kv_bytes& f64(std::string_view k, double v) { return num(k, ctxlog::detail::kv_tag::f64, v); }
  kv_bytes& boolean(std::string_view k, bool v) {
    key(k, ctxlog::detail::kv_tag::boolean);
    b_.push_back(std::byte{v ? std::uint8_t{1} : std::uint8_t{0}});
    return *this;
  }
  kv_bytes& str(std::string_view k, std::string_view v) { return text(k, ctxlog::detail::kv_tag::string, v); }
  kv_bytes& json_text(std::string_view k, std::string_view v) { return text(k, ctxlog::detail::kv_tag::json, v); }
  ctxlog::call_fields fields() const { return {b_.data(), b_.data() + b_.size()}; }

 private:
  void put(std::string_view s) {
    const std::size_t n = b_.size();
    b_.resize(n + ctxlog::detail::encoded_size(s));
    ctxlog::detail::encode(b_.data() + n, s);
  }
  void key(std::string_view k, ctxlog::detail::kv_tag t) {
    put(k);
    b_.push_back(static_cast<std::byte>(t));
  }
  template <class V>
  kv_bytes& num(std::string_view k, ctxlog::detail::kv_tag t, V v) {
    key(k, t);
    const std::size_t n = b_.size();
    b_.resize(n + 8);
    std::memcpy(b_.data() + n, &v, 8);
    return *this;
  }
  kv_bytes& text(std::string_view k, ctxlog::detail::kv_tag t, std::string_view v) {
    key(k, t);
    put(v);
    return *this;
  }
  std::vector<std::byte> b_;
};

constexpr std::uint64_t k_time = 1764633600123456789ull;  // 2025-12-02T00:00:00.123456789Z
constexpr std::string_view k_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view k_span = "00f067aa0ba902b7";

ctxlog::context full_context() {
  const auto base = ctxlog::context{}.with(ctxlog::fields{}
                                               .request_id("r-1")
                                               .tenant_id("acme")
                                               .trace_id(k_trace)
                                               .span_id(k_span)
                                               .parent_span_id("b7ad6b7169203331")
                                               .user_id("u-3")
                                               .set("region", "eu-west-1")
                                               .set("plan", "gold"));
  return ctxlog::with_trace_state(base, ctxlog::trace_state{.flags = ctxlog::trace_flag_sampled, .state = {}, .baggage = {}});
}

kv_bytes every_kind() {
  kv_bytes b;
  b.f64("amount", 12.5)
      .i64("delta", -3)
      .u64("big", 18446744073709551615ull)
      .boolean("paid", true)
      .str("note", "a \"quoted\" note\n")
      .json_text("items", R"({"sku":"A-1","qty":[1,2.5,null,true]})");
  return b;
}

const ctxlog::process_info k_process{
    .service = "orders", .version = "1.4.2", .environment = "prod", .host = "web-1", .extra = {{"zone", "eu-west-1a"}}};

// One line from layout l for a record at k_time with context c and fields f.
std::string render(ctxlog::layout& l, const ctxlog::context& c, const ctxlog::call_fields& f,
                   const ctxlog::process_info& p = k_process, ctxlog::level lvl = ctxlog::level::info,
                   std::string_view message = "order 42 created") {
  return ctxlog_test::render_record(l, c, f, p, k_time, lvl, message);
}

std::string golden(ctxlog::layout_ptr l) {
  const auto c = full_context();
  const auto f = every_kind();
  return render(*l, c, f.fields());
}

// ---- checks shared by the schemas ------------------------------------------------------

bool rfc3339(const json& v) {
  static const std::regex re(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z)");
  return v.is_string() && std::regex_match(v.get<std::string>(), re);
}

bool hex(const json& v, std::size_t n) {
  if (!v.is_string() || v.get<std::string>().size() != n) return false;
  for (const char c : v.get<std::string>())
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

bool decimal(const json& v) {
  if (!v.is_string() || v.get<std::string>().empty()) return false;
  for (const char c : v.get<std::string>())
    if (c < '0' || c > '9') return false;
  return true;
}

std::uint64_t from_hex(std::string_view h) {
  std::uint64_t v = 0;
  std::from_chars(h.data(), h.data() + h.size(), v, 16);
  return v;
}

// Logs one line of each level (and a kv() of each kind the macros make) in a traced
// request through the pipeline, to a sink with layout l; returns the lines and the context.
std::vector<std::string> logged(ctxlog::layout_ptr l, ctxlog::context& traced) {
  auto sink = std::make_shared<capture_sink>();
  sink->set_layout(std::move(l));
  ctxlog::configure({.sinks = {sink}, .min_level = ctxlog::level::trace, .process = k_process});
  traced = ctxlog::start_trace(ctxlog::context{}.with(ctxlog::fields{}.request_id("r-7").user_id("u-1").set("plan", "gold")));
  ctxlog::run(traced, [] {
    LOG_TRACE("t", ctxlog::kv("n", 1));
    LOG_DEBUG("d", ctxlog::kv("x", 1.5));
    LOG_INFO("order {} created", 42, ctxlog::kv("amount", 12.5), ctxlog::kv("paid", true), ctxlog::kv("big", 18446744073709551615ull));
    LOG_WARN("w", ctxlog::kv("note", "with \"quotes\" and\nnewline"));
    LOG_ERROR("e", ctxlog::kv("delta", -3));
    LOG_CRITICAL("c");
  });
  return sink->lines();
}

const std::vector<std::string> k_levels = {"trace", "debug", "info", "warn", "error", "critical"};

// A logfmt line as pairs, unescaped; fails the test on a malformed line.
std::vector<std::pair<std::string, std::string>> parse_logfmt(const std::string& line) {
  REQUIRE(!line.empty());
  REQUIRE(line.back() == '\n');
  REQUIRE(line.find('\n') == line.size() - 1);
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  const std::size_t end = line.size() - 1;
  while (i < end) {
    const std::size_t eq = line.find('=', i);
    REQUIRE_MESSAGE(eq != std::string::npos, "no '=' in " << line);
    std::string key = line.substr(i, eq - i);
    REQUIRE_MESSAGE(key.find_first_of(" \"") == std::string::npos, "bad key in " << line);
    std::string value;
    i = eq + 1;
    if (i < end && line[i] == '"') {
      for (++i; i < end && line[i] != '"'; ++i) {
        if (line[i] != '\\') {
          value.push_back(line[i]);
          continue;
        }
        const char e = line[++i];
        if (e == 'n') value.push_back('\n');
        else if (e == 'r') value.push_back('\r');
        else if (e == 't') value.push_back('\t');
        else if (e == 'u') {
          value.push_back(static_cast<char>(std::stoi(line.substr(i + 1, 4), nullptr, 16)));
          i += 4;
        } else value.push_back(e);
      }
      REQUIRE_MESSAGE(i < end, "unterminated quote in " << line);
      ++i;
    } else {
      const std::size_t sp = std::min(line.find(' ', i), end);
      value = line.substr(i, sp - i);
      REQUIRE_MESSAGE(value.find_first_of("\"=\\") == std::string::npos, "unquoted special byte in " << line);
      i = sp;
    }
    out.emplace_back(std::move(key), std::move(value));
    if (i < end) {
      REQUIRE_MESSAGE(line[i] == ' ', "pairs not separated by a space in " << line);
      ++i;
    }
  }
  return out;
}

std::map<std::string, std::string> logfmt_map(const std::string& line) {
  std::map<std::string, std::string> m;
  for (auto& pair : parse_logfmt(line)) {
    const std::string& k = pair.first;  // a structured binding cannot be captured by INFO with clang 14
    INFO("key " << k << " in " << line);
    CHECK(m.count(k) == 0);
    m[k] = pair.second;
  }
  return m;
}

// The attributes of an OTLP LogRecord as key -> AnyValue; fails on a repeated key.
std::map<std::string, json> otel_attributes(const json& list) {
  std::map<std::string, json> m;
  REQUIRE(list.is_array());
  for (const json& a : list) {
    REQUIRE(a.size() == 2);
    const std::string k = a.at("key").get<std::string>();
    INFO("attribute " << k);
    CHECK(m.count(k) == 0);
    m[k] = a.at("value");
  }
  return m;
}

// An AnyValue has one kind, spelled as OTLP/JSON does (64-bit integers as strings).
void check_any_value(const json& v) {
  REQUIRE(v.is_object());
  if (v.empty()) return;  // null
  REQUIRE(v.size() == 1);
  const std::string kind = v.begin().key();
  const json& x = v.begin().value();
  if (kind == "stringValue") CHECK(x.is_string());
  else if (kind == "boolValue") CHECK(x.is_boolean());
  else if (kind == "intValue") CHECK(decimal(x.get<std::string>()[0] == '-' ? json(x.get<std::string>().substr(1)) : x));
  else if (kind == "doubleValue") CHECK((x.is_number() || x == "NaN" || x == "Infinity" || x == "-Infinity"));
  else if (kind == "arrayValue")
    for (const json& e : x.at("values")) check_any_value(e);
  else if (kind == "kvlistValue")
    for (const json& e : x.at("values")) {
      CHECK(e.at("key").is_string());
      check_any_value(e.at("value"));
    }
  else FAIL("unknown AnyValue kind " << kind);
}

}  // namespace

TEST_SUITE("ecs layout") {
  TEST_CASE("golden line: ids in their ECS fields, custom fields as labels, kv() top-level with their types") {
    CHECK(golden(ctxlog::ecs_layout()) ==
          R"({"@timestamp":"2025-12-02T00:00:00.123Z","log.level":"info","message":"order 42 created","ecs.version":"8.11.0",)"
          R"("log.logger":"orders","trace.id":"4bf92f3577b34da6a3ce929d0e0e4736","span.id":"00f067aa0ba902b7",)"
          R"("http.request.id":"r-1","organization.id":"acme","user.id":"u-3","amount":12.5,"delta":-3,)"
          R"("big":18446744073709551615,"paid":true,"note":"a \"quoted\" note\n","items":{"sku":"A-1","qty":[1,2.5,null,true]},)"
          R"("labels":{"zone":"eu-west-1a","parentSpanId":"b7ad6b7169203331","region":"eu-west-1","plan":"gold"},)"
          R"("service.name":"orders","service.version":"1.4.2","service.environment":"prod","host.name":"web-1",)"
          R"("process.pid":100,"process.thread.id":4711,"log.origin.file.name":"orders.cpp","log.origin.file.line":42,)"
          R"("log.origin.function":"charge"})"
          "\n");
  }

  TEST_CASE("lines follow ECS: RFC 3339 @timestamp, string log.level, hex trace.id and span.id, string labels") {
    ctxlog::context traced;
    const auto lines = logged(ctxlog::ecs_layout({.precision = ctxlog::time_precision::us,
                                                  .transaction = ctxlog::ecs_transaction::span_id}),
                              traced);
    REQUIRE(lines.size() == 6);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const json j = parse_line(lines[i]);
      INFO(lines[i]);
      CHECK(rfc3339(j["@timestamp"]));
      CHECK(j["@timestamp"].get<std::string>().size() == std::string("2025-12-02T00:00:00.123456Z").size());
      CHECK(j["log.level"] == k_levels[i]);
      CHECK(j["message"].is_string());
      CHECK(j["ecs.version"] == "8.11.0");
      CHECK(j["log.logger"] == "default");
      CHECK(j["trace.id"] == std::string(traced.trace_id()));
      CHECK(hex(j["trace.id"], 32));
      CHECK(hex(j["span.id"], 16));
      CHECK(j["transaction.id"] == j["span.id"]);
      CHECK(j["http.request.id"] == "r-7");
      CHECK(j["user.id"] == "u-1");
      REQUIRE(j["labels"].is_object());
      for (const auto& [k, v] : j["labels"].items()) {
        CHECK(k.find('.') == std::string::npos);
        CHECK(v.is_string());
      }
      CHECK(j["labels"]["plan"] == "gold");
      CHECK(j["service.name"] == "orders");
      CHECK(j["process.pid"].is_number_integer());
      CHECK(j["process.thread.id"].is_number_integer());
      CHECK(j["log.origin.file.name"] == "test_schemas.cpp");
      CHECK(j["log.origin.file.line"].is_number_integer());
    }
    const json info = parse_line(lines[2]);
    CHECK(info["message"] == "order 42 created");
    CHECK(info["amount"] == 12.5);
    CHECK(info["paid"] == true);
    CHECK(info["big"] == 18446744073709551615ull);
    CHECK(!parse_line(golden(ctxlog::ecs_layout())).contains("transaction.id"));  // not by default
  }

  TEST_CASE("a kv() on an ECS field or its path gets '_', a custom field named like a label too") {
    const auto c = ctxlog::context{}.with(
        ctxlog::fields{}.trace_id(k_trace).set("zone", "ctx").set("contextLost", "forged").set("a.b", "dotted"));
    kv_bytes f;
    f.str("trace.id", "forged").i64("log", 1).str("log.level.x", "y").str("labels", "l").str("labels.zone", "z")
        .str("service", "s").str("user.name", "ok").i64("n", 1).i64("n", 2);
    const json j = parse_line(render(*ctxlog::ecs_layout(), c, f.fields()));
    CHECK(j["trace.id"] == std::string(k_trace));
    CHECK(j["_trace.id"] == "forged");
    CHECK(j["_log"] == 1);
    CHECK(j["_log.level.x"] == "y");
    CHECK(j["_labels"] == "l");
    CHECK(j["_labels.zone"] == "z");
    CHECK(j["_service"] == "s");
    CHECK(j["user.name"] == "ok");  // an ECS field the layout does not write: the caller's to set
    CHECK(j["n"] == 2);
    CHECK(j["labels"]["zone"] == "eu-west-1a");
    CHECK(j["labels"]["_zone"] == "ctx");
    CHECK(j["labels"]["_contextLost"] == "forged");
    CHECK(j["labels"]["a_b"] == "dotted");
    CHECK(!j.contains("transaction.id"));
  }

  TEST_CASE("an empty ecs.version and process labels that collide are rejected") {
    CHECK_THROWS_AS(ctxlog::ecs_layout({.ecs_version = ""}), std::invalid_argument);
    auto l = ctxlog::ecs_layout();
    CHECK_THROWS_AS(l->configure({.extra = {{"a.b", "1"}, {"a_b", "2"}}}), std::invalid_argument);
    CHECK_THROWS_AS(l->configure({.extra = {{"parentSpanId", "1"}}}), std::invalid_argument);
  }
}

TEST_SUITE("otel layout") {
  TEST_CASE("golden line: one ExportLogsServiceRequest, typed attributes, hex ids and flags") {
    CHECK(golden(ctxlog::otel_layout()) ==
          R"({"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"orders"}},)"
          R"({"key":"service.version","value":{"stringValue":"1.4.2"}},{"key":"deployment.environment.name","value":{"stringValue":"prod"}},)"
          R"({"key":"host.name","value":{"stringValue":"web-1"}},{"key":"zone","value":{"stringValue":"eu-west-1a"}},)"
          R"({"key":"process.pid","value":{"intValue":"100"}}]},"scopeLogs":[{"scope":{"name":"orders"},"logRecords":[{)"
          R"("timeUnixNano":"1764633600123456789","severityNumber":9,"severityText":"INFO","body":{"stringValue":"order 42 created"},)"
          R"("attributes":[{"key":"requestId","value":{"stringValue":"r-1"}},{"key":"tenantId","value":{"stringValue":"acme"}},)"
          R"({"key":"userId","value":{"stringValue":"u-3"}},{"key":"parentSpanId","value":{"stringValue":"b7ad6b7169203331"}},)"
          R"({"key":"region","value":{"stringValue":"eu-west-1"}},{"key":"plan","value":{"stringValue":"gold"}},)"
          R"({"key":"amount","value":{"doubleValue":12.5}},{"key":"delta","value":{"intValue":"-3"}},)"
          R"({"key":"big","value":{"stringValue":"18446744073709551615"}},{"key":"paid","value":{"boolValue":true}},)"
          R"({"key":"note","value":{"stringValue":"a \"quoted\" note\n"}},)"
          R"({"key":"items","value":{"kvlistValue":{"values":[{"key":"sku","value":{"stringValue":"A-1"}},)"
          R"({"key":"qty","value":{"arrayValue":{"values":[{"intValue":"1"},{"doubleValue":2.5},{},{"boolValue":true}]}}}]}}},)"
          R"({"key":"thread.id","value":{"intValue":"4711"}},{"key":"code.file.path","value":{"stringValue":"orders.cpp"}},)"
          R"({"key":"code.line.number","value":{"intValue":"42"}},{"key":"code.function.name","value":{"stringValue":"charge"}}],)"
          R"("flags":1,"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7"}]}]}]})"
          "\n");
  }

  TEST_CASE("lines follow OTLP/JSON: string timeUnixNano, severityNumber mapping, AnyValues, flags from the trace") {
    ctxlog::context traced;
    const auto lines = logged(ctxlog::otel_layout(), traced);
    REQUIRE(lines.size() == 6);
    const int numbers[] = {1, 5, 9, 13, 17, 21};
    const char* texts[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    for (std::size_t i = 0; i < lines.size(); ++i) {
      INFO(lines[i]);
      const json j = parse_line(lines[i]);
      REQUIRE(j.size() == 1);
      REQUIRE(j["resourceLogs"].size() == 1);
      const json& rl = j["resourceLogs"][0];
      const auto resource = otel_attributes(rl["resource"]["attributes"]);
      CHECK(resource.at("service.name") == json{{"stringValue", "orders"}});
      CHECK(resource.at("process.pid")["intValue"] == std::to_string(::getpid()));
      REQUIRE(rl["scopeLogs"].size() == 1);
      CHECK(rl["scopeLogs"][0]["scope"]["name"] == "default");
      REQUIRE(rl["scopeLogs"][0]["logRecords"].size() == 1);
      const json& r = rl["scopeLogs"][0]["logRecords"][0];
      CHECK(decimal(r["timeUnixNano"]));
      CHECK(r["timeUnixNano"].get<std::string>().size() == 19);
      CHECK(r["severityNumber"] == numbers[i]);
      CHECK(r["severityText"] == texts[i]);
      CHECK(r["body"].size() == 1);
      CHECK(r["body"]["stringValue"].is_string());
      CHECK(r["traceId"] == std::string(traced.trace_id()));
      CHECK(hex(r["traceId"], 32));
      CHECK(hex(r["spanId"], 16));
      CHECK(r["flags"] == (ctxlog::trace_flag_sampled | ctxlog::trace_flag_random));
      const auto attrs = otel_attributes(r["attributes"]);
      for (const auto& kv : attrs) check_any_value(kv.second);
      CHECK(attrs.at("requestId") == json{{"stringValue", "r-7"}});
      CHECK(attrs.at("plan") == json{{"stringValue", "gold"}});
      CHECK(attrs.at("thread.id").contains("intValue"));
      CHECK(attrs.at("code.file.path") == json{{"stringValue", "test_schemas.cpp"}});
    }
    const auto info = otel_attributes(parse_line(lines[2])["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["attributes"]);
    CHECK(info.at("amount") == json{{"doubleValue", 12.5}});
    CHECK(info.at("paid") == json{{"boolValue", true}});
    CHECK(info.at("big") == json{{"stringValue", "18446744073709551615"}});
    const auto err = otel_attributes(parse_line(lines[4])["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["attributes"]);
    CHECK(err.at("delta") == json{{"intValue", "-3"}});
  }

  TEST_CASE("a JSON kv() becomes kvlistValue/arrayValue; a non-finite double and text that is not JSON stay valid") {
    kv_bytes f;
    f.json_text("deep", R"( [ {"a" : {"b":[]}} , -7 , 1e3 , 92233720368547758070 , "x\"y" , false ] )")
        .json_text("broken", R"({"a":)")
        .json_text("bad number", "[1.]")
        .json_text("nul", std::string_view("[1\0]", 4))
        .f64("nan", std::nan(""))
        .f64("inf", -HUGE_VAL);
    const json j = parse_line(render(*ctxlog::otel_layout({.code = false, .thread = false}), ctxlog::context{}, f.fields()));
    const json& r = j["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
    const auto attrs = otel_attributes(r["attributes"]);
    for (const auto& kv : attrs) check_any_value(kv.second);
    const json& deep = attrs.at("deep")["arrayValue"]["values"];
    REQUIRE(deep.size() == 6);
    CHECK(deep[0]["kvlistValue"]["values"][0]["key"] == "a");
    CHECK(deep[0]["kvlistValue"]["values"][0]["value"]["kvlistValue"]["values"][0]["value"] ==
          json{{"arrayValue", {{"values", json::array()}}}});
    CHECK(deep[1] == json{{"intValue", "-7"}});
    CHECK(deep[2] == json{{"doubleValue", 1000.0}});
    CHECK(deep[3].contains("doubleValue"));  // beyond int64
    CHECK(deep[4] == json{{"stringValue", "x\"y"}});
    CHECK(deep[5] == json{{"boolValue", false}});
    CHECK(attrs.at("broken") == json{{"stringValue", R"({"a":)"}});
    CHECK(attrs.at("bad number") == json{{"stringValue", "[1.]"}});
    CHECK(attrs.at("nul") == json{{"stringValue", std::string("[1\0]", 4)}});
    CHECK(attrs.at("nan") == json{{"doubleValue", "NaN"}});
    CHECK(attrs.at("inf") == json{{"doubleValue", "-Infinity"}});
    CHECK(!r.contains("traceId"));
    CHECK(!r.contains("flags"));
    CHECK(otel_attributes(j["resourceLogs"][0]["resource"]["attributes"]).count("service.name") == 1);
  }

  TEST_CASE("attribute keys stay unique: own attributes get '_', kv() wins over context, ids that are not hex are attributes") {
    const auto c = ctxlog::context{}.with(
        ctxlog::fields{}.request_id("r-1").trace_id("not-hex").span_id(k_span).set("region", "ctx").set("thread.id", "x"));
    kv_bytes f;
    f.str("region", "call").str("requestId", "forged").i64("n", 1).i64("n", 2).str("code.line.number", "y");
    const json j = parse_line(render(*ctxlog::otel_layout(), c, f.fields()));
    const json& r = j["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
    const auto attrs = otel_attributes(r["attributes"]);
    CHECK(attrs.at("requestId") == json{{"stringValue", "r-1"}});
    CHECK(attrs.at("_requestId") == json{{"stringValue", "forged"}});
    CHECK(attrs.at("region") == json{{"stringValue", "call"}});
    CHECK(attrs.at("_thread.id") == json{{"stringValue", "x"}});
    CHECK(attrs.at("_code.line.number") == json{{"stringValue", "y"}});
    CHECK(attrs.at("n") == json{{"intValue", "2"}});
    CHECK(attrs.at("traceId") == json{{"stringValue", "not-hex"}});
    CHECK(!r.contains("traceId"));
    CHECK(r["spanId"] == std::string(k_span));
    CHECK(!r.contains("flags"));  // no trace state
    CHECK_THROWS_AS(ctxlog::otel_layout()->configure({.extra = {{"service.name", "x"}}}), std::invalid_argument);
  }
}

TEST_SUITE("gcp layout") {
  TEST_CASE("golden line: the special fields, labels for the context, jsonPayload for kv()") {
    CHECK(golden(ctxlog::gcp_layout({.project_id = "my-project"})) ==
          R"({"severity":"INFO","message":"order 42 created","time":"2025-12-02T00:00:00.123456Z",)"
          R"("logging.googleapis.com/trace":"projects/my-project/traces/4bf92f3577b34da6a3ce929d0e0e4736",)"
          R"("logging.googleapis.com/spanId":"00f067aa0ba902b7","logging.googleapis.com/trace_sampled":true,)"
          R"("amount":12.5,"delta":-3,"big":18446744073709551615,"paid":true,"note":"a \"quoted\" note\n",)"
          R"("items":{"sku":"A-1","qty":[1,2.5,null,true]},"logger":"orders",)"
          R"("logging.googleapis.com/labels":{"env":"prod","host":"web-1","zone":"eu-west-1a","requestId":"r-1",)"
          R"("tenantId":"acme","userId":"u-3","parentSpanId":"b7ad6b7169203331","region":"eu-west-1","plan":"gold"},)"
          R"("serviceContext":{"service":"orders","version":"1.4.2"},"thread":4711,)"
          R"("logging.googleapis.com/sourceLocation":{"file":"orders.cpp","line":"42","function":"charge"}})"
          "\n");
  }

  TEST_CASE("lines follow Cloud Logging: severity names, trace resource name, trace_sampled, string labels and line") {
    ctxlog::context traced;
    const auto lines = logged(ctxlog::gcp_layout({.project_id = "p-1"}), traced);
    REQUIRE(lines.size() == 6);
    const char* severities[] = {"DEBUG", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};
    for (std::size_t i = 0; i < lines.size(); ++i) {
      INFO(lines[i]);
      const json j = parse_line(lines[i]);
      CHECK(j["severity"] == severities[i]);
      CHECK(rfc3339(j["time"]));
      CHECK(j["message"].is_string());
      CHECK(j["logging.googleapis.com/trace"] == "projects/p-1/traces/" + std::string(traced.trace_id()));
      CHECK(j["logging.googleapis.com/spanId"] == std::string(traced.span_id()));
      CHECK(j["logging.googleapis.com/trace_sampled"] == true);
      const json& loc = j["logging.googleapis.com/sourceLocation"];
      CHECK(loc["file"] == "test_schemas.cpp");
      CHECK(decimal(loc["line"]));
      CHECK(loc["function"].is_string());
      for (const auto& [k, v] : j["logging.googleapis.com/labels"].items()) CHECK(v.is_string());
      CHECK(j["logging.googleapis.com/labels"]["requestId"] == "r-7");
      CHECK(j["serviceContext"]["service"] == "orders");
    }
    CHECK(parse_line(lines[2])["amount"] == 12.5);
    // Not sampled, and without a project the bare trace id.
    const auto unsampled = ctxlog::start_trace(ctxlog::context{}, false);
    const kv_bytes none;
    const json j = parse_line(render(*ctxlog::gcp_layout(), unsampled, none.fields()));
    CHECK(j["logging.googleapis.com/trace_sampled"] == false);
    CHECK(j["logging.googleapis.com/trace"] == std::string(unsampled.trace_id()));
  }

  TEST_CASE("no kv() can forge a special field: logging.googleapis.com/* and the line's own fields get '_'") {
    const auto c = ctxlog::context{}.with(ctxlog::fields{}.request_id("r-1").set("requestId_", "a").set("env", "ctx"));
    kv_bytes f;
    f.str("logging.googleapis.com/trace", "projects/evil/traces/1").str("severity", "EMERGENCY").str("message", "m")
        .str("httpRequest", "h").str("logger", "l").str("requestId", "top-level is fine");
    const json j = parse_line(render(*ctxlog::gcp_layout(), c, f.fields()));
    CHECK(!j.contains("logging.googleapis.com/trace"));
    CHECK(j["_logging.googleapis.com/trace"] == "projects/evil/traces/1");
    CHECK(j["severity"] == "INFO");
    CHECK(j["_severity"] == "EMERGENCY");
    CHECK(j["_message"] == "m");
    CHECK(j["_httpRequest"] == "h");
    CHECK(j["_logger"] == "l");
    CHECK(j["requestId"] == "top-level is fine");
    CHECK(j["logging.googleapis.com/labels"]["requestId"] == "r-1");
    CHECK(j["logging.googleapis.com/labels"]["env"] == "prod");
    CHECK(j["logging.googleapis.com/labels"]["_env"] == "ctx");
  }
}

TEST_SUITE("datadog layout") {
  TEST_CASE("golden line: dd.trace_id and dd.span_id as decimal strings of the low 64 bits") {
    // 0xa3ce929d0e0e4736 = 11803532876627986230, 0x00f067aa0ba902b7 = 67667974448284343
    CHECK(golden(ctxlog::datadog_layout()) ==
          R"({"date":"2025-12-02T00:00:00.123Z","status":"info","message":"order 42 created","logger.name":"orders",)"
          R"("service":"orders","env":"prod","version":"1.4.2","host":"web-1","zone":"eu-west-1a",)"
          R"("dd.trace_id":"11803532876627986230","dd.span_id":"67667974448284343","requestId":"r-1","tenantId":"acme",)"
          R"("usr.id":"u-3","parentSpanId":"b7ad6b7169203331","region":"eu-west-1","plan":"gold",)"
          R"("amount":12.5,"delta":-3,"big":18446744073709551615,"paid":true,"note":"a \"quoted\" note\n",)"
          R"("items":{"sku":"A-1","qty":[1,2.5,null,true]},"logger.thread_name":"4711","logger.method_name":"charge",)"
          R"("file":"orders.cpp","line":42})"
          "\n");
    const json j = parse_line(golden(ctxlog::datadog_layout({.trace_id = ctxlog::datadog_trace_id::hex128})));
    CHECK(j["dd.trace_id"] == std::string(k_trace));
    CHECK(j["dd.span_id"] == "67667974448284343");
  }

  TEST_CASE("lines follow Datadog: status, service/env/version, decimal ids that match the W3C ids") {
    ctxlog::context traced;
    const auto lines = logged(ctxlog::datadog_layout(), traced);
    REQUIRE(lines.size() == 6);
    const std::string trace(traced.trace_id()), span(traced.span_id());
    for (std::size_t i = 0; i < lines.size(); ++i) {
      INFO(lines[i]);
      const json j = parse_line(lines[i]);
      CHECK(j["status"] == k_levels[i]);
      CHECK(rfc3339(j["date"]));
      CHECK(j["message"].is_string());
      CHECK(j["service"] == "orders");
      CHECK(j["env"] == "prod");
      CHECK(j["version"] == "1.4.2");
      CHECK(j["logger.name"] == "default");
      CHECK(decimal(j["logger.thread_name"]));
      REQUIRE(decimal(j["dd.trace_id"]));
      REQUIRE(decimal(j["dd.span_id"]));
      CHECK(std::stoull(j["dd.trace_id"].get<std::string>()) == from_hex(std::string_view(trace).substr(16)));
      CHECK(std::stoull(j["dd.span_id"].get<std::string>()) == from_hex(span));
      CHECK(j["usr.id"] == "u-1");
      CHECK(!j.contains("traceId"));
    }
  }

  TEST_CASE("a user key on a Datadog attribute or path gets '_'; kv() wins over context; ids that are not hex stay as they are") {
    const auto c = ctxlog::context{}.with(ctxlog::fields{}.trace_id("t-1").span_id("s-1").set("region", "ctx").set("level", "x"));
    kv_bytes f;
    f.str("status", "emergency").str("dd.trace_id", "1").str("logger", "l").str("timestamp", "t").str("region", "call")
        .str("service.tier", "gold").str("usr.name", "ok");
    const json j = parse_line(render(*ctxlog::datadog_layout(), c, f.fields()));
    CHECK(j["status"] == "info");
    CHECK(j["_status"] == "emergency");
    CHECK(j["_dd.trace_id"] == "1");
    CHECK(!j.contains("dd.trace_id"));
    CHECK(j["traceId"] == "t-1");
    CHECK(j["spanId"] == "s-1");
    CHECK(j["_logger"] == "l");
    CHECK(j["__timestamp"] == "t");  // "_timestamp" is one of Datadog's date attributes too
    CHECK(j["_level"] == "x");
    CHECK(j["region"] == "call");
    CHECK(j["_service.tier"] == "gold");
    CHECK(j["usr.name"] == "ok");
    CHECK_THROWS_AS(ctxlog::datadog_layout()->configure({.extra = {{"status", "x"}}}), std::invalid_argument);
  }
}

TEST_SUITE("logfmt layout") {
  TEST_CASE("golden line: key=value pairs, quoted and escaped where needed") {
    CHECK(golden(ctxlog::logfmt_layout()) ==
          "ts=2025-12-02T00:00:00.123456Z level=info logger=orders msg=\"order 42 created\" requestId=r-1 tenantId=acme "
          "traceId=4bf92f3577b34da6a3ce929d0e0e4736 spanId=00f067aa0ba902b7 parentSpanId=b7ad6b7169203331 userId=u-3 "
          "region=eu-west-1 plan=gold amount=12.5 delta=-3 big=18446744073709551615 paid=true "
          "note=\"a \\\"quoted\\\" note\\n\" items=\"{\\\"sku\\\":\\\"A-1\\\",\\\"qty\\\":[1,2.5,null,true]}\" thread=4711 "
          "service=orders version=1.4.2 env=prod host=web-1 zone=eu-west-1a file=orders.cpp line=42\n");
  }

  TEST_CASE("one line per record whatever the bytes: values quoted, keys made bare, parsed back as logged") {
    const auto c = ctxlog::context{}.with(ctxlog::fields{}.request_id("r 1").set("a key", "v").set("level", "ctx"));
    kv_bytes f;
    f.str("empty", "").str("eq", "a=b").str("ctl", std::string_view("\x01\x7f\r\t", 4)).str("bad", "\xff")
        .str("k=\"x\"", "v").str("", "nameless").str("level", "forged").f64("nan", std::nan("")).f64("inf", HUGE_VAL);
    const std::string line = render(*ctxlog::logfmt_layout({.thread = false}), c, f.fields(), {}, ctxlog::level::warn,
                                    "multi\nline \"message\"");
    const auto m = logfmt_map(line);
    CHECK(m.at("level") == "warn");
    CHECK(m.at("msg") == "multi\nline \"message\"");
    CHECK(m.at("requestId") == "r 1");
    CHECK(m.at("a_key") == "v");
    CHECK(m.at("_level") == "forged");  // the later kv() wins over the context's renamed field
    CHECK(m.at("empty").empty());
    CHECK(m.at("eq") == "a=b");
    CHECK(m.at("ctl") == std::string("\x01\x7f\r\t"));
    CHECK(m.at("bad") == "\xEF\xBF\xBD");
    CHECK(m.at("k__x_") == "v");
    CHECK(m.at("_") == "nameless");
    CHECK(m.at("nan") == "NaN");
    CHECK(m.at("inf") == "+Inf");
    CHECK(line.find("empty=\"\"") != std::string::npos);
  }

  TEST_CASE("lines logged through the pipeline parse as logfmt with the context on each") {
    ctxlog::context traced;
    const auto lines = logged(ctxlog::logfmt_layout(), traced);
    REQUIRE(lines.size() == 6);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const auto m = logfmt_map(lines[i]);
      CHECK(m.at("level") == k_levels[i]);
      CHECK(m.at("traceId") == std::string(traced.trace_id()));
      CHECK(m.at("requestId") == "r-7");
      CHECK(m.at("service") == "orders");
    }
    CHECK(logfmt_map(lines[3]).at("note") == "with \"quotes\" and\nnewline");
  }
}

TEST_SUITE("schemas") {
  TEST_CASE("make_layout knows every schema by name and lists the names when it does not") {
    for (const char* name : {"json", "ecs", "otel", "gcp", "datadog", "logfmt"}) {
      INFO(name);
      auto l = ctxlog::make_layout(name);
      REQUIRE(l != nullptr);
      const auto c = full_context();
      const auto f = every_kind();
      const std::string line = render(*l, c, f.fields());
      if (std::string_view(name) == "logfmt") logfmt_map(line);
      else parse_line(line);
    }
    CHECK(ctxlog::make_layout("console") != nullptr);
    try {
      ctxlog::make_layout("xml");
      FAIL("no exception");
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      CHECK(what.find("\"xml\"") != std::string::npos);
      for (const char* name : {"json", "console", "ecs", "otel", "gcp", "datadog", "logfmt"})
      CHECK(what.find(name) != std::string::npos);
    }
  }

  TEST_CASE("no schema line carries a key twice, whatever the mix of context and kv() keys") {
    const std::vector<std::string> pool = {"a", "_a", "a.b", "message", "_message", "log.level", "log", "labels",
                                           "trace.id", "status", "dd.trace_id", "logger", "severity", "requestId",
                                           "_requestId", "thread.id", "time", "ts", "msg", "level", "zone", "\xff",
                                           "logging.googleapis.com/labels", "service", "parentSpanId", "env"};
    const std::vector<ctxlog::layout_ptr> layouts = {ctxlog::ecs_layout(), ctxlog::otel_layout(),
                                                     ctxlog::gcp_layout({.project_id = "p"}), ctxlog::datadog_layout(),
                                                     ctxlog::logfmt_layout()};
    std::mt19937 rng(11);
    for (int round = 0; round < 200; ++round) {
      ctxlog::fields fs;
      fs.trace_id(k_trace).span_id(k_span).request_id("r");
      std::vector<std::string> keep;  // fields holds views
      for (int i = 0, n = static_cast<int>(rng() % 4); i < n; ++i) {
        const std::string& k = pool[rng() % pool.size()];
        if (k == "requestId" || k == "parentSpanId") continue;  // well-known, not custom
        keep.push_back(k);
      }
      for (const std::string& k : keep) fs.set(k, "c");
      const auto c = ctxlog::context{}.with(fs);
      kv_bytes f;
      for (int i = 0; i < 4; ++i) f.i64(pool[rng() % pool.size()], i);
      for (std::size_t l = 0; l < layouts.size(); ++l) {
        const std::string line = render(*layouts[l], c, f.fields());
        INFO("layout " << l << ": " << line);
        if (l == 4) {
          logfmt_map(line);
          continue;
        }
        const json j = parse_line(line);  // rejects a repeated key in any object
        if (l == 1) otel_attributes(j["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["attributes"]);
        if (l == 0) CHECK(j["log.level"] == "info");
        if (l == 2) CHECK(j["logging.googleapis.com/trace"] == "projects/p/traces/" + std::string(k_trace));
        if (l == 3) CHECK(j["status"] == "info");
      }
    }
  }

  // Found by the libFuzzer run of fuzz_layouts: two process fields whose names are
  // different invalid UTF-8 were both written as "z\uFFFD", one key twice in the line.
  TEST_CASE("process field names are compared as written: invalid UTF-8 cannot make one key twice") {
    const std::vector<ctxlog::layout_ptr> layouts = {ctxlog::json_layout(),   ctxlog::ecs_layout(),
                                                     ctxlog::otel_layout(),   ctxlog::gcp_layout({.project_id = "p"}),
                                                     ctxlog::datadog_layout(), ctxlog::logfmt_layout()};
    const std::string replaced = "z\xef\xbf\xbd";  // "z" U+FFFD: how "z\xff" is written
    for (std::size_t l = 0; l < layouts.size(); ++l) {
      INFO("layout " << l);
      CHECK_THROWS_AS(layouts[l]->configure({.extra = {{"z\xff", "1"}, {"z\xfe", "2"}}}), std::invalid_argument);
      CHECK_THROWS_AS(layouts[l]->configure({.extra = {{"z\xff", "1"}, {replaced, "2"}}}), std::invalid_argument);
      // One such process field beside a custom field and a kv() written the same: each
      // written once (the user's keys renamed or the later one winning, as for any clash).
      const ctxlog::process_info p{.extra = {{"z\xff", "1"}}};
      const auto c = ctxlog::context{}.with(ctxlog::fields{}.trace_id(k_trace).span_id(k_span).set("z\xfe", "c"));
      kv_bytes f;
      f.i64(replaced, 2).i64("z\xfd", 3);
      const std::string line = render(*layouts[l], c, f.fields(), p);
      INFO(line);
      if (l == 5) {
        CHECK(logfmt_map(line).count(replaced) == 1);
        continue;
      }
      const json j = parse_line(line);  // rejects a repeated key in any object
      if (l == 0) CHECK(j[replaced] == "1");  // the process field keeps its name
      if (l == 2) otel_attributes(j["resourceLogs"][0]["resource"]["attributes"]);
    }
  }

  TEST_CASE("the context is rendered once per frame and a new frame is seen as new") {
    // Two frames in turn through one layout instance: each line carries its own context.
    auto l = ctxlog::datadog_layout();
    const auto a = ctxlog::context{}.with(ctxlog::fields{}.request_id("a"));
    const auto b = ctxlog::context{}.with(ctxlog::fields{}.request_id("b"));
    const kv_bytes none;
    for (int i = 0; i < 3; ++i) {
      CHECK(parse_line(render(*l, a, none.fields()))["requestId"] == "a");
      CHECK(parse_line(render(*l, b, none.fields()))["requestId"] == "b");
    }
    // A reconfiguration renames against the new process fields.
    const auto z = ctxlog::context{}.with(ctxlog::fields{}.set("zone", "ctx"));
    CHECK(parse_line(render(*l, z, none.fields()))["_zone"] == "ctx");
    CHECK(parse_line(render(*l, z, none.fields(), ctxlog::process_info{}))["zone"] == "ctx");
  }
}
