// Session: one HTTP connection (internal to the http module; see server.h
// for the behaviour). Everything of a session runs on its strand except the
// entry points marked "any thread", which post onto it.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "http/server.h"
#include "util/metrics.h"

namespace kissvdb::http {

class Session;

// Request count and latency series of one (route, status); created on
// first use, then updated without locks.
struct RouteSeries {
  Counter* requests = nullptr;
  Histogram* latency = nullptr;
};

struct HttpServer::Core {
  Core(ServerOptions options, Router router, Authenticator auth);
  ~Core();

  // Sessions: registered when accepted, unregistered when closed.
  bool Register(const std::shared_ptr<Session>& session);  // false once stopping
  void Unregister(uint64_t id);
  std::vector<std::shared_ptr<Session>> LiveSessions();
  bool WaitForSessions(std::chrono::steady_clock::time_point deadline);  // true if none left

  // Metrics of a finished exchange. `route_index` is router.size() for
  // requests that matched no route ("unmatched") and router.size() + 1 for
  // CORS preflights ("preflight").
  void Record(size_t route_index, std::string_view route_name, unsigned status, double seconds);

  // The Access-Control-Allow-Origin value for `origin` ("" = not allowed).
  std::string_view AllowedOrigin(std::string_view origin) const;

  void DoAccept();
  bool AtConnectionLimit();  // true when max_connections sessions are open

  const ServerOptions options;
  const Router router;
  const Authenticator auth;
  std::atomic<bool> stopping{false};
  Gauge& connections_open;
  Gauge& streams_open;
  Counter& connections_refused;  // over max_connections

  std::mutex mu;
  std::condition_variable sessions_cv;
  std::unordered_map<uint64_t, std::weak_ptr<Session>> sessions;  // guarded by mu
  uint64_t next_session_id = 1;                                    // guarded by mu
  std::map<std::pair<size_t, unsigned>, RouteSeries> series;       // guarded by mu

  // Per route (plus "unmatched"), one slot per common status code.
  static constexpr size_t kStatusSlots = 24;
  struct RouteSlots {
    std::array<std::atomic<const RouteSeries*>, kStatusSlots> slots{};
  };
  std::unique_ptr<RouteSlots[]> route_slots;

  std::vector<std::thread> threads;
  std::atomic<uint16_t> port{0};
  bool started = false;
  bool stopped = false;

  // Declared last so it is destroyed first: destroying it destroys pending
  // handlers and so sessions, which still use the members above.
  boost::asio::io_context ioc;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  boost::asio::ip::tcp::acceptor acceptor;
  boost::asio::steady_timer accept_retry;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  using Clock = std::chrono::steady_clock;
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
  using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Strand>;

  Session(Socket socket, HttpServer::Core* core, uint64_t id);
  ~Session();

  uint64_t id() const { return id_; }

  void Start();          // any thread
  void Shutdown();       // any thread: the graceful part of HttpServer::Stop
  void ForceClose();     // any thread

  // From the Responder (any thread). `seq` names the request being answered;
  // an answer for a request that is no longer current is dropped.
  void Deliver(uint64_t seq, Response response);
  std::shared_ptr<StreamSink> OpenStream(uint64_t seq, Response head);

  // From the StreamSink (any thread).
  bool StreamSend(std::shared_ptr<const std::string> chunk);
  // StreamSend's direct write, under stream_mu_: false if the socket took
  // none of it (the caller queues it); the rest of a partial write is queued.
  bool StreamSendDirect(const std::shared_ptr<const std::string>& chunk);
  // Posts StreamFlush unless one is pending (under stream_mu_).
  void PostStreamFlush();
  size_t StreamQueued() const { return stream_queued_.load(std::memory_order_relaxed); }
  void StreamClose();
  bool StreamClosed() const;
  void StreamOnClose(std::function<void()> fn);

