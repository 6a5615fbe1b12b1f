// examples/order_service/inventory_main.cpp — the inventory service: POST /reserve.
//
// Reserves all the items of an order or none, in one transaction (the same
// transaction_store pattern as the order service): 200 when every item had stock, 409
// naming the first that had not. Its lines join the caller's trace through the headers
// ctxlog::http::instrument reads. --slow-sku makes requests for one SKU answer late, to
// show the caller's timeout.
//
//   inventory --port 0 --ready-file /tmp/i.port --db inventory.db --stock A1=100,B2=3
//             [--slow-sku SLOW --slow-ms 2000] [--log inventory.log]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <ctxlog/ctxlog.hpp>
#include <ctxlog/httplib.hpp>
#include <ctxlog/span.hpp>

#include "service_main.hpp"
#include "sql.hpp"
#include "transaction_store.hpp"

namespace {

using namespace order_demo;
using json = nlohmann::json;

ctxlog::logger& stock_log = ctxlog::get_logger("inventory.stock");

constexpr std::string_view usage =
    "inventory --db PATH [--stock SKU=N,...] [--port N] [--ready-file PATH] [--log PATH] [--clickhouse HOST:PORT] "
    "[--slow-sku SKU --slow-ms N]";

void create_schema(sql::connection& c) {
  c.exec("CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, available INTEGER NOT NULL CHECK (available >= 0))");
}

// "A1=100,B2=3": sets each SKU's stock (at start-up).
void seed(sql::connection& c, const std::string& spec) {
  sql::transaction tx(c);
  std::size_t pos = 0;
  while (pos < spec.size()) {
    const std::size_t comma = std::min(spec.find(',', pos), spec.size());
    const std::string item = spec.substr(pos, comma - pos);
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) throw std::invalid_argument("--stock: 'SKU=N', not '" + item + "'");
    c.prepare("INSERT INTO stock (sku, available) VALUES (?, ?) ON CONFLICT(sku) DO UPDATE SET available = excluded.available")
        .bind(1, std::string_view(item).substr(0, eq))
        .bind(2, static_cast<std::int64_t>(std::stoll(item.substr(eq + 1))))
        .step();
    pos = comma + 1;
  }
  tx.commit();
}

// The stock repository: the transaction comes from the context.
std::optional<std::int64_t> available(const std::string& sku) {
  auto st = current_connection().prepare("SELECT available FROM stock WHERE sku = ?");
  st.bind(1, sku);
  if (!st.step()) return std::nullopt;
  return st.column_int(0);
}

void take(const std::string& sku, std::int64_t qty) {
  current_connection().prepare("UPDATE stock SET available = available - ? WHERE sku = ?").bind(1, qty).bind(2, sku).step();
}

struct reserve_request {
  std::int64_t order = 0;
  std::vector<std::pair<std::string, std::int64_t>> items;
};

std::optional<reserve_request> parse(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("items") || !j["items"].is_array() || j["items"].empty()) return std::nullopt;
  reserve_request r;
  if (j.contains("order") && j["order"].is_number_integer()) r.order = j["order"].get<std::int64_t>();
  for (const json& i : j["items"]) {
    if (!i.is_object() || !i.contains("sku") || !i["sku"].is_string() || !i.contains("qty") ||
        !i["qty"].is_number_integer() || i["qty"].get<std::int64_t>() < 1)
      return std::nullopt;
    r.items.emplace_back(i["sku"].get<std::string>(), i["qty"].get<std::int64_t>());
  }
  return r;
}

struct settings {
  std::string db;
  std::string slow_sku;
  std::chrono::milliseconds slow{0};
};

void reserve(const settings& s, const httplib::Request& req, httplib::Response& res) {
  const std::optional<reserve_request> r = parse(req.body);
  if (!r) {
    LOG_WARN_TO(stock_log, "malformed reservation");
    res.status = 400;
    return res.set_content(R"({"error":"malformed reservation"})", "application/json");
  }
  for (const auto& item : r->items)
    if (!s.slow_sku.empty() && item.first == s.slow_sku) {
      LOG_INFO_TO(stock_log, "{} is slow today: answering in {} ms", s.slow_sku, s.slow.count());
      std::this_thread::sleep_for(s.slow);
    }

  ctxlog::span span("inventory.reserve");
  sql::connection conn(s.db);
  sql::transaction tx(conn);
  json answer = transaction_store.run(&tx, [&]() -> json {
    for (const auto& item : r->items) {
      const std::optional<std::int64_t> have = available(item.first);
      if (!have || *have < item.second) {
        const std::string why = "out of stock: " + item.first + " (" + std::to_string(have.value_or(0)) +
                                " available, " + std::to_string(item.second) + " asked)";
        LOG_WARN_TO(stock_log, "order {} refused, {}", r->order, why, ctxlog::kv("sku", item.first));
        return {{"error", why}, {"sku", item.first}, {"available", have.value_or(0)}};
      }
      take(item.first, item.second);
      LOG_INFO_TO(stock_log, "reserved {} x {} for order {}, {} left", item.second, item.first, r->order,
                  *have - item.second, ctxlog::kv("sku", item.first));
    }
    return {{"reserved", r->items.size()}};
  });
  if (answer.contains("error")) {
    tx.rollback();  // an earlier item of the same order may have been taken
    res.status = 409;
  } else {
    tx.commit();
    res.status = 200;
  }
  res.set_content(answer.dump(), "application/json");
}

}  // namespace

int main(int argc, char** argv) try {
  block_stop_signals();
  const flags f(argc, argv, usage);
  if (!f.has("db")) throw std::invalid_argument(std::string("missing --db\nusage: ") + std::string(usage));
  configure_logging("inventory", f.get("log"), f.get("clickhouse"));

  const settings s{f.get("db"), f.get("slow-sku"), std::chrono::milliseconds(f.get_int("slow-ms", 2000))};
  {
    sql::connection c(s.db);
    create_schema(c);
    if (f.has("stock")) seed(c, f.get("stock"));
  }

  httplib::Server server;
  ctxlog::http::instrument(server);
  server.Post("/reserve", [&s](const httplib::Request& req, httplib::Response& res) { reserve(s, req, res); });
  return serve(server, "inventory", f.get_int("port", 0), f.get("ready-file"));
} catch (const std::exception& e) {
  std::fprintf(stderr, "inventory: %s\n", e.what());
  return 2;
}
