// examples/order_service/audit_log.cpp — the audit writer: a nested context with its own
// transaction.
#include "audit_log.hpp"

#include <ctxlog/ctxlog.hpp>
#include <ctxlog/span.hpp>

#include "transaction_store.hpp"

namespace order_demo {

namespace {

ctxlog::logger& audit_logger = ctxlog::get_logger("orders.audit");

// The audit repository: like every repository, it takes the transaction from the context.
void insert_audit_row(const audit_entry& e) {
  sql::connection& c = current_connection();
  const ctxlog::context& ctx = ctxlog::current();
  auto st = c.prepare(
      "INSERT INTO audit (request_id, trace_id, action, outcome, order_id, detail) VALUES (?, ?, ?, ?, ?, ?)");
  st.bind(1, ctx.request_id()).bind(2, ctx.trace_id()).bind(3, e.action).bind(4, e.outcome);
  if (e.order_id != 0) st.bind(5, e.order_id);  // unbound: NULL
  st.bind(6, e.detail).step();
}

}  // namespace

audit_log::audit_log(std::string path) : path_(std::move(path)) {}

void audit_log::create_schema(sql::connection& c) {
  c.exec(
      "CREATE TABLE IF NOT EXISTS audit ("
      " id INTEGER PRIMARY KEY AUTOINCREMENT,"
      " request_id TEXT NOT NULL,"
      " trace_id TEXT NOT NULL,"
      " action TEXT NOT NULL,"
      " outcome TEXT NOT NULL,"
      " order_id INTEGER,"
      " detail TEXT NOT NULL,"
      " created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));");
}

void audit_log::record(const audit_entry& e) const {
  ctxlog::span s("audit.write");
  sql::connection conn(path_);
  sql::transaction tx(conn);
  // The inner run: for its duration the store holds the audit transaction, not the
  // caller's. When it returns the caller's transaction is in scope again, untouched.
  transaction_store.run(&tx, [&] { insert_audit_row(e); });
  tx.commit();
  LOG_INFO_TO(audit_logger, "audit {} {}", e.action, e.outcome, ctxlog::kv("auditOutcome", e.outcome));
}

}  // namespace order_demo
