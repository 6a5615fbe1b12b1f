// src/clock.cpp — TSC to wall-clock conversion (see clock.hpp).
#include "clock.hpp"

#include <time.h>

#include "ctxlog/log.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

std::uint64_t realtime_ns() noexcept {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

constexpr std::uint64_t k_calibrate_after_ns = 50'000'000;  // 50 ms
constexpr std::uint64_t k_reanchor_after_ns = 1'000'000'000;

}  // namespace

wall_clock::anchor wall_clock::now() noexcept {
  // The midpoint of two stamps around the clock read pairs them best.
  const std::uint64_t a = timestamp();
  const std::uint64_t ns = realtime_ns();
  const std::uint64_t b = timestamp();
  return {a + (b - a) / 2, ns};
}

wall_clock::wall_clock() noexcept : origin_(now()), current_(origin_) {}

std::uint64_t wall_clock::to_ns(std::uint64_t stamp) noexcept {
  if (!timestamp_is_tsc) return stamp;
  if (ns_per_tick_ == 0.0) {
    const anchor n = now();
    if (n.ns - origin_.ns >= k_calibrate_after_ns && n.ticks > origin_.ticks) {
      ns_per_tick_ = static_cast<double>(n.ns - origin_.ns) / static_cast<double>(n.ticks - origin_.ticks);
      current_ = n;
    } else {
      // Interpolate between the origin and now: the stamp was taken in between.
      if (stamp <= origin_.ticks || n.ticks <= origin_.ticks) return origin_.ns;
      if (stamp >= n.ticks) return n.ns;
      const double f = static_cast<double>(stamp - origin_.ticks) / static_cast<double>(n.ticks - origin_.ticks);
      return origin_.ns + static_cast<std::uint64_t>(f * static_cast<double>(n.ns - origin_.ns));
    }
  }
  const double delta = static_cast<double>(static_cast<std::int64_t>(stamp - current_.ticks)) * ns_per_tick_;
  if (delta > static_cast<double>(k_reanchor_after_ns)) {
    const anchor n = now();
    ns_per_tick_ = static_cast<double>(n.ns - origin_.ns) / static_cast<double>(n.ticks - origin_.ticks);
    current_ = n;
    return to_ns(stamp);
  }
  return current_.ns + static_cast<std::uint64_t>(static_cast<std::int64_t>(delta));  // modular: delta may be < 0
}

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
