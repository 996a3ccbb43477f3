// Request / Response / Responder: what handlers see of HTTP.
//
// Handlers never touch sockets. A handler receives a Request and a Responder
// and calls Responder::Send exactly once, immediately or later from any
// thread (writes complete on the engine's commit thread, so most write
// handlers answer asynchronously). Long-lived bodies (SSE) use
// Responder::StartStream instead of Send.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http.hpp>

#include "kissvdb/event.h"
#include "kissvdb/status.h"

namespace kissvdb::http {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using Verb = boost::beast::http::verb;

// Who made the request, as established by the auth layer.
struct Principal {
  std::string key_id;          // "bootstrap" for the configured key
  std::string role = "admin";  // admin | read_write | read_only
};

struct Request {
  const BeastRequest* raw = nullptr;
  Verb method = Verb::unknown;
  std::string path;                           // percent-decoded path, no query
  std::map<std::string, std::string> query;   // percent-decoded query parameters
  std::map<std::string, std::string> params;  // path parameters by {name}
  Principal principal;

  std::string_view body() const { return raw ? std::string_view(raw->body()) : std::string_view(); }
  // Header value, or "" when absent.
  std::string_view header(std::string_view name) const;
  // Query parameter, or `fallback` when absent.
  std::string query_or(const std::string& name, const std::string& fallback) const;
  // Path parameter by name ("" if the route has none of that name).
  const std::string& param(const std::string& name) const;

  // Parses the body as JSON. Errors are values with the JSON error codes:
  // 415 when a Content-Type is present and is not JSON, 400 on a syntax
  // error (with the byte position), 400 on an empty body unless
  // allow_empty (then yields null).
  Result<Json> JsonBody(bool allow_empty = false) const;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  static Response Json(unsigned status, const kissvdb::Json& body);
  static Response Ok(const kissvdb::Json& body) { return Json(200, body); }
  // {"error": CodeName(code), "message": message} with HttpStatusOf(code).
  static Response Error(const Status& status);
  static Response Text(unsigned status, std::string body, std::string content_type = "text/plain; charset=utf-8");
};

// A long-lived response body written chunk by chunk (server-sent events).
// Thread-safe. Send() never blocks: chunks are queued and written by the
// connection's own executor; producers watch queued_bytes() to detect slow
// consumers and decide to cut them off.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Queues a chunk; returns false if the stream is already closed.
  virtual bool Send(std::string chunk) = 0;
  // The same, for a chunk that many streams send (the change stream's
  // fan-out): implementations may queue it without a copy.
  virtual bool SendShared(std::shared_ptr<const std::string> chunk) { return Send(std::string(*chunk)); }
  // Bytes queued and not yet written to the socket.
  virtual size_t queued_bytes() const = 0;
  // Flushes what is queued, then closes the connection.
  virtual void Close() = 0;
  virtual bool closed() const = 0;
  // Called once when the stream closes for any reason (client gone, Close(),
  // server shutdown). Set before the first Send.
  virtual void OnClose(std::function<void()> fn) = 0;
};

class Responder {
 public:
  using SendFn = std::function<void(Response)>;
  using StreamFn = std::function<std::shared_ptr<StreamSink>(Response head)>;
  Responder(SendFn send, StreamFn stream) : send_(std::move(send)), stream_(std::move(stream)) {}

  // Sends the whole response. Call exactly once (or StartStream instead).
  void Send(Response response) const { send_(std::move(response)); }
  void Error(const Status& status) const { send_(Response::Error(status)); }
  // Writes the status line and headers of `head` (its body is ignored; no
  // Content-Length, chunked or close-delimited) and returns the sink for the
  // body. The connection is then owned by the stream until it closes. The
  // head is written after the handler returns, so whatever the handler does
  // after this call (subscribe the sink) is done before the client sees it.
  std::shared_ptr<StreamSink> StartStream(Response head) const { return stream_(std::move(head)); }

 private:
  SendFn send_;
  StreamFn stream_;
};

// Runs on the connection's strand (an io thread): do not block it. The
// Request, including `raw` and body(), stays valid until the handler calls
// Send/StartStream; a handler that answers later copies what it needs. A
// handler may throw: nlohmann::json::exception becomes 400
// invalid_argument, anything else 500 internal (details only in the log).
// Dropping every copy of the Responder without answering sends 500.
using Handler = std::function<void(Request& request, const Responder& responder)>;

}  // namespace kissvdb::http
