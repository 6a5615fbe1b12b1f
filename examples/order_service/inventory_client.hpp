// examples/order_service/inventory_client.hpp — the order service's view of the
// inventory service: reserve the items of an order, or say why not.
//
// Each call goes through ctxlog::http::client, which opens a client span and sends the
// current context (traceparent, baggage, X-Request-Id), so the inventory's lines join the
// order's trace. Failures of the call itself (refused, timed out) are logged by the client
// with the request's ids; this class only classifies them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "order_repository.hpp"

namespace order_demo {

enum class reservation_status {
  reserved,      // 200: every item reserved
  out_of_stock,  // 409: nothing reserved
  rejected,      // another 4xx/5xx answer: nothing reserved
  unavailable,   // no connection (the service is down)
  timed_out,     // no answer in time: the reservation may or may not have happened
};

struct reservation {
  reservation_status status;
  std::string detail;  // the inventory's reason, or the transport error
};

class inventory_client {
 public:
  inventory_client(std::string host, int port, std::chrono::milliseconds timeout);

  // Thread-safe: a client (one connection) per call.
  reservation reserve(std::int64_t order_id, const std::vector<order_item>& items) const;

 private:
  std::string host_;
  int port_;
  std::chrono::milliseconds timeout_;
};

}  // namespace order_demo
