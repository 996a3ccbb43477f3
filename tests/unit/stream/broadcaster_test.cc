#include "stream/broadcaster.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "stream_test_util.h"
#include "util/metrics.h"

namespace kissvdb::stream {
namespace {

using namespace std::chrono_literals;
using testing::FakeLog;
using testing::FakeSink;
using testing::Range;
using testing::SseFrame;

BroadcasterOptions FastOptions() {
  BroadcasterOptions o;
  o.min_pass_interval = 1ms;
  o.page_events = 16;
  o.ring_events = 64;
  return o;
}

SubscribeRequest Since(uint64_t since, Filter filter = {}) {
  SubscribeRequest r;
  r.since = since;
  r.filter = std::move(filter);
  return r;
}

// Commits `n` events: durable in the log first, then published (the
// Engine's order).
void Commit(FakeLog& log, Broadcaster& b, size_t n, const std::string& type = "state_updated") {
  b.Publish(log.Append(n, type));
}

auto HasIds(uint64_t last) {
  return [last](const std::vector<SseFrame>& frames) {
    for (const auto& f : frames) {
      if (f.id == last && f.event != "gap") return true;
    }
    return false;
  };
}

// Polls `done` for up to 2 s (what the dispatcher does happens on its thread).
template <typename F>
void Eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
}

TEST(BroadcasterTest, ReplaysTheLogThenTailsWithoutGapOrDuplicate) {
  FakeLog log;
  log.Append(500);  // history older than the broadcaster
  Broadcaster b(log, FastOptions());
  b.Start();
  auto sink = std::make_shared<FakeSink>();
  b.Subscribe(sink, Since(0));
  // Writers commit while the subscriber is still replaying.
  std::thread writer([&] {
    for (int i = 0; i < 100; ++i) {
      Commit(log, b, 5);
      if (i % 10 == 0) std::this_thread::sleep_for(1ms);
    }
  });
  writer.join();
  ASSERT_TRUE(sink->WaitFor(HasIds(1000))) << sink->data().size();
  EXPECT_EQ(sink->ids(), Range(1, 1000));
  EXPECT_FALSE(sink->closed());
  b.Stop();
  EXPECT_TRUE(sink->closed());
}

TEST(BroadcasterTest, ManySubscribersAtManyPositionsSeeExactSequences) {
  FakeLog log;
  log.Append(300);
  Broadcaster b(log, FastOptions());
  b.Start();
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop) {
      Commit(log, b, 3);
      std::this_thread::sleep_for(200us);
    }
  });
  std::vector<std::pair<uint64_t, std::shared_ptr<FakeSink>>> subs;
  for (uint64_t since : {0, 1, 17, 150, 299, 300}) {
    auto sink = std::make_shared<FakeSink>();
    b.Subscribe(sink, Since(since));
    subs.emplace_back(since, sink);
    std::this_thread::sleep_for(2ms);
  }
  std::this_thread::sleep_for(50ms);
  stop = true;
  writer.join();
  const uint64_t last = log.last_offset();
  for (auto& [since, sink] : subs) {
    ASSERT_TRUE(sink->WaitFor(HasIds(last))) << "since " << since;
    EXPECT_EQ(sink->ids(), Range(since + 1, last)) << "since " << since;
  }
}

TEST(BroadcasterTest, FiltersApplyToReplayAndLive) {
  FakeLog log;
  auto data = [](uint64_t i) {
    return i % 2 ? Json{{"key", (i % 3 ? "user:" : "order:") + std::to_string(i)}}
                 : Json{{"collection", i % 4 ? "a" : "b"}, {"id", std::to_string(i)}};
  };
  log.Append(40, "state_updated", data);
  Broadcaster b(log, FastOptions());
  b.Start();
  auto users = std::make_shared<FakeSink>();
  auto coll_b = std::make_shared<FakeSink>();
  auto typed = std::make_shared<FakeSink>();
  b.Subscribe(users, Since(0, Filter("", "user:", "")));
  b.Subscribe(coll_b, Since(0, Filter("", "", "b")));
  b.Subscribe(typed, Since(0, Filter("vector_added", "", "b")));
  b.Publish(log.Append(40, "vector_added", data));
  const uint64_t last = log.last_offset();
  std::vector<uint64_t> want_users, want_b, want_typed;
  for (uint64_t i = 1; i <= last; ++i) {
    if (i % 2 && i % 3) want_users.push_back(i);
    if (i % 2 == 0 && i % 4 == 0) {
      want_b.push_back(i);
      if (i > 40) want_typed.push_back(i);
    }
  }
  ASSERT_TRUE(users->WaitFor(HasIds(want_users.back())));
  ASSERT_TRUE(coll_b->WaitFor(HasIds(want_b.back())));
  ASSERT_TRUE(typed->WaitFor(HasIds(want_typed.back())));
  EXPECT_EQ(users->ids(), want_users);
  EXPECT_EQ(coll_b->ids(), want_b);
  EXPECT_EQ(typed->ids(), want_typed);
}

