// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized in
// Beast's parser (its boost::optional body limit); keep -Werror builds green.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "http/session.h"

#include <algorithm>
#include <charconv>
#include <ctime>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "http/dispatch.h"
#include "http/errors.h"

namespace kissvdb::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

namespace {

constexpr size_t kHeaderReadSize = 8 << 10;
constexpr size_t kBodyReadSize = 64 << 10;
constexpr size_t kMaxLingerBytes = 8 << 20;
constexpr std::chrono::milliseconds kLingerTime{2000};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// A handler that computed its answer for at least this long has its
// response written after the requests that became ready meanwhile (see
// WriteResponse).
constexpr std::chrono::microseconds kDeferWriteAfter{20};
constexpr std::string_view kPreflightHeaders = "authorization, content-type, x-api-key, last-event-id";
// The response headers a cross-origin page may read beyond the safelisted
// ones: where a read stands (docs/history.md), a backup's size and name, a
// document's version.
constexpr std::string_view kExposedHeaders = "KissVDB-Offset, X-Archive-Bytes, Content-Disposition, ETag";

void AppendUint(std::string* out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

// The IMF-fixdate of now, formatted once per second per thread.
std::string_view HttpDate() {
  thread_local time_t cached_second = 0;
  thread_local char cached[40];
  thread_local size_t cached_len = 0;
  const time_t now = ::time(nullptr);
  if (now != cached_second) {
    struct tm tm;
    ::gmtime_r(&now, &tm);
    cached_len = std::strftime(cached, sizeof(cached), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return std::string_view(cached, cached_len);
}

bool SafeHeaderText(std::string_view s) {
  return s.find_first_of("\r\n") == std::string_view::npos && !s.empty();
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// The error answer for a request whose Transfer-Encoding cannot be
// trusted, or a default Response (200) when it can: absent, or exactly
// "chunked". Beast frames a body only by a sole "chunked"; for "chunked,
// identity" it sees no body and would parse the rest as the next request,
// while a proxy in front may frame it otherwise: the root of request
// smuggling. RFC 9112 6.3: chunked not final -> 400 and close; an unknown
// coding -> 501.
Response UntrustedTransferEncoding(const BeastRequest& msg) {
  const size_t fields = msg.count(bhttp::field::transfer_encoding);
  if (fields == 0) return Response{};
  std::string value(msg[bhttp::field::transfer_encoding]);
  std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
  if (fields == 1 && value == "chunked") return Response{};
  const bool chunked_last = value.size() >= 7 && value.compare(value.size() - 7, 7, "chunked") == 0;
  if (fields == 1 && chunked_last) {
    return Response::Error(Status(Code::kNotSupported, "unsupported Transfer-Encoding; only chunked is accepted"));
  }
  return Response::Error(Status::InvalidArgument("Transfer-Encoding must be chunked alone"));
}

// Answers a second Send/StartStream of one Responder: the stream is closed.
class ClosedSink : public StreamSink {
 public:
  bool Send(std::string) override { return false; }
  size_t queued_bytes() const override { return 0; }
  void Close() override {}
  bool closed() const override { return true; }
  void OnClose(std::function<void()> fn) override {
    if (fn) fn();
  }
};

// One request/response: shared by the copies of its Responder. Answers 500
// if every copy is dropped without an answer.
class Exchange {
 public:
  Exchange(std::shared_ptr<Session> session, uint64_t seq) : session_(std::move(session)), seq_(seq) {}
  ~Exchange() {
    if (!answered_.load(std::memory_order_acquire)) {
      spdlog::error("handler dropped its Responder without answering");
      session_->Deliver(seq_, Response::Error(Status::Internal("internal error")));
    }
  }
  bool Send(Response response) {
    if (answered_.exchange(true, std::memory_order_acq_rel)) return false;
    session_->Deliver(seq_, std::move(response));
    return true;
  }
  std::shared_ptr<StreamSink> Stream(Response head) {
    if (answered_.exchange(true, std::memory_order_acq_rel)) {
      spdlog::error("StartStream called on an answered request");
      return std::make_shared<ClosedSink>();
    }
    return session_->OpenStream(seq_, std::move(head));
  }

 private:
  std::shared_ptr<Session> session_;
  const uint64_t seq_;
  std::atomic<bool> answered_{false};
};

}  // namespace

Session::Session(Socket socket, HttpServer::Core* core, uint64_t id)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), core_(core), id_(id) {
  core_->connections_open.Inc();
}

Session::~Session() {
  // Normally Close() ran; if the io_context was torn down first, still tell
  // a stream's producer.
  std::function<void()> fn;
  {
    std::lock_guard<std::mutex> lock(stream_mu_);
    if (!stream_ended_) {
      stream_ended_ = true;
      fn = std::move(stream_on_close_);
    }
  }
  if (phase_ != Phase::kClosed) core_->connections_open.Dec();
  if (fn) fn();
}

void Session::Start() {
  asio::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->DoRead(); });
}

void Session::Shutdown() {
  asio::dispatch(socket_.get_executor(), [self = shared_from_this()] {
    self->shutting_down_ = true;
    switch (self->phase_) {
      case Phase::kReading:
        // Waiting for a request: close. A request being received is
        // answered 503 once complete.
        if (!self->request_started_) self->Close();
        break;
      case Phase::kStreaming:
        self->StreamClose();
        break;
      default:
        break;  // the response in progress carries Connection: close
    }
  });
}

void Session::ForceClose() {
  asio::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->Close(); });
}

