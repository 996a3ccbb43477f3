// Engine tests: real WAL files, real LMDB, a manual clock for TTL.
#include "engine_fixture.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <random>
#include <thread>

namespace kissvdb {
namespace {

namespace fs = std::filesystem;

class EngineTest : public EngineFixture {
 protected:
  void Configure(EngineOptions& options) override {
    options.config.ttl_sweep_interval_ms = 20;
    options.config.tx_idempotency_window_ms = 5000;  // keys expire during the determinism run
    options.clock = &clock_;
  }

  // A transaction: a CAS check on `key`, a put of it and of key + "/log";
  // an idempotency key when `idem` is not empty.
  Result<TxOutcome> Transfer(const std::string& key, uint64_t revision, int value, const std::string& idem) {
    TxRequest tx;
    tx.checks.push_back(TxCheck{TxCheck::Kind::kState, "", key, revision});
    TxOp put;
    put.kind = TxOp::Kind::kStatePut;
    put.key = key;
    put.value = value;
    tx.ops.push_back(put);
    put.key = key + "/log";
    tx.ops.push_back(put);
    tx.on_failure = std::vector<TxOp>{put};
    tx.idempotency_key = idem;
    tx.fingerprint = idem.empty() ? "" : "f" + idem;
    return Wait<TxOutcome>([&](auto cb) { engine_->Transact(tx, cb); });
  }

  Result<StatePutResult> Put(const std::string& key, Json value, std::optional<uint64_t> ttl = {},
                             std::optional<uint64_t> if_rev = {}) {
    return Wait<StatePutResult>([&](auto cb) { engine_->PutState(StatePut{key, value, ttl, if_rev}, cb); });
  }
  Result<bool> Delete(const std::string& key) {
    return Wait<bool>([&](auto cb) { engine_->DeleteState(key, cb); });
  }

