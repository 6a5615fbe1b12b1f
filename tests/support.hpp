// tests/support.hpp — a capturing sink and JSON helpers shared by the test suites.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctxlog/config.hpp"
#include "ctxlog/layout.hpp"
#include "ctxlog/sink.hpp"

namespace ctxlog_test {

// True in ASan and TSan builds: suites run the same checks with fewer records there
// (TSan runs them ~20x slower).
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
inline constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif
#else
inline constexpr bool sanitized = false;
#endif

// Keeps every line it is given; can be told to fail or to be slow.
class capture_sink final : public ctxlog::sink {
 public:
  explicit capture_sink(ctxlog::level min = ctxlog::level::trace) : sink(min) {}

  void write(const ctxlog::log_line& line) override {
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    std::lock_guard lk(mu_);
    ++writes_;
    if (fail_) throw std::runtime_error("capture_sink told to fail");
    lines_.emplace_back(line.text);
  }
  void flush() override {
    std::lock_guard lk(mu_);
    ++flushes_;
  }

  // Flushes ctxlog first, so every line logged before the call is here.
  std::vector<std::string> lines() const {
    ctxlog::flush();
    std::lock_guard lk(mu_);
    return lines_;
  }
  // Every line parsed; a line that is not exactly one JSON object and '\n' fails the test.
  std::vector<nlohmann::json> parsed() const;
  nlohmann::json last() const { return parsed().back(); }
  std::size_t size() const {
    ctxlog::flush();
    std::lock_guard lk(mu_);
    return lines_.size();
  }
  // Lines received so far, without flushing ctxlog first.
  std::size_t received() const {
    std::lock_guard lk(mu_);
    return lines_.size();
  }
  void clear() {
    std::lock_guard lk(mu_);
    lines_.clear();
  }
  void fail(bool f) {
    std::lock_guard lk(mu_);
    fail_ = f;
  }
  void delay(std::chrono::microseconds d) { delay_ = d; }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
  bool fail_ = false;
  std::size_t writes_ = 0, flushes_ = 0;
  std::chrono::microseconds delay_{0};
};

// Parses one line: must end in exactly one '\n' and hold one JSON object.
nlohmann::json parse_line(const std::string& line);

// The integer right after `key` (e.g. "\"seq\":") in a JSON line, or -1 when the key is
// absent. For sinks that count millions of lines, where parsing each with nlohmann would
// dominate the test; other suites parse every line fully.
long int_field(std::string_view line, std::string_view key);

// Runs this test binary again (/proc/self/exe) as a child process, with only
// CTXLOG_TEST_CHILD=scenario and CTXLOG_TEST_FILE=file in its environment (a suite's
// static initializer sees them and runs the scenario instead of the tests), and waits for
// it; returns its wait status. `abrupt`: a child that may end by abort(), SIGSEGV or
// exit() mid-run gets sanitizer options that let the signal through and skip the leak
// check (what it still held is not a leak).
enum class child_end { normal, abrupt };
// This binary's path for exec: readlink("/proc/self/exe"), since under valgrind that path
// itself is valgrind's tool, which cannot be exec'd directly. Call it before fork().
std::string self_exe_path();
int run_self_child(const std::string& scenario, const std::string& file, child_end end = child_end::normal);

// Routes every logger to a fresh capture sink at level trace; returns the sink.
std::shared_ptr<capture_sink> capture_all(ctxlog::level lvl = ctxlog::level::trace);

// One line of layout l (configured with p first) for a record with context c, fields f,
// the given time, level and message, and the fixed rest the golden-line tests expect:
// logger "orders", thread 4711, pid 100, orders.cpp:42 in charge().
std::string render_record(ctxlog::layout& l, const ctxlog::context& c, const ctxlog::call_fields& f,
                          const ctxlog::process_info& p, std::uint64_t time_ns, ctxlog::level lvl,
                          std::string_view message);

}  // namespace ctxlog_test
