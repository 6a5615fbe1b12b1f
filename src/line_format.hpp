// src/line_format.hpp — turns one record into one JSON line (back-end side).
//
// Owned by whichever thread drains records (the back-end thread, or the dispatch lock
// holder in synchronous mode); not thread-safe. Caches the rendered date-time of the
// current second and the rendered context fields of recently seen frames, so a line pays
// for neither twice.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "ctxlog/detail/frame.hpp"
#include "ctxlog/detail/json.hpp"
#include "ctxlog/log.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

class line_formatter {
 public:
  // Appends the whole line for the record at rec (header then arguments) and its '\n'.
  // ns is its wall-clock time; ctx the frame that was current at the call (nullptr: no
  // context); context_lost marks a call that the context-loss check flagged.
  void format(const std::byte* rec, std::uint64_t ns, const frame* ctx, bool context_lost, std::uint32_t thread,
              line_buffer& out);
  // A line from ctxlog itself: {"ts","level","logger":"ctxlog","msg",key:value,"thread"}.
  void format_notice(std::uint64_t ns, level severity, std::string_view msg, std::string_view key,
                     std::uint64_t value, std::uint32_t thread, line_buffer& out);

  // The context fields of f as JSON members, each with its leading comma.
  static void render_context(const frame& f, std::string& out);

 private:
  void append_timestamp(std::uint64_t ns, line_buffer& out);
  const std::string& context_json(const frame& f);
  struct cached_site {
    const site* where = nullptr;
    const logger* source = nullptr;
    std::string head;  // ,"level":"info","logger":"orders","msg":
    std::string tail;  // ,"file":"orders.cpp","line":42}\n
  };
  const cached_site& site_json(const site* where, const logger* source);

  std::int64_t cached_second_ = -1;
  char second_text_[20] = {};  // "YYYY-MM-DDTHH:MM:SS"
  struct cached_context {
    std::uint64_t id = 0;
    std::string json;
  };
  std::array<cached_context, 64> contexts_{};
  std::array<cached_site, 256> sites_{};
  line_buffer message_;
};

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
