// layouts — one record, three renderings: the default JSON line with process fields, a
// compact JSON layout (fields left out, renamed, epoch milliseconds), and a user layout
// (a one-line text format written against ctxlog::layout).
//
// Expected stdout (three lines per call, in sink order; ids and times vary):
//   {"ts":"2026-12-01T21:28:43.994392Z","level":"info","logger":"default","msg":"order 42 created","requestId":"r-1","amount":12.5,"thread":4711,"service":"orders","version":"1.4.2","file":"layouts.cpp","line":51}
//   {"time":1796160523994,"severity":"info","message":"order 42 created","request.id":"r-1","amount":12.5}
//   INFO  [r-1] order 42 created amount=12.5 (operator()@layouts.cpp:51)
#include <ctxlog/ctxlog.hpp>

namespace {

// A user layout: level, request id, message, per-call fields, call site.
class text_layout final : public ctxlog::layout {
 public:
  void render(const ctxlog::record_view& r, ctxlog::buffer& out) override {
    auto to = fmt::appender(out);
    std::string level(ctxlog::to_string(r.severity));
    for (auto& c : level) c = static_cast<char>(c - 'a' + 'A');
    fmt::format_to(to, "{:<5} [{}] {}", level, r.ctx.request_id(), r.message);
    for (const ctxlog::call_field& f : r.fields) {
      fmt::format_to(to, " {}=", f.key);
      switch (f.value.type) {
        case ctxlog::field_value::kind::i64: fmt::format_to(to, "{}", f.value.i); break;
        case ctxlog::field_value::kind::u64: fmt::format_to(to, "{}", f.value.u); break;
        case ctxlog::field_value::kind::f64: fmt::format_to(to, "{}", f.value.f); break;
        case ctxlog::field_value::kind::boolean: fmt::format_to(to, "{}", f.value.b); break;
        case ctxlog::field_value::kind::string: fmt::format_to(to, "{:?}", f.value.str); break;
        case ctxlog::field_value::kind::json: fmt::format_to(to, "{}", f.value.str); break;  // already JSON
      }
    }
    fmt::format_to(to, " ({}@{}:{})\n", r.where.function, r.where.file, r.where.line);
  }
};

}  // namespace

int main() {
  auto json = ctxlog::sinks::stdout_sink();  // no layout of its own: the configuration's
  auto compact = ctxlog::sinks::stdout_sink();
  compact->set_layout(ctxlog::json_layout({.logger = false, .thread = false, .file = false, .line = false,
                                           .process = false,
                                           .precision = ctxlog::time_precision::ms,
                                           .format = ctxlog::time_format::epoch,
                                           .names = {.ts = "time", .level = "severity", .msg = "message",
                                                     .request_id = "request.id"}}));
  auto text = ctxlog::sinks::stdout_sink();
  text->set_layout(std::make_shared<text_layout>());
  ctxlog::configure({.sinks = {json, compact, text}, .process = {.service = "orders", .version = "1.4.2"}});

  ctxlog::run(ctxlog::fields{}.request_id("r-1"), [] {
    LOG_INFO("order {} created", 42, ctxlog::kv("amount", 12.5));
  });
}
