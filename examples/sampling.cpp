// examples/sampling.cpp — a noisy loop tamed: every-N, K per interval, per key.
//
// 1000 cache misses write 10 lines; 50 slow queries within a second write 3 and, once the
// window closed, one "47 lines suppressed" line; quota errors are limited per tenant.
#include <chrono>
#include <cstdio>
#include <thread>

#include "ctxlog/ctxlog.hpp"

using namespace std::chrono_literals;

int main() {
  ctxlog::configure({.level_env = ""});
  for (int i = 0; i < 1000; ++i) LOG_INFO_EVERY(100, "cache miss {}", i);
  for (int i = 0; i < 50; ++i) LOG_WARN_LIMIT(3, 500ms, "slow query {}", i);
  for (int i = 0; i < 20; ++i)
    for (const char* tenant : {"acme", "globex"})
      ctxlog::run(ctxlog::fields{}.tenant_id(tenant),
                  [] { LOG_WARN_LIMIT_BY(ctxlog::current().tenant_id(), 2, 500ms, "quota exceeded"); });
  std::this_thread::sleep_for(600ms);  // the windows close: the summary lines are written
  ctxlog::flush();
  std::printf("suppressed %llu calls\n", static_cast<unsigned long long>(ctxlog::get_stats().suppressed));
}
