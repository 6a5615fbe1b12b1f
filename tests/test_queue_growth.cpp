// Growing per-thread queues: a ring starts at queue_initial_capacity, doubles through
// link entries up to queue_capacity, and nothing is lost, reordered or kept past the
// thread's exit on the way. Each case logs from a new thread, whose queue is created
// with the configuration of that moment.
#include <doctest/doctest.h>

#include <atomic>
#include <barrier>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ctxlog/ctxlog.hpp"
#include "support.hpp"

namespace {

// Holds the back-end inside write() until opened, so the producers' rings fill up.
class gate_sink final : public ctxlog::sink {
 public:
  void write(const ctxlog::log_line& line) override {
    std::unique_lock lk(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lk, [this] { return open_; });
    lines_.emplace_back(line.text);
  }
  void wait_entered() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [this] { return entered_; });
  }
  void open() {
    std::lock_guard lk(mu_);
    open_ = true;
    cv_.notify_all();
  }
  std::vector<nlohmann::json> parsed() const {
    std::lock_guard lk(mu_);
    std::vector<nlohmann::json> out;
    for (const auto& l : lines_) out.push_back(ctxlog_test::parse_line(l));
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false, open_ = false;
  std::vector<std::string> lines_;
};

constexpr std::uint64_t KiB = 1024;

// The "seq" values of the lines that have one, in the order written.
std::vector<long> seqs(const std::vector<nlohmann::json>& lines) {
  std::vector<long> out;
  for (const auto& j : lines)
    if (j.contains("seq")) out.push_back(j["seq"].get<long>());
  return out;
}

}  // namespace

