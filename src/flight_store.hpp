// src/flight_store.hpp — the back-end's half of the flight recorders (flight_recorder.hpp):
// the lines each recorded request keeps, until the request fails (they are written) or
// ends (they are discarded).
//
// Runs under the router's lock, like the rest of the sink router. The store learns of a
// recorder from its start signal and forgets it at its end signal (both come through the
// queue of the thread that owns the recorder, in time order with the request's lines),
// so a line held for a recorder it does not know (ended already, or never started
// because its start signal was lost) is discarded, never kept for ever.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_map>

#include "ctxlog/context.hpp"
#include "ctxlog/flight_recorder.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {

class flight_store {
 public:
  // A kept line: a copy of its record (with a "replayed":true field appended) and what
  // the router needs to write it later.
  struct kept {
    std::unique_ptr<std::byte[]> record;
    std::size_t bytes;
    context ctx;
    bool context_lost;
    std::uint32_t thread;
  };

  void set_limit(std::size_t bytes) noexcept { limit_ = bytes; }
  bool empty() const noexcept { return requests_.empty(); }

  void start(std::uint64_t id, const recorder_info* info);
  // Forgets the recorder; its kept lines are discarded (counted).
  void end(std::uint64_t id) noexcept;
  // The request failed (or dump()): hands its kept lines to write, oldest first, and
  // writes later ones as they come. Nothing for an unknown recorder.
  template <class Write>
  void trigger(std::uint64_t id, Write&& write);
  // Whether a held line of recorder `id` is to be written now (its request failed
  // already). When not, keep() takes it or discards it.
  bool triggered(std::uint64_t id) const noexcept;
  // Keeps a copy of the record (record_header + arguments, `bytes` long), or discards it
  // (unknown recorder, limit reached), counting it either way.
  void keep(std::uint64_t id, const std::byte* record, std::size_t bytes, const context& ctx, bool lost,
            std::uint32_t thread);
  // Discards everything (shutdown(), the fork()ed child).
  void clear() noexcept;

  std::atomic<std::uint64_t> discarded{0};  // lines never written
  std::atomic<std::uint64_t> held{0};       // lines kept right now

 private:
  struct request {
    std::deque<kept> lines;
    std::uint32_t max_lines = 256;
    bool triggered = false;
  };
  void forget(request& r) noexcept;

  std::unordered_map<std::uint64_t, request> requests_;
  std::size_t bytes_ = 0;                // of every kept record
  std::size_t limit_ = std::size_t{16} << 20;
};

template <class Write>
void flight_store::trigger(std::uint64_t id, Write&& write) {
  const auto it = requests_.find(id);
  if (it == requests_.end()) return;
  request& r = it->second;
  r.triggered = true;
  // Taken out first: writing may throw (out of memory), and must not leave lines both
  // written and kept.
  std::deque<kept> lines = std::move(r.lines);
  r.lines.clear();
  for (const kept& k : lines) bytes_ -= k.bytes;
  held.fetch_sub(lines.size(), std::memory_order_relaxed);
  for (const kept& k : lines) write(k);
}

}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
