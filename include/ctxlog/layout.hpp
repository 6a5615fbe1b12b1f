// ctxlog/layout.hpp — how a record becomes bytes: the record view and the layout interface.
//
// The back-end decodes each record into a record_view (time, level, logger, message, the
// context, per-call fields, thread, process, call site) and hands it to the layout of
// each sink it goes to; a layout appends the bytes of one line. A line is rendered once
// per distinct layout among a record's sinks. json_layout() is the default; its output
// names, fields and time format are options. Write your own by deriving from layout.
//
// Example:
//   auto compact = ctxlog::json_layout({.thread = false, .file = false, .line = false,
//                                       .precision = ctxlog::time_precision::ms});
//   auto file = ctxlog::sinks::file_sink("app.log");
//   file->set_layout(compact);
//   ctxlog::configure({.sinks = {file}, .process = {.service = "orders", .version = "1.4.2"}});
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ctxlog/context.hpp"
#include "ctxlog/detail/codec.hpp"
#include "ctxlog/level.hpp"

namespace ctxlog {
inline namespace v1 {

// Static facts about the process, given once in config::process; every layout may put
// them on every line (the JSON layout writes the non-empty ones). Empty: left out.
struct process_info {
  std::string service{};
  std::string version{};
  std::string environment{};
  std::string host{};
  std::vector<std::pair<std::string, std::string>> extra{};  // further static fields
};

// The host name of this machine (gethostname), for process_info::host.
std::string this_host();

// The value of one per-call field (kv()): a number, a bool, a string, or a structured
// value (a container, a map, an optional, an exception: ctxlog::error()) as JSON text.
struct field_value {
  // json: str holds one complete, valid JSON value (array, object, null or number) made
  // by ctxlog's own encoder: a JSON layout copies it as it is, a text layout may print it
  // as it is or quote it.
  enum class kind : std::uint8_t { i64, u64, f64, boolean, string, json };
  kind type = kind::string;
  std::int64_t i = 0;
  std::uint64_t u = 0;
  double f = 0;
  bool b = false;
  std::string_view str{};
};

struct call_field {
  std::string_view key;
  field_value value;
};

// The per-call fields of a record in call order, decoded in place (no copy). A key may
// repeat (two kv() with one name): layouts decide; the JSON layout keeps the last.
class call_fields {
 public:
  class iterator {
   public:
    using value_type = call_field;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    const call_field& operator*() const noexcept { return cur_; }
    const call_field* operator->() const noexcept { return &cur_; }
    iterator& operator++() noexcept {
      p_ = next_;
      load();
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator t = *this;
      ++*this;
      return t;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.p_ == b.p_; }

   private:
    friend class call_fields;
    iterator(const std::byte* p, const std::byte* end) noexcept : p_(p), end_(end) { load(); }
    void load() noexcept;
    const std::byte* p_ = nullptr;
    const std::byte* end_ = nullptr;
    const std::byte* next_ = nullptr;
    call_field cur_{};
  };

  call_fields() = default;
  // Not API: the encoded fields (codec.hpp's [key][tag][value] sequence).
  call_fields(const std::byte* begin, const std::byte* end) noexcept : begin_(begin), end_(end) {}
  iterator begin() const noexcept { return {begin_, end_}; }
  iterator end() const noexcept { return {end_, end_}; }
  bool empty() const noexcept { return begin_ == end_; }

 private:
  const std::byte* begin_ = nullptr;
  const std::byte* end_ = nullptr;
};

struct source_location {
  std::string_view file{};      // base name; empty for ctxlog's own lines
  std::uint32_t line = 0;
  std::string_view function{};  // plain name of the enclosing function
};

// One record as a layout sees it. Valid for the render() call only.
struct record_view {
  std::uint64_t time_ns;  // wall-clock time of the call, ns since 1970-01-01 UTC
  level severity;
  std::string_view logger;   // the logger's name ("ctxlog" for ctxlog's own notices)
  std::string_view message;  // the formatted message, raw bytes (not escaped)
  const context& ctx;        // the call's context (empty when there was none)
  bool context_lost;         // the context-loss check flagged the call
  call_fields fields;        // kv() fields in call order
  std::uint32_t thread;      // OS thread id (gettid)
  std::uint32_t pid;
  source_location where;
  const process_info& process;
  // Identity of the call site together with the logger: equal for every record of one
  // LOG_* call (and logger), nullptr for ctxlog's own notices. A cache key for layouts.
  const void* site;
};

using buffer = fmt::memory_buffer;

// Renders records into bytes for the sinks that use it.
//
// Thread-safety: render() and configure() are called by one thread at a time (the
// back-end, or a logging thread in synchronous mode, under the back-end's lock), so a
// layout may keep caches without locking. A layout may be shared by several sinks; it
// renders each record once for all of them. render() may throw: the line is then
// counted as a sink error for each sink using this layout; other sinks are unaffected.
class layout {
 public:
  virtual ~layout() = default;
  // Appends one line for r to out (including its terminator, e.g. '\n').
  virtual void render(const record_view& r, buffer& out) = 0;
  // Called by configure() before the layout renders under a new configuration, with that
  // configuration's process facts (they stay valid until the next call). Throw
  // std::invalid_argument to reject the configuration: configure() then changes nothing.
  virtual void configure(const process_info& process) { (void)process; }
};

using layout_ptr = std::shared_ptr<layout>;

enum class time_precision { ms, us, ns };
enum class time_format {
  rfc3339,  // "2026-11-22T02:10:46.123456Z" (UTC, fraction digits per precision)
  epoch,    // an integer count of precision units since 1970-01-01 UTC: 1763777446123
};

// Output names of the JSON layout's fields. Every name must be non-empty and, among the
// fields that appear, unique.
struct json_names {
  std::string ts = "ts", level = "level", logger = "logger", msg = "msg";
  std::string request_id = "requestId", tenant_id = "tenantId", trace_id = "traceId", span_id = "spanId",
              parent_span_id = "parentSpanId", user_id = "userId";
  std::string context_lost = "contextLost";
  std::string thread = "thread", pid = "pid", file = "file", line = "line", function = "function";
  std::string service = "service", version = "version", environment = "env", host = "host";
};

struct json_options {
  // Which optional fields appear. ts, level, msg and the context always do.
  bool logger = true, thread = true, file = true, line = true, function = false, pid = false;
  bool process = true;  // the non-empty config::process fields
  time_precision precision = time_precision::us;
  time_format format = time_format::rfc3339;
  json_names names{};
};

// The JSON line layout (the default for every sink):
// {"ts":..,"level":..,"logger":..,"msg":..,<context>,<per-call fields>,"thread":..,"file":..,"line":..}
// Every string is escaped and invalid UTF-8 replaced; no key appears twice (see
// docs/logging.md: a user key that names one of the line's own fields gets a leading
// '_'; of two fields with one key the innermost wins: per-call over context, the later
// kv() over the earlier). Throws std::invalid_argument for an empty name or two written
// the same (names are compared after invalid UTF-8 is replaced).
layout_ptr json_layout(json_options options = {});

// Helpers for user layouts: append s as a JSON string (quoted, escaped, UTF-8 repaired),
// and the date-time of ns in RFC 3339 with the given precision (no quotes).
void append_json_string(buffer& out, std::string_view s);
void append_rfc3339(buffer& out, std::uint64_t ns, time_precision precision);

}  // namespace v1
}  // namespace ctxlog
