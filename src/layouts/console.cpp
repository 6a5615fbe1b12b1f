// src/layouts/console.cpp — the console layout (console.hpp): a line for humans.
//
//   <time> <LEVEL> [logger] <message> key=value ... | req=.. tenant=.. trace=.. <custom> [file:line thread=..]
//
// Every piece of log data goes through append_text(), which escapes control characters
// (C0, DEL, C1), line and paragraph separators and bidirectional overrides, repairs
// invalid UTF-8, and turns a newline into a newline plus indentation. Colour is decided
// per sink when configure() installs the layout (layout_for_sink()).
#include "console.hpp"

#include <time.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "ctxlog/console.hpp"
#include "ctxlog/detail/json.hpp"
#include "ctxlog/sinks/fd_sink.hpp"
#include "time_text.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

constexpr std::string_view k_continuation = "\n    ";  // a line of a record never starts at column 0
constexpr std::string_view k_reset = "\x1b[0m";
constexpr std::string_view k_dim = "\x1b[2m";
constexpr std::string_view k_bold = "\x1b[1m";

constexpr std::string_view level_text(level l) noexcept {
  constexpr std::string_view names[] = {"TRACE", "DEBUG", "INFO ", "WARN ", "ERROR", "CRIT "};
  const auto i = static_cast<unsigned>(l);
  return i < 6 ? names[i] : std::string_view("OFF  ");
}

constexpr std::string_view level_color(level l) noexcept {
  constexpr std::string_view colors[] = {"\x1b[90m", "\x1b[36m", "\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[1;97;41m"};
  const auto i = static_cast<unsigned>(l);
  return i < 6 ? colors[i] : std::string_view();
}

void append_escape(buffer& out, unsigned cp) {
  if (cp < 0x80) fmt::format_to(fmt::appender(out), "\\x{:02x}", cp);
  else fmt::format_to(fmt::appender(out), "\\u{:04x}", cp);
}

// Log data as terminal-safe text. quote: also escape '"' and '\' (inside "...").
void append_text(buffer& out, std::string_view s, bool quote) {
  std::string repaired;
  if (repair_utf8(s, repaired)) s = repaired;
  std::size_t run = 0;  // start of the bytes not yet copied
  const auto flush_to = [&](std::size_t i) { append(out, s.substr(run, i - run)); };
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;  // bytes replaced at i
    if (c == '\n') {
      flush_to(i);
      append(out, k_continuation);
      len = 1;
    } else if (c < 0x20 || c == 0x7f) {
      flush_to(i);
      if (c == '\t') append(out, "\\t");
      else if (c == '\r') append(out, "\\r");
      else append_escape(out, c);
      len = 1;
    } else if (quote && (c == '"' || c == '\\')) {
      flush_to(i);
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      len = 1;
    } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xA0) {
      flush_to(i);  // U+0080..U+009F: C1 controls (0x9B is CSI on some terminals)
      append_escape(out, static_cast<unsigned char>(s[i + 1]) & 0xFFu);
      len = 2;
    } else if (c == 0xE2 && i + 2 < s.size()) {
      const auto b1 = static_cast<unsigned char>(s[i + 1]), b2 = static_cast<unsigned char>(s[i + 2]);
      const unsigned cp = ((c & 0x0Fu) << 12) | ((b1 & 0x3Fu) << 6) | (b2 & 0x3Fu);
      // Line and paragraph separators, and the bidirectional embeddings, overrides and
      // isolates that can make text read differently from what it is.
      if ((cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) {
        flush_to(i);
        append_escape(out, cp);
        len = 3;
      }
    }
    if (len) {
      i += len - 1;
      run = i + 1;
    }
  }
  flush_to(s.size());
}

bool needs_quotes(std::string_view s) noexcept {
  if (s.empty()) return true;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f || c == '"' || c == '=' || c == '|') return true;
  }
  return false;
}

void append_atom(buffer& out, std::string_view s) {
  if (!needs_quotes(s)) return append_text(out, s, false);
  out.push_back('"');
  append_text(out, s, true);
  out.push_back('"');
}

bool no_color_env() noexcept {
  const char* v = std::getenv("NO_COLOR");
  return v && *v;
}

class console_line final : public layout {
 public:
  console_line(console_options o, bool color) : o_(o), color_(color) {
    if (o_.color == console_color::automatic && !color)
      twin_ = std::make_shared<console_line>(o_, true);  // used for sinks on a terminal
  }

  const std::shared_ptr<console_line>& colored_twin() const noexcept { return twin_; }

  void render(const record_view& r, buffer& out) override {
    append_time(out, r.time_ns);
    paint(out, level_color(r.severity), level_text(r.severity));
    out.push_back(' ');
    if (o_.logger && r.logger != "default") {
      out.push_back('[');
      if (color_) append(out, k_bold);
      append_text(out, r.logger, false);
      if (color_) append(out, k_reset);
      append(out, "] ");
    }
    std::string_view msg = r.message;
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r')) msg.remove_suffix(1);
    append_text(out, msg, false);
    append_fields(r, out);
    append_context(r, out);
    if (o_.source && !r.where.file.empty()) {
      paint_start(out, k_dim);
      out.push_back(' ');
      append_text(out, r.where.file, false);
      fmt::format_to(fmt::appender(out), ":{}", r.where.line);
      paint_end(out);
    }
    if (o_.thread) {
      paint_start(out, k_dim);
      fmt::format_to(fmt::appender(out), " thread={}", r.thread);
      paint_end(out);
    }
    out.push_back('\n');
  }

