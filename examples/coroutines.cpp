// examples/coroutines.cpp — ctxlog::task keeps the context across co_await, on any thread.
//
// handle() starts on the main thread, hops to a pool thread, runs a child task with an
// extra field (like Node's als.run(store, async () => ...)), and finishes there; every
// line carries requestId r-7, and the "thread" field shows the hop. The child's tenant
// field is gone after the child returns.
// Expected output:
//   {"msg":"start","requestId":"r-7","thread":<main>,...}
//   {"msg":"on a pool thread","requestId":"r-7","thread":<worker>,...}
//   {"msg":"child","requestId":"r-7","tenantId":"acme",...}
//   {"msg":"child returned 3","requestId":"r-7",...}       <- no tenantId
#include "ctxlog/coro.hpp"
#include "ctxlog/ctxlog.hpp"
#include "ctxlog/pool.hpp"

namespace {
ctxlog::thread_pool pool{2};

ctxlog::task<int> child() {
  co_await ctxlog::resume_on(pool);
  LOG_INFO("child");
  co_return 3;
}

ctxlog::task<> handle() {
  LOG_INFO("start");
  co_await ctxlog::resume_on(pool);
  LOG_INFO("on a pool thread");
  const int n = co_await ctxlog::run(ctxlog::fields{}.tenant_id("acme"), child);
  LOG_INFO("child returned {}", n);
}
}  // namespace

int main() {
  ctxlog::run(ctxlog::fields{}.request_id("r-7"), [] { ctxlog::sync_wait(handle()); });
  ctxlog::flush();
}
