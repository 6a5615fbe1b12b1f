// src/kv_json.cpp — the out-of-line parts of structured kv() values (detail/kv_json.hpp):
// exceptions with their nested causes, and UTC time text.
#include "ctxlog/detail/kv_json.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <typeinfo>

namespace ctxlog {
inline namespace v1 {
namespace detail {

namespace {

std::string demangled(const std::type_info& t) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> p(abi::__cxa_demangle(t.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && p ? std::string(p.get()) : std::string(t.name());
}

constexpr int k_max_causes = 16;  // a cycle cannot be built, but a chain can be long

void append_one(line_buffer& out, const std::exception& e, int depth) {
  out.push_back('{');
  append(out, "\"type\":");
  append_json_string(out, demangled(typeid(e)));
  append(out, ",\"message\":");
  append_json_string(out, e.what());
  if (depth < k_max_causes) {
    try {
      std::rethrow_if_nested(e);
    } catch (const std::exception& cause) {
      append(out, ",\"cause\":");
      append_one(out, cause, depth + 1);
    } catch (...) {
      const std::type_info* t = abi::__cxa_current_exception_type();
      append(out, ",\"cause\":{\"type\":");
      append_json_string(out, t ? demangled(*t) : std::string("unknown"));
      out.push_back('}');
    }
  }
  out.push_back('}');
}

}  // namespace

void append_exception_json(line_buffer& out, const std::exception& e) { append_one(out, e, 0); }

void append_exception_json(line_buffer& out, std::exception_ptr e) {
  if (!e) {
    append(out, "null");
    return;
  }
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    append_one(out, x, 0);
  } catch (...) {
    const std::type_info* t = abi::__cxa_current_exception_type();
    append(out, "{\"type\":");
    append_json_string(out, t ? demangled(*t) : std::string("unknown"));
    out.push_back('}');
  }
}

void append_utc_text(line_buffer& out, std::int64_t ns, int fraction_digits) {
  // Floor division: times before 1970 keep a non-negative fraction.
  std::int64_t secs = ns / 1'000'000'000, frac = ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  const std::chrono::sys_days day{std::chrono::floor<std::chrono::days>(std::chrono::seconds(secs))};
  const std::chrono::year_month_day ymd{day};
  const std::int64_t in_day = secs - std::chrono::duration_cast<std::chrono::seconds>(day.time_since_epoch()).count();
  fmt::format_to(fmt::appender(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(ymd.year()),
                 static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), in_day / 3600,
                 in_day / 60 % 60, in_day % 60);
  if (fraction_digits > 0) {
    std::int64_t f = frac;
    for (int d = 9; d > fraction_digits; --d) f /= 10;
    fmt::format_to(fmt::appender(out), ".{:0{}}", f, fraction_digits);
  }
  out.push_back('Z');
}

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
