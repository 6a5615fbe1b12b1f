// src/core.cpp — the logger registry and the dispatch of records to sinks.
//
// The front-end writes a record into a per-thread buffer (begin_record) and hands it over
// (commit_record). Here a record is formatted into one JSON line under the dispatch lock
// and given to the sinks of its logger. The dispatcher and the registry are created on
// first use and never destroyed, so logging from static destructors stays safe.
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ctxlog/config.hpp"
#include "ctxlog/context.hpp"
#include "ctxlog/log.hpp"
#include "ctxlog/sinks/stdio.hpp"
#include "line_format.hpp"

namespace ctxlog {
inline namespace v1 {

namespace detail {

constinit logger g_default_logger{"default", level::info};

namespace {

struct counters {
  std::atomic<std::uint64_t> issued{0}, written{0}, dropped{0}, sink_errors{0};
};
counters g_counters;

thread_local std::vector<std::byte> t_record;
thread_local bool t_in_dispatch = false;

std::uint32_t thread_id() noexcept {
  thread_local const auto id = static_cast<std::uint32_t>(::syscall(SYS_gettid));
  return id;
}

class registry {
 public:
  logger& get(std::string_view name) {
    if (name == g_default_logger.name()) return g_default_logger;
    std::lock_guard lk(mu_);
    if (auto it = loggers_.find(name); it != loggers_.end()) return *it->second;
    const std::string& stored = names_.emplace_back(name);
    auto lvl = levels_.find(stored);
    auto& slot = loggers_[stored];
    slot = std::make_unique<logger>(stored, lvl != levels_.end() ? lvl->second : default_level_);
    return *slot;
  }

  // Sets the level of every logger, existing and future, from c.
  void apply_levels(const config& c) {
    std::lock_guard lk(mu_);
    default_level_ = c.min_level;
    levels_.clear();
    for (const auto& l : c.loggers) levels_[l.name] = l.min_level;
    g_default_logger.set_level(c.min_level);
    if (auto it = levels_.find(std::string(g_default_logger.name())); it != levels_.end())
      g_default_logger.set_level(it->second);
    for (auto& [name, lg] : loggers_) {
      auto it = levels_.find(std::string(name));
      lg->set_level(it != levels_.end() ? it->second : default_level_);
    }
  }

 private:
  std::mutex mu_;
  std::deque<std::string> names_;  // stable storage for the names the loggers view
  std::map<std::string_view, std::unique_ptr<logger>, std::less<>> loggers_;
  std::map<std::string, level, std::less<>> levels_;
  level default_level_ = level::info;
};

registry& the_registry() {
  static auto* r = new registry();
  return *r;
}

class dispatcher {
 public:
  void configure(config c) {
    // Resolve logger names before taking the dispatch lock: get() takes the registry's.
    std::vector<std::pair<const logger*, std::vector<sink_ptr>>> routes;
    for (auto& l : c.loggers)
      if (!l.sinks.empty()) routes.emplace_back(&the_registry().get(l.name), std::move(l.sinks));
    the_registry().apply_levels(c);
    std::lock_guard lk(mu_);
    flush_locked();
    default_sinks_ = c.sinks.empty() ? std::vector<sink_ptr>{sinks::stdout_sink()} : std::move(c.sinks);
    routes_.clear();
    for (auto& [l, s] : routes) routes_[l] = std::move(s);
    configured_ = true;
    shut_down_ = false;
  }

  void process(const std::byte* rec, const frame* ctx, bool context_lost, std::uint32_t thread) {
    std::lock_guard lk(mu_);
    if (shut_down_) {
      g_counters.dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (!configured_) {
      default_sinks_ = {sinks::stdout_sink()};
      configured_ = true;
    }
    record_header h;
    std::memcpy(&h, rec, sizeof h);
    line_.clear();
    if (context_lost && reported_lost_.insert(h.where).second) {
      char msg[512];
      const int n = std::snprintf(msg, sizeof msg,
                                  "ctxlog: context lost: the log call at %.*s:%u ran with an empty context inside "
                                  "work that captured one\n",
                                  static_cast<int>(h.where->file.size()), h.where->file.data(), h.where->line);
      if (n > 0) [[maybe_unused]] auto r = ::write(2, msg, static_cast<std::size_t>(std::min(n, 511)));
    }
    formatter_.format(rec, ctx, context_lost, thread, line_);
    const log_line line{h.where->severity, h.source->name(), std::string_view(line_.data(), line_.size())};
    auto route = routes_.find(h.source);
    for (const auto& s : route != routes_.end() ? route->second : default_sinks_) {
      if (line.severity < s->min_level()) continue;
      try {
        s->write(line);
        s->flush();  // synchronous mode: the line is out when the call returns
      } catch (const std::exception& e) {
        sink_failed(e.what());
      } catch (...) {
        sink_failed("unknown exception");
      }
    }
    g_counters.written.fetch_add(1, std::memory_order_relaxed);
  }

  void flush() {
    std::lock_guard lk(mu_);
    flush_locked();
  }

  void shutdown() {
    std::lock_guard lk(mu_);
    flush_locked();
    default_sinks_.clear();
    routes_.clear();
    shut_down_ = true;
  }

 private:
  void flush_locked() {
    auto flush_one = [this](const sink_ptr& s) {
      try {
        s->flush();
      } catch (const std::exception& e) {
        sink_failed(e.what());
      }
    };
    for (const auto& s : default_sinks_) flush_one(s);
    for (const auto& [l, ss] : routes_)
      for (const auto& s : ss) flush_one(s);
  }

  // Counts the error; tells stderr at most once per interval, with the count since.
  void sink_failed(const char* what) noexcept {
    g_counters.sink_errors.fetch_add(1, std::memory_order_relaxed);
    ++unreported_;
    const auto now = std::chrono::steady_clock::now();
    if (last_report_.time_since_epoch().count() != 0 && now - last_report_ < std::chrono::seconds(10)) return;
    last_report_ = now;
    char msg[512];
    const int n = std::snprintf(msg, sizeof msg, "ctxlog: sink error: %s (%llu since the last report)\n", what,
                                static_cast<unsigned long long>(unreported_));
    unreported_ = 0;
    if (n > 0) [[maybe_unused]] auto r = ::write(2, msg, static_cast<std::size_t>(std::min(n, 511)));
  }

  std::mutex mu_;
  std::vector<sink_ptr> default_sinks_;
  std::unordered_map<const logger*, std::vector<sink_ptr>> routes_;
  std::unordered_set<const site*> reported_lost_;
  line_formatter formatter_;
  line_buffer line_;
  bool configured_ = false;
  bool shut_down_ = false;
  std::chrono::steady_clock::time_point last_report_{};
  std::uint64_t unreported_ = 0;
};

dispatcher& the_dispatcher() {
  static auto* d = new dispatcher();
  return *d;
}

}  // namespace

std::uint64_t now_ns() noexcept {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::byte* begin_record(std::size_t n) {
  t_record.resize(n);
  return t_record.data();
}

void commit_record() noexcept {
  g_counters.issued.fetch_add(1, std::memory_order_relaxed);
  if (t_in_dispatch) {  // logged from inside a sink: would deadlock on the dispatch lock
    g_counters.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  t_in_dispatch = true;
  try {
    the_dispatcher().process(t_record.data(), current_frame(), context_lost(), thread_id());
  } catch (...) {
    g_counters.dropped.fetch_add(1, std::memory_order_relaxed);
  }
  t_in_dispatch = false;
}

void emit_failed() noexcept {
  g_counters.issued.fetch_add(1, std::memory_order_relaxed);
  g_counters.dropped.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace detail

logger& get_logger(std::string_view name) { return detail::the_registry().get(name); }

void configure(config c) { detail::the_dispatcher().configure(std::move(c)); }
void flush() { detail::the_dispatcher().flush(); }
void shutdown() { detail::the_dispatcher().shutdown(); }

stats get_stats() noexcept {
  const auto& c = detail::g_counters;
  return {c.issued.load(std::memory_order_relaxed), c.written.load(std::memory_order_relaxed),
          c.dropped.load(std::memory_order_relaxed), c.sink_errors.load(std::memory_order_relaxed)};
}

}  // namespace v1
}  // namespace ctxlog