// ---- Reading ----

void Session::DoRead() {
  phase_ = Phase::kReading;
  if (!parser_) {
    parser_.emplace();
    parser_->body_limit(core_->options.max_body_bytes);
    parser_->header_limit(core_->options.max_header_bytes);
    parser_->eager(true);
    request_started_ = false;
    continue_sent_ = false;
    timed_out_ = false;
    head_only_ = false;
  }

  if (buffer_.size() > 0) {
    error_code ec;
    while (buffer_.size() > 0 && !parser_->is_done()) {
      const size_t n = parser_->put(buffer_.data(), ec);
      buffer_.consume(n);
      if (ec || n == 0) break;
    }
    if (ec == bhttp::error::need_more) ec = {};
    if (ec) return OnParseError(ec);
    if (parser_->is_done()) return OnRequest();
    if (parser_->is_header_done() && !continue_sent_) {
      auto& msg = parser_->get();
      auto expect = msg.find(bhttp::field::expect);
      if (expect != msg.end() && IEquals(expect->value(), "100-continue")) {
        continue_sent_ = true;
        phase_ = Phase::kWriting;
        SetDeadline(Deadline::kWrite, core_->options.write_timeout);
        asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                          [self = shared_from_this()](error_code ec, size_t) {
                            if (self->phase_ == Phase::kClosed) return;
                            if (ec) return self->Close();
                            self->DoRead();
                          });
        return;
      }
    }
  }

  if (!request_started_ && (buffer_.size() > 0 || parser_->got_some())) {
    // The request timeout runs from its first byte, however slowly the rest comes.
    request_started_ = true;
    request_deadline_ = Clock::now() + core_->options.request_timeout;
  }
  if (request_started_) {
    SetDeadlineAt(Deadline::kRequest, request_deadline_, /*precise=*/true);
  } else {
    if (shutting_down_) return Close();
    SetDeadline(Deadline::kIdle, core_->options.idle_timeout);
  }
  const size_t want = parser_->is_header_done() ? kBodyReadSize : kHeaderReadSize;
  socket_.async_read_some(buffer_.prepare(want),
                          beast::bind_front_handler(&Session::OnReadSome, shared_from_this()));
}

void Session::OnReadSome(error_code ec, size_t n) {
  if (phase_ == Phase::kClosed) return;
  if (timed_out_) {
    keep_alive_ = false;
    started_ = Clock::now();
    route_index_ = core_->router.size();
    route_name_ = "unmatched";
    phase_ = Phase::kHandling;
    return WriteResponse(Response::Error(
        Status(Code::kRequestTimeout, "request not received within " +
                                          std::to_string(core_->options.request_timeout.count()) +
                                          " ms")));
  }
  if (ec) return Close();  // EOF, reset or aborted
  buffer_.commit(n);
  DoRead();
}

