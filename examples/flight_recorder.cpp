// examples/flight_recorder.cpp — debug lines only for the requests that fail.
//
// Three requests run on a pool at level info, each inside a flight recorder. The two that
// succeed write their info line only; the one that fails writes its kept debug lines
// ("replayed":true) before its error line. The counts at the end say what was discarded.
#include <cstdio>
#include <string>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/pool.hpp"

namespace {

ctxlog::thread_pool pool{2};

int price_of(const std::string& sku) {
  LOG_DEBUG("looking up the price of {}", sku);  // kept: below info
  return sku == "B2" ? -1 : 12;
}

void handle(const std::string& id, const std::string& sku) {
  ctxlog::scope request{ctxlog::fields{}.request_id(id)};
  ctxlog::flight_recorder recorder;
  LOG_DEBUG("order for {}", sku);
  const int price = pool.submit([sku] { return price_of(sku); }).get();  // recorded on the pool too
  if (price < 0) {
    LOG_ERROR("no price for {}", sku);  // writes the kept lines first
    return;
  }
  LOG_INFO("order placed at {}", price);
}  // no error: the kept lines are discarded

}  // namespace

int main() {
  ctxlog::configure({.min_level = ctxlog::level::info, .level_env = ""});
  handle("r-1", "A1");
  handle("r-2", "B2");
  handle("r-3", "C3");
  ctxlog::flush();
  const auto s = ctxlog::get_stats();
  std::printf("written %llu, discarded %llu (debug lines of the requests that succeeded)\n",
              static_cast<unsigned long long>(s.written), static_cast<unsigned long long>(s.discarded));
}
