// examples/order_service/order_service.cpp — the order's unit of work.
#include "order_service.hpp"

#include <exception>

#include <ctxlog/ctxlog.hpp>
#include <ctxlog/span.hpp>

#include "transaction_store.hpp"

namespace order_demo {

namespace {

ctxlog::logger& service_log = ctxlog::get_logger("orders.service");

order_outcome outcome_of(reservation_status s) noexcept {
  switch (s) {
    case reservation_status::reserved: return order_outcome::committed;
    case reservation_status::out_of_stock: return order_outcome::out_of_stock;
    case reservation_status::unavailable: return order_outcome::inventory_unavailable;
    case reservation_status::timed_out: return order_outcome::inventory_timeout;
    case reservation_status::rejected: break;
  }
  return order_outcome::inventory_error;
}

}  // namespace

std::string_view to_string(order_outcome o) noexcept {
  switch (o) {
    case order_outcome::committed: return "committed";
    case order_outcome::out_of_stock: return "out_of_stock";
    case order_outcome::inventory_unavailable: return "inventory_unavailable";
    case order_outcome::inventory_timeout: return "inventory_timeout";
    case order_outcome::inventory_error: return "inventory_error";
  }
  return "unknown";
}

order_service::order_service(std::string db_path, const audit_log& audit, const inventory_client& inventory)
    : db_path_(std::move(db_path)), audit_(audit), inventory_(inventory) {}

order_result order_service::place(const new_order& o) const {
  ctxlog::span s("orders.place");
  sql::connection conn(db_path_);
  sql::transaction tx(conn);
  try {
    // From here down the transaction is ambient: nothing below takes it as a parameter.
    return transaction_store.run(&tx, [&]() -> order_result {
      const std::int64_t id = orders_.insert(o);
      const reservation r = inventory_.reserve(id, o.items);
      const order_outcome outcome = outcome_of(r.status);
      if (outcome == order_outcome::committed) {
        orders_.set_status(id, "confirmed");
        tx.commit();
        LOG_INFO_TO(service_log, "order {} committed", id, ctxlog::kv("orderId", id),
                    ctxlog::kv("items", static_cast<std::int64_t>(o.items.size())));
        audit_.record({.action = "order.create", .outcome = "committed", .order_id = id, .detail = ""});
        return {outcome, id, ""};
      }
      // Audited while the order transaction is still open: the audit row commits on its own
      // connection, and the rollback below does not touch it.
      audit_.record({.action = "order.create", .outcome = std::string(to_string(outcome)), .detail = r.detail});
      tx.rollback();
      s.fail(to_string(outcome), r.detail);  // the span's outcome: the order did not happen
      if (outcome == order_outcome::out_of_stock)
        LOG_WARN_TO(service_log, "order rolled back: {}", r.detail, ctxlog::kv("outcome", to_string(outcome)));
      else
        LOG_ERROR_TO(service_log, "order rolled back: inventory service {}: {}",
                     outcome == order_outcome::inventory_timeout ? "timed out" : "failed", r.detail,
                     ctxlog::kv("outcome", to_string(outcome)));
      return {outcome, 0, r.detail};
    });
  } catch (const std::exception& e) {
    // tx's destructor rolls back; the audit row says why.
    s.fail(e);
    LOG_ERROR_TO(service_log, "order failed, rolled back: {}", e.what());
    audit_.record({.action = "order.create", .outcome = "error", .detail = e.what()});
    throw;
  }
}

}  // namespace order_demo
