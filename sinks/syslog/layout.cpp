// sinks/syslog/layout.cpp — syslog_layout(): one RFC 5424 (or RFC 3164) message per
// record, the request context as structured data.
//
// The header fields are PRINTUSASCII of bounded length (§6.2): anything else becomes
// '_', a field too long is cut, an empty one is the NILVALUE "-". SD-PARAM values are any
// UTF-8 with '"', '\' and ']' escaped (§6.3.3); ctxlog repairs invalid UTF-8 and writes
// control characters as #ooo so that a message never holds a line break: the same
// message then works over every transport and framing and in a file.
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <stdexcept>
#include <string>

#include "ctxlog/detail/json.hpp"
#include "ctxlog/sinks/syslog.hpp"

namespace ctxlog {
inline namespace v1 {
namespace sinks {
namespace {

using detail::append;

bool sd_name_char(unsigned char c) noexcept { return c > 32 && c < 127 && c != '=' && c != ']' && c != '"'; }

// A header field: printable US-ASCII, at most max bytes, "-" when empty.
std::string header_field(std::string_view s, std::size_t max) {
  std::string out;
  for (const char ch : s.substr(0, max)) {
    const auto c = static_cast<unsigned char>(ch);
    out.push_back(c > 32 && c < 127 ? ch : '_');
  }
  return out.empty() ? std::string("-") : out;
}

// An SD-NAME for a parameter: invalid bytes become '_', at most 32.
void append_param_name(buffer& out, std::string_view key) {
  if (key.empty()) key = "_";
  for (const char ch : key.substr(0, 32)) out.push_back(sd_name_char(static_cast<unsigned char>(ch)) ? ch : '_');
}

// Bytes of valid UTF-8 (repaired when needed) with the escapes of `escape_sd`: '"', '\',
// ']' preceded by '\'; control characters as #ooo either way.
void append_escaped(buffer& out, std::string_view s, bool escape_sd, std::string& scratch) {
  if (detail::repair_utf8(s, scratch)) s = scratch;
  std::size_t run = 0;  // start of the bytes not yet copied
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const bool control = c < 0x20 || c == 0x7f;
    const bool special = escape_sd && (c == '"' || c == '\\' || c == ']');
    if (!control && !special) continue;
    append(out, s.substr(run, i - run));
    run = i + 1;
    if (special) {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else {
      const char oct[4] = {'#', static_cast<char>('0' + (c >> 6)), static_cast<char>('0' + ((c >> 3) & 7)),
                           static_cast<char>('0' + (c & 7))};
      append(out, std::string_view(oct, 4));
    }
  }
  append(out, s.substr(run));
}

void check_sd_id(const std::string& id, const char* what) {
  bool ok = !id.empty() && id.size() <= 32;
  for (const char c : id) ok = ok && sd_name_char(static_cast<unsigned char>(c));
  if (!ok)
    throw std::invalid_argument(std::string("syslog layout: ") + what + " '" + id.substr(0, 40) +
                                "' is not 1..32 printable US-ASCII characters without '=', ' ', ']', '\"'");
}

template <class Int>
void append_int(buffer& out, Int v) {
  const fmt::format_int f(v);
  append(out, std::string_view(f.data(), f.size()));
}

void append_value_text(buffer& out, const field_value& v, bool& empty, std::string& scratch) {
  empty = false;
  switch (v.type) {
    case field_value::kind::i64: append_int(out, v.i); break;
    case field_value::kind::u64: append_int(out, v.u); break;
    case field_value::kind::f64: fmt::format_to(fmt::appender(out), "{}", v.f); break;
    case field_value::kind::boolean: append(out, v.b ? "true" : "false"); break;
    case field_value::kind::string:
    case field_value::kind::json:
      empty = v.str.empty();
      append_escaped(out, v.str, true, scratch);
      break;
  }
}

class syslog_rfc_layout final : public layout {
 public:
  explicit syslog_rfc_layout(syslog_layout_options o) : o_(std::move(o)) {
    check_sd_id(o_.sd_id, "sd_id");
    if (!o_.fields_sd_id.empty()) check_sd_id(o_.fields_sd_id, "fields_sd_id");
    if (o_.fields_sd_id == o_.sd_id) throw std::invalid_argument("syslog layout: sd_id and fields_sd_id are the same");
    if (o_.precision == time_precision::ns) o_.precision = time_precision::us;
    if (o_.message == syslog_message::json) json_ = json_layout(o_.json);
    app_ = header_field(o_.app_name.empty() ? std::string_view(program_invocation_short_name) : o_.app_name,
                        o_.format == syslog_format::rfc3164 ? 32 : 48);
    if (!o_.msgid.empty()) msgid_ = header_field(o_.msgid, 32);
  }

  void configure(const process_info& p) override {
    std::string h = o_.hostname.empty() ? p.host : o_.hostname;
    if (h.empty()) h = this_host();
    host_ = header_field(h, 255);
    if (json_) json_->configure(p);
  }

  void render(const record_view& r, buffer& out) override {
    if (host_.empty()) host_ = header_field(o_.hostname.empty() ? this_host() : o_.hostname, 255);
    out.push_back('<');
    append_int(out, syslog_pri(o_.facility, r.severity));
    out.push_back('>');
    if (o_.format == syslog_format::rfc5424) {
      append(out, "1 ");
      append_rfc3339(out, r.time_ns, o_.precision);
      out.push_back(' ');
      append(out, host_);
      out.push_back(' ');
      append(out, app_);
      out.push_back(' ');
      append_int(out, r.pid);
      out.push_back(' ');
      if (!msgid_.empty()) append(out, msgid_);
      else append_msgid(out, r.logger);
      out.push_back(' ');
      append_sd(r, out);
    } else {
      append_bsd_time(out, r.time_ns);
      out.push_back(' ');
      append(out, host_);
      out.push_back(' ');
      append(out, app_);
      out.push_back('[');
      append_int(out, r.pid);
      append(out, "]: ");
      const std::size_t mark = out.size();
      append_sd(r, out);
      if (out.size() == mark + 1 && out[mark] == '-') {  // no SD: the MSG right after "TAG[PID]: "
        out.resize(mark);
        append_msg(r, out);
        if (out.size() > mark && out[mark] == ' ') {
          std::memmove(out.data() + mark, out.data() + mark + 1, out.size() - mark - 1);
          out.resize(out.size() - 1);
        }
        out.push_back('\n');
        return;
      }
    }
    append_msg(r, out);
    out.push_back('\n');
  }

 private:
  void append_msgid(buffer& out, std::string_view logger) {
    std::size_t n = 0;
    for (const char ch : logger.substr(0, 32)) {
      const auto c = static_cast<unsigned char>(ch);
      out.push_back(c > 32 && c < 127 ? ch : '_');
      ++n;
    }
    if (n == 0) out.push_back('-');
  }

  // " name=\"value\"" unless the value is empty.
  void param(buffer& out, std::string_view name, std::string_view value) {
    if (value.empty()) return;
    out.push_back(' ');
    append_param_name(out, name);
    append(out, "=\"");
    append_escaped(out, value, true, scratch_);
    out.push_back('"');
  }

  void append_sd(const record_view& r, buffer& out) {
    const std::size_t start = out.size();
    if (!r.ctx.empty()) {
      const std::size_t mark = out.size();
      out.push_back('[');
      append(out, o_.sd_id);
      const std::size_t bare = out.size();
      param(out, "requestId", r.ctx.request_id());
      param(out, "traceId", r.ctx.trace_id());
      param(out, "spanId", r.ctx.span_id());
      param(out, "parentSpanId", r.ctx.parent_span_id());
      param(out, "tenantId", r.ctx.tenant_id());
      param(out, "userId", r.ctx.user_id());
      for (const field& f : r.ctx.custom()) param(out, f.key, f.value);
      if (out.size() == bare) out.resize(mark);
      else out.push_back(']');
    }
    if (o_.message == syslog_message::text && !o_.fields_sd_id.empty() && !r.fields.empty()) {
      const std::size_t mark = out.size();
      out.push_back('[');
      append(out, o_.fields_sd_id);
      const std::size_t bare = out.size();
      for (const call_field& f : r.fields) {
        const std::size_t at = out.size();
        out.push_back(' ');
        append_param_name(out, f.key);
        append(out, "=\"");
        bool empty = false;
        append_value_text(out, f.value, empty, scratch_);
        if (empty) out.resize(at);
        else out.push_back('"');
      }
      if (out.size() == bare) out.resize(mark);
      else out.push_back(']');
    }
    if (out.size() == start) out.push_back('-');
  }

  void append_msg(const record_view& r, buffer& out) {
    if (o_.message == syslog_message::json) {
      msg_.clear();
      json_->render(r, msg_);
      std::string_view m(msg_.data(), msg_.size());
      while (!m.empty() && (m.back() == '\n' || m.back() == '\r')) m.remove_suffix(1);
      out.push_back(' ');
      if (o_.bom) append(out, "\xEF\xBB\xBF");
      append_escaped(out, m, false, scratch_);  // JSON has no control bytes: a copy
      return;
    }
    if (r.message.empty() && !o_.bom) return;
    out.push_back(' ');
    if (o_.bom) append(out, "\xEF\xBB\xBF");
    append_escaped(out, r.message, false, scratch_);
  }

  // "Mmm dd hh:mm:ss", local time (RFC 3164 §4.1.2); the day space-padded.
  void append_bsd_time(buffer& out, std::uint64_t ns) {
    const auto secs = static_cast<time_t>(ns / 1000000000u);
    if (secs != bsd_second_) {
      static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
      tm t{};
      localtime_r(&secs, &t);
      std::snprintf(bsd_text_.data(), bsd_text_.size(), "%s %2d %02d:%02d:%02d", months[t.tm_mon % 12], t.tm_mday,
                    t.tm_hour, t.tm_min, t.tm_sec);
      bsd_second_ = secs;
    }
    append(out, std::string_view(bsd_text_.data(), 15));
  }

  syslog_layout_options o_;
  layout_ptr json_;
  std::string host_, app_, msgid_;
  std::string scratch_;
  buffer msg_;
  time_t bsd_second_ = -1;
  std::array<char, 32> bsd_text_{};
};

}  // namespace

layout_ptr syslog_layout(syslog_layout_options options) {
  return std::make_shared<syslog_rfc_layout>(std::move(options));
}

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
