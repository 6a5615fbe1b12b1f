// sinks/clickhouse/http.cpp — the HTTP/1.1 client of the ClickHouse sink: the response
// parser (pure, tested in pieces) and the connection (non-blocking socket, poll() with
// one deadline per request, MSG_NOSIGNAL so a closed peer raises no SIGPIPE).
#include "http.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace ctxlog {
inline namespace v1 {
namespace detail {
namespace http {

namespace {

constexpr std::size_t k_max_head = 64u << 10;  // status line and headers
constexpr std::size_t k_max_line = 4096;       // a chunk-size line or a trailer

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Does the comma-separated list hold token (case-insensitive)?
bool has_token(std::string_view list, std::string_view token) noexcept {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool parse_decimal(std::string_view s, std::uint64_t& v) noexcept {
  if (s.empty() || s.size() > 18) return false;
  v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  return true;
}

bool parse_hex(std::string_view s, std::uint64_t& v) noexcept {
  if (s.empty() || s.size() > 15) return false;
  v = 0;
  for (const char c : s) {
    unsigned d;
    if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
    else return false;
    v = v * 16 + d;
  }
  return true;
}

using clock = std::chrono::steady_clock;

int ms_left(clock::time_point deadline) noexcept {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

std::string errno_text(const char* what, int err) { return std::string(what) + ": " + std::strerror(err); }

}  // namespace

const std::string* response::header(std::string_view name) const noexcept {
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) return &v;
  return nullptr;
}

std::string percent_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' || u == '.' ||
        u == '_' || u == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    }
  }
  return out;
}

// ---- response_parser --------------------------------------------------------------------

std::size_t response_parser::feed(std::string_view data) {
  std::size_t used = 0;
  while (used < data.size() && state_ != state::done) {
    const std::string_view rest = data.substr(used);
    switch (state_) {
      case state::head: {
        // The head ends at the first empty line; bytes after it are the body's.
        const std::size_t before = line_.size();
        line_.append(rest);
        const std::size_t end = line_.find("\r\n\r\n", before >= 3 ? before - 3 : 0);
        if (end == std::string::npos) {
          if (line_.size() > k_max_head) throw protocol_error("response head longer than 64 KiB");
          used = data.size();
          break;
        }
        const std::size_t take = end + 4 - before;  // of rest
        used += take;
        const std::string head = line_.substr(0, end);
        line_.clear();
        parse_head(head);
        break;
      }
      case state::body_length:
      case state::chunk_data: {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, rest.size()));
        add_body(rest.substr(0, n));
        used += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = state_ == state::body_length ? state::done : state::chunk_data_end;
        break;
      }
      case state::body_to_close:
        add_body(rest);
        used = data.size();
        break;
      case state::chunk_size:
      case state::chunk_data_end:
      case state::trailers: {
        const std::size_t nl = rest.find('\n');
        if (nl == std::string_view::npos) {
          line_.append(rest);
          if (line_.size() > k_max_line) throw protocol_error("chunk line longer than 4 KiB");
          used = data.size();
          break;
        }
        line_.append(rest.substr(0, nl));
        used += nl + 1;
        if (line_.size() > k_max_line) throw protocol_error("chunk line longer than 4 KiB");
        std::string_view line = line_;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (state_ == state::chunk_data_end) {
          if (!line.empty()) throw protocol_error("chunk not followed by CRLF");
          state_ = state::chunk_size;
        } else if (state_ == state::chunk_size) {
          std::uint64_t size = 0;
          const std::string_view digits = trim(line.substr(0, line.find(';')));  // chunk extensions ignored
          if (!parse_hex(digits, size)) throw protocol_error("bad chunk size '" + std::string(line.substr(0, 40)) + "'");
          remaining_ = size;
          state_ = size == 0 ? state::trailers : state::chunk_data;
        } else if (line.empty()) {
          state_ = state::done;  // the empty line after the trailers
        }
        line_.clear();
        break;
      }
      case state::done: break;
    }
  }
  seen_ += used;
  return used;
}

void response_parser::eof() {
  if (state_ == state::body_to_close) {
    state_ = state::done;
    r_.keep_alive = false;
    return;
  }
  if (state_ != state::done) throw protocol_error(seen_ == 0 ? "connection closed before a response"
                                                             : "connection closed in the middle of a response");
}

