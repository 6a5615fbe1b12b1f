// ctxlog/detail/kv_json.hpp — structured kv() values: which types can be logged, and how
// containers, maps, optionals, tuples and exceptions become JSON text at the call site.
//
// Not API (docs/logging.md#values describes the mapping). Numbers, bools and strings
// travel as they are (codec.hpp); everything here is rendered once, on the calling
// thread, into the record as a JSON value (kv_tag::json), which every layout copies or
// quotes. The JSON is valid by construction: strings go through the line encoder's
// escaping and UTF-8 repair, numbers that JSON cannot hold become strings.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <iterator>
#include <optional>
#include <ranges>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_set>
#include <utility>

#include <fmt/format.h>

#include "ctxlog/detail/json.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

template <class T>
inline constexpr bool is_optional_v = false;
template <class T>
inline constexpr bool is_optional_v<std::optional<T>> = true;

template <class T>
inline constexpr bool is_duration_v = false;
template <class R, class P>
inline constexpr bool is_duration_v<std::chrono::duration<R, P>> = true;

template <class T>
inline constexpr bool is_sys_time_v = false;
template <class D>
inline constexpr bool is_sys_time_v<std::chrono::time_point<std::chrono::system_clock, D>> = true;

template <class T>
concept tuple_like = requires { typename std::tuple_size<T>::type; } && !std::ranges::range<T>;

template <class T>
concept string_like = std::is_convertible_v<const T&, std::string_view> && !std::is_null_pointer_v<T>;

// A range written as a JSON array. Not one whose elements are the range's own type
// (std::filesystem::path iterates over paths): that one needs a formatter (fmt/std.h).
template <class T>
concept json_range = std::ranges::input_range<const T> && !string_like<T> &&
                     !std::is_same_v<std::remove_cvref_t<std::ranges::range_reference_t<const T>>, T>;

template <class T>
concept pair_like = tuple_like<T> && std::tuple_size_v<T> == 2;

// A range of (string-like, value) pairs: a map, written as a JSON object.
template <class T>
constexpr bool map_like() {
  if constexpr (json_range<T>) {
    using E = std::remove_cvref_t<std::ranges::range_reference_t<const T>>;
    if constexpr (pair_like<E>) return string_like<std::remove_cvref_t<std::tuple_element_t<0, E>>>;
  }
  return false;
}

// An enum written as its number: an unscoped one always (fmt formats it as its integer
// anyway), a scoped one unless it has a formatter.
template <class D>
constexpr bool plain_number_enum() {
  if constexpr (std::is_enum_v<D>) return std::is_convertible_v<D, int> || !fmt::is_formattable<D>::value;
  else return false;
}

template <class T>
constexpr bool loggable();

template <class Tuple, std::size_t... I>
constexpr bool all_elements_loggable(std::index_sequence<I...>) {
  return (loggable<std::remove_cvref_t<std::tuple_element_t<I, Tuple>>>() && ...);
}

// Whether kv(key, T) compiles: what codec.hpp and this file can write.
template <class T>
constexpr bool loggable() {
  using D = std::remove_cvref_t<T>;
  if constexpr (std::is_arithmetic_v<D> || string_like<D> || std::is_pointer_v<D> || std::is_null_pointer_v<D> ||
                std::is_enum_v<D> || is_duration_v<D> || is_sys_time_v<D> || std::is_base_of_v<std::exception, D> ||
                std::is_same_v<D, std::exception_ptr>)
    return true;
  else if constexpr (is_optional_v<D>) return loggable<typename D::value_type>();
  else if constexpr (json_range<D>) return loggable<std::remove_cvref_t<std::ranges::range_reference_t<const D>>>();
  else if constexpr (tuple_like<D>) return all_elements_loggable<D>(std::make_index_sequence<std::tuple_size_v<D>>{});
  else return fmt::is_formattable<D>::value;
}

// Whether T is written as JSON text (kv_tag::json) rather than a number, bool or string.
template <class T>
constexpr bool structured() {
  using D = std::remove_cvref_t<T>;
  if constexpr (string_like<D> || std::is_arithmetic_v<D>) return false;
  else return is_optional_v<D> || json_range<D> || tuple_like<D> || std::is_base_of_v<std::exception, D> ||
              std::is_same_v<D, std::exception_ptr> || std::is_null_pointer_v<D>;
}

// Out of line (src/kv_json.cpp): exceptions with their nested chain, UTC time text.
void append_exception_json(line_buffer& out, const std::exception& e);
void append_exception_json(line_buffer& out, std::exception_ptr e);
void append_utc_text(line_buffer& out, std::int64_t ns_since_epoch, int fraction_digits);

template <class T>
void append_json_value(line_buffer& out, const T& v);

