// A small synchronous HTTP/1.1 client for tests (Boost.Beast over a
// blocking socket with SO_RCVTIMEO/SO_SNDTIMEO, so no call hangs a test).
//
//   HttpClient client(port, "test-key");      // adds "Authorization: Bearer test-key"
//   HttpResponse r = client.Put("/v1/state/a", {{"value", 1}});
//   EXPECT_EQ(r.status, 200) << r.body;
//   EXPECT_EQ(r.json["revision"], 1);
//
// One keep-alive connection, opened on first use and reopened when the
// server closes it; connects() counts the connections opened. Failures to
// talk to the server are returned as status 0 with `error` set.
//
// Header-only, so in-process unit tests (tests/unit/http) can use it too.
#pragma once

// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized in
// Beast's parser (its boost::optional body limit).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace kissvdb::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;                             // 0: no response (see error)
  std::string error;                          // transport failure
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  nlohmann::json json;  // the parsed body when it is JSON, else null

  // Header value by (any-case) name, "" if absent.
  std::string header(std::string name) const {
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

namespace client_internal {

inline std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

inline void SetSocketTimeout(int fd, std::chrono::milliseconds timeout) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

template <class Message>
void FillResponse(const Message& msg, HttpResponse* out) {
  out->status = static_cast<int>(msg.result_int());
  for (const auto& field : msg) out->headers[Lower(field.name_string())] = std::string(field.value());
}

inline void ParseJsonBody(HttpResponse* out) {
  const std::string ct = out->header("content-type");
  if (ct.find("json") != std::string::npos && !out->body.empty()) {
    out->json = nlohmann::json::parse(out->body, nullptr, /*allow_exceptions=*/false);
  }
}

}  // namespace client_internal

class HttpClient {
 public:
  explicit HttpClient(uint16_t port, std::string token = "", std::string host = "127.0.0.1")
      : port_(port), token_(std::move(token)), host_(std::move(host)) {}
  ~HttpClient() { Close(); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // The bearer token added to requests that carry no Authorization or
  // X-API-Key header ("" = none).
  void set_token(std::string token) { token_ = std::move(token); }
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  uint16_t port() const { return port_; }
  int connects() const { return connects_; }
  bool connected() const { return socket_ && socket_->is_open(); }

  HttpResponse Get(const std::string& target, const Headers& headers = {}) {
    return Request("GET", target, "", headers);
  }
  HttpResponse Delete(const std::string& target, const Headers& headers = {}) {
    return Request("DELETE", target, "", headers);
  }
  HttpResponse Put(const std::string& target, const nlohmann::json& body, const Headers& headers = {}) {
    return Request("PUT", target, body.dump(), headers);
  }
  HttpResponse Post(const std::string& target, const nlohmann::json& body, const Headers& headers = {}) {
    return Request("POST", target, body.dump(), headers);
  }

  // Any method with a raw body. Content-Type defaults to application/json
  // when there is a body and `headers` does not name one.
  HttpResponse Request(const std::string& method, const std::string& target, std::string body,
                       const Headers& headers = {}) {
    try {
      return RoundTrip(Serialize(method, target, std::move(body), headers), /*retry_on_stale=*/true);
    } catch (const std::exception& e) {  // Beast refuses the request (a field over 64 KiB)
      HttpResponse out;
      out.error = std::string("cannot build request: ") + e.what();
      return out;
    }
  }

  // Sends `bytes` as they are and reads one response (malformed requests,
  // pipelining: read the next ones with ReadResponse()).
  HttpResponse SendRaw(std::string_view bytes) { return RoundTrip(std::string(bytes), false); }

  // Reads one more response from the open connection.
  HttpResponse ReadResponse() {
    HttpResponse out;
    if (!connected()) {
      out.error = "not connected";
      return out;
    }
    ReadOne(&out);
    return out;
  }

  // Opens the connection (if needed) and writes bytes without reading.
  bool Write(std::string_view bytes) {
    if (!connected() && !Connect()) return false;
    boost::system::error_code ec;
    boost::asio::write(*socket_, boost::asio::buffer(bytes.data(), bytes.size()), ec);
    return !ec;
  }

  void Close() {
    if (socket_) {
      boost::system::error_code ec;
      socket_->shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
      socket_->close(ec);
      socket_.reset();
    }
    buffer_.clear();
  }

 private:
  std::string Serialize(const std::string& method, const std::string& target, std::string body,
                        const Headers& headers) {
    namespace bhttp = boost::beast::http;
    bhttp::request<bhttp::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(bhttp::field::host, host_ + ":" + std::to_string(port_));
    bool has_auth = false;
    bool has_type = false;
    for (const auto& [name, value] : headers) {
      const std::string lower = client_internal::Lower(name);
      if (lower == "authorization" || lower == "x-api-key") has_auth = true;
      if (lower == "content-type") has_type = true;
      req.insert(name, value);
    }
    if (!has_auth && !token_.empty()) req.set(bhttp::field::authorization, "Bearer " + token_);
    if (!body.empty() && !has_type) req.set(bhttp::field::content_type, "application/json");
    req.body() = std::move(body);
    req.prepare_payload();
    std::ostringstream os;
    os << req;
    return os.str();
  }

  bool Connect() {
    Close();
    socket_ = std::make_unique<boost::asio::ip::tcp::socket>(ioc_);
    boost::system::error_code ec;
    const boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address(host_), port_);
    socket_->connect(ep, ec);
    if (ec) {
      socket_.reset();
      return false;
    }
    socket_->set_option(boost::asio::ip::tcp::no_delay(true), ec);
    client_internal::SetSocketTimeout(socket_->native_handle(), timeout_);
    ++connects_;
    reused_ = false;
    return true;
  }

  HttpResponse RoundTrip(const std::string& wire, bool retry_on_stale) {
    HttpResponse out;
    for (int attempt = 0; attempt < 2; ++attempt) {
      out = HttpResponse();
      if (!connected() && !Connect()) {
        out.error = "connect to port " + std::to_string(port_) + " failed";
        return out;
      }
      const bool reused = reused_;
      boost::system::error_code ec;
      boost::asio::write(*socket_, boost::asio::buffer(wire), ec);
      if (!ec && ReadOne(&out)) {
        reused_ = true;
        return out;
      }
      if (ec) out.error = "write: " + ec.message();
      // A kept-alive connection the server had already closed: retry once.
      Close();
      if (!(retry_on_stale && reused && out.status == 0)) break;
    }
    return out;
  }

  // Reads one response; false (with out->error) on a transport failure.
  bool ReadOne(HttpResponse* out) {
    namespace bhttp = boost::beast::http;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // not boost::none: Beast 1.74 then refuses any Content-Length body
    parser.header_limit(1 << 20);
    boost::system::error_code ec;
    bhttp::read(*socket_, buffer_, parser, ec);
    if (ec) {
      out->error = "read: " + ec.message();
      Close();
      return false;
    }
    const auto& msg = parser.get();
    client_internal::FillResponse(msg, out);
    out->body = msg.body();
    client_internal::ParseJsonBody(out);
    if (!msg.keep_alive()) Close();
    return true;
  }

  uint16_t port_;
  std::string token_;
  std::string host_;
  std::chrono::milliseconds timeout_{10000};
  boost::asio::io_context ioc_;
  std::unique_ptr<boost::asio::ip::tcp::socket> socket_;
  boost::beast::flat_buffer buffer_;
  int connects_ = 0;
  bool reused_ = false;
};

// A streamed response (server-sent events): the head is read by Open(),
// the body, chunk-decoded, as it arrives.
//
//   HttpStream s(port, "/v1/stream?since=0", "test-key");
//   ASSERT_EQ(s.status(), 200);
//   ASSERT_TRUE(s.ReadUntil([](const std::string& d) { return d.find("\n\n") != d.npos; }));
class HttpStream {
 public:
  HttpStream(uint16_t port, const std::string& target, const std::string& token = "",
             const Headers& headers = {}, std::string host = "127.0.0.1")
      : socket_(ioc_) {
    namespace bhttp = boost::beast::http;
    boost::system::error_code ec;
    socket_.connect({boost::asio::ip::make_address(host), port}, ec);
    if (ec) {
      error_ = "connect: " + ec.message();
      return;
    }
    // Short slices, so ReadUntil can enforce its own timeout.
    client_internal::SetSocketTimeout(socket_.native_handle(), std::chrono::milliseconds(50));
    std::string wire = "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n";
    if (!token.empty()) wire += "Authorization: Bearer " + token + "\r\n";
    for (const auto& [name, value] : headers) wire += name + ": " + value + "\r\n";
    wire += "\r\n";
    boost::asio::write(socket_, boost::asio::buffer(wire), ec);
    if (ec) {
      error_ = "write: " + ec.message();
      return;
    }
    parser_.body_limit(std::numeric_limits<std::uint64_t>::max());  // not boost::none: Beast 1.74 then refuses any Content-Length body
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!parser_.is_header_done()) {
      bhttp::read_header(socket_, buffer_, parser_, ec);
      if (IsTimeout(ec) && std::chrono::steady_clock::now() < deadline) continue;
      if (ec) {
        error_ = "read header: " + ec.message();
        return;
      }
    }
    HttpResponse head;
    client_internal::FillResponse(parser_.get(), &head);
    status_ = head.status;
    headers_ = std::move(head.headers);
  }

  int status() const { return status_; }
  const std::string& error() const { return error_; }
  std::string header(const std::string& name) const {
    auto it = headers_.find(client_internal::Lower(name));
    return it == headers_.end() ? std::string() : it->second;
  }
  // Body bytes received so far.
  const std::string& data() const { return data_; }
  // The body ended (last chunk) or the connection closed.
  bool ended() const { return ended_; }

  // Reads until pred(data()) holds; false on timeout or end of stream first.
  bool ReadUntil(const std::function<bool(const std::string&)>& pred,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred(data_)) {
      if (ended_ || std::chrono::steady_clock::now() >= deadline) return false;
      ReadSome();
    }
    return true;
  }
  // Reads until the body ends; false on timeout.
  bool ReadToEnd(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!ended_) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      ReadSome();
    }
    return true;
  }

  void Close() {
    boost::system::error_code ec;
    socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

 private:
  static bool IsTimeout(const boost::system::error_code& ec) {
    return ec == boost::asio::error::would_block || ec == boost::asio::error::try_again ||
           ec == boost::asio::error::timed_out;
  }

  void ReadSome() {
    namespace bhttp = boost::beast::http;
    if (!error_.empty() || ended_) {
      ended_ = true;
      return;
    }
    char tmp[16384];
    parser_.get().body().data = tmp;
    parser_.get().body().size = sizeof(tmp);
    boost::system::error_code ec;
    bhttp::read_some(socket_, buffer_, parser_, ec);
    data_.append(tmp, sizeof(tmp) - parser_.get().body().size);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (IsTimeout(ec)) return;
    if (ec || parser_.is_done()) ended_ = true;
  }

  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  boost::beast::http::response_parser<boost::beast::http::buffer_body> parser_;
  int status_ = 0;
  std::string error_;
  std::map<std::string, std::string> headers_;
  std::string data_;
  bool ended_ = false;
};

}  // namespace kissvdb::testing
