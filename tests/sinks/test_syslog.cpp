// The syslog sink's pieces and the sink against real sockets of the test: the RFC 5424
// layout (golden lines, hostile values, PRI, length limits, every line checked by a
// strict parser of RFC 5424's ABNF written here), RFC 3164, the datagram cut and the
// RFC 6587 frames; the sink over UDP, TCP and unix sockets to receivers on 127.0.0.1 (or
// in a temporary directory) that the test opens: a collector that is down at start, one
// that closes in the middle of a batch and comes back on the same port, one that never
// reads, a fork. The real rsyslogd: test_rsyslog_e2e.py.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ctxlog/ctxlog.hpp"
#include "ctxlog/sinks/syslog.hpp"
#include "sink_files.hpp"
#include "support.hpp"

namespace {

using namespace std::chrono_literals;
namespace sl = ctxlog::sinks;
using json = nlohmann::json;

// ---- a strict RFC 5424 parser (§6, the ABNF) -------------------------------------------

struct sd_element {
  std::string id;
  std::vector<std::pair<std::string, std::string>> params;  // values unescaped
};

struct message5424 {
  unsigned pri = 0;
  std::string timestamp, hostname, app_name, procid, msgid;
  std::vector<sd_element> sd;  // empty: NILVALUE
  std::optional<std::string> msg;

  std::string param(const std::string& id, const std::string& name) const {
    for (const auto& e : sd)
      if (e.id == id)
        for (const auto& p : e.params)
          if (p.first == name) return p.second;
    return "<absent>";
  }
};

bool printusascii(char c) { return static_cast<unsigned char>(c) >= 33 && static_cast<unsigned char>(c) <= 126; }

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    if (c < 0x80) n = 0;
    else if (c >= 0xC2 && c <= 0xDF) n = 1;
    else if (c >= 0xE0 && c <= 0xEF) n = 2;
    else if (c >= 0xF0 && c <= 0xF4) n = 3;
    else return false;
    for (std::size_t k = 1; k <= n; ++k)
      if (i + k >= s.size() || (static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n + 1;
  }
  return true;
}

struct parser {
  std::string_view s;
  std::size_t i = 0;
  std::string error;

  bool fail(const std::string& why) {
    if (error.empty()) error = why + " at offset " + std::to_string(i) + " of: " + std::string(s.substr(0, 300));
    return false;
  }
  bool lit(char c) { return i < s.size() && s[i] == c ? (++i, true) : fail(std::string("expected '") + c + "'"); }
  bool digits(std::size_t n, unsigned& v) {
    v = 0;
    for (std::size_t k = 0; k < n; ++k, ++i) {
      if (i >= s.size() || s[i] < '0' || s[i] > '9') return fail("expected a digit");
      v = v * 10 + static_cast<unsigned>(s[i] - '0');
    }
    return true;
  }
  // 1*max PRINTUSASCII, or "-" as the NILVALUE (kept as "-").
  bool field(std::size_t max, std::string& out, const char* what) {
    const std::size_t start = i;
    while (i < s.size() && printusascii(s[i])) ++i;
    out = std::string(s.substr(start, i - start));
    if (out.empty() || out.size() > max) return fail(std::string(what) + " empty or longer than " + std::to_string(max));
    return true;
  }
  bool sd_name(std::string& out, const char* what) {
    const std::size_t start = i;
    while (i < s.size() && printusascii(s[i]) && s[i] != '=' && s[i] != ']' && s[i] != '"') ++i;
    out = std::string(s.substr(start, i - start));
    if (out.empty() || out.size() > 32) return fail(std::string(what) + " not 1..32 characters");
    return true;
  }
  bool timestamp(std::string& out) {
    const std::size_t start = i;
    if (i < s.size() && s[i] == '-') {
      ++i;
      out = "-";
      return true;
    }
    unsigned y, mo, d, h, mi, se, x;
    if (!(digits(4, y) && lit('-') && digits(2, mo) && lit('-') && digits(2, d) && lit('T') && digits(2, h) &&
          lit(':') && digits(2, mi) && lit(':') && digits(2, se)))
      return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return fail("date-time out of range");
    if (i < s.size() && s[i] == '.') {
      ++i;
      std::size_t n = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++n;
      if (n < 1 || n > 6) return fail("TIME-SECFRAC not 1..6 digits");
    }
    if (i < s.size() && s[i] == 'Z') ++i;
    else if (!((i < s.size() && (s[i] == '+' || s[i] == '-') && (++i, true)) && digits(2, x) && lit(':') && digits(2, x)))
      return fail("no TIME-OFFSET");
    out = std::string(s.substr(start, i - start));
    return true;
  }
  bool param_value(std::string& out) {
    const std::size_t start = i;
    out.clear();
    while (i < s.size() && s[i] != '"') {
      if (s[i] == ']') return fail("']' not escaped in PARAM-VALUE");
      if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == ']')) ++i;
      else if (s[i] == '\\') return fail("a lone backslash in PARAM-VALUE (ctxlog escapes every one)");
      out.push_back(s[i++]);
    }
    if (!valid_utf8(s.substr(start, i - start))) return fail("PARAM-VALUE is not UTF-8");
    return lit('"');
  }

  bool parse(message5424& m) {
    if (!lit('<')) return false;
    const std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    const std::string_view pri = s.substr(start, i - start);
    if (pri.empty() || pri.size() > 3 || (pri.size() > 1 && pri[0] == '0')) return fail("bad PRI");
    m.pri = static_cast<unsigned>(std::stoi(std::string(pri)));
    if (m.pri > 191) return fail("PRI above 191");
    if (!(lit('>') && lit('1') && lit(' ') && timestamp(m.timestamp) && lit(' ') && field(255, m.hostname, "HOSTNAME") &&
          lit(' ') && field(48, m.app_name, "APP-NAME") && lit(' ') && field(128, m.procid, "PROCID") && lit(' ') &&
          field(32, m.msgid, "MSGID") && lit(' ')))
      return false;
    if (i < s.size() && s[i] == '-') {
      ++i;
    } else {
      std::set<std::string> ids;
      if (i >= s.size() || s[i] != '[') return fail("no STRUCTURED-DATA");
      while (i < s.size() && s[i] == '[') {
        ++i;
        sd_element e;
        if (!sd_name(e.id, "SD-ID")) return false;
        if (!ids.insert(e.id).second) return fail("SD-ID twice");
        while (i < s.size() && s[i] == ' ') {
          ++i;
          std::string name, value;
          if (!(sd_name(name, "PARAM-NAME") && lit('=') && lit('"') && param_value(value))) return false;
          e.params.emplace_back(name, value);
        }
        if (!lit(']')) return false;
        m.sd.push_back(std::move(e));
      }
    }
    if (i == s.size()) return true;
    if (!lit(' ')) return false;
    m.msg = std::string(s.substr(i));
    i = s.size();
    return true;
  }
};

