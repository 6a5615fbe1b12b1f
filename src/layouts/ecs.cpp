// src/layouts/ecs.cpp — the Elastic Common Schema layout (ecs_layout()): one ECS document
// per line, with the dotted top-level names ecs-logging uses ("log.level", "trace.id").
//
// Context ids go to their ECS fields, custom context fields and process extras to labels
// (ECS: string values, no nested objects; '.' in a label name becomes '_'), kv() fields
// stay top-level with their types. Unique keys: a kv() key that is, or is a dotted path
// above or below, a field this layout writes ("log", "service.name", "labels.x") gets '_'
// prefixed; a custom field named like a label of the layout's own likewise; of two user
// fields with one written key the later wins. The context's part is rendered once per frame.
#include <stdexcept>
#include <string>
#include <vector>

#include "ctxlog/schemas.hpp"
#include "schema_common.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

using namespace schema;

// Every top-level field the layout may write (the kv() rule reserves them all, present or not).
const std::vector<std::string>& ecs_fields() {
  static const std::vector<std::string> names = {
      "@timestamp", "log.level", "message", "ecs.version", "log.logger", "trace.id", "span.id", "transaction.id",
      "http.request.id", "organization.id", "user.id", "labels", "service.name", "service.version",
      "service.environment", "host.name", "process.pid", "process.thread.id", "log.origin.file.name",
      "log.origin.file.line", "log.origin.function"};
  return names;
}

class ecs_line final : public layout {
 public:
  explicit ecs_line(ecs_options o) : o_(std::move(o)), fields_rule_(ecs_fields(), clash::path) {
    if (o_.ecs_version.empty()) throw std::invalid_argument("ecs_layout: ecs_version is empty");
    buffer b;
    append(b, ",\"ecs.version\":");
    append_json_string(b, o_.ecs_version);
    version_member_.assign(b.data(), b.size());
    labels_rule_ = key_rule(own_labels(), clash::exact, {}, key_form::dedot);
  }

  void configure(const process_info& p) override {
    std::vector<std::string> labels = own_labels();
    buffer top, lab;
    const std::pair<const char*, const std::string*> named[] = {{",\"service.name\":", &p.service},
                                                                {",\"service.version\":", &p.version},
                                                                {",\"service.environment\":", &p.environment},
                                                                {",\"host.name\":", &p.host}};
    for (const auto& [key, value] : named) {
      if (value->empty()) continue;
      append(top, key);
      append_json_string(top, *value);
    }
    std::forward_list<std::string> store;
    for (const auto& [name, value] : p.extra) {
      const out_key k = key_rule({}, clash::exact, {}, key_form::dedot).written(name, store);
      std::string text;
      with_text(k, [&text](std::string_view s) { text = s; });
      for (const std::string& l : labels)
        if (l == text) throw std::invalid_argument("ecs_layout: two labels are named \"" + text + "\"");
      labels.push_back(text);
      append_member_key(lab, k);
      append_json_string(lab, value);
    }
    labels_rule_ = key_rule(std::move(labels), clash::exact, {}, key_form::dedot);
    process_top_.assign(top.data(), top.size());
    process_labels_.assign(lab.data(), lab.size());
    contexts_.clear();  // their label keys were renamed against the old labels
  }

  void render(const record_view& r, buffer& out) override {
    append(out, "{\"@timestamp\":\"");
    append_time(out, r.time_ns, o_.precision, seconds_);
    append(out, "\",\"log.level\":\"");
    append(out, to_string(r.severity));
    append(out, "\",\"message\":");
    append_json_string(out, r.message);
    append(out, version_member_);
    append(out, ",\"log.logger\":");
    append_json_string(out, r.logger);
    const context_entry* c = r.ctx.empty() ? nullptr : &context_parts(r.ctx);
    if (c) append(out, c->text);
    calls_.load(r.fields, fields_rule_);
    for (std::size_t i = 0; i < calls_.size(); ++i) {
      if (!calls_.kept(i)) continue;
      append_member_key(out, calls_.key(i));
      append_json_value(out, calls_.value(i));
    }
    const std::size_t mark = open_list(out, ",\"labels\":{");
    append(out, process_labels_);
    if (c) append(out, c->more);
    if (r.context_lost) append(out, ",\"contextLost\":\"true\"");
    close_list(out, mark, ",\"labels\":{", '}');
    append(out, process_top_);
    if (o_.pid) {
      append(out, ",\"process.pid\":");
      append_int(out, r.pid);
    }
    if (o_.thread) {
      append(out, ",\"process.thread.id\":");
      append_int(out, r.thread);
    }
    if (o_.origin && !r.where.file.empty()) {
      append(out, ",\"log.origin.file.name\":");
      append_json_string(out, r.where.file);
      append(out, ",\"log.origin.file.line\":");
      append_int(out, r.where.line);
      if (!r.where.function.empty()) {
        append(out, ",\"log.origin.function\":");
        append_json_string(out, r.where.function);
      }
    }
    append(out, "}\n");
  }

 private:
  static std::vector<std::string> own_labels() { return {"parentSpanId", "contextLost"}; }

  const context_entry& context_parts(const context& ctx) {
    bool stale = false;
    context_entry& e = contexts_.slot(ctx, stale);
    if (!stale) return e;
    buffer top, lab;
    const std::pair<const char*, std::string_view> ids[] = {
        {",\"trace.id\":", ctx.trace_id()},
        {",\"span.id\":", ctx.span_id()},
        {",\"transaction.id\":", o_.transaction == ecs_transaction::span_id ? ctx.span_id() : std::string_view()},
        {",\"http.request.id\":", ctx.request_id()},
        {",\"organization.id\":", ctx.tenant_id()},
        {",\"user.id\":", ctx.user_id()}};
    for (const auto& [key, value] : ids) {
      if (value.empty()) continue;
      append(top, key);
      append_json_string(top, value);
    }
    if (!ctx.parent_span_id().empty()) {
      append(lab, ",\"parentSpanId\":");
      append_json_string(lab, ctx.parent_span_id());
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

  ecs_options o_;
  key_rule fields_rule_;  // kv() keys against the top-level fields
  key_rule labels_rule_;  // custom context keys against the layout's and the process's labels
  std::string version_member_, process_top_, process_labels_;
  second_cache seconds_;
  frame_cache contexts_;
  call_set calls_;
};

}  // namespace
}  // namespace detail

layout_ptr ecs_layout(ecs_options options) { return std::make_shared<detail::ecs_line>(std::move(options)); }

}  // namespace v1
}  // namespace ctxlog