  ManualClock clock_{1'700'000'000'000};
};

TEST_F(EngineTest, PutGetDeleteRevisions) {
  auto r1 = Put("a", Json{{"x", 1}});
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_EQ(r1->revision, 1u);
  EXPECT_EQ(Put("a", 2)->revision, 2u);
  auto item = engine_->GetState("a");
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(item->value_json, "2");
  EXPECT_EQ(item->revision, 2u);
  EXPECT_EQ(item->expires_at_ms, 0u);
  EXPECT_TRUE(*Delete("a"));
  EXPECT_FALSE(*Delete("a"));
  EXPECT_EQ(engine_->GetState("a").status().code(), Code::kNotFound);
  EXPECT_EQ(Put("a", 3)->revision, 1u) << "revision restarts after delete";
}

TEST_F(EngineTest, CompareAndSet) {
  EXPECT_EQ(Put("k", 1, {}, 5).status().code(), Code::kRevisionMismatch) << "CAS on an absent key fails";
  EXPECT_TRUE(Put("k", 1, {}, 0).ok()) << "if_revision 0 = create only";
  EXPECT_EQ(Put("k", 1, {}, 0).status().code(), Code::kRevisionMismatch);
  auto bad = Put("k", 2, {}, 7);
  EXPECT_EQ(bad.status().code(), Code::kRevisionMismatch);
  EXPECT_NE(bad.status().message().find("current revision is 1"), std::string::npos);
  EXPECT_EQ(Put("k", 2, {}, 1)->revision, 2u);
}

TEST_F(EngineTest, ConcurrentCasHasExactlyOneWinner) {
  ASSERT_TRUE(Put("race", 0).ok());
  constexpr int kThreads = 16;
  std::atomic<int> winners{0}, losers{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto r = Put("race", i, {}, 1);
      (r.ok() ? winners : losers)++;
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), Code::kRevisionMismatch);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(losers.load(), kThreads - 1);
  EXPECT_EQ(engine_->GetState("race")->revision, 2u);
}

TEST_F(EngineTest, TtlHidesThenSweeperLogsExpiry) {
  auto r = Put("t", "v", 1000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->expires_at_ms, clock_.NowMs() + 1000);
  EXPECT_TRUE(engine_->GetState("t").ok());
  clock_.Advance(1000);
  EXPECT_EQ(engine_->GetState("t").status().code(), Code::kNotFound) << "expired keys are never returned";
  EXPECT_TRUE(engine_->ListState("", "", 10)->items.empty());
  // The sweeper logs a state_deleted with reason ttl.
  bool seen = false;
  for (int i = 0; i < 200 && !seen; ++i) {
    auto page = engine_->ReadEvents(0, 100);
    for (const auto& ev : page->events) {
      seen |= ev.type == "state_deleted" && ev.data["reason"] == "ttl" && ev.data["key"] == "t";
    }
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(seen);
}

TEST_F(EngineTest, PutWithoutTtlClearsTtl) {
  ASSERT_TRUE(Put("t", 1, 1000).ok());
  ASSERT_TRUE(Put("t", 2).ok());
  clock_.Advance(5000);
  auto item = engine_->GetState("t");
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(item->expires_at_ms, 0u);
  EXPECT_EQ(item->revision, 2u);
}

TEST_F(EngineTest, PutOnExpiredKeyRestartsRevisionAndLogsExpiryFirst) {
  ASSERT_TRUE(Put("t", 1, 10).ok());
  ASSERT_TRUE(Put("t", 2, 10).ok());
  clock_.Advance(10);
  auto r = Put("t", 3);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->revision, 1u);
  auto page = engine_->ReadEvents(0, 100);
  ASSERT_GE(page->events.size(), 4u);
  size_t n = page->events.size();
  EXPECT_EQ(page->events[n - 2].type, "state_deleted");
  EXPECT_EQ(page->events[n - 1].type, "state_updated");
}

TEST_F(EngineTest, ListInKeyOrderWithPrefixAndAfter) {
  for (const char* k : {"b/2", "a/1", "b/1", "b/3", "c"}) ASSERT_TRUE(Put(k, k).ok());
  auto all = engine_->ListState("b/", "", 10);
  ASSERT_EQ(all->items.size(), 3u);
  EXPECT_EQ(all->items[0].key, "b/1");
  EXPECT_EQ(all->items[2].key, "b/3");
  EXPECT_EQ(all->as_of, 5u) << "the applied offset the listing reflects";
  auto page2 = engine_->ListState("b/", "b/1", 1);
  ASSERT_EQ(page2->items.size(), 1u);
  EXPECT_EQ(page2->items[0].key, "b/2");
  EXPECT_EQ(engine_->GetState("c")->as_of, 5u);
  EXPECT_TRUE(engine_->ListState("b/", "b/3", 10)->items.empty());
}

TEST_F(EngineTest, BatchNonAtomicReportsPerItem) {
  ASSERT_TRUE(Put("x", 1).ok());
  std::vector<StatePut> puts{{"x", 2, {}, 9}, {"y", 1, {}, {}}, {"", 1, {}, {}}};
  auto r = Wait<StateBatchResult>([&](auto cb) { engine_->BatchPutState(puts, false, cb); });
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].status().code(), Code::kRevisionMismatch);
  EXPECT_TRUE((*r)[1].ok());
  EXPECT_EQ((*r)[2].status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(engine_->GetState("y").ok());
}