void Session::OnParseError(error_code ec) {
  keep_alive_ = false;
  started_ = Clock::now();
  route_index_ = core_->router.size();
  route_name_ = "unmatched";
  phase_ = Phase::kHandling;
  if (ec == bhttp::error::body_limit) {
    return WriteResponse(Response::Error(
        Status(Code::kPayloadTooLarge, "request body exceeds " +
                                           std::to_string(core_->options.max_body_bytes) + " bytes")));
  }
  if (ec == bhttp::error::header_limit) {
    return WriteResponse(ErrorWithStatus(
        431, Code::kPayloadTooLarge,
        "request headers exceed " + std::to_string(core_->options.max_header_bytes) + " bytes"));
  }
  WriteResponse(Response::Error(Status::InvalidArgument("malformed HTTP request: " + ec.message())));
}

void Session::OnRequest() {
  const BeastRequest& msg = parser_->get();
  started_ = Clock::now();
  ++seq_;
  phase_ = Phase::kHandling;
  SetDeadline(Deadline::kNone, {});
  keep_alive_ = msg.keep_alive();
  head_only_ = msg.method() == bhttp::verb::head;
  route_index_ = core_->router.size();
  route_name_ = "unmatched";
  origin_.clear();
  if (auto it = msg.find(bhttp::field::origin); it != msg.end()) origin_.assign(it->value());

  if (shutting_down_ || core_->stopping.load(std::memory_order_relaxed)) {
    keep_alive_ = false;
    return WriteResponse(Response::Error(Status::Unavailable("server is shutting down")));
  }
  if (Response refused = UntrustedTransferEncoding(msg); refused.status != 200) {
    keep_alive_ = false;  // the framing of whatever follows is unknown
    return WriteResponse(std::move(refused));
  }
  if (msg.method() == bhttp::verb::options) {
    Response r;
    r.status = 204;
    r.content_type.clear();
    r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS");
    auto requested = msg.find(bhttp::field::access_control_request_headers);
    const bool echo = requested != msg.end() && SafeHeaderText(requested->value()) &&
                      requested->value().size() <= 1024;
    r.headers.emplace_back("Access-Control-Allow-Headers",
                           echo ? std::string(requested->value()) : std::string(kPreflightHeaders));
    r.headers.emplace_back("Access-Control-Max-Age", "600");
    route_index_ = core_->router.size() + 1;
    route_name_ = "preflight";
    return WriteResponse(std::move(r));
  }
  Route(msg);
}

void Session::Route(const BeastRequest& msg) {
  Dispatch d = DispatchRequest(core_->router, core_->auth, msg, &request_);
  if (d.info != nullptr) {
    route_index_ = d.route_index;
    route_name_ = d.info->name;
  }
  if (d.refusal) return WriteResponse(std::move(*d.refusal));
  Invoke(*d.handler, *d.info);
}

void Session::Invoke(const Handler& handler, const RouteInfo& info) {
  auto exchange = std::make_shared<Exchange>(shared_from_this(), seq_);
  Responder responder([exchange](Response r) { exchange->Send(std::move(r)); },
                      [exchange](Response head) { return exchange->Stream(std::move(head)); });
  in_handler_ = true;
  handler_started_ = Clock::now();
  struct HandlerDone {
    bool& flag;
    ~HandlerDone() { flag = false; }
  } handler_done{in_handler_};
  try {
    handler(request_, responder);
  } catch (const nlohmann::json::exception& e) {
    if (!exchange->Send(Response::Error(Status::InvalidArgument(ShortJsonError(e.what()))))) {
      spdlog::warn("route {} threw after answering: {}", info.name, e.what());
    }
  } catch (const std::exception& e) {
    spdlog::error("route {} failed: {}", info.name, e.what());
    exchange->Send(Response::Error(Status::Internal("internal error")));
  } catch (...) {
    spdlog::error("route {} failed with a non-standard exception", info.name);
    exchange->Send(Response::Error(Status::Internal("internal error")));
  }
}

// ---- Writing ----

void Session::Deliver(uint64_t seq, Response response) {
  asio::dispatch(socket_.get_executor(),
                 [self = shared_from_this(), seq, r = std::move(response)]() mutable {
                   self->OnResponse(seq, std::move(r));
                 });
}

