// examples/pool.cpp — a thread pool that carries each request's context to its tasks.
//
// Two requests submit work to the same two-thread pool; each task's line carries the
// requestId of the code that submitted it, even though the workers are shared. The last
// line comes from a task submitted outside any request: it has no requestId.
// Expected output (order of the task lines may vary):
//   {"level":"info","msg":"charging 12.5","requestId":"r-1",...}
//   {"level":"info","msg":"charging 30","requestId":"r-2",...}
//   {"level":"info","msg":"task result 42","requestId":"r-1",...}
//   {"level":"info","msg":"housekeeping",...}            <- no requestId
#include <future>
#include <string>
#include <vector>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/pool.hpp"

int main() {
  ctxlog::thread_pool pool{2};

  std::vector<std::future<void>> pending;
  const double amounts[] = {12.5, 30};
  for (int i = 0; i < 2; ++i) {
    const std::string id = "r-" + std::to_string(i + 1);
    ctxlog::run(ctxlog::fields{}.request_id(id), [&] {
      pending.push_back(pool.submit([a = amounts[i]] { LOG_INFO("charging {}", a); }));
    });
  }
  for (auto& f : pending) f.get();

  // A result comes back through the future; the caller's context is untouched.
  ctxlog::run(ctxlog::fields{}.request_id("r-1"), [&] {
    const int r = pool.submit([] { return 42; }).get();
    LOG_INFO("task result {}", r);
  });

  // Outside any request: the worker that just ran r-1's task has nothing left of it.
  pool.submit([] { LOG_INFO("housekeeping"); }).get();
  ctxlog::flush();
}
