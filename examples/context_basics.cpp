// context_basics — the ambient context: run, nesting, snapshot, bind, exit, enter_with.
//
// Shows that the IDs set once at the entry point reach every log call below it, that a
// nested run() adds to the context without changing the outer one, and that a captured
// context can be re-entered on another thread. Expected output (abridged):
//   {"msg":"handling","requestId":"r-1","tenantId":"acme",...}
//   {"msg":"querying","requestId":"r-1","tenantId":"acme","spanId":"db-1",...}
//   {"msg":"back in the handler","requestId":"r-1","tenantId":"acme",...}
//   {"msg":"on another thread","requestId":"r-1","tenantId":"acme",...}
//   {"msg":"bound callback","requestId":"r-1","tenantId":"acme",...}
//   {"msg":"exit: no context here",...}
//   {"msg":"outside any request",...}
#include <thread>

#include <ctxlog/ctxlog.hpp>

namespace {
void query_database() { LOG_INFO("querying", ctxlog::kv("table", "orders")); }
}  // namespace

int main() {
  ctxlog::configure({.sinks = {ctxlog::sinks::stdout_sink()}});

  std::function<void()> callback;
  ctxlog::run(ctxlog::fields{}.request_id("r-1").tenant_id("acme"), [&] {
    LOG_INFO("handling");
    ctxlog::run(ctxlog::fields{}.span_id("db-1"), query_database);  // adds a span, then it is gone
    LOG_INFO("back in the handler");

    const ctxlog::context captured = ctxlog::snapshot();  // O(1): a reference to the frame
    std::thread([captured] { ctxlog::run(captured, [] { LOG_INFO("on another thread"); }); }).join();

    callback = ctxlog::bind([] { LOG_INFO("bound callback"); });  // runs in r-1 wherever it is called
    ctxlog::exit([] { LOG_INFO("exit: no context here"); });
  });
  callback();
  LOG_INFO("outside any request");
}
