// examples/order_service/transaction_store.hpp — the request's database transaction, held
// by the ambient context instead of passed down.
//
// The service layer opens a transaction and runs the request's work inside
// transaction_store.run(&tx, ...); every repository below takes it with require(). No
// function between the two has a transaction parameter, and a repository called outside
// any such run throws ctxlog::missing_context naming this store, instead of writing
// outside a transaction.
#pragma once

#include <ctxlog/storage.hpp>

#include "sql.hpp"

namespace order_demo {

// The current unit of work. A pointer: the transaction changes (commit, rollback) while
// the stored value itself stays immutable, as storage<T> requires.
inline ctxlog::storage<sql::transaction*> transaction_store{{.name = "order_demo.transaction"}};

// The transaction in scope; throws ctxlog::missing_context outside any run of the store.
inline sql::connection& current_connection() { return transaction_store.require()->conn(); }

}  // namespace order_demo
