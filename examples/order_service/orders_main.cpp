// examples/order_service/orders_main.cpp — the order service: POST /orders.
//
// The controller checks the request's shape and answers; the service layer
// (order_service.cpp) owns the transaction; the repositories take it from the context.
// ctxlog::http::instrument gives every request its context (ids from the caller's
// traceparent and X-Request-Id, or new ones) and writes the access lines.
//
//   orders --port 0 --ready-file /tmp/o.port --db orders.db --audit-db audit.db
//          --inventory-port 5001 [--inventory-timeout-ms 1000] [--log orders.log]
#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include <ctxlog/ctxlog.hpp>
#include <ctxlog/httplib.hpp>

#include "audit_log.hpp"
#include "order_service.hpp"
#include "service_main.hpp"

namespace {

using namespace order_demo;
using json = nlohmann::json;

ctxlog::logger& controller_log = ctxlog::get_logger("orders.controller");

constexpr std::string_view usage =
    "orders --db PATH --audit-db PATH --inventory-port N [--port N] [--ready-file PATH] [--log PATH] "
    "[--clickhouse HOST:PORT] [--inventory-timeout-ms N]";

bool valid_name(const std::string& s, std::size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.'))
      return false;
  return true;
}

// {"customer":"c-7","sku":"A1","qty":2} or {"customer":"c-7","items":[{"sku":"A1","qty":2},...]}.
// nullopt, and why in why, for anything else.
std::optional<new_order> parse_order(const std::string& body, std::string& why) {
  const auto reject = [&why](const char* reason) {
    why = reason;
    return std::optional<new_order>{};
  };
  const json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return reject("body is not a JSON object");
  new_order o;
  const auto customer = j.find("customer");
  if (customer == j.end() || !customer->is_string()) return reject("customer: a string is required");
  o.customer = customer->get<std::string>();
  if (!valid_name(o.customer, 64)) return reject("customer: 1-64 characters of A-Z a-z 0-9 - _ .");
  const json items = j.contains("items") ? j["items"] : json::array({j});
  if (!items.is_array() || items.empty() || items.size() > 20) return reject("items: 1-20 entries");
  for (const json& i : items) {
    if (!i.is_object()) return reject("items: each entry is an object");
    const auto sku = i.find("sku");
    const auto qty = i.find("qty");
    if (sku == i.end() || !sku->is_string() || !valid_name(sku->get<std::string>(), 32))
      return reject("sku: 1-32 characters of A-Z a-z 0-9 - _ .");
    if (qty == i.end() || !qty->is_number_integer() || qty->get<std::int64_t>() < 1 || qty->get<std::int64_t>() > 1000)
      return reject("qty: an integer from 1 to 1000");
    o.items.push_back({sku->get<std::string>(), qty->get<std::int64_t>()});
  }
  return o;
}

int status_of(order_outcome o) {
  switch (o) {
    case order_outcome::committed: return 201;
    case order_outcome::out_of_stock: return 409;
    case order_outcome::inventory_unavailable: return 503;
    case order_outcome::inventory_timeout: return 504;
    case order_outcome::inventory_error: break;
  }
  return 502;
}

void reply(httplib::Response& res, int status, json body) {
  const ctxlog::context& c = ctxlog::current();
  body["requestId"] = std::string(c.request_id());
  body["traceId"] = std::string(c.trace_id());
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

// The controller: shape checks, then the service, then the answer.
void create_order(const order_service& service, const audit_log& audit, const httplib::Request& req,
                  httplib::Response& res) {
  std::string why;
  const std::optional<new_order> o = parse_order(req.body, why);
  if (!o) {
    LOG_WARN_TO(controller_log, "invalid order: {}", why);
    audit.record({.action = "order.create", .outcome = "invalid", .detail = why});
    return reply(res, 400, {{"error", why}});
  }
  // The customer becomes the request's userId: on every line below, and sent on to the
  // inventory service in the baggage header.
  ctxlog::run(ctxlog::fields{}.user_id(o->customer), [&] {
    LOG_INFO_TO(controller_log, "order received: {} item(s)", o->items.size());
    try {
      const order_result r = service.place(*o);
      json body = {{"status", to_string(r.outcome)}};
      if (r.order_id != 0) body["orderId"] = r.order_id;
      if (!r.detail.empty()) body["error"] = r.detail;
      reply(res, status_of(r.outcome), std::move(body));
    } catch (const std::exception&) {
      reply(res, 500, {{"error", "internal error"}});  // the service logged e
    }
  });
}

}  // namespace

int main(int argc, char** argv) try {
  block_stop_signals();
  const flags f(argc, argv, usage);
  if (!f.has("db") || !f.has("audit-db") || !f.has("inventory-port"))
    throw std::invalid_argument(std::string("missing flags\nusage: ") + std::string(usage));
  configure_logging("orders", f.get("log"), f.get("clickhouse"));

  const std::string db = f.get("db");
  {
    sql::connection c(db);
    order_repository::create_schema(c);
    sql::connection a(f.get("audit-db"));
    audit_log::create_schema(a);
  }
  const audit_log audit(f.get("audit-db"));
  const inventory_client inventory("127.0.0.1", f.get_int("inventory-port", 0),
                                   std::chrono::milliseconds(f.get_int("inventory-timeout-ms", 1000)));
  const order_service service(db, audit, inventory);

  httplib::Server server;
  ctxlog::http::instrument(server);
  server.Post("/orders", [&](const httplib::Request& req, httplib::Response& res) {
    create_order(service, audit, req, res);
  });
  return serve(server, "orders", f.get_int("port", 0), f.get("ready-file"));
} catch (const std::exception& e) {
  std::fprintf(stderr, "orders: %s\n", e.what());
  return 2;
}
