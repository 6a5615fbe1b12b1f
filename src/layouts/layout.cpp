// src/layouts/layout.cpp — what every layout shares: decoding per-call fields, time text,
// the helpers layout.hpp offers to user layouts.
#include <unistd.h>

#include <climits>

#include "ctxlog/detail/json.hpp"
#include "ctxlog/layout.hpp"
#include "time_text.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(yoe + era * 400 + (m <= 2));
}

}  // namespace

void format_second(std::int64_t sec, char (&text)[19]) noexcept {
  const std::int64_t days = sec / 86400, rem = sec % 86400;
  int y;
  unsigned mo, d;
  civil_from_days(days, y, mo, d);
  fmt::format_to_n(text, sizeof text, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", y, mo, d,
                   static_cast<unsigned>(rem / 3600), static_cast<unsigned>(rem / 60 % 60),
                   static_cast<unsigned>(rem % 60));
}

unsigned format_fraction(std::uint64_t ns, time_precision p, char (&text)[10]) noexcept {
  const unsigned digits = p == time_precision::ms ? 3 : p == time_precision::us ? 6 : 9;
  auto v = static_cast<unsigned>(ns % 1000000000u);
  for (unsigned i = digits; i < 9; ++i) v /= 10;
  text[0] = '.';
  for (unsigned i = digits; i >= 1; --i, v /= 10) text[i] = static_cast<char>('0' + v % 10);
  return digits + 1;
}

}  // namespace detail

void call_fields::iterator::load() noexcept {
  if (p_ == end_) return;
  const std::byte* p = p_;
  cur_.key = detail::decode<std::string_view>(p);
  field_value v;
  switch (static_cast<detail::kv_tag>(*p++)) {
    case detail::kv_tag::i64: v.type = field_value::kind::i64, v.i = detail::decode<std::int64_t>(p); break;
    case detail::kv_tag::u64: v.type = field_value::kind::u64, v.u = detail::decode<std::uint64_t>(p); break;
    case detail::kv_tag::f64: v.type = field_value::kind::f64, v.f = detail::decode<double>(p); break;
    case detail::kv_tag::boolean: v.type = field_value::kind::boolean, v.b = *p++ != std::byte{0}; break;
    case detail::kv_tag::string: v.type = field_value::kind::string, v.str = detail::decode<std::string_view>(p); break;
    case detail::kv_tag::json: v.type = field_value::kind::json, v.str = detail::decode<std::string_view>(p); break;
  }
  cur_.value = v;
  next_ = p;
}

std::string this_host() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return {};
  return name;
}

void append_json_string(buffer& out, std::string_view s) { detail::append_json_string(out, s); }

void append_rfc3339(buffer& out, std::uint64_t ns, time_precision precision) {
  char sec[19], frac[10];
  detail::format_second(static_cast<std::int64_t>(ns / 1000000000u), sec);
  const unsigned n = detail::format_fraction(ns, precision, frac);
  detail::append(out, std::string_view(sec, sizeof sec));
  detail::append(out, std::string_view(frac, n));
  out.push_back('Z');
}

}  // namespace v1
}  // namespace ctxlog
