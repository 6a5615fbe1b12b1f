// src/line_format.cpp — the JSON line layout:
// {"ts":..,"level":..,"logger":..,"msg":..,<context fields>,<per-call fields>,"thread":..,"file":..,"line":..}
#include "line_format.hpp"

#include <cmath>
#include <cstring>
#include <exception>

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

template <class Int>
void append_int(line_buffer& out, Int v) {
  const fmt::format_int f(v);
  out.append(f.data(), f.data() + f.size());
}

void append_kvs(const std::byte* p, const std::byte* end, line_buffer& out) {
  while (p < end) {
    const auto key = decode<std::string_view>(p);
    append_json_key(out, key);
    const auto tag = static_cast<kv_tag>(*p++);
    switch (tag) {
      case kv_tag::i64: append_int(out, decode<std::int64_t>(p)); break;
      case kv_tag::u64: append_int(out, decode<std::uint64_t>(p)); break;
      case kv_tag::f64: {
        const double v = decode<double>(p);
        if (std::isfinite(v)) fmt::format_to(fmt::appender(out), "{}", v);
        else append(out, std::isnan(v) ? "\"NaN\"" : v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        break;
      }
      case kv_tag::boolean: append(out, *p++ != std::byte{0} ? "true" : "false"); break;
      case kv_tag::string: append_json_string(out, decode<std::string_view>(p)); break;
    }
  }
}

}  // namespace

void copy_preformatted(const std::byte*& p, std::string_view, fmt::memory_buffer& out) {
  append(out, decode<std::string_view>(p));
}

void line_formatter::append_timestamp(std::uint64_t ns, line_buffer& out) {
  const auto sec = static_cast<std::int64_t>(ns / 1000000000u);
  if (sec != cached_second_) {
    std::int64_t days = sec / 86400, rem = sec % 86400;
    int y;
    unsigned mo, d;
    civil_from_days(days, y, mo, d);
    fmt::format_to_n(second_text_, sizeof second_text_, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", y, mo, d,
                     static_cast<unsigned>(rem / 3600), static_cast<unsigned>(rem / 60 % 60),
                     static_cast<unsigned>(rem % 60));
    cached_second_ = sec;
  }
  char text[] = "\"YYYY-MM-DDTHH:MM:SS.uuuuuuZ\"";
  std::memcpy(text + 1, second_text_, 19);
  unsigned us = static_cast<unsigned>(ns % 1000000000u / 1000u);
  for (int i = 26; i >= 21; --i, us /= 10) text[i] = static_cast<char>('0' + us % 10);
  append(out, std::string_view(text, sizeof text - 1));
}

void line_formatter::render_context(const frame& f, std::string& out) {
  line_buffer b;
  for (std::size_t i = 0; i < well_known_count; ++i) {
    if (f.well_known[i].empty()) continue;
    b.push_back(',');
    b.push_back('"');
    append(b, well_known_names[i]);
    append(b, "\":");
    append_json_string(b, f.well_known[i]);
  }
  for (std::uint32_t i = 0; i < f.n_custom; ++i) {
    append_json_key(b, f.custom[i].key);
    append_json_string(b, f.custom[i].value);
  }
  out.assign(b.data(), b.size());
}

const std::string& line_formatter::context_json(const frame& f) {
  // Frame ids are never reused, so a hit is always the same frame's rendering.
  cached_context& c = contexts_[f.id % contexts_.size()];
  if (c.id != f.id) {
    render_context(f, c.json);
    c.id = f.id;
  }
  return c.json;
}

const line_formatter::cached_site& line_formatter::site_json(const site* where, const logger* source) {
  // Call sites and loggers live for the whole program, so their addresses are keys.
  cached_site& c = sites_[(reinterpret_cast<std::uintptr_t>(where) / alignof(site)) % sites_.size()];
  if (c.where != where || c.source != source) {
    line_buffer b;
    append(b, ",\"level\":\"");
    append(b, to_string(where->severity));
    append(b, "\",\"logger\":");
    append_json_string(b, source->name());
    append(b, ",\"msg\":");
    c.head.assign(b.data(), b.size());
    b.clear();
    append(b, ",\"file\":");
    append_json_string(b, where->file);
    append(b, ",\"line\":");
    append_int(b, where->line);
    append(b, "}\n");
    c.tail.assign(b.data(), b.size());
    c.where = where;
    c.source = source;
  }
  return c;
}

void line_formatter::format_notice(std::uint64_t ns, level severity, std::string_view msg, std::string_view key,
                                   std::uint64_t value, std::uint32_t thread, line_buffer& out) {
  append(out, "{\"ts\":");
  append_timestamp(ns, out);
  append(out, ",\"level\":\"");
  append(out, to_string(severity));
  append(out, "\",\"logger\":\"ctxlog\",\"msg\":");
  append_json_string(out, msg);
  append_json_key(out, key);
  append_int(out, value);
  append(out, ",\"thread\":");
  append_int(out, thread);
  append(out, "}\n");
}

void line_formatter::format(const std::byte* rec, std::uint64_t ns, const frame* ctx, bool context_lost,
                            std::uint32_t thread, line_buffer& out) {
  record_header h;
  std::memcpy(&h, rec, sizeof h);
  const std::byte* args = rec + sizeof h;

  const cached_site& site = site_json(h.where, h.source);
  append(out, "{\"ts\":");
  append_timestamp(ns, out);
  append(out, site.head);
  message_.clear();
  try {
    const std::byte* p = args;
    h.message(p, h.where->format, message_);
  } catch (const std::exception& e) {
    message_.clear();
    fmt::format_to(fmt::appender(message_), "[ctxlog: formatting failed: {}] {}", e.what(), h.where->format);
  }
  append_json_string(out, std::string_view(message_.data(), message_.size()));
  if (ctx) append(out, context_json(*ctx));
  if (context_lost) append(out, ",\"contextLost\":true");
  append_kvs(args + h.message_args, args + h.args_size, out);
  append(out, ",\"thread\":");
  append_int(out, thread);
  append(out, site.tail);
}

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