TEST(BroadcasterTest, SinceNowStartsAtTheTail) {
  FakeLog log;
  log.Append(10);
  Broadcaster b(log, FastOptions());
  b.Start();
  auto sink = std::make_shared<FakeSink>();
  b.Subscribe(sink, Since(log.last_offset()));
  Commit(log, b, 3);
  ASSERT_TRUE(sink->WaitFor(HasIds(13)));
  EXPECT_EQ(sink->ids(), Range(11, 13));
}

TEST(BroadcasterTest, SlowLiveConsumerGetsGapWithResumeOffsetAndIsClosed) {
  FakeLog log;
  BroadcasterOptions o = FastOptions();
  o.budget.events = 10;
  o.slow_consumer_grace = 20ms;
  Broadcaster b(log, o);
  b.Start();
  auto slow = std::make_shared<FakeSink>();
  auto fast = std::make_shared<FakeSink>();
  slow->set_stalled(true);
  b.Subscribe(slow, Since(0));
  b.Subscribe(fast, Since(0));
  for (int i = 0; i < 20; ++i) {
    Commit(log, b, 5);
    std::this_thread::sleep_for(3ms);
  }
  ASSERT_TRUE(slow->WaitFor([](const auto& frames) { return !frames.empty() && frames.back().event == "gap"; }))
      << slow->data();
  EXPECT_TRUE(slow->WaitClosed());
  auto frames = slow->frames();
  const SseFrame& gap = frames.back();
  const std::vector<uint64_t> got = slow->ids();
  ASSERT_FALSE(got.empty());
  EXPECT_LE(got.size(), 10u) << "the budget bounds what was queued";
  EXPECT_EQ(got, Range(1, got.size()));
  EXPECT_EQ(gap.json()["resume_since"], got.back());
  EXPECT_EQ(gap.id, got.back());
  EXPECT_EQ(gap.json()["from_offset"], got.back() + 1);
  // The fast subscriber and the writer were not held up.
  ASSERT_TRUE(fast->WaitFor(HasIds(100))) << fast->ids().size() << " last " << (fast->ids().empty() ? 0 : fast->ids().back()) << " stats next " << b.Stats().ring_next;
  EXPECT_EQ(fast->ids(), Range(1, 100));
  EXPECT_EQ(b.Stats().slow_disconnects, 1u);

  // Resuming from the gap's offset catches up from the log: nothing skipped.
  auto again = std::make_shared<FakeSink>();
  b.Subscribe(again, Since(gap.json()["resume_since"].get<uint64_t>()));
  ASSERT_TRUE(again->WaitFor(HasIds(100)));
  EXPECT_EQ(again->ids(), Range(got.back() + 1, 100));
}

TEST(BroadcasterTest, ShortStallWithinGraceIsNotCut) {
  FakeLog log;
  BroadcasterOptions o = FastOptions();
  o.budget.events = 10;
  o.slow_consumer_grace = 2s;
  Broadcaster b(log, o);
  b.Start();
  auto sink = std::make_shared<FakeSink>();
  sink->set_stalled(true);
  b.Subscribe(sink, Since(0));
  Commit(log, b, 30);  // one burst larger than the budget
  ASSERT_TRUE(sink->WaitFor(HasIds(10)));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(sink->ids(), Range(1, 10));
  sink->set_stalled(false);  // the client reads again
  ASSERT_TRUE(sink->WaitFor(HasIds(30)));
  EXPECT_EQ(sink->ids(), Range(1, 30));
  EXPECT_FALSE(sink->closed());
}

