// ctxlog/sample.hpp — sampling and rate limiting per call site, and per key.
//
//   LOG_INFO_EVERY(100, "cache miss for {}", key);           // the 1st, 101st, 201st ... call
//   LOG_WARN_LIMIT(5, 1s, "slow query: {} ms", ms);          // at most 5 per second
//   LOG_WARN_LIMIT_BY(ctxlog::current().tenant_id(), 10, 1min, "quota exceeded for {}", what);
//                                                            // at most 10 a minute per tenant
//
// The decision is taken on the calling thread before the record is made: a suppressed
// call costs a few atomic operations and never reaches the queue. Every suppressed call
// is counted (get_stats().suppressed). For the windowed limits, once a window in which
// calls were suppressed has closed, the back-end writes one line for that call site (and
// key) through the site's logger, at its level, with its file and line:
//   {"level":"warn","msg":"37 lines suppressed (limit 5 per 1000 ms)","suppressed":37,
//    "limit":5,"intervalMs":1000,"key":"acme","file":"db.cpp","line":88,...}
// Lines suppressed in windows that have not closed yet are reported by shutdown().
//
// Windows are fixed (aligned to multiples of the interval on the steady clock). A site
// limited per key keeps the first 64 keys it sees in a table of its own, each with its
// own budget; further keys share one budget, reported with "key":"(other)". Keys are
// compared by a 64-bit hash and shown truncated to 48 bytes.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

#include "ctxlog/log.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

// One budget: the current window and the calls admitted in it, and what was suppressed.
struct limit_slot {
  std::atomic<std::uint64_t> state{0};       // (window index << 24) | calls admitted in it
  std::atomic<std::uint64_t> suppressed{0};  // in all, since the start
  std::atomic<std::uint64_t> last_window{0}; // index of the last window with a suppressed call
  std::uint64_t reported = 0;                // back-end only: suppressed already written in a line
};

// The state of one limited call site; a static object of the call site, listed (on its
// first suppressed call) for the back-end's summaries and for get_stats().
class limiter {
 public:
  constexpr limiter(const site& summary, std::uint64_t interval_ns, std::uint32_t limit, bool keyed) noexcept
      : summary_(&summary), interval_ns_(interval_ns ? interval_ns : 1), limit_(limit), keyed_(keyed) {}
  limiter(const limiter&) = delete;
  limiter& operator=(const limiter&) = delete;

  // Whether this call may be written; counts it otherwise.
  bool admit(const logger& l) noexcept { return admit_in(slot_, l); }
  bool admit(const logger& l, std::string_view key) noexcept;

  // ---- the back-end (src/sampling.cpp) ----
  static constexpr std::size_t key_slots = 64;
  struct keyed_slot {
    std::atomic<std::uint64_t> hash{0};  // 0: free; set once, after key
    char key[48];
    std::uint8_t key_size;
    limit_slot slot;
  };
  const site& summary() const noexcept { return *summary_; }
  const logger* source() const noexcept { return logger_.load(std::memory_order_acquire); }
  std::uint64_t interval_ns() const noexcept { return interval_ns_; }
  std::uint32_t limit() const noexcept { return limit_; }
  limit_slot& unkeyed() noexcept { return slot_; }
  keyed_slot* keys() noexcept { return keys_; }
  limit_slot& overflow() noexcept { return overflow_; }
  bool keyed() const noexcept { return keyed_; }
  limiter* next = nullptr;  // the list of listed limiters

 private:
  bool admit_in(limit_slot& s, const logger& l) noexcept;
  void suppressed(limit_slot& s, std::uint64_t window, const logger& l) noexcept;

  const site* summary_;
  std::uint64_t interval_ns_;
  std::uint32_t limit_;
  bool keyed_;
  std::atomic<bool> listed_{false};
  std::atomic<const logger*> logger_{nullptr};
  limit_slot slot_;
  limit_slot overflow_;
  keyed_slot keys_[key_slots]{};  // used only when keyed_ (the table is small: ~6 KiB)
};

// One of every n calls; the first is written.
class sampler {
 public:
  constexpr explicit sampler(std::uint32_t n) noexcept : n_(n ? n : 1) {}
  bool admit() noexcept {
    if (n_ == 1) return true;
    if (calls_.fetch_add(1, std::memory_order_relaxed) % n_ == 0) return true;
    count_suppressed(*this);
    return false;
  }
  std::uint64_t suppressed() const noexcept { return suppressed_.load(std::memory_order_relaxed); }
  sampler* next = nullptr;

