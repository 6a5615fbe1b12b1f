// ctxlog/sinks/queued_sink.hpp — the base of sinks whose destination is a server (syslog
// over TCP/UDP/unix socket, ClickHouse over HTTP): the back-end never waits for it.
//
// write() copies the line into a bounded buffer of the sink's own and returns at once; a
// sender thread of the sink takes batches from it and hands them to deliver(), which
// talks to the destination. A destination that is down at start, goes away, answers
// slowly or closes the connection mid-batch never blocks the back-end: lines wait in the
// buffer (up to queue_options::max_buffered_bytes), failed batches are retried with
// exponential back-off, and a line that finds the buffer full is dropped and counted.
// delivery() says exactly what became of every line the sink took; ctxlog::get_stats()
// sums it over all queued sinks (sink_dropped, sink_buffered).
//
// A derived sink implements deliver() and calls stop() first thing in its destructor.
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "ctxlog/sink.hpp"

namespace ctxlog {
inline namespace v1 {
namespace sinks {

struct queue_options {
  // The most bytes of lines held for the destination; a line that does not fit is dropped.
  std::size_t max_buffered_bytes = 8u << 20;
  // A batch is handed to deliver() once it holds this many bytes (or lines), or once its
  // oldest line has waited batch_delay, whichever comes first.
  std::size_t batch_bytes = 256u << 10;
  std::size_t batch_lines = 10000;
  std::chrono::milliseconds batch_delay{200};
  // Back-off between failed attempts: doubles from retry_min up to retry_max.
  std::chrono::milliseconds retry_min{50};
  std::chrono::milliseconds retry_max{5000};
  // At close (stop(), the destructor, ctxlog::shutdown()): how long the sender may still
  // try to deliver what is buffered; what is left then is counted as dropped.
  std::chrono::milliseconds linger{2000};
};

// What became of the lines a sink was given. accepted == delivered + dropped + buffered.
struct delivery_stats {
  std::uint64_t accepted = 0;   // lines given to write()
  std::uint64_t delivered = 0;  // lines the destination took (written, acknowledged)
  std::uint64_t dropped = 0;    // lines given up: buffer full, refused by the destination, left at close
  std::uint64_t buffered = 0;   // lines held now, waiting for the destination
  std::uint64_t failures = 0;   // failed delivery attempts (each retried)
};

// A batch of whole lines, oldest first, each with its layout's terminator.
struct line_batch {
  std::span<const std::string_view> lines;
  std::size_t bytes = 0;  // sum of the lines' sizes
};

class queued_sink : public sink {
 public:
  ~queued_sink() override;  // stops the sender (see stop())

  // Copies the line into the buffer, or drops and counts it when the buffer is full.
  // Never blocks on the destination.
  void write(const log_line& line) final;
  // Asks the sender to deliver what is buffered now, without waiting for batch_delay.
  void flush() final;

  // Waits until every line accepted before the call is delivered or dropped, at most
  // `timeout`. Returns whether that happened. Safe from any thread but the sender's.
  bool drain(std::chrono::milliseconds timeout);

  delivery_stats delivery() const;

 protected:
  queued_sink(queue_options options, level min_level);

  // The outcome of one deliver() call.
  struct outcome {
    // Lines from the front of the batch that are done with: taken by the destination
    // (delivered) or, of those, refused by it for good (rejected; counted as dropped,
    // never retried). Lines after `done` are retried after a back-off.
    std::size_t done = 0;
    std::size_t rejected = 0;
  };
  // On the sender thread: sends the batch. Returns how much of it is done; throwing
  // (std::exception) means nothing of it is: the sink counts a failure, reports it on
  // stderr (rate-limited) and retries after a back-off. Never called concurrently.
  virtual outcome deliver(const line_batch& batch) = 0;
  // On the sender thread, when the sender has nothing to do for `idle` (e.g. to close an
  // idle connection). Default: nothing.
  virtual void idle() {}

  // Tells the sender to deliver what it can within options.linger, then to stop; lines
  // still buffered are counted as dropped. Idempotent. A derived sink calls it first in
  // its destructor, before its own members (which deliver() uses) are destroyed.
  void stop() noexcept;

  const queue_options& options() const noexcept { return options_; }

 private:
  void run();

  queue_options options_;
  mutable std::mutex mu_;
  std::condition_variable wake_, progress_;
  std::deque<std::string> queue_;  // under mu_: the buffered lines, oldest first
  std::size_t queued_bytes_ = 0;
  bool flush_requested_ = false, stopping_ = false;
  delivery_stats counts_{};  // under mu_, except buffered (derived)
  std::thread sender_;
};

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
