// sinks/clickhouse/insert.hpp — what the ClickHouse sink makes of the server's answer to
// an insert (classify()), and how it finds the bad rows of a refused batch by sending
// halves (insert_isolating()). Not API; pure logic, tested without a server.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "http.hpp"

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace clickhouse {

enum class verdict {
  ok,        // inserted
  bad_rows,  // refused for what some row holds (a parse error, a type mismatch): split the batch
  refused,   // refused whatever the rows hold (no such table or database, no access): not retried
  retry,     // the server could not do it now (5xx, overload, shutting down): the same rows later
};

struct answer {
  verdict what = verdict::ok;
  int code = -1;        // ClickHouse's exception code, -1 when the answer has none
  std::string message;  // for stderr: status and the first ~200 bytes of the server's text, one line
};

// The exception code of an error answer: the X-ClickHouse-Exception-Code header (newer
// servers), else a body that starts with "Code: N" (every version); -1 when neither.
int exception_code(const http::response& r);
answer classify(const http::response& r);

// The server's text made printable on one line, at most max bytes (then "...").
std::string excerpt(std::string_view text, std::size_t max = 200);

struct isolated {
  std::size_t done = 0;      // lines from the front that are finished: inserted or rejected
  std::size_t rejected = 0;  // of those, refused for good (counted as dropped)
  std::size_t requests = 0;  // sends made
  std::string first_rejection;  // the server's message for the first rejected lines
  // A send failed (threw) or answered `retry` after the first one: lines from `done` on
  // are to be sent again later. The reason:
  bool interrupted = false;
  std::string interruption;
};

// send(first, count) inserts lines [first, first + count) of the batch and says how the
// server answered; it may throw (the connection failed).
using send_fn = std::function<answer(std::size_t first, std::size_t count)>;

// Sends all n lines. When the server refuses them for a bad row, sends halves, in order,
// until the bad rows are single lines (a half whose sibling went in is known to hold a
// bad row and is split without being sent whole), spending at most max_extra sends
// after the first; lines still not isolated then are rejected together. A refused
// answer rejects the lines it was for and every line after them (the table is not
// there: no point in splitting). The first send's exception, and a first answer of
// `retry`, are thrown (std::runtime_error): nothing is done, the caller retries.
isolated insert_isolating(std::size_t n, std::size_t max_extra, const send_fn& send);

}  // namespace clickhouse
}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