 private:
  static void count_suppressed(sampler& s) noexcept;  // counts and, the first time, lists s
  std::uint32_t n_;
  std::atomic<std::uint64_t> calls_{0};
  std::atomic<std::uint64_t> suppressed_{0};
  std::atomic<bool> listed_{false};
};

// The site of a limited call site's summary line: its level, file, line and function.
constexpr site summary_site(level l, std::string_view file, std::uint32_t line, std::string_view function) noexcept {
  return site{l, "{} lines suppressed (limit {} per {} ms)", file, line, function};
}

template <class Rep, class Period>
constexpr std::uint64_t interval_ns(std::chrono::duration<Rep, Period> d) noexcept {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return ns > 0 ? static_cast<std::uint64_t>(ns) : 1;
}

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog

#define CTXLOG_DETAIL_SUMMARY_SITE(lvl)                                                                  \
  static constexpr ::ctxlog::detail::site ctxlog_summary_ = ::ctxlog::detail::summary_site(             \
      lvl, ::ctxlog::detail::file_name(__FILE__), __LINE__, __builtin_FUNCTION());

// One of every n calls of this site (n a constant expression).
#define CTXLOG_LOG_EVERY_TO(logger_expr, lvl, n, fmt_str, ...)                                            \
  CTXLOG_DETAIL_LOG_IF(logger_expr, lvl,                                                                  \
                       static ::ctxlog::detail::sampler ctxlog_sampler_(n);                               \
                       if (!ctxlog_sampler_.admit()) break;, fmt_str __VA_OPT__(, ) __VA_ARGS__)

// At most k calls of this site per interval (a std::chrono duration).
#define CTXLOG_LOG_LIMIT_TO(logger_expr, lvl, k, interval, fmt_str, ...)                                  \
  CTXLOG_DETAIL_LOG_IF(logger_expr, lvl,                                                                  \
                       CTXLOG_DETAIL_SUMMARY_SITE(lvl)                                                    \
                       static ::ctxlog::detail::limiter ctxlog_limiter_(                                  \
                           ctxlog_summary_, ::ctxlog::detail::interval_ns(interval), k, false);           \
                       if (!ctxlog_limiter_.admit(ctxlog_logger_)) break;, fmt_str __VA_OPT__(, ) __VA_ARGS__)

// At most k calls of this site per interval for each value of key (a string_view).
#define CTXLOG_LOG_LIMIT_BY_TO(logger_expr, lvl, key, k, interval, fmt_str, ...)                          \
  CTXLOG_DETAIL_LOG_IF(logger_expr, lvl,                                                                  \
                       CTXLOG_DETAIL_SUMMARY_SITE(lvl)                                                    \
                       static ::ctxlog::detail::limiter ctxlog_limiter_(                                  \
                           ctxlog_summary_, ::ctxlog::detail::interval_ns(interval), k, true);            \
                       if (!ctxlog_limiter_.admit(ctxlog_logger_, ::std::string_view(key))) break;,       \
                       fmt_str __VA_OPT__(, ) __VA_ARGS__)

#define CTXLOG_TRACE_EVERY(n, ...) CTXLOG_LOG_EVERY_TO(::ctxlog::default_logger(), ::ctxlog::level::trace, n, __VA_ARGS__)
#define CTXLOG_DEBUG_EVERY(n, ...) CTXLOG_LOG_EVERY_TO(::ctxlog::default_logger(), ::ctxlog::level::debug, n, __VA_ARGS__)
#define CTXLOG_INFO_EVERY(n, ...) CTXLOG_LOG_EVERY_TO(::ctxlog::default_logger(), ::ctxlog::level::info, n, __VA_ARGS__)
#define CTXLOG_WARN_EVERY(n, ...) CTXLOG_LOG_EVERY_TO(::ctxlog::default_logger(), ::ctxlog::level::warn, n, __VA_ARGS__)
#define CTXLOG_ERROR_EVERY(n, ...) CTXLOG_LOG_EVERY_TO(::ctxlog::default_logger(), ::ctxlog::level::error, n, __VA_ARGS__)

