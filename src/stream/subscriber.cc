#include "stream/subscriber.h"

#include "util/metrics.h"

namespace kissvdb::stream {

namespace {
Gauge& ClientsGauge() {
  static Gauge& g = Metrics::Global().gauge("sse_clients", {}, "Connected change-stream clients.");
  return g;
}
}  // namespace

Subscriber::Subscriber(uint64_t id, std::shared_ptr<Sink> sink, Filter filter, uint64_t since,
                       SteadyClock::duration checkpoint_every, SteadyClock::time_point now)
    : id_(id),
      sink_(std::move(sink)),
      filter_(std::move(filter)),
      checkpoint_every_(checkpoint_every),
      cursor_(since + 1),
      told_(since),
      last_sent_(now),
      last_told_(now) {
  ClientsGauge().Inc();
}

Subscriber::~Subscriber() { ClientsGauge().Dec(); }

void Subscriber::Refresh() {
  const uint64_t queued = sink_->queued_bytes();
  const uint64_t written = queued >= sent_bytes_ ? 0 : sent_bytes_ - queued;
  if (written > written_bytes_) written_bytes_ = written;
  while (!chunks_.empty() && chunks_.front().end <= written_bytes_) {
    queued_events_ -= chunks_.front().events;
    chunks_.pop_front();
  }
}

bool Subscriber::Fits(uint64_t events, uint64_t bytes, const Budget& budget) const {
  if (events == 1 && queued_events_ == 0 && queued_bytes() == 0) return true;
  return queued_events_ + events <= budget.events && queued_bytes() + bytes <= budget.bytes;
}

void Subscriber::Queue(std::shared_ptr<const std::string> chunk, uint32_t events, SteadyClock::time_point now) {
  if (done_ || chunk->empty()) return;
  const uint64_t size = chunk->size();
  if (!sink_->SendShared(std::move(chunk))) {
    done_ = true;
    return;
  }
  sent_bytes_ += size;
  chunks_.push_back(Chunk{sent_bytes_, events});
  queued_events_ += events;
  last_sent_ = now;
}

void Subscriber::SendEvents(std::shared_ptr<const std::string> chunk, uint32_t events, uint64_t last_id,
                            SteadyClock::time_point now) {
  Queue(std::move(chunk), events, now);
  told_ = last_id;
  last_told_ = now;
}

void Subscriber::Heartbeat(SteadyClock::time_point now, SteadyClock::duration keepalive) {
  if (done_) return;
  const uint64_t synced = cursor_ - 1;
  if (checkpoint_every_.count() > 0 && synced > told_ && now - last_told_ >= checkpoint_every_) {
    Queue(std::make_shared<const std::string>(RenderCheckpoint(synced)), 0, now);
    told_ = synced;
    last_told_ = now;
  } else if (now - last_sent_ >= keepalive) {
    Queue(std::make_shared<const std::string>(kKeepalive), 0, now);
  }
}

void Subscriber::Finish(std::string frame) {
  if (done_) return;
  sink_->Send(std::move(frame));
  sink_->Close();
  done_ = true;
}

}  // namespace kissvdb::stream