 private:
  void paint_start(buffer& out, std::string_view color) const {
    if (color_) append(out, color);
  }
  void paint_end(buffer& out) const {
    if (color_) append(out, k_reset);
  }
  void paint(buffer& out, std::string_view color, std::string_view text) const {
    paint_start(out, color);
    append(out, text);
    paint_end(out);
  }

  void append_time(buffer& out, std::uint64_t ns) {
    if (o_.time == console_time::none) return;
    const auto sec = static_cast<std::int64_t>(ns / 1000000000u);
    if (sec != second_) {
      second_ = sec;
      char text[19];
      if (o_.time == console_time::utc) {
        format_second(sec, text);  // YYYY-MM-DDTHH:MM:SS
        text[10] = ' ';
      } else {
        const time_t t = static_cast<time_t>(sec);
        tm local{};
        localtime_r(&t, &local);
        fmt::format_to_n(text, sizeof text, "{:04}-{:02}-{:02} {:02}:{:02}:{:02}", local.tm_year + 1900,
                         local.tm_mon + 1, local.tm_mday, local.tm_hour, local.tm_min, local.tm_sec);
      }
      second_text_.assign(o_.date ? text : text + 11, o_.date ? 19 : 8);
    }
    char frac[10];
    const unsigned n = format_fraction(ns, o_.precision, frac);
    paint_start(out, k_dim);
    append(out, second_text_);
    append(out, std::string_view(frac, n));
    if (o_.time == console_time::utc) out.push_back('Z');
    paint_end(out);
    out.push_back(' ');
  }

  void append_value(buffer& out, const field_value& v) const {
    switch (v.type) {
      case field_value::kind::i64: fmt::format_to(fmt::appender(out), "{}", v.i); break;
      case field_value::kind::u64: fmt::format_to(fmt::appender(out), "{}", v.u); break;
      case field_value::kind::f64: fmt::format_to(fmt::appender(out), "{}", v.f); break;
      case field_value::kind::boolean: append(out, v.b ? "true" : "false"); break;
      case field_value::kind::string: append_atom(out, v.str); break;
      case field_value::kind::json: append_text(out, v.str, false); break;  // compact JSON, printed as it is
    }
  }

  void append_pair(buffer& out, std::string_view key, std::string_view dim_or_empty) const {
    out.push_back(' ');
    paint_start(out, dim_or_empty);
    append_atom(out, key);
    out.push_back('=');
    paint_end(out);
  }

  // kv() fields in call order; of two with one key only the later is shown.
  void append_fields(const record_view& r, buffer& out) {
    keys_.clear();
    for (const call_field& f : r.fields) keys_.push_back(f.key);
    std::size_t i = 0;
    for (const call_field& f : r.fields) {
      bool repeated = false;
      for (std::size_t j = i + 1; j < keys_.size() && !repeated; ++j) repeated = keys_[j] == f.key;
      ++i;
      if (repeated) continue;
      append_pair(out, f.key, k_dim);
      append_value(out, f.value);
    }
  }

  void append_id(buffer& out, std::string_view name, std::string_view value, bool shorten, bool& first) const {
    if (value.empty()) return;
    append(out, first ? " | " : " ");
    first = false;
    if (shorten && o_.id_chars && value.size() > o_.id_chars) value = value.substr(0, o_.id_chars);
    append(out, name);
    out.push_back('=');
    append_atom(out, value);
  }

  // The context after " | ": the ids (trace and span shortened), then the custom fields
  // that no kv() of this record overrides.
  void append_context(const record_view& r, buffer& out) const {
    if (r.ctx.empty() && !r.context_lost) return;
    paint_start(out, k_dim);
    bool first = true;
    const context& c = r.ctx;
    append_id(out, "req", c.request_id(), false, first);
    append_id(out, "tenant", c.tenant_id(), false, first);
    append_id(out, "trace", c.trace_id(), true, first);
    append_id(out, "span", c.span_id(), true, first);
    append_id(out, "user", c.user_id(), false, first);
    for (const field& f : c.custom()) {
      bool shadowed = false;
      for (const std::string_view k : keys_) shadowed = shadowed || k == f.key;
      if (shadowed) continue;
      append(out, first ? " | " : " ");
      first = false;
      append_atom(out, f.key);
      out.push_back('=');
      append_atom(out, f.value);
    }
    if (r.context_lost) {
      append(out, first ? " | " : " ");
      append(out, "contextLost=true");
    }
    paint_end(out);
  }

  console_options o_;
  bool color_;
  std::shared_ptr<console_line> twin_;
  std::int64_t second_ = -1;
  std::string second_text_;
  std::vector<std::string_view> keys_;  // the current record's kv() keys
};

}  // namespace

layout_ptr layout_for_sink(const layout_ptr& l, const sink& s) {
  const auto* c = dynamic_cast<const console_line*>(l.get());
  if (!c || !c->colored_twin()) return l;
  const auto* fd = dynamic_cast<const sinks::fd_sink*>(&s);
  if (fd && fd->is_terminal() && !no_color_env()) return c->colored_twin();
  return l;
}

}  // namespace detail

layout_ptr console_layout(console_options options) {
  return std::make_shared<detail::console_line>(options, options.color == console_color::always);
}

}  // namespace v1
}  // namespace ctxlog
