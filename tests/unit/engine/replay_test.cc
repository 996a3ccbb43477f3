// The boot replay (engine/replay.h): real WAL files and LMDB. A log of many
// chunks (KV puts read from their bytes, sorted per run, between events that
// are parsed) rebuilds exactly the state the commit thread built, from
// offset 0 or from where state.lmdb stopped; a record a store cannot apply
// stops the replay with an error, whatever the reader thread is doing.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "engine/wal/log.h"
#include "engine_fixture.h"
#include "kissvdb/clock.h"

namespace kissvdb {
namespace {

namespace fs = std::filesystem;

class ReplayTest : public EngineFixture {
 protected:
  void Configure(EngineOptions& options) override {
    options.config.ttl_sweep_interval_ms = 20;
    options.clock = &clock_;
  }

  // `n` KV events in batches of 250 (some keys escaped, so their records go
  // through the parser in the middle of a run of puts; some with a TTL,
  // some values of 40 KB so that chunks also end by size), with deletes
  // and user events between the batches.
  void Write(std::mt19937& rng, int n) {
    for (int done = 0; done < n; done += 250) {
      std::vector<StatePut> puts;
      for (int i = 0; i < 250; ++i) {
        const uint32_t k = rng() % 3000;
        StatePut p;
        p.key = (k % 97 == 0 ? "q\"" : "k") + std::to_string(k);
        switch (rng() % 6) {
          case 0: p.value = Json{{"i", done + i}, {"s", "x\ny"}}; break;
          case 1: p.value = std::string(k % 7 == 0 ? 40000 : 10, 'v'); break;
          default: p.value = done + i; break;
        }
        if (rng() % 4 == 0) p.ttl_ms = 1 + rng() % 20000;
        puts.push_back(std::move(p));
      }
      auto r = Wait<StateBatchResult>([&](auto cb) { engine_->BatchPutState(std::move(puts), false, cb); });
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      for (int d = 0; d < 3; ++d) {
        ASSERT_TRUE(Wait<bool>([&](auto cb) { engine_->DeleteState("k" + std::to_string(rng() % 3000), cb); }).ok());
      }
      ASSERT_TRUE(Wait<Event>([&](auto cb) { engine_->AppendEvent("note", Json{{"n", done}}, {}, cb); }).ok());
      clock_.Advance(1000);  // some TTLs run out; the sweeper logs their expiry
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }

  std::string Digest() {
    auto d = engine_->StateDigest();
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : "";
  }

  void RemoveState() {
    fs::remove(dir_ / "state.lmdb");
    fs::remove(dir_ / "state.lmdb-lock");
  }

  ManualClock clock_{1'700'000'000'000};
};

TEST_F(ReplayTest, ManyChunksReplayIntoTheStateTheCommitThreadBuilt) {
  std::mt19937 rng(7);
  Write(rng, 30000);
  Reopen();
  const std::string live = Digest();
  const uint64_t last = engine_->Stats().last_offset;
  ASSERT_GT(last, 30000u);
  auto k5 = engine_->GetState("k5");
  engine_.reset();
  RemoveState();
  Open();
  EXPECT_EQ(Digest(), live) << "a full replay rebuilds the same state, history included";
  EXPECT_EQ(engine_->Stats().last_offset, last);
  auto again = engine_->GetState("k5");
  ASSERT_EQ(again.ok(), k5.ok());
  if (k5.ok()) {
    EXPECT_EQ(again->value_json, k5->value_json);
    EXPECT_EQ(again->revision, k5->revision);
  }
}

TEST_F(ReplayTest, AStateBehindTheLogReplaysOnlyTheTail) {
  std::mt19937 rng(11);
  Write(rng, 12000);
  engine_.reset();  // checkpointed: state.lmdb holds everything so far
  const fs::path old_state = dir_ / "old-state.lmdb";
  fs::copy_file(dir_ / "state.lmdb", old_state);
  Open();
  Write(rng, 20000);
  Reopen();
  const std::string live = Digest();
  engine_.reset();
  RemoveState();
  fs::copy_file(old_state, dir_ / "state.lmdb");
  Open();
  EXPECT_EQ(Digest(), live) << "the events past the old state's offset, and only those, are applied";
}

TEST_F(ReplayTest, ARecordNoStoreCanApplyStopsTheReplay) {
  std::mt19937 rng(3);
  Write(rng, 500);
  const uint64_t before = engine_->Stats().last_offset;
  engine_.reset();
  {
    // A record that passes its checksum but that the state store cannot
    // apply (a deletion without a key), then enough puts behind it that the
    // reader thread is chunks ahead when the applier meets it.
    wal::LogOptions options;
    options.dir = dir_.string();
    wal::RecoveryReport report;
    auto log = wal::Log::Open(options, &report);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    std::vector<Event> events;
    Event bad;
    bad.offset = (*log)->next_offset();
    bad.type = event_type::kStateDeleted;
    bad.data = Json::object();
    events.push_back(bad);
    for (int i = 0; i < 40000; ++i) {
      Event ev;
      ev.offset = bad.offset + 1 + i;
      ev.type = event_type::kStateUpdated;
      ev.data = Json{{"expires_at_ms", nullptr}, {"key", "z" + std::to_string(i)}, {"revision", 1}, {"value", i}};
      events.push_back(std::move(ev));
    }
    ASSERT_TRUE((*log)->Append(events).ok());
    ASSERT_TRUE((*log)->Sync().ok());
  }
  RemoveState();
  EngineOptions options;
  options.config.data_dir = dir_.string();
  Configure(options);
  auto e = Engine::Open(options);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), Code::kCorruption) << e.status().ToString();
  EXPECT_NE(e.status().message().find("event " + std::to_string(before + 1)), std::string::npos)
      << e.status().ToString();
}

}  // namespace
}  // namespace kissvdb
