// ctxlog/log.hpp — the front-end: LOG_* macros, loggers, levels, kv().
//
// A log call checks the level (one relaxed load; the arguments are not evaluated when it
// is off), then copies a record into the back-end: a pointer to the call site's static
// metadata, a timestamp, the arguments by value and a reference to the caller's ambient
// context. Formatting and JSON encoding happen in the back-end (src/).
//
// Example:
//   LOG_INFO("order {} created", order_id, ctxlog::kv("amount", 12.5));
//   auto& orders = ctxlog::get_logger("orders");
//   LOG_WARN_TO(orders, "stock low for {}", sku);
//   LOG_AT(ok ? ctxlog::level::info : ctxlog::level::error, "payment {}", ok);  // run-time level
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <atomic>
#include <cstddef>
#include <cstring>
#include <tuple>
#include <string_view>
#include <type_traits>
#include <utility>

#include "ctxlog/detail/codec.hpp"
#include "ctxlog/detail/record.hpp"
#include "ctxlog/level.hpp"

// Calls below this level are compiled out (still type-checked). 0 = trace ... 6 = off.
#ifndef CTXLOG_ACTIVE_LEVEL
#define CTXLOG_ACTIVE_LEVEL 0
#endif

namespace ctxlog {
inline namespace v1 {

class logger;

namespace detail {

// The most detailed level any flight recorder of the program keeps (off while there is
// none; lowered by each new recorder, never raised). A call below its logger's level
// and below this one makes no record, without looking at the context.
extern std::atomic<level> g_recorded_floor;
// record_kind::held when the calling thread's context has a flight recorder that keeps
// level l, else 0 (flight_recorder.cpp).
record_kind recorded(level l) noexcept;

// False for levels below CTXLOG_ACTIVE_LEVEL: their calls compile to nothing.
constexpr bool compiled_in(level l) noexcept { return static_cast<int>(l) - CTXLOG_ACTIVE_LEVEL >= 0; }

constexpr std::string_view file_name(std::string_view path) noexcept {
  const auto slash = path.find_last_of("/\\");
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

template <class...>
struct type_list {};

template <class... M>
consteval void check_format(std::string_view s, type_list<M...>) {
  (void)fmt::format_string<M...>(s);  // a compile error here: the format string does not fit the arguments
}

template <class List, class... A>
struct take;
template <class... M>
struct take<type_list<M...>> {
  using type = type_list<M...>;
};
template <class... M, class H, class... T>
struct take<type_list<M...>, H, T...> {
  using type = std::conditional_t<is_kv_v<H>, type_list<M...>, typename take<type_list<M..., H>, T...>::type>;
};

// A format string checked at compile time against the message arguments (the kv()
// arguments that follow them are not part of the message).
template <class... A>
struct format_string {
  template <class S>
    requires std::is_convertible_v<const S&, std::string_view>
  consteval format_string(const S& s) : str(s) {
    static_assert(kvs_are_last<A...>(), "ctxlog: kv() arguments must come after all message arguments");
    check_format(str, typename take<type_list<>, A...>::type{});
  }
  std::string_view str;
};

}  // namespace detail

// A named source of log lines with its own runtime level. Loggers live until the program
// ends; references to them never dangle. Thread-safe.
class logger {
 public:
  constexpr explicit logger(std::string_view name, level min = level::info) noexcept : name_(name), level_(min) {}
  logger(const logger&) = delete;
  logger& operator=(const logger&) = delete;

  std::string_view name() const noexcept { return name_; }
  level get_level() const noexcept { return level_.load(std::memory_order_relaxed); }
  void set_level(level l) noexcept { level_.store(l, std::memory_order_relaxed); }
  bool should_log(level l) const noexcept { return l >= level_.load(std::memory_order_relaxed) && l != level::off; }

  // What the LOG_* macros call; use the macros. admit(): whether a call at level l makes
  // a record: record_kind::line (its level is on), record_kind::held (off, but a flight
  // recorder of the caller's request keeps it: flight_recorder.hpp), or none.
  // With no flight recorder in the program, an off level costs one more relaxed load.
  detail::record_kind admit(level l) const noexcept {
    if (l >= level_.load(std::memory_order_relaxed)) return l != level::off ? detail::record_kind::line : detail::record_kind::none;
    if (l < detail::g_recorded_floor.load(std::memory_order_relaxed)) [[likely]] return detail::record_kind::none;
    return detail::recorded(l);
  }
  template <class... A>
  void log(const detail::site& s, detail::record_kind kind, detail::format_string<std::type_identity_t<A>...>,
           const A&... args) const noexcept {
    detail::emit(*this, s, kind, args...);
  }

 private:
  std::string_view name_;
  std::atomic<level> level_;
};

namespace detail {
extern logger g_default_logger;
}

// The logger the unqualified LOG_* macros write to; named "default".
inline logger& default_logger() noexcept { return detail::g_default_logger; }
// The logger with this name, created (at the configured level) on first use.
logger& get_logger(std::string_view name);

// Sets the level of the logger with this name, now if it exists and when it is created
// otherwise, until the next configure(). Beats CTXLOG_LEVEL and the configuration
// (docs/logging.md#levels). Thread-safe; takes the registry's lock (not for hot paths).
//
// Example:
//   ctxlog::set_level("sql", ctxlog::level::debug);  // e.g. from an admin endpoint
void set_level(std::string_view logger_name, level l);
// Sets the default level: that of every logger (existing or later) that has no level of
// its own by name in set_level(name, ..), CTXLOG_LEVEL or config::loggers. Thread-safe.
void set_level(level l);

}  // namespace v1
}  // namespace ctxlog

#define CTXLOG_LEVEL_TRACE 0
#define CTXLOG_LEVEL_DEBUG 1
#define CTXLOG_LEVEL_INFO 2
#define CTXLOG_LEVEL_WARN 3
#define CTXLOG_LEVEL_ERROR 4
#define CTXLOG_LEVEL_CRITICAL 5
#define CTXLOG_LEVEL_OFF 6

// The one shape every log macro expands to: the compile-time level cut, the logger's
// run-time level check, a static call site, then `decide` (empty for a plain call; for
// the sampled and rate-limited macros of sample.hpp, the site's sampler or limiter,
// which may `break` out: nothing is counted for a level that is off), then the call.
#define CTXLOG_DETAIL_LOG_IF(logger_expr, lvl, decide, fmt_str, ...)                                     \
  do {                                                                                                   \
    if constexpr (::ctxlog::detail::compiled_in(lvl)) {                                                  \
      const ::ctxlog::logger& ctxlog_logger_ = (logger_expr);                                            \
      if (const auto ctxlog_kind_ = ctxlog_logger_.admit(lvl); ctxlog_kind_ != ::ctxlog::detail::record_kind::none) { \
        static constexpr ::ctxlog::detail::site ctxlog_site_{                                            \
            lvl, fmt_str, ::ctxlog::detail::file_name(__FILE__), __LINE__, __builtin_FUNCTION()};        \
        decide                                                                                           \
        ctxlog_logger_.log(ctxlog_site_, ctxlog_kind_, fmt_str __VA_OPT__(, ) __VA_ARGS__);              \
      }                                                                                                  \
    }                                                                                                    \
  } while (false)

// The one definition every level macro expands to.
#define CTXLOG_LOG_TO(logger_expr, lvl, fmt_str, ...) \
  CTXLOG_DETAIL_LOG_IF(logger_expr, lvl, /* always */, fmt_str __VA_OPT__(, ) __VA_ARGS__)

// A call whose level is a run-time value. The format string is checked at compile time
// as for the other macros; each level has its own static call site. An out-of-range or
// `off` level writes nothing; levels below CTXLOG_ACTIVE_LEVEL write nothing either.
//   CTXLOG_LOG_AT(orders, failed ? level::error : level::info, "order {} done", id);
#define CTXLOG_LOG_AT(logger_expr, lvl_expr, fmt_str, ...)                                                \
  do {                                                                                                 \
    const ::ctxlog::logger& ctxlog_logger_ = (logger_expr);                                            \
    const ::ctxlog::level ctxlog_level_ = (lvl_expr);                                                  \
    ::ctxlog::detail::record_kind ctxlog_kind_{};                                                      \
    if (static_cast<unsigned>(ctxlog_level_) < static_cast<unsigned>(::ctxlog::level::off) &&          \
        ::ctxlog::detail::compiled_in(ctxlog_level_) &&                                                \
        (ctxlog_kind_ = ctxlog_logger_.admit(ctxlog_level_)) != ::ctxlog::detail::record_kind::none) {     \
      static constexpr ::ctxlog::detail::site ctxlog_sites_[] = {                                      \
          CTXLOG_DETAIL_SITE_AT(trace, fmt_str), CTXLOG_DETAIL_SITE_AT(debug, fmt_str),                \
          CTXLOG_DETAIL_SITE_AT(info, fmt_str),  CTXLOG_DETAIL_SITE_AT(warn, fmt_str),                 \
          CTXLOG_DETAIL_SITE_AT(error, fmt_str), CTXLOG_DETAIL_SITE_AT(critical, fmt_str)};            \
      ctxlog_logger_.log(ctxlog_sites_[static_cast<unsigned>(ctxlog_level_)], ctxlog_kind_,            \
                         fmt_str __VA_OPT__(, ) __VA_ARGS__);                                          \
    }                                                                                                  \
  } while (false)
#define CTXLOG_DETAIL_SITE_AT(l, fmt_str) \
  { ::ctxlog::level::l, fmt_str, ::ctxlog::detail::file_name(__FILE__), __LINE__, __builtin_FUNCTION() }
#define CTXLOG_AT(lvl, ...) CTXLOG_LOG_AT(::ctxlog::default_logger(), lvl, __VA_ARGS__)

#define CTXLOG_TRACE_TO(logger, ...) CTXLOG_LOG_TO(logger, ::ctxlog::level::trace, __VA_ARGS__)
#define CTXLOG_DEBUG_TO(logger, ...) CTXLOG_LOG_TO(logger, ::ctxlog::level::debug, __VA_ARGS__)
#define CTXLOG_INFO_TO(logger, ...) CTXLOG_LOG_TO(logger, ::ctxlog::level::info, __VA_ARGS__)
#define CTXLOG_WARN_TO(logger, ...) CTXLOG_LOG_TO(logger, ::ctxlog::level::warn, __VA_ARGS__)
#define CTXLOG_ERROR_TO(logger, ...) CTXLOG_LOG_TO(logger, ::ctxlog::level::error, __VA_ARGS__)
#define CTXLOG_CRITICAL_TO(logger, ...) CTXLOG_LOG_TO(logger, ::ctxlog::level::critical, __VA_ARGS__)

#define CTXLOG_TRACE(...) CTXLOG_TRACE_TO(::ctxlog::default_logger(), __VA_ARGS__)
#define CTXLOG_DEBUG(...) CTXLOG_DEBUG_TO(::ctxlog::default_logger(), __VA_ARGS__)
#define CTXLOG_INFO(...) CTXLOG_INFO_TO(::ctxlog::default_logger(), __VA_ARGS__)
#define CTXLOG_WARN(...) CTXLOG_WARN_TO(::ctxlog::default_logger(), __VA_ARGS__)
#define CTXLOG_ERROR(...) CTXLOG_ERROR_TO(::ctxlog::default_logger(), __VA_ARGS__)
#define CTXLOG_CRITICAL(...) CTXLOG_CRITICAL_TO(::ctxlog::default_logger(), __VA_ARGS__)

// Short names; define CTXLOG_NO_SHORT_MACROS before including to keep them out.
#ifndef CTXLOG_NO_SHORT_MACROS
#define LOG_TRACE(...) CTXLOG_TRACE(__VA_ARGS__)
#define LOG_DEBUG(...) CTXLOG_DEBUG(__VA_ARGS__)
#define LOG_INFO(...) CTXLOG_INFO(__VA_ARGS__)
#define LOG_WARN(...) CTXLOG_WARN(__VA_ARGS__)
#define LOG_ERROR(...) CTXLOG_ERROR(__VA_ARGS__)
#define LOG_CRITICAL(...) CTXLOG_CRITICAL(__VA_ARGS__)
#define LOG_TRACE_TO(...) CTXLOG_TRACE_TO(__VA_ARGS__)
#define LOG_DEBUG_TO(...) CTXLOG_DEBUG_TO(__VA_ARGS__)
#define LOG_INFO_TO(...) CTXLOG_INFO_TO(__VA_ARGS__)
#define LOG_WARN_TO(...) CTXLOG_WARN_TO(__VA_ARGS__)
#define LOG_ERROR_TO(...) CTXLOG_ERROR_TO(__VA_ARGS__)
#define LOG_CRITICAL_TO(...) CTXLOG_CRITICAL_TO(__VA_ARGS__)
#define LOG_AT(...) CTXLOG_AT(__VA_ARGS__)
#define LOG_AT_TO(...) CTXLOG_LOG_AT(__VA_ARGS__)
#endif
