// src/sink_router.cpp — decoding records into views, rendering, delivering (sink_router.hpp).
#include "sink_router.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "context_loss.hpp"
#include "ctxlog/detail/json.hpp"
#include "ctxlog/sinks/queued_sink.hpp"
#include "ctxlog/sinks/stdio.hpp"
#include "layouts/console.hpp"
#include "producers.hpp"
#include "sampling.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

constexpr auto k_report_interval = std::chrono::seconds(10);

void to_stderr(const char* msg, int n) noexcept {
  if (n > 0) [[maybe_unused]] auto r = ::write(2, msg, static_cast<std::size_t>(n));
}

route make_route(std::vector<sink_ptr>& sinks, const layout_ptr& fallback, std::vector<layout_ptr>& layouts) {
  route r;
  for (auto& s : sinks) {
    if (!s) continue;
    // A console layout's colour is decided here, per sink (layouts/console.hpp).
    const layout_ptr l = layout_for_sink(s->get_layout() ? s->get_layout() : fallback, *s);
    auto it = std::find(layouts.begin(), layouts.end(), l);
    if (it == layouts.end()) it = layouts.insert(layouts.end(), l);
    r.targets.push_back({std::move(s), static_cast<std::size_t>(it - layouts.begin())});
  }
  return r;
}

}  // namespace

sink_line_counts sink_line_totals;

void copy_preformatted(const std::byte*& p, std::string_view, fmt::memory_buffer& out) {
  append(out, decode<std::string_view>(p));
}

routing make_routing(config& c) {
  routing r;
  const layout_ptr fallback = c.layout ? c.layout : json_layout();
  if (c.sinks.empty()) c.sinks.push_back(sinks::stdout_sink());
  r.defaults = make_route(c.sinks, fallback, r.layouts);
  for (auto& l : c.loggers)
    if (!l.sinks.empty()) r.by_logger[&get_logger(l.name)] = make_route(l.sinks, fallback, r.layouts);
  r.process = std::make_unique<process_info>(std::move(c.process));
  r.recorder_bytes = c.flight_recorder_bytes;
  r.redact = make_redactor(c.redact);  // throws for a rule that cannot match: nothing installed yet
  return r;
}

void sink_router::ensure_configured() {
  if (configured_) return;  // logging before configure(): stdout, as documented
  config c;
  install(make_routing(c));
}

void sink_router::install(routing r) {
  for (std::size_t i = 0; i < r.layouts.size(); ++i) {
    try {
      r.layouts[i]->configure(*r.process);
    } catch (...) {
      // Layouts shared with the configuration in force go back to its process facts.
      for (std::size_t j = 0; j < i && routing_.process; ++j)
        if (std::find(routing_.layouts.begin(), routing_.layouts.end(), r.layouts[j]) != routing_.layouts.end())
          r.layouts[j]->configure(*routing_.process);
      throw;
    }
  }
  flush_sinks(true);
  recorders_.set_limit(r.recorder_bytes);
  routing_ = std::move(r);
  lines_.resize(routing_.layouts.size());
  state_.assign(routing_.layouts.size(), 0);
  configured_ = true;
  closed_ = false;
}

void sink_router::close() {
  report_suppressed(true);  // windows still open: their counts would be lost otherwise
  recorders_.clear();  // no request can fail any more: what the recorders kept is discarded
  flush_sinks(true);
  // A queued sink may hold lines for its server: give it its linger to deliver them.
  auto drain_route = [](const route& r) {
    for (const auto& t : r.targets)
      if (auto* q = dynamic_cast<sinks::queued_sink*>(t.sink.get())) q->drain(q->options().linger);
  };
  drain_route(routing_.defaults);
  for (const auto& [l, r] : routing_.by_logger) drain_route(r);
  routing_.defaults = {};
  routing_.by_logger.clear();
  closed_ = true;
}

