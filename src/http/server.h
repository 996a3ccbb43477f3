// HttpServer: the HTTP/1.1 front end (Boost.Beast parser, Asio sockets).
//
// One io_context run by `io_threads` threads; one Session per connection,
// owned by shared_from_this and serialized on its own strand. A session
// reads a request, routes it, authenticates it, calls the handler, writes
// the response and only then parses the next request, so pipelined requests
// are answered strictly in order. Handlers may answer later from any thread
// (Responder::Send posts onto the session's strand). An answer that took
// its handler 20 us or more to compute (a vector search) is written after
// the handlers already queued on the io_context, so a client with many
// connections wakes once for several answers (bench/NOTES.md §3).
// Handlers that may block (SQL writes, snapshots) are wrapped with Offload
// (http/offload.h) and run on a TaskPool, never on an io thread; SQL
// queries and vector searches move there when they would take long.
//
// Connection limit: at most max_connections sessions (lingering and
// streaming ones included). A connection beyond it is accepted and closed
// at once, without reading or answering anything, and counted in
// http_connections_refused_total; the client sees EOF or a reset. Start()
// raises the soft RLIMIT_NOFILE to the hard limit (one descriptor per
// connection) and warns when even that is too low for max_connections.
//
// Timeouts (one watchdog timer per session, re-armed lazily rather than per
// I/O operation): idle_timeout while waiting for the first byte of a request
// (the connection is closed silently), request_timeout from that byte until
// the request is complete (408, then close), write_timeout for a response
// or stream write that does not complete (close; checked lazily, so it may
// take up to max(idle, write) timeout).
//
// Errors are JSON {"error","message"}: 400 malformed request/percent-
// encoding, 401 auth (before 404/405, as in the original), 404, 405 with
// Allow, 408, 413 body over max_body_bytes (refused from Content-Length
// before the body is read), 431 headers over max_header_bytes, 503 during
// shutdown. 403 forbidden for a route with RouteInfo.writes called with a
// "read_only" key. Handler exceptions: nlohmann::json::exception -> 400
// invalid_argument; anything else -> 500 internal (details only in the log).
//
// CORS (an improvement over the original, whose auth layer answered CORS
// preflights with 401): an OPTIONS request is a preflight and gets 204
// without auth; responses to requests with an Origin header carry
// Access-Control-Allow-Origin (any origin, or the configured list).
//
// Streaming (SSE): Responder::StartStream writes the head with
// Transfer-Encoding: chunked (close-delimited for HTTP/1.0 clients) and
// Connection: close; the StreamSink's chunks are written in order on the
// strand; Close() ends the body with the last chunk and closes the
// connection. The session keeps a read posted while streaming, so a client
// that disconnects is noticed at once (OnClose fires).
//
// Shutdown: Stop() stops accepting, closes connections waiting for a
// request, ends streams, lets requests in flight finish (their responses
// carry Connection: close; a request that completes during shutdown gets
// 503), waits up to shutdown_grace, then closes whatever is left.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/auth.h"
#include "http/router.h"
#include "kissvdb/config.h"
#include "kissvdb/status.h"

namespace kissvdb::http {

struct ServerOptions {
  std::string bind = "127.0.0.1";  // an IP address or "localhost"
  uint16_t port = 0;               // 0 = ephemeral; see HttpServer::port()
  std::string port_file;           // if set, the bound port is written here (atomically)
  uint32_t io_threads = 0;         // 0 = hardware concurrency
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds write_timeout{30000};
  std::chrono::milliseconds shutdown_grace{10000};
  uint32_t max_connections = 4096;  // beyond it: accepted and closed at once
  uint64_t max_body_bytes = 1 << 20;
  uint32_t max_header_bytes = 16 << 10;
  std::vector<std::string> cors_allowed_origins;  // empty = any origin

  static ServerOptions FromConfig(const Config& config);
};

class HttpServer {
 public:
  // The router and the authenticator (with its key lookup) are fixed from
  // here on. Thread-safety: Start/Stop from one (non-io) thread; port() from any.
  HttpServer(ServerOptions options, Router router, Authenticator auth);
  // Stops if still running. REQUIRES: no Responder or StreamSink of this
  // server outlives it (close the engine, which holds pending Responders,
  // before destroying the server).
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens, writes the port file and starts the io threads.
  // Unavailable if the address cannot be bound.
  Status Start();

  // The bound port (after Start).
  uint16_t port() const;
  // The number of io threads (options.io_threads, or the hardware's).
  uint32_t io_threads() const;

  // Graceful stop, as described above; returns when every io thread has
  // exited. Idempotent. REQUIRES: not called from a handler.
  void Stop();

  struct Core;  // the state sessions share (session.h)

 private:
  std::unique_ptr<Core> core_;
};

}  // namespace kissvdb::http