TEST(BroadcasterTest, ReplayIsPacedByTheClientNotCutOff) {
  FakeLog log;
  log.Append(1000);
  BroadcasterOptions o = FastOptions();
  o.budget.events = 40;
  o.slow_consumer_grace = 10ms;
  Broadcaster b(log, o);
  b.Start();
  auto sink = std::make_shared<FakeSink>();
  sink->set_stalled(true);
  b.Subscribe(sink, Since(0));
  ASSERT_TRUE(sink->WaitFor([](const auto& f) { return f.size() >= 16; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_LE(sink->ids().size(), 40u + 16u) << "reads stop while the client does not drain";
  EXPECT_FALSE(sink->closed());
  sink->set_stalled(false);
  ASSERT_TRUE(sink->WaitFor(HasIds(1000)));
  EXPECT_EQ(sink->ids(), Range(1, 1000));
}

TEST(BroadcasterTest, CompactedOffsetGetsATypedFrame) {
  FakeLog log;
  log.Append(100);
  log.set_first_offset(60);
  Broadcaster b(log, FastOptions());
  b.Start();
  auto sink = std::make_shared<FakeSink>();
  b.Subscribe(sink, Since(10));
  ASSERT_TRUE(sink->WaitFor([](const auto& f) { return !f.empty(); }));
  auto frames = sink->frames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].event, "compacted");
  EXPECT_EQ(frames[0].json()["oldest_available"], 60);
  EXPECT_EQ(frames[0].json()["requested_since"], 10);
  EXPECT_EQ(frames[0].json()["resume_since"], 59);
  EXPECT_TRUE(sink->WaitClosed());
  // since = first - 1 is still complete.
  auto ok = std::make_shared<FakeSink>();
  b.Subscribe(ok, Since(59));
  ASSERT_TRUE(ok->WaitFor(HasIds(100)));
  EXPECT_EQ(ok->ids(), Range(60, 100));
  EXPECT_EQ(b.Stats().compacted, 1u);
}

TEST(BroadcasterTest, ReadErrorEndsTheStreamWithAnErrorFrame) {
  FakeLog log;
  log.Append(5);
  log.set_read_error(Status::IOError("disk on fire"));
  Broadcaster b(log, FastOptions());
  b.Start();
  auto sink = std::make_shared<FakeSink>();
  b.Subscribe(sink, Since(0));
  ASSERT_TRUE(sink->WaitFor([](const auto& f) { return !f.empty(); }));
  EXPECT_EQ(sink->frames()[0].event, "error");
  EXPECT_EQ(sink->frames()[0].json()["error"], "persistence_error");
  EXPECT_TRUE(sink->WaitClosed());
}

TEST(BroadcasterTest, QuietFilteredFeedGetsCheckpoints) {
  FakeLog log;
  BroadcasterOptions o = FastOptions();
  o.checkpoint = 30ms;
  Broadcaster b(log, o);
  b.Start();
  auto sink = std::make_shared<FakeSink>();
  b.Subscribe(sink, Since(0, Filter("nothing_matches", "", "")));
  Commit(log, b, 7);
  ASSERT_TRUE(sink->WaitFor([](const auto& frames) {
    for (const auto& f : frames) {
      if (f.event == "checkpoint" && f.json()["offset"] == 7) return true;
    }
    return false;
  }));
  for (const auto& f : sink->frames()) {
    EXPECT_FALSE(f.id.has_value()) << "checkpoints carry no id";
  }
  // Nothing new: no more checkpoints.
  const size_t n = sink->frames().size();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(sink->frames().size(), n);
}

TEST(BroadcasterTest, PerSubscriberCheckpointIntervalZeroDisablesThem) {
  FakeLog log;
  BroadcasterOptions o = FastOptions();
  o.checkpoint = 10ms;
  o.keepalive = 10s;
  Broadcaster b(log, o);
  b.Start();
  auto sink = std::make_shared<FakeSink>();
  SubscribeRequest r = Since(0, Filter("nothing_matches", "", ""));
  r.checkpoint = 0ms;
  b.Subscribe(sink, r);
  Commit(log, b, 7);
  std::this_thread::sleep_for(150ms);
  EXPECT_TRUE(sink->frames().empty());
}

TEST(BroadcasterTest, IdleConnectionsGetKeepalives) {
  FakeLog log;
  BroadcasterOptions o = FastOptions();
  o.keepalive = 50ms;
  Broadcaster b(log, o);
  b.Start();
  auto sink = std::make_shared<FakeSink>();
  b.Subscribe(sink, Since(0));
  ASSERT_TRUE(sink->WaitFor([](const auto& frames) { return frames.size() >= 2; }));
  for (const auto& f : sink->frames()) EXPECT_EQ(f.comment, "keepalive");
}

TEST(BroadcasterTest, InboxOverflowFallsBackToTheLog) {
  FakeLog log;
  BroadcasterOptions o = FastOptions();
  o.ring_events = 8;  // the inbox holds at most this many events too
  Broadcaster b(log, o);
  auto sink = std::make_shared<FakeSink>();
  b.Subscribe(sink, Since(0));
  // The dispatcher is not running yet: the inbox overflows and drops batches.
  for (int i = 0; i < 20; ++i) Commit(log, b, 3);
  EXPECT_GT(b.Stats().dropped_batches, 0u);
  b.Start();
  ASSERT_TRUE(sink->WaitFor(HasIds(60)));
  EXPECT_EQ(sink->ids(), Range(1, 60));
}

// Nobody listening: batches are not kept (no copy, no frames), the ring is
// emptied past them, and a later subscriber reads them from the log.
TEST(BroadcasterTest, NobodyListeningKeepsNothingAndLaterSubscribersReadTheLog) {
  FakeLog log;
  BroadcasterOptions o = FastOptions();
  o.ring_linger = 0ms;
  Broadcaster b(log, o);
  b.Start();
  for (int i = 0; i < 20; ++i) Commit(log, b, 5);
  EXPECT_EQ(b.Stats().skipped_batches, 20u);
  Eventually([&] { return b.Stats().ring_first == 101; });
  EXPECT_EQ(b.Stats().ring_first, 101u);  // empty, past the skipped batches
  EXPECT_EQ(b.Stats().ring_next, 101u);
  auto from_start = std::make_shared<FakeSink>();
  auto from_middle = std::make_shared<FakeSink>();
  b.Subscribe(from_start, Since(0));
  b.Subscribe(from_middle, Since(57));
  Commit(log, b, 5);  // someone listens now: kept
  EXPECT_EQ(b.Stats().skipped_batches, 20u);
  ASSERT_TRUE(from_start->WaitFor(HasIds(105)));
  ASSERT_TRUE(from_middle->WaitFor(HasIds(105)));
  EXPECT_EQ(from_start->ids(), Range(1, 105));
  EXPECT_EQ(from_middle->ids(), Range(58, 105));
}

// Subscribers come and go while a writer commits: whether a batch was kept
// or skipped when it was published, each sees its exact sequence.
TEST(BroadcasterTest, SubscribersComingAndGoingAcrossSkippedBatchesSeeExactSequences) {
  FakeLog log;
  BroadcasterOptions o = FastOptions();
  o.ring_linger = 0ms;
  Broadcaster b(log, o);
  b.Start();
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop) {
      Commit(log, b, 2);
      std::this_thread::sleep_for(100us);
    }
  });
  for (int round = 0; round < 30; ++round) {
    auto sink = std::make_shared<FakeSink>();
    const uint64_t since = log.last_offset() - (round % 3 == 0 ? 0 : std::min<uint64_t>(log.last_offset(), 7));
    b.Subscribe(sink, Since(since));
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + round % 4));
    const uint64_t until = std::max(log.last_offset(), since + 1);  // the writer may not have run yet
    if (!sink->WaitFor(HasIds(until))) {
      ADD_FAILURE() << "round " << round << ": " << sink->ids().size() << " events after " << since;
      break;
    }
    auto ids = sink->ids();
    ids.resize(until - since);
    EXPECT_EQ(ids, Range(since + 1, until)) << "round " << round;
    sink->Close();  // nobody listens until the next round
    std::this_thread::sleep_for(std::chrono::milliseconds(round % 3));
  }
  stop = true;
  writer.join();
  EXPECT_GT(b.Stats().skipped_batches, 0u);
}

