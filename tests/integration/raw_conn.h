// RawConn: one TCP connection to 127.0.0.1 driven byte by byte, for the
// tests that must send what no well-behaved client sends (trickled headers,
// smuggling attempts, garbage) and observe exactly when the server closes.
//
//   RawConn c(port);
//   ASSERT_TRUE(c.Send("GET /v1/health HTTP/1.0\r\n\r\n"));
//   RawConn::Result r = c.ReadUntilClosed(std::chrono::seconds(5));
//   EXPECT_TRUE(r.closed);
//   EXPECT_EQ(RawConn::StatusOf(r.data), 200);
//
// Header-only; every call is bounded by a deadline, none can hang a test.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace kissvdb::testing {

class RawConn {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RawConn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~RawConn() { Close(); }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;
  RawConn(RawConn&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Writes everything; false if the server closed or reset the connection.
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  struct Result {
    std::string data;     // everything received
    bool closed = false;  // EOF or reset seen before the deadline
    bool reset = false;   // ECONNRESET
  };

  // Reads until the server closes the connection or `timeout` passes.
  Result ReadUntilClosed(std::chrono::milliseconds timeout) {
    return ReadUntil([](const std::string&) { return false; }, timeout);
  }

  // Reads until done(data) holds, the connection closes or `timeout` passes.
  template <class Pred>
  Result ReadUntil(Pred done, std::chrono::milliseconds timeout) {
    Result r;
    const auto deadline = Clock::now() + timeout;
    char buf[16384];
    while (!done(r.data)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) break;
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        r.closed = true;
        r.reset = n < 0 && errno == ECONNRESET;
        break;
      }
      r.data.append(buf, static_cast<size_t>(n));
    }
    return r;
  }

  // Reads one complete response head and Content-Length body (enough for
  // the JSON answers of these tests).
  Result ReadResponse(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return ReadUntil([](const std::string& d) { return ResponseLength(d) != std::string::npos; }, timeout);
  }

  // The status code of the first response in `data`, 0 if none.
  static int StatusOf(std::string_view data) {
    if (data.substr(0, 5) != "HTTP/" || data.size() < 12) return 0;
    return std::atoi(std::string(data.substr(9, 3)).c_str());
  }

  // Statuses of every response in `data` (Content-Length framed).
  static std::vector<int> Statuses(std::string_view data) {
    std::vector<int> out;
    while (true) {
      const size_t len = ResponseLength(data);
      if (len == std::string::npos) break;
      out.push_back(StatusOf(data));
      data.remove_prefix(len);
    }
    return out;
  }

  // The body of the first response in `data`.
  static std::string BodyOf(std::string_view data) {
    const size_t head = data.find("\r\n\r\n");
    if (head == std::string::npos) return "";
    const size_t len = ResponseLength(data);
    return std::string(data.substr(head + 4, len == std::string::npos ? std::string::npos : len - head - 4));
  }

  // Length of the first complete response (head + Content-Length body), or
  // npos while incomplete.
  static size_t ResponseLength(std::string_view data) {
    const size_t head = data.find("\r\n\r\n");
    if (head == std::string::npos) return std::string::npos;
    size_t body = 0;
    const std::string lower = Lower(data.substr(0, head));
    const size_t cl = lower.find("\r\ncontent-length:");
    if (cl != std::string::npos) body = std::strtoull(lower.c_str() + cl + 17, nullptr, 10);
    if (data.size() < head + 4 + body) return std::string::npos;
    return head + 4 + body;
  }

 private:
  static std::string Lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  }

  int fd_ = -1;
};

}  // namespace kissvdb::testing
