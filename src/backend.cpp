// src/backend.cpp — the hot path's hand-off and the back-end thread.
//
// Async mode: each logging thread owns a record_queue (registered on its first log call).
// begin_record() reserves space in it, the front-end encodes the record in place, and
// commit_record() publishes it: no lock, no allocation, no system call. When the calling
// thread's context differs from the last one it sent, a frame entry carrying a counted
// reference goes first, so records themselves carry no context and the back-end renders
// each frame's fields once. The back-end thread drains every queue under the dispatch
// lock, writes the lines and flushes the sinks after each batch.
// Sync mode, and any thread that can no longer use a queue (exiting, or the back-end
// itself), formats and writes on the calling thread under the dispatch lock.
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <mutex>
#include <thread>
#include <vector>

#include "ctxlog/config.hpp"
#include "ctxlog/context.hpp"
#include "ctxlog/log.hpp"
#include "ctxlog/sinks/stdio.hpp"
#include "dispatch.hpp"
#include "queue.hpp"
#include "registry.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace {

constexpr std::uint64_t k_lost_key = ~std::uint64_t{0};  // "no context, flagged as lost"

std::uint32_t thread_id() noexcept {
  thread_local const auto id = static_cast<std::uint32_t>(::syscall(SYS_gettid));
  return id;
}

// A counter with one writer: a plain load and store, no locked instruction on the hot
// path; relaxed, because readers only want an eventually exact count.
void bump(std::atomic<std::uint64_t>& c) noexcept { c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }

// One logging thread's queue and counters, shared by that thread and the back-end.
struct producer {
  producer(std::size_t capacity, std::uint32_t tid) : queue(capacity), thread(tid) {}
  record_queue queue;
  const std::uint32_t thread;
  std::atomic<std::uint64_t> issued{0}, dropped{0};  // written by the producer only
  std::atomic<bool> finished{false};                 // the thread has exited
  // producer only
  std::uint64_t sent_key = 0;  // frame id (or k_lost_key) of the last frame entry
  // back-end only (under the dispatch lock)
  const frame* frame_now = nullptr;
  bool lost_now = false;
  std::uint64_t dropped_reported = 0;
};

enum class pending { none, sync, queued };

constinit thread_local producer* t_producer = nullptr;
constinit thread_local bool t_exited = false;        // this thread's queue is retired
constinit thread_local bool t_in_dispatch = false;   // holds the dispatch lock (or is the back-end)
constinit thread_local pending t_pending = pending::none;
thread_local std::vector<std::byte> t_record;  // the synchronous path's record buffer

// Marks the thread's queue finished when the thread exits; the back-end then drains it
// and lets it go. Log calls made later on this thread take the synchronous path.
struct reaper {
  std::shared_ptr<producer> p;
  ~reaper() {
    if (p) p->finished.store(true, std::memory_order_release);
    t_producer = nullptr;
    t_exited = true;
  }
};
thread_local reaper t_reaper;

class backend {
 public:
  // ---------------- hot path ----------------
  std::byte* begin(std::size_t n) {
    if (mode_.load(std::memory_order_relaxed) == dispatch_mode::async && !t_in_dispatch) {
      producer* p = t_producer ? t_producer : register_thread();
      if (p) return begin_queued(*p, n);
    }
    t_record.resize(n);
    t_pending = pending::sync;
    return t_record.data();
  }

  void commit() noexcept {
    if (t_pending == pending::queued) {
      t_producer->queue.publish();
      bump(t_producer->issued);
    } else if (t_pending == pending::sync) {
      write_now(t_record.data());
    }
    t_pending = pending::none;
  }

