// Subscriber: one change-stream client: its connection, filter, cursor and
// the accounting of what is queued on its connection and not yet written.
//
// The cursor is exact: every offset below cursor() was either queued to the
// connection or did not match the filter, and nothing at or above it was.
// Moving between disk catch-up and live delivery only moves the cursor, so
// the switch can neither skip nor repeat an event.
//
// Thread safety: owned by one broadcaster thread at a time (handed between
// the dispatcher and the catch-up reader under the broadcaster's mutex);
// only Cancel()/cancelled() may be used from other threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "stream/filter.h"
#include "stream/sink.h"

namespace kissvdb::stream {

using SteadyClock = std::chrono::steady_clock;

// What one subscriber may have queued and unwritten on its connection.
struct Budget {
  uint64_t events = 4096;
  uint64_t bytes = 8u << 20;
};

class Subscriber {
 public:
  Subscriber(uint64_t id, std::shared_ptr<Sink> sink, Filter filter, uint64_t since,
             SteadyClock::duration checkpoint_every, SteadyClock::time_point now);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  uint64_t id() const { return id_; }
  const Filter& filter() const { return filter_; }
  Sink& sink() const { return *sink_; }

  uint64_t cursor() const { return cursor_; }
  // Marks offsets below `next` as handled (queued or filtered out).
  void set_cursor(uint64_t next) { cursor_ = next; }

  // Re-reads how much the connection has written since the last call.
  void Refresh();
  uint64_t queued_events() const { return queued_events_; }
  uint64_t queued_bytes() const { return sent_bytes_ - written_bytes_; }
  // Whether `events` more events totalling `bytes` stay within `budget`.
  // A single event always fits when nothing is queued (so an event larger
  // than the byte budget still flows).
  bool Fits(uint64_t events, uint64_t bytes, const Budget& budget) const;

  // Queues `chunk`, holding `events` events, the last of which is `last_id`.
  // The chunk may be shared with other subscribers (one rendering per pass).
  void SendEvents(std::shared_ptr<const std::string> chunk, uint32_t events, uint64_t last_id,
                  SteadyClock::time_point now);
  // A checkpoint when the cursor moved past what the client was last told
  // and checkpoint_every passed since; else a keepalive comment when
  // nothing at all was sent for `keepalive`.
  void Heartbeat(SteadyClock::time_point now, SteadyClock::duration keepalive);
  // Queues `frame` (the last one) and closes the connection.
  void Finish(std::string frame);

  // The client went away (from any thread).
  void Cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  // Closed by either side: drop it.
  bool done() const { return done_ || cancelled_.load(std::memory_order_relaxed); }

  // Bytes queued to the connection so far (all kinds of frames).
  uint64_t sent_bytes() const { return sent_bytes_; }

  // Since when live delivery has been held back by a full budget.
  std::optional<SteadyClock::time_point> blocked_since;
  // The dispatcher's last pass queued something to it.
  bool sent_in_last_pass = false;

 private:
  void Queue(std::shared_ptr<const std::string> chunk, uint32_t events, SteadyClock::time_point now);

  const uint64_t id_;
  const std::shared_ptr<Sink> sink_;
  const Filter filter_;
  const SteadyClock::duration checkpoint_every_;
  uint64_t cursor_;
  uint64_t told_;  // the client knows it is in sync up to here (last id or checkpoint)
  SteadyClock::time_point last_sent_;
  SteadyClock::time_point last_told_;

  struct Chunk {
    uint64_t end;  // sent_bytes_ after this chunk
    uint32_t events;
  };
  std::deque<Chunk> chunks_;  // queued, not yet fully written
  uint64_t sent_bytes_ = 0;
  uint64_t written_bytes_ = 0;
  uint64_t queued_events_ = 0;
  bool done_ = false;
  std::atomic<bool> cancelled_{false};
};

}  // namespace kissvdb::stream
