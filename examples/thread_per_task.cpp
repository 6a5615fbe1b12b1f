// examples/thread_per_task.cpp — a thread per task: what a logging thread costs.
//
// Each request runs on a thread of its own (std::async with launch::async, through
// ctxlog::async so the request's context goes along). A thread's queue starts at
// config::queue_initial_capacity (16 KiB) and grows only for a thread that logs a lot, so
// 100 threads alive at once hold 1.6 MiB, not 100 MiB, and the first log call on each
// costs microseconds (docs/architecture.md#memory).
//
//   ./build/examples/thread_per_task
#include <cstdio>
#include <future>
#include <string>
#include <vector>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/pool.hpp"

int main() {
  ctxlog::configure({.sinks = {ctxlog::sinks::stderr_sink()}});

  std::promise<void> release;
  std::shared_future<void> go = release.get_future().share();
  std::vector<std::future<void>> tasks;
  for (int i = 0; i < 100; ++i) {
    ctxlog::run(ctxlog::fields{}.request_id("req-" + std::to_string(i)), [&] {
      tasks.push_back(ctxlog::async(std::launch::async, [go, i] {
        LOG_INFO("task {} started", i);  // carries requestId req-<i>
        go.wait();  // keep the threads alive together
      }));
    });
  }
  ctxlog::flush();
  const auto live = ctxlog::get_stats();
  release.set_value();
  for (auto& t : tasks) t.get();
  ctxlog::flush();
  std::printf("100 live threads held %llu KiB of queues; after they exited: %llu KiB\n",
              static_cast<unsigned long long>(live.queue_bytes / 1024),
              static_cast<unsigned long long>(ctxlog::get_stats().queue_bytes / 1024));
}
