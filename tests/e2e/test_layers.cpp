// tests/e2e/test_layers.cpp — the order demo's layers in one process, on real SQLite
// files: the transaction the repositories take from the context, the audit's own
// transaction, require() outside a request, and the service against an inventory that
// is not there (a real closed port on 127.0.0.1).
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <ctxlog/ctxlog.hpp>

#include "audit_log.hpp"
#include "order_repository.hpp"
#include "order_service.hpp"
#include "../support.hpp"
#include "transaction_store.hpp"

namespace {

using namespace order_demo;

// A fresh directory with the two databases' schemas, removed at the end of the test.
struct temp_dbs {
  std::filesystem::path dir;
  std::string orders, audit;
  temp_dbs() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ctxlog-layers-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    orders = (dir / "orders.db").string();
    audit = (dir / "audit.db").string();
    sql::connection o(orders);
    order_repository::create_schema(o);
    sql::connection a(audit);
    audit_log::create_schema(a);
  }
  ~temp_dbs() { std::filesystem::remove_all(dir); }
};

std::int64_t count(const std::string& db, const std::string& query) {
  sql::connection c(db);
  auto st = c.prepare(query);
  REQUIRE(st.step());
  return st.column_int(0);
}

const new_order two_items{"c-1", {{"A1", 2}, {"B2", 1}}};

// A port on 127.0.0.1 that nothing listens on: bound, then closed.
int closed_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

TEST_SUITE("order demo layers") {
  TEST_CASE("a repository used outside a request fails fast, naming the transaction store") {
    auto sink = ctxlog_test::capture_all();
    const order_repository repo;
    CHECK(transaction_store.get() == nullptr);
    try {
      repo.insert(two_items);
      FAIL("insert() outside a transaction did not throw");
    } catch (const ctxlog::missing_context& e) {
      CHECK(std::string(e.what()).find("order_demo.transaction") != std::string::npos);
    }
    CHECK_THROWS_AS(repo.set_status(1, "confirmed"), ctxlog::missing_context);
    // ctxlog::exit hides the store inside a request too.
    temp_dbs dbs;
    sql::connection c(dbs.orders);
    sql::transaction tx(c);
    transaction_store.run(&tx, [&] {
      CHECK(transaction_store.get() != nullptr);
      transaction_store.exit([&] { CHECK_THROWS_AS(repo.insert(two_items), ctxlog::missing_context); });
    });
  }

  TEST_CASE("rows written through the ambient transaction commit or roll back as a unit") {
    auto sink = ctxlog_test::capture_all();
    temp_dbs dbs;
    const order_repository repo;
    std::int64_t kept = 0;
    for (const bool commit : {false, true}) {
      sql::connection c(dbs.orders);
      sql::transaction tx(c);
      ctxlog::run(ctxlog::fields{}.request_id(commit ? "r-commit" : "r-rollback"), [&] {
        transaction_store.run(&tx, [&] {
          const std::int64_t id = repo.insert(two_items);
          repo.set_status(id, "confirmed");
          if (commit) kept = id;
        });
      });
      if (commit) tx.commit();
      else tx.rollback();
    }
    CHECK(count(dbs.orders, "SELECT count(*) FROM orders") == 1);
    CHECK(count(dbs.orders, "SELECT count(*) FROM orders WHERE request_id = 'r-commit' AND status = 'confirmed' AND id = " +
                                std::to_string(kept)) == 1);
    CHECK(count(dbs.orders, "SELECT count(*) FROM order_items WHERE order_id = " + std::to_string(kept)) == 2);
    CHECK(count(dbs.orders, "SELECT count(*) FROM order_items") == 2);
  }

  TEST_CASE("the ambient transaction follows the request to another thread through bind") {
    auto sink = ctxlog_test::capture_all();
    temp_dbs dbs;
    sql::connection c(dbs.orders);
    sql::transaction tx(c);
    const order_repository repo;
    std::int64_t id = 0;
    transaction_store.run(&tx, [&] {
      auto work = ctxlog::bind([&] {
        CHECK(transaction_store.get() != nullptr);
        CHECK(*transaction_store.get() == &tx);
        id = repo.insert(two_items);
      });
      std::thread(std::move(work)).join();  // the connection is used by one thread at a time
    });
    tx.commit();
    CHECK(id > 0);
    CHECK(count(dbs.orders, "SELECT count(*) FROM order_items WHERE order_id = " + std::to_string(id)) == 2);
  }

  TEST_CASE("an audit row written inside the order transaction survives its rollback") {
    auto sink = ctxlog_test::capture_all();
    temp_dbs dbs;
    const audit_log audit(dbs.audit);
    const order_repository repo;
    sql::connection c(dbs.orders);
    sql::transaction tx(c);
    ctxlog::run(ctxlog::fields{}.request_id("r-audit").trace_id("4bf92f3577b34da6a3ce929d0e0e4736"), [&] {
      transaction_store.run(&tx, [&] {
        repo.insert(two_items);
        audit.record({.action = "order.create", .outcome = "out_of_stock", .detail = "B2"});
        // The inner run of record() is over: the order transaction is in scope again.
        REQUIRE(transaction_store.get() != nullptr);
        CHECK(*transaction_store.get() == &tx);
        // The audit row is committed already, while the order transaction is still open.
        CHECK(count(dbs.audit, "SELECT count(*) FROM audit") == 1);
      });
    });
    tx.rollback();
    CHECK(count(dbs.orders, "SELECT count(*) FROM orders") == 0);
    CHECK(count(dbs.orders, "SELECT count(*) FROM order_items") == 0);
    CHECK(count(dbs.audit,
                "SELECT count(*) FROM audit WHERE request_id = 'r-audit' AND trace_id = "
                "'4bf92f3577b34da6a3ce929d0e0e4736' AND outcome = 'out_of_stock' AND order_id IS NULL") == 1);
  }

  TEST_CASE("an order whose inventory service is down rolls back, is audited and logs an error with its ids") {
    auto sink = ctxlog_test::capture_all();
    temp_dbs dbs;
    const audit_log audit(dbs.audit);
    const inventory_client inventory("127.0.0.1", closed_port(), std::chrono::milliseconds(500));
    const order_service service(dbs.orders, audit, inventory);
    const order_result r = ctxlog::run(ctxlog::fields{}.request_id("r-down"), [&] { return service.place(two_items); });
    CHECK(r.outcome == order_outcome::inventory_unavailable);
    CHECK(r.order_id == 0);
    CHECK(count(dbs.orders, "SELECT count(*) FROM orders") == 0);
    CHECK(count(dbs.orders, "SELECT count(*) FROM order_items") == 0);
    CHECK(count(dbs.audit, "SELECT count(*) FROM audit WHERE request_id = 'r-down' AND outcome = 'inventory_unavailable'") ==
          1);
    bool error_line = false;
    for (const nlohmann::json& j : sink->parsed())
      if (j.value("level", "") == "error" && j.value("requestId", "") == "r-down" && j.contains("traceId") &&
          j.value("logger", "") == "orders.service")
        error_line = true;
    CHECK(error_line);
  }
}
