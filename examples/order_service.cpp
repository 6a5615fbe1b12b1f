#include <ctxlog/ctxlog.hpp>
int main() {
  ctxlog::run(ctxlog::fields{}.request_id("r-1").tenant_id("acme"), [] {
    LOG_INFO("order {} created for {}", 42, "bob", ctxlog::kv("amount", 12.5), ctxlog::kv("paid", true));
  });
  LOG_WARN("no context \"quoted\"\n newline");
}