// A subscriber that left moments ago keeps the ring alive for ring_linger,
// so a reconnect resumes from memory.
TEST(BroadcasterTest, TheRingLingersAfterTheLastSubscriberLeaves) {
  FakeLog log;
  BroadcasterOptions o = FastOptions();
  o.ring_linger = 10s;
  Broadcaster b(log, o);
  b.Start();
  Commit(log, b, 3);
  EXPECT_EQ(b.Stats().skipped_batches, 1u);  // nobody ever listened
  auto sink = std::make_shared<FakeSink>();
  b.Subscribe(sink, Since(3));
  Commit(log, b, 3);
  ASSERT_TRUE(sink->WaitFor(HasIds(6)));
  sink->Close();
  Commit(log, b, 3);
  EXPECT_EQ(b.Stats().skipped_batches, 1u);
  Eventually([&] { return b.Stats().ring_next == 10; });
  EXPECT_EQ(b.Stats().ring_first, 4u);
  EXPECT_EQ(b.Stats().ring_next, 10u);
}

TEST(BroadcasterTest, ClientCloseUnsubscribesAndUpdatesTheGauge) {
  Gauge& clients = Metrics::Global().gauge("sse_clients");
  const int64_t before = clients.value();
  FakeLog log;
  Broadcaster b(log, FastOptions());
  b.Start();
  auto a = std::make_shared<FakeSink>();
  auto c = std::make_shared<FakeSink>();
  b.Subscribe(a, Since(0));
  b.Subscribe(c, Since(0));
  EXPECT_EQ(b.Stats().subscribers, 2u);
  EXPECT_EQ(clients.value(), before + 2);
  a->Close();
  EXPECT_EQ(b.Stats().subscribers, 1u);
  Commit(log, b, 2);
  ASSERT_TRUE(c->WaitFor(HasIds(2)));
  Eventually([&] { return clients.value() == before + 1; });
  EXPECT_EQ(clients.value(), before + 1);
  b.Stop();
  EXPECT_EQ(clients.value(), before);
}

