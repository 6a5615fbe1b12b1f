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
  // After this long with nothing to send, the sender calls idle() (closes a connection).
  std::chrono::milliseconds idle_after{30000};
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
  // The back-end calls flush() after every pass over its queues; a queued sink goes on
  // batching (by size and batch_delay) rather than sending a small batch each time. To
  // wait until the destination has the lines, call drain().
  void flush() final {}

  // Sends what is buffered at once (not waiting for batch_delay) and waits until every
  // line accepted before the call is delivered or dropped, at most `timeout`. Returns
  // whether that happened. Safe from any thread but the sender's. ctxlog::shutdown()
  // calls it with options().linger for every queued sink it was configured with.
  bool drain(std::chrono::milliseconds timeout);

  delivery_stats delivery() const;
  const queue_options& options() const noexcept { return options_; }

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
  // On the sender thread, when it has had nothing to send for options().idle_after (e.g.
  // to close an idle connection). Default: nothing.
  virtual void idle() {}
  // On the sender thread of a fork()ed child, before anything else: forget what was
  // inherited from the parent, above all its connection (close the descriptor; never
  // shutdown(), which would cut the parent's connection too). The child starts with an
  // empty buffer and zero counts: what the parent had buffered is the parent's to send.
  virtual void forked() {}
  // Names the destination in the reports on stderr ("clickhouse 127.0.0.1:8123").
  virtual std::string describe() const { return "queued sink"; }

  // Tells the sender to deliver what it can within options.linger, then to stop; lines
  // still buffered are counted as dropped. Idempotent. A derived sink calls it first in
  // its destructor, before its own members (which deliver() uses) are destroyed.
  void stop() noexcept;

 private:
  friend struct queued_sink_fork;  // fork() handling (sinks/queued_sink.cpp)
  using clock = std::chrono::steady_clock;
  void run();
  void start_sender();  // under mu_
  bool batch_due(clock::time_point now) const noexcept;  // under mu_
  // Under mu_: `lines` of the batch in flight are done, `rejected` of them refused.
  void finish(std::size_t lines, std::size_t bytes, std::size_t rejected, bool given_up);
  void drop_queue();  // under mu_: the sender is stopping; what is left is counted as dropped
  void report_failure(const char* what) noexcept;  // sender thread
  // deliver(), its outcome checked; `failure` says why nothing was done (else stays empty).
  outcome attempt(const line_batch& batch, std::string& failure) noexcept;

  queue_options options_;
  mutable std::mutex mu_;
  std::condition_variable wake_, progress_;
  // Under mu_. queue_ holds the lines not yet taken by the sender, oldest first; the
  // bound (max_buffered_bytes) covers them and the sender's batch in flight.
  std::deque<std::string> queue_;
  std::size_t queue_bytes_ = 0;
  std::size_t inflight_ = 0, inflight_bytes_ = 0;  // the batch in flight
  std::uint64_t entered_ = 0, left_ = 0;  // lines that entered queue_, and of those, done with
  clock::time_point oldest_{};            // when queue_'s oldest line came
  std::uint64_t drain_until_ = 0;         // a drain() wants the lines entered up to here sent now
  bool stopping_ = false, sender_done_ = false;
  clock::time_point stop_deadline_{};
  clock::time_point last_drop_report_{};  // buffer full: reported at most every 10 s
  std::uint64_t unreported_drops_ = 0;
  delivery_stats counts_{};               // buffered = queue_ + inflight_
  std::thread* sender_ = nullptr;         // a pointer: a fork()ed child forgets the parent's
  bool forked_ = false;                   // the child's sender calls forked() first
  // The sender's own (no lock): the failure report's rate limit.
  clock::time_point last_report_{};
  std::uint64_t unreported_ = 0;
  queued_sink* next_ = nullptr;           // the list of live queued sinks (fork handling)
};

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
