// examples/order_service/order_repository.hpp — the orders and order_items tables.
//
// Each call writes through the transaction in transaction_store (transaction_store.hpp);
// none takes a connection or transaction parameter. The request's ids come from the
// ambient context too (ctxlog::current()), so every row names the request that wrote it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sql.hpp"

namespace order_demo {

struct order_item {
  std::string sku;
  std::int64_t qty = 0;
};

struct new_order {
  std::string customer;
  std::vector<order_item> items;
};

class order_repository {
 public:
  // Creates the tables when they do not exist (on a connection of its own, at start-up).
  static void create_schema(sql::connection& c);

  // Inserts the order (status "pending") and its items; returns the order id.
  std::int64_t insert(const new_order& o) const;
  void set_status(std::int64_t order_id, std::string_view status) const;
};

}  // namespace order_demo
