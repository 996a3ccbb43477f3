// history_retention: the horizon each setting gives, background pruning
// that keeps every answer at or above the horizon, `off`, and pruning
// racing reads (docs/history.md, "Retention"). Real WAL and LMDB.
#include "engine_fixture.h"

#include <lmdb.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "kv/lmdb.h"

namespace kissvdb {
namespace {

using namespace std::chrono_literals;

class HistoryRetentionTest : public EngineFixture {
 protected:
  void Configure(EngineOptions& options) override {
    options.config.ttl_sweep_interval_ms = 10;  // background rounds, so pruning, every 10 ms
    options.config.durability = Durability::kNone;
    options.config.history_retention = retention_;
    options.clock = &clock_;
  }

  // Puts (or deletes, value nullopt) `key` and records it in the model.
  void Write(const std::string& key, std::optional<int> value) {
    if (value) {
      auto r = Wait<StatePutResult>([&](auto cb) { engine_->PutState(StatePut{key, *value, {}, {}}, cb); });
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    } else {
      auto r = Wait<bool>([&](auto cb) { engine_->DeleteState(key, cb); });
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      if (!*r) return;  // nothing was logged
    }
    const uint64_t offset = engine_->Stats().last_offset;
    model_[key][offset] = value;
  }

  // The value of `key` right after `at`, by the model.
  std::optional<int> ModelAt(const std::string& key, uint64_t at) const {
    auto it = model_.find(key);
    if (it == model_.end()) return std::nullopt;
    auto v = it->second.upper_bound(at);
    if (v == it->second.begin()) return std::nullopt;
    return std::prev(v)->second;
  }

  // Versions the pruner must leave for horizon h: all at or after it, and
  // per key the newest before it when that one is a put.
  uint64_t ExpectedVersions(uint64_t h) const {
    uint64_t n = 0;
    for (const auto& [key, versions] : model_) {
      auto first_kept = versions.lower_bound(h);
      n += std::distance(first_kept, versions.end());
      if (first_kept != versions.begin() && std::prev(first_kept)->second.has_value()) ++n;
    }
    return n;
  }

  // Waits until the stats say pruning reached `horizon` and left exactly
  // the versions it must.
  void WaitForPruning(uint64_t horizon) {
    const auto give_up = std::chrono::steady_clock::now() + 60s;
    HistoryStats s;
    while (std::chrono::steady_clock::now() < give_up) {
      s = engine_->HistoryUsage();
      if (s.horizon == horizon && s.versions == ExpectedVersions(horizon)) return;
      std::this_thread::sleep_for(5ms);
    }
    FAIL() << "pruning did not reach horizon " << horizon << ": at " << s.horizon << " with " << s.versions
           << " versions, " << ExpectedVersions(horizon) << " expected";
  }

  // Every read at [horizon, last] equals the model; below it, 410.
  void CheckReads(uint64_t horizon, uint64_t last) {
    for (uint64_t at = 1; at <= last; ++at) {
      for (const auto& [key, versions] : model_) {
        auto got = engine_->GetStateAt(key, at);
        if (at < horizon) {
          ASSERT_EQ(got.status().code(), Code::kGone) << key << " at " << at;
          continue;
        }
        std::optional<int> want = ModelAt(key, at);
        if (!want) {
          ASSERT_EQ(got.status().code(), Code::kNotFound) << key << " at " << at;
        } else {
          ASSERT_TRUE(got.ok()) << key << " at " << at << ": " << got.status().ToString();
          ASSERT_EQ(got->value_json, std::to_string(*want)) << key << " at " << at;
        }
      }
    }
  }

  void RandomWrites(int n, std::mt19937& rng) {
    for (int i = 0; i < n; ++i) {
      const std::string key = "k" + std::to_string(rng() % 12);
      if (rng() % 5 == 0) {
        Write(key, std::nullopt);
      } else {
        Write(key, static_cast<int>(rng() % 1000));
      }
    }
  }

