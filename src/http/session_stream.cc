// Session, streaming half: a route that answers with a stream (SSE, backup
// downloads) gets a StreamSink; chunks queue under stream_mu_ from any
// thread and are written by the session's strand in gathered writes, with
// chunked framing on HTTP/1.1 (session.h).
// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized in
// Beast's parser (as in session.cc).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <charconv>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "http/session.h"

namespace kissvdb::http {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr std::string_view kLastChunk = "0\r\n\r\n";

// The StreamSink of a session: forwards to it.
class SessionSink : public StreamSink {
 public:
  explicit SessionSink(std::shared_ptr<Session> session) : session_(std::move(session)) {}
  bool Send(std::string chunk) override {
    return session_->StreamSend(std::make_shared<const std::string>(std::move(chunk)));
  }
  bool SendShared(std::shared_ptr<const std::string> chunk) override {
    return session_->StreamSend(std::move(chunk));
  }
  size_t queued_bytes() const override { return session_->StreamQueued(); }
  void Close() override { session_->StreamClose(); }
  bool closed() const override { return session_->StreamClosed(); }
  void OnClose(std::function<void()> fn) override { session_->StreamOnClose(std::move(fn)); }

 private:
  std::shared_ptr<Session> session_;
};

}  // namespace

// Posted, not dispatched: the head goes out after the handler returns, so a
// client that has seen the 200 knows the handler's subscription is in place
// (metrics count it; a test reading sse_clients right after raced without).
std::shared_ptr<StreamSink> Session::OpenStream(uint64_t seq, Response head) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), seq, h = std::move(head)]() mutable {
    self->BeginStream(seq, std::move(h));
  });
  return std::make_shared<SessionSink>(shared_from_this());
}

void Session::BeginStream(uint64_t seq, Response head) {
  if (phase_ != Phase::kHandling || seq != seq_) {
    // The connection is gone: the stream is born closed.
    std::function<void()> fn;
    {
      std::lock_guard<std::mutex> lock(stream_mu_);
      if (!stream_ended_) {
        stream_ended_ = true;
        fn = std::move(stream_on_close_);
      }
    }
    if (fn) fn();
    return;
  }
  phase_ = Phase::kStreaming;
  status_ = head.status;
  keep_alive_ = false;
  stream_chunked_ = parser_->get().version() >= 11;
  BuildHead(head.status, head.content_type, head.headers, -1);
  FinishExchange();  // the log and metrics count the stream when it starts
  core_->streams_open.Inc();
  if (head_only_) {
    // HEAD of a streamed route: the head, then the connection closes. No
    // chunk is written (StreamFlush drops them), not even the last one.
    stream_chunked_ = false;
    StreamClose();
  }
  if (shutting_down_) StreamClose();

  stream_writing_ = true;
  SetDeadline(Deadline::kWrite, core_->options.write_timeout);
  asio::async_write(socket_, asio::buffer(head_), [self = shared_from_this()](error_code ec, size_t) {
    self->OnStreamWrite(ec, 0);
  });
  StreamWatchClient();
}

// While streaming, keep a read posted: it completes when the client goes
// away. Whatever the client sends is discarded.
void Session::StreamWatchClient() {
  buffer_.consume(buffer_.size());
  socket_.async_read_some(buffer_.prepare(512), [self = shared_from_this()](error_code ec, size_t) {
    if (self->phase_ != Phase::kStreaming) return;
    if (ec) return self->Close();
    self->StreamWatchClient();
  });
}

// Under stream_mu_: one StreamFlush pending on the strand at a time.
void Session::PostStreamFlush() {
  if (stream_flush_posted_) return;
  stream_flush_posted_ = true;
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->StreamFlush(); });
}

bool Session::StreamSend(std::shared_ptr<const std::string> chunk) {
  std::lock_guard<std::mutex> lock(stream_mu_);
  if (stream_ended_ || stream_close_requested_) return false;
  if (chunk->empty()) return true;  // an empty chunk would end a chunked body
  if (stream_direct_ && stream_queue_.empty() && StreamSendDirect(chunk)) return true;
  stream_queued_.fetch_add(chunk->size(), std::memory_order_relaxed);
  stream_queue_.push_back(StreamPiece{std::move(chunk), false});
  PostStreamFlush();
  return true;
}

