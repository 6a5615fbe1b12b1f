// ctxlog/detail/codec.hpp — how a log call's arguments travel from the call site to the
// back-end.
//
// Not API. The call site copies each argument by value into the record's bytes: numbers
// and pointers as they are, strings as a length and their bytes. The back-end decodes
// them with a function instantiated for the call's argument types and formats the
// message there. A message argument of any other type (a user type with a formatter,
// chrono values, ...) makes the call site format the whole message eagerly, because only
// the original types can honour their format specs. Per-call key/values are written
// tagged (number, bool, string), so one generic reader turns them into JSON.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"
#include "ctxlog/detail/lifetime.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "ctxlog/detail/kv_json.hpp"

namespace ctxlog {
inline namespace v1 {

// A per-call structured field: LOG_INFO("paid", ctxlog::kv("amount", 12.5)).
// Of an lvalue it keeps a reference (the value is copied when the call records it); of a
// temporary it keeps the value itself, moved in, so a kv() kept in a variable
// (`auto k = ctxlog::kv("id", make_id());`) stays valid. The key is a view: a literal,
// or a string that outlives the kv().
template <class T, bool Owns = false>
struct kv_arg {
  using value_type = T;
  std::string_view key;
  std::conditional_t<Owns, T, const T&> value;
};

// Numbers, bools and strings are written as they are; containers and ranges as JSON
// arrays, maps (ranges of string-keyed pairs) as objects, std::optional as its value or
// null, pairs and tuples as arrays, enums as their number (a scoped enum with an fmt
// formatter as its text),
// durations as seconds, system_clock time points as RFC 3339 UTC text, exceptions as
// {"type","message","cause"}; any other type with an fmt formatter as its text. A type
// that is none of these does not compile, and the error names the kv() call's key.
template <class T>
  requires(detail::loggable<T>())
constexpr kv_arg<T> kv(std::string_view key CTXLOG_LIFETIMEBOUND, const T& value CTXLOG_LIFETIMEBOUND) noexcept {
  return {key, value};
}
template <class T>
  requires(!std::is_lvalue_reference_v<T> && detail::loggable<std::remove_cv_t<T>>())
constexpr kv_arg<std::remove_cv_t<T>, true> kv(std::string_view key CTXLOG_LIFETIMEBOUND, T&& value) noexcept(
    std::is_nothrow_constructible_v<std::remove_cv_t<T>, T&&>) {
  return {key, std::move(value)};
}
template <class T>
  requires(!detail::loggable<T>())
kv_arg<T> kv(detail::unloggable_kv_key<std::type_identity_t<T>> key, const T& value) noexcept;  // never defined: the key's consteval constructor fails first

// An exception as a structured field "error": its dynamic type, what() and the chain of
// std::nested_exception causes, e.g. {"type":"payment_declined","message":"card
// expired","cause":{"type":"std::system_error","message":"..."}}.
//
// Example:
//   catch (const std::exception& e) { LOG_ERROR("payment failed", ctxlog::error(e)); }
inline kv_arg<std::exception> error(const std::exception& e) noexcept { return {"error", e}; }
inline kv_arg<std::exception_ptr> error(const std::exception_ptr& e) noexcept { return {"error", e}; }

namespace detail {

template <class T>
struct is_kv : std::false_type {};
template <class T, bool Owns>
struct is_kv<kv_arg<T, Owns>> : std::true_type {};
template <class T>
inline constexpr bool is_kv_v = is_kv<std::remove_cvref_t<T>>::value;

// How many arguments precede the first kv(); the rest must all be kv().
template <class... A>
constexpr std::size_t message_arg_count() noexcept {
  constexpr bool kv_flags[] = {is_kv_v<A>..., false};
  std::size_t n = 0;
  while (n < sizeof...(A) && !kv_flags[n]) ++n;
  return n;
}
template <class... A>
constexpr bool kvs_are_last() noexcept {
  constexpr bool kv_flags[] = {is_kv_v<A>..., false};
  for (std::size_t i = message_arg_count<A...>(); i < sizeof...(A); ++i)
    if (!kv_flags[i]) return false;
  return true;
}

enum class arg_kind { value, pointer, c_string, string, other };

template <class T>
constexpr arg_kind kind_of() noexcept {
  using D = std::remove_cvref_t<T>;
  if constexpr (std::is_arithmetic_v<D>) return arg_kind::value;
  else if constexpr (std::is_same_v<D, const char*> || std::is_same_v<D, char*>) return arg_kind::c_string;
  else if constexpr (std::is_same_v<D, const void*> || std::is_same_v<D, void*> || std::is_same_v<D, std::nullptr_t>)
    return arg_kind::pointer;
  else if constexpr (std::is_convertible_v<const D&, std::string_view>) return arg_kind::string;
  else return arg_kind::other;
}

// What the back-end formats in place of an argument of type T.
template <class T, arg_kind K = kind_of<T>()>
struct stored {
  using type = std::string_view;
};
template <class T>
struct stored<T, arg_kind::value> {
  using type = std::remove_cvref_t<T>;
};
template <class T>
struct stored<T, arg_kind::pointer> {
  using type = const void*;
};
template <class T>
using stored_t = typename stored<T>::type;

template <class... A>
inline constexpr bool all_deferrable = ((kind_of<A>() != arg_kind::other) && ...);

// The bytes of one argument as the call site sees them: a value or a string_view.
template <class T>
constexpr auto view_of(const T& v) noexcept {
  constexpr arg_kind k = kind_of<T>();
  if constexpr (k == arg_kind::value) return v;
  else if constexpr (k == arg_kind::pointer) return static_cast<const void*>(v);
  else if constexpr (k == arg_kind::c_string) return v ? std::string_view(v) : std::string_view("(null)");
  else return std::string_view(v);
}

inline constexpr std::uint32_t max_string = 0xffffffffu;

template <class V>
constexpr std::size_t encoded_size(const V& v) noexcept {
  if constexpr (std::is_same_v<V, std::string_view>) return sizeof(std::uint32_t) + std::min<std::size_t>(v.size(), max_string);
  else return sizeof(V);
}

template <class V>
inline std::byte* encode(std::byte* p, const V& v) noexcept {
  if constexpr (std::is_same_v<V, std::string_view>) {
    const auto n = static_cast<std::uint32_t>(std::min<std::size_t>(v.size(), max_string));
    std::memcpy(p, &n, sizeof n);
    if (n) std::memcpy(p + sizeof n, v.data(), n);
    return p + sizeof n + n;
  } else {
    std::memcpy(p, &v, sizeof v);
    return p + sizeof v;
  }
}

template <class V>
inline V decode(const std::byte*& p) noexcept {
  if constexpr (std::is_same_v<V, std::string_view>) {
    std::uint32_t n;
    std::memcpy(&n, p, sizeof n);
    std::string_view s(reinterpret_cast<const char*>(p + sizeof n), n);
    p += sizeof n + n;
    return s;
  } else {
    V v;
    std::memcpy(&v, p, sizeof v);
    p += sizeof v;
    return v;
  }
}

// ---- per-call key/values: [key][tag][value] ----
enum class kv_tag : std::uint8_t { i64, u64, f64, boolean, string, json };

template <class T>
constexpr kv_tag tag_of() noexcept {
  using D = std::remove_cvref_t<T>;
  if constexpr (plain_number_enum<D>())
    return std::is_signed_v<std::underlying_type_t<D>> ? kv_tag::i64 : kv_tag::u64;
  else if constexpr (is_duration_v<D>) return kv_tag::f64;
  else if constexpr (structured<D>()) return kv_tag::json;
  else if constexpr (std::is_same_v<D, bool>) return kv_tag::boolean;
  else if constexpr (std::is_same_v<D, char>) return kv_tag::string;
  else if constexpr (std::is_integral_v<D> && std::is_signed_v<D>) return kv_tag::i64;
  else if constexpr (std::is_integral_v<D>) return kv_tag::u64;
  else if constexpr (std::is_floating_point_v<D>) return kv_tag::f64;
  else return kv_tag::string;
}

// The value of a kv() as it is encoded: a number, a bool, a string, or JSON text
// (kv_json.hpp). Strings of other types are formatted with "{}" at the call site and
// JSON is rendered there; a formatter that throws yields the error text instead (a JSON
// string in place of the value).
template <class T>
struct kv_value {
  static constexpr kv_tag tag = tag_of<T>();
  explicit kv_value(const T& v) {
    using D = std::remove_cvref_t<T>;
    if constexpr (std::is_enum_v<D> && tag == kv_tag::i64) num.i = static_cast<std::int64_t>(v);
    else if constexpr (std::is_enum_v<D> && tag == kv_tag::u64) num.u = static_cast<std::uint64_t>(v);
    else if constexpr (is_duration_v<D>) num.f = std::chrono::duration<double>(v).count();
    else if constexpr (tag == kv_tag::i64) num.i = static_cast<std::int64_t>(v);
    else if constexpr (tag == kv_tag::u64) num.u = static_cast<std::uint64_t>(v);
    else if constexpr (tag == kv_tag::f64) num.f = static_cast<double>(v);
    else if constexpr (tag == kv_tag::boolean) num.b = v;
    else if constexpr (std::is_same_v<D, char>) {
      ch = v;
      str = std::string_view(&ch, 1);
    } else if constexpr (kind_of<T>() == arg_kind::c_string || kind_of<T>() == arg_kind::string) str = view_of(v);
    else if constexpr (tag == kv_tag::json) {
      try {
        append_json_value(buf, v);
      } catch (const std::exception& e) {
        buf.clear();
        fmt::memory_buffer why;
        fmt::format_to(fmt::appender(why), "[ctxlog: formatting failed: {}]", e.what());
        append_json_string(buf, std::string_view(why.data(), why.size()));
      } catch (...) {
        buf.clear();
        append(buf, "\"[ctxlog: formatting failed]\"");
      }
      str = std::string_view(buf.data(), buf.size());
    } else if constexpr (is_sys_time_v<D>) {
      append_json_value(buf, v);  // "<RFC 3339>": the text without its quotes
      str = std::string_view(buf.data() + 1, buf.size() - 2);
    } else {
      try {
        fmt::format_to(fmt::appender(buf), "{}", v);
      } catch (const std::exception& e) {
        buf.clear();
        fmt::format_to(fmt::appender(buf), "[ctxlog: formatting failed: {}]", e.what());
      } catch (...) {
        buf.clear();
        fmt::format_to(fmt::appender(buf), "[ctxlog: formatting failed]");
      }
      str = std::string_view(buf.data(), buf.size());
    }
  }
  kv_value(const kv_value&) = delete;
  kv_value& operator=(const kv_value&) = delete;

  std::size_t size() const noexcept {
    return 1 + (tag == kv_tag::string || tag == kv_tag::json ? encoded_size(str) : tag == kv_tag::boolean ? 1 : 8);
  }
  std::byte* write(std::byte* p) const noexcept {
    *p++ = static_cast<std::byte>(tag);
    if constexpr (tag == kv_tag::string || tag == kv_tag::json) return encode(p, str);
    else if constexpr (tag == kv_tag::boolean) {
      *p = static_cast<std::byte>(num.b ? 1 : 0);
      return p + 1;
    } else {
      std::memcpy(p, &num, 8);
      return p + 8;
    }
  }

  union {
    std::int64_t i;
    std::uint64_t u;
    double f;
    bool b;
  } num{};
  char ch = 0;
  std::string_view str;
  fmt::memory_buffer buf;
};

// ---- the back-end side ----
using message_fn = void (*)(const std::byte*& p, std::string_view fmt, fmt::memory_buffer& out);

// Formats a message whose arguments were encoded as Stored...
template <class... Stored>
void format_stored(const std::byte*& p, std::string_view fmt, fmt::memory_buffer& out) {
  // Braced initialisation evaluates left to right: arguments decode in order.
  std::tuple<Stored...> args{decode<Stored>(p)...};
  std::apply([&](const auto&... a) { fmt::vformat_to(fmt::appender(out), fmt, fmt::make_format_args(a...)); },
             args);
}

// The message was formatted at the call site and encoded as one string.
void copy_preformatted(const std::byte*& p, std::string_view fmt, fmt::memory_buffer& out);

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
