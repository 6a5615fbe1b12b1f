// src/clock.hpp — turns the call site's raw timestamps into wall-clock nanoseconds.
//
// The hot path stamps records with the TSC (rdtsc, ~12 ns here) instead of
// clock_gettime (~28 ns through the vDSO on this KVM guest); the back-end converts. The
// conversion interpolates between two (tsc, CLOCK_REALTIME) anchor pairs, so even before
// the rate is known a stamp lands between the two wall-clock readings around it; after
// 50 ms the rate is measured, and the anchor is re-taken every second so NTP slewing
// and drift never accumulate. Used by one thread at a time (the dispatch lock holder).
// Not x86-64: timestamps are CLOCK_REALTIME nanoseconds and convert to themselves.
#pragma once

#include <cstdint>

namespace ctxlog {
inline namespace v1 {
namespace detail {

class wall_clock {
 public:
  wall_clock() noexcept;
  std::uint64_t to_ns(std::uint64_t stamp) noexcept;

 private:
  struct anchor {
    std::uint64_t ticks;
    std::uint64_t ns;
  };
  static anchor now() noexcept;

  anchor origin_;   // the first pair: the long baseline for the rate
  anchor current_;  // the pair conversions are made from
  double ns_per_tick_ = 0.0;  // 0: not measured yet
};

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