message5424 parse5424(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  parser p{line, 0, {}};
  message5424 m;
  const bool ok = p.parse(m);
  CHECK_MESSAGE(ok, p.error);
  CHECK_MESSAGE(line.find('\n') == std::string_view::npos, "a line break inside the message");
  return m;
}

// ---- rendering one record --------------------------------------------------------------

class kv_bytes {
 public:
  kv_bytes& str(std::string_view k, std::string_view v) {
    key(k, ctxlog::detail::kv_tag::string);
    put(v);
    return *this;
  }
  kv_bytes& i64(std::string_view k, std::int64_t v) {
    key(k, ctxlog::detail::kv_tag::i64);
    const std::size_t n = b_.size();
    b_.resize(n + 8);
    std::memcpy(b_.data() + n, &v, 8);
    return *this;
  }
  ctxlog::call_fields fields() const { return {b_.data(), b_.data() + b_.size()}; }

 private:
  void put(std::string_view s) {
    std::vector<std::byte> e(ctxlog::detail::encoded_size(s));
    ctxlog::detail::encode(e.data(), s);
    b_.insert(b_.end(), e.begin(), e.end());
  }
  void key(std::string_view k, ctxlog::detail::kv_tag t) {
    put(k);
    b_.push_back(static_cast<std::byte>(t));
  }
  std::vector<std::byte> b_;
};

struct rec {
  ctxlog::context ctx{};
  ctxlog::call_fields fields{};
  ctxlog::process_info process{.service = "orders", .host = "web-1"};
  std::string_view message = "order 42 created";
  std::string_view logger = "http";
  ctxlog::level severity = ctxlog::level::warn;
};

std::string render(ctxlog::layout& l, const rec& in) {
  l.configure(in.process);
  const ctxlog::record_view r{.time_ns = 1764633600123456789ull,
                              .severity = in.severity,
                              .logger = in.logger,
                              .message = in.message,
                              .ctx = in.ctx,
                              .context_lost = false,
                              .fields = in.fields,
                              .thread = 4711,
                              .pid = 100,
                              .where = {.file = "orders.cpp", .line = 42, .function = "charge"},
                              .process = in.process,
                              .site = nullptr};
  ctxlog::buffer out;
  l.render(r, out);
  return std::string(out.data(), out.size());
}

std::string render(const rec& in, sl::syslog_layout_options o = {.app_name = "orders-app"}) {
  auto l = sl::syslog_layout(std::move(o));
  return render(*l, in);
}

ctxlog::context full_context() {
  return ctxlog::context{}.with(ctxlog::fields{}
                                    .request_id("r-1")
                                    .tenant_id("acme")
                                    .trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
                                    .span_id("00f067aa0ba902b7")
                                    .user_id("u-3")
                                    .set("region", "eu-west-1"));
}

// ---- receivers on real sockets ---------------------------------------------------------