void Session::OnResponse(uint64_t seq, Response response) {
  if (phase_ != Phase::kHandling || seq != seq_) {
    spdlog::debug("dropping a response: the connection is closed");
    return;
  }
  WriteResponse(std::move(response));
}

void Session::BuildHead(unsigned status, std::string_view content_type,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        int64_t content_length) {
  head_.clear();
  head_.append("HTTP/1.1 ");
  AppendUint(&head_, status);
  head_.push_back(' ');
  head_.append(bhttp::obsolete_reason(bhttp::int_to_status(status)));
  head_.append("\r\nDate: ");
  head_.append(HttpDate());
  head_.append("\r\n");
  const bool no_body = status == 204 || status == 304 || status < 200;
  if (!content_type.empty() && !no_body) {
    head_.append("Content-Type: ").append(content_type).append("\r\n");
  }
  if (content_length >= 0) {
    if (!no_body) {
      head_.append("Content-Length: ");
      AppendUint(&head_, static_cast<uint64_t>(content_length));
      head_.append("\r\n");
    }
  } else {
    head_.append("Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n");
    if (stream_chunked_) head_.append("Transfer-Encoding: chunked\r\n");
  }
  if (!keep_alive_) {
    head_.append("Connection: close\r\n");
  } else if (parser_ && parser_->get().version() < 11) {
    head_.append("Connection: keep-alive\r\n");
  }
  for (const auto& [name, value] : headers) {
    if (!SafeHeaderText(name) || value.find_first_of("\r\n") != std::string::npos) {
      spdlog::error("route {} set a header with an invalid name or value; dropped", route_name_);
      continue;
    }
    head_.append(name).append(": ").append(value).append("\r\n");
  }
  if (!origin_.empty()) {
    const std::string_view allowed = core_->AllowedOrigin(origin_);
    if (!allowed.empty()) {
      head_.append("Access-Control-Allow-Origin: ").append(allowed).append("\r\n");
      head_.append("Access-Control-Expose-Headers: ").append(kExposedHeaders).append("\r\n");
      if (allowed != "*") head_.append("Vary: Origin\r\n");
    }
  }
  head_.append("\r\n");
}

void Session::WriteResponse(Response response) {
  phase_ = Phase::kWriting;
  status_ = response.status;
  if (shutting_down_ || core_->stopping.load(std::memory_order_relaxed)) keep_alive_ = false;
  const bool no_body = response.status == 204 || response.status == 304;
  if (no_body) response.body.clear();
  BuildHead(response.status, response.content_type, response.headers,
            static_cast<int64_t>(response.body.size()));
  body_ = std::move(response.body);
  if (head_only_) body_.clear();  // the head says how long the GET body is
  SetDeadline(Deadline::kWrite, core_->options.write_timeout);
  // An answer that took long to compute (a vector search: ~100 us) goes
  // out after the handlers already queued on this io_context (requests
  // that became ready meanwhile) have run, so that a client with many
  // connections is woken once for several answers instead of once per
  // answer: the same reason Redis writes its replies once per event-loop
  // turn. With client and server sharing the cores, it cut the load
  // generator's CPU per search by ~30% and raised searches/s (bench/NOTES.md).
  // Cheap answers (a GET) and answers completed by another thread (a
  // commit group, which arrive together anyway) are written at once.
  if (in_handler_ && Clock::now() - handler_started_ >= kDeferWriteAfter) {
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->StartWrite(); });
    return;
  }
  StartWrite();
}

void Session::StartWrite() {
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(body_)};
  asio::async_write(socket_, buffers, beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
}

void Session::OnWrite(error_code ec, size_t) {
  if (phase_ == Phase::kClosed) return;
  FinishExchange();
  if (ec) return Close();
  if (body_.capacity() > kBodyReadSize) {
    std::string().swap(body_);
  } else {
    body_.clear();
  }
  if (!keep_alive_) return LingeringClose();
  parser_.reset();
  request_.raw = nullptr;
  if (buffer_.size() == 0 && buffer_.capacity() > 2 * kBodyReadSize) buffer_.shrink_to_fit();
  DoRead();
}

