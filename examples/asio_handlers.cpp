// examples/asio_handlers.cpp — asio handlers, timers and coroutines in their request's context.
//
// Two requests share one io_context run by two threads. Each wraps the io executor
// (capturing its context), posts a handler, and co_spawns a coroutine that waits on a
// timer twice; every line carries the requestId of the request that started it.
// Expected output (interleaving varies):
//   {"msg":"handler","requestId":"a",...}   {"msg":"handler","requestId":"b",...}
//   {"msg":"tick 0","requestId":"a",...}    {"msg":"tick 0","requestId":"b",...}
//   {"msg":"tick 1","requestId":"a",...}    {"msg":"tick 1","requestId":"b",...}
#include <asio.hpp>

#include <chrono>
#include <thread>

#include "ctxlog/asio.hpp"
#include "ctxlog/ctxlog.hpp"

namespace {
asio::awaitable<void> ticker() {
  asio::steady_timer t(co_await asio::this_coro::executor);
  for (int i = 0; i < 2; ++i) {
    t.expires_after(std::chrono::milliseconds(5));
    co_await t.async_wait(asio::use_awaitable);  // may resume on either io thread
    LOG_INFO("tick {}", i);
  }
}
}  // namespace

int main() {
  asio::io_context io;
  for (const char* id : {"a", "b"}) {
    ctxlog::run(ctxlog::fields{}.request_id(id), [&] {
      auto ex = ctxlog::asio::wrap(io.get_executor());
      asio::post(ex, [] { LOG_INFO("handler"); });
      asio::co_spawn(ex, ticker(), asio::detached);
    });
  }
  std::thread second([&] { io.run(); });
  io.run();
  second.join();
  ctxlog::flush();
}
