#include "stream/broadcaster.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "stream/ring.h"
#include "util/metrics.h"

namespace kissvdb::stream {

namespace {

using std::chrono::milliseconds;

// How often the dispatcher looks at idle subscribers (keepalive and
// checkpoint granularity).
constexpr milliseconds kTick{100};
// How often the catch-up thread retries subscribers that are all waiting
// for their connections to drain.
constexpr milliseconds kDrainPoll{5};
// Below this many connections served by a pass, the next pass does not wait
// for them to drain (the io cost of a few writes is negligible).
constexpr size_t kMinServedToPace = 8;

struct Counters {
  Counter& events_sent = Metrics::Global().counter("sse_events_sent_total", {}, "Event frames queued to change-stream clients.");
  Counter& slow = Metrics::Global().counter("sse_slow_disconnects_total", {},
                                            "Change-stream clients cut off with a gap frame (too slow).");
  Counter& compacted = Metrics::Global().counter("sse_compacted_total", {},
                                                 "Change-stream requests for offsets removed by retention.");
};

Counters& Metric() {
  static Counters c;
  return c;
}

// What a thread does with a subscriber after serving it.
enum class Next { kKeep, kBacklog, kToLive, kToDisk, kDrop };

// One rendered chunk shared by the subscribers with the same filter and the
// same cursor in a dispatcher pass (the common case: many clients, all
// caught up, few distinct filters).
struct SharedChunk {
  std::shared_ptr<const std::string> chunk;
  uint32_t events = 0;
  uint64_t last_id = 0;
  uint64_t next = 0;  // the cursor after it
  bool ready = false;
};

}  // namespace

// The state the threads and the commit listener share. Everything but the
// atomics is guarded by `mu`.
struct Broadcaster::Shared {
  std::mutex mu;
  std::condition_variable dispatcher_cv;
  std::condition_variable catch_up_cv;
  bool stopped = false;
  bool dispatcher_wake = false;
  bool catch_up_wake = false;

  // The inbox: durable batches not yet in the ring.
  std::deque<std::vector<Event>> batches;
  size_t batch_events = 0;
  size_t max_batch_events = 0;
  // Nobody listening (options.ring_linger): batches published then are not
  // kept, and the ring is emptied up to `skip_to`. `last_listened` is when a
  // subscriber was last seen (by Publish or a dispatcher pass or tick).
  std::chrono::milliseconds ring_linger{0};
  std::optional<SteadyClock::time_point> last_listened;
  uint64_t skip_to = 0;

  // Hand-off queues between the threads (and from Subscribe).
  std::vector<std::shared_ptr<Subscriber>> to_live;
  std::vector<std::shared_ptr<Subscriber>> to_disk;
  // Every open subscription, for cancellation and Stop().
  std::unordered_map<uint64_t, std::weak_ptr<Subscriber>> subscribers;
  uint64_t next_id = 1;

  std::atomic<uint64_t> ring_first{0};
  std::atomic<uint64_t> ring_next{0};
  std::atomic<uint64_t> events_sent{0};
  std::atomic<uint64_t> slow_disconnects{0};
  std::atomic<uint64_t> compacted{0};
  std::atomic<uint64_t> dropped_batches{0};
  std::atomic<uint64_t> skipped_batches{0};

  // REQUIRES: mu held. Notes a subscriber if there is one; true if one was
  // seen within ring_linger.
  bool Listening(SteadyClock::time_point now) {
    if (subscribers.empty()) return last_listened && now - *last_listened < ring_linger;
    last_listened = now;
    return true;
  }

  void Publish(const std::vector<Event>& events) {
    if (events.empty()) return;
    const auto now = SteadyClock::now();
    {
      std::lock_guard lk(mu);
      if (stopped) return;
      if (!Listening(now)) {
        // Kept by nobody: the dispatcher empties the ring past it on its next
        // wake (a tick at most), and a later subscriber reads it from the log.
        skip_to = events.back().offset + 1;
        skipped_batches.fetch_add(1, std::memory_order_relaxed);
        return;
      }
    }
    std::vector<Event> copy = events;  // outside the lock
    {
      std::lock_guard lk(mu);
      if (stopped) return;
      batch_events += copy.size();
      batches.push_back(std::move(copy));
      // Bounded: the dispatcher is far behind; the oldest batches are in the
      // log, and the ring restarts past them (subscribers catch up from disk).
      while (batches.size() > 1 && batch_events > max_batch_events) {
        batch_events -= batches.front().size();
        batches.pop_front();
        dropped_batches.fetch_add(1, std::memory_order_relaxed);
      }
      if (dispatcher_wake) return;  // a wake-up is already pending
      dispatcher_wake = true;
    }
    dispatcher_cv.notify_one();
  }