void response_parser::parse_head(std::string_view head) {
  std::size_t eol = head.find("\r\n");
  const std::string_view status_line = head.substr(0, eol);
  // HTTP/1.x SP 3DIGIT [SP reason]
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ')
    throw protocol_error("bad status line '" + std::string(status_line.substr(0, 60)) + "'");
  const bool http10 = status_line[7] == '0';
  std::uint64_t code = 0;
  if (!parse_decimal(status_line.substr(9, 3), code) || code < 100 || (status_line.size() > 12 && status_line[12] != ' '))
    throw protocol_error("bad status line '" + std::string(status_line.substr(0, 60)) + "'");
  response r;
  r.status = static_cast<int>(code);
  r.reason = std::string(trim(status_line.size() > 12 ? status_line.substr(13) : std::string_view()));
  while (eol != std::string_view::npos) {
    const std::size_t start = eol + 2;
    eol = head.find("\r\n", start);
    const std::string_view line = head.substr(start, eol == std::string_view::npos ? std::string_view::npos : eol - start);
    if (line.empty()) continue;
    if (line.front() == ' ' || line.front() == '\t') throw protocol_error("folded header line");
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) throw protocol_error("header line without a name");
    r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
  }
  if (r.status < 200) {  // 100 Continue and the like: the real response follows
    state_ = state::head;
    return;
  }
  const std::string* conn = r.header("Connection");
  r.keep_alive = http10 ? conn && has_token(*conn, "keep-alive") : !(conn && has_token(*conn, "close"));
  r_ = std::move(r);
  start_body();
}

void response_parser::start_body() {
  if (head_request_ || r_.status == 204 || r_.status == 304) {
    state_ = state::done;
    return;
  }
  const std::string* te = r_.header("Transfer-Encoding");
  if (te && !iequals(*te, "identity")) {
    if (!has_token(*te, "chunked")) throw protocol_error("unsupported Transfer-Encoding '" + *te + "'");
    state_ = state::chunk_size;
    return;
  }
  if (const std::string* cl = r_.header("Content-Length")) {
    if (!parse_decimal(*cl, remaining_)) throw protocol_error("bad Content-Length '" + *cl + "'");
    for (const auto& [n, v] : r_.headers)  // two different lengths: the response cannot be framed
      if (iequals(n, "Content-Length") && v != *cl) throw protocol_error("two Content-Length headers");
    state_ = remaining_ == 0 ? state::done : state::body_length;
    return;
  }
  state_ = state::body_to_close;
  r_.keep_alive = false;
}

void response_parser::add_body(std::string_view piece) {
  r_.body_size += piece.size();
  if (r_.body.size() < body_limit_) r_.body.append(piece.substr(0, body_limit_ - r_.body.size()));
}

// ---- connection ---------------------------------------------------------------------------

