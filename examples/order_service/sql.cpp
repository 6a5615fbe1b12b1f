// examples/order_service/sql.cpp — the libsqlite3 calls behind sql.hpp.
#include "sql.hpp"

#include <thread>

#include <sqlite3.h>

namespace order_demo::sql {

connection::connection(const std::string& path, std::chrono::milliseconds busy_timeout)
    : path_(path), busy_timeout_(busy_timeout) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw error("cannot open " + path + ": " + msg);
  }
  // SQLite's own busy handler sleeps up to 100 ms between tries; the demo's writers wait
  // for each other often, so retry every millisecond up to the timeout instead.
  sqlite3_busy_handler(
      db_,
      [](void* self, int tries) -> int {
        auto* c = static_cast<connection*>(self);
        // tries counts the retries of this one wait, each about 1 ms apart.
        if (std::chrono::milliseconds(tries) >= c->busy_timeout_) return 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return 1;
      },
      this);
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=NORMAL");
  exec("PRAGMA foreign_keys=ON");
}

connection::~connection() { sqlite3_close_v2(db_); }

void connection::fail(std::string_view what) const {
  throw error(std::string(what) + " on " + path_ + ": " + sqlite3_errmsg(db_));
}

void connection::exec(const std::string& sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : sqlite3_errmsg(db_);
    sqlite3_free(msg);
    throw error(sql + " on " + path_ + ": " + m);
  }
}

statement connection::prepare(std::string_view sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &st, nullptr) != SQLITE_OK)
    fail("prepare '" + std::string(sql) + "'");
  return statement(*this, st);
}

std::int64_t connection::last_insert_rowid() const noexcept { return sqlite3_last_insert_rowid(db_); }
int connection::changes() const noexcept { return sqlite3_changes(db_); }

statement::~statement() { sqlite3_finalize(st_); }

statement& statement::bind(int index, std::int64_t v) {
  if (sqlite3_bind_int64(st_, index, v) != SQLITE_OK) conn_->fail("bind");
  return *this;
}

statement& statement::bind(int index, std::string_view v) {
  // An empty view may have no data pointer, which SQLite would bind as NULL.
  if (sqlite3_bind_text(st_, index, v.empty() ? "" : v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT) != SQLITE_OK)
    conn_->fail("bind");
  return *this;
}

bool statement::step() {
  switch (sqlite3_step(st_)) {
    case SQLITE_ROW: return true;
    case SQLITE_DONE: return false;
    default: conn_->fail(std::string("step '") + sqlite3_sql(st_) + "'");
  }
}

statement& statement::reset() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
  return *this;
}

std::int64_t statement::column_int(int index) const { return sqlite3_column_int64(st_, index); }

std::string statement::column_text(int index) const {
  const auto* p = sqlite3_column_text(st_, index);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(st_, index)))
           : std::string();
}

transaction::transaction(connection& c) : conn_(c) { conn_.exec("BEGIN IMMEDIATE"); }

transaction::~transaction() {
  if (open_) {
    try {
      conn_.exec("ROLLBACK");
    } catch (const error&) {
      // The connection is closed next; SQLite rolls back what it still holds then.
    }
  }
}

void transaction::commit() {
  conn_.exec("COMMIT");
  open_ = false;
}

void transaction::rollback() {
  open_ = false;
  conn_.exec("ROLLBACK");
}

}  // namespace order_demo::sql
