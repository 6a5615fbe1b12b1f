// examples/order_service/sql.hpp — a thin RAII layer over libsqlite3 for the order demo.
//
// connection (one per unit of work: SQLite connections are not shared between threads
// here), statement (prepared, bound by position) and transaction (BEGIN IMMEDIATE, rolled
// back by its destructor unless committed). Errors throw sql::error with SQLite's message.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace order_demo::sql {

class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class statement;

// An open database file. Not thread-safe: one thread uses it at a time.
class connection {
 public:
  // Opens (creating) path in WAL mode. A writer that finds the file locked retries for up
  // to busy_timeout before the statement fails with "database is locked".
  explicit connection(const std::string& path, std::chrono::milliseconds busy_timeout = std::chrono::seconds(30));
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  void exec(const std::string& sql);
  statement prepare(std::string_view sql);
  std::int64_t last_insert_rowid() const noexcept;
  int changes() const noexcept;
  const std::string& path() const noexcept { return path_; }

 private:
  friend class statement;
  [[noreturn]] void fail(std::string_view what) const;
  sqlite3* db_ = nullptr;
  std::string path_;
  std::chrono::steady_clock::duration busy_timeout_;
};

// A prepared statement; parameters are 1-based as in SQLite.
class statement {
 public:
  statement(statement&& o) noexcept : conn_(o.conn_), st_(o.st_) { o.st_ = nullptr; }
  statement& operator=(statement&&) = delete;
  ~statement();

  statement& bind(int index, std::int64_t v);
  statement& bind(int index, std::string_view v);
  // Runs to the next row: true when there is one, false when done.
  bool step();
  // Makes the statement ready to run again with new parameters.
  statement& reset();
  std::int64_t column_int(int index) const;
  std::string column_text(int index) const;

 private:
  friend class connection;
  statement(connection& c, sqlite3_stmt* st) noexcept : conn_(&c), st_(st) {}
  connection* conn_;
  sqlite3_stmt* st_;
};

// BEGIN IMMEDIATE on construction (the write lock is taken now, so the transaction never
// fails half-way on a lock upgrade); the destructor rolls back what was not committed.
class transaction {
 public:
  explicit transaction(connection& c);
  ~transaction();
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;

  void commit();
  void rollback();
  bool open() const noexcept { return open_; }
  connection& conn() const noexcept { return conn_; }

 private:
  connection& conn_;
  bool open_ = true;
};

}  // namespace order_demo::sql
