// src/flight_recorder.cpp — the calling thread's half of the flight recorders
// (flight_recorder.hpp): which calls below their level make a record, and the signals
// that tell the back-end (src/flight_store.hpp) a recording started, ended or is dumped.
#include "ctxlog/flight_recorder.hpp"

#include <atomic>

#include "ctxlog/detail/record.hpp"
#include "ctxlog/log.hpp"
#include "ctxlog/storage.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

storage<recorder_info>& recorder_store() {
  static storage<recorder_info> s({.name = "ctxlog flight recorder"});
  return s;
}

std::atomic<std::uint64_t> g_next_recorder{1};

void lower_floor(level l) noexcept {
  level now = g_recorded_floor.load(std::memory_order_relaxed);
  while (l < now && !g_recorded_floor.compare_exchange_weak(now, l, std::memory_order_relaxed)) {
  }
}

}  // namespace

std::atomic<level> g_recorded_floor{level::off};

record_kind recorded(level l) noexcept {
  const recorder_info* r = recorder_store().get();
  return r && l >= r->keep ? record_kind::held : record_kind::none;
}

const recorder_info* recorder_of(const context& c) noexcept { return recorder_store().get(c); }

}  // namespace detail

flight_recorder::flight_recorder(flight_recorder_options options) {
  if (detail::recorder_store().get()) return;  // joins the enclosing recording
  id_ = detail::g_next_recorder.fetch_add(1, std::memory_order_relaxed);
  const detail::recorder_info info{id_, options.keep, options.trigger, options.max_lines};
  scope_.emplace(detail::recorder_store().with(current(), info));
  // Before the first line the recorder keeps, in this thread's order.
  detail::send_recorder_signal(detail::record_kind::recorder_start, id_);
  detail::lower_floor(options.keep);
}

flight_recorder::~flight_recorder() {
  if (scope_) detail::send_recorder_signal(detail::record_kind::recorder_end, id_);
}

void flight_recorder::dump() noexcept {
  std::uint64_t id = id_;
  if (!scope_) {  // joined: the enclosing recording's id
    const detail::recorder_info* r = detail::recorder_store().get();
    if (!r) return;
    id = r->id;
  }
  detail::send_recorder_signal(detail::record_kind::recorder_dump, id);
}

}  // namespace v1
}  // namespace ctxlog