void Session::FinishExchange() {
  const auto elapsed = Clock::now() - started_;
  const double seconds = std::chrono::duration<double>(elapsed).count();
  core_->Record(route_index_, route_name_, status_, seconds);
  if (spdlog::should_log(spdlog::level::debug)) {
    const std::string_view method =
        parser_ && parser_->is_header_done() ? bhttp::to_string(parser_->get().method()) : "-";
    spdlog::debug("{} {} {} {}us", method, request_.raw ? std::string_view(request_.path) : "-",
                  status_, std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count());
  }
}

// Half-close, then read and discard what the client still sends (the rest
// of a refused body, pipelined requests) until it closes or kLingerTime
// passes: closing with unread data would reset the connection and the
// client could lose the response.
void Session::LingeringClose() {
  phase_ = Phase::kLingering;
  error_code ec;
  socket_.shutdown(asio::socket_base::shutdown_send, ec);
  if (ec) return Close();
  lingered_bytes_ = 0;
  buffer_.consume(buffer_.size());
  // Shorter while stopping: Stop() waits for this connection.
  const bool stopping = shutting_down_ || core_->stopping.load(std::memory_order_relaxed);
  SetDeadline(Deadline::kLinger, stopping ? kLingerTime / 4 : kLingerTime, /*precise=*/true);
  DoLingerRead();
}

void Session::DoLingerRead() {
  socket_.async_read_some(buffer_.prepare(kBodyReadSize),
                          [self = shared_from_this()](error_code ec, size_t n) {
                            if (self->phase_ != Phase::kLingering) return;
                            self->lingered_bytes_ += n;
                            if (ec || self->lingered_bytes_ > kMaxLingerBytes) return self->Close();
                            self->DoLingerRead();
                          });
}

void Session::Close() {
  if (phase_ == Phase::kClosed) return;
  const bool was_streaming = phase_ == Phase::kStreaming;
  if (was_streaming) {
    // No producer may write to the socket from here on (StreamSendDirect).
    std::lock_guard<std::mutex> lock(stream_mu_);
    stream_direct_ = false;
  }
  phase_ = Phase::kClosed;
  deadline_kind_ = Deadline::kNone;
  error_code ec;
  socket_.shutdown(asio::socket_base::shutdown_both, ec);
  socket_.close(ec);
  timer_.cancel();
  std::function<void()> fn;
  {
    std::lock_guard<std::mutex> lock(stream_mu_);
    if (!stream_ended_) {
      stream_ended_ = true;
      fn = std::move(stream_on_close_);
    }
    stream_queue_.clear();
  }
  stream_queued_.store(0, std::memory_order_relaxed);
  if (was_streaming) core_->streams_open.Dec();
  core_->connections_open.Dec();
  core_->Unregister(id_);
  if (fn) fn();
}

// ---- Streams: session_stream.cc ----

// ---- Watchdog ----

void Session::SetDeadline(Deadline kind, std::chrono::milliseconds after, bool precise) {
  if (kind == Deadline::kNone) {
    deadline_kind_ = kind;
    return;
  }
  SetDeadlineAt(kind, Clock::now() + after, precise);
}

void Session::SetDeadlineAt(Deadline kind, Clock::time_point at, bool precise) {
  deadline_kind_ = kind;
  deadline_ = at;
  // A later deadline is picked up when the armed timer fires; only precise
  // deadlines re-arm the timer early.
  if (!timer_armed_ || (precise && deadline_ < timer_expiry_)) ArmTimer();
}

void Session::ArmTimer() {
  timer_armed_ = true;
  timer_expiry_ = deadline_;
  timer_.expires_at(deadline_);  // cancels a pending wait
  timer_.async_wait(beast::bind_front_handler(&Session::OnTimer, shared_from_this()));
}

void Session::OnTimer(error_code ec) {
  if (ec == asio::error::operation_aborted) return;  // re-armed or closed
  timer_armed_ = false;
  if (phase_ == Phase::kClosed || deadline_kind_ == Deadline::kNone) return;
  if (Clock::now() < deadline_) return ArmTimer();
  switch (deadline_kind_) {
    case Deadline::kRequest:
      // Answered 408 by OnReadSome when the cancelled read completes.
      timed_out_ = true;
      socket_.cancel(ec);
      break;
    case Deadline::kIdle:
    case Deadline::kWrite:
    case Deadline::kLinger:
    case Deadline::kNone:
      Close();
      break;
  }
}

}  // namespace kissvdb::http
