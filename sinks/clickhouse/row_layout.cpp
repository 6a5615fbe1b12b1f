// sinks/clickhouse/row_layout.cpp — clickhouse_layout(): one JSONEachRow row per record,
// its keys the columns of clickhouse_table_ddl() (table_ddl.cpp), each present in every
// row so that no column depends on the server's defaults for omitted fields (which
// ClickHouse 18.16 does not evaluate).
//
// The time is two integers: ts (DateTime: unix seconds, no time zone to parse) for
// partitions and humans, ts_ns (UInt64) for the order of lines within a second. The
// process extras, custom context fields and kv() fields go as one JSON object into the
// String column `fields`; in it, of two fields with one key the innermost wins (a kv()
// over a custom field over a process extra, a later kv() over an earlier one).
#include <atomic>
#include <forward_list>
#include <string>
#include <vector>

#include "ctxlog/sinks/clickhouse.hpp"
#include "schema_common.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

using namespace schema;

// Unique per process: with host and pid, seq identifies a row (an insert retried after
// an answer that got lost shows up as two rows with one seq).
std::atomic<std::uint64_t> row_seq{0};

class clickhouse_row final : public layout {
 public:
  void configure(const process_info& p) override {
    buffer b;
    const std::pair<const char*, const std::string*> named[] = {
        {",\"service\":", &p.service}, {",\"version\":", &p.version}, {",\"env\":", &p.environment}, {",\"host\":", &p.host}};
    for (const auto& [key, value] : named) {
      append(b, key);
      append_json_string(b, *value);
    }
    process_.assign(b.data(), b.size());
    extras_.clear();
    extra_store_.clear();
    for (const auto& [name, value] : p.extra) {
      const out_key k = rule_.written(name, extra_store_);
      b.clear();
      append_member_key(b, k);
      append_json_string(b, value);
      extras_.push_back({k, std::string(b.data(), b.size())});
    }
  }

  void render(const record_view& r, buffer& out) override {
    append(out, "{\"ts\":");
    append_int(out, r.time_ns / 1000000000u);
    append(out, ",\"ts_ns\":");
    append_int(out, r.time_ns);
    append(out, ",\"seq\":");
    append_int(out, row_seq.fetch_add(1, std::memory_order_relaxed) + 1);
    append(out, ",\"level\":\"");
    append(out, to_string(r.severity));
    append(out, "\",\"logger\":");
    append_json_string(out, r.logger);
    append(out, ",\"message\":");
    append_json_string(out, r.message);
    append(out, process_);
    append(out, ",\"pid\":");
    append_int(out, r.pid);
    append(out, ",\"thread\":");
    append_int(out, r.thread);
    append(out, ",\"file\":");
    append_json_string(out, r.where.file);
    append(out, ",\"line\":");
    append_int(out, r.where.line);
    append(out, ",\"function\":");
    append_json_string(out, r.where.function);
    const context_entry* c = r.ctx.empty() ? nullptr : &context_parts(r.ctx);
    append(out, c ? std::string_view(c->text) : no_ids());
    append(out, r.context_lost ? ",\"contextLost\":1" : ",\"contextLost\":0");

    // fields: the object, then written into the row as one JSON string.
    calls_.load(r.fields, rule_);
    obj_.clear();
    const std::size_t mark = open_list(obj_, "{");
    for (const auto& [key, member] : extras_) {
      bool shadowed = calls_.has(key);
      for (std::size_t i = 0; c && i < c->keys.size() && !shadowed; ++i) shadowed = same_key(c->keys[i], key);
      if (!shadowed) append(obj_, member);
    }
    if (c) {
      bool shadowed = false;
      for (std::size_t i = 0; i < c->keys.size() && !shadowed; ++i) shadowed = calls_.has(c->keys[i]);
      if (!shadowed) {
        append(obj_, c->more);
      } else {  // rare: a kv() named like a custom field of the context
        store_.clear();
        for_each_custom(r.ctx, rule_, store_, &calls_, [this](out_key k, std::string_view v) {
          append_member_key(obj_, k);
          append_json_string(obj_, v);
        });
      }
    }
    for (std::size_t i = 0; i < calls_.size(); ++i) {
      if (!calls_.kept(i)) continue;
      append_member_key(obj_, calls_.key(i));
      append_json_value(obj_, calls_.value(i));
    }
    close_list(obj_, mark, "{", '}');
    if (obj_.size() == 0) append(obj_, "{}");
    append(out, ",\"fields\":");
    append_json_string(out, std::string_view(obj_.data(), obj_.size()));
    append(out, "}\n");
  }

 private:
  static std::string_view no_ids() {
    return ",\"requestId\":\"\",\"tenantId\":\"\",\"traceId\":\"\",\"spanId\":\"\",\"parentSpanId\":\"\",\"userId\":\"\"";
  }

  const context_entry& context_parts(const context& ctx) {
    bool stale = false;
    context_entry& e = contexts_.slot(ctx, stale);
    if (!stale) return e;
    buffer ids, custom;
    const std::pair<const char*, std::string_view> known[] = {
        {",\"requestId\":", ctx.request_id()}, {",\"tenantId\":", ctx.tenant_id()},
        {",\"traceId\":", ctx.trace_id()},     {",\"spanId\":", ctx.span_id()},
        {",\"parentSpanId\":", ctx.parent_span_id()}, {",\"userId\":", ctx.user_id()}};
    for (const auto& [key, value] : known) {
      append(ids, key);
      append_json_string(ids, value);
    }
    for_each_custom(ctx, rule_, e.store, nullptr, [&custom, &e](out_key k, std::string_view v) {
      e.keys.push_back(k);
      append_member_key(custom, k);
      append_json_string(custom, v);
    });
    e.text.assign(ids.data(), ids.size());
    e.more.assign(custom.data(), custom.size());
    e.id = ctx.id();
    return e;
  }

  key_rule rule_{};  // within `fields` no name is reserved: only UTF-8 repair
  std::string process_ = ",\"service\":\"\",\"version\":\"\",\"env\":\"\",\"host\":\"\"";
  std::vector<std::pair<out_key, std::string>> extras_;
  std::forward_list<std::string> extra_store_, store_;
  frame_cache contexts_;
  call_set calls_;
  buffer obj_;
};

}  // namespace
}  // namespace detail

namespace sinks {
layout_ptr clickhouse_layout() { return std::make_shared<detail::clickhouse_row>(); }
}  // namespace sinks

}  // namespace v1
}  // namespace ctxlog