  void failed() noexcept {
    if (producer* p = t_producer) {
      bump(p->issued);
      bump(p->dropped);
    } else {
      issued_elsewhere_.fetch_add(1, std::memory_order_relaxed);
      dropped_elsewhere_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // ---------------- control ----------------
  void configure(config c) {
    std::unordered_map<const logger*, std::vector<sink_ptr>> routes;
    for (auto& l : c.loggers)
      if (!l.sinks.empty()) routes[&get_logger(l.name)] = std::move(l.sinks);
    apply_levels(c);
    auto defaults = c.sinks.empty() ? std::vector<sink_ptr>{sinks::stdout_sink()} : std::move(c.sinks);

    std::lock_guard control(control_mu_);
    stop_worker();  // drains everything queued under the old configuration
    {
      auto lk = dispatch_.lock();
      dispatch_.install(std::move(defaults), std::move(routes));
    }
    capacity_.store(c.queue_capacity, std::memory_order_relaxed);
    overflow_.store(c.overflow, std::memory_order_relaxed);
    backend_cpu_ = c.backend_cpu;
    set_crash_handlers(c.crash_handler);
    mode_.store(c.mode, std::memory_order_release);
    if (c.mode == dispatch_mode::async) start_worker();
  }

  void flush() {
    if (t_in_dispatch) return;  // from a sink: the lock holder flushes after this batch
    for (;;) {
      {
        std::unique_lock lk(wake_mu_);
        if (worker_running_) {
          const std::uint64_t ticket = ++flush_requested_;
          wake_cv_.notify_all();
          done_cv_.wait(lk, [&] { return flush_done_ >= ticket || !worker_running_; });
          if (flush_done_ >= ticket) return;
        }
      }
      // No back-end thread: drain what async mode left queued, here. Under control_mu_ no
      // back-end can start meanwhile; if one started before we got it, ask it instead.
      std::lock_guard control(control_mu_);
      if (worker_running_flag_.load(std::memory_order_acquire)) continue;
      drain_here();
      return;
    }
  }

  void shutdown() {
    std::lock_guard control(control_mu_);
    stop_worker();
    mode_.store(dispatch_mode::sync, std::memory_order_release);
    {
      auto lk = dispatch_.lock();
      dispatch_.close();
    }
    drain_here();  // a record a producer published after the last drain: counted as dropped
  }

  stats get() {
    stats s{issued_elsewhere_.load(std::memory_order_relaxed), dispatch_.written.load(std::memory_order_relaxed),
            dropped_elsewhere_.load(std::memory_order_relaxed), dispatch_.sink_errors.load(std::memory_order_relaxed)};
    std::lock_guard lk(queues_mu_);
    for (const auto& p : queues_) {
      s.issued += p->issued.load(std::memory_order_relaxed);
      s.dropped += p->dropped.load(std::memory_order_relaxed);
    }
    s.issued += retired_issued_;
    s.dropped += retired_dropped_;
    return s;
  }

  // At exit: drain and stop the thread; later log calls (static destructors) are
  // written synchronously.
  void at_exit() {
    std::lock_guard control(control_mu_);
    stop_worker();
    mode_.store(dispatch_mode::sync, std::memory_order_release);
    auto lk = dispatch_.lock();
    dispatch_.flush_sinks(true);
  }

  // In a fatal-signal handler: have the back-end write out everything queued, waiting at
  // most a few seconds. Uses only async-signal-safe calls.
  void crash_drain() noexcept {
    if (!worker_running_flag_.load(std::memory_order_acquire) || t_in_dispatch) return;
    crash_requested_.store(true, std::memory_order_release);
    for (int i = 0; i < 3000 && !crash_done_.load(std::memory_order_acquire); ++i) {
      const timespec ms{0, 1000000};
      ::nanosleep(&ms, nullptr);
    }
  }

  void after_fork_in_child() noexcept {
    // The back-end thread does not exist in the child: log synchronously there until the
    // child configures ctxlog again (which starts a new back-end thread).
    new (&worker_) std::thread();  // the parent's handle means nothing here; never join it
    worker_running_ = false;
    worker_running_flag_.store(false, std::memory_order_relaxed);
    mode_.store(dispatch_mode::sync, std::memory_order_relaxed);
  }
  void lock_for_fork() {
    control_mu_.lock();
    queues_mu_.lock();
  }
  void unlock_after_fork() {
    queues_mu_.unlock();
    control_mu_.unlock();
  }

 private:
  producer* register_thread() {
    if (t_exited) return nullptr;
    auto p = std::make_shared<producer>(capacity_.load(std::memory_order_relaxed), thread_id());
    {
      std::lock_guard lk(queues_mu_);
      queues_.push_back(p);
      ++queues_version_;
    }
    t_producer = p.get();
    t_reaper.p = std::move(p);
    if (!worker_running_flag_.load(std::memory_order_acquire)) {
      std::lock_guard control(control_mu_);
      if (mode_.load(std::memory_order_relaxed) == dispatch_mode::async) start_worker();
    }
    return t_producer;
  }

  std::byte* begin_queued(producer& p, std::size_t n) {
    const frame* f = current_frame();
    std::uint64_t key = f ? f->id : 0;
    bool lost = false;
    if (!f && context_lost()) {
      lost = true;
      key = k_lost_key;
    }
    if (key != p.sent_key) {
      std::byte* e = reserve(p, 24);
      if (!e) return drop(p);
      const entry_header h{24, entry_kind::frame};
      std::memcpy(e, &h, sizeof h);
      if (f) retain(f);  // released by the back-end when the next frame entry replaces it
      std::memcpy(e + 8, &f, sizeof f);
      e[16] = static_cast<std::byte>(lost);
      p.sent_key = key;
    }
    const std::size_t total = align8(sizeof(entry_header) + n);
    if (total <= p.queue.max_entry()) {
      std::byte* e = reserve(p, total);
      if (!e) return drop(p);
      const entry_header h{static_cast<std::uint32_t>(total), entry_kind::record};
      std::memcpy(e, &h, sizeof h);
      t_pending = pending::queued;
      return e + sizeof h;
    }
    // Larger than a quarter of the ring: the record goes to the heap, its pointer into
    // the ring, so it keeps its place in this thread's order.
    std::byte* e = reserve(p, 16);
    if (!e) return drop(p);
    auto* rec = new (std::nothrow) std::byte[n];
    const entry_header h{16, rec ? entry_kind::heap_record : entry_kind::padding};
    std::memcpy(e, &h, sizeof h);
    if (!rec) return drop(p);
    std::memcpy(e + 8, &rec, sizeof rec);
    t_pending = pending::queued;
    return rec;
  }

  std::byte* reserve(producer& p, std::size_t n) noexcept {
    std::byte* e = p.queue.reserve(n);
    if (e || overflow_.load(std::memory_order_relaxed) == overflow_policy::drop) return e;
    // overflow_policy::block: wait for the back-end to make room.
    for (unsigned spins = 0; !(e = p.queue.reserve(n)); ++spins) {
      if (!worker_running_flag_.load(std::memory_order_acquire)) return nullptr;
      if (spins < 256) {
        std::this_thread::yield();
      } else {
        const timespec pause{0, 50000};
        ::nanosleep(&pause, nullptr);
      }
    }
    return e;
  }

  std::byte* drop(producer& p) noexcept {
    // A frame entry reserved just before must still reach the back-end, which owns the
    // reference it carries; everything reserved so far is complete, so publish it.
    p.queue.publish();
    bump(p.issued);
    bump(p.dropped);
    t_pending = pending::none;
    return nullptr;
  }

  void write_now(const std::byte* rec) noexcept {
    issued_elsewhere_.fetch_add(1, std::memory_order_relaxed);
    if (t_in_dispatch) {  // logged from inside a sink: the lock is ours already
      dropped_elsewhere_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    t_in_dispatch = true;
    try {
      auto lk = dispatch_.lock();
      if (dispatch_.closed()) {
        dropped_elsewhere_.fetch_add(1, std::memory_order_relaxed);
      } else {
        dispatch_.write(rec, current_frame(), context_lost(), thread_id());
        dispatch_.flush_sinks();  // synchronous: the line is out when the call returns
      }
    } catch (...) {
      dropped_elsewhere_.fetch_add(1, std::memory_order_relaxed);
    }
    t_in_dispatch = false;
  }

  // ---------------- the back-end thread ----------------
  void start_worker() {  // under control_mu_
    std::lock_guard lk(wake_mu_);
    if (worker_running_) return;
    stop_requested_ = false;
    worker_running_ = true;
    worker_running_flag_.store(true, std::memory_order_release);
    worker_ = std::thread([this] { run(); });
    if (backend_cpu_ >= 0 && backend_cpu_ < CPU_SETSIZE) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(backend_cpu_, &set);
      ::pthread_setaffinity_np(worker_.native_handle(), sizeof set, &set);  // best effort
    }
    static const bool registered = [] {
      std::atexit([] { the_backend().at_exit(); });
      return true;
    }();
    (void)registered;
  }

  void stop_worker() {  // under control_mu_
    {
      std::lock_guard lk(wake_mu_);
      if (!worker_running_) return;
      stop_requested_ = true;
      wake_cv_.notify_all();
    }
    worker_.join();
    std::lock_guard lk(wake_mu_);
    worker_running_ = false;
    worker_running_flag_.store(false, std::memory_order_release);
    done_cv_.notify_all();
  }

  void run() {
    t_in_dispatch = true;  // its own log calls (from sinks) must not wait on its own queue
    sigset_t pipe;  // a closed pipe must come back as EPIPE, not kill the process
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    unsigned idle_passes = 0;
    for (;;) {
      std::uint64_t ticket;
      bool stopping;
      {
        std::lock_guard lk(wake_mu_);
        ticket = flush_requested_;
        stopping = stop_requested_;
      }
      const bool crash = crash_requested_.load(std::memory_order_acquire);
      const std::size_t n = drain_all();
      if (crash) crash_done_.store(true, std::memory_order_release);
      if (ticket > flush_done_snapshot_) {  // flush() promises every sink flushed, written to or not
        auto lk = dispatch_.lock();
        dispatch_.flush_sinks(true);
      }
      {
        std::unique_lock lk(wake_mu_);
        if (ticket > flush_done_) {
          flush_done_ = ticket;
          done_cv_.notify_all();
        }
        flush_done_snapshot_ = flush_done_;
        if (stopping && n == 0) return;
        // Idle: poll every 0.5 ms at first, every 5 ms after a while. Producers never
        // signal (no system call on the hot path); flush() and stop do.
        idle_passes = n == 0 ? idle_passes + 1 : 0;
        if (n == 0 && flush_requested_ == flush_done_ && !stop_requested_)
          wake_cv_.wait_for(lk, idle_passes < 200 ? std::chrono::microseconds(500) : std::chrono::microseconds(5000));
      }
    }
  }

  // Drains every queue up to what was published when it is reached, writes the lines
  // and flushes the sinks written to. Returns the number of records written.
  std::size_t drain_all() {
    if (seen_version_ != queues_version_.load(std::memory_order_acquire)) {
      std::lock_guard lk(queues_mu_);
      snapshot_ = queues_;
      seen_version_ = queues_version_.load(std::memory_order_relaxed);
    }
    std::size_t n = 0;
    bool any_finished = false;
    {
      auto lk = dispatch_.lock();
      for (const auto& p : snapshot_) {
        n += drain(*p);
        any_finished |= p->finished.load(std::memory_order_acquire);
      }
      dispatch_.flush_sinks();
    }
    if (any_finished) retire_finished();
    return n;
  }

  std::size_t drain(producer& p) {
    record_queue& q = p.queue;
    const std::size_t end = q.readable();
    std::size_t pos = q.read_position(), n = 0, since_release = 0;
    while (pos != end) {
      entry_header h;
      std::memcpy(&h, q.at(pos), sizeof h);
      const std::byte* body = q.at(pos) + sizeof h;
      switch (h.kind) {
        case entry_kind::record:
          write_record(body, p);
          ++n;
          break;
        case entry_kind::heap_record: {
          std::byte* rec;
          std::memcpy(&rec, body, sizeof rec);
          write_record(rec, p);
          delete[] rec;
          ++n;
          break;
        }
        case entry_kind::frame: {
          const frame* f;
          std::memcpy(&f, body, sizeof f);
          if (p.frame_now) release(p.frame_now);
          p.frame_now = f;
          p.lost_now = body[8] != std::byte{0};
          break;
        }
        case entry_kind::padding: break;
      }
      pos += h.size;
      if (++since_release == 128) {  // let a producer blocked on a full queue go on
        q.release(pos);
        since_release = 0;
      }
    }
    q.release(pos);
    const std::uint64_t dropped = p.dropped.load(std::memory_order_relaxed);
    if (dropped != p.dropped_reported && !dispatch_.closed()) {
      const auto count = dropped - p.dropped_reported;
      p.dropped_reported = dropped;
      const auto msg = fmt::format("{} records dropped (queue full)", count);
      dispatch_.notice(level::warn, msg, "dropped", count, p.thread);
    }
    return n;
  }

  void write_record(const std::byte* rec, producer& p) {
    try {
      if (dispatch_.closed()) throw std::logic_error("closed");  // left over after shutdown()
      dispatch_.write(rec, p.frame_now, p.lost_now, p.thread);
    } catch (...) {
      dropped_elsewhere_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // Lets go of the queues of exited threads once they are empty.
  void retire_finished() {
    std::lock_guard lk(queues_mu_);
    std::erase_if(queues_, [this](const std::shared_ptr<producer>& p) {
      if (!p->finished.load(std::memory_order_acquire) || !p->queue.empty()) return false;
      retired_issued_ += p->issued.load(std::memory_order_relaxed);
      retired_dropped_ += p->dropped.load(std::memory_order_relaxed);
      if (p->frame_now) release(p->frame_now);
      p->frame_now = nullptr;
      return true;
    });
    ++queues_version_;
  }

  // With no back-end thread (sync mode, after shutdown), under control_mu_: drains the
  // queues async mode left behind on the calling thread, then flushes every sink.
  void drain_here() {
    t_in_dispatch = true;
    try {
      drain_all();
      auto lk = dispatch_.lock();
      dispatch_.flush_sinks(true);
    } catch (...) {
    }
    t_in_dispatch = false;
  }

  static void set_crash_handlers(bool on);

 public:
  static backend& the_backend() {
    static auto* b = new backend();  // never destroyed: usable from static destructors
    return *b;
  }

 private:
  dispatch dispatch_;
  std::atomic<dispatch_mode> mode_{dispatch_mode::async};
  std::atomic<std::size_t> capacity_{1u << 20};
  std::atomic<overflow_policy> overflow_{overflow_policy::block};
  int backend_cpu_ = -1;  // under control_mu_

  std::mutex control_mu_;  // configure / shutdown / start / stop

  std::mutex queues_mu_;
  std::vector<std::shared_ptr<producer>> queues_;
  std::atomic<std::uint64_t> queues_version_{0};
  std::uint64_t retired_issued_ = 0, retired_dropped_ = 0;
  std::vector<std::shared_ptr<producer>> snapshot_;  // back-end's copy of queues_
  std::uint64_t seen_version_ = ~std::uint64_t{0};

  std::mutex wake_mu_;
  std::condition_variable wake_cv_, done_cv_;
  std::uint64_t flush_requested_ = 0, flush_done_ = 0;
  std::uint64_t flush_done_snapshot_ = 0;  // back-end thread only: flush_done_ as last seen
  bool stop_requested_ = false;
  bool worker_running_ = false;
  std::atomic<bool> worker_running_flag_{false};  // worker_running_, readable without the lock
  std::thread worker_;
  std::atomic<bool> crash_requested_{false}, crash_done_{false};

  std::atomic<std::uint64_t> issued_elsewhere_{0}, dropped_elsewhere_{0};
};

// ---------------- crash handling ----------------
constexpr int k_fatal_signals[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};
struct sigaction g_previous[sizeof k_fatal_signals / sizeof k_fatal_signals[0]];
std::terminate_handler g_previous_terminate = nullptr;

void on_fatal_signal(int sig) {
  backend::the_backend().crash_drain();
  for (std::size_t i = 0; i < std::size(k_fatal_signals); ++i)
    if (k_fatal_signals[i] == sig) ::sigaction(sig, &g_previous[i], nullptr);
  // Re-raised with the previous action in place; delivered when this handler returns
  // (or, for a hardware fault, when the faulting instruction runs again).
  ::raise(sig);
}

void on_terminate() {
  try {
    ctxlog::flush();
  } catch (...) {
  }
  if (g_previous_terminate) g_previous_terminate();
  std::abort();
}

// Installs the handlers (on) or takes them out again (off), restoring what was there
// before, unless someone replaced ours meanwhile. Under control_mu_.
void backend::set_crash_handlers(bool on) {
  static bool installed = false;
  if (on == installed) return;
  installed = on;
  for (std::size_t i = 0; i < std::size(k_fatal_signals); ++i) {
    if (on) {
      struct sigaction sa {};
      sa.sa_handler = on_fatal_signal;
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = SA_RESTART;
      ::sigaction(k_fatal_signals[i], &sa, &g_previous[i]);
    } else {
      struct sigaction now {};
      ::sigaction(k_fatal_signals[i], nullptr, &now);
      if (now.sa_handler == on_fatal_signal) ::sigaction(k_fatal_signals[i], &g_previous[i], nullptr);
    }
  }
  if (on) {
    g_previous_terminate = std::set_terminate(on_terminate);
  } else if (std::get_terminate() == on_terminate) {
    std::set_terminate(g_previous_terminate);
  }
}

[[maybe_unused]] const bool g_fork_handlers = [] {
  ::pthread_atfork([] { backend::the_backend().lock_for_fork(); },
                   [] { backend::the_backend().unlock_after_fork(); },
                   [] {
                     backend::the_backend().unlock_after_fork();
                     backend::the_backend().after_fork_in_child();
                   });
  return true;
}();

}  // namespace

std::byte* begin_record(std::size_t n) { return backend::the_backend().begin(n); }
void commit_record() noexcept { backend::the_backend().commit(); }
void emit_failed() noexcept { backend::the_backend().failed(); }

#if !(defined(__x86_64__) || defined(__i386__))
std::uint64_t timestamp() noexcept {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}
#endif

}  // namespace detail

void configure(config c) { detail::backend::the_backend().configure(std::move(c)); }
void flush() { detail::backend::the_backend().flush(); }
void shutdown() { detail::backend::the_backend().shutdown(); }
stats get_stats() noexcept {
  try {
    return detail::backend::the_backend().get();
  } catch (...) {
    return {};
  }
}

}  // namespace v1
}  // namespace ctxlog
