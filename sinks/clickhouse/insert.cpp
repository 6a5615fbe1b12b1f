// sinks/clickhouse/insert.cpp — classify() and insert_isolating() (insert.hpp).
//
// ClickHouse 18.16 answers most errors with 500 (a row that does not parse included) and
// only a few with 4xx (404 for a missing table); newer servers map more codes to 4xx and
// send X-ClickHouse-Exception-Code. So the exception code decides first, the status only
// for codes this file does not know: 4xx is the request's fault (split), 5xx the
// server's (retry).
#include "insert.hpp"

#include <algorithm>
#include <stdexcept>

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace clickhouse {

namespace {

// The row's content is at fault: the other rows of the batch can go in.
bool row_level(int code) noexcept {
  switch (code) {
    case 6:    // CANNOT_PARSE_TEXT
    case 25:   // CANNOT_PARSE_ESCAPE_SEQUENCE
    case 26:   // CANNOT_PARSE_QUOTED_STRING
    case 27:   // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    case 32:   // ATTEMPT_TO_READ_AFTER_EOF
    case 33:   // CANNOT_READ_ALL_DATA
    case 38:   // CANNOT_PARSE_DATE
    case 41:   // CANNOT_PARSE_DATETIME
    case 53:   // TYPE_MISMATCH
    case 69:   // ARGUMENT_OUT_OF_BOUND
    case 70:   // CANNOT_CONVERT_TYPE
    case 72:   // CANNOT_PARSE_NUMBER
    case 117:  // INCORRECT_DATA (also: an unknown key in a JSONEachRow row)
    case 131:  // TOO_LARGE_STRING_SIZE
    case 321:  // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
    case 349:  // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
    case 467:  // CANNOT_PARSE_BOOL
      return true;
    default: return false;
  }
}

// The insert cannot work whatever the rows hold, until someone changes the server.
bool table_level(int code) noexcept {
  switch (code) {
    case 10:   // NOT_FOUND_COLUMN_IN_BLOCK
    case 16:   // NO_SUCH_COLUMN_IN_TABLE
    case 44:   // ILLEGAL_COLUMN (e.g. a MATERIALIZED column given)
    case 47:   // UNKNOWN_IDENTIFIER
    case 48:   // NOT_IMPLEMENTED (e.g. an insert into a view)
    case 60:   // UNKNOWN_TABLE
    case 62:   // SYNTAX_ERROR
    case 73:   // UNKNOWN_FORMAT
    case 81:   // UNKNOWN_DATABASE
    case 115:  // UNKNOWN_SETTING
    case 164:  // READONLY
    case 192:  // UNKNOWN_USER
    case 193:  // WRONG_PASSWORD
    case 194:  // REQUIRED_PASSWORD
    case 195:  // IP_ADDRESS_NOT_ALLOWED
    case 497:  // ACCESS_DENIED
    case 516:  // AUTHENTICATION_FAILED
      return true;
    default: return false;
  }
}

// The server cannot take it now; the same rows will do later.
bool transient(int code) noexcept {
  switch (code) {
    case 159:  // TIMEOUT_EXCEEDED
    case 173:  // CANNOT_ALLOCATE_MEMORY
    case 201:  // QUOTA_EXPIRED
    case 202:  // TOO_MANY_SIMULTANEOUS_QUERIES
    case 203:  // NO_FREE_CONNECTION
    case 209:  // SOCKET_TIMEOUT
    case 210:  // NETWORK_ERROR
    case 236:  // ABORTED
    case 241:  // MEMORY_LIMIT_EXCEEDED
    case 242:  // TABLE_IS_READ_ONLY
    case 243:  // NOT_ENOUGH_SPACE
    case 252:  // TOO_MANY_PARTS
    case 394:  // QUERY_WAS_CANCELLED
      return true;
    default: return false;
  }
}

bool parse_code(std::string_view s, int& code) noexcept {
  std::size_t i = 0;
  int v = 0;
  while (i < s.size() && i < 6 && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0');
  if (i == 0 || i == 6) return false;
  code = v;
  return true;
}

}  // namespace

int exception_code(const http::response& r) {
  int code = -1;
  if (const std::string* h = r.header("X-ClickHouse-Exception-Code"); h && parse_code(*h, code)) return code;
  std::string_view b = r.body;
  while (!b.empty() && (b.front() == ' ' || b.front() == '\n' || b.front() == '\r')) b.remove_prefix(1);
  if (b.substr(0, 6) == "Code: " && parse_code(b.substr(6), code)) return code;
  return -1;
}

std::string excerpt(std::string_view text, std::size_t max) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  std::string out;
  for (std::size_t i = 0; i < text.size() && out.size() < max; ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : text[i]);  // one line; UTF-8 bytes kept
  }
  if (text.size() > out.size()) {
    // Do not end inside a UTF-8 sequence.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
    out += "...";
  }
  return out;
}

