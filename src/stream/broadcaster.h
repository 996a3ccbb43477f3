// Broadcaster: the change stream (CDC feed). Every durable event reaches
// every interested subscriber exactly once, in offset order, with no gap.
//
// Three parties, none of which waits for another:
//
//  * The commit thread calls Publish() (the Engine's commit listener) with
//    each durable batch. It only appends the batch to an inbox and wakes the
//    dispatcher: constant work per batch, whatever the number of subscribers.
//    If the dispatcher falls far behind, the inbox drops its oldest batches
//    (they are in the log) instead of growing.
//
//  * The dispatcher thread renders each event once into an SSE frame, keeps
//    the recent ones in a bounded Ring, and in each pass sends every live
//    subscriber one chunk with the frames past its cursor that match its
//    filter. Passes coalesce: at most one per min_pass_interval, and while
//    the connections have not written most of the previous pass's chunks,
//    up to max_pass_interval (adaptive batching: under load each write
//    carries more events, and the io threads' queue stays short).
//
//  * The catch-up thread serves subscribers whose cursor is older than the
//    ring: it reads the log in pages (EventSource::Read), paced by each
//    connection's own backlog (a slow reader of history simply waits), and
//    hands the subscriber to the dispatcher once its cursor reaches the
//    ring. Only the cursor moves between the two, so the switch from replay
//    to live delivery neither skips nor repeats an event.
//
// Slow consumers: a live subscriber may have `budget` events/bytes queued
// and unwritten on its connection. When matching events wait and its queue
// stays full for slow_consumer_grace (or the ring evicts its cursor while it
// is held back), it gets a final `gap` frame naming the offset to resume
// from and is disconnected; reconnecting with Last-Event-ID catches up from
// the log. Memory is therefore bounded by the ring, the inbox and
// subscribers x budget.
//
// Nobody listening: when no subscriber has been connected for ring_linger,
// Publish keeps nothing (no copy, no rendering) and the ring is emptied past
// the skipped batches, so an ingest or a write load that nobody watches pays
// neither the memory nor the CPU of the ring. A subscriber that arrives then
// finds its cursor older than the ring and catches up from the log, as one
// whose position the ring evicted does.
//
// A `since` older than the log's retention gets a final `compacted` frame
// naming the oldest available offset. Quiet filtered feeds get `checkpoint`
// frames, idle connections keepalive comments. Wire format: frame.h.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "kissvdb/config.h"
#include "kissvdb/event.h"
#include "stream/filter.h"
#include "stream/sink.h"
#include "stream/subscriber.h"

namespace kissvdb::stream {

struct BroadcasterOptions {
  Budget budget;                                          // per live subscriber
  std::chrono::milliseconds slow_consumer_grace{500};    // held back this long -> gap
  std::chrono::milliseconds keepalive{15000};
  std::chrono::milliseconds checkpoint{5000};            // default; per subscriber; 0 = off
  size_t ring_events = 65536;
  uint64_t ring_bytes = 64ull << 20;
  // The ring keeps events only while someone listens: once nobody has been
  // subscribed for this long, committed batches are neither copied nor
  // rendered, and the ring is emptied. A later subscriber catches up from the
  // log. (An ingest nobody watches then costs no ring memory and no
  // rendering; a client that reconnects within it resumes from memory.)
  std::chrono::milliseconds ring_linger{10000};
  std::chrono::milliseconds min_pass_interval{2};
  // When most chunks of the previous pass are still unwritten (the io
  // threads are behind), the next pass waits for them, up to this long, so
  // it carries more per write instead of queueing more writes.
  std::chrono::milliseconds max_pass_interval{10};
  uint32_t page_events = 256;                             // catch-up read size

  // sse_buffer_events -> budget.events, sse_keepalive_secs -> keepalive.
  static BroadcasterOptions FromConfig(const Config& config);
};

struct SubscribeRequest {
  uint64_t since = 0;  // deliver offsets > since
  Filter filter;
  std::optional<std::chrono::milliseconds> checkpoint;  // default options.checkpoint; 0 = off
};

struct BroadcasterStats {
  uint64_t subscribers = 0;
  uint64_t ring_first = 0;  // the ring covers [ring_first, ring_next)
  uint64_t ring_next = 0;
  uint64_t events_sent = 0;       // event frames queued to subscribers
  uint64_t slow_disconnects = 0;  // gap frames
  uint64_t compacted = 0;         // compacted frames
  uint64_t dropped_batches = 0;   // inbox overflow (served from the log instead)
  uint64_t skipped_batches = 0;   // published while nobody listened (not kept)
};

class Broadcaster {
 public:
  // REQUIRES: `source` outlives the broadcaster or at least Stop().
  Broadcaster(const EventSource& source, BroadcasterOptions options);
  ~Broadcaster();  // Stop()
  Broadcaster(const Broadcaster&) = delete;
  Broadcaster& operator=(const Broadcaster&) = delete;

  // Starts the dispatcher and catch-up threads.
  void Start();
  // Closes every subscriber's connection and joins the threads; later
  // Publish/Subscribe calls are ignored (Subscribe closes the sink).
  // Call before the event source (the Engine) closes. Idempotent.
  void Stop();

  // Takes one durable batch, in offset order. Cheap; never blocks on
  // subscribers. Thread-safe.
  void Publish(const std::vector<Event>& events) const;
  // Publish as a commit listener for Engine::AddCommitListener. It holds
  // only the inbox, so it may outlive the broadcaster (it then does nothing).
  std::function<void(const std::vector<Event>&)> Listener() const;

  // Streams events with offset > request.since to `sink` until either side
  // closes it. Returns the subscription id. Thread-safe.
  uint64_t Subscribe(std::shared_ptr<Sink> sink, SubscribeRequest request);

  BroadcasterStats Stats() const;

  struct Shared;  // the inbox and hand-off queues (broadcaster.cc)

 private:
  void DispatchLoop();
  void CatchUpLoop();

  const EventSource& source_;
  const BroadcasterOptions options_;
  std::shared_ptr<Shared> shared_;
  std::thread dispatcher_;
  std::thread catch_up_;
  // Each owned by its thread while it runs; Stop() closes what is left.
  std::vector<std::shared_ptr<Subscriber>> live_;
  std::vector<std::shared_ptr<Subscriber>> disk_;
};

}  // namespace kissvdb::stream
