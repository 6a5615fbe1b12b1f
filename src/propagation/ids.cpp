// src/propagation/ids.cpp — trace, span and request ids.
//
// One xoshiro256** generator per thread, seeded from getrandom(): no lock, no shared
// state on the hot path. A fork()ed child inherits the parent's generator state, so a
// generation counter bumped in the child (pthread_atfork) makes every thread reseed on
// its next id: parent and child never hand out the same sequence.
#include "ids.hpp"

#include <pthread.h>
#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>

#include "ctxlog/trace.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

namespace {

std::atomic<std::uint64_t> g_fork_generation{0};
const int g_atfork_registered = pthread_atfork(nullptr, nullptr, [] {
  g_fork_generation.fetch_add(1, std::memory_order_relaxed);
});

std::uint64_t splitmix64(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

struct generator {
  std::uint64_t s[4] = {0, 0, 0, 0};
  std::uint64_t seeded_for = 0;  // fork generation + 1 when seeded; 0: never seeded

  void seed() noexcept {
    std::uint64_t raw[4] = {0, 0, 0, 0};
    std::size_t got = 0;
    while (got < sizeof raw) {
      const ssize_t n = getrandom(reinterpret_cast<char*>(raw) + got, sizeof raw - got, 0);
      if (n <= 0) break;  // no entropy source (very old kernel, seccomp): fall back below
      got += static_cast<std::size_t>(n);
    }
    // Mixed with the clock, the pid and the thread's address even when getrandom worked:
    // the seed can then only repeat if all of them do.
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    std::uint64_t mix = raw[0] ^ (static_cast<std::uint64_t>(ts.tv_sec) * 1000000007ull) ^
                        static_cast<std::uint64_t>(ts.tv_nsec) ^ (static_cast<std::uint64_t>(getpid()) << 32) ^
                        reinterpret_cast<std::uintptr_t>(this);
    for (int i = 0; i < 4; ++i) s[i] = raw[i] ^ splitmix64(mix);
    if ((s[0] | s[1] | s[2] | s[3]) == 0) s[0] = 1;  // the one state xoshiro cannot leave
  }

  std::uint64_t next() noexcept {
    const std::uint64_t gen = g_fork_generation.load(std::memory_order_relaxed) + 1;
    if (seeded_for != gen) {
      seed();
      seeded_for = gen;
    }
    const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
    const std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }

  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
};

thread_local generator t_gen;

constexpr char k_hex[] = "0123456789abcdef";

void put_hex(std::uint64_t x, char* out, int digits) noexcept {
  for (int i = digits - 1; i >= 0; --i, x >>= 4) out[i] = k_hex[x & 15];
}

}  // namespace

std::uint64_t random_u64() noexcept {
  (void)g_atfork_registered;
  return t_gen.next();
}

void fill_trace_id(char* out) noexcept {
  std::uint64_t hi, lo;
  do {
    hi = random_u64();
    lo = random_u64();
  } while ((hi | lo) == 0);
  put_hex(hi, out, 16);
  put_hex(lo, out + 16, 16);
}

void fill_span_id(char* out) noexcept {
  std::uint64_t x;
  do x = random_u64();
  while (x == 0);
  put_hex(x, out, 16);
}

void fill_uuid_v7(char* out) noexcept {
  const auto ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  const std::uint64_t r1 = random_u64(), r2 = random_u64();
  // 48 bits unix_ts_ms | 4 bits version (7) | 12 bits rand_a | 2 bits variant (10) | 62 bits rand_b
  const std::uint64_t hi = (ms << 16) | 0x7000u | (r1 & 0x0fffu);
  const std::uint64_t lo = (r2 & 0x3fffffffffffffffull) | 0x8000000000000000ull;
  char hex[32];
  put_hex(hi, hex, 16);
  put_hex(lo, hex + 16, 16);
  std::memcpy(out, hex, 8);
  out[8] = '-';
  std::memcpy(out + 9, hex + 8, 4);
  out[13] = '-';
  std::memcpy(out + 14, hex + 12, 4);
  out[18] = '-';
  std::memcpy(out + 19, hex + 16, 4);
  out[23] = '-';
  std::memcpy(out + 24, hex + 20, 12);
}

}  // namespace detail

std::string new_trace_id() {
  std::string s(32, '0');
  detail::fill_trace_id(s.data());
  return s;
}

std::string new_span_id() {
  std::string s(16, '0');
  detail::fill_span_id(s.data());
  return s;
}

std::string new_request_id() {
  std::string s(36, '0');
  detail::fill_uuid_v7(s.data());
  return s;
}

}  // namespace v1
}  // namespace ctxlog
