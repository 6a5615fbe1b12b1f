// examples/order_service/audit_log.hpp — audit rows that outlive the request's transaction.
//
// record() opens its own connection to the audit database and its own transaction, and
// runs the audit repository in an inner transaction_store.run(): inside it the store holds
// the audit transaction, so the same require() that finds the order transaction elsewhere
// finds this one, and the order transaction is back in scope when record() returns. The
// audit transaction commits before record() returns, so a rollback of the order
// transaction afterwards cannot take the audit row with it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sql.hpp"

namespace order_demo {

struct audit_entry {
  std::string action;      // e.g. "order.create"
  std::string outcome;     // "committed", "out_of_stock", "invalid", ...
  std::int64_t order_id = 0;  // 0: none (the order was never committed)
  std::string detail;
};

class audit_log {
 public:
  // The audit database is its own file: SQLite has one writer per file, and the order
  // transaction holds that file's write lock while the audit row is written.
  explicit audit_log(std::string path);

  static void create_schema(sql::connection& c);

  // Writes e, with the current request's ids, in a transaction of its own; committed when
  // this returns. Thread-safe (a connection per call).
  void record(const audit_entry& e) const;

  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

}  // namespace order_demo
