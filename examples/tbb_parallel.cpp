// examples/tbb_parallel.cpp — oneTBB bodies run in the caller's context on TBB workers.
//
// A request sums 0..999 with ctxlog::tbb::parallel_for; each chunk logs, and every chunk
// line carries requestId batch-1 whichever worker ran it. A task_group task captures the
// context at run().
// Expected output (chunk count and order vary):
//   {"msg":"chunk 0..125","requestId":"batch-1","thread":...}
//   ...
//   {"msg":"sum 499500","requestId":"batch-1",...}
//   {"msg":"background check","requestId":"batch-1",...}
#include <oneapi/tbb/blocked_range.h>

#include <atomic>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/tbb.hpp"

int main() {
  ctxlog::run(ctxlog::fields{}.request_id("batch-1"), [] {
    std::atomic<long> sum{0};
    ctxlog::tbb::parallel_for(oneapi::tbb::blocked_range<int>(0, 1000, 125), [&](const oneapi::tbb::blocked_range<int>& r) {
      LOG_INFO("chunk {}..{}", r.begin(), r.end());
      long s = 0;
      for (int i = r.begin(); i != r.end(); ++i) s += i;
      sum += s;
    });
    LOG_INFO("sum {}", sum.load());

    ctxlog::tbb::task_group tg;
    tg.run([] { LOG_INFO("background check"); });
    tg.wait();
  });
  ctxlog::flush();
}
