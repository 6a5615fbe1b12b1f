// src/registry.cpp — named loggers and their levels.
//
// Loggers are created on first use and never destroyed, so a logger& never dangles. The
// registry itself is created on first use and leaked, so get_logger() works from any
// static initialiser or destructor.
#include "registry.hpp"

#include <deque>
#include <map>
#include <memory>
#include <mutex>

namespace ctxlog {
inline namespace v1 {
namespace detail {

constinit logger g_default_logger{"default", level::info};

namespace {

class registry {
 public:
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
    default_level_ = c.min_level;
    levels_.clear();
    for (const auto& l : c.loggers) levels_[l.name] = l.min_level;
    g_default_logger.set_level(level_for(g_default_logger.name()));
    for (auto& [name, lg] : loggers_) lg->set_level(level_for(name));
  }

 private:
  level level_for(std::string_view name) const {
    auto it = levels_.find(name);
    return it != levels_.end() ? it->second : default_level_;
  }

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

}  // namespace

void apply_levels(const config& c) { the_registry().apply_levels(c); }
std::mutex& logger_registry_mutex() noexcept { return the_registry().mutex(); }

}  // namespace detail

logger& get_logger(std::string_view name) { return detail::the_registry().get(name); }

}  // namespace v1
}  // namespace ctxlog
