#include "stream/ring.h"

#include <algorithm>

namespace kissvdb::stream {

namespace {
// What a frame holds in memory: its strings' allocations, not their
// lengths (a rendered frame's buffer grew by doubling, so up to twice its
// length until Append shrinks it).
uint64_t CostOf(const Frame& f) {
  return f.sse.capacity() + f.fields.type.capacity() + (f.fields.key ? f.fields.key->capacity() : 0) +
         (f.fields.collection ? f.fields.collection->capacity() : 0) + sizeof(Frame);
}
}  // namespace

Ring::Ring(size_t max_events, uint64_t max_bytes, uint64_t next)
    : max_events_(std::max<size_t>(max_events, 1)), max_bytes_(max_bytes), first_(next) {}

void Ring::Clear(uint64_t next) {
  frames_.clear();
  bytes_ = 0;
  first_ = next;
}

void Ring::Append(Frame frame) {
  if (frame.offset != next()) Clear(frame.offset);
  frame.sse.shrink_to_fit();  // kept for up to max_events frames: hold its length, not its growth
  bytes_ += CostOf(frame);
  frames_.push_back(std::move(frame));
  while (frames_.size() > 1 && (frames_.size() > max_events_ || bytes_ > max_bytes_)) {
    bytes_ -= CostOf(frames_.front());
    frames_.pop_front();
    ++first_;
  }
}

}  // namespace kissvdb::stream
