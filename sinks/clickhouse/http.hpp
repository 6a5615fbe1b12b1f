// sinks/clickhouse/http.hpp — the small HTTP/1.1 client of the ClickHouse sink: one
// keep-alive connection over a POSIX socket, a request with a Content-Length body sent
// from pieces (no copy of the batch), the response read with a deadline (status line,
// headers, a Content-Length, chunked or read-to-close body). Not API; used by the
// sender thread only, so nothing here locks.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace http {

struct response {
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent, values trimmed
  std::string body;          // at most the parser's body_limit bytes (the rest is read and discarded)
  std::size_t body_size = 0;  // the whole body's size
  bool keep_alive = true;     // the connection may carry another request

  // The first header of that name (ASCII case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const noexcept;
};

// Reads one response from bytes given in pieces of any size. Interim 1xx responses are
// skipped. A response to HEAD, and 204 and 304, have no body.
class response_parser {
 public:
  enum class state { head, body_length, chunk_size, chunk_data, chunk_data_end, trailers, body_to_close, done };

  explicit response_parser(bool head_request = false, std::size_t body_limit = 64u << 10)
      : head_request_(head_request), body_limit_(body_limit) {}

  // Takes the bytes; returns how many it used (fewer than data.size() only once done:
  // the rest belongs to no response). Throws protocol_error on a malformed response.
  std::size_t feed(std::string_view data);
  // The peer closed the connection: ends a read-to-close body; throws protocol_error
  // when the response is incomplete.
  void eof();
  bool done() const noexcept { return state_ == state::done; }
  // Bytes of the response seen so far (0: the peer said nothing: a request on a
  // connection that it closed may be sent again).
  std::size_t seen() const noexcept { return seen_; }
  response& get() noexcept { return r_; }

 private:
  void parse_head(std::string_view head);
  void start_body();
  void add_body(std::string_view piece);

  bool head_request_;
  std::size_t body_limit_;
  state state_ = state::head;
  std::string line_;            // a partial head or chunk-size line
  std::uint64_t remaining_ = 0;  // bytes left of the body or the chunk
  std::size_t seen_ = 0;
  response r_;
};

struct protocol_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A failure of the connection. before_response: nothing of a response had come back
// (a refused connect, a reset or close before the first byte), so the server did not
// answer this request; false: the request may have been carried out.
struct io_error : std::runtime_error {
  io_error(const std::string& what, bool before_response_) : std::runtime_error(what), before_response(before_response_) {}
  bool before_response;
};

// percent-encodes s for a query component (RFC 3986: unreserved bytes stay, every other
// byte is %XX).
std::string percent_encode(std::string_view s);

class connection {
 public:
  connection(std::string host, std::uint16_t port, std::chrono::milliseconds connect_timeout,
             std::chrono::milliseconds io_timeout);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Sends method target with the headers (each "Name: value", no CRLF in it) and a
  // Content-Length body made of the pieces, and reads the response, in io_timeout from
  // the first byte sent. Connects first when not connected. A kept-alive connection that
  // the peer closed before answering is opened again and the request sent once more.
  // Throws io_error or protocol_error (the connection is then closed).
  response request(std::string_view method, std::string_view target, std::span<const std::string> headers,
                   std::span<const std::string_view> body);
  void close() noexcept;
  bool connected() const noexcept { return fd_ >= 0; }
  // "host:port" for messages.
  const std::string& peer() const noexcept { return peer_; }

 private:
  void open();
  response exchange(std::string_view method, std::string_view target, std::span<const std::string> headers,
                    std::span<const std::string_view> body);

  std::string host_;
  std::uint16_t port_;
  std::chrono::milliseconds connect_timeout_, io_timeout_;
  std::string peer_;
  int fd_ = -1;
};

}  // namespace http
}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
