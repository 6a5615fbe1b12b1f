// tests/fuzz/fuzz_layouts.cpp — every built-in layout, fed records made of fuzzed parts:
// the message, the logger name, the context's ids and custom fields (any bytes: a user's
// code can put anything there), per-call fields of every kind with any keys, JSON values
// as ctxlog's encoder makes them, process facts, level and time.
//
// Properties: the JSON layouts (json, ecs, otel, gcp, datadog) write exactly one line
// that is one JSON object, strict UTF-8, no raw control character, no key twice in one
// object; the text layouts (logfmt, console) write exactly one line ending in '\n' with
// no other line break and no raw control character but tab-free escapes; a multi-line
// console value is indented, never a bare new line. Nothing throws out of render().
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ctxlog/console.hpp"
#include "ctxlog/context.hpp"
#include "ctxlog/detail/codec.hpp"
#include "ctxlog/layout.hpp"
#include "ctxlog/schemas.hpp"
#include "ctxlog/trace.hpp"
#include "fuzz_support.hpp"

namespace {

using ctxlog::detail::kv_tag;

// kv() fields encoded as the back-end stores them: [key][tag][value].
class kv_bytes {
 public:
  void add(std::string_view key, kv_tag tag, fuzz::reader& in) {
    put(key);
    b_.push_back(static_cast<std::byte>(tag));
    switch (tag) {
      case kv_tag::i64:
      case kv_tag::u64: {
        const std::uint64_t v = in.u64();
        append_raw(&v);
        break;
      }
      case kv_tag::f64: {
        static constexpr double specials[] = {0.0, -0.0, 1e308, -1e-308, 5e-324, 0.1, 1e21, 123456789.125};
        double v;
        if (in.flag()) v = specials[in.below(std::size(specials))];
        else {
          const std::uint64_t bits = in.u64();
          std::memcpy(&v, &bits, 8);  // NaN and infinities too: layouts must cope
        }
        append_raw(&v);
        break;
      }
      case kv_tag::boolean: b_.push_back(std::byte{in.flag() ? std::uint8_t{1} : std::uint8_t{0}}); break;
      case kv_tag::string: put(in.text(80)); break;
      case kv_tag::json: put(json_value(in, 0)); break;
    }
  }
  ctxlog::call_fields fields() const { return {b_.data(), b_.data() + b_.size()}; }

