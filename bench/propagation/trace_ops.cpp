// bench/propagation/trace_ops.cpp — what do ids, the W3C header parsers and formatters,
// extract()/inject() and a span scope cost? Each ctxlog case is paired with a peer
// measured in the same run: ids against the textbook way (a thread_local std::mt19937_64
// and snprintf, which is what ctxlog did before), a span against the plain ctxlog::run
// scope it is built on.
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/sinks/null.hpp"
#include "ctxlog/span.hpp"
#include "ctxlog/trace.hpp"
#include "ratios.hpp"

namespace {

std::mt19937_64& mt() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return gen;
}
std::string mt_hex(int words) {
  char buf[33];
  for (int i = 0; i < words; ++i)
    std::snprintf(buf + 16 * i, 17, "%016llx", static_cast<unsigned long long>(mt()()));
  return std::string(buf, static_cast<std::size_t>(16 * words));
}
std::string mt_uuid_v4() {
  const auto a = mt()(), b = mt()();
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-4%03llx-%04llx-%012llx", static_cast<unsigned long long>(a >> 32),
                static_cast<unsigned long long>((a >> 16) & 0xffff), static_cast<unsigned long long>(a & 0xfff),
                static_cast<unsigned long long>(0x8000 | (b >> 50)),
                static_cast<unsigned long long>(b & 0xffffffffffffull));
  return std::string(buf, 36);
}

void trace_id_mt19937_snprintf(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(mt_hex(2));
}
void trace_id_ctxlog(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(ctxlog::new_trace_id());
}
void span_id_mt19937_snprintf(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(mt_hex(1));
}
void span_id_ctxlog(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(ctxlog::new_span_id());
}
void request_id_uuid4_mt19937_snprintf(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(mt_uuid_v4());
}
void request_id_uuid7_ctxlog(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(ctxlog::new_request_id());
}

const std::string tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const std::string ts = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,vendor@tenant=opaque-value-123";
const std::string bag = "tenantId=acme,userId=alice;ttl=30,region=eu%20west";

void traceparent_parse(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(ctxlog::parse_traceparent(tp));
}
void traceparent_format(benchmark::State& st) {
  for (auto _ : st)
    benchmark::DoNotOptimize(ctxlog::format_traceparent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1));
}
void tracestate_parse(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(ctxlog::tracestate::parse(ts));
}
void tracestate_format(benchmark::State& st) {
  const auto parsed = *ctxlog::tracestate::parse(ts);
  for (auto _ : st) benchmark::DoNotOptimize(parsed.to_string());
}
void baggage_parse(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(ctxlog::parse_baggage(bag));
}
void baggage_format(benchmark::State& st) {
  const auto parsed = ctxlog::parse_baggage(bag);
  for (auto _ : st) benchmark::DoNotOptimize(ctxlog::format_baggage(parsed.members));
}

const std::map<std::string, std::string> incoming{
    {"traceparent", tp}, {"tracestate", ts}, {"baggage", bag}, {"x-request-id", "req-0001"}};

void extract_all_headers(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(ctxlog::extract(incoming));
}
void inject_all_headers(benchmark::State& st) {
  const auto c = ctxlog::extract(incoming);
  std::map<std::string, std::string> out;
  for (auto _ : st) {
    ctxlog::inject(out, c);
    benchmark::DoNotOptimize(out);
  }
}

// The peer of a span: the scope it is made of, with a span id the caller already has.
void run_scope_with_span_id(benchmark::State& st) {
  ctxlog::scope request(ctxlog::extract(incoming));
  for (auto _ : st) {
    ctxlog::scope s(ctxlog::fields{}.span_id("00f067aa0ba902b7").parent_span_id(ctxlog::current().span_id()));
    benchmark::ClobberMemory();
  }
}
void span_scope_no_end_line(benchmark::State& st) {
  ctxlog::scope request(ctxlog::extract(incoming));
  for (auto _ : st) {
    ctxlog::span s("step", {.end_level = ctxlog::level::off});
    benchmark::ClobberMemory();
  }
}
void span_scope_with_end_line(benchmark::State& st) {
  ctxlog::scope request(ctxlog::extract(incoming));
  for (auto _ : st) {
    ctxlog::span s("step");
    benchmark::ClobberMemory();
  }
}

}  // namespace

BENCHMARK(trace_id_mt19937_snprintf);
BENCHMARK(trace_id_ctxlog);
BENCHMARK(span_id_mt19937_snprintf);
BENCHMARK(span_id_ctxlog);
BENCHMARK(request_id_uuid4_mt19937_snprintf);
BENCHMARK(request_id_uuid7_ctxlog);
BENCHMARK(traceparent_parse);
BENCHMARK(traceparent_format);
BENCHMARK(tracestate_parse);
BENCHMARK(tracestate_format);
BENCHMARK(baggage_parse);
BENCHMARK(baggage_format);
BENCHMARK(extract_all_headers);
BENCHMARK(inject_all_headers);
BENCHMARK(run_scope_with_span_id);
BENCHMARK(span_scope_no_end_line);
BENCHMARK(span_scope_with_end_line);

int main(int argc, char** argv) {
  // The span end lines go to a sink that discards them (the back-end still formats them).
  ctxlog::configure({.sinks = {ctxlog::sinks::null_sink()}, .overflow = ctxlog::overflow_policy::drop});
  return prop_bench::run(argc, argv,
                         {{"trace_id_ctxlog", "trace_id_mt19937_snprintf"},
                          {"span_id_ctxlog", "span_id_mt19937_snprintf"},
                          {"request_id_uuid7_ctxlog", "request_id_uuid4_mt19937_snprintf"},
                          {"span_scope_no_end_line", "run_scope_with_span_id"},
                          {"span_scope_with_end_line", "run_scope_with_span_id"}},
                         "ids faster than the mt19937 + snprintf peer; span scope within ~2x of the scope it is made of");
}