TEST_F(EngineTest, BatchAtomicIsAllOrNothing) {
  ASSERT_TRUE(Put("x", 1).ok());
  uint64_t before = engine_->Stats().last_offset;
  std::vector<StatePut> puts{{"a", 1, {}, {}}, {"x", 2, {}, 9}};
  auto r = Wait<StateBatchResult>([&](auto cb) { engine_->BatchPutState(puts, true, cb); });
  EXPECT_EQ(r.status().code(), Code::kRevisionMismatch);
  EXPECT_NE(r.status().message().find("operation 1"), std::string::npos);
  EXPECT_EQ(engine_->GetState("a").status().code(), Code::kNotFound);
  EXPECT_EQ(engine_->Stats().last_offset, before) << "nothing logged";
  puts[1].if_revision = 1;
  r = Wait<StateBatchResult>([&](auto cb) { engine_->BatchPutState(puts, true, cb); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(engine_->GetState("a")->revision, 1u);
  EXPECT_EQ(engine_->GetState("x")->revision, 2u);
}

TEST_F(EngineTest, OffsetsAreGlobalAndContiguous) {
  ASSERT_TRUE(Put("a", 1).ok());
  auto ev = Wait<Event>([&](auto cb) { engine_->AppendEvent("order.created", Json{{"n", 1}}, {}, cb); });
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->offset, 2u);
  auto page = engine_->ReadEvents(0, 100);
  ASSERT_EQ(page->events.size(), 2u);
  EXPECT_EQ(page->events[0].offset, 1u);
  EXPECT_EQ(page->events[1].offset, 2u);
  EXPECT_EQ(page->events[1].data["n"], 1);
  EXPECT_EQ(engine_->ReadEvents(1, 100)->events.size(), 1u) << "since is exclusive";
}

TEST_F(EngineTest, AppendWithExpectedOffset) {
  auto first = Wait<Event>([&](auto cb) { engine_->AppendEvent("e", 1, 0, cb); });
  ASSERT_TRUE(first.ok());
  auto stale = Wait<Event>([&](auto cb) { engine_->AppendEvent("e", 2, 0, cb); });
  EXPECT_EQ(stale.status().code(), Code::kConflict);
  EXPECT_TRUE(Wait<Event>([&](auto cb) { engine_->AppendEvent("e", 2, 1, cb); }).ok());
  EXPECT_EQ(Wait<Event>([&](auto cb) { engine_->AppendEvent("state_updated", 1, {}, cb); }).status().code(),
            Code::kInvalidArgument)
      << "built-in types are reserved";
}

TEST_F(EngineTest, StateSurvivesRestart) {
  ASSERT_TRUE(Put("a", "x").ok());
  ASSERT_TRUE(Put("a", "y").ok());
  Reopen();
  auto item = engine_->GetState("a");
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(item->value_json, "\"y\"");
  EXPECT_EQ(item->revision, 2u);
  EXPECT_EQ(Put("b", 1).ok(), true);
  EXPECT_EQ(engine_->Stats().last_offset, 3u);
}

TEST_F(EngineTest, FullReplayIsDeterministic) {
  std::mt19937 rng(42);
  for (int i = 0; i < 500; ++i) {
    std::string key = "k" + std::to_string(rng() % 50);
    switch (rng() % 5) {
      case 0: ASSERT_TRUE(Delete(key).ok()); break;
      case 1: ASSERT_TRUE(Put(key, Json{{"i", i}, {"f", i * 0.1}}, 1 + rng() % 5000).ok()); break;
      case 2: {
        // Transactions, half of them under a key, some retried (replayed).
        auto cur = engine_->GetState(key);
        const std::string idem = rng() % 2 ? "t" + std::to_string(rng() % 100) : "";
        auto out = Transfer(key, cur.ok() ? cur->revision : 0, i, idem);
        ASSERT_TRUE(out.ok()) << out.status().ToString();
        break;
      }
      default: ASSERT_TRUE(Put(key, i).ok()); break;
    }
    if (i % 50 == 0) clock_.Advance(1000);
  }
  // Let the sweeper log every due expiry, then take the digest of a quiet state.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Reopen();
  auto live = engine_->StateDigest();
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  engine_.reset();
  fs::remove(dir_ / "state.lmdb");
  fs::remove(dir_ / "state.lmdb-lock");
  Open();
  EXPECT_EQ(*engine_->StateDigest(), *live) << "a full replay rebuilds byte-identical state";
}

TEST_F(EngineTest, TailReplayAppliesExactlyOnce) {
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(Put("k" + std::to_string(i % 10), i).ok());
  engine_.reset();
  // Keep the state as of offset 100, then write more and restore it: boot
  // must replay exactly offsets 101.. on top of it.
  fs::copy_file(dir_ / "state.lmdb", dir_ / "old.lmdb");
  Open();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(Put("k" + std::to_string(i % 13), i).ok());
  auto expected = engine_->StateDigest();
  engine_.reset();
  fs::rename(dir_ / "old.lmdb", dir_ / "state.lmdb");
  Open();
  EXPECT_EQ(*engine_->StateDigest(), *expected);
  EXPECT_EQ(engine_->GetState("k3")->revision, 18u);
}

TEST_F(EngineTest, RejectsBadKeys) {
  EXPECT_EQ(Put("", 1).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Put(std::string(513, 'k'), 1).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Put("\xff\xfe", 1).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Put("k", 1, 0).status().code(), Code::kInvalidArgument) << "ttl_ms 0";
}

}  // namespace
}  // namespace kissvdb
