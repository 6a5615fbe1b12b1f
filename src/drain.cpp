// src/drain.cpp — one pass over the rings: every record stamped at or before a time T,
// merged across the rings in timestamp order (see docs/architecture.md, Time order).
//
// The pass reads how far each ring is published after T was taken, so a record committed
// before the pass began is written in timestamp order with everything else, and a record
// that happens-before another (a thread joined, a message passed) is written first.
// Records stamped after T wait for the next pass. Runs under the router lock.
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "backend.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

// A record stamped later than a pass's T by more than this is written in that pass all
// the same: clocks that disagree (unsynchronised TSCs, CLOCK_REALTIME stepped back)
// must not hold lines back. ~27 ms of a 2.4 GHz TSC; 20 ms of CLOCK_REALTIME.
constexpr std::uint64_t k_hold_limit = timestamp_is_tsc ? std::uint64_t{1} << 26 : 20'000'000;

// One ring's read position during a pass.
struct cursor {
  producer* p;
  std::size_t pos, end;
  std::uint64_t ts = 0;               // the stamp of the record at pos
  const std::byte* record = nullptr;  // that record (in the ring or on the heap)
  bool on_heap = false;
  std::uint32_t since_release = 0;
};

// Moves c to its next record stamped no later than until, consuming the frame and
// padding entries before it. False when the ring has none (end, or a later record).
bool next_record(cursor& c, std::uint64_t until) {
  record_queue& q = c.p->queue;
  while (c.pos != c.end) {
    const auto h = get_entry<entry_header>(q.at(c.pos));
    switch (h.kind) {
      case entry_kind::frame: {
        const auto e = get_entry<frame_entry>(q.at(c.pos));
        c.p->ctx_now = context::adopt(const_cast<frame*>(e.f));  // takes over the entry's reference
        c.p->lost_now = e.lost != 0;
        c.pos += h.size;
        continue;
      }
      case entry_kind::padding: c.pos += h.size; continue;
      case entry_kind::link:
        // The producer went on in a larger ring: everything before the link was read.
        // The new ring's end is read now, after `until` was taken, like every ring's.
        q.follow_link();
        c.pos = 0;
        c.end = q.readable();
        continue;
      case entry_kind::record:
        c.record = q.at(c.pos) + sizeof(entry_header);
        c.on_heap = false;
        break;
      case entry_kind::heap_record:
        c.record = get_entry<heap_entry>(q.at(c.pos)).record;
        c.on_heap = true;
        break;
    }
    record_header rh;
    std::memcpy(&rh, c.record, sizeof rh);
    c.ts = rh.timestamp;
    return !(c.ts > until && c.ts - until < k_hold_limit);
  }
  return false;
}

void hand_back(cursor& c) noexcept { c.p->queue.release(c.pos); }

struct later_first {
  bool operator()(const cursor& a, const cursor& b) const noexcept { return a.ts > b.ts; }
};

}  // namespace

std::uint64_t pass_bound() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_lfence();  // earlier instructions done before the clock is read...
  const std::uint64_t now = __rdtsc();
  _mm_lfence();  // ...and the clock read before any later load (the rings' positions)
#else
  const std::uint64_t now = timestamp();
#endif
  return now - k_stamp_margin;
}

std::size_t backend::drain(std::uint64_t until) {
  auto lk = router_.lock();
  return drain_locked(until);
}

std::size_t backend::drain_locked(std::uint64_t until) {
  // The producer list is read after `until` was taken: a ring registered by a thread
  // whose records happen-before one seen here is in it.
  producers_.refresh(snapshot_, seen_version_);
  thread_local std::vector<cursor> ready;  // rings with a record to write, as a min-heap
  ready.clear();
  bool any_finished = false;
  for (const auto& sp : snapshot_) {
    producer& p = *sp;
    any_finished |= p.finished.load(std::memory_order_acquire);
    cursor c{&p, p.queue.read_position(), p.queue.readable()};
    if (c.pos == c.end) continue;
    if (next_record(c, until)) ready.push_back(c);
    else hand_back(c);
  }
  std::size_t n = 0;
  auto write_one = [&](cursor& c) {
    try {
      if (router_.closed()) throw std::logic_error("closed");  // left over after shutdown()
      router_.write(c.record, c.p->ctx_now, c.p->lost_now, c.p->thread);
    } catch (...) {
      record_header h;
      std::memcpy(&h, c.record, sizeof h);
      if (is_log_line(static_cast<record_kind>(h.kind))) dropped_elsewhere_.fetch_add(1, std::memory_order_relaxed);
    }
    if (c.on_heap) delete[] c.record;
    c.pos += get_entry<entry_header>(c.p->queue.at(c.pos)).size;
    ++n;
    if (++c.since_release == 128) {  // let a producer blocked on a full ring go on
      hand_back(c);
      c.since_release = 0;
    }
  };
  if (ready.size() == 1) {  // one ring: no merge
    cursor& c = ready.front();
    do write_one(c);
    while (next_record(c, until));
    hand_back(c);
  } else if (!ready.empty()) {
    std::make_heap(ready.begin(), ready.end(), later_first{});
    while (!ready.empty()) {
      std::pop_heap(ready.begin(), ready.end(), later_first{});
      cursor& c = ready.back();
      // Write from the oldest ring while it stays no later than the next-oldest.
      const std::uint64_t bound = ready.size() > 1 ? ready.front().ts : k_everything;
      bool more;
      do {
        write_one(c);
        more = next_record(c, until);
      } while (more && c.ts <= bound);
      if (more) {
        std::push_heap(ready.begin(), ready.end(), later_first{});
      } else {
        hand_back(c);
        ready.pop_back();
      }
    }
  }
  for (const auto& sp : snapshot_) {
    report_dropped(*sp);
    sp->queue.offer_ring();  // a busy producer's larger ring, allocated here rather than in its call
  }
  signals_out_of_band();
  router_.report_suppressed(false);
  router_.flush_sinks();
  if (any_finished) producers_.retire_finished();
  return n;
}

void backend::signal_out_of_band(record_kind kind, std::uint64_t id) noexcept {
  try {
    const std::lock_guard<std::mutex> lk(signals_mu_);
    signals_.push_back({kind, id});
    signals_pending_.store(true, std::memory_order_release);
  } catch (...) {  // out of memory: that recorder's lines are kept until shutdown (bounded)
  }
}

void backend::signals_out_of_band() {
  if (!signals_pending_.load(std::memory_order_acquire)) return;
  std::vector<std::pair<record_kind, std::uint64_t>> taken;
  {
    const std::lock_guard<std::mutex> lk(signals_mu_);
    taken.swap(signals_);
    signals_pending_.store(false, std::memory_order_relaxed);
  }
  static const context none;
  for (const auto& [kind, id] : taken) router_.signal(kind, id, none);
}

void backend::report_dropped(producer& p) {
  const std::uint64_t dropped = p.dropped.load(std::memory_order_relaxed);
  if (dropped == p.dropped_reported || router_.closed()) return;
  const auto count = dropped - p.dropped_reported;
  p.dropped_reported = dropped;
  const auto msg = fmt::format("{} records dropped (queue full)", count);
  router_.notice(level::warn, msg, "dropped", count, p.thread);
}

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