// Datagrams on 127.0.0.1:<port> (UDP) or at a path (unix), each kept as a message.
class dgram_receiver {
 public:
  explicit dgram_receiver(const std::string& path = "") {
    if (path.empty()) {
      fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
      socklen_t len = sizeof a;
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
      port_ = ntohs(a.sin_port);
    } else {
      fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
      REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    }
    const int big = 4 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    thread_ = std::thread([this] { run(); });
  }
  ~dgram_receiver() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  std::vector<std::string> messages() const {
    std::lock_guard lk(mu_);
    return got_;
  }
  // Waits until n messages came (at most `wait`).
  std::vector<std::string> wait_for(std::size_t n, std::chrono::milliseconds wait = 5000ms) const {
    const auto until = std::chrono::steady_clock::now() + wait;
    while (messages().size() < n && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
    return messages();
  }

 private:
  void run() {
    std::vector<char> buf(1 << 17);
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n < 0) continue;
      std::lock_guard lk(mu_);
      got_.emplace_back(buf.data(), static_cast<std::size_t>(n));
    }
  }
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<std::string> got_;
  std::thread thread_;
};

// A stream collector: TCP on 127.0.0.1 (a given port, or a free one) or a unix stream
// socket at a path; reads octet-counted frames, one connection at a time. It can be
// told to cut a connection after a number of messages (unread bytes are lost, as with a
// collector that crashes), to stop reading, and be stopped and started on the same port.
class stream_receiver {
 public:
  explicit stream_receiver(std::uint16_t port = 0, std::string path = "") : path_(std::move(path)), port_(port) {
    start();
  }
  ~stream_receiver() { stop(); }