TEST(BroadcasterTest, StopClosesStreamsAndIgnoresLaterCalls) {
  FakeLog log;
  auto b = std::make_unique<Broadcaster>(log, FastOptions());
  auto listener = b->Listener();
  b->Start();
  auto sink = std::make_shared<FakeSink>();
  b->Subscribe(sink, Since(0));
  b->Stop();
  EXPECT_TRUE(sink->closed());
  auto late = std::make_shared<FakeSink>();
  EXPECT_EQ(b->Subscribe(late, Since(0)), 0u);
  EXPECT_TRUE(late->closed());
  b.reset();
  listener(log.Append(3));  // the listener outlives the broadcaster harmlessly
}

TEST(BroadcasterTest, PassesWaitForBusyConnectionsToDrain) {
  FakeLog log;
  BroadcasterOptions o = FastOptions();
  o.ring_events = 4096;
  o.max_pass_interval = 30ms;
  Broadcaster b(log, o);
  b.Start();
  // 16 connections whose writes each take 25 ms (busy io threads).
  std::vector<std::shared_ptr<FakeSink>> sinks;
  for (int i = 0; i < 16; ++i) {
    sinks.push_back(std::make_shared<FakeSink>());
    sinks.back()->set_write_delay(25ms);
    b.Subscribe(sinks.back(), Since(0));
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 300; ++i) {
    Commit(log, b, 1);
    std::this_thread::sleep_for(1ms);
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  for (auto& sink : sinks) {
    ASSERT_TRUE(sink->WaitFor(HasIds(300)));
    EXPECT_EQ(sink->ids(), Range(1, 300));
    // Without the wait there would be a chunk per event or per 1 ms pass.
    EXPECT_LE(static_cast<double>(sink->sends()), ms / 25.0 + 5) << "over " << ms << " ms";
  }
}

TEST(BroadcasterTest, EqualFiltersShareChunksButKeepTheirOwnBudgets) {
  FakeLog log;
  BroadcasterOptions o = FastOptions();
  o.budget.events = 5;
  o.slow_consumer_grace = 10s;
  Broadcaster b(log, o);
  b.Start();
  std::vector<std::shared_ptr<FakeSink>> sinks;
  for (int i = 0; i < 8; ++i) {
    sinks.push_back(std::make_shared<FakeSink>());
    if (i == 3) sinks.back()->set_stalled(true);
    b.Subscribe(sinks.back(), Since(0, Filter("state_updated", "", "")));
  }
  Commit(log, b, 4);
  Commit(log, b, 4);
  for (int i = 0; i < 8; ++i) {
    if (i == 3) continue;
    ASSERT_TRUE(sinks[i]->WaitFor(HasIds(8)));
    EXPECT_EQ(sinks[i]->ids(), Range(1, 8));
  }
  EXPECT_EQ(sinks[3]->ids(), Range(1, 5));
  sinks[3]->set_stalled(false);
  Commit(log, b, 1);
  ASSERT_TRUE(sinks[3]->WaitFor(HasIds(9)));
  EXPECT_EQ(sinks[3]->ids(), Range(1, 9));
}

}  // namespace
}  // namespace kissvdb::stream
