// tests/sinks/fake_http_server.hpp — a scripted HTTP/1.1 server on a free loopback port
// for the ClickHouse sink's tests: it reads each request (head and Content-Length body)
// and lets the test decide the bytes of the answer, a delay, or a close in the middle.
// One connection at a time, on one thread of its own.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace ctxlog_test {

struct http_request {
  std::string head;    // request line and headers
  std::string target;  // e.g. /?query=...
  std::string body;
};

struct http_reply {
  std::string bytes;                     // sent as they are
  std::chrono::milliseconds delay{0};    // before sending
  std::size_t cut_at = std::string::npos;  // send only this many bytes, then close
  bool close = false;                    // close after sending
};

// "HTTP/1.1 <status> X\r\nContent-Length: n\r\n\r\n<body>"
inline std::string reply_text(int status, const std::string& body, const std::string& extra_headers = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\n" + extra_headers + "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

class fake_http_server {
 public:
  using handler = std::function<http_reply(const http_request&)>;

  explicit fake_http_server(handler h) : handler_(std::move(h)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 16) != 0)
      throw std::runtime_error("fake_http_server: cannot listen");
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~fake_http_server() {
    stop_.store(true);
    thread_.join();
    ::close(listen_fd_);
  }
  fake_http_server(const fake_http_server&) = delete;
  fake_http_server& operator=(const fake_http_server&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  int connections() const noexcept { return connections_.load(); }
  int requests() const noexcept { return requests_.load(); }

 private:
  bool wait_readable(int fd) {
    while (!stop_.load()) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) return true;
    }
    return false;
  }

  void run() {
    while (wait_readable(listen_fd_)) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      connections_.fetch_add(1);
      serve(fd);
      ::close(fd);
    }
  }

  void serve(int fd) {
    std::string in;
    char buf[65536];
    for (;;) {
      std::size_t end;
      while ((end = in.find("\r\n\r\n")) == std::string::npos) {
        if (!wait_readable(fd)) return;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        in.append(buf, static_cast<std::size_t>(n));
      }
      http_request r;
      r.head = in.substr(0, end);
      const std::size_t sp = r.head.find(' ');
      r.target = r.head.substr(sp + 1, r.head.find(' ', sp + 1) - sp - 1);
      std::size_t length = 0;
      const std::size_t cl = r.head.find("Content-Length: ");
      if (cl != std::string::npos) length = std::stoul(r.head.substr(cl + 16));
      in.erase(0, end + 4);
      while (in.size() < length) {
        if (!wait_readable(fd)) return;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        in.append(buf, static_cast<std::size_t>(n));
      }
      r.body = in.substr(0, length);
      in.erase(0, length);
      requests_.fetch_add(1);
      const http_reply reply = handler_(r);
      if (reply.delay.count() > 0) {
        const auto until = std::chrono::steady_clock::now() + reply.delay;
        while (!stop_.load() && std::chrono::steady_clock::now() < until)
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      const std::size_t n = std::min(reply.cut_at, reply.bytes.size());
      std::size_t off = 0;
      while (off < n) {
        const ssize_t w = ::send(fd, reply.bytes.data() + off, n - off, MSG_NOSIGNAL);
        if (w <= 0) return;
        off += static_cast<std::size_t>(w);
      }
      if (reply.close || reply.cut_at != std::string::npos) return;
    }
  }

  handler handler_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0}, requests_{0};
  std::thread thread_;
};

}  // namespace ctxlog_test