  HistoryRetention retention_;
  ManualClock clock_{1'700'000'000'000};
  std::map<std::string, std::map<uint64_t, std::optional<int>>> model_;
};

TEST_F(HistoryRetentionTest, ByOffsetsPrunesToTheLastNAndKeepsEveryAnswerAboveIt) {
  retention_ = {HistoryRetention::Kind::kOffsets, 100};
  Reopen();
  std::mt19937 rng(7);
  RandomWrites(600, rng);
  const uint64_t last = engine_->Stats().last_offset;
  WaitForPruning(last - 99);
  CheckReads(last - 99, last);
  EXPECT_GT(engine_->HistoryUsage().pruned, 0u);
  auto below = engine_->GetStateAt("k1", last - 100);
  EXPECT_EQ(below.status().code(), Code::kGone);
  EXPECT_EQ(*engine_->HistoryHorizon(), last - 99);

  // The horizon and the pruning survive a restart; more writes move it on.
  Reopen();
  RandomWrites(150, rng);
  const uint64_t later = engine_->Stats().last_offset;
  WaitForPruning(later - 99);
  CheckReads(later - 99, later);
}

TEST_F(HistoryRetentionTest, ByDurationKeepsTheEventsOfTheWindow) {
  retention_ = {HistoryRetention::Kind::kDuration, 10'000};
  Reopen();
  std::mt19937 rng(11);
  RandomWrites(100, rng);
  clock_.Advance(6'000);
  const uint64_t second = engine_->Stats().last_offset + 1;
  RandomWrites(100, rng);
  clock_.Advance(6'000);  // the first 100 are now 12 s old, the next 6 s
  const uint64_t third = engine_->Stats().last_offset + 1;
  RandomWrites(50, rng);
  WaitForPruning(second);
  CheckReads(second, engine_->Stats().last_offset);
  clock_.Advance(6'000);  // now the second batch is out of the window too
  WaitForPruning(third);
}

TEST_F(HistoryRetentionTest, LogRetentionKeepsEverythingTheLogHolds) {
  std::mt19937 rng(3);
  RandomWrites(200, rng);
  std::this_thread::sleep_for(50ms);  // several background rounds
  HistoryStats s = engine_->HistoryUsage();
  EXPECT_EQ(s.horizon, 1u);
  EXPECT_EQ(s.versions, ExpectedVersions(1));
  EXPECT_EQ(s.pruned, 0u);
  EXPECT_GT(s.bytes, 0u);
  CheckReads(1, engine_->Stats().last_offset);
}

TEST_F(HistoryRetentionTest, OffWritesNoVersionsAndTurningItOnStartsAfterThem) {
  std::mt19937 rng(5);
  RandomWrites(80, rng);  // with history (the default)
  retention_ = {HistoryRetention::Kind::kOff, 0};
  Reopen();
  // Switching off prunes every version kept so far.
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while (engine_->HistoryUsage().versions != 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(engine_->HistoryUsage().versions, 0u);
  RandomWrites(40, rng);
  EXPECT_EQ(engine_->HistoryUsage().versions, 0u) << "off writes no versions";
  const uint64_t off_last = engine_->Stats().last_offset;
  auto gone = engine_->GetStateAt("k1", off_last);
  EXPECT_EQ(gone.status().code(), Code::kGone) << gone.status().ToString();
  EXPECT_EQ(*engine_->HistoryHorizon(), off_last + 1);
  EXPECT_TRUE(engine_->GetState("k1").ok() || engine_->GetState("k1").status().code() == Code::kNotFound);

  // Back on: the history starts at the applied offset, seeded with the
  // present of every key, so keys last written while it was off read right.
  Write("only-while-off", 77);
  const uint64_t on_at = engine_->Stats().last_offset;
  retention_ = {};
  Reopen();
  EXPECT_EQ(*engine_->HistoryHorizon(), on_at);
  EXPECT_EQ(engine_->GetStateAt("k1", on_at - 1).status().code(), Code::kGone);
  for (const auto& [key, versions] : model_) {
    auto present = engine_->GetState(key);
    auto then = engine_->GetStateAt(key, on_at);
    ASSERT_EQ(present.ok(), then.ok()) << key << ": " << then.status().ToString();
    if (present.ok()) {
      EXPECT_EQ(then->value_json, present->value_json) << key;
    }
  }
  EXPECT_EQ(engine_->GetStateAt("only-while-off", on_at)->value_json, "77");
  for (int i = 0; i < 12; ++i) Write("k" + std::to_string(i), 5000 + i);
  for (int i = 0; i < 12; ++i) {
    auto got = engine_->GetStateAt("k" + std::to_string(i), engine_->Stats().last_offset);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->value_json, std::to_string(5000 + i));
  }
  auto first = engine_->GetStateAt("k0", on_at + 1);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->value_json, "5000");
  EXPECT_EQ(engine_->GetStateAt("only-while-off", engine_->Stats().last_offset)->value_json, "77");
  EXPECT_EQ(engine_->HistoryUsage().doc_horizon, on_at);
}

// A directory written by a build without history: its first start seeds
// both tables with the present at the applied offset, so reads there and
// after are right for items not written since.
TEST_F(HistoryRetentionTest, AnUpgradedDirectoryStartsItsHistoryWithThePresent) {
  std::mt19937 rng(9);
  RandomWrites(60, rng);
  auto doc = Wait<DocItem>([&](auto cb) { engine_->PutDoc(DocPut{"c", "d1", Json{{"t", "x"}}, {}}, cb); });
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  const uint64_t applied = engine_->Stats().last_offset;
  engine_.reset();
  {  // what an older build left: no history tables at all
    kv::LmdbEnv::Options o;
    o.path = (dir_ / "state.lmdb").string();
    auto env = kv::LmdbEnv::Open(o);
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    auto txn = kv::Txn::Begin(**env, /*read_only=*/false);
    ASSERT_TRUE(txn.ok());
    for (const char* name : {"state_versions", "state_heads_deleted", "doc_versions", "doc_heads_deleted"}) {
      auto dbi = txn->OpenDb(name);
      ASSERT_TRUE(dbi.ok());
      ASSERT_EQ(mdb_drop(txn->get(), *dbi, 1), 0);
    }
    ASSERT_TRUE(txn->Commit().ok());
  }
  Open();
  EXPECT_EQ(*engine_->HistoryHorizon(), applied);
  EXPECT_EQ(*engine_->DocHistoryHorizon(), applied);
  EXPECT_EQ(engine_->GetStateAt("k1", applied - 1).status().code(), Code::kGone);
  for (const auto& [key, versions] : model_) {
    std::optional<int> want = ModelAt(key, applied);
    auto got = engine_->GetStateAt(key, applied);
    if (!want) {
      EXPECT_EQ(got.status().code(), Code::kNotFound) << key;
    } else {
      ASSERT_TRUE(got.ok()) << key << ": " << got.status().ToString();
      EXPECT_EQ(got->value_json, std::to_string(*want)) << key;
    }
  }
  auto d = engine_->GetDocAt("c", "d1", applied);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(Json::parse(d->doc_json), (Json{{"t", "x"}}));
  // Writes go on from there.
  RandomWrites(30, rng);
  CheckReads(applied, engine_->Stats().last_offset);
}

// A pass prunes in batches of about 4,096 versions. A key deleted long ago
// whose put falls in one batch and whose deletion in a later one loses its
// heads with the first batch; the later batch must still take the deletion.
TEST_F(HistoryRetentionTest, PruningInBatchesLeavesNothingOfAKeyDeletedLongAgo) {
  retention_ = {HistoryRetention::Kind::kOffsets, 100};
  Reopen();
  Write("gone", 1);
  // Keys written once: each keeps its one version, so a pass past them
  // walks more than one batch.
  for (int i = 0; i < 5000; ++i) Write("u" + std::to_string(i), i);
  Write("gone", std::nullopt);
  for (int i = 0; i < 300; ++i) Write("k" + std::to_string(i % 40), i);
  const uint64_t last = engine_->Stats().last_offset;
  WaitForPruning(last - 99);
  auto versions = engine_->GetStateHistory("gone", 0, 10);
  ASSERT_TRUE(versions.ok());
  EXPECT_TRUE(versions->versions.empty());
}

// Readers at offsets around the moving horizon while a writer pushes it on
// and the pruner deletes: every answer is the model's or 410.
TEST_F(HistoryRetentionTest, PruningRacingReadsAnswersRightOrGone) {
  retention_ = {HistoryRetention::Kind::kOffsets, 40};
  Reopen();
  constexpr int kKeys = 6;
  constexpr int kWrites = 3000;
  // The model, filled by the writer before it publishes `published`.
  std::vector<std::vector<std::pair<uint64_t, int>>> versions(kKeys);
  std::vector<std::mutex> mu(kKeys);
  std::atomic<uint64_t> published{0};
  std::atomic<bool> done{false};
  std::atomic<uint64_t> right{0}, gone{0};
  std::thread writer([&] {
    for (int i = 0; i < kWrites; ++i) {
      const int k = i % kKeys;
      auto r = Wait<StatePutResult>(
          [&](auto cb) { engine_->PutState(StatePut{"r" + std::to_string(k), i, {}, {}}, cb); });
      if (!r.ok()) break;
      const uint64_t offset = engine_->Stats().last_offset;
      {
        std::lock_guard lk(mu[k]);
        versions[k].emplace_back(offset, i);
      }
      published = offset;
    }
    done = true;
  });
  std::vector<std::string> failures;
  std::mutex failures_mu;
  auto reader = [&](uint32_t seed) {
    std::mt19937 rng(seed);
    while (!done) {
      const uint64_t last = published.load();
      if (last < 50) continue;
      const uint64_t horizon = engine_->HistoryUsage().horizon;
      // Around the horizon: just below, at, just above.
      const int64_t near = static_cast<int64_t>(horizon) + static_cast<int64_t>(rng() % 7) - 3;
      const uint64_t at = static_cast<uint64_t>(std::clamp<int64_t>(near, 1, static_cast<int64_t>(last)));
      const int k = static_cast<int>(rng() % kKeys);
      std::optional<int> want;
      {
        std::lock_guard lk(mu[k]);
        for (const auto& [offset, value] : versions[k]) {
          if (offset <= at) want = value;
        }
      }
      auto got = engine_->GetStateAt("r" + std::to_string(k), at);
      std::string bad;
      if (got.status().code() == Code::kGone) {
        ++gone;
      } else if (want && got.ok() && got->value_json == std::to_string(*want)) {
        ++right;
      } else if (!want && got.status().code() == Code::kNotFound) {
        ++right;
      } else {
        bad = "r" + std::to_string(k) + " at " + std::to_string(at) + ": " +
              (got.ok() ? got->value_json : got.status().ToString()) + ", want " +
              (want ? std::to_string(*want) : "absent");
      }
      if (!bad.empty()) {
        std::lock_guard lk(failures_mu);
        failures.push_back(bad);
      }
    }
  };
  std::thread r1(reader, 1), r2(reader, 2);
  writer.join();
  r1.join();
  r2.join();
  ASSERT_TRUE(failures.empty()) << failures.size() << " wrong answers, first: " << failures.front();
  EXPECT_GT(right.load(), 0u);
  EXPECT_GT(engine_->HistoryUsage().pruned, 0u) << "the pruner ran during the test";
  RecordProperty("right", std::to_string(right.load()));
  RecordProperty("gone", std::to_string(gone.load()));
}

}  // namespace
}  // namespace kissvdb