  void start() {
    if (path_.empty()) {
      listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      const int one = 1;
      ::setsockopt(listen_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(port_);
      REQUIRE(::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
      socklen_t len = sizeof a;
      ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
      port_ = ntohs(a.sin_port);
    } else {
      ::unlink(path_.c_str());
      listen_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      std::strncpy(a.sun_path, path_.c_str(), sizeof a.sun_path - 1);
      REQUIRE(::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    }
    REQUIRE(::listen(listen_, 8) == 0);
    stop_ = false;
    thread_ = std::thread([this] { run(); });
  }
  void stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
    ::close(listen_);
  }

  std::uint16_t port() const { return port_; }
  std::atomic<std::size_t> cut_after{0};  // cut the connection after this many messages in all (0: never)
  std::atomic<bool> reading{true};
  std::size_t connections() const { return connections_.load(); }
  std::size_t partial_frames() const { return partial_.load(); }
  std::vector<std::string> messages() const {
    std::lock_guard lk(mu_);
    return got_;
  }
  std::vector<std::string> wait_for(std::size_t n, std::chrono::milliseconds wait = 5000ms) const {
    const auto until = std::chrono::steady_clock::now() + wait;
    while (messages().size() < n && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
    return messages();
  }
  std::string error() const {
    std::lock_guard lk(mu_);
    return error_;
  }

 private:
  struct conn {
    int fd;
    std::string buf;
  };
  // The listener and every open connection in one poll loop.
  void run() {
    std::vector<conn> conns;
    char chunk[4096];
    while (!stop_) {
      std::vector<pollfd> p{{listen_, POLLIN, 0}};
      if (reading)
        for (const conn& c : conns) p.push_back({c.fd, POLLIN, 0});
      if (::poll(p.data(), p.size(), 20) <= 0) continue;
      if (p[0].revents & POLLIN) {
        const int c = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) {
          ++connections_;
          conns.push_back({c, {}});
        }
      }
      for (std::size_t k = 1; k < p.size(); ++k) {
        if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        conn& c = conns[k - 1];
        const ssize_t n = ::recv(c.fd, chunk, sizeof chunk, 0);
        if (n <= 0 || !take(c, std::string_view(chunk, static_cast<std::size_t>(n)))) {
          if (!c.buf.empty()) ++partial_;
          ::close(c.fd);
          c.fd = -1;
        }
      }
      std::erase_if(conns, [](const conn& c) { return c.fd < 0; });
    }
    for (const conn& c : conns) ::close(c.fd);
  }
  // Takes the frames in the bytes; false: close the connection (the cut, or bad framing).
  bool take(conn& c, std::string_view bytes) {
    c.buf.append(bytes);
    for (;;) {
      const std::size_t sp = c.buf.find(' ');
      if (sp == std::string::npos) return true;
      std::size_t len = 0;
      for (std::size_t k = 0; k < sp; ++k) {
        if (c.buf[k] < '0' || c.buf[k] > '9' || sp > 9) {
          std::lock_guard lk(mu_);
          error_ = "not octet-counted: " + c.buf.substr(0, 80);
          return false;
        }
        len = len * 10 + static_cast<std::size_t>(c.buf[k] - '0');
      }
      if (c.buf.size() < sp + 1 + len) return true;
      std::size_t total;
      {
        std::lock_guard lk(mu_);
        got_.push_back(c.buf.substr(sp + 1, len));
        total = got_.size();
      }
      c.buf.erase(0, sp + 1 + len);
      const std::size_t cut = cut_after.load();
      if (cut != 0 && total >= cut) {
        cut_after = 0;
        const linger l{1, 0};  // a reset, as a crash; unread bytes are lost
        ::setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        c.buf.clear();
        return false;
      }
    }
  }

  std::string path_;
  std::uint16_t port_ = 0;
  int listen_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> connections_{0}, partial_{0};
  mutable std::mutex mu_;
  std::vector<std::string> got_;
  std::string error_;
  std::thread thread_;
};

// A port on which nothing listens (bound, then closed).
std::uint16_t free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

// Lines given to the sink directly (as the back-end would): "<14>1 ... - line N\n".
std::string numbered(std::size_t i, std::size_t pad = 0) {
  return "<14>1 2026-12-01T00:00:00.000001Z h app 1 - - line " + std::to_string(i) + std::string(pad, 'x') + "\n";
}
void feed(sl::syslog_sink& s, std::size_t from, std::size_t n, std::size_t pad = 0) {
  for (std::size_t i = from; i < from + n; ++i) {
    const std::string l = numbered(i, pad);
    s.write(ctxlog::log_line{ctxlog::level::info, "t", l});
  }
}
// The line numbers in messages; counts each number's copies.
std::map<std::size_t, int> numbers(const std::vector<std::string>& msgs) {
  std::map<std::size_t, int> n;
  for (const auto& m : msgs) {
    const std::size_t at = m.find(" line ");
    if (at == std::string::npos) continue;
    ++n[std::stoul(m.substr(at + 6))];
  }
  return n;
}

// TSan cannot start threads in the child of a multi-threaded fork() (it dies, "starting
// new threads after multi-threaded fork is not supported"): the fork test skips there.
#if defined(__SANITIZE_THREAD__)
constexpr bool tsan = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool tsan = true;
#else
constexpr bool tsan = false;
#endif
#else
constexpr bool tsan = false;
#endif

bool adds_up(const sl::delivery_stats& d) { return d.accepted == d.delivered + d.dropped + d.buffered; }

sl::queue_options fast_queue() {
  return {.batch_lines = 100, .batch_delay = 10ms, .retry_min = 10ms, .retry_max = 100ms, .linger = 500ms};
}

}  // namespace

TEST_SUITE("syslog layout") {
  TEST_CASE("golden RFC 5424 line: PRI, header, the context element, the kv() element, MSG") {
    kv_bytes f;
    f.i64("items", 3).str("note", "gift");
    const std::string line = render({.ctx = full_context(), .fields = f.fields()});
    CHECK(line ==
          "<12>1 2025-12-02T00:00:00.123456Z web-1 orders-app 100 http [ctx@32473 requestId=\"r-1\" "
          "traceId=\"4bf92f3577b34da6a3ce929d0e0e4736\" spanId=\"00f067aa0ba902b7\" tenantId=\"acme\" userId=\"u-3\" "
          "region=\"eu-west-1\"][fields@32473 items=\"3\" note=\"gift\"] order 42 created\n");
    const message5424 m = parse5424(line);
    CHECK(m.pri == 12);  // user (1) * 8 + warning (4)
    CHECK(m.param("ctx@32473", "traceId") == "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK(m.param("ctx@32473", "parentSpanId") == "<absent>");
    CHECK(m.msg.value_or("") == "order 42 created");
  }

  TEST_CASE("no context, no fields: SD is the NILVALUE; an empty message leaves MSG out") {
    CHECK(render({}) == "<12>1 2025-12-02T00:00:00.123456Z web-1 orders-app 100 http - order 42 created\n");
    const std::string bare = render({.message = "", .logger = ""});
    CHECK(bare == "<12>1 2025-12-02T00:00:00.123456Z web-1 orders-app 100 - -\n");
    CHECK_FALSE(parse5424(bare).msg.has_value());
  }

  TEST_CASE("options: SD-ID, facility, MSGID, hostname, ms precision, BOM, no fields element") {
    kv_bytes f;
    f.i64("items", 3);
    const auto c = ctxlog::context{}.with(ctxlog::fields{}.request_id("r-9"));
    const std::string line = render({.ctx = c, .fields = f.fields(), .severity = ctxlog::level::error},
                                    {.facility = sl::syslog_facility::local0,
                                     .hostname = "collector-side",
                                     .app_name = "x",
                                     .msgid = "ORD",
                                     .sd_id = "req@1234",
                                     .fields_sd_id = "",
                                     .bom = true,
                                     .precision = ctxlog::time_precision::ms});
    CHECK(line == "<131>1 2025-12-02T00:00:00.123Z collector-side x 100 ORD [req@1234 requestId=\"r-9\"] \xEF\xBB\xBF"
                  "order 42 created\n");
    parse5424(line);
    CHECK_THROWS_AS(sl::syslog_layout({.sd_id = "has space"}), std::invalid_argument);
    CHECK_THROWS_AS(sl::syslog_layout({.sd_id = "a=b"}), std::invalid_argument);
    CHECK_THROWS_AS(sl::syslog_layout({.sd_id = std::string(33, 'a')}), std::invalid_argument);
    CHECK_THROWS_AS(sl::syslog_layout({.sd_id = ""}), std::invalid_argument);
    CHECK_THROWS_AS(sl::syslog_layout({.sd_id = "x@1", .fields_sd_id = "x@1"}), std::invalid_argument);
  }

  TEST_CASE("ns precision is written as six digits: RFC 5424 allows no more") {
    const message5424 m = parse5424(render({}, {.precision = ctxlog::time_precision::ns}));
    CHECK(m.timestamp == "2025-12-02T00:00:00.123456Z");
  }

  TEST_CASE("PRI = facility * 8 + severity, ctxlog levels mapped to syslog severities") {
    using L = ctxlog::level;
    CHECK(sl::syslog_severity(L::trace) == 7);
    CHECK(sl::syslog_severity(L::debug) == 7);
    CHECK(sl::syslog_severity(L::info) == 6);
    CHECK(sl::syslog_severity(L::warn) == 4);
    CHECK(sl::syslog_severity(L::error) == 3);
    CHECK(sl::syslog_severity(L::critical) == 2);
    CHECK(sl::syslog_pri(sl::syslog_facility::kern, L::critical) == 2);
    CHECK(sl::syslog_pri(sl::syslog_facility::user, L::info) == 14);
    CHECK(sl::syslog_pri(sl::syslog_facility::local7, L::debug) == 191);
    for (const L l : {L::trace, L::debug, L::info, L::warn, L::error, L::critical}) {
      const message5424 m = parse5424(render({.severity = l}, {.facility = sl::syslog_facility::daemon}));
      CHECK(m.pri == 3 * 8 + sl::syslog_severity(l));
    }
  }

  TEST_CASE("hostile values: quotes, ']', backslashes, UTF-8, invalid UTF-8, control characters") {
    const std::string hostile = "a\"b]c\\d \xC3\xA9\xE2\x82\xAC [x=\"y\"] \xFF\xC3 tab\there\nnew\x01\x7F";
    const auto c = ctxlog::context{}.with(ctxlog::fields{}.request_id(hostile).trace_id("t\"]").set("bad key=]\"", "v"));
    kv_bytes f;
    f.str("note", hostile);
    const std::string line = render({.ctx = c, .fields = f.fields(), .message = hostile});
    CHECK(line.find('\n') == line.size() - 1);
    const message5424 m = parse5424(line);
    // Unescaped, the value is the original with invalid UTF-8 replaced and control
    // characters as #ooo.
    const std::string want = "a\"b]c\\d \xC3\xA9\xE2\x82\xAC [x=\"y\"] \xEF\xBF\xBD\xEF\xBF\xBD tab#011here#012new#001#177";
    CHECK(m.param("ctx@32473", "requestId") == want);
    CHECK(m.param("ctx@32473", "traceId") == "t\"]");
    CHECK(m.param("ctx@32473", "bad_key___") == "v");
    CHECK(m.param("fields@32473", "note") == want);
    CHECK(m.msg.value_or("") == want);
    CHECK(line.find("requestId=\"a\\\"b\\]c\\\\d ") != std::string::npos);
    REQUIRE(m.sd.size() == 2);
    CHECK(m.sd[0].params.size() == 3);  // nothing forged by the value's own [x="y"]
  }

  TEST_CASE("length limits: HOSTNAME 255, APP-NAME 48, MSGID 32, PARAM-NAME 32; non-ASCII becomes '_'") {
    const std::string long_name(300, 'h');
    const auto c = ctxlog::context{}.with(ctxlog::fields{}.set(std::string(40, 'k'), "v"));
    const std::string logger = "logger-with-a-name-longer-than-32-chars";
    const std::string line =
        render({.ctx = c, .logger = logger}, {.hostname = long_name, .app_name = std::string(60, 'a') + "\xC3\xA9"});
    const message5424 m = parse5424(line);
    CHECK(m.hostname == std::string(255, 'h'));
    CHECK(m.app_name == std::string(48, 'a'));
    CHECK(m.msgid == logger.substr(0, 32));
    CHECK(m.param("ctx@32473", std::string(32, 'k')) == "v");
    const message5424 odd = parse5424(render({.logger = "a b\xC3\xA9"}, {.hostname = "h\xC3\xA9 x", .app_name = "my app"}));
    CHECK(odd.hostname == "h___x");
    CHECK(odd.app_name == "my_app");
    CHECK(odd.msgid == "a_b__");
  }

  TEST_CASE("the default APP-NAME is the program's name, HOSTNAME the configured host, else this host's") {
    const message5424 m = parse5424(render({.process = {}}, {}));
    CHECK(m.app_name == std::string(program_invocation_short_name).substr(0, 48));
    CHECK(m.hostname == ctxlog::this_host().substr(0, 255));
    CHECK(m.procid == "100");
  }

  TEST_CASE("MSG as JSON: the record's JSON object, whole, on the line") {
    const std::string line = render({.ctx = full_context()}, {.app_name = "a", .message = sl::syslog_message::json});
    const message5424 m = parse5424(line);
    REQUIRE(m.msg.has_value());
    const json j = json::parse(*m.msg);
    CHECK(j.at("msg") == "order 42 created");
    CHECK(j.at("requestId") == "r-1");
    CHECK(j.at("level") == "warn");
    CHECK(m.param("ctx@32473", "requestId") == "r-1");
  }

  TEST_CASE("RFC 3164: <PRI>Mmm dd hh:mm:ss HOST TAG[PID]: SD MSG") {
    const std::string line = render({.ctx = ctxlog::context{}.with(ctxlog::fields{}.request_id("r-1"))},
                                    {.format = sl::syslog_format::rfc3164, .app_name = "orders"});
    time_t t = 1764633600;
    tm lt{};
    localtime_r(&t, &lt);
    char when[32];
    std::strftime(when, sizeof when, "%b %e %H:%M:%S", &lt);
    CHECK(line == std::string("<12>") + when + " web-1 orders[100]: [ctx@32473 requestId=\"r-1\"] order 42 created\n");
    CHECK(render({}, {.format = sl::syslog_format::rfc3164, .app_name = "orders"}) ==
          std::string("<12>") + when + " web-1 orders[100]: order 42 created\n");
  }
}

TEST_SUITE("syslog framing and cut") {
  TEST_CASE("octet counting: LEN SP MSG, the length in bytes (RFC 6587 3.4.1); LF framing") {
    CHECK(sl::syslog_detail::frame("<14>1 - - - - - - hi\n", sl::syslog_framing::octet_counting) ==
          "20 <14>1 - - - - - - hi");
    CHECK(sl::syslog_detail::frame("<14>1 - - - - - - \xC3\xA9\n", sl::syslog_framing::octet_counting) ==
          "20 <14>1 - - - - - - \xC3\xA9");
    CHECK(sl::syslog_detail::frame("<14>1 - - - - - - hi\n", sl::syslog_framing::lf) == "<14>1 - - - - - - hi\n");
  }

  TEST_CASE("a datagram too long is cut inside MSG at a UTF-8 boundary; the header and SD stay whole") {
    std::string scratch;
    const std::string head = "<14>1 2026-12-01T00:00:00Z h a 1 - [c@1 k=\"v\"] ";
    const std::string msg = head + std::string(10, 'x') + "\xE2\x82\xAC\xE2\x82\xAC";  // two 3-byte characters
    CHECK(sl::syslog_detail::cut(msg, msg.size(), scratch) == msg);
    const std::string_view cut = sl::syslog_detail::cut(msg, head.size() + 12, scratch);
    CHECK(cut == head + std::string(10, 'x'));  // not in the middle of the euro sign
    CHECK(sl::syslog_detail::cut(msg, head.size() + 13, scratch) == head + std::string(10, 'x') + "\xE2\x82\xAC");
    parse5424(std::string(cut));
  }

  TEST_CASE("when the SD alone is too long, the parameters that fit are kept and their element closed") {
    std::string scratch;
    const std::string msg = "<14>1 - h a 1 - [c@1 a=\"1111\" b=\"2\\]22\"][d@1 x=\"y\"] text";
    const std::string_view one = sl::syslog_detail::cut(msg, 30, scratch);
    CHECK(one == "<14>1 - h a 1 - [c@1 a=\"1111\"]");
    parse5424(std::string(one));
    const std::string_view two = sl::syslog_detail::cut(msg, 40, scratch);
    CHECK(two == "<14>1 - h a 1 - [c@1 a=\"1111\" b=\"2\\]22\"]");
    parse5424(std::string(two));
    const std::string_view none = sl::syslog_detail::cut(msg, 20, scratch);
    CHECK(none == "<14>1 - h a 1 - -");
    parse5424(std::string(none));
  }
}

TEST_SUITE("syslog sink") {
  TEST_CASE("bad options are refused at construction") {
    CHECK_THROWS_AS(sl::syslog({.transport = sl::syslog_transport::tcp, .port = 0}), std::invalid_argument);
    CHECK_THROWS_AS(sl::syslog({.transport = sl::syslog_transport::udp, .host = ""}), std::invalid_argument);
    CHECK_THROWS_AS(sl::syslog({.transport = sl::syslog_transport::unix_dgram, .path = ""}), std::invalid_argument);
    CHECK_THROWS_AS(sl::syslog({.transport = sl::syslog_transport::unix_dgram, .path = std::string(200, 'p')}),
                    std::invalid_argument);
    CHECK_THROWS_AS(sl::syslog({.max_datagram = 100}), std::invalid_argument);
    CHECK_THROWS_AS(sl::syslog({.layout = {.sd_id = "a b"}}), std::invalid_argument);
  }

  TEST_CASE("UDP: one datagram per line without its newline; oversize lines cut and counted") {
    dgram_receiver rx;
    auto s = sl::syslog({.transport = sl::syslog_transport::udp, .port = rx.port(), .max_datagram = 600,
                         .queue = fast_queue()});
    feed(*s, 0, 200);
    feed(*s, 200, 3, 1000);  // longer than 600
    REQUIRE(s->drain(5000ms));
    const auto got = rx.wait_for(203);
    REQUIRE(got.size() == 203);
    CHECK(got[0] == "<14>1 2026-12-01T00:00:00.000001Z h app 1 - - line 0");
    for (const auto& m : got) CHECK(m.size() <= 600);
    CHECK(got[202].size() == 600);
    CHECK(numbers(got).size() == 203);
    CHECK(s->truncated() == 3);
    const auto d = s->delivery();
    CHECK(d.delivered == 203);
    CHECK(adds_up(d));
  }

  TEST_CASE("TCP: octet-counted frames on one connection, in order, the whole pipeline through configure()") {
    stream_receiver rx;
    auto s = sl::syslog({.transport = sl::syslog_transport::tcp, .port = rx.port(), .queue = fast_queue()});
    ctxlog::configure({.sinks = {s}, .process = {.service = "svc", .host = "test-host"}});
    const int n = ctxlog_test::sanitized ? 300 : 3000;
    ctxlog::run(ctxlog::fields{}.request_id("r-\"7\"").trace_id("4bf92f3577b34da6a3ce929d0e0e4736"), [&] {
      for (int i = 0; i < n; ++i) LOG_INFO("order {}", i, ctxlog::kv("i", i));
    });
    ctxlog::flush();
    REQUIRE(s->drain(10000ms));
    const auto got = rx.wait_for(static_cast<std::size_t>(n));
    ctxlog_test::release_sinks();
    REQUIRE(got.size() == static_cast<std::size_t>(n));
    CHECK(rx.error() == "");
    CHECK(rx.connections() == 1);
    for (int i = 0; i < n; i += n / 10) {
      const message5424 m = parse5424(got[static_cast<std::size_t>(i)]);
      CHECK(m.hostname == "test-host");
      CHECK(m.param("ctx@32473", "requestId") == "r-\"7\"");
      CHECK(m.param("fields@32473", "i") == std::to_string(i));
      CHECK(m.msg.value_or("") == "order " + std::to_string(i));
      CHECK(m.procid == std::to_string(::getpid()));
    }
    CHECK(s->delivery().delivered == static_cast<std::uint64_t>(n));
  }

  TEST_CASE("unix datagram socket (/dev/log style) and unix stream socket") {
    ctxlog_test::temp_dir dir("syslog_unix");
    dgram_receiver dg(dir.file("log.sock"));
    stream_receiver st(0, dir.file("stream.sock"));
    auto a = sl::syslog({.transport = sl::syslog_transport::unix_dgram, .path = dir.file("log.sock"), .queue = fast_queue()});
    auto b = sl::syslog({.transport = sl::syslog_transport::unix_stream, .path = dir.file("stream.sock"), .queue = fast_queue()});
    feed(*a, 0, 500);
    feed(*b, 0, 500);
    REQUIRE(a->drain(5000ms));
    REQUIRE(b->drain(5000ms));
    CHECK(numbers(dg.wait_for(500)).size() == 500);
    CHECK(numbers(st.wait_for(500)).size() == 500);
  }

  TEST_CASE("a collector down at start: lines wait, failures are counted, all arrive once it is up") {
    const std::uint16_t port = free_port();
    auto s = sl::syslog({.transport = sl::syslog_transport::tcp, .port = port, .queue = fast_queue()});
    feed(*s, 0, 300);
    CHECK_FALSE(s->drain(300ms));
    const auto down = s->delivery();
    CHECK(down.failures > 0);
    CHECK(down.buffered == 300);
    CHECK(adds_up(down));
    stream_receiver rx(port);
    REQUIRE(s->drain(5000ms));
    const auto n = numbers(rx.wait_for(300));
    CHECK(n.size() == 300);
    CHECK(s->delivery().delivered == 300);
  }

  TEST_CASE("a collector that cuts the connection mid-batch and restarts on its port: nothing lost, few copies") {
    stream_receiver rx;
    const std::uint16_t port = rx.port();
    // The resend window covers what can be in flight here (the lines' whole volume).
    auto s = sl::syslog({.transport = sl::syslog_transport::tcp, .port = port, .resend_bytes = 1u << 20,
                         .queue = fast_queue()});
    const std::size_t n = 4000;
    rx.cut_after = 1000;
    feed(*s, 0, 2000);
    rx.wait_for(1000);
    rx.stop();  // down for a while: connects are refused
    feed(*s, 2000, 1000);
    std::this_thread::sleep_for(200ms);
    rx.start();
    feed(*s, 3000, 1000);
    REQUIRE(s->drain(10000ms));
    // Copies count as messages too: wait for the distinct lines.
    std::map<std::size_t, int> count;
    for (int k = 0; k < 400 && count.size() < n; ++k) {
      count = numbers(rx.messages());
      if (count.size() < n) std::this_thread::sleep_for(5ms);
    }
    const auto d = s->delivery();
    CHECK(adds_up(d));
    CHECK(d.dropped == 0);
    CHECK(count.size() == n);  // every line at least once
    std::size_t copies = 0;
    for (const auto& kv : count) copies += static_cast<std::size_t>(kv.second - 1);
    CHECK(copies <= s->resent());
    CHECK(s->resent() > 0);
    CHECK(rx.connections() >= 2);
    CHECK_FALSE(ctxlog_test::sigpipe_pending());
  }

  TEST_CASE("at most once (resend_bytes 0): the break costs lines, but the counts still add up") {
    stream_receiver rx;
    auto s = sl::syslog({.transport = sl::syslog_transport::tcp, .port = rx.port(), .resend_bytes = 0,
                         .queue = fast_queue()});
    rx.cut_after = 500;
    feed(*s, 0, 2000);
    REQUIRE(s->drain(10000ms));
    const auto count = numbers(rx.wait_for(1500, 1000ms));
    for (const auto& kv : count) CHECK(kv.second == 1);  // never twice
    CHECK(s->resent() == 0);
    CHECK(adds_up(s->delivery()));
  }

  TEST_CASE("a collector that stops reading: the back-end is never blocked, the bound drops and counts") {
    stream_receiver rx;
    rx.reading = false;
    auto q = fast_queue();
    q.max_buffered_bytes = 256u << 10;
    q.linger = 200ms;
    auto s = std::make_shared<sl::syslog_sink>(
        sl::syslog_options{.transport = sl::syslog_transport::tcp, .port = rx.port(), .io_timeout = 300ms, .queue = q});
    const auto t0 = std::chrono::steady_clock::now();
    feed(*s, 0, 50000, 200);  // ~12 MB: more than the socket buffers and the bound
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took < 5s);
    const auto d = s->delivery();
    CHECK(d.dropped > 0);
    CHECK(adds_up(d));
    s.reset();  // stop(): the linger, then what is left is dropped
    rx.reading = true;
  }

  TEST_CASE("an unknown host: failures counted, clear message, everything counted at close") {
    ctxlog_test::temp_dir dir("syslog_unknown");
    std::string err;
    sl::delivery_stats d;
    const std::uint64_t dropped_before = ctxlog::get_stats().sink_dropped;
    {
      const std::string path = dir.file("stderr.txt");
      const int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      const int saved = ::dup(2);
      ::dup2(file, 2);
      ::close(file);
      {
        auto q = fast_queue();
        q.linger = 100ms;
        auto s = sl::syslog({.transport = sl::syslog_transport::tcp, .host = "no-such-host.invalid", .port = 514, .queue = q});
        feed(*s, 0, 10);
        CHECK_FALSE(s->drain(300ms));
        d = s->delivery();
      }  // the sink's stop(): the linger, then the 10 lines are dropped
      ::dup2(saved, 2);
      ::close(saved);
      err = ctxlog_test::read_file(path);
    }
    CHECK(d.failures > 0);
    CHECK(d.buffered == 10);
    CHECK(adds_up(d));
    CHECK(ctxlog::get_stats().sink_dropped - dropped_before == 10);
    CHECK(err.find("syslog tcp no-such-host.invalid:514") != std::string::npos);
    CHECK(err.find("cannot resolve 'no-such-host.invalid'") != std::string::npos);
  }

  TEST_CASE("fork(): the child sends on its own connection, the parent's connection goes on" * doctest::skip(tsan)) {
    stream_receiver rx;
    auto s = sl::syslog({.transport = sl::syslog_transport::tcp, .port = rx.port(), .queue = fast_queue()});
    ctxlog::configure({.sinks = {s}});  // the back-end's fork handlers
    feed(*s, 0, 10);
    REQUIRE(s->drain(5000ms));
    rx.wait_for(10);
    const pid_t child = ::fork();
    if (child == 0) {
      feed(*s, 100, 10);
      _exit(s->drain(5000ms) ? 0 : 1);
    }
    REQUIRE(child > 0);
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    feed(*s, 10, 10);
    REQUIRE(s->drain(5000ms));
    const auto count = numbers(rx.wait_for(30));
    CHECK(count.size() == 30);
    CHECK(rx.connections() == 2);
    CHECK(s->resent() == 0);  // the parent's connection was not broken by the child
    ctxlog_test::release_sinks();
  }
}
