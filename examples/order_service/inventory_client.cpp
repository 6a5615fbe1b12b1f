// examples/order_service/inventory_client.cpp — POST /reserve through ctxlog's HTTP client.
#include "inventory_client.hpp"

#include <nlohmann/json.hpp>

#include <ctxlog/httplib.hpp>

namespace order_demo {

inventory_client::inventory_client(std::string host, int port, std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout) {}

reservation inventory_client::reserve(std::int64_t order_id, const std::vector<order_item>& items) const {
  nlohmann::json body = {{"order", order_id}, {"items", nlohmann::json::array()}};
  for (const order_item& i : items) body["items"].push_back({{"sku", i.sku}, {"qty", i.qty}});

  ctxlog::http::client inventory(host_, port_,
                                 {.connect_timeout = timeout_, .read_timeout = timeout_, .write_timeout = timeout_});
  const httplib::Result res = inventory.post("/reserve", body.dump(), "application/json");
  if (!res) {
    const httplib::Error e = res.error();
    const auto status = e == httplib::Error::Read || e == httplib::Error::Write ? reservation_status::timed_out
                                                                                 : reservation_status::unavailable;
    const std::string where = host_ + ":" + std::to_string(port_);
    return {status, status == reservation_status::timed_out
                        ? "no answer from " + where + " within " + std::to_string(timeout_.count()) + " ms (" +
                              httplib::to_string(e) + ")"
                        : "cannot reach " + where + " (" + httplib::to_string(e) + ")"};
  }
  std::string reason = res->body;
  if (auto j = nlohmann::json::parse(res->body, nullptr, false); j.is_object() && j.contains("error"))
    reason = j["error"].is_string() ? j["error"].get<std::string>() : j["error"].dump();
  if (res->status == 200) return {reservation_status::reserved, ""};
  if (res->status == 409) return {reservation_status::out_of_stock, reason};
  return {reservation_status::rejected, "inventory answered " + std::to_string(res->status) + ": " + reason};
}

}  // namespace order_demo