#define CTXLOG_TRACE_LIMIT(k, t, ...) CTXLOG_LOG_LIMIT_TO(::ctxlog::default_logger(), ::ctxlog::level::trace, k, t, __VA_ARGS__)
#define CTXLOG_DEBUG_LIMIT(k, t, ...) CTXLOG_LOG_LIMIT_TO(::ctxlog::default_logger(), ::ctxlog::level::debug, k, t, __VA_ARGS__)
#define CTXLOG_INFO_LIMIT(k, t, ...) CTXLOG_LOG_LIMIT_TO(::ctxlog::default_logger(), ::ctxlog::level::info, k, t, __VA_ARGS__)
#define CTXLOG_WARN_LIMIT(k, t, ...) CTXLOG_LOG_LIMIT_TO(::ctxlog::default_logger(), ::ctxlog::level::warn, k, t, __VA_ARGS__)
#define CTXLOG_ERROR_LIMIT(k, t, ...) CTXLOG_LOG_LIMIT_TO(::ctxlog::default_logger(), ::ctxlog::level::error, k, t, __VA_ARGS__)

#define CTXLOG_TRACE_LIMIT_BY(key, k, t, ...) CTXLOG_LOG_LIMIT_BY_TO(::ctxlog::default_logger(), ::ctxlog::level::trace, key, k, t, __VA_ARGS__)
#define CTXLOG_DEBUG_LIMIT_BY(key, k, t, ...) CTXLOG_LOG_LIMIT_BY_TO(::ctxlog::default_logger(), ::ctxlog::level::debug, key, k, t, __VA_ARGS__)
#define CTXLOG_INFO_LIMIT_BY(key, k, t, ...) CTXLOG_LOG_LIMIT_BY_TO(::ctxlog::default_logger(), ::ctxlog::level::info, key, k, t, __VA_ARGS__)
#define CTXLOG_WARN_LIMIT_BY(key, k, t, ...) CTXLOG_LOG_LIMIT_BY_TO(::ctxlog::default_logger(), ::ctxlog::level::warn, key, k, t, __VA_ARGS__)
#define CTXLOG_ERROR_LIMIT_BY(key, k, t, ...) CTXLOG_LOG_LIMIT_BY_TO(::ctxlog::default_logger(), ::ctxlog::level::error, key, k, t, __VA_ARGS__)

#ifndef CTXLOG_NO_SHORT_MACROS
#define LOG_TRACE_EVERY(...) CTXLOG_TRACE_EVERY(__VA_ARGS__)
#define LOG_DEBUG_EVERY(...) CTXLOG_DEBUG_EVERY(__VA_ARGS__)
#define LOG_INFO_EVERY(...) CTXLOG_INFO_EVERY(__VA_ARGS__)
#define LOG_WARN_EVERY(...) CTXLOG_WARN_EVERY(__VA_ARGS__)
#define LOG_ERROR_EVERY(...) CTXLOG_ERROR_EVERY(__VA_ARGS__)
#define LOG_TRACE_LIMIT(...) CTXLOG_TRACE_LIMIT(__VA_ARGS__)
#define LOG_DEBUG_LIMIT(...) CTXLOG_DEBUG_LIMIT(__VA_ARGS__)
#define LOG_INFO_LIMIT(...) CTXLOG_INFO_LIMIT(__VA_ARGS__)
#define LOG_WARN_LIMIT(...) CTXLOG_WARN_LIMIT(__VA_ARGS__)
#define LOG_ERROR_LIMIT(...) CTXLOG_ERROR_LIMIT(__VA_ARGS__)
#define LOG_TRACE_LIMIT_BY(...) CTXLOG_TRACE_LIMIT_BY(__VA_ARGS__)
#define LOG_DEBUG_LIMIT_BY(...) CTXLOG_DEBUG_LIMIT_BY(__VA_ARGS__)
#define LOG_INFO_LIMIT_BY(...) CTXLOG_INFO_LIMIT_BY(__VA_ARGS__)
#define LOG_WARN_LIMIT_BY(...) CTXLOG_WARN_LIMIT_BY(__VA_ARGS__)
#define LOG_ERROR_LIMIT_BY(...) CTXLOG_ERROR_LIMIT_BY(__VA_ARGS__)
#define LOG_EVERY_TO(...) CTXLOG_LOG_EVERY_TO(__VA_ARGS__)
#define LOG_LIMIT_TO(...) CTXLOG_LOG_LIMIT_TO(__VA_ARGS__)
#define LOG_LIMIT_BY_TO(...) CTXLOG_LOG_LIMIT_BY_TO(__VA_ARGS__)
#endif
