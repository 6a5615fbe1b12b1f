// src/layouts/gcp.cpp — the Google Cloud Logging layout (gcp_layout()): a structured
// line that Cloud Run, GKE and the Ops Agent turn into a LogEntry.
//
// The agents lift the special fields out of the line (severity, message, time,
// logging.googleapis.com/trace, spanId, trace_sampled, sourceLocation, labels) and keep
// the rest as jsonPayload. kv() fields are jsonPayload fields; the context ids other than
// the trace, its custom fields and the process's environment, host and extras are labels
// (string to string, as the LogEntry wants). Unique keys: a kv() key naming a field this
// layout writes, or starting with "logging.googleapis.com/" (so no call can forge a trace
// or a label), gets '_' prefixed; a custom field named like one of the layout's labels
// likewise; of two user fields with one written key the later wins.
#include <stdexcept>
#include <string>
#include <vector>

#include "ctxlog/schemas.hpp"
#include "ctxlog/trace.hpp"
#include "schema_common.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

using namespace schema;

// LogSeverity names: trace has no level of its own below DEBUG.
constexpr const char* severities[] = {"DEBUG", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};

constexpr std::string_view k_labels = ",\"logging.googleapis.com/labels\":{";

std::vector<std::string> own_labels() { return {"requestId", "tenantId", "userId", "parentSpanId", "contextLost"}; }

class gcp_line final : public layout {
 public:
  explicit gcp_line(gcp_options o)
      : o_(std::move(o)),
        payload_rule_({"severity", "message", "time", "timestamp", "timestampSeconds", "timestampNanos", "httpRequest",
                       "serviceContext", "logger", "thread"},
                      clash::exact, {"logging.googleapis.com/"}),
        labels_rule_(own_labels(), clash::exact) {
    if (!o_.project_id.empty()) trace_prefix_ = "projects/" + o_.project_id + "/traces/";
  }

  void configure(const process_info& p) override {
    std::vector<std::string> labels = own_labels();
    buffer lab, svc;
    std::vector<std::pair<std::string_view, std::string_view>> named;
    if (!p.environment.empty()) named.emplace_back("env", p.environment);
    if (!p.host.empty()) named.emplace_back("host", p.host);
    std::forward_list<std::string> store;  // the extras' names as written: compared so
    for (const auto& [key, value] : p.extra) named.emplace_back(store.emplace_front(as_written(key)), value);
    for (const auto& [key, value] : named) {
      for (const std::string& l : labels)
        if (l == key) throw std::invalid_argument("gcp_layout: two labels are named \"" + std::string(key) + "\"");
      labels.emplace_back(key);
      append_member_key(lab, out_key{key, 0});
      append_json_string(lab, value);
    }
    if (!p.service.empty()) {
      append(svc, ",\"serviceContext\":{\"service\":");
      append_json_string(svc, p.service);
      if (!p.version.empty()) {
        append(svc, ",\"version\":");
        append_json_string(svc, p.version);
      }
      svc.push_back('}');
    }
    labels_rule_ = key_rule(std::move(labels), clash::exact);
    process_labels_.assign(lab.data(), lab.size());
    service_.assign(svc.data(), svc.size());
    contexts_.clear();  // their label keys were renamed against the old labels
  }

  void render(const record_view& r, buffer& out) override {
    append(out, "{\"severity\":\"");
    append(out, severities[std::min<unsigned>(static_cast<unsigned>(r.severity), 5)]);
    append(out, "\",\"message\":");
    append_json_string(out, r.message);
    append(out, ",\"time\":\"");
    append_time(out, r.time_ns, o_.precision, seconds_);
    out.push_back('"');
    const context_entry* c = r.ctx.empty() ? nullptr : &context_parts(r.ctx);
    if (c) append(out, c->text);
    calls_.load(r.fields, payload_rule_);
    for (std::size_t i = 0; i < calls_.size(); ++i) {
      if (!calls_.kept(i)) continue;
      append_member_key(out, calls_.key(i));
      append_json_value(out, calls_.value(i));
    }
    append(out, ",\"logger\":");
    append_json_string(out, r.logger);
    const std::size_t mark = open_list(out, k_labels);
    append(out, process_labels_);
    if (c) append(out, c->more);
    if (r.context_lost) append(out, ",\"contextLost\":\"true\"");
    close_list(out, mark, k_labels, '}');
    append(out, service_);
    if (o_.thread) {
      append(out, ",\"thread\":");
      append_int(out, r.thread);
    }
    if (o_.source_location && !r.where.file.empty()) {
      append(out, ",\"logging.googleapis.com/sourceLocation\":{\"file\":");
      append_json_string(out, r.where.file);
      append(out, ",\"line\":\"");  // a string: LogEntrySourceLocation.line is an int64
      append_int(out, r.where.line);
      out.push_back('"');
      if (!r.where.function.empty()) {
        append(out, ",\"function\":");
        append_json_string(out, r.where.function);
      }
      out.push_back('}');
    }
    append(out, "}\n");
  }

 private:
  const context_entry& context_parts(const context& ctx) {
    bool stale = false;
    context_entry& e = contexts_.slot(ctx, stale);
    if (!stale) return e;
    buffer top, lab;
    if (!ctx.trace_id().empty()) {
      append(top, ",\"logging.googleapis.com/trace\":");
      append_json_string(top, trace_prefix_ + std::string(ctx.trace_id()));
    }
    if (!ctx.span_id().empty()) {
      append(top, ",\"logging.googleapis.com/spanId\":");
      append_json_string(top, ctx.span_id());
    }
    if (const trace_state* t = trace_state_of(ctx); t && !ctx.trace_id().empty())
      append(top, t->sampled() ? ",\"logging.googleapis.com/trace_sampled\":true"
                               : ",\"logging.googleapis.com/trace_sampled\":false");
    const std::pair<const char*, std::string_view> ids[] = {{",\"requestId\":", ctx.request_id()},
                                                            {",\"tenantId\":", ctx.tenant_id()},
                                                            {",\"userId\":", ctx.user_id()},
                                                            {",\"parentSpanId\":", ctx.parent_span_id()}};
    for (const auto& [key, value] : ids) {
      if (value.empty()) continue;
      append(lab, key);
      append_json_string(lab, value);
    }
    for_each_custom(ctx, labels_rule_, e.store, nullptr, [&lab](out_key k, std::string_view v) {
      append_member_key(lab, k);
      append_json_string(lab, v);
    });
    e.text.assign(top.data(), top.size());
    e.more.assign(lab.data(), lab.size());
    e.id = ctx.id();
    return e;
  }

  gcp_options o_;
  key_rule payload_rule_;  // kv() keys against the line's own fields
  key_rule labels_rule_;   // custom context keys against the layout's and the process's labels
  std::string trace_prefix_;
  std::string process_labels_, service_;
  second_cache seconds_;
  frame_cache contexts_;
  call_set calls_;
};

}  // namespace
}  // namespace detail

layout_ptr gcp_layout(gcp_options options) { return std::make_shared<detail::gcp_line>(std::move(options)); }

}  // namespace v1
}  // namespace ctxlog