answer classify(const http::response& r) {
  answer a;
  if (r.status >= 200 && r.status < 300) return a;
  a.code = exception_code(r);
  a.message = "HTTP " + std::to_string(r.status) + ": " + excerpt(r.body);
  if (row_level(a.code)) a.what = verdict::bad_rows;
  else if (table_level(a.code)) a.what = verdict::refused;
  else if (transient(a.code)) a.what = verdict::retry;
  else if (r.status == 408 || r.status == 429) a.what = verdict::retry;
  else if (r.status >= 400 && r.status < 500) a.what = verdict::bad_rows;
  else if (r.status >= 500) a.what = verdict::retry;
  else a.what = verdict::refused;  // 1xx left over, 3xx: not a ClickHouse answer
  return a;
}

namespace {

class isolator {
 public:
  isolator(std::size_t max_extra, const send_fn& send) : budget_(max_extra), send_(send) {}

  // [first, first + count) is known to hold a bad row.
  bool split(std::size_t first, std::size_t count, const answer& why) {
    if (count == 1) {
      reject(first, 1, why);
      return true;
    }
    const std::size_t left = count / 2;
    answer a;
    if (!send(first, left, a)) return false;
    if (a.what == verdict::ok) {
      r_.done = first + left;
      return split(first + left, count - left, why);  // the bad row is on the right
    }
    if (!settle(first, left, a)) return false;
    return whole(first + left, count - left);
  }

  // [first, first + count) is not known to hold anything.
  bool whole(std::size_t first, std::size_t count) {
    answer a;
    if (!send(first, count, a)) return false;
    return settle(first, count, a);
  }

  isolated& result() noexcept { return r_; }
  std::size_t total = 0;

 private:
  // After an answer for [first, first + count).
  bool settle(std::size_t first, std::size_t count, const answer& a) {
    switch (a.what) {
      case verdict::ok: r_.done = first + count; return true;
      case verdict::bad_rows: return split(first, count, a);
      case verdict::refused: reject(first, total - first, a); return false;  // the rest of the batch, too
      case verdict::retry: break;
    }
    interrupt(first, a.message);
    return false;
  }

  bool send(std::size_t first, std::size_t count, answer& a) {
    if (budget_ == 0) {
      answer spent;
      spent.message = "gave up isolating the bad rows after " + std::to_string(r_.requests) + " requests";
      reject(first, total - first, spent);
      return false;
    }
    --budget_;
    ++r_.requests;
    try {
      a = send_(first, count);
    } catch (const std::exception& e) {
      interrupt(first, e.what());
      return false;
    }
    return true;
  }

  void reject(std::size_t first, std::size_t count, const answer& why) {
    if (r_.first_rejection.empty()) r_.first_rejection = why.message;
    r_.rejected += count;
    r_.done = first + count;
  }

  void interrupt(std::size_t first, const std::string& why) {
    r_.done = first;
    r_.interrupted = true;
    r_.interruption = why;
  }

  std::size_t budget_;
  const send_fn& send_;
  isolated r_;
};

}  // namespace

isolated insert_isolating(std::size_t n, std::size_t max_extra, const send_fn& send) {
  isolated r;
  if (n == 0) return r;
  answer a = send(0, n);  // an exception: nothing done, the caller's to handle
  r.requests = 1;
  switch (a.what) {
    case verdict::ok: r.done = n; return r;
    case verdict::retry: throw std::runtime_error(a.message);
    case verdict::refused:
      r.done = r.rejected = n;
      r.first_rejection = a.message;
      return r;
    case verdict::bad_rows: break;
  }
  isolator iso(max_extra, send);
  iso.total = n;
  iso.result().requests = 1;
  iso.split(0, n, a);
  return iso.result();
}

}  // namespace clickhouse
}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