TEST_SUITE("queue_growth") {
  TEST_CASE("a burst larger than the first ring grows the queue and loses nothing") {
    auto sink = std::make_shared<gate_sink>();
    ctxlog::configure({.sinks = {sink},
                       .queue_capacity = 1u << 20,
                       .queue_initial_capacity = 16 * KiB,
                       .overflow = ctxlog::overflow_policy::drop});
    const auto before = ctxlog::get_stats();
    std::uint64_t held = 0;
    std::thread([&] {
      LOG_INFO("first");
      sink->wait_entered();  // the back-end is stuck in the sink: nothing is read now
      for (long i = 0; i < 6000; ++i) LOG_INFO("order {} created", i, ctxlog::kv("seq", i));
      held = ctxlog::get_stats().queue_bytes - before.queue_bytes;
    }).join();
    // 6000 records of more than 64 bytes each (record header, two integers), all unread:
    // the rings 16, 32, ... KiB hold them all, and stay below twice the capacity.
    CHECK(held >= 6000 * 64);
    CHECK(held < 2 * 1024 * KiB);
    sink->open();
    ctxlog::flush();
    const auto after = ctxlog::get_stats();
    CHECK(after.dropped == before.dropped);
    CHECK(after.issued - before.issued == 6001);
    CHECK(after.written - before.written == 6001);
    const auto s = seqs(sink->parsed());
    REQUIRE(s.size() == 6000);
    for (long i = 0; i < 6000; ++i) CHECK_MESSAGE(s[static_cast<std::size_t>(i)] == i, "line " << i);
    // The thread exited and its queue was drained: its rings are freed.
    CHECK(after.queue_bytes == before.queue_bytes);
  }

  TEST_CASE("only a full queue of queue_capacity bytes drops, and the unread rings stay bounded") {
    auto sink = std::make_shared<gate_sink>();
    ctxlog::configure({.sinks = {sink},
                       .queue_capacity = 64 * KiB,
                       .queue_initial_capacity = 4 * KiB,
                       .overflow = ctxlog::overflow_policy::drop});
    const auto before = ctxlog::get_stats();
    std::uint64_t held = 0, dropped = 0;
    std::thread([&] {
      LOG_INFO("first");
      sink->wait_entered();
      for (long i = 0; i < 20000; ++i) LOG_INFO("order {} created", i, ctxlog::kv("seq", i));
      const auto now = ctxlog::get_stats();
      held = now.queue_bytes - before.queue_bytes;
      dropped = now.dropped - before.dropped;
    }).join();
    // 4 + 8 + 16 + 32 + 64 KiB: every ring the back-end has not reached yet.
    CHECK(held == 124 * KiB);
    CHECK(dropped > 0);
    sink->open();
    ctxlog::flush();
    LOG_INFO("after");  // the drop notice goes out with the next pass
    ctxlog::flush();
    const auto after = ctxlog::get_stats();
    CHECK(after.dropped - before.dropped == dropped);
    CHECK(after.issued - before.issued == 20002);
    CHECK(after.written - before.written + dropped == 20002);  // the drop notice is not a record
    const auto lines = sink->parsed();
    const auto s = seqs(lines);
    CHECK(s.size() == 20000 - dropped);
    for (std::size_t i = 1; i < s.size(); ++i) CHECK(s[i] > s[i - 1]);
    std::uint64_t noticed = 0;
    for (const auto& j : lines)
      if (j["logger"] == "ctxlog" && j.contains("dropped")) noticed += j["dropped"].get<std::uint64_t>();
    CHECK(noticed == dropped);
  }

  TEST_CASE("a record larger than a quarter of the first ring grows the ring to fit it") {
    auto sink = std::make_shared<ctxlog_test::capture_sink>();
    ctxlog::configure({.sinks = {sink}, .queue_capacity = 1u << 20, .queue_initial_capacity = 16 * KiB});
    const std::string mid(10000, 'm'), big(300000, 'b');  // 10 kB fits a 64 KiB ring; 300 kB goes to the heap
    std::thread([&] {
      LOG_INFO("a", ctxlog::kv("seq", 0));
      LOG_INFO("{}", mid, ctxlog::kv("seq", 1));
      LOG_INFO("b", ctxlog::kv("seq", 2));
      LOG_INFO("{}", big, ctxlog::kv("seq", 3));
      LOG_INFO("c", ctxlog::kv("seq", 4));
    }).join();
    ctxlog::flush();
    const auto lines = sink->parsed();
    REQUIRE(lines.size() == 5);
    for (std::size_t i = 0; i < 5; ++i) CHECK(lines[i]["seq"] == i);
    CHECK(lines[1]["msg"] == mid);
    CHECK(lines[3]["msg"] == big);
  }

  TEST_CASE("two threads whose rings grow are merged in timestamp order across the links") {
    // Every record is in the rings before the pass that writes them begins (the sink
    // holds the back-end until both threads are done), so the merge must come out in
    // exact timestamp order, each thread's lines in its own order, over rings of 4 KiB,
    // 8 KiB, ... linked while nothing was read.
    auto sink = std::make_shared<gate_sink>();
    sink->set_layout(ctxlog::json_layout({.precision = ctxlog::time_precision::ns, .format = ctxlog::time_format::epoch}));
    ctxlog::configure({.sinks = {sink},
                       .queue_capacity = 1u << 20,
                       .queue_initial_capacity = 4 * KiB,
                       .overflow = ctxlog::overflow_policy::drop});
    constexpr long n = ctxlog_test::sanitized ? 1000 : 4000;
    LOG_INFO("first");
    sink->wait_entered();
    auto writer = [](long t) {
      for (long k = 0; k < n; ++k) LOG_INFO("line {}", k, ctxlog::kv("t", t), ctxlog::kv("seq", k));
    };
    std::thread a(writer, 0), b(writer, 1);
    a.join();
    b.join();
    sink->open();
    ctxlog::flush();
    auto lines = sink->parsed();
    REQUIRE(lines.size() == static_cast<std::size_t>(2 * n + 1));
    lines.erase(lines.begin());  // "first"
    long next[2] = {0, 0}, wrong = 0, inversions = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const long t = lines[i]["t"].get<long>();
      wrong += lines[i]["seq"].get<long>() != next[t]++;
      if (i > 0) inversions += lines[i - 1]["ts"].get<long long>() > lines[i]["ts"].get<long long>();
    }
    CHECK(wrong == 0);
    CHECK(inversions == 0);
    CHECK(next[0] == n);
    CHECK(next[1] == n);
  }

  TEST_CASE("many live threads that log a few lines hold one small ring each") {
    auto sink = std::make_shared<ctxlog_test::capture_sink>();
    ctxlog::configure({.sinks = {sink}, .queue_capacity = 1u << 20, .queue_initial_capacity = 16 * KiB});
    ctxlog::flush();
    const auto before = ctxlog::get_stats();
    constexpr int n = ctxlog_test::sanitized ? 100 : 500;
    std::barrier logged(n + 1), done(n + 1);
    std::vector<std::thread> ts;
    for (int i = 0; i < n; ++i)
      ts.emplace_back([&, i] {
        for (int k = 0; k < 5; ++k) LOG_INFO("thread {} line {}", i, k);
        logged.arrive_and_wait();
        done.arrive_and_wait();
      });
    logged.arrive_and_wait();
    const auto live = ctxlog::get_stats();
    done.arrive_and_wait();
    for (auto& t : ts) t.join();
    ctxlog::flush();
    const auto after = ctxlog::get_stats();
    // 16 KiB each, where a fixed ring would have been 1 MiB each.
    CHECK(live.queue_bytes - before.queue_bytes == static_cast<std::uint64_t>(n) * 16 * KiB);
    CHECK(after.queue_bytes == before.queue_bytes);
    CHECK(after.written - before.written == static_cast<std::uint64_t>(n) * 5);
    CHECK(sink->size() >= static_cast<std::size_t>(n) * 5);
  }

  TEST_CASE("a thread that logs fast moves to a full-size ring; one that logs slowly keeps its small one") {
    auto sink = std::make_shared<ctxlog_test::capture_sink>();
    ctxlog::configure({.sinks = {sink}, .queue_capacity = 1u << 20, .queue_initial_capacity = 16 * KiB});
    ctxlog::flush();
    const auto before = ctxlog::get_stats();
    // held(): this thread's ring memory once the back-end has written (and so followed
    // every link of) what it logged, the thread still alive.
    auto held_after = [&](auto log) {
      std::uint64_t held = 0;
      std::thread([&] {
        log();
        ctxlog::flush();
        held = ctxlog::get_stats().queue_bytes - before.queue_bytes;
      }).join();
      ctxlog::flush();
      return held;
    };
    // ~1000 lines (~80 kB, five laps of the first ring) at under 1 MB/s, below the ~4 MB/s
    // at which a ring counts as busy.
    const auto slow = held_after([] {
      for (int i = 0; i < 1000; ++i) {
        LOG_INFO("slow {}", i);
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    });
    // ~8 MB: even when the back-end starts late and the ring first grows by doubling (to
    // 512 KiB while it holds all that was written), the ring then laps fast at that size.
    const auto fast = held_after([] {
      for (int i = 0; i < 100000; ++i) LOG_INFO("fast {}", i);
    });
    CHECK(slow == 16 * KiB);
    CHECK(fast == 1024 * KiB);  // the full ring, and no smaller one left over
    CHECK(ctxlog::get_stats().queue_bytes == before.queue_bytes);
  }

  TEST_CASE("sizes are rounded to powers of two, and an initial size above the capacity is the capacity") {
    auto sink = std::make_shared<ctxlog_test::capture_sink>();
    ctxlog::configure({.sinks = {sink}, .queue_capacity = 40 * KiB, .queue_initial_capacity = 1u << 20});
    ctxlog::flush();
    const auto before = ctxlog::get_stats();
    std::uint64_t held = 0;
    std::thread([&] {
      LOG_INFO("one");
      held = ctxlog::get_stats().queue_bytes - before.queue_bytes;
    }).join();
    CHECK(held == 64 * KiB);  // 40 KiB rounded up
    ctxlog::configure({.sinks = {sink}, .queue_capacity = 0, .queue_initial_capacity = 0});
    ctxlog::flush();
    const auto before2 = ctxlog::get_stats();
    std::thread([&] {
      LOG_INFO("two");
      held = ctxlog::get_stats().queue_bytes - before2.queue_bytes;
    }).join();
    CHECK(held == 4 * KiB);  // the smallest ring
    ctxlog::flush();
    CHECK(sink->size() == 2);
  }
}