void sink_router::deliver(const route& r, const record_view& view) {
  for (const auto& t : r.targets) state_[t.layout] = 0;
  for (const auto& t : r.targets) {
    if (view.severity < t.sink->min_level()) continue;
    buffer& line = lines_[t.layout];
    unsigned char& state = state_[t.layout];
    if (state == 0) {
      line.clear();
      try {
        routing_.layouts[t.layout]->render(view, line);
        state = 1;
      } catch (const std::exception& e) {
        state = 2;
        line.clear();
        fmt::format_to(fmt::appender(line), "layout failed: {}", e.what());
      } catch (...) {
        state = 2;
        line.clear();
        fmt::format_to(fmt::appender(line), "layout failed: unknown exception");
      }
    }
    if (state == 2) {  // counted for each sink that went without its line
      line.push_back('\0');
      sink_failed(line.data());
      line.resize(line.size() - 1);
      continue;
    }
    wrote_ = true;  // also when write() throws: it may have buffered the line first
    try {
      t.sink->write({view.severity, view.logger, std::string_view(line.data(), line.size())});
    } catch (const std::exception& e) {
      sink_failed(e.what());
    } catch (...) {
      sink_failed("unknown exception");
    }
  }
}

void sink_router::write(const std::byte* rec, const context& ctx, bool context_lost, std::uint32_t thread) {
  ensure_configured();
  record_header h;
  std::memcpy(&h, rec, sizeof h);
  const auto kind = static_cast<record_kind>(h.kind);
  if (kind == record_kind::line) {
    if (!recorders_.empty() && h.where->severity != level::off) {  // no recorder: no cost
      const recorder_info* r = recorder_of(ctx);
      if (r && h.where->severity >= r->trigger)
        recorders_.trigger(r->id, [this](const flight_store::kept& k) {
          write_line(k.record.get(), k.ctx, k.context_lost, k.thread);
        });
    }
    write_line(rec, ctx, context_lost, thread);
    return;
  }
  if (kind == record_kind::held) {
    const recorder_info* r = recorder_of(ctx);
    if (r && recorders_.triggered(r->id)) {
      write_line(rec, ctx, context_lost, thread);
    } else {
      recorders_.keep(r ? r->id : 0, rec, sizeof h + h.args_size, ctx, context_lost, thread);
    }
    return;
  }
  std::uint64_t id = 0;
  std::memcpy(&id, rec + sizeof h, sizeof id);
  signal(kind, id, ctx);
}

void sink_router::signal(record_kind kind, std::uint64_t id, const context& ctx) {
  switch (kind) {
    case record_kind::recorder_start: {
      const recorder_info* r = recorder_of(ctx);
      recorders_.start(id, r && r->id == id ? r : nullptr);
      break;
    }
    case record_kind::recorder_end: recorders_.end(id); break;
    case record_kind::recorder_dump:
      recorders_.trigger(id, [this](const flight_store::kept& k) {
        write_line(k.record.get(), k.ctx, k.context_lost, k.thread);
      });
      break;
    default: break;
  }
}

void sink_router::write_line(const std::byte* rec, const context& ctx, bool context_lost, std::uint32_t thread) {
  record_header h;
  std::memcpy(&h, rec, sizeof h);
  const site& where = *h.where;
  if (context_lost) report_context_loss(where.file, where.line);
  const std::byte* args = rec + sizeof h;
  message_.clear();
  try {
    const std::byte* p = args;
    h.message(p, where.format, message_);
  } catch (const std::exception& e) {
    message_.clear();
    fmt::format_to(fmt::appender(message_), "[ctxlog: formatting failed: {}] {}", e.what(), where.format);
  }
  call_fields fields(args + h.message_args, args + h.args_size);
  const context* shown = &ctx;
  if (routing_.redact) {  // before any layout: none of them needs to know
    try {
      fields = routing_.redact->fields(args + h.message_args, args + h.args_size);
      shown = &routing_.redact->context_of(ctx);
    } catch (...) {  // out of memory: the line goes without its fields, never with them raw
      static const context none;
      fields = call_fields();
      shown = &none;
    }
  }
  const record_view view{clock_.to_ns(h.timestamp),
                         where.severity,
                         h.source->name(),
                         std::string_view(message_.data(), message_.size()),
                         *shown,
                         context_lost,
                         fields,
                         thread,
                         process_id(),
                         {where.file, where.line, where.function},
                         *routing_.process,
                         &where};
  const auto it = routing_.by_logger.empty() ? routing_.by_logger.end() : routing_.by_logger.find(h.source);
  deliver(it != routing_.by_logger.end() ? it->second : routing_.defaults, view);
  written.fetch_add(1, std::memory_order_relaxed);
}