connection::connection(std::string host, std::uint16_t port, std::chrono::milliseconds connect_timeout,
                       std::chrono::milliseconds io_timeout)
    : host_(std::move(host)), port_(port), connect_timeout_(connect_timeout), io_timeout_(io_timeout) {
  peer_ = (host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

connection::~connection() { close(); }

void connection::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void connection::open() {
  close();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* list = nullptr;
  const std::string service = std::to_string(port_);
  // A numeric address resolves without any lookup; a name may ask DNS (bounded by the
  // resolver's own timeouts, on the sender thread only).
  if (const int rc = ::getaddrinfo(host_.c_str(), service.c_str(), &hints, &list); rc != 0)
    throw io_error("cannot resolve " + host_ + ": " + ::gai_strerror(rc), true);
  std::string last = "no address";
  const auto deadline = clock::now() + connect_timeout_;
  for (addrinfo* a = list; a; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last = errno_text("socket", errno);
      continue;
    }
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      do rc = ::poll(&p, 1, ms_left(deadline));
      while (rc < 0 && errno == EINTR);
      if (rc == 0) {
        ::close(fd);
        last = "connect timed out";
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      rc = err == 0 ? 0 : -1;
      errno = err;
    }
    if (rc != 0) {
      last = errno_text("connect", errno);
      ::close(fd);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fd_ = fd;
    break;
  }
  ::freeaddrinfo(list);
  if (fd_ < 0) throw io_error("cannot connect to " + peer_ + ": " + last, true);
}

response connection::request(std::string_view method, std::string_view target, std::span<const std::string> headers,
                             std::span<const std::string_view> body) {
  const bool reused = connected();
  if (reused) {
    // A kept-alive connection the server has closed (its keep_alive_timeout) reads as
    // end of file: open a new one rather than find out by a failed request.
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) close();
  }
  if (!connected()) open();
  try {
    return exchange(method, target, headers, body);
  } catch (const io_error& e) {
    close();
    // The peer closed a reused connection without a byte of answer: it never took the
    // request (RFC 9112 9.3.1 lets a client send it again on a new connection).
    if (!reused || !e.before_response) throw;
  } catch (...) {
    close();
    throw;
  }
  open();
  try {
    return exchange(method, target, headers, body);
  } catch (...) {
    close();
    throw;
  }
}

response connection::exchange(std::string_view method, std::string_view target, std::span<const std::string> headers,
                              std::span<const std::string_view> body) {
  const auto deadline = clock::now() + io_timeout_;
  std::size_t body_size = 0;
  for (const std::string_view p : body) body_size += p.size();
  std::string head;
  head.reserve(256);
  head.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ").append(peer_).append("\r\n");
  for (const std::string& h : headers) head.append(h).append("\r\n");
  head.append("Content-Length: ").append(std::to_string(body_size)).append("\r\n\r\n");

  // Send the head and the body pieces with sendmsg (MSG_NOSIGNAL), up to 512 at a time.
  std::vector<iovec> iov;
  iov.reserve(std::min<std::size_t>(body.size() + 1, 512));
  std::size_t piece = 0;   // next piece: 0 is the head, i + 1 is body[i]
  std::size_t offset = 0;  // bytes of that piece already sent
  const std::size_t pieces = body.size() + 1;
  const auto piece_at = [&](std::size_t i) { return i == 0 ? std::string_view(head) : body[i - 1]; };
  while (piece < pieces) {
    iov.clear();
    for (std::size_t i = piece; i < pieces && iov.size() < 512; ++i) {
      const std::string_view s = piece_at(i).substr(i == piece ? offset : 0);
      if (!s.empty()) iov.push_back(iovec{const_cast<char*>(s.data()), s.size()});
    }
    if (iov.empty()) break;
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = iov.size();
    const ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        pollfd p{fd_, POLLOUT, 0};
        const int rc = ::poll(&p, 1, ms_left(deadline));
        if (rc == 0) throw io_error("sending to " + peer_ + " timed out", false);
        continue;
      }
      // The server may have answered (and closed) before taking the whole body, e.g. a
      // 413 or an early error: read what it said.
      if (errno == EPIPE || errno == ECONNRESET) break;
      throw io_error(errno_text(("send to " + peer_).c_str(), errno), false);
    }
    std::size_t sent = static_cast<std::size_t>(n);
    while (sent > 0 && piece < pieces) {
      const std::size_t left = piece_at(piece).size() - offset;
      if (sent >= left) {
        sent -= left;
        ++piece;
        offset = 0;
      } else {
        offset += sent;
        sent = 0;
      }
    }
    while (piece < pieces && piece_at(piece).size() == offset) {
      ++piece;
      offset = 0;
    }
  }

  response_parser parser(method == "HEAD");
  char buf[16384];
  while (!parser.done()) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      parser.feed(std::string_view(buf, static_cast<std::size_t>(n)));
      continue;
    }
    if (n == 0) {
      if (parser.seen() == 0) throw io_error("connection to " + peer_ + " closed before a response", true);
      parser.eof();  // throws when the response is incomplete
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      pollfd p{fd_, POLLIN, 0};
      const int rc = ::poll(&p, 1, ms_left(deadline));
      if (rc == 0) throw io_error("no response from " + peer_ + " within " + std::to_string(io_timeout_.count()) + " ms", false);
      continue;
    }
    const int err = errno;
    throw io_error(errno_text(("receive from " + peer_).c_str(), err), parser.seen() == 0 && err == ECONNRESET);
  }
  response r = std::move(parser.get());
  if (!r.keep_alive) close();
  return r;
}

}  // namespace http
}  // namespace detail
}  // namespace v1
}  // namespace ctxlog
