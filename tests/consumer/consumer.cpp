// tests/consumer/consumer.cpp — a program built the way a user builds one: only the
// installed headers, the static library and fmt, compiled by the other compiler than the
// one that built the library (consumer.py). Each line it logs says in "want" which
// requestId it must carry and in "store" the storage<int> value it saw; consumer.py
// checks the lines.
#include <ctxlog/ctxlog.hpp>
#include <ctxlog/pool.hpp>

namespace {
ctxlog::storage<int> attempt{{.name = "attempt", .default_value = 0}};
}  // namespace

int main() {
  ctxlog::configure({.mode = ctxlog::dispatch_mode::sync});
  ctxlog::thread_pool pool{2};
  int failures = 0;
  ctxlog::run(ctxlog::fields{}.request_id("r-1").set("region", "eu-west"), [&] {
    attempt.run(3, [&] {
      auto bound = ctxlog::bind([] {
        LOG_INFO("bound call", ctxlog::kv("want", "r-1"), ctxlog::kv("store", attempt.require()));
      });
      auto done = pool.submit([bound] {
        bound();
        LOG_INFO("pool task", ctxlog::kv("want", "r-1"), ctxlog::kv("store", *attempt.get()));
        return ctxlog::current().get("region") == "eu-west";
      });
      if (!done.get()) ++failures;
      ctxlog::run(ctxlog::fields{}.request_id("r-2"), bound);  // the bound context wins
    });
  });
  LOG_INFO("outside", ctxlog::kv("want", ""), ctxlog::kv("store", *attempt.get()));
  if (!ctxlog::current().empty()) ++failures;
  ctxlog::flush();
  return failures;
}