 private:
  // A JSON value as ctxlog's encoder writes one for kv() of a container, map, optional or
  // exception: valid JSON, strings repaired.
  static std::string json_value(fuzz::reader& in, int depth) {
    nlohmann::json j = make(in, depth);
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  static nlohmann::json make(fuzz::reader& in, int depth) {
    switch (depth > 3 ? in.below(4) : in.below(6)) {
      case 0: return nullptr;
      case 1: return static_cast<std::int64_t>(in.u64());
      case 2: return static_cast<double>(static_cast<std::int32_t>(in.u64())) / 7.0;
      case 3: return in.text(20);
      case 4: {
        nlohmann::json a = nlohmann::json::array();
        for (std::size_t i = 0, n = in.below(4); i < n; ++i) a.push_back(make(in, depth + 1));
        return a;
      }
      default: {
        nlohmann::json o = nlohmann::json::object();
        for (std::size_t i = 0, n = in.below(4); i < n; ++i) o[in.text(10)] = make(in, depth + 1);
        return o;
      }
    }
  }
  void put(std::string_view s) {
    const std::size_t n = b_.size();
    b_.resize(n + ctxlog::detail::encoded_size(s));
    ctxlog::detail::encode(b_.data() + n, s);
  }
  template <class T>
  void append_raw(const T* v) {
    const std::size_t n = b_.size();
    b_.resize(n + sizeof(T));
    std::memcpy(b_.data() + n, v, sizeof(T));
  }
  std::vector<std::byte> b_;
};

// Keys users actually collide with, besides fuzzed bytes.
std::string key(fuzz::reader& in) {
  static constexpr std::string_view usual[] = {"msg", "message", "level", "ts", "@timestamp", "requestId", "traceId",
                                               "labels", "attributes", "dd.trace_id", "severity", "log.level",
                                               "a.b", "", "_msg", "status", "service", "time", "body"};
  if (in.flag()) return std::string(usual[in.below(std::size(usual))]);
  return in.text(24);
}

std::string id_like(fuzz::reader& in, std::size_t hex_digits) {
  if (!in.flag()) return in.text(40);  // anything a user set by hand
  static constexpr char hex[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < hex_digits; ++i) s.push_back(hex[in.below(16)]);
  return s;
}

ctxlog::context make_context(fuzz::reader& in) {
  if (!in.flag()) return {};
  ctxlog::fields f;
  const std::string req = in.text(40), tenant = in.text(20), trace = id_like(in, 32), span = id_like(in, 16),
                    parent = id_like(in, 16), user = in.text(20);
  if (in.flag()) f.request_id(req);
  if (in.flag()) f.tenant_id(tenant);
  if (in.flag()) f.trace_id(trace);
  if (in.flag()) f.span_id(span);
  if (in.flag()) f.parent_span_id(parent);
  if (in.flag()) f.user_id(user);
  std::vector<std::pair<std::string, std::string>> custom;
  for (std::size_t i = 0, n = in.below(5); i < n; ++i) custom.emplace_back(key(in), in.text(40));
  for (const auto& [k, v] : custom) f.set(k, v);
  ctxlog::context c = ctxlog::context{}.with(f);
  if (in.flag())
    c = ctxlog::with_trace_state(c, ctxlog::trace_state{.flags = static_cast<std::uint8_t>(in.byte()), .state = {}, .baggage = {}});
  return c;
}

void check_text_line(std::string_view line, std::string_view layout) {
  fuzz::check(!line.empty() && line.back() == '\n', std::string(layout) + ": line does not end in '\\n'", line);
  const std::string_view body = line.substr(0, line.size() - 1);
  for (std::size_t i = 0; i < body.size(); ++i) {
    const auto c = static_cast<unsigned char>(body[i]);
    if (c == '\n') {
      // console: a multi-line value continues on indented lines, never at column 0
      fuzz::check(layout == "console" && i + 1 < body.size() && body[i + 1] == ' ',
                  std::string(layout) + ": a bare line break", line);
      continue;
    }
    if (c == 0x1b && layout == "console") continue;  // colour escapes (color::always)
    fuzz::check(c >= 0x20 && c != 0x7f, std::string(layout) + ": raw control character", line);
  }
  fuzz::check(fuzz::valid_utf8(body), std::string(layout) + ": invalid UTF-8", line);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::reader in(data, size);
  const ctxlog::context ctx = make_context(in);
  kv_bytes kv;
  for (std::size_t i = 0, n = in.below(7); i < n; ++i) {
    const std::string k = key(in);
    kv.add(k, static_cast<kv_tag>(in.below(6)), in);
  }
  ctxlog::process_info process;
  if (in.flag()) {
    process.service = in.text(16);
    process.version = in.text(8);
    process.environment = in.text(8);
    process.host = in.text(16);
    for (std::size_t i = 0, n = in.below(3); i < n; ++i) process.extra.emplace_back(key(in), in.text(16));
  }
  const std::string logger = in.flag() ? std::string("orders") : in.text(20);
  const std::string file = in.text(30), function = in.text(30);
  const auto lvl = static_cast<ctxlog::level>(in.below(6));
  const std::uint64_t time_ns = in.flag() ? 1764633600123456789ull : in.u64();
  const bool lost = in.flag();
  const std::string message = in.rest();

  const ctxlog::record_view r{.time_ns = time_ns,
                              .severity = lvl,
                              .logger = logger,
                              .message = message,
                              .ctx = ctx,
                              .context_lost = lost,
                              .fields = kv.fields(),
                              .thread = static_cast<std::uint32_t>(time_ns >> 7),
                              .pid = 4242,
                              .where = {.file = file, .line = static_cast<std::uint32_t>(time_ns), .function = function},
                              .process = process,
                              .site = nullptr};

  struct named {
    std::string_view name;
    ctxlog::layout_ptr layout;
    bool json;
  };
  static std::vector<named> layouts = [] {
    std::vector<named> v;
    v.push_back({"json", ctxlog::json_layout(), true});
    v.push_back({"json-epoch", ctxlog::json_layout({.precision = ctxlog::time_precision::ns,
                                                    .format = ctxlog::time_format::epoch}), true});
    v.push_back({"ecs", ctxlog::ecs_layout({.transaction = ctxlog::ecs_transaction::span_id}), true});
    v.push_back({"otel", ctxlog::otel_layout(), true});
    v.push_back({"gcp", ctxlog::gcp_layout({.project_id = "p-1"}), true});
    v.push_back({"datadog", ctxlog::datadog_layout(), true});
    v.push_back({"datadog-hex", ctxlog::datadog_layout({.trace_id = ctxlog::datadog_trace_id::hex128}), true});
    v.push_back({"logfmt", ctxlog::logfmt_layout({.function = true, .pid = true}), false});
    v.push_back({"console", ctxlog::console_layout({.color = ctxlog::console_color::always, .time = ctxlog::console_time::utc,
                                                    .source = true, .thread = true, .id_chars = 0}), false});
    return v;
  }();
  for (auto& l : layouts) {
    try {
      l.layout->configure(process);
    } catch (const std::invalid_argument&) {
      continue;  // a process field naming one of the layout's own: configure() refuses it, by design
    }
    ctxlog::buffer out;
    try {
      l.layout->render(r, out);
    } catch (const std::exception& e) {
      fuzz::fail(std::string(l.name) + ": render() threw: " + e.what());
    }
    const std::string_view line(out.data(), out.size());
    if (l.json) {
      std::string why;
      if (!fuzz::strict_line(line, why)) fuzz::fail(std::string(l.name) + ": " + why, line);
    } else {
      check_text_line(line, l.name == "console" ? "console" : "logfmt");
    }
  }
  return 0;
}
