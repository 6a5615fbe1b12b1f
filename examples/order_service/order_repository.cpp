// examples/order_service/order_repository.cpp — SQL for orders and order_items, written
// through the ambient transaction.
#include "order_repository.hpp"

#include <ctxlog/ctxlog.hpp>
#include <ctxlog/span.hpp>

#include "transaction_store.hpp"

namespace order_demo {

namespace {
ctxlog::logger& repo_log = ctxlog::get_logger("orders.repository");
}

void order_repository::create_schema(sql::connection& c) {
  c.exec(
      "CREATE TABLE IF NOT EXISTS orders ("
      " id INTEGER PRIMARY KEY AUTOINCREMENT,"
      " request_id TEXT NOT NULL,"
      " trace_id TEXT NOT NULL,"
      " customer TEXT NOT NULL,"
      " status TEXT NOT NULL,"
      " created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));"
      "CREATE TABLE IF NOT EXISTS order_items ("
      " order_id INTEGER NOT NULL REFERENCES orders(id),"
      " sku TEXT NOT NULL,"
      " qty INTEGER NOT NULL CHECK (qty > 0));");
}

std::int64_t order_repository::insert(const new_order& o) const {
  ctxlog::span s("orders.insert");
  sql::connection& c = current_connection();  // throws outside a request's transaction
  const ctxlog::context& ctx = ctxlog::current();
  c.prepare("INSERT INTO orders (request_id, trace_id, customer, status) VALUES (?, ?, ?, 'pending')")
      .bind(1, ctx.request_id())
      .bind(2, ctx.trace_id())
      .bind(3, o.customer)
      .step();
  const std::int64_t id = c.last_insert_rowid();
  auto item = c.prepare("INSERT INTO order_items (order_id, sku, qty) VALUES (?, ?, ?)");
  for (const order_item& i : o.items) {
    item.bind(1, id).bind(2, i.sku).bind(3, i.qty).step();
    item.reset();
  }
  LOG_DEBUG_TO(repo_log, "inserted order {} with {} items", id, o.items.size());
  return id;
}

void order_repository::set_status(std::int64_t order_id, std::string_view status) const {
  ctxlog::span s("orders.set_status");
  sql::connection& c = current_connection();
  c.prepare("UPDATE orders SET status = ? WHERE id = ?").bind(1, status).bind(2, order_id).step();
  if (c.changes() != 1) throw sql::error("order " + std::to_string(order_id) + " vanished inside its transaction");
}

}  // namespace order_demo
