#include "stream/ring.h"

#include <algorithm>

namespace kissvdb::stream {

namespace {
uint64_t CostOf(const Frame& f) {
  return f.sse.size() + f.fields.type.size() + (f.fields.key ? f.fields.key->size() : 0) +
         (f.fields.collection ? f.fields.collection->size() : 0) + sizeof(Frame);
}
}  // namespace

Ring::Ring(size_t max_events, uint64_t max_bytes, uint64_t next)
    : max_events_(std::max<size_t>(max_events, 1)), max_bytes_(max_bytes), first_(next) {}

void Ring::Append(Frame frame) {
  if (frame.offset != next()) {
    frames_.clear();
    bytes_ = 0;
    first_ = frame.offset;
  }
  bytes_ += CostOf(frame);
  frames_.push_back(std::move(frame));
  while (frames_.size() > 1 && (frames_.size() > max_events_ || bytes_ > max_bytes_)) {
    bytes_ -= CostOf(frames_.front());
    frames_.pop_front();
    ++first_;
  }
}

}  // namespace kissvdb::stream