void sink_router::notice(level severity, std::string_view msg, std::string_view key, std::uint64_t value,
                         std::uint32_t thread) {
  ensure_configured();
  std::byte field[64];  // [key][tag][value], as a kv() is encoded
  key = key.substr(0, sizeof field - 16);
  std::byte* p = encode(field, key);
  *p++ = static_cast<std::byte>(kv_tag::u64);
  p = encode(p, value);
  static const context none;
  const record_view view{clock_.to_ns(timestamp()), severity, "ctxlog", msg, none, false, call_fields(field, p),
                         thread, process_id(), {}, *routing_.process, nullptr};
  deliver(routing_.defaults, view);
}

void sink_router::report_suppressed(bool all) {
  if (closed_) return;
  detail::report_suppressed(all, [this](const limiter& l, const logger& source, std::uint64_t count, std::string_view key) {
    ensure_configured();
    std::byte fields[256];  // [key][tag][value] each, as kv() encodes them
    std::byte* p = fields;
    auto number = [&p](std::string_view k, std::uint64_t v) {
      p = encode(p, k);
      *p++ = static_cast<std::byte>(kv_tag::u64);
      p = encode(p, v);
    };
    const std::uint64_t interval_ms = l.interval_ns() / 1000000;
    number("suppressed", count);
    number("limit", l.limit());
    number("intervalMs", interval_ms);
    if (l.keyed()) {
      p = encode(p, std::string_view("key"));
      *p++ = static_cast<std::byte>(kv_tag::string);
      p = encode(p, key.substr(0, 64));
    }
    message_.clear();
    fmt::format_to(fmt::appender(message_), "{} lines suppressed (limit {} per {} ms)", count, l.limit(), interval_ms);
    const site& where = l.summary();
    static const context none;
    const record_view view{clock_.to_ns(timestamp()),
                           where.severity,
                           source.name(),
                           std::string_view(message_.data(), message_.size()),
                           none,
                           false,
                           call_fields(fields, p),
                           thread_id(),
                           process_id(),
                           {where.file, where.line, where.function},
                           *routing_.process,
                           &where};
    const auto it = routing_.by_logger.find(&source);
    deliver(it != routing_.by_logger.end() ? it->second : routing_.defaults, view);
  });
}

void sink_router::flush_sinks(bool force) {
  if (!force && !wrote_) return;
  wrote_ = false;
  auto flush_route = [this](const route& r) {
    for (const auto& t : r.targets) {
      try {
        t.sink->flush();
      } catch (const std::exception& e) {
        sink_failed(e.what());
      } catch (...) {
        sink_failed("unknown exception");
      }
    }
  };
  flush_route(routing_.defaults);
  for (const auto& [l, r] : routing_.by_logger) flush_route(r);
}

void sink_router::sink_failed(const char* what) noexcept {
  sink_errors.fetch_add(1, std::memory_order_relaxed);
  ++unreported_;
  const auto now = std::chrono::steady_clock::now();
  if (last_report_.time_since_epoch().count() != 0 && now - last_report_ < k_report_interval) return;
  last_report_ = now;
  char msg[512];
  const int n = std::snprintf(msg, sizeof msg, "ctxlog: sink error: %s (%llu since the last report)\n", what,
                              static_cast<unsigned long long>(unreported_));
  unreported_ = 0;
  to_stderr(msg, std::min(n, static_cast<int>(sizeof msg) - 1));
}

void sink_router::reset_counts_in_child() noexcept {
  recorders_.clear();  // the parent's requests: not the child's to write
  recorders_.discarded.store(0, std::memory_order_relaxed);
  written.store(0, std::memory_order_relaxed);
  sink_errors.store(0, std::memory_order_relaxed);
}

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
