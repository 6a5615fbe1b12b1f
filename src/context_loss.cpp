// src/context_loss.cpp — the opt-in check for context lost between a hand-off and a log
// call, in one place: the per-thread count of managed work (adapters enter it around the
// work they run for a captured context), the test a log call makes, the once-per-call-
// site report on stderr that the back-end makes when it writes a flagged line, and the
// adapters' report of work that returned without restoring its context.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "context_loss.hpp"
#include "ctxlog/context.hpp"
#include "ctxlog/detail/handoff.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {
constinit thread_local unsigned t_managed_depth = 0;
}  // namespace

std::atomic<bool> g_loss_check{[] {
  const char* e = std::getenv("CTXLOG_CHECK_CONTEXT_LOSS");
  return e && *e && *e != '0';
}()};

void enter_managed() noexcept { ++t_managed_depth; }
void leave_managed() noexcept { --t_managed_depth; }
bool context_lost() noexcept {
  return t_managed_depth > 0 && g_loss_check.load(std::memory_order_relaxed) && current_frame() == nullptr;
}

void report_context_loss(std::string_view file, std::uint32_t line) noexcept {
  static std::mutex mu;
  static auto* reported = new std::set<std::pair<std::string, std::uint32_t>, std::less<>>();
  try {
    std::lock_guard lk(mu);
    if (!reported->emplace(std::string(file), line).second) return;
  } catch (...) {
    return;  // out of memory: no report rather than no line
  }
  char msg[512];
  const int n = std::snprintf(msg, sizeof msg,
                              "ctxlog: context lost: the log call at %.*s:%u ran with an empty context inside work "
                              "that captured one\n",
                              static_cast<int>(std::min<std::size_t>(file.size(), 400)), file.data(), line);
  if (n > 0) [[maybe_unused]] auto r = ::write(2, msg, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof msg - 1));
}

namespace {
// "{requestId=r-1, region=eu}": a context as the reports show it.
std::string describe(const context& c) {
  if (c.empty()) return "{}";
  std::string s = "{";
  for (std::size_t i = 0; i < well_known_count; ++i) {
    const auto v = c.get(well_known_names[i]);
    if (v.empty()) continue;
    if (s.size() > 1) s += ", ";
    s.append(well_known_names[i]).append("=").append(v);
  }
  for (const field& f : c.custom()) {
    if (s.size() > 1) s += ", ";
    s.append(f.key).append("=").append(f.value);
  }
  return s + "}";
}
}  // namespace

void report_unrestored(const char* adapter, origin where, const context& installed, const context& found) noexcept {
  static std::mutex mu;
  // Leaked on purpose, like report_context_loss's: usable from static destructors.
  static auto* seen = new std::set<std::pair<std::string, unsigned>>();
  try {
    const std::string key = std::string(adapter) + "@" + (where.file ? where.file : "?");
    std::lock_guard lk(mu);
    if (!seen->insert({key, where.line}).second) return;
    std::fprintf(stderr,
                 "ctxlog: context not restored: work run by %s (handed off at %s:%u) started in context %s and "
                 "returned in %s; it called enter_with() or left a scope open. The adapter restored the thread's "
                 "context; without it, the next task on this thread would have inherited these fields.\n",
                 adapter, where.file ? where.file : "an unknown site", where.line, describe(installed).c_str(),
                 describe(found).c_str());
  } catch (...) {
  }
}

}  // namespace detail

void set_context_loss_check(bool on) noexcept { detail::g_loss_check.store(on, std::memory_order_relaxed); }
bool context_loss_check() noexcept { return detail::g_loss_check.load(std::memory_order_relaxed); }

}  // namespace v1
}  // namespace ctxlog