bool Session::StreamSendDirect(const std::shared_ptr<const std::string>& chunk) {
  // The chunk with its framing, in one non-blocking sendmsg. stream_mu_
  // keeps the strand from writing and Close() from closing meanwhile.
  char head[20];
  size_t head_len = 0;
  if (stream_chunked_) {
    auto r = std::to_chars(head, head + sizeof(head) - 2, chunk->size(), 16);
    head_len = static_cast<size_t>(r.ptr - head);
    head[head_len++] = '\r';
    head[head_len++] = '\n';
  }
  static constexpr char kCrlf[] = "\r\n";
  iovec iov[3];
  int count = 0;
  if (head_len > 0) iov[count++] = iovec{head, head_len};
  iov[count++] = iovec{const_cast<char*>(chunk->data()), chunk->size()};
  if (stream_chunked_) iov[count++] = iovec{const_cast<char*>(kCrlf), 2};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = static_cast<size_t>(count);
  const size_t total = head_len + chunk->size() + (stream_chunked_ ? 2 : 0);
  ssize_t n;
  do {
    n = ::sendmsg(socket_.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    // Full (EAGAIN) or failed: the strand's write takes over, and meets
    // the error if there is one.
    stream_direct_ = false;
    return false;
  }
  if (static_cast<size_t>(n) == total) return true;
  // Partial: the rest, framing included, goes first in the strand's queue.
  std::string rest;
  rest.reserve(total - static_cast<size_t>(n));
  rest.append(head, head_len).append(*chunk);
  if (stream_chunked_) rest.append(kCrlf, 2);
  rest.erase(0, static_cast<size_t>(n));
  stream_direct_ = false;
  stream_queued_.fetch_add(rest.size(), std::memory_order_relaxed);
  stream_queue_.push_back(StreamPiece{std::make_shared<const std::string>(std::move(rest)), true});
  PostStreamFlush();
  return true;
}

void Session::StreamClose() {
  std::lock_guard<std::mutex> lock(stream_mu_);
  if (stream_ended_ || stream_close_requested_) return;
  stream_close_requested_ = true;
  PostStreamFlush();
}

bool Session::StreamClosed() const {
  std::lock_guard<std::mutex> lock(stream_mu_);
  return stream_ended_ || stream_close_requested_;
}

void Session::StreamOnClose(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(stream_mu_);
    if (!stream_ended_) {
      stream_on_close_ = std::move(fn);
      return;
    }
  }
  if (fn) fn();  // already closed: fire now
}

void Session::StreamFlush() {
  if (phase_ != Phase::kStreaming || stream_writing_ || stream_terminating_) return;
  bool close = false;
  {
    std::lock_guard<std::mutex> lock(stream_mu_);
    stream_flush_posted_ = false;
    while (!stream_queue_.empty()) {
      stream_batch_.push_back(std::move(stream_queue_.front()));
      stream_queue_.pop_front();
    }
    close = stream_close_requested_;
    // Idle with nothing to write: producers may write directly until the
    // next queued piece.
    stream_direct_ = stream_batch_.empty() && !close && !head_only_;
  }
  if (head_only_) stream_batch_.clear();
  if (stream_batch_.empty()) {
    if (!close) {
      SetDeadline(Deadline::kNone, {});
      return;
    }
    // Everything is written: end the body, then close.
    stream_terminating_ = true;
    if (!stream_chunked_) return Close();
    SetDeadline(Deadline::kWrite, core_->options.write_timeout);
    asio::async_write(socket_, asio::buffer(kLastChunk.data(), kLastChunk.size()),
                      [self = shared_from_this()](error_code, size_t) { self->Close(); });
    return;
  }

  // One gathered write: [size CRLF chunk CRLF]... The framing lives in one
  // string, sized first so that the buffers pointing into it stay valid.
  size_t payload = 0;
  stream_framing_.clear();
  std::vector<std::pair<size_t, size_t>> spans;  // framing offsets of each size line
  if (stream_chunked_) {
    spans.reserve(stream_batch_.size());
    for (const StreamPiece& piece : stream_batch_) {
      if (piece.framed) {
        spans.emplace_back(0, 0);
        continue;
      }
      char hex[20];
      auto r = std::to_chars(hex, hex + sizeof(hex), piece.bytes->size(), 16);
      const size_t at = stream_framing_.size();
      stream_framing_.append(hex, r.ptr).append("\r\n");
      spans.emplace_back(at, stream_framing_.size() - at);
    }
    stream_framing_.append("\r\n");  // the CRLF after each chunk's data
  }
  stream_buffers_.clear();
  const size_t crlf_at = stream_framing_.size() - 2;
  for (size_t i = 0; i < stream_batch_.size(); ++i) {
    const std::string& chunk = *stream_batch_[i].bytes;
    const bool frame = stream_chunked_ && !stream_batch_[i].framed;
    payload += chunk.size();
    if (frame) stream_buffers_.emplace_back(stream_framing_.data() + spans[i].first, spans[i].second);
    stream_buffers_.emplace_back(chunk.data(), chunk.size());
    if (frame) stream_buffers_.emplace_back(stream_framing_.data() + crlf_at, 2);
  }
  stream_writing_ = true;
  SetDeadline(Deadline::kWrite, core_->options.write_timeout);
  asio::async_write(socket_, stream_buffers_,
                    [self = shared_from_this(), payload](error_code ec, size_t) {
                      self->stream_batch_.clear();
                      self->OnStreamWrite(ec, payload);
                    });
}

void Session::OnStreamWrite(error_code ec, size_t payload_bytes) {
  stream_writing_ = false;
  if (phase_ != Phase::kStreaming) return;  // closed: Close() zeroed the count
  if (payload_bytes > 0) stream_queued_.fetch_sub(payload_bytes, std::memory_order_relaxed);
  if (ec) return Close();
  StreamFlush();
}

}  // namespace kissvdb::http