 private:
  enum class Phase { kReading, kHandling, kWriting, kStreaming, kLingering, kClosed };
  enum class Deadline { kNone, kIdle, kRequest, kWrite, kLinger };

  // Reading and answering requests.
  void DoRead();
  void OnReadSome(boost::system::error_code ec, size_t n);
  void OnParseError(boost::system::error_code ec);
  void OnRequest();
  void Route(const BeastRequest& msg);
  void Invoke(const Handler& handler, const RouteInfo& info);
  void OnResponse(uint64_t seq, Response response);
  void WriteResponse(Response response);
  void StartWrite();  // writes head_ and body_
  void OnWrite(boost::system::error_code ec, size_t n);
  void FinishExchange();
  void LingeringClose();
  void DoLingerRead();
  void Close();

  // Streams.
  void BeginStream(uint64_t seq, Response head);
  void StreamFlush();
  void OnStreamWrite(boost::system::error_code ec, size_t payload_bytes);
  void StreamWatchClient();

  // Head of a response into head_. content_length < 0: a streamed body.
  void BuildHead(unsigned status, std::string_view content_type,
                 const std::vector<std::pair<std::string, std::string>>& headers,
                 int64_t content_length);

  void SetDeadline(Deadline kind, std::chrono::milliseconds after, bool precise = false);
  void SetDeadlineAt(Deadline kind, Clock::time_point at, bool precise);
  void ArmTimer();
  void OnTimer(boost::system::error_code ec);

  Socket socket_;
  boost::asio::steady_timer timer_;
  HttpServer::Core* const core_;
  const uint64_t id_;

  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  Request request_;

  Phase phase_ = Phase::kReading;
  bool shutting_down_ = false;
  bool keep_alive_ = true;
  bool head_only_ = false;  // a HEAD request: the response goes without its body
  bool request_started_ = false;  // bytes of the current request arrived
  bool continue_sent_ = false;    // "100 Continue" written for this request
  bool timed_out_ = false;
  Clock::time_point request_deadline_;  // set by the request's first byte
  uint64_t seq_ = 0;              // number of the current request

  // While the route's handler runs on this strand (for WriteResponse).
  bool in_handler_ = false;
  Clock::time_point handler_started_;

  // The exchange being answered, for the access log and metrics.
  Clock::time_point started_;
  size_t route_index_ = 0;
  std::string_view route_name_;
  unsigned status_ = 0;
  std::string origin_;  // the request's Origin header, for CORS

  std::string head_;
  std::string body_;
  size_t lingered_bytes_ = 0;

  // Watchdog.
  Deadline deadline_kind_ = Deadline::kNone;
  Clock::time_point deadline_;
  bool timer_armed_ = false;
  Clock::time_point timer_expiry_;

  // Stream state shared with producers (guarded by stream_mu_).
  mutable std::mutex stream_mu_;
  // A queued piece: a chunk, framed when written; or, after a direct send
  // that the socket took only part of, the rest of its bytes, framed already.
  struct StreamPiece {
    std::shared_ptr<const std::string> bytes;
    bool framed = false;
  };
  std::deque<StreamPiece> stream_queue_;
  // The strand is not writing and nothing is queued: a producer may write
  // its chunk to the socket itself (StreamSend), saving the hand-off to the
  // io thread. Cleared before the strand writes and before Close().
  bool stream_direct_ = false;
  bool stream_flush_posted_ = false;
  bool stream_close_requested_ = false;
  bool stream_ended_ = false;  // OnClose has fired (or will, with no callback set)
  std::function<void()> stream_on_close_;
  std::atomic<size_t> stream_queued_{0};
  // Stream state of the strand only.
  bool stream_chunked_ = true;
  bool stream_writing_ = false;
  bool stream_terminating_ = false;
  std::vector<StreamPiece> stream_batch_;
  std::string stream_framing_;
  std::vector<boost::asio::const_buffer> stream_buffers_;
};

}  // namespace kissvdb::http
