// sinks/clickhouse.cpp — the ClickHouse sink: a queued_sink whose deliver() posts the
// batch as `INSERT INTO <table> FORMAT JSONEachRow` over one kept-alive HTTP connection
// (clickhouse/http.hpp), splits a batch the server refuses for a bad row
// (clickhouse/insert.hpp), and creates the table when asked (clickhouse_table_ddl()).
#include "ctxlog/sinks/clickhouse.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "clickhouse/http.hpp"
#include "clickhouse/insert.hpp"

namespace ctxlog {
inline namespace v1 {
namespace sinks {

namespace {

namespace http = detail::http;
namespace ch = detail::clickhouse;

bool identifier(std::string_view s) noexcept {
  if (s.empty() || s.size() > 200 || (s[0] >= '0' && s[0] <= '9')) return false;
  for (const char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

// `db`.`table` or `table`; throws for anything else.
std::string quoted_table(std::string_view name) {
  const std::size_t dot = name.find('.');
  const std::string_view db = dot == std::string_view::npos ? std::string_view() : name.substr(0, dot);
  const std::string_view table = dot == std::string_view::npos ? name : name.substr(dot + 1);
  if ((dot != std::string_view::npos && !identifier(db)) || !identifier(table))
    throw std::invalid_argument("clickhouse sink: table name '" + std::string(name.substr(0, 100)) +
                                "' is not [database.]table of letters, digits and '_'");
  std::string q;
  if (!db.empty()) q.append("`").append(db).append("`.");
  q.append("`").append(table).append("`");
  return q;
}

bool header_safe(std::string_view s) noexcept {
  for (const char c : s)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

void to_stderr(const std::string& s) noexcept {
  std::size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(2, s.data() + off, s.size() - off);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace

std::string clickhouse_table_ddl(std::string_view table) {
  // Column order is the row layout's; see docs/destinations/clickhouse.md for the reasons.
  return "CREATE TABLE IF NOT EXISTS " + quoted_table(table) +
         "\n(\n"
         "    ts DateTime('UTC'),\n"
         "    ts_ns UInt64,\n"
         "    seq UInt64,\n"
         "    level String,\n"
         "    logger String,\n"
         "    message String,\n"
         "    service String,\n"
         "    version String,\n"
         "    env String,\n"
         "    host String,\n"
         "    pid UInt32,\n"
         "    thread UInt32,\n"
         "    file String,\n"
         "    line UInt32,\n"
         "    function String,\n"
         "    requestId String,\n"
         "    tenantId String,\n"
         "    traceId String,\n"
         "    spanId String,\n"
         "    parentSpanId String,\n"
         "    userId String,\n"
         "    contextLost UInt8,\n"
         "    fields String\n"
         ")\n"
         "ENGINE = MergeTree\n"
         "PARTITION BY toYYYYMMDD(ts)\n"
         "ORDER BY (traceId, ts_ns)\n";
}

// What deliver() keeps between batches; used by the sender thread only.
struct clickhouse_sink::impl {
  explicit impl(const clickhouse_options& o) : conn(o.host, o.port, o.connect_timeout, o.io_timeout) {}

  // Rate-limited reports of refused rows: at most one line per interval.
  void report(std::size_t rows, const std::string& why) {
    unreported += rows;
    const auto now = std::chrono::steady_clock::now();
    if (reported_once && now - last_report < std::chrono::seconds(10)) return;
    reported_once = true;
    last_report = now;
    to_stderr("ctxlog: clickhouse sink: " + std::to_string(unreported) + " row(s) refused by " + conn.peer() +
              " and dropped since the last report; " + why + "\n");
    unreported = 0;
  }
  // At close: what the rate limit held back.
  void final_report() {
    if (unreported == 0) return;
    reported_once = false;
    report(0, "(at close)");
  }
  void note(const std::string& what) {
    const auto now = std::chrono::steady_clock::now();
    if (noted_once && now - last_note < std::chrono::seconds(10)) return;
    noted_once = true;
    last_note = now;
    to_stderr("ctxlog: clickhouse sink: " + what + "\n");
  }

  http::connection conn;
  std::vector<std::string> headers;
  std::string ddl_target, ddl;
  bool table_created = false;
  std::size_t unreported = 0;
  bool reported_once = false, noted_once = false;
  std::chrono::steady_clock::time_point last_report{}, last_note{};
};

clickhouse_sink::clickhouse_sink(clickhouse_options options, level min_level)
    : queued_sink(options.queue, min_level), options_(std::move(options)) {
  if (options_.host.empty()) throw std::invalid_argument("clickhouse sink: host is empty");
  if (options_.port == 0) throw std::invalid_argument("clickhouse sink: port is 0");
  if (!options_.database.empty() && !identifier(options_.database))
    throw std::invalid_argument("clickhouse sink: database name '" + options_.database.substr(0, 100) +
                                "' is not letters, digits and '_'");
  if (!header_safe(options_.user) || !header_safe(options_.password) || !header_safe(options_.host))
    throw std::invalid_argument("clickhouse sink: user, password and host may not hold CR, LF or NUL");
  const std::string table = quoted_table(options_.table);
  std::string database;  // database=<name>, or nothing
  if (!options_.database.empty()) database.append("database=").append(options_.database);
  target_.append("/?").append(database).append(database.empty() ? "" : "&").append("query=");
  target_.append(http::percent_encode(std::string("INSERT INTO ").append(table).append(" FORMAT JSONEachRow")));
  // The status line only after the insert is done: a 200 means inserted (every version).
  target_.append("&wait_end_of_query=1");
  if (options_.unknown == unknown_columns::skip) target_.append("&input_format_skip_unknown_fields=1");
  impl_ = std::make_unique<impl>(options_);
  impl_->ddl_target.append("/").append(database.empty() ? "" : "?").append(database);
  impl_->ddl = clickhouse_table_ddl(options_.table);
  impl_->headers.push_back("Content-Type: text/plain; charset=UTF-8");
  if (!options_.user.empty()) {
    impl_->headers.push_back("X-ClickHouse-User: " + options_.user);
    impl_->headers.push_back("X-ClickHouse-Key: " + options_.password);
  }
  set_layout(clickhouse_layout());
}

clickhouse_sink::~clickhouse_sink() {
  stop();
  impl_->final_report();
}

void clickhouse_sink::idle() { impl_->conn.close(); }

// The parent's connection: closed here (close(), no shutdown()), the parent keeps it.
void clickhouse_sink::forked() { impl_->conn.close(); }

std::string clickhouse_sink::describe() const {
  return "clickhouse " + options_.host + ":" + std::to_string(options_.port);
}

queued_sink::outcome clickhouse_sink::deliver(const line_batch& batch) {
  impl& m = *impl_;
  // CREATE TABLE IF NOT EXISTS; true when the server said yes. An exception (no
  // connection) goes to the caller: the batch is retried.
  const auto create = [&m]() {
    const std::string_view body[] = {m.ddl};
    const http::response r = m.conn.request("POST", m.ddl_target, m.headers, body);
    const ch::answer a = ch::classify(r);
    if (a.what == ch::verdict::retry) throw std::runtime_error("CREATE TABLE: " + a.message);
    if (a.what != ch::verdict::ok) m.note("CREATE TABLE failed: " + a.message);
    return a.what == ch::verdict::ok;
  };
  if (options_.create_table && !m.table_created) m.table_created = create();

  const ch::send_fn send = [&](std::size_t first, std::size_t count) {
    const auto lines = batch.lines.subspan(first, count);
    ch::answer a = ch::classify(m.conn.request("POST", target_, m.headers, lines));
    if (a.what == ch::verdict::refused && a.code == 60 && options_.create_table && create())
      a = ch::classify(m.conn.request("POST", target_, m.headers, lines));  // the table was dropped: once more
    return a;
  };
  const ch::isolated r = ch::insert_isolating(batch.lines.size(), options_.max_bisect_requests, send);
  if (r.rejected > 0) m.report(r.rejected, r.first_rejection);
  if (r.interrupted) {
    if (r.done == 0) throw std::runtime_error(r.interruption);
    m.note("a batch was cut short after " + std::to_string(r.done) + " line(s), the rest follows later: " +
           r.interruption);
  }
  return outcome{r.done, r.rejected};
}

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
