// ctxlog/detail/record.hpp — the record protocol between a log call and the back-end.
//
// Not API. A log call reserves space on its thread (begin_record), writes a
// record_header and the encoded arguments (codec.hpp) and hands the record over
// (commit_record); the back-end decodes it (src/sink_router.cpp). The queue entries that
// carry records are defined in src/queue.hpp.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <tuple>
#include <utility>

#include "ctxlog/detail/codec.hpp"
#include "ctxlog/level.hpp"

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
  std::string_view function;  // the enclosing function's plain name
};

// Record layout shared by front-end and back-end: this header, then the arguments.
struct record_header {
  const site* where;
  const logger* source;
  message_fn message;
  // timestamp() taken by begin_record() once the space is reserved, before the arguments
  // are encoded (converted to wall-clock time by the back-end). Its latency overlaps the
  // encoding; stamping at commit instead cost ~9 ns per call here (bench/README.md).
  std::uint64_t timestamp;
  std::uint32_t args_size;  // bytes of encoded arguments after the header
  std::uint32_t message_args : 29;  // bytes of those that are message arguments; kv() follow
  std::uint32_t kind : 3;           // a record_kind
};

// What a record is for. A line below its logger's level that a flight recorder of the
// caller's request keeps (flight_recorder.hpp) is `held`; the recorder's own signals
// (it started; the request ended; write what is held now) carry its id as their only
// argument and are not log lines: they are neither issued nor written. none: no record
// (a call whose level is off); never stored.
enum class record_kind : std::uint32_t { none, line, held, recorder_start, recorder_end, recorder_dump };
constexpr bool is_log_line(record_kind k) noexcept { return k == record_kind::line || k == record_kind::held; }
inline constexpr std::size_t max_record_args = (std::size_t{1} << 29) - 1;

// Reserves space for one record of n bytes (header included) on the calling thread and
// stamps it: ts is the record's timestamp(). nullptr when the record was dropped
// (overflow policy drop; counted).
std::byte* begin_record(std::size_t n, std::uint64_t& ts);
// Hands the record written at begin_record's pointer to the back-end.
void commit_record() noexcept;
// Sends a flight recorder's signal (record_kind::recorder_*) through the calling thread's
// queue, in order with its records; not counted as a record (flight_recorder.cpp).
void send_recorder_signal(record_kind kind, std::uint64_t id) noexcept;
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
void write_record(const logger& l, const site& s, record_kind kind, message_fn fn, const Msg& msg,
                  const std::string_view (&keys)[NK], const Kvs& kvs) {
  const std::size_t msg_size = std::apply([](const auto&... v) { return (std::size_t{0} + ... + encoded_size(v)); }, msg);
  std::size_t kv_size = 0;
  std::apply([&](const auto&... v) {
    std::size_t i = 0;
    ((kv_size += encoded_size(keys[i++]) + v.size()), ...);
  }, kvs);
  if (msg_size + kv_size > max_record_args) {
    emit_failed();
    return;
  }
  std::uint64_t ts;
  std::byte* p = begin_record(sizeof(record_header) + msg_size + kv_size, ts);
  if (!p) return;  // dropped (overflow policy drop) and counted
  const record_header h{&s, &l, fn, ts, static_cast<std::uint32_t>(msg_size + kv_size),
                        static_cast<std::uint32_t>(msg_size), static_cast<std::uint32_t>(kind)};
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
void emit(const logger& l, const site& s, record_kind kind, const A&... args) noexcept {
  constexpr std::size_t nmsg = message_arg_count<A...>();
  using all_types = std::tuple<A...>;
  try {
    const auto all = std::forward_as_tuple(args...);
    [&]<std::size_t... M, std::size_t... K>(std::index_sequence<M...>, std::index_sequence<K...>) {
      const std::tuple<kv_value_t<std::tuple_element_t<nmsg + K, all_types>>...> kvs{std::get<nmsg + K>(all).value...};
      const std::string_view keys[] = {std::get<nmsg + K>(all).key..., std::string_view()};
      if constexpr (all_deferrable<std::tuple_element_t<M, all_types>...>) {
        write_record(l, s, kind, &format_stored<stored_t<std::tuple_element_t<M, all_types>>...>,
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
        write_record(l, s, kind, &copy_preformatted, std::tuple{std::string_view(buf.data(), buf.size())}, keys, kvs);
      }
    }(std::make_index_sequence<nmsg>{}, std::make_index_sequence<sizeof...(A) - nmsg>{});
  } catch (...) {
    emit_failed();
  }
}

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
