// typed_storage — storage<T>: typed stores that ride along with the request, like
// several AsyncLocalStorage instances: here an auth principal and a DB transaction.
//
// A request-scoped service calls require(), which throws a clear missing_context error
// when it is used outside any request. Expected output:
//   {"msg":"insert into orders","requestId":"r-7","user":"alice","tx":41,...}
//   {"level":"error","msg":"refused: ctxlog::storage 'db.tx': require() called outside any run() ..."}
#include <memory>
#include <string>

#include <ctxlog/ctxlog.hpp>

namespace {

struct principal {
  std::string name;
};
struct transaction {
  int id;
};

ctxlog::storage<principal> current_user{{.name = "auth.principal", .default_value = principal{"anonymous"}}};
ctxlog::storage<transaction> current_tx{{.name = "db.tx"}};

// Deep inside the request: no parameters carry the user or the transaction.
void insert_order() {
  const transaction& tx = current_tx.require();
  LOG_INFO("insert into orders", ctxlog::kv("user", current_user.require().name), ctxlog::kv("tx", tx.id));
}

}  // namespace

int main() {
  ctxlog::configure({.sinks = {ctxlog::sinks::stdout_sink()}});
  ctxlog::run(ctxlog::fields{}.request_id("r-7"), [] {
    current_user.run(principal{"alice"}, [] { current_tx.run(transaction{41}, insert_order); });
  });
  try {
    insert_order();  // no request, no transaction
  } catch (const ctxlog::missing_context& e) {
    LOG_ERROR("refused: {}", e.what());
  }
}
