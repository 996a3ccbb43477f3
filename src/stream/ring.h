// Ring: the most recent committed events, rendered, in offset order.
//
// It covers the contiguous offsets [first(), next()). Appending an event
// that does not continue the ring (the broadcaster dropped batches to bound
// its memory, or events were committed before it was attached) restarts the
// ring at that event: whatever is older is read from the log instead. The
// oldest frames are evicted past max_events or max_bytes (the newest frame
// always stays).
//
// Thread safety: none; the dispatcher thread owns it.
#pragma once

#include <cstdint>
#include <deque>

#include "stream/frame.h"

namespace kissvdb::stream {

class Ring {
 public:
  // An empty ring whose next expected offset is `next`.
  Ring(size_t max_events, uint64_t max_bytes, uint64_t next);

  void Append(Frame frame);
  // Empties the ring; the next expected offset becomes `next`. Subscribers
  // whose cursor is older read the log instead.
  void Clear(uint64_t next);

  uint64_t first() const { return first_; }
  uint64_t next() const { return first_ + frames_.size(); }
  bool Contains(uint64_t offset) const { return offset >= first_ && offset < next(); }
  // REQUIRES: Contains(offset).
  const Frame& at(uint64_t offset) const { return frames_[offset - first_]; }
  size_t size() const { return frames_.size(); }
  uint64_t bytes() const { return bytes_; }

 private:
  const size_t max_events_;
  const uint64_t max_bytes_;
  std::deque<Frame> frames_;
  uint64_t first_;
  uint64_t bytes_ = 0;
};

}  // namespace kissvdb::stream
