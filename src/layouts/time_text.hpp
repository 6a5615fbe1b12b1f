// src/layouts/time_text.hpp — wall-clock nanoseconds as RFC 3339 text, for the layouts.
#pragma once

#include <cstdint>

#include "ctxlog/layout.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

// "YYYY-MM-DDTHH:MM:SS" of the UTC second sec (19 characters, no terminator).
void format_second(std::int64_t sec, char (&text)[19]) noexcept;

// The fraction of ns's second for precision p, with its '.' (".123", ".123456",
// ".123456789"), into text; returns its length.
unsigned format_fraction(std::uint64_t ns, time_precision p, char (&text)[10]) noexcept;

// Remembers the text of the last second seen: a date-time then costs a copy.
class second_cache {
 public:
  const char* text(std::int64_t sec) noexcept {
    if (sec != second_) {
      format_second(sec, text_);
      second_ = sec;
    }
    return text_;
  }

 private:
  std::int64_t second_ = -1;
  char text_[19] = {};
};

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
