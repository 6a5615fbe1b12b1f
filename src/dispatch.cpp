// src/dispatch.cpp — formatting records and delivering lines to sinks (see dispatch.hpp).
#include "dispatch.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "context_loss.hpp"
#include "ctxlog/sinks/stdio.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

constexpr auto k_report_interval = std::chrono::seconds(10);

void to_stderr(const char* msg, int n) noexcept {
  if (n > 0) [[maybe_unused]] auto r = ::write(2, msg, static_cast<std::size_t>(n));
}

}  // namespace

void dispatch::ensure_sinks() {
  if (!configured_) {  // logging before configure(): stdout, as documented
    defaults_ = {sinks::stdout_sink()};
    configured_ = true;
  }
}

void dispatch::install(std::vector<sink_ptr> defaults, std::unordered_map<const logger*, std::vector<sink_ptr>> routes) {
  flush_sinks(true);
  defaults_ = std::move(defaults);
  routes_ = std::move(routes);
  configured_ = true;
  closed_ = false;
}

void dispatch::close() {
  flush_sinks(true);
  defaults_.clear();
  routes_.clear();
  closed_ = true;
}

void dispatch::deliver(const std::vector<sink_ptr>& sinks, const log_line& line) {
  for (const auto& s : sinks) {
    if (line.severity < s->min_level()) continue;
    wrote_ = true;  // also when write() throws: it may have buffered the line first
    try {
      s->write(line);
    } catch (const std::exception& e) {
      sink_failed(e.what());
    } catch (...) {
      sink_failed("unknown exception");
    }
  }
}

void dispatch::write(const std::byte* rec, const frame* ctx, bool context_lost, std::uint32_t thread) {
  ensure_sinks();
  record_header h;
  std::memcpy(&h, rec, sizeof h);
  if (context_lost) report_context_loss(h.where->file, h.where->line);
  line_.clear();
  formatter_.format(rec, clock_.to_ns(h.timestamp), ctx, context_lost, thread, line_);
  auto route = routes_.empty() ? routes_.end() : routes_.find(h.source);
  deliver(route != routes_.end() ? route->second : defaults_,
          {h.where->severity, h.source->name(), std::string_view(line_.data(), line_.size())});
  written.fetch_add(1, std::memory_order_relaxed);
}

void dispatch::notice(level severity, std::string_view msg, std::string_view key, std::uint64_t value,
                      std::uint32_t thread) {
  ensure_sinks();
  line_.clear();
  formatter_.format_notice(clock_.to_ns(timestamp()), severity, msg, key, value, thread, line_);
  deliver(defaults_, {severity, "ctxlog", std::string_view(line_.data(), line_.size())});
}

void dispatch::flush_sinks(bool force) {
  auto flush_one = [this](sink* s) {
    try {
      s->flush();
    } catch (const std::exception& e) {
      sink_failed(e.what());
    } catch (...) {
      sink_failed("unknown exception");
    }
  };
  if (!force && !wrote_) return;
  wrote_ = false;
  for (const auto& s : defaults_) flush_one(s.get());
  for (const auto& [l, ss] : routes_)
    for (const auto& s : ss) flush_one(s.get());
}

void dispatch::sink_failed(const char* what) noexcept {
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

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
