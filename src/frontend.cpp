// src/frontend.cpp — the out-of-line half of a log call: begin and commit a record.
//
// Async mode: each logging thread owns a record_queue (registered on its first call).
// begin_record() reserves space in it, the call site encodes the record in place, and
// commit_record() publishes it: no lock, no allocation, no system call. When the calling
// thread's context differs from the last one it sent, a frame entry carrying a counted
// reference goes first, so records carry no context and the back-end renders each
// frame's fields once. Sync mode, and a thread that can no longer use its queue
// (exiting, or the back-end itself), formats and writes on the calling thread.
#include <time.h>

#include <cstring>
#include <new>
#include <thread>
#include <vector>

#include "backend.hpp"
#include "ctxlog/detail/record.hpp"
#include "ctxlog/log.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

// What this thread's log call in progress has begun: none outside any call, entering from
// the start of begin_record() until it knows, then sync or queued until commit_record().
// A call that finds it set was made while the thread was inside another log call: from a
// signal handler that interrupted it (docs/misuse.md).
enum class pending { none, entering, sync, queued };

// The record's stamp: rdtsc, not fenced. rdtsc may read the clock a few dozen ns before
// an earlier load completes, so a record logged right after a spin on an atomic that
// another thread set after its own log call can be stamped (and merged) before that
// call's record; lfence or rdtscp before it would rule that out, at +7 ns per call here
// (p50 23 -> 30 ns), so it is not taken (docs/architecture.md, Time order).
inline std::uint64_t stamp() noexcept { return timestamp(); }

constinit thread_local pending t_pending = pending::none;
thread_local std::vector<std::byte> t_record;  // the synchronous path's record buffer

// Set while a flight recorder's signal is being sent (send_recorder_signal).
constinit thread_local record_kind t_signal = record_kind::none;
constinit thread_local std::uint64_t t_signal_id = 0;

std::byte* drop(producer& p) noexcept {
  // A frame entry reserved just before must still reach the back-end, which owns the
  // reference it carries; everything reserved so far is complete, so publish it.
  p.queue.publish();
  if (t_signal != record_kind::none) {
    // A flight recorder's signal is not a line: it goes around the full ring instead.
    backend::get().signal_out_of_band(t_signal, t_signal_id);
  } else {
    bump(p.issued);
    bump(p.dropped);
  }
  t_pending = pending::none;  // after the counters: an interrupting call must not race them
  return nullptr;
}

// Space for n bytes in p's ring, waiting for it under overflow_policy::block.
std::byte* reserve(backend& b, producer& p, std::size_t n) noexcept {
  std::byte* e = p.queue.reserve(n);
  if (e || b.overflow() == overflow_policy::drop) return e;
  for (unsigned spins = 0; !(e = p.queue.reserve(n)); ++spins) {
    if (!b.worker_running()) {
      // No back-end thread (being replaced, or sync mode set meanwhile): drain here
      // rather than give the record up.
      b.drain_without_worker();
      continue;
    }
    if (spins < 256) {
      std::this_thread::yield();
    } else {
      const timespec pause{0, 50000};
      ::nanosleep(&pause, nullptr);
    }
  }
  return e;
}

std::byte* begin_queued(backend& b, producer& p, std::size_t n, std::uint64_t& ts) {
  const frame* f = current_frame();
  std::uint64_t key = f ? f->id : 0;
  bool lost = false;
  if (!f && context_lost()) {
    lost = true;
    key = k_lost_key;
  }
  if (key != p.sent_key) {
    std::byte* e = reserve(b, p, sizeof(frame_entry));
    if (!e) return drop(p);
    if (f) retain(f);  // released by the back-end when the next frame entry replaces it
    put_entry(e, frame_entry{{sizeof(frame_entry), entry_kind::frame}, f, lost ? 1u : 0u, 0});
    p.sent_key = key;
  }
  const std::size_t total = align8(sizeof(entry_header) + n);
  if (total <= p.queue.max_entry()) {
    std::byte* e = reserve(b, p, total);
    if (!e) return drop(p);
    put_entry(e, entry_header{static_cast<std::uint32_t>(total), entry_kind::record});
    ts = stamp();
    t_pending = pending::queued;
    return e + sizeof(entry_header);
  }
  // Larger than a quarter of the ring: the record goes to the heap, its pointer into
  // the ring, so it keeps its place in this thread's order.
  std::byte* e = reserve(b, p, sizeof(heap_entry));
  if (!e) return drop(p);
  auto* rec = new (std::nothrow) std::byte[n];
  if (!rec) {
    put_entry(e, entry_header{sizeof(heap_entry), entry_kind::padding});
    return drop(p);
  }
  put_entry(e, heap_entry{{sizeof(heap_entry), entry_kind::heap_record}, rec});
  ts = stamp();
  t_pending = pending::queued;
  return rec;
}

}  // namespace

std::byte* begin_record(std::size_t n, std::uint64_t& ts) {
  backend& b = backend::get();
  if (t_pending != pending::none) {
    // A signal handler interrupted this thread inside a log call: the ring (or the
    // synchronous buffer) holds that call's record half written, so this one cannot go
    // in. Counted as dropped, with atomics (the thread's own counters may be mid-update).
    b.count_interrupted();
    return nullptr;
  }
  t_pending = pending::entering;
  try {
    if (b.mode() == dispatch_mode::async && !t_in_backend) {
      producer* p = this_thread_producer();
      if (!p) p = b.register_thread();
      if (p) return begin_queued(b, *p, n, ts);
    }
    t_record.resize(n);
  } catch (...) {  // no memory for the producer or the buffer: the caller counts it
    t_pending = pending::none;
    throw;
  }
  ts = stamp();
  t_pending = pending::sync;
  return t_record.data();
}

void commit_record() noexcept {
  if (t_pending == pending::queued) {
    producer* p = this_thread_producer();
    p->queue.publish();
    if (t_signal == record_kind::none) bump(p->issued);
  } else if (t_pending == pending::sync) {
    backend::get().write_sync(t_record.data());
  }
  t_pending = pending::none;
}

void send_recorder_signal(record_kind kind, std::uint64_t id) noexcept {
  static const site signal_site{level::off, "", "", 0, ""};
  t_signal = kind;
  t_signal_id = id;
  try {
    std::uint64_t ts;
    if (std::byte* p = begin_record(sizeof(record_header) + sizeof id, ts)) {
      const record_header h{&signal_site, &default_logger(), nullptr, ts, sizeof id, sizeof id,
                            static_cast<std::uint32_t>(kind)};
      std::memcpy(p, &h, sizeof h);
      std::memcpy(p + sizeof h, &id, sizeof id);
      commit_record();
    }
  } catch (...) {  // the synchronous path could not allocate its buffer
    backend::get().signal_out_of_band(kind, id);
  }
  t_signal = record_kind::none;
}

void emit_failed() noexcept {
  if (t_pending != pending::none) {  // inside an interrupted log call: see begin_record()
    backend::get().count_interrupted();
    return;
  }
  t_pending = pending::entering;
  backend::get().count_failed();
  t_pending = pending::none;
}

#if !(defined(__x86_64__) || defined(__i386__))
std::uint64_t timestamp() noexcept {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}
#endif

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
