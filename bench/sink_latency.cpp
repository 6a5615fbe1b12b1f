// bench/sink_latency.cpp — How long does a line take from the call to its sink, and does
// a thread that logs rarely hold the others' lines back?
//
// A sink reads each line's "ts" (the call's time, microseconds) and compares it with
// CLOCK_REALTIME when the line reaches it. Cases: one producer logging every ~20 us; the
// same with a second thread that logs once every 10 ms (the back-end merges the rings by
// timestamp: the rare thread's ring must not hold the busy one's lines); two producers
// logging every ~20 us each. Percentiles over all lines, in microseconds. The back-end
// polls every 0.5 ms when idle, so ~0.5 ms is the expected order of the tail.
//
//   sink_latency [lines]
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ctxlog/ctxlog.hpp"
#include "harness.hpp"

namespace {

std::int64_t realtime_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" -> ns since the epoch (the second's value cached).
class ts_parser {
 public:
  std::int64_t parse(std::string_view t) {
    if (t.size() < 27) return -1;
    if (t.substr(0, 19) != second_text_) {
      second_text_ = std::string(t.substr(0, 19));
      std::tm tm{};
      tm.tm_year = std::atoi(second_text_.c_str()) - 1900;
      tm.tm_mon = std::atoi(second_text_.c_str() + 5) - 1;
      tm.tm_mday = std::atoi(second_text_.c_str() + 8);
      tm.tm_hour = std::atoi(second_text_.c_str() + 11);
      tm.tm_min = std::atoi(second_text_.c_str() + 14);
      tm.tm_sec = std::atoi(second_text_.c_str() + 17);
      second_ns_ = static_cast<std::int64_t>(::timegm(&tm)) * 1000000000;
    }
    return second_ns_ + std::atoll(std::string(t.substr(20, 6)).c_str()) * 1000;
  }

 private:
  std::string second_text_;
  std::int64_t second_ns_ = 0;
};

class latency_sink final : public ctxlog::sink {
 public:
  void write(const ctxlog::log_line& line) override {
    const std::int64_t now = realtime_ns();
    const std::string_view text = line.text;
    const auto at = text.find("\"ts\":\"");
    if (at == std::string_view::npos) return;
    const std::int64_t called = parser_.parse(text.substr(at + 6));
    if (called < 0) return;
    std::lock_guard lk(mu_);
    if (text.find("\"msg\":\"busy") != std::string_view::npos) us_.push_back(static_cast<double>(now - called) / 1000.0);
  }
  std::vector<double> take() {
    std::lock_guard lk(mu_);
    return std::exchange(us_, {});
  }

 private:
  std::mutex mu_;
  ts_parser parser_;
  std::vector<double> us_;
};

void spin_us(double us) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(static_cast<long>(us * 1000));
  while (std::chrono::steady_clock::now() < until) {
  }
}

void run_case(const char* name, int busy_threads, bool rare_thread, int lines, latency_sink& sink) {
  std::atomic<bool> stop{false};
  std::thread rare;
  if (rare_thread)
    rare = std::thread([&] {
      while (!stop.load()) {
        LOG_INFO("rare");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
  std::vector<std::thread> busy;
  for (int t = 0; t < busy_threads; ++t)
    busy.emplace_back([&, t] {
      bench::pin_to_cpu(static_cast<unsigned>(t));
      for (int i = 0; i < lines; ++i) {
        LOG_INFO("busy {}", i);
        spin_us(20);
      }
    });
  for (auto& b : busy) b.join();
  stop = true;
  if (rare.joinable()) rare.join();
  ctxlog::flush();
  auto us = sink.take();
  std::sort(us.begin(), us.end());
  auto q = [&](double p) { return us.empty() ? 0.0 : us[std::min(us.size() - 1, static_cast<std::size_t>(p * us.size()))]; };
  std::printf("| %-44s | %7zu | %7.1f | %7.1f | %7.1f | %8.1f | %8.1f |\n", name, us.size(), q(0.5), q(0.9), q(0.99),
              q(0.999), us.empty() ? 0.0 : us.back());
}

}  // namespace

int main(int argc, char** argv) {
  const int lines = argc > 1 ? std::atoi(argv[1]) : 20000;
  auto sink = std::make_shared<latency_sink>();
  ctxlog::configure({.sinks = {sink}, .backend_cpu = 1});
  std::printf("call -> sink latency, microseconds (line ts has 1 us resolution; back-end idle poll 0.5 ms)\n\n");
  std::printf("| %-44s | %7s | %7s | %7s | %7s | %8s | %8s |\n", "case", "lines", "p50", "p90", "p99", "p99.9", "max");
  std::printf("| %-44s | ------: | ------: | ------: | ------: | -------: | -------: |\n", "---");
  run_case("1 producer, a line every ~20 us", 1, false, lines, *sink);
  run_case("same + a thread logging once per 10 ms", 1, true, lines, *sink);
  run_case("2 producers, a line every ~20 us each", 2, false, lines, *sink);
  run_case("2 producers + a thread logging once per 10 ms", 2, true, lines, *sink);
  return 0;
}
