// Bank transfers through POST /v1/tx: clients move amounts between KV
// balances, each transfer guarded by checks on both balances' revisions and
// recorded by a document and a user event in the same transaction.
//
// - Concurrent clients: the total is the same at every offset of the log
//   (replayed from /v1/log, checked at every transaction boundary).
// - The same under repeated kill -9 of the server, with idempotent retries:
//   a client whose answer was lost resends the same request (same
//   idempotency key) until it gets one. No transfer is applied twice, none
//   that was acknowledged is lost.
//
// KISSVDB_CRASH_CYCLES sets the kill cycles (default 6).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "test_client.h"

namespace kissvdb::testing {
namespace {

using nlohmann::json;

constexpr int kAccounts = 8;
constexpr int64_t kInitial = 1000;
constexpr int kClients = 6;

std::string Account(int i) { return "acct-" + std::to_string(i); }

// Transfers acknowledged so far, by every client (the killer waits for some).
std::atomic<size_t> g_acks{0};

struct BankClient {
  int id = 0;
  uint64_t seq = 0;
  std::optional<json> pending;  // sent; the answer was lost (or not read yet)
  std::set<std::string> acked;  // idempotency keys of acknowledged transfers
  std::mt19937 rng;
  int conflicts = 0;
  int replayed = 0;  // retries answered with the first commit's result
};

// One client until `stop` or the server stops answering. Returns false on a
// response the test did not expect (reported through gtest).
void RunClient(BankClient& bc, uint16_t port, const std::string& token, const std::atomic<bool>& stop,
               int max_transfers) {
  HttpClient c(port, token);
  c.set_timeout(std::chrono::seconds(5));
  while (!stop || bc.pending) {
    if (!bc.pending) {
      if (static_cast<int>(bc.acked.size()) >= max_transfers) return;
      const int a = static_cast<int>(bc.rng() % kAccounts);
      const int b = (a + 1 + static_cast<int>(bc.rng() % (kAccounts - 1))) % kAccounts;
      HttpResponse ra = c.Get("/v1/state/" + Account(a));
      HttpResponse rb = c.Get("/v1/state/" + Account(b));
      if (ra.status == 0 || rb.status == 0) return;  // the server died
      ASSERT_EQ(ra.status, 200) << ra.body;
      ASSERT_EQ(rb.status, 200) << rb.body;
      const int64_t amount = 1 + static_cast<int64_t>(bc.rng() % 40);
      const int64_t from = ra.json["value"].get<int64_t>(), to = rb.json["value"].get<int64_t>();
      if (from < amount) continue;
      const std::string key = "c" + std::to_string(bc.id) + "-" + std::to_string(bc.seq);
      bc.pending = json{
          {"checks", {{{"state", Account(a)}, {"revision", ra.json["revision"]}},
                      {{"state", Account(b)}, {"revision", rb.json["revision"]}}}},
          {"ops", {{{"state_put", {{"key", Account(a)}, {"value", from - amount}}}},
                   {{"state_put", {{"key", Account(b)}, {"value", to + amount}}}},
                   {{"doc_put", {{"collection", "transfers"}, {"id", key},
                                 {"doc", {{"from", a}, {"to", b}, {"amount", amount}}}}}},
                   {{"event_append", {{"type", "transfer"}, {"data", {{"key", key}, {"amount", amount}}}}}}}},
          {"idempotency_key", key}};
    }
    HttpResponse r = c.Post("/v1/tx", *bc.pending);
    if (r.status == 0) return;  // in doubt: resent after the restart
    if (r.status == 409 && r.json.contains("failed_check")) {
      // A balance moved since it was read: nothing applied; read again.
      ++bc.conflicts;
      bc.pending.reset();
      continue;
    }
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(r.json["succeeded"], true) << r.body;
    if (r.json["replayed"] == true) ++bc.replayed;
    const std::string key = (*bc.pending)["idempotency_key"];
    EXPECT_TRUE(bc.acked.insert(key).second) << "acknowledged twice: " << key;
    ++g_acks;
    bc.pending.reset();
    ++bc.seq;
  }
}

class TxBankTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start()) << server_.output();
    json ops = json::array();
    for (int i = 0; i < kAccounts; ++i) ops.push_back({{"state_put", {{"key", Account(i)}, {"value", kInitial}}}});
    HttpResponse r = server_.Client()->Post("/v1/tx", json{{"ops", ops}});
    ASSERT_EQ(r.status, 200) << r.body;
    for (int i = 0; i < kClients; ++i) {
      clients_[i].id = i;
      clients_[i].rng.seed(1234 + i);
    }
  }

  // Runs every client until stop (or the server dies).
  void RunAll(std::atomic<bool>& stop, int max_transfers) {
    std::vector<std::thread> threads;
    for (BankClient& bc : clients_) {
      threads.emplace_back([&, port = server_.port()] { RunClient(bc, port, server_.api_key(), stop, max_transfers); });
    }
    for (auto& t : threads) t.join();
  }

  // The whole log, replayed: the total of the balances at every boundary
  // between units; every transfer applied once; each acknowledged one there.
  void CheckLog() {
    auto c = server_.Client();
    std::map<std::string, int64_t> balances;
    std::map<std::string, int> transfer_events;
    std::vector<json> events = AllEvents(*c);
    size_t boundaries = 0;
    for (size_t i = 0; i < events.size(); ++i) {
      const json& e = events[i];
      if (e["type"] == "state_updated") balances[e["data"]["key"]] = e["data"]["value"].get<int64_t>();
      if (e["type"] == "transfer") ++transfer_events[e["data"]["key"]];
      const json tx = e.value("tx", json());
      const bool unit_ends = tx.is_null() || i + 1 == events.size() || events[i + 1].value("tx", json()) != tx;
      if (unit_ends && static_cast<int>(balances.size()) == kAccounts) {
        int64_t total = 0;
        for (const auto& [k, v] : balances) total += v;
        ASSERT_EQ(total, kAccounts * kInitial) << "after offset " << e["offset"];
        ++boundaries;
      }
    }
    EXPECT_GT(boundaries, 10u);
    std::set<std::string> acked;
    for (const BankClient& bc : clients_) acked.insert(bc.acked.begin(), bc.acked.end());
    for (const auto& [key, n] : transfer_events) {
      EXPECT_EQ(n, 1) << key << " applied " << n << " times";
      EXPECT_TRUE(acked.count(key)) << key << " applied but never acknowledged";
    }
    for (const std::string& key : acked) {
      EXPECT_EQ(transfer_events.count(key), 1u) << key << " acknowledged but not in the log";
      HttpResponse doc = c->Get("/v1/doc/transfers/" + key);
      ASSERT_EQ(doc.status, 200) << key;
      EXPECT_EQ(doc.json["revision"], 1) << key;
    }
    int64_t total = 0;
    for (int i = 0; i < kAccounts; ++i) total += c->Get("/v1/state/" + Account(i)).json["value"].get<int64_t>();
    EXPECT_EQ(total, kAccounts * kInitial);
  }

  TestServer server_;
  BankClient clients_[kClients];
};

