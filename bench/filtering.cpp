// bench/filtering.cpp — what do a flight recorder and the sampled / rate-limited call
// sites cost the calling thread? (issue 10)
//
// Google Benchmark, one thread, lines to a null sink (drop mode: a full queue never
// waits). A debug call below the level: before any flight recorder exists, after one
// exists elsewhere, and inside one (the line is kept: encoded into the queue like a
// written line); spdlog 1.10 with and without enable_backtrace(32) (its backtrace formats
// every debug call into a ring) as the peer. A suppressed call of LOG_INFO_EVERY(100),
// LOG_INFO_LIMIT and LOG_INFO_LIMIT_BY against a written LOG_INFO.
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/sinks/null.hpp"
#include "propagation/ratios.hpp"

using namespace std::chrono_literals;

namespace {

void below_level_no_recorder_yet(benchmark::State& st) {
  for (auto _ : st) LOG_DEBUG("order {} parsed", 42);
}
void below_level_recorder_elsewhere(benchmark::State& st) {
  { ctxlog::flight_recorder once; }  // lowers the program-wide floor for good
  for (auto _ : st) LOG_DEBUG("order {} parsed", 42);
}
void below_level_kept_by_recorder(benchmark::State& st) {
  ctxlog::scope request{ctxlog::fields{}.request_id("r-1").trace_id("4bf92f3577b34da6a3ce929d0e0e4736")};
  ctxlog::flight_recorder recorder;
  for (auto _ : st) LOG_DEBUG("order {} parsed", 42);
}
void info_written(benchmark::State& st) {
  for (auto _ : st) LOG_INFO("order {} parsed", 42);
}

std::shared_ptr<spdlog::logger> spd(bool backtrace) {
  auto l = std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_st>());
  l->set_level(spdlog::level::info);
  if (backtrace) l->enable_backtrace(32);
  return l;
}
void spdlog_below_level(benchmark::State& st) {
  auto l = spd(false);
  for (auto _ : st) l->debug("order {} parsed", 42);
}
void spdlog_below_level_backtrace(benchmark::State& st) {
  auto l = spd(true);
  for (auto _ : st) l->debug("order {} parsed", 42);
}

void every_100(benchmark::State& st) {
  for (auto _ : st) LOG_INFO_EVERY(100, "order {} parsed", 42);
}
void limit_suppressed(benchmark::State& st) {
  for (auto _ : st) LOG_INFO_LIMIT(1, 1h, "order {} parsed", 42);
}
void limit_by_key_suppressed(benchmark::State& st) {
  ctxlog::scope request{ctxlog::fields{}.tenant_id("acme")};
  for (auto _ : st) LOG_INFO_LIMIT_BY(ctxlog::current().tenant_id(), 1, 1h, "order {} parsed", 42);
}

}  // namespace

// In this order: the first case runs before any flight recorder exists.
BENCHMARK(below_level_no_recorder_yet);
BENCHMARK(spdlog_below_level);
BENCHMARK(below_level_recorder_elsewhere);
BENCHMARK(below_level_kept_by_recorder);
BENCHMARK(spdlog_below_level_backtrace);
BENCHMARK(info_written);
BENCHMARK(every_100);
BENCHMARK(limit_suppressed);
BENCHMARK(limit_by_key_suppressed);

int main(int argc, char** argv) {
  ctxlog::configure({.sinks = {ctxlog::sinks::null_sink()}, .overflow = ctxlog::overflow_policy::drop, .level_env = ""});
  return prop_bench::run(argc, argv,
                         {{"below_level_no_recorder_yet", "spdlog_below_level"},
                          {"below_level_recorder_elsewhere", "spdlog_below_level"},
                          {"below_level_kept_by_recorder", "spdlog_below_level_backtrace"},
                          {"every_100", "info_written"},
                          {"limit_suppressed", "info_written"},
                          {"limit_by_key_suppressed", "info_written"}},
                         "a kept line cheaper than spdlog's backtrace; a suppressed call cheaper than a written one");
}
