// src/sampling.cpp — sampled and rate-limited call sites (ctxlog/sample.hpp): the
// decision on the calling thread, the lists the back-end walks for its summary lines and
// get_stats() for the count of suppressed calls.
#include "sampling.hpp"

#include <time.h>

#include <algorithm>
#include <cstring>

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

constexpr std::uint64_t k_count_bits = 24;
constexpr std::uint64_t k_count_mask = (std::uint64_t{1} << k_count_bits) - 1;

std::atomic<limiter*> g_limiters{nullptr};
std::atomic<sampler*> g_samplers{nullptr};
// Set by a suppressed call of a windowed limiter: the back-end has summaries to look at.
std::atomic<bool> g_unreported{false};

std::uint64_t steady_ns() noexcept {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

template <class T>
void push(std::atomic<T*>& head, T* item) noexcept {
  T* h = head.load(std::memory_order_relaxed);
  do item->next = h;
  while (!head.compare_exchange_weak(h, item, std::memory_order_release, std::memory_order_relaxed));
}

constexpr std::uint64_t k_claiming = ~std::uint64_t{0};  // a key slot being claimed

std::uint64_t hash_key(std::string_view key) noexcept {  // FNV-1a; never 0 (free) nor k_claiming
  std::uint64_t h = 1469598103934665603ull;
  for (const char c : key) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h == 0 || h == k_claiming ? 1 : h;
}

}  // namespace

bool limiter::admit_in(limit_slot& s, const logger& l) noexcept {
  const std::uint64_t window = steady_ns() / interval_ns_;
  std::uint64_t st = s.state.load(std::memory_order_relaxed);
  for (;;) {
    const std::uint64_t w = st >> k_count_bits, n = st & k_count_mask;
    std::uint64_t next;
    if (w != (window & (~std::uint64_t{0} >> k_count_bits))) next = (window << k_count_bits) | 1;
    else if (n < limit_) next = st + 1;
    else break;
    if (s.state.compare_exchange_weak(st, next, std::memory_order_relaxed)) return true;
  }
  suppressed(s, window, l);
  return false;
}

void limiter::suppressed(limit_slot& s, std::uint64_t window, const logger& l) noexcept {
  s.last_window.store(window, std::memory_order_relaxed);
  s.suppressed.fetch_add(1, std::memory_order_release);
  if (!logger_.load(std::memory_order_relaxed)) logger_.store(&l, std::memory_order_release);
  if (!listed_.load(std::memory_order_relaxed) && !listed_.exchange(true, std::memory_order_acq_rel))
    push(g_limiters, this);
  if (!g_unreported.load(std::memory_order_relaxed)) g_unreported.store(true, std::memory_order_release);
}

bool limiter::admit(const logger& l, std::string_view key) noexcept {
  const std::uint64_t h = hash_key(key);
  const std::size_t start = static_cast<std::size_t>(h % key_slots);
  for (std::size_t i = 0; i < key_slots; ++i) {
    keyed_slot& k = keys_[(start + i) % key_slots];
    std::uint64_t seen = k.hash.load(std::memory_order_acquire);
    if (seen == h) return admit_in(k.slot, l);
    if (seen != 0) continue;
    // Free: claim it. The key's text is written before the hash that publishes it; a
    // thread that loses the race reads the winner's hash and goes on probing.
    if (k.hash.compare_exchange_strong(seen, k_claiming, std::memory_order_acq_rel)) {
      const std::size_t n = std::min(key.size(), sizeof k.key);
      std::memcpy(k.key, key.data(), n);
      k.key_size = static_cast<std::uint8_t>(n);
      k.hash.store(h, std::memory_order_release);
      return admit_in(k.slot, l);
    }
    if (seen == h) return admit_in(k.slot, l);
    if (seen == k_claiming) {  // being claimed: wait for its hash (a few stores away)
      while ((seen = k.hash.load(std::memory_order_acquire)) == k_claiming) {
      }
      if (seen == h) return admit_in(k.slot, l);
    }
  }
  return admit_in(overflow_, l);  // the table is full: every further key shares one budget
}

void sampler::count_suppressed(sampler& s) noexcept {
  s.suppressed_.fetch_add(1, std::memory_order_relaxed);
  if (!s.listed_.load(std::memory_order_relaxed) && !s.listed_.exchange(true, std::memory_order_acq_rel))
    push(g_samplers, &s);
}

std::uint64_t suppressed_total() noexcept {
  std::uint64_t n = 0;
  for (limiter* l = g_limiters.load(std::memory_order_acquire); l; l = l->next) {
    n += l->unkeyed().suppressed.load(std::memory_order_relaxed) + l->overflow().suppressed.load(std::memory_order_relaxed);
    if (l->keyed())
      for (std::size_t i = 0; i < limiter::key_slots; ++i) n += l->keys()[i].slot.suppressed.load(std::memory_order_relaxed);
  }
  for (sampler* s = g_samplers.load(std::memory_order_acquire); s; s = s->next) n += s->suppressed();
  return n;
}

void report_suppressed(bool all, const summary_writer& write) {
  if (!all && !g_unreported.load(std::memory_order_acquire)) return;
  g_unreported.store(false, std::memory_order_relaxed);
  const std::uint64_t now = steady_ns();
  bool pending = false;
  auto report = [&](limiter& l, limit_slot& s, std::string_view key) {
    const std::uint64_t total = s.suppressed.load(std::memory_order_acquire);
    if (total == s.reported) return;
    // The window of the last suppressed call must have closed (or the program is ending).
    if (!all && now / l.interval_ns() <= s.last_window.load(std::memory_order_relaxed)) {
      pending = true;
      return;
    }
    const logger* source = l.source();
    if (!source) return;  // cannot happen: set before the first count
    write(l, *source, total - s.reported, key);
    s.reported = total;
  };
  for (limiter* l = g_limiters.load(std::memory_order_acquire); l; l = l->next) {
    report(*l, l->unkeyed(), {});
    if (!l->keyed()) continue;
    for (std::size_t i = 0; i < limiter::key_slots; ++i) {
      auto& k = l->keys()[i];
      const std::uint64_t h = k.hash.load(std::memory_order_acquire);
      if (h == 0 || h == k_claiming) continue;
      report(*l, k.slot, std::string_view(k.key, k.key_size));
    }
    report(*l, l->overflow(), "(other)");
  }
  if (pending) g_unreported.store(true, std::memory_order_relaxed);
}

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
