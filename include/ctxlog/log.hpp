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
#pragma once

#include <atomic>
#include <cstddef>
#include <cstring>
#include <tuple>
#include <string_view>
#include <type_traits>
#include <utility>

#include "ctxlog/detail/codec.hpp"
#include "ctxlog/level.hpp"

// Calls below this level are compiled out (still type-checked). 0 = trace ... 6 = off.
#ifndef CTXLOG_ACTIVE_LEVEL
#define CTXLOG_ACTIVE_LEVEL 0
#endif

namespace ctxlog {
inline namespace v1 {

class logger;

namespace detail {

// Static metadata of one call site; lives for the whole program.
struct site {
  level severity;
  std::string_view format;
  std::string_view file;
  std::uint32_t line;
};

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

// Record layout shared by front-end and back-end: this header, then the arguments.
struct record_header {
  const site* where;
  const logger* source;
  message_fn message;
  std::uint64_t timestamp;  // timestamp(): converted to wall-clock time by the back-end
  std::uint32_t args_size;  // bytes of encoded arguments after the header
  std::uint32_t message_args;  // bytes of those that are message arguments; kv() follow
};

// Reserves space for one record of n bytes (header included) on the calling thread;
// nullptr when the record was dropped (overflow policy drop; counted).
std::byte* begin_record(std::size_t n);
// Hands the record written at begin_record's pointer to the back-end.
void commit_record() noexcept;
// The call site's clock: the TSC on x86 (converted to wall-clock time by the back-end,
// see src/clock.hpp), else CLOCK_REALTIME nanoseconds.
#if defined(__x86_64__) || defined(__i386__)
inline constexpr bool timestamp_is_tsc = true;
inline std::uint64_t timestamp() noexcept { return __builtin_ia32_rdtsc(); }
#else
inline constexpr bool timestamp_is_tsc = false;
std::uint64_t timestamp() noexcept;
#endif

// Counts a record that could not be recorded (allocation failure, oversized record).
void emit_failed() noexcept;

// A message argument as the eager path formats it: C strings made null-safe.
template <class T>
constexpr decltype(auto) eager_view(const T& v) noexcept {
  if constexpr (kind_of<T>() == arg_kind::c_string) return view_of(v);
  else return (v);
}

template <class X>
using kv_value_t = kv_value<typename std::remove_cvref_t<X>::value_type>;

template <class Msg, class Kvs, std::size_t NK>
void write_record(const logger& l, const site& s, std::uint64_t ts, message_fn fn, const Msg& msg,
                  const std::string_view (&keys)[NK], const Kvs& kvs) {
  const std::size_t msg_size = std::apply([](const auto&... v) { return (std::size_t{0} + ... + encoded_size(v)); }, msg);
  std::size_t kv_size = 0;
  std::apply([&](const auto&... v) {
    std::size_t i = 0;
    ((kv_size += encoded_size(keys[i++]) + v.size()), ...);
  }, kvs);
  if (msg_size + kv_size > max_string) {
    emit_failed();
    return;
  }
  std::byte* p = begin_record(sizeof(record_header) + msg_size + kv_size);
  if (!p) return;  // dropped (overflow policy drop) and counted
  const record_header h{&s, &l, fn, ts, static_cast<std::uint32_t>(msg_size + kv_size), static_cast<std::uint32_t>(msg_size)};
  std::memcpy(p, &h, sizeof h);
  p += sizeof h;
  std::apply([&](const auto&... v) { ((p = encode(p, v)), ...); }, msg);
  std::apply([&](const auto&... v) {
    std::size_t i = 0;
    ((p = v.write(encode(p, keys[i++]))), ...);
  }, kvs);
  commit_record();
}

template <class... A>
void emit(const logger& l, const site& s, const A&... args) noexcept {
  constexpr std::size_t nmsg = message_arg_count<A...>();
  using all_types = std::tuple<A...>;
  try {
    const std::uint64_t ts = timestamp();
    const auto all = std::forward_as_tuple(args...);
    [&]<std::size_t... M, std::size_t... K>(std::index_sequence<M...>, std::index_sequence<K...>) {
      const std::tuple<kv_value_t<std::tuple_element_t<nmsg + K, all_types>>...> kvs{std::get<nmsg + K>(all).value...};
      const std::string_view keys[] = {std::get<nmsg + K>(all).key..., std::string_view()};
      if constexpr (all_deferrable<std::tuple_element_t<M, all_types>...>) {
        write_record(l, s, ts, &format_stored<stored_t<std::tuple_element_t<M, all_types>>...>,
                     std::tuple{view_of(std::get<M>(all))...}, keys, kvs);
      } else {
        // A type only its own formatter understands: format the message here, now.
        fmt::memory_buffer buf;
        try {
          fmt::vformat_to(fmt::appender(buf), s.format, fmt::make_format_args(eager_view(std::get<M>(all))...));
        } catch (const std::exception& e) {
          buf.clear();
          fmt::format_to(fmt::appender(buf), "[ctxlog: formatting failed: {}] {}", e.what(), s.format);
        } catch (...) {
          buf.clear();
          fmt::format_to(fmt::appender(buf), "[ctxlog: formatting failed] {}", s.format);
        }
        write_record(l, s, ts, &copy_preformatted, std::tuple{std::string_view(buf.data(), buf.size())}, keys, kvs);
      }
    }(std::make_index_sequence<nmsg>{}, std::make_index_sequence<sizeof...(A) - nmsg>{});
  } catch (...) {
    emit_failed();
  }
}

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

  // What the LOG_* macros call; use the macros.
  template <class... A>
  void log(const detail::site& s, detail::format_string<std::type_identity_t<A>...>, const A&... args) const noexcept {
    detail::emit(*this, s, args...);
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

}  // namespace v1
}  // namespace ctxlog

#define CTXLOG_LEVEL_TRACE 0
#define CTXLOG_LEVEL_DEBUG 1
#define CTXLOG_LEVEL_INFO 2
#define CTXLOG_LEVEL_WARN 3
#define CTXLOG_LEVEL_ERROR 4
#define CTXLOG_LEVEL_CRITICAL 5
#define CTXLOG_LEVEL_OFF 6

// The one definition every level macro expands to.
#define CTXLOG_LOG_TO(logger_expr, lvl, fmt_str, ...)                                                  \
  do {                                                                                                 \
    if constexpr (::ctxlog::detail::compiled_in(lvl)) {                                                \
      const ::ctxlog::logger& ctxlog_logger_ = (logger_expr);                                          \
      if (ctxlog_logger_.should_log(lvl)) {                                                            \
        static constexpr ::ctxlog::detail::site ctxlog_site_{lvl, fmt_str,                             \
                                                             ::ctxlog::detail::file_name(__FILE__), __LINE__}; \
        ctxlog_logger_.log(ctxlog_site_, fmt_str __VA_OPT__(, ) __VA_ARGS__);                          \
      }                                                                                                \
    }                                                                                                  \
  } while (false)

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
#endif
