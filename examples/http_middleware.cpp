// examples/http_middleware.cpp — ctxlog/httplib.hpp: two instrumented cpp-httplib servers
// in one process, "orders" calling "inventory" through ctxlog::http::client.
//
// Every line of the request carries its requestId and traceId on both servers (an access
// line is written after its response, so the last three may come in another order):
//   {"msg":"creating order 42",...,"requestId":"demo-1","traceId":"4bf92f35...","spanId":"<orders span>"}
//   {"msg":"reserving A1",...,"traceId":"4bf92f35...","parentSpanId":"<client span>"}
//   {"msg":"span GET 127.0.0.1:<port>/reserve ok in 1.2 ms",...,"spanKind":"client"}
//   {"msg":"POST /orders/42 201 in 4.9 ms",...,"route":"POST /orders/:id",...}  (orders)
//   {"msg":"GET /reserve 200 in 1.0 ms",...,"spanKind":"server",...}          (inventory)
#include <string>
#include <thread>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/httplib.hpp"

namespace {

// Runs server on a free loopback port until the returned thread is joined after stop().
std::thread serve(httplib::Server& server, int& port) {
  port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&server] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::yield();
  return t;
}

}  // namespace

int main() {
  httplib::Server inventory;
  inventory.Get("/reserve", [](const httplib::Request& req, httplib::Response& res) {
    LOG_INFO("reserving {}", req.get_param_value("sku"));
    res.set_content("{\"reserved\":true}", "application/json");
  });
  ctxlog::http::instrument(inventory);
  int inventory_port = 0;
  std::thread inventory_thread = serve(inventory, inventory_port);

  httplib::Server orders;
  orders.Post("/orders/(\\d+)", [&](const httplib::Request& req, httplib::Response& res) {
    LOG_INFO("creating order {}", req.matches[1].str());
    ctxlog::http::client stock("127.0.0.1", inventory_port);  // one per thread
    auto r = stock.get("/reserve?sku=A1");
    res.status = r && r->status == 200 ? 201 : 503;
  });
  ctxlog::http::instrument(orders, {.route = [](const httplib::Request& r) { return r.method + " /orders/:id"; }});
  int orders_port = 0;
  std::thread orders_thread = serve(orders, orders_port);

  // A caller that sends its own ids; the orders service continues its trace.
  httplib::Client caller("127.0.0.1", orders_port);
  caller.Post("/orders/42",
              {{"X-Request-Id", "demo-1"}, {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
              "{}", "application/json");

  orders.stop();  // stopping joins the workers: every access line has been logged
  orders_thread.join();
  inventory.stop();
  inventory_thread.join();
  ctxlog::flush();
}
