// sinks/syslog.cpp — the syslog sink: a queued_sink whose deliver() sends the batch's
// messages (rendered by syslog_layout(), sinks/syslog/layout.cpp) as datagrams (UDP, a
// unix datagram socket) or framed on a stream (TCP, a unix stream socket).
//
// Streams: one connection, non-blocking, every wait bounded by connect_timeout or
// io_timeout; MSG_NOSIGNAL, so a collector that went away raises no SIGPIPE. Before a
// batch the connection is checked: a collector that closed or reset it (a restart) is
// noticed before anything is written into a dead socket. The sink keeps copies of the
// lines it sent most recently (resend_bytes) and sends them again first on the next
// connection after a broken one: what a crashed collector had not stored yet is not
// lost (at least once). A write that fails in the middle of a batch says how many whole
// messages went out (outcome.done); a message cut in the middle is sent again whole.
#include "ctxlog/sinks/syslog.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string>
#include <vector>

namespace ctxlog {
inline namespace v1 {
namespace sinks {

namespace syslog_detail {

std::string frame(std::string_view msg, syslog_framing framing) {
  if (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
  std::string f;
  if (framing == syslog_framing::octet_counting) f.append(std::to_string(msg.size())).push_back(' ');
  f.append(msg);
  if (framing == syslog_framing::lf) f.push_back('\n');
  return f;
}

namespace {

// The start of the UTF-8 sequence at or before `at` (never past a lead byte).
std::size_t utf8_boundary(std::string_view s, std::size_t at) noexcept {
  std::size_t i = at;
  while (i > 0 && i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80 && at - i < 3) --i;
  return i;
}

// Where MSG starts in an RFC 5424 message (after "SD SP"), the end of each complete
// SD-PARAM and SD-ELEMENT before it; npos when it does not parse.
struct layout_points {
  std::size_t sd_start = std::string_view::npos;
  std::size_t msg_start = std::string_view::npos;
  std::vector<std::pair<std::size_t, bool>> ends;  // (offset after a param or an element, element end)
};

layout_points scan_5424(std::string_view m) {
  layout_points p;
  std::size_t i = m.find('>');
  if (i == std::string_view::npos || m.substr(i + 1, 2) != "1 ") return p;
  i += 3;
  for (int field = 0; field < 5; ++field) {  // TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
    const std::size_t sp = m.find(' ', i);
    if (sp == std::string_view::npos) return p;
    i = sp + 1;
  }
  p.sd_start = i;
  if (i < m.size() && m[i] == '-') {
    p.msg_start = i + 1;
    return p;
  }
  while (i < m.size() && m[i] == '[') {
    ++i;
    bool in_value = false;
    while (i < m.size()) {
      const char c = m[i];
      if (in_value) {
        if (c == '\\' && i + 1 < m.size()) ++i;
        else if (c == '"') {
          in_value = false;
          p.ends.emplace_back(i + 1, false);
        }
      } else if (c == '"') {
        in_value = true;
      } else if (c == ']') {
        break;
      }
      ++i;
    }
    if (i >= m.size()) return p;
    ++i;
    p.ends.emplace_back(i, true);
  }
  p.msg_start = i;
  return p;
}

}  // namespace

std::string_view cut(std::string_view msg, std::size_t max, std::string& scratch) {
  if (msg.size() <= max) return msg;
  const layout_points p = scan_5424(msg);
  if (p.msg_start != std::string_view::npos && p.msg_start < max) {
    // Header and SD fit: cut MSG at a character boundary.
    return msg.substr(0, std::max(utf8_boundary(msg, max), p.msg_start));
  }
  if (p.sd_start != std::string_view::npos && p.sd_start + 1 < max) {
    // The SD is too long: keep the complete parameters that fit, close their element.
    std::size_t keep = 0;
    bool element_end = true;
    for (const auto& [end, is_element] : p.ends) {
      if (end + (is_element ? 0 : 1) > max) break;
      keep = end;
      element_end = is_element;
    }
    if (keep == 0) {
      scratch.assign(msg.substr(0, p.sd_start)).push_back('-');
      return scratch;
    }
    scratch.assign(msg.substr(0, keep));
    if (!element_end) scratch.push_back(']');
    return scratch;
  }
  // Not RFC 5424 (3164), or the header alone is too long: a plain cut.
  return msg.substr(0, utf8_boundary(msg, max));
}

}  // namespace syslog_detail

namespace {

using steady = std::chrono::steady_clock;

std::string errno_text(const std::string& what, int err) { return what + ": " + std::strerror(err); }

int ms_left(steady::time_point deadline) noexcept {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

std::string_view body(std::string_view line) noexcept {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  return line;
}

bool is_stream(syslog_transport t) noexcept {
  return t == syslog_transport::tcp || t == syslog_transport::unix_stream;
}
bool is_unix(syslog_transport t) noexcept {
  return t == syslog_transport::unix_dgram || t == syslog_transport::unix_stream;
}

const char* transport_name(syslog_transport t) noexcept {
  switch (t) {
    case syslog_transport::udp: return "udp";
    case syslog_transport::tcp: return "tcp";
    case syslog_transport::unix_dgram: return "unix_dgram";
    case syslog_transport::unix_stream: return "unix_stream";
  }
  return "?";
}

}  // namespace

// What deliver() keeps between batches; the sender thread's only (but the counters).
struct syslog_sink::impl {
  explicit impl(const syslog_options& o) : opt(o) {}
  ~impl() { close(); }

  void close() noexcept {
    if (fd >= 0) ::close(fd);  // never shutdown(): after fork() the parent shares it
    fd = -1;
  }

  // A socket connected to the destination, or an exception saying why not.
  void open() {
    const int type = is_stream(opt.transport) ? SOCK_STREAM : SOCK_DGRAM;
    if (is_unix(opt.transport)) {
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      std::memcpy(a.sun_path, opt.path.data(), opt.path.size());
      const int s = ::socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (s < 0) throw std::runtime_error(errno_text("socket", errno));
      connect_or_throw(s, reinterpret_cast<const sockaddr*>(&a), sizeof a);
      return;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = type;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    addrinfo* list = nullptr;
    const std::string port = std::to_string(opt.port);
    const int rc = ::getaddrinfo(opt.host.c_str(), port.c_str(), &hints, &list);
    if (rc != 0)
      throw std::runtime_error("cannot resolve '" + opt.host + "': " +
                               (rc == EAI_SYSTEM ? std::string(std::strerror(errno)) : ::gai_strerror(rc)));
    std::string last = "no address";
    for (addrinfo* ai = list; ai; ai = ai->ai_next) {
      const int s = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
      if (s < 0) {
        last = errno_text("socket", errno);
        continue;
      }
      try {
        connect_or_throw(s, ai->ai_addr, ai->ai_addrlen);
        ::freeaddrinfo(list);
        return;
      } catch (const std::exception& e) {
        last = e.what();
      }
    }
    ::freeaddrinfo(list);
    throw std::runtime_error(last);
  }

  // Connects s (non-blocking) within connect_timeout; keeps it in fd or closes it and throws.
  void connect_or_throw(int s, const sockaddr* a, socklen_t len) {
    int rc = ::connect(s, a, len);
    int err = rc == 0 ? 0 : errno;
    if (rc != 0 && (err == EINPROGRESS || err == EAGAIN)) {
      pollfd p{s, POLLOUT, 0};
      const auto deadline = steady::now() + opt.connect_timeout;
      do rc = ::poll(&p, 1, ms_left(deadline));
      while (rc < 0 && errno == EINTR);
      if (rc == 0) err = ETIMEDOUT;
      else {
        socklen_t l = sizeof err;
        if (::getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &l) != 0) err = errno;
      }
    }
    if (err != 0) {
      ::close(s);
      throw std::runtime_error(errno_text("connect to " + peer(), err));
    }
    fd = s;
  }

  std::string peer() const {
    return is_unix(opt.transport) ? opt.path : opt.host + ":" + std::to_string(opt.port);
  }

  // Streams: is the connection still there? A collector that closed it (FIN) or reset
  // it is noticed here, before a batch is written into it. Bytes it sent are discarded.
  bool alive() noexcept {
    char buf[512];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) continue;
      if (n == 0) return false;
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
  }

  // Writes the frames of `lines` on the stream; returns how many whole frames went out
  // before a failure (`failure` says which), or lines.size().
  std::size_t write_frames(std::span<const std::string_view> lines, std::string& failure) {
    const bool counted = opt.framing == syslog_framing::octet_counting;
    std::size_t done = 0;
    std::size_t off = 0;  // bytes of lines[done]'s frame already written
    while (done < lines.size()) {
      // Up to 512 frames per sendmsg: a length prefix and the message each.
      iov.clear();
      prefixes.clear();
      prefixes.reserve(512);
      for (std::size_t i = done; i < lines.size() && iov.size() + 2 <= 1024; ++i) {
        const std::string_view m = body(lines[i]);
        std::string_view pre, post;
        if (counted) {
          prefixes.push_back(std::to_string(m.size()));
          prefixes.back().push_back(' ');
          pre = prefixes.back();
        } else {
          post = "\n";
        }
        // The first frame may be written in part already: skip those bytes.
        std::size_t skip = i == done ? off : 0;
        const std::string_view parts[] = {pre, m, post};
        for (const std::string_view part : parts) {
          if (part.empty()) continue;
          if (skip >= part.size()) {
            skip -= part.size();
            continue;
          }
          iov.push_back({const_cast<char*>(part.data() + skip), part.size() - skip});
          skip = 0;
        }
      }
      msghdr mh{};
      mh.msg_iov = iov.data();
      mh.msg_iovlen = iov.size();
      ssize_t n;
      do n = ::sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
      while (n < 0 && errno == EINTR);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd p{fd, POLLOUT, 0};
        int rc;
        const auto deadline = steady::now() + opt.io_timeout;
        do rc = ::poll(&p, 1, ms_left(deadline));
        while (rc < 0 && errno == EINTR);
        if (rc == 0) {
          failure = "no progress sending to " + peer() + " for " + std::to_string(opt.io_timeout.count()) + " ms";
          return done;
        }
        continue;  // writable, or an error that the next sendmsg reports
      }
      if (n < 0) {
        failure = errno_text("send to " + peer(), errno);
        return done;
      }
      // Advance over the frames written whole.
      auto left = static_cast<std::size_t>(n);
      while (left > 0 && done < lines.size()) {
        const std::string_view m = body(lines[done]);
        const std::size_t total = (counted ? std::to_string(m.size()).size() + 1 : 1) + m.size();
        const std::size_t rest = total - off;
        if (left >= rest) {
          left -= rest;
          off = 0;
          ++done;
        } else {
          off += left;
          left = 0;
        }
      }
    }
    return done;
  }

  // Streams: keep copies of lines just sent, the most recent resend_bytes of them.
  void retain(std::span<const std::string_view> lines) {
    if (opt.resend_bytes == 0) return;
    for (const std::string_view l : lines) {
      if (l.size() > opt.resend_bytes) {
        kept.clear();
        kept_bytes = 0;
        continue;
      }
      kept.emplace_back(l);
      kept_bytes += l.size();
      while (kept_bytes > opt.resend_bytes) {
        kept_bytes -= kept.front().size();
        kept.pop_front();
      }
    }
  }

  void forget() noexcept {
    kept.clear();
    kept_bytes = 0;
    resend_due = false;
  }

  // The connection failed or the collector broke it: the next one starts with the copies.
  void broken() noexcept {
    close();
    resend_due = opt.resend_bytes > 0 && !kept.empty();
  }

  queued_sink::outcome deliver_stream(const line_batch& batch) {
    if (fd >= 0 && !alive()) broken();
    if (fd < 0) {
      open();
      if (resend_due) {
        std::vector<std::string_view> again(kept.begin(), kept.end());
        std::string failure;
        const std::size_t n = write_frames(again, failure);
        if (n < again.size()) {
          broken();
          throw std::runtime_error(failure + " (sending again " + std::to_string(again.size()) +
                                   " line(s) a broken connection may have lost)");
        }
        resent.fetch_add(n, std::memory_order_relaxed);
        resend_due = false;
      }
    }
    std::string failure;
    const std::size_t done = write_frames(batch.lines, failure);
    retain(batch.lines.first(done));
    if (done < batch.lines.size()) {
      broken();
      if (done == 0) throw std::runtime_error(failure);
    }
    return {done, 0};
  }

  queued_sink::outcome deliver_datagrams(const line_batch& batch) {
    if (fd < 0) open();
    constexpr std::size_t k_chunk = 64;
    mmsghdr msgs[k_chunk];
    iovec iovs[k_chunk];
    std::string scratch[k_chunk];
    std::size_t done = 0;
    auto deadline = steady::now() + opt.io_timeout;  // moved on by every send that makes progress
    while (done < batch.lines.size()) {
      const std::size_t n = std::min(k_chunk, batch.lines.size() - done);
      for (std::size_t i = 0; i < n; ++i) {
        const std::string_view whole = body(batch.lines[done + i]);
        const std::string_view m = syslog_detail::cut(whole, opt.max_datagram, scratch[i]);
        if (m.size() < whole.size()) truncated.fetch_add(1, std::memory_order_relaxed);
        iovs[i] = {const_cast<char*>(m.data()), m.size()};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      int sent;
      do sent = ::sendmmsg(fd, msgs, static_cast<unsigned>(n), MSG_NOSIGNAL | MSG_DONTWAIT);
      while (sent < 0 && errno == EINTR);
      if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
        // The receiver's queue is full (a unix socket whose reader is slow): wait a bit.
        pollfd p{fd, POLLOUT, 0};
        if (ms_left(deadline) == 0 || ::poll(&p, 1, std::min(ms_left(deadline), 50)) < 0) {
          if (done == 0) throw std::runtime_error("no progress sending to " + peer() + " for " +
                                                  std::to_string(opt.io_timeout.count()) + " ms");
          return {done, 0};
        }
        continue;
      }
      if (sent < 0) {
        const int err = errno;
        close();  // reopened for the next attempt: the socket may be gone (ENOENT, ECONNREFUSED)
        if (done == 0) throw std::runtime_error(errno_text("send to " + peer(), err));
        return {done, 0};
      }
      if (sent > 0) {
        done += static_cast<std::size_t>(sent);
        deadline = steady::now() + opt.io_timeout;
      }
    }
    return {done, 0};
  }

  const syslog_options& opt;
  int fd = -1;
  std::vector<iovec> iov;
  std::vector<std::string> prefixes;
  std::deque<std::string> kept;
  std::size_t kept_bytes = 0;
  bool resend_due = false;
  std::atomic<std::uint64_t> truncated{0}, resent{0};
};

syslog_sink::syslog_sink(syslog_options options, level min_level)
    : queued_sink(options.queue, min_level), options_(std::move(options)) {
  if (is_unix(options_.transport)) {
    if (options_.path.empty()) throw std::invalid_argument("syslog sink: path is empty");
    if (options_.path.size() >= sizeof(sockaddr_un{}.sun_path))
      throw std::invalid_argument("syslog sink: path '" + options_.path.substr(0, 120) + "' is longer than " +
                                  std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
  } else {
    if (options_.host.empty()) throw std::invalid_argument("syslog sink: host is empty");
    if (options_.port == 0) throw std::invalid_argument("syslog sink: port is 0");
  }
  if (options_.max_datagram < 480)
    throw std::invalid_argument("syslog sink: max_datagram is below 480 (RFC 5426's minimum for IPv4)");
  impl_ = std::make_unique<impl>(options_);
  set_layout(syslog_layout(options_.layout));  // throws for a bad sd_id
}

syslog_sink::~syslog_sink() { stop(); }

std::uint64_t syslog_sink::truncated() const noexcept { return impl_->truncated.load(std::memory_order_relaxed); }
std::uint64_t syslog_sink::resent() const noexcept { return impl_->resent.load(std::memory_order_relaxed); }

void syslog_sink::idle() {
  impl& m = *impl_;
  if (m.fd < 0) return;
  if (is_stream(options_.transport) && !m.alive()) {
    m.broken();  // the collector went away while we were idle: resend on the next connection
    return;
  }
  m.close();
  m.forget();
}

// The parent's socket: closed here (close(), no shutdown()), the parent keeps it.
void syslog_sink::forked() {
  impl_->close();
  impl_->forget();
}

std::string syslog_sink::describe() const {
  return std::string("syslog ") + transport_name(options_.transport) + " " + impl_->peer();
}

queued_sink::outcome syslog_sink::deliver(const line_batch& batch) {
  return is_stream(options_.transport) ? impl_->deliver_stream(batch) : impl_->deliver_datagrams(batch);
}

}  // namespace sinks
}  // namespace v1
}  // namespace ctxlog