TEST_F(TxBankTest, ConcurrentTransfersKeepTheTotalAtEveryOffset) {
  std::atomic<bool> stop{false};
  RunAll(stop, 40);
  int conflicts = 0;
  size_t acked = 0;
  for (const BankClient& bc : clients_) {
    conflicts += bc.conflicts;
    acked += bc.acked.size();
  }
  EXPECT_EQ(acked, static_cast<size_t>(kClients * 40));
  // Six clients over eight accounts collide: the checks did their work.
  EXPECT_GT(conflicts, 0);
  CheckLog();
}

TEST_F(TxBankTest, KillNineWithIdempotentRetriesLosesAndDuplicatesNothing) {
  int cycles = 6;
  if (const char* env = std::getenv("KISSVDB_CRASH_CYCLES")) cycles = std::max(1, std::atoi(env));
  std::mt19937 rng(99);
  for (int cycle = 0; cycle < cycles; ++cycle) {
    std::atomic<bool> stop{false};
    std::thread killer([&] {
      // Some progress first (a slow sanitized build on a busy machine may
      // need seconds for it), then a kill at a random moment.
      const size_t start = g_acks.load();
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (g_acks.load() < start + 5 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 300));
      server_.Kill();
      stop = true;
    });
    RunAll(stop, 1 << 30);
    killer.join();
    ASSERT_TRUE(server_.Start()) << server_.output();
  }
  // Settle every request still in doubt, then check.
  std::atomic<bool> stop{true};
  RunAll(stop, 1 << 30);
  for (const BankClient& bc : clients_) EXPECT_FALSE(bc.pending.has_value());
  size_t acked = 0;
  int replayed = 0;
  for (const BankClient& bc : clients_) {
    acked += bc.acked.size();
    replayed += bc.replayed;
  }
  EXPECT_GE(acked, static_cast<size_t>(cycles * 5));
  std::printf("%d cycles: %zu transfers acknowledged, %d of them on a retry that found the first commit\n", cycles,
              acked, replayed);
  CheckLog();
}

}  // namespace
}  // namespace kissvdb::testing
