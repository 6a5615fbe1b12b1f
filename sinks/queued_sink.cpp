// sinks/queued_sink.cpp — the buffer and sender thread of sinks whose destination is a
// server (ctxlog/sinks/queued_sink.hpp), and their fork() handling.
#include "ctxlog/sinks/queued_sink.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <new>
#include <vector>

#include "../src/sink_router.hpp"

namespace ctxlog {
inline namespace v1 {
namespace sinks {
namespace {

constexpr auto k_report_interval = std::chrono::seconds(10);

void to_stderr(const std::string& msg) noexcept {
  if (!msg.empty()) [[maybe_unused]] auto r = ::write(2, msg.data(), msg.size());
}

// The live queued sinks, for fork(): locked in the back-end's prepare handler after the
// router's lock (a sink's write() runs under it), so the lock order is router, this list,
// each sink's mutex.
std::mutex g_sinks_mu;
queued_sink* g_sinks = nullptr;

queue_options checked(queue_options o) noexcept {
  o.batch_bytes = std::max<std::size_t>(o.batch_bytes, 1);
  o.batch_lines = std::max<std::size_t>(o.batch_lines, 1);
  o.retry_min = std::max(o.retry_min, std::chrono::milliseconds(1));
  o.retry_max = std::max(o.retry_max, o.retry_min);
  o.batch_delay = std::max(o.batch_delay, std::chrono::milliseconds(0));
  o.linger = std::max(o.linger, std::chrono::milliseconds(0));
  o.idle_after = std::max(o.idle_after, std::chrono::milliseconds(1));
  return o;
}

}  // namespace

struct queued_sink_fork {
  static void prepare() {
    g_sinks_mu.lock();
    for (queued_sink* s = g_sinks; s; s = s->next_) s->mu_.lock();
  }
  static void in_parent() {
    for (queued_sink* s = g_sinks; s; s = s->next_) s->mu_.unlock();
    g_sinks_mu.unlock();
  }
  // The sender threads do not exist in the child, and what the sinks buffered is the
  // parent's to send. Each sink starts empty; its sender starts with the child's first
  // line, and calls forked() before anything else.
  static void in_child() {
    for (queued_sink* s = g_sinks; s; s = s->next_) {
      s->queue_.clear();
      s->queue_bytes_ = s->inflight_ = s->inflight_bytes_ = 0;
      s->entered_ = s->left_ = s->drain_until_ = 0;
      s->counts_ = {};
      s->unreported_drops_ = 0;
      s->sender_ = nullptr;  // the parent's thread: never joined here (its handle is leaked)
      s->sender_done_ = false;
      s->forked_ = true;
      // A condition variable may hold the state of the parent's waiters: start afresh.
      new (&s->wake_) std::condition_variable();
      new (&s->progress_) std::condition_variable();
      s->mu_.unlock();
    }
    g_sinks_mu.unlock();
    detail::sink_line_totals.dropped.store(0, std::memory_order_relaxed);
    detail::sink_line_totals.buffered.store(0, std::memory_order_relaxed);
  }
};

queued_sink::queued_sink(queue_options options, level min_level) : sink(min_level), options_(checked(options)) {
  std::lock_guard lk(g_sinks_mu);
  next_ = g_sinks;
  g_sinks = this;
}

queued_sink::~queued_sink() { stop(); }

void queued_sink::start_sender() {
  // Started with the first line rather than in the constructor: deliver() is the derived
  // sink's, which is complete only once its constructor returned.
  sender_ = new std::thread([this] { run(); });
}

void queued_sink::write(const log_line& line) {
  std::unique_lock lk(mu_);
  ++counts_.accepted;
  const std::size_t n = line.text.size();
  if (stopping_ || queue_bytes_ + inflight_bytes_ + n > options_.max_buffered_bytes) {
    ++counts_.dropped;
    detail::sink_line_totals.dropped.fetch_add(1, std::memory_order_relaxed);
    ++unreported_drops_;
    const auto now = clock::now();
    if (stopping_ || (last_drop_report_.time_since_epoch().count() != 0 && now - last_drop_report_ < k_report_interval))
      return;
    last_drop_report_ = now;
    const std::uint64_t d = unreported_drops_;
    unreported_drops_ = 0;
    lk.unlock();
    to_stderr("ctxlog: " + describe() + ": buffer full (" + std::to_string(options_.max_buffered_bytes) +
              " bytes), the destination is not keeping up: " + std::to_string(d) +
              " line(s) dropped since the last report\n");
    return;
  }
  if (!sender_) start_sender();
  if (queue_.empty()) oldest_ = clock::now();
  queue_.emplace_back(line.text);
  queue_bytes_ += n;
  ++entered_;
  detail::sink_line_totals.buffered.fetch_add(1, std::memory_order_relaxed);
  if (queue_.size() == options_.batch_lines || (queue_bytes_ >= options_.batch_bytes && queue_bytes_ - n < options_.batch_bytes))
    wake_.notify_one();
}

bool queued_sink::drain(std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  const std::uint64_t target = entered_;
  if (left_ >= target) return true;
  drain_until_ = std::max(drain_until_, target);
  wake_.notify_one();
  return progress_.wait_for(lk, timeout, [&] { return left_ >= target; });
}

delivery_stats queued_sink::delivery() const {
  std::lock_guard lk(mu_);
  delivery_stats d = counts_;
  d.buffered = queue_.size() + inflight_;
  return d;
}

bool queued_sink::batch_due(clock::time_point now) const noexcept {
  return stopping_ || drain_until_ > left_ || queue_.size() >= options_.batch_lines ||
         queue_bytes_ >= options_.batch_bytes || now - oldest_ >= options_.batch_delay;
}

void queued_sink::finish(std::size_t lines, std::size_t bytes, std::size_t rejected, bool given_up) {
  if (given_up) {
    counts_.dropped += lines;
  } else {
    counts_.delivered += lines - rejected;
    counts_.dropped += rejected;
  }
  inflight_ -= lines;
  inflight_bytes_ -= bytes;
  left_ += lines;
  detail::sink_line_totals.buffered.fetch_sub(lines, std::memory_order_relaxed);
  detail::sink_line_totals.dropped.fetch_add(given_up ? lines : rejected, std::memory_order_relaxed);
  progress_.notify_all();
}

void queued_sink::drop_queue() {
  const std::size_t n = queue_.size();
  queue_.clear();
  queue_bytes_ = 0;
  counts_.dropped += n;
  left_ += n;
  detail::sink_line_totals.buffered.fetch_sub(n, std::memory_order_relaxed);
  detail::sink_line_totals.dropped.fetch_add(n, std::memory_order_relaxed);
  progress_.notify_all();
}

void queued_sink::report_failure(const char* what) noexcept {
  ++unreported_;
  const auto now = clock::now();
  if (last_report_.time_since_epoch().count() != 0 && now - last_report_ < k_report_interval) return;
  last_report_ = now;
  try {
    to_stderr("ctxlog: " + describe() + ": delivery failed: " + what + " (" + std::to_string(unreported_) +
              " failed attempt(s) since the last report); retrying\n");
  } catch (...) {
  }
  unreported_ = 0;
}

queued_sink::outcome queued_sink::attempt(const line_batch& batch, std::string& failure) noexcept {
  try {
    outcome o = deliver(batch);
    o.done = std::min(o.done, batch.lines.size());
    o.rejected = std::min(o.rejected, o.done);
    if (o.done == 0) failure = "the destination took none of the batch";
    return o;
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "unknown exception";
  }
  if (failure.empty()) failure = "an exception without a message";
  return {};
}

void queued_sink::run() {
  std::unique_lock lk(mu_);
  if (forked_) {
    forked_ = false;
    lk.unlock();
    try {
      forked();
    } catch (...) {
    }
    lk.lock();
  }
  std::vector<std::string> batch;
  std::vector<std::string_view> views;
  auto backoff = options_.retry_min;
  bool failing = false;
  clock::time_point last_active{};  // zero: nothing to close (no delivery since the last idle())
  for (;;) {
    // Wait for a batch that is due, or for the stop.
    for (;;) {
      const auto now = clock::now();
      if (stopping_ && (queue_.empty() || now >= stop_deadline_)) {
        drop_queue();
        sender_done_ = true;
        progress_.notify_all();
        return;
      }
      if (!queue_.empty() && batch_due(now)) break;
      if (queue_.empty() && last_active != clock::time_point{} && now - last_active >= options_.idle_after) {
        last_active = {};
        lk.unlock();
        try {
          idle();
        } catch (...) {
        }
        lk.lock();
        continue;
      }
      auto until = clock::time_point::max();
      if (!queue_.empty()) until = oldest_ + options_.batch_delay;
      else if (last_active != clock::time_point{}) until = last_active + options_.idle_after;
      if (stopping_) until = std::min(until, stop_deadline_);
      if (until == clock::time_point::max()) wake_.wait(lk);
      else wake_.wait_until(lk, until);
    }
    // Take a batch: whole lines from the front, at least one.
    std::size_t bytes = 0;
    while (!queue_.empty() && batch.size() < options_.batch_lines &&
           (batch.empty() || bytes + queue_.front().size() <= options_.batch_bytes)) {
      bytes += queue_.front().size();
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    queue_bytes_ -= bytes;
    inflight_ = batch.size();
    inflight_bytes_ = bytes;
    if (!queue_.empty()) oldest_ = clock::now();  // at the latest: the rest waits at most batch_delay more
    lk.unlock();
    views.assign(batch.begin(), batch.end());

    std::size_t start = 0;
    while (start < batch.size()) {
      const std::span<const std::string_view> rest(views.data() + start, views.size() - start);
      std::size_t rest_bytes = 0;
      for (const auto v : rest) rest_bytes += v.size();
      std::string failure;
      const outcome o = attempt(line_batch{rest, rest_bytes}, failure);
      if (failure.empty()) {
        std::size_t done_bytes = 0;
        for (std::size_t i = 0; i < o.done; ++i) done_bytes += rest[i].size();
        lk.lock();
        finish(o.done, done_bytes, o.rejected, false);
        lk.unlock();
        start += o.done;
        last_active = clock::now();
        if (failing) {
          failing = false;
          backoff = options_.retry_min;
          try {
            to_stderr("ctxlog: " + describe() + ": delivering again\n");
          } catch (...) {
          }
          last_report_ = {};
        }
        continue;
      }
      lk.lock();
      ++counts_.failures;
      lk.unlock();
      failing = true;
      report_failure(failure.c_str());
      // Back off; a stop shortens the wait to what is left of the linger.
      lk.lock();
      const auto retry_at = clock::now() + backoff;
      while (!(stopping_ && clock::now() >= stop_deadline_) && clock::now() < retry_at)
        wake_.wait_until(lk, stopping_ ? std::min(retry_at, stop_deadline_) : retry_at);
      if (stopping_ && clock::now() >= stop_deadline_) {
        std::size_t left_bytes = 0;
        for (std::size_t i = start; i < batch.size(); ++i) left_bytes += views[i].size();
        finish(batch.size() - start, left_bytes, 0, true);
        lk.unlock();
        break;
      }
      lk.unlock();
      backoff = std::min(backoff * 2, options_.retry_max);
    }
    batch.clear();
    views.clear();
    lk.lock();
  }
}

void queued_sink::stop() noexcept {
  std::unique_lock lk(mu_);
  if (!stopping_) {
    stopping_ = true;
    stop_deadline_ = clock::now() + options_.linger;
    wake_.notify_all();
  }
  std::thread* t = std::exchange(sender_, nullptr);
  lk.unlock();
  if (t && t->get_id() != std::this_thread::get_id()) {
    t->join();
    delete t;
  } else if (t) {
    t->detach();  // stop() from deliver(): the sender ends when it returns
    delete t;
  }
  {
    std::lock_guard g(g_sinks_mu);
    for (queued_sink** p = &g_sinks; *p; p = &(*p)->next_)
      if (*p == this) {
        *p = next_;
        break;
      }
  }
}

}  // namespace sinks

namespace detail {
void queued_sinks_prepare_fork() { sinks::queued_sink_fork::prepare(); }
void queued_sinks_after_fork(bool child) {
  if (child) sinks::queued_sink_fork::in_child();
  else sinks::queued_sink_fork::in_parent();
}
}  // namespace detail

}  // namespace v1
}  // namespace ctxlog
