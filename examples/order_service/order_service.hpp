// examples/order_service/order_service.hpp — the service layer: one order, one transaction.
//
// place() opens the request's transaction and puts it into transaction_store for
// everything below it (repository, audit), calls the inventory service to reserve the
// items, and commits, or rolls back and says why. Validation of the request's shape is
// the controller's; this layer sees a well-formed new_order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "audit_log.hpp"
#include "inventory_client.hpp"
#include "order_repository.hpp"

namespace order_demo {

enum class order_outcome {
  committed,
  out_of_stock,           // 409 from inventory: rolled back
  inventory_unavailable,  // inventory down: rolled back, 503
  inventory_timeout,      // inventory too slow: rolled back, 504
  inventory_error,        // inventory answered something else: rolled back, 502
};
std::string_view to_string(order_outcome o) noexcept;

struct order_result {
  order_outcome outcome;
  std::int64_t order_id = 0;  // committed orders only
  std::string detail;
};

class order_service {
 public:
  order_service(std::string db_path, const audit_log& audit, const inventory_client& inventory);

  // Thread-safe: a connection per call; SQLite serialises the writers. An exception (a
  // database error) rolls the transaction back, is audited, and propagates.
  order_result place(const new_order& o) const;

 private:
  std::string db_path_;
  const audit_log& audit_;
  const inventory_client& inventory_;
  order_repository orders_;
};

}  // namespace order_demo
