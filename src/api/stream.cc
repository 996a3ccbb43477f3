// The change-stream routes: parse the subscription, start the SSE response,
// hand its sink to the broadcaster.
#include <charconv>
#include <string>
#include <string_view>

#include "api/json_args.h"
#include "api/stream_routes.h"
#include "stream/broadcaster.h"

namespace kissvdb::api {

namespace {

constexpr size_t kMaxTypes = 64;
constexpr uint64_t kMaxCheckpointSecs = 3600;

// http::StreamSink as the broadcaster's Sink.
class HttpSink final : public stream::Sink {
 public:
  explicit HttpSink(std::shared_ptr<http::StreamSink> sink) : sink_(std::move(sink)) {}
  bool Send(std::string chunk) override { return sink_->Send(std::move(chunk)); }
  bool SendShared(std::shared_ptr<const std::string> chunk) override { return sink_->SendShared(std::move(chunk)); }
  size_t queued_bytes() const override { return sink_->queued_bytes(); }
  void Close() override { sink_->Close(); }
  bool closed() const override { return sink_->closed(); }
  void OnClose(std::function<void()> fn) override { sink_->OnClose(std::move(fn)); }

 private:
  std::shared_ptr<http::StreamSink> sink_;
};

Result<uint64_t> ParseOffset(std::string_view text, const char* what) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return Status::InvalidArgument(std::string(what) + " must be an offset (a non-negative integer)");
  }
  return v;
}

// The position to replay from: Last-Event-ID, else since, else 0.
Result<uint64_t> ResolveSince(const ApiContext& ctx, const Request& req) {
  const uint64_t last = ctx.engine->Stats().last_offset;
  uint64_t since = 0;
  const std::string header(req.header("Last-Event-ID"));
  if (!header.empty()) {
    auto v = ParseOffset(header, "Last-Event-ID");
    if (!v.ok()) return v.status();
    since = *v;
  } else {
    const std::string text = req.query_or("since", "");
    if (text == "now") return last;
    if (text.empty()) return uint64_t{0};
    auto v = ParseOffset(text, "since (or 'now')");
    if (!v.ok()) return v.status();
    since = *v;
  }
  if (since > last) {
    return Status::InvalidArgument("offset " + std::to_string(since) + " is past the newest offset " +
                                   std::to_string(last) + " of this log");
  }
  return since;
}

}  // namespace

void StreamChanges(const ApiContext& ctx, Request& req, const Responder& res) {
  if (ctx.broadcaster == nullptr) return res.Error(Status::Unavailable("the change stream is not running"));
  auto since = ResolveSince(ctx, req);
  if (!since.ok()) return res.Error(since.status());

  std::string key_prefix = req.query_or("key_prefix", req.query_or("prefix", ""));
  if (key_prefix.size() > ctx.config->limits.max_key_len) {
    return res.Error(Status::InvalidArgument("key_prefix is longer than " +
                                             std::to_string(ctx.config->limits.max_key_len) + " bytes"));
  }
  std::string collection = req.query_or("collection", "");
  if (collection.size() > ctx.config->limits.max_collection_len) {
    return res.Error(Status::InvalidArgument("collection is longer than " +
                                             std::to_string(ctx.config->limits.max_collection_len) + " bytes"));
  }
  stream::Filter filter(req.query_or("types", ""), std::move(key_prefix), std::move(collection));
  if (filter.types().size() > kMaxTypes) {
    return res.Error(Status::InvalidArgument("types lists more than " + std::to_string(kMaxTypes) + " types"));
  }
  stream::SubscribeRequest request;
  request.since = *since;
  request.filter = std::move(filter);
  if (req.query.count("checkpoint_secs") > 0) {
    auto secs = QueryU64(req, "checkpoint_secs", 0);
    if (!secs.ok()) return res.Error(secs.status());
    if (*secs > kMaxCheckpointSecs) {
      return res.Error(Status::InvalidArgument("checkpoint_secs must be at most " +
                                               std::to_string(kMaxCheckpointSecs)));
    }
    request.checkpoint = std::chrono::seconds(*secs);
  }

  http::Response head;
  head.status = 200;
  head.content_type = "text/event-stream";
  head.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
  auto sink = res.StartStream(std::move(head));
  ctx.broadcaster->Subscribe(std::make_shared<HttpSink>(std::move(sink)), std::move(request));
}

}  // namespace kissvdb::api