  void Cancel(uint64_t id) {
    std::shared_ptr<Subscriber> sub;
    {
      std::lock_guard lk(mu);
      auto it = subscribers.find(id);
      if (it == subscribers.end()) return;
      sub = it->second.lock();
      subscribers.erase(it);
      dispatcher_wake = true;
      catch_up_wake = true;
    }
    if (sub) sub->Cancel();
    dispatcher_cv.notify_one();
    catch_up_cv.notify_one();
  }

  // Hands subscribers over and forgets dropped ones.
  void Move(std::vector<std::shared_ptr<Subscriber>>& moved, bool to_dispatcher, std::vector<uint64_t>& dropped) {
    if (moved.empty() && dropped.empty()) return;
    {
      std::lock_guard lk(mu);
      for (uint64_t id : dropped) subscribers.erase(id);
      auto& queue = to_dispatcher ? to_live : to_disk;
      for (auto& sub : moved) queue.push_back(std::move(sub));
      if (!moved.empty()) (to_dispatcher ? dispatcher_wake : catch_up_wake) = true;
    }
    if (!moved.empty()) (to_dispatcher ? dispatcher_cv : catch_up_cv).notify_one();
    moved.clear();
    dropped.clear();
  }
};

BroadcasterOptions BroadcasterOptions::FromConfig(const Config& config) {
  BroadcasterOptions o;
  o.budget.events = std::max<uint32_t>(config.sse_buffer_events, 1);
  o.keepalive = std::chrono::seconds(std::max<uint32_t>(config.sse_keepalive_secs, 1));
  o.ring_events = std::max<size_t>(o.ring_events, 4 * static_cast<size_t>(o.budget.events));
  return o;
}

Broadcaster::Broadcaster(const EventSource& source, BroadcasterOptions options)
    : source_(source), options_(std::move(options)), shared_(std::make_shared<Shared>()) {
  shared_->max_batch_events = std::max<size_t>(options_.ring_events, 1);
  shared_->ring_linger = options_.ring_linger;
  const uint64_t next = source_.last_offset() + 1;
  shared_->ring_first = next;
  shared_->ring_next = next;
}

Broadcaster::~Broadcaster() { Stop(); }

void Broadcaster::Start() {
  dispatcher_ = std::thread([this] { DispatchLoop(); });
  catch_up_ = std::thread([this] { CatchUpLoop(); });
}

void Broadcaster::Stop() {
  std::vector<std::shared_ptr<Subscriber>> open;
  {
    std::lock_guard lk(shared_->mu);
    shared_->stopped = true;
    for (auto& [id, weak] : shared_->subscribers) {
      if (auto sub = weak.lock()) open.push_back(std::move(sub));
    }
    shared_->subscribers.clear();
    shared_->to_live.clear();
    shared_->to_disk.clear();
    shared_->batches.clear();
  }
  shared_->dispatcher_cv.notify_all();
  shared_->catch_up_cv.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
  if (catch_up_.joinable()) catch_up_.join();
  live_.clear();
  disk_.clear();
  for (auto& sub : open) sub->sink().Close();  // outside the lock: OnClose may fire here
}

void Broadcaster::Publish(const std::vector<Event>& events) const { shared_->Publish(events); }

std::function<void(const std::vector<Event>&)> Broadcaster::Listener() const {
  std::shared_ptr<Shared> shared = shared_;
  return [shared](const std::vector<Event>& events) { shared->Publish(events); };
}

uint64_t Broadcaster::Subscribe(std::shared_ptr<Sink> sink, SubscribeRequest request) {
  const auto checkpoint = request.checkpoint.value_or(options_.checkpoint);
  std::shared_ptr<Subscriber> sub;
  uint64_t id = 0;
  {
    std::lock_guard lk(shared_->mu);
    if (!shared_->stopped) {
      id = shared_->next_id++;
      sub = std::make_shared<Subscriber>(id, sink, std::move(request.filter), request.since, checkpoint,
                                         SteadyClock::now());
      shared_->subscribers.emplace(id, sub);
    }
  }
  if (!sub) {
    sink->Close();
    return 0;
  }
  std::weak_ptr<Shared> weak = shared_;
  sink->OnClose([weak, id] {
    if (auto shared = weak.lock()) shared->Cancel(id);
  });
  // Retention removed what was asked for: say so, even if the ring still
  // holds some of it, so the answer matches GET /v1/log.
  const uint64_t oldest = source_.first_offset();
  if (request.since + 1 < oldest) {
    shared_->compacted.fetch_add(1, std::memory_order_relaxed);
    Metric().compacted.Inc();
    sub->Finish(RenderCompacted(request.since, oldest));
    std::lock_guard lk(shared_->mu);
    shared_->subscribers.erase(id);
    return id;
  }
  bool live = false;
  {
    std::lock_guard lk(shared_->mu);
    if (shared_->stopped) {
      sub.reset();
    } else {
      live = sub->cursor() >= shared_->ring_first.load();
      (live ? shared_->to_live : shared_->to_disk).push_back(sub);
      (live ? shared_->dispatcher_wake : shared_->catch_up_wake) = true;
    }
  }
  if (!sub) {
    sink->Close();
    return 0;
  }
  (live ? shared_->dispatcher_cv : shared_->catch_up_cv).notify_one();
  return id;
}

BroadcasterStats Broadcaster::Stats() const {
  BroadcasterStats st;
  {
    std::lock_guard lk(shared_->mu);
    st.subscribers = shared_->subscribers.size();
  }
  st.ring_first = shared_->ring_first.load();
  st.ring_next = shared_->ring_next.load();
  st.events_sent = shared_->events_sent.load();
  st.slow_disconnects = shared_->slow_disconnects.load();
  st.compacted = shared_->compacted.load();
  st.dropped_batches = shared_->dropped_batches.load();
  st.skipped_batches = shared_->skipped_batches.load();
  return st;
}

// ---- Live delivery (the dispatcher thread) ----

void Broadcaster::DispatchLoop() {
  Shared& s = *shared_;
  Ring ring(options_.ring_events, options_.ring_bytes, s.ring_next.load());
  std::deque<std::vector<Event>> batches;
  std::vector<std::shared_ptr<Subscriber>> demoted;
  std::vector<uint64_t> dropped;
  std::unordered_map<std::string, SharedChunk> chunks;
  std::unordered_map<std::string, uint32_t> group_sizes;
  SteadyClock::time_point last_pass{};
  bool backlog = false;
  uint64_t skip_to = 0;

  auto count_sent = [&](uint32_t n) {
    s.events_sent.fetch_add(n, std::memory_order_relaxed);
    Metric().events_sent.Inc(n);
  };
  auto cut_off = [&](Subscriber& sub) {
    const uint64_t resume = sub.cursor() - 1;
    // Counted before the gap is queued: a client that has read it sees it counted.
    s.slow_disconnects.fetch_add(1, std::memory_order_relaxed);
    Metric().slow.Inc();
    sub.Finish(RenderGap(resume, ring.next() - 1));
    spdlog::info("change stream {}: too slow, disconnected with gap at offset {} (head {})", sub.id(), resume,
                 ring.next() - 1);
  };
  // Queues the frames past the cursor that match; true if held back by the budget.
  auto deliver = [&](Subscriber& sub, SteadyClock::time_point now, const std::string& group) -> bool {
    const uint64_t from = sub.cursor();
    SharedChunk* shared = nullptr;
    if (!group.empty()) {
      shared = &chunks[group];
      if (shared->ready && sub.Fits(shared->events, shared->chunk->size(), options_.budget)) {
        sub.set_cursor(shared->next);
        if (shared->events > 0) {
          sub.SendEvents(shared->chunk, shared->events, shared->last_id, now);
          count_sent(shared->events);
        }
        return false;
      }
    }
    std::string chunk;
    uint32_t n = 0;
    uint64_t last_id = 0;
    bool blocked = false;
    uint64_t off = from;
    for (; off < ring.next(); ++off) {
      const Frame& f = ring.at(off);
      if (!sub.filter().Matches(f.fields)) continue;
      if (!sub.Fits(n + 1, chunk.size() + f.sse.size(), options_.budget)) {
        blocked = true;
        break;
      }
      chunk += f.sse;
      ++n;
      last_id = off;
    }
    sub.set_cursor(off);
    auto rendered = std::make_shared<const std::string>(std::move(chunk));
    if (shared && !blocked && !shared->ready) *shared = SharedChunk{rendered, n, last_id, off, true};
    if (n > 0) {
      sub.SendEvents(std::move(rendered), n, last_id, now);
      count_sent(n);
    }
    return blocked;
  };
  auto serve = [&](Subscriber& sub, SteadyClock::time_point now, const std::string& group) -> Next {
    if (sub.done()) return Next::kDrop;
    sub.Refresh();
    if (sub.cursor() < ring.first()) {
      // The ring moved past the cursor. A subscriber held back by its own
      // slowness is cut off; one that was keeping up reads the log instead.
      if (sub.blocked_since) {
        cut_off(sub);
        return Next::kDrop;
      }
      return Next::kToDisk;
    }
    const bool blocked = sub.cursor() < ring.next() && deliver(sub, now, group);
    if (sub.done()) return Next::kDrop;
    if (blocked) {
      if (!sub.blocked_since) {
        sub.blocked_since = now;
      } else if (now - *sub.blocked_since >= options_.slow_consumer_grace) {
        cut_off(sub);
        return Next::kDrop;
      }
      return Next::kBacklog;
    }
    sub.blocked_since.reset();
    sub.Heartbeat(now, options_.keepalive);
    return sub.done() ? Next::kDrop : Next::kKeep;
  };

  // Adaptive batching: while more than a quarter of the connections served
  // by the last pass still hold its chunk unwritten, the io threads are
  // behind; wait for them (bounded by max_pass_interval) so the next pass
  // carries more per write. A few slow clients among many do not trigger it.
  auto wait_for_drain = [&](size_t served) {
    if (served < kMinServedToPace) return;
    const auto latest = last_pass + options_.max_pass_interval;
    while (SteadyClock::now() < latest) {
      size_t pending = 0;
      for (const auto& sub : live_) {
        if (sub->sent_in_last_pass && sub->sink().queued_bytes() > 0) ++pending;
      }
      if (pending * 4 <= served) return;
      std::unique_lock lk(s.mu);
      if (s.dispatcher_cv.wait_for(lk, milliseconds(1), [&] { return s.stopped; })) return;
    }
  };
  size_t served = 0;

  for (;;) {
    {
      std::unique_lock lk(s.mu);
      const auto wake_at = backlog ? last_pass + options_.min_pass_interval : SteadyClock::now() + kTick;
      s.dispatcher_cv.wait_until(lk, wake_at, [&] { return s.stopped || s.dispatcher_wake; });
      if (s.stopped) break;
    }
    wait_for_drain(served);
    {
      std::unique_lock lk(s.mu);
      // Coalesce: at most one pass per min_pass_interval.
      const auto earliest = last_pass + options_.min_pass_interval;
      if (!s.stopped && SteadyClock::now() < earliest) {
        s.dispatcher_cv.wait_until(lk, earliest, [&] { return s.stopped; });
      }
      if (s.stopped) break;
      s.dispatcher_wake = false;
      batches.swap(s.batches);
      s.batch_events = 0;
      for (auto& sub : s.to_live) live_.push_back(std::move(sub));
      s.to_live.clear();
      s.Listening(SteadyClock::now());
      skip_to = s.skip_to;
    }
    const auto now = SteadyClock::now();
    last_pass = now;
    for (auto& batch : batches) {
      for (const Event& ev : batch) ring.Append(MakeFrame(ev));
    }
    batches.clear();
    // Batches that nobody kept: whatever the ring holds is older (batches
    // kept after them restarted the ring past them already).
    if (skip_to > ring.next()) ring.Clear(skip_to);
    s.ring_first.store(ring.first());
    s.ring_next.store(ring.next());

    // Subscribers with equal filters and cursors share one rendered chunk.
    group_sizes.clear();
    chunks.clear();
    std::vector<std::string> groups(live_.size());
    for (size_t i = 0; i < live_.size(); ++i) {
      const Subscriber& sub = *live_[i];
      if (sub.cursor() >= ring.next() || sub.cursor() < ring.first()) continue;
      groups[i] = sub.filter().key() + '@' + std::to_string(sub.cursor());
      ++group_sizes[groups[i]];
    }
    for (size_t i = 0; i < live_.size(); ++i) {
      if (!groups[i].empty() && group_sizes[groups[i]] < 2) groups[i].clear();
    }

    backlog = false;
    served = 0;
    size_t keep = 0;
    for (size_t i = 0; i < live_.size(); ++i) {
      std::shared_ptr<Subscriber>& sub = live_[i];
      const uint64_t sent_before = sub->sent_bytes();
      const Next next = serve(*sub, now, groups[i]);
      sub->sent_in_last_pass = sub->sent_bytes() != sent_before;
      if (sub->sent_in_last_pass) ++served;
      switch (next) {
        case Next::kBacklog:
          backlog = true;
          [[fallthrough]];
        case Next::kKeep:
        case Next::kToLive:
          if (keep != i) live_[keep] = std::move(sub);
          ++keep;
          break;
        case Next::kToDisk:
          demoted.push_back(std::move(sub));
          break;
        case Next::kDrop:
          dropped.push_back(sub->id());
          break;
      }
    }
    live_.resize(keep);
    s.Move(demoted, /*to_dispatcher=*/false, dropped);
  }
}

// ---- Catch-up from the log (the catch-up thread) ----

void Broadcaster::CatchUpLoop() {
  Shared& s = *shared_;
  std::vector<std::shared_ptr<Subscriber>> promoted;
  std::vector<uint64_t> dropped;
  bool progress = false;

  auto serve = [&](Subscriber& sub, SteadyClock::time_point now) -> Next {
    if (sub.done()) return Next::kDrop;
    sub.Refresh();
    if (sub.cursor() >= s.ring_first.load()) return Next::kToLive;
    // Paced by the connection: read on only when half the budget is free.
    if (sub.queued_events() * 2 > options_.budget.events || sub.queued_bytes() * 2 > options_.budget.bytes) {
      return Next::kKeep;
    }
    progress = true;
    const uint64_t since = sub.cursor() - 1;
    Result<std::vector<Event>> page = source_.Read(since, options_.page_events);
    if (page.ok() && !page->empty() && page->front().offset != sub.cursor()) {
      page = Status::Internal("the log returned offset " + std::to_string(page->front().offset) + " after " +
                              std::to_string(since));
    }
    if (!page.ok()) {
      if (page.status().code() == Code::kGone) {
        sub.Finish(RenderCompacted(since, source_.first_offset()));
        s.compacted.fetch_add(1, std::memory_order_relaxed);
        Metric().compacted.Inc();
      } else {
        spdlog::warn("change stream {}: cannot read the log after offset {}: {}", sub.id(), since,
                     page.status().ToString());
        sub.Finish(RenderError(page.status()));
      }
      return Next::kDrop;
    }
    if (page->empty()) return Next::kToLive;  // caught up with the log
    std::string chunk;
    uint32_t n = 0;
    uint64_t last_id = 0;
    for (const Event& ev : *page) {
      if (!sub.filter().Matches(FieldsOf(ev))) continue;
      chunk += RenderEvent(ev);
      ++n;
      last_id = ev.offset;
    }
    sub.set_cursor(page->back().offset + 1);
    if (n > 0) {
      sub.SendEvents(std::make_shared<const std::string>(std::move(chunk)), n, last_id, now);
      s.events_sent.fetch_add(n, std::memory_order_relaxed);
      Metric().events_sent.Inc(n);
    }
    sub.Heartbeat(now, options_.keepalive);
    return sub.done() ? Next::kDrop : Next::kKeep;
  };

  for (;;) {
    {
      std::unique_lock lk(s.mu);
      auto ready = [&] { return s.stopped || s.catch_up_wake; };
      if (disk_.empty()) {
        s.catch_up_cv.wait(lk, ready);
      } else if (!progress) {
        s.catch_up_cv.wait_for(lk, kDrainPoll, ready);
      }
      if (s.stopped) break;
      s.catch_up_wake = false;
      for (auto& sub : s.to_disk) disk_.push_back(std::move(sub));
      s.to_disk.clear();
    }
    progress = false;
    const auto now = SteadyClock::now();
    size_t keep = 0;
    for (size_t i = 0; i < disk_.size(); ++i) {
      std::shared_ptr<Subscriber>& sub = disk_[i];
      switch (serve(*sub, now)) {
        case Next::kKeep:
        case Next::kBacklog:
        case Next::kToDisk:
          if (keep != i) disk_[keep] = std::move(sub);
          ++keep;
          break;
        case Next::kToLive:
          promoted.push_back(std::move(sub));
          break;
        case Next::kDrop:
          dropped.push_back(sub->id());
          break;
      }
    }
    disk_.resize(keep);
    s.Move(promoted, /*to_dispatcher=*/true, dropped);
  }
}

}  // namespace kissvdb::stream
