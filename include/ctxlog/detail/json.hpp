// ctxlog/detail/json.hpp — the JSON string encoder of the back-end.
//
// Not API (exposed for tests and fuzzing). Whatever bytes it is given, the output is one
// valid JSON string on one line: quotes, backslashes and control characters escaped,
// U+2028/U+2029 escaped, invalid UTF-8 (including encoded surrogates) replaced with
// U+FFFD per maximal subpart, as the Unicode standard recommends.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <cstring>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace ctxlog {
inline namespace v1 {
namespace detail {

using line_buffer = fmt::memory_buffer;

// Appends bytes. (fmt's buffer::append is a general loop; one resize and a memcpy that
// the compiler inlines for the short constant pieces of a line are several times
// cheaper, and a line is made of dozens of such pieces.)
inline void append(line_buffer& out, std::string_view s) {
  const std::size_t n = out.size();
  out.try_resize(n + s.size());
  if (!s.empty()) std::memcpy(out.data() + n, s.data(), s.size());
}

// Appends "s" (with the quotes).
void append_json_string(line_buffer& out, std::string_view s);

// When s is not valid UTF-8: sets out to s with the same U+FFFD replacements that
// append_json_string makes, and returns true (so two keys can be compared as written).
bool repair_utf8(std::string_view s, std::string& out);

// s as append_json_string writes it: for a name that is compared with others before it is
// written (two names of different invalid UTF-8 can be written the same).
inline std::string as_written(std::string_view s) {
  std::string r;
  return repair_utf8(s, r) ? r : std::string(s);
}

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
