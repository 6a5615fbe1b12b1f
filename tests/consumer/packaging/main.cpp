// A program that uses an installed ctxlog (tests/consumer/packaging.py builds it through
// CMake's find_package, through pkg-config and as a meson subproject).
#include <ctxlog/ctxlog.hpp>

#include <vector>

int main() {
  ctxlog::configure({.sinks = {ctxlog::sinks::stdout_sink()}});
  ctxlog::run(ctxlog::fields{}.request_id("packaged-1"), [] {
    LOG_INFO("hello from an installed ctxlog", ctxlog::kv("ids", std::vector<int>{1, 2}));
  });
  ctxlog::shutdown();
}
