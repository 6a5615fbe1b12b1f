// ctxlog/sinks/clickhouse.hpp — a sink that inserts lines into a ClickHouse table over
// its HTTP interface: batched `INSERT INTO <table> FORMAT JSONEachRow`, one row per line.
// Its own library: link ctxlog_clickhouse_dep (meson) or ctxlog-clickhouse (pkg-config).
//
// The sink is a queued_sink (queued_sink.hpp): the back-end never waits for the server;
// lines wait in a bounded buffer and are sent in batches by the sink's own thread, failed
// batches are retried with back-off, and every line is delivered or counted as dropped.
// Its layout is clickhouse_layout() (the row of clickhouse_table_ddl()); a batch the
// server refuses for a bad row is split until the bad rows are found: only they are lost.
//
// Example:
//   auto ch = ctxlog::sinks::clickhouse({.host = "127.0.0.1", .port = 8123, .table = "logs",
//                                        .create_table = true});
//   ctxlog::configure({.sinks = {ch}, .process = {.service = "orders", .host = ctxlog::this_host()}});
//   ...
//   ctxlog::shutdown();  // delivers what is buffered (queue.linger at most)
#pragma once

#include "ctxlog/detail/require_cxx20.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ctxlog/layout.hpp"
#include "ctxlog/sinks/queued_sink.hpp"

namespace ctxlog {
inline namespace v1 {
namespace sinks {

// What the server does with a key of a row that names no column of the table.
enum class unknown_columns {
  reject,  // the row is refused (and counted as dropped): a layout that does not fit the table shows at once
  skip,    // the key is ignored (input_format_skip_unknown_fields=1): a table older than the layout still fills
};

// 4 MiB or 50 000 lines per insert, at least one insert a second while lines come, a 32 MiB
// buffer (bench/README.md: 200 000 lines from one producer, 256 KiB batches 61 k lines/s
// with a quarter dropped, larger batches ~4x the rate with none dropped).
inline queue_options clickhouse_queue_defaults() {
  queue_options q;
  q.max_buffered_bytes = 32u << 20;
  q.batch_bytes = 4u << 20;
  q.batch_lines = 50000;
  q.batch_delay = std::chrono::milliseconds(1000);
  return q;
}

struct clickhouse_options {
  std::string host = "127.0.0.1";  // a name or an IPv4/IPv6 address
  std::uint16_t port = 8123;       // the server's http_port
  std::string database{};          // "": the user's default database
  std::string table = "logs";      // an identifier: letters, digits, '_' (quoted as `table`)
  // Sent as X-ClickHouse-User / X-ClickHouse-Key when user is not empty.
  std::string user{}, password{};
  // CREATE TABLE IF NOT EXISTS (clickhouse_table_ddl()) when the sender first connects,
  // and again when an insert finds the table missing.
  bool create_table = false;
  unknown_columns unknown = unknown_columns::reject;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds io_timeout{5000};  // a send or a wait for response bytes
  // The most requests spent isolating the bad rows of one refused batch (after the first
  // attempt). When they are spent, the lines not yet isolated are counted as dropped.
  std::size_t max_bisect_requests = 64;
  // Batching and buffer. ClickHouse wants few large inserts (each insert writes a part
  // that background merges must fold in), so the sink's defaults are larger than
  // queue_options' own: start from clickhouse_queue_defaults() to change one of them.
  queue_options queue = clickhouse_queue_defaults();
};

// The table the sink writes: CREATE TABLE IF NOT EXISTS <table> (...) ENGINE = MergeTree
// PARTITION BY toYYYYMMDD(ts) ORDER BY (traceId, ts_ns) (docs/destinations/clickhouse.md
// has the columns and the reasons). `table` may be "db.table". Works on ClickHouse 18.16
// and later. Throws std::invalid_argument for a name that is not an identifier.
std::string clickhouse_table_ddl(std::string_view table);

// One JSONEachRow row per record, keys the columns of clickhouse_table_ddl():
// {"ts":<unix s>,"ts_ns":<unix ns>,"seq":..,"level":"info","logger":..,"message":..,"service":..,
//  "version":..,"env":..,"host":..,"pid":..,"thread":..,"file":..,"line":..,"function":..,
//  "requestId":..,"tenantId":..,"traceId":..,"spanId":..,"parentSpanId":..,"userId":..,
//  "contextLost":0|1,"fields":"<JSON object of the process extras, custom context fields and kv()>"}
// Every column is present in every row (empty string or 0 when unknown). seq numbers the
// rows this process rendered (1, 2, ...): with pid and host it identifies a row.
layout_ptr clickhouse_layout();

// Thread-safety: as every sink; delivery() and drain() from any thread.
class clickhouse_sink final : public queued_sink {
 public:
  // Checks the options (std::invalid_argument for a bad table or database name, an empty
  // host, port 0) and starts the sender; does not connect (a server that is down at
  // start costs nothing but buffered lines). Sets clickhouse_layout() as the layout.
  explicit clickhouse_sink(clickhouse_options options, level min_level = level::trace);
  ~clickhouse_sink() override;

  const clickhouse_options& settings() const noexcept { return options_; }
  // The request target of an insert: /?query=INSERT%20INTO%20...&database=... (for tests).
  const std::string& insert_target() const noexcept { return target_; }

  struct impl;

 private:
  outcome deliver(const line_batch& batch) override;
  void idle() override;
  void forked() override;
  std::string describe() const override;

  clickhouse_options options_;
  std::string target_;
  std::unique_ptr<impl> impl_;
};

inline std::shared_ptr<clickhouse_sink> clickhouse(clickhouse_options options, level min_level = level::trace) {
  return std::make_shared<clickhouse_sink>(std::move(options), min_level);
}

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
