// src/registry.cpp — named loggers and their levels.
//
// Loggers are created on first use and never destroyed, so a logger& never dangles. The
// registry itself is created on first use and leaked, so get_logger() works from any
// static initialiser or destructor. A logger's level comes from three layers: the
// configuration, the environment's level spec (CTXLOG_LEVEL) and set_level() at run
// time; level_for() says how they combine. The hot path never comes here: a log call
// reads its logger's atomic level, which this file stores whenever a layer changes.
#include "registry.hpp"

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "level_spec_env.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

constinit logger g_default_logger{"default", level::info};

namespace {

// One source of levels: an optional default and per-logger levels.
struct level_layer {
  std::optional<level> fallback;
  std::map<std::string, level, std::less<>> named;

  void clear() {
    fallback.reset();
    named.clear();
  }
  void assign(const level_spec& s) {
    clear();
    fallback = s.default_level;
    for (const auto& [name, l] : s.loggers) named[name] = l;
  }
};

class registry {
 public:
  registry() {
    // The default configuration (before any configure()) reads CTXLOG_LEVEL too.
    if (auto spec = read_level_env(config{}.level_env)) env_.assign(*spec);
    apply_all();
  }

  logger& get(std::string_view name) {
    if (name == g_default_logger.name()) return g_default_logger;
    std::lock_guard lk(mu_);
    if (auto it = loggers_.find(name); it != loggers_.end()) return *it->second;
    const std::string& stored = names_.emplace_back(name);
    auto& slot = loggers_[stored];
    slot = std::make_unique<logger>(stored, level_for(stored));
    return *slot;
  }

  std::mutex& mutex() noexcept { return mu_; }

  void apply_levels(const config& c) {
    std::lock_guard lk(mu_);
    config_.clear();
    config_.fallback = c.min_level;
    for (const auto& l : c.loggers) config_.named[l.name] = l.min_level;
    if (auto spec = read_level_env(c.level_env)) env_.assign(*spec);
    else env_.clear();
    run_time_.clear();  // configure() states every level anew
    apply_all();
  }

  void set_level(std::string_view name, level l) {
    std::lock_guard lk(mu_);
    run_time_.named.insert_or_assign(std::string(name), l);
    if (name == g_default_logger.name()) g_default_logger.set_level(l);
    else if (auto it = loggers_.find(name); it != loggers_.end()) it->second->set_level(l);
  }

  void set_default_level(level l) {
    std::lock_guard lk(mu_);
    run_time_.fallback = l;
    apply_all();
  }

 private:
  // The most specific setting wins: a level given for the logger's name beats a default;
  // between two of the same kind, set_level() at run time beats the environment, which
  // beats the configuration.
  level level_for(std::string_view name) const {
    for (const level_layer* layer : {&run_time_, &env_, &config_})
      if (auto it = layer->named.find(name); it != layer->named.end()) return it->second;
    for (const level_layer* layer : {&run_time_, &env_, &config_})
      if (layer->fallback) return *layer->fallback;
    return level::info;
  }

  void apply_all() {
    g_default_logger.set_level(level_for(g_default_logger.name()));
    for (auto& [name, lg] : loggers_) lg->set_level(level_for(name));
  }

  std::mutex mu_;
  std::deque<std::string> names_;  // stable storage for the names the loggers view
  std::map<std::string_view, std::unique_ptr<logger>, std::less<>> loggers_;
  level_layer config_{level::info, {}};
  level_layer env_;
  level_layer run_time_;
};

registry& the_registry() {
  static auto* r = new registry();
  return *r;
}

// Made at start-up, so that CTXLOG_LEVEL applies to the default logger from the first
// call on (its level is read without asking the registry).
[[maybe_unused]] const bool g_registry_made = (the_registry(), true);

}  // namespace

void apply_levels(const config& c) { the_registry().apply_levels(c); }
std::mutex& logger_registry_mutex() noexcept { return the_registry().mutex(); }

}  // namespace detail

logger& get_logger(std::string_view name) { return detail::the_registry().get(name); }
void set_level(std::string_view logger_name, level l) { detail::the_registry().set_level(logger_name, l); }
void set_level(level l) { detail::the_registry().set_default_level(l); }

}  // namespace v1
}  // namespace ctxlog