template <class Tuple, std::size_t... I>
void append_tuple(line_buffer& out, const Tuple& t, std::index_sequence<I...>) {
  out.push_back('[');
  ((I ? out.push_back(',') : void(), append_json_value(out, std::get<I>(t))), ...);
  out.push_back(']');
}

template <class Map>
void append_map(line_buffer& out, const Map& m) {
  // Keys must stay unique in the line: a range that repeats a key (a multimap, a vector
  // of pairs) is written as an array of [key, value] pairs instead.
  std::unordered_set<std::string_view> seen;
  for (const auto& [k, v] : m)
    if (!seen.insert(std::string_view(k)).second) {
      out.push_back('[');
      bool first = true;
      for (const auto& [k2, v2] : m) {
        if (!first) out.push_back(',');
        first = false;
        out.push_back('[');
        append_json_string(out, std::string_view(k2));
        out.push_back(',');
        append_json_value(out, v2);
        out.push_back(']');
      }
      out.push_back(']');
      return;
    }
  out.push_back('{');
  bool first = true;
  for (const auto& [k, v] : m) {
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, std::string_view(k));
    out.push_back(':');
    append_json_value(out, v);
  }
  out.push_back('}');
}

template <class T>
void append_json_value(line_buffer& out, const T& v) {
  using D = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<D, bool>) {
    append(out, v ? "true" : "false");
  } else if constexpr (std::is_same_v<D, char>) {
    append_json_string(out, std::string_view(&v, 1));
  } else if constexpr (std::is_integral_v<D>) {
    fmt::format_to(fmt::appender(out), "{}", v);
  } else if constexpr (std::is_floating_point_v<D>) {
    if (std::isfinite(v)) fmt::format_to(fmt::appender(out), "{}", v);
    else append(out, std::isnan(v) ? "\"NaN\"" : v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  } else if constexpr (string_like<D>) {
    append_json_string(out, std::string_view(v));
  } else if constexpr (std::is_null_pointer_v<D>) {
    append(out, "null");
  } else if constexpr (plain_number_enum<D>()) {
    append_json_value(out, static_cast<std::underlying_type_t<D>>(v));
  } else if constexpr (is_duration_v<D>) {
    append_json_value(out, std::chrono::duration<double>(v).count());  // seconds
  } else if constexpr (is_sys_time_v<D>) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(v.time_since_epoch()).count();
    constexpr int digits = std::ratio_less_equal_v<typename D::period, std::nano>    ? 9
                           : std::ratio_less_equal_v<typename D::period, std::micro> ? 6
                           : std::ratio_less_equal_v<typename D::period, std::milli> ? 3
                                                                                      : 0;
    out.push_back('"');
    append_utc_text(out, ns, digits);
    out.push_back('"');
  } else if constexpr (std::is_base_of_v<std::exception, D> || std::is_same_v<D, std::exception_ptr>) {
    append_exception_json(out, v);
  } else if constexpr (is_optional_v<D>) {
    if (v) append_json_value(out, *v);
    else append(out, "null");
  } else if constexpr (map_like<D>()) {
    append_map(out, v);
  } else if constexpr (json_range<D>) {
    out.push_back('[');
    bool first = true;
    for (const auto& e : v) {
      if (!first) out.push_back(',');
      first = false;
      append_json_value(out, e);
    }
    out.push_back(']');
  } else if constexpr (tuple_like<D>) {
    append_tuple(out, v, std::make_index_sequence<std::tuple_size_v<D>>{});
  } else {
    // A user type with a formatter, or a pointer: its text as a JSON string.
    fmt::memory_buffer text;
    fmt::format_to(fmt::appender(text), "{}", v);
    append_json_string(out, std::string_view(text.data(), text.size()));
  }
}

// kv(key, v) of a type ctxlog cannot log lands here: the compile error points at the
// kv() call (with its key) and names the type, e.g.
//   error: call to consteval function 'ctxlog::detail::unloggable_kv_key<Foo>::...'
//   note: in call to 'unloggable_kv_key("amount")'
// Give the type an fmt::formatter to log it as text.
void this_kv_value_has_a_type_ctxlog_cannot_log__give_the_type_an_fmt_formatter(const char* key);
template <class T>
struct unloggable_kv_key {
  template <std::size_t N>
  consteval unloggable_kv_key(const char (&key)[N]) {
    this_kv_value_has_a_type_ctxlog_cannot_log__give_the_type_an_fmt_formatter(key);
  }
  consteval unloggable_kv_key(std::string_view key) {
    this_kv_value_has_a_type_ctxlog_cannot_log__give_the_type_an_fmt_formatter(key.data());
  }
  std::string_view key;
};

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
