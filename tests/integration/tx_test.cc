// POST /v1/tx (docs/transactions.md) against a real server: checks, ops
// across every model, on_failure, idempotency keys (also across restarts),
// validation before anything is appended, the unit in the log and the
// stream, a torn tail cut inside a transaction, and readers that never see
// half of one.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "test_client.h"

namespace kissvdb::testing {
namespace {

using nlohmann::json;

json LastOffset(HttpClient& c) { return c.Get("/v1/log?since=0&limit=1").json["last_offset"]; }

// Every event of the log, oldest first.
class TxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start()) << server_.output();
    c_ = server_.Client();
    ASSERT_EQ(c_->Post("/v1/vector/emb", json{{"dim", 3}, {"metric", "cosine"}}).status, 200);
  }

  HttpResponse Tx(const json& body) { return c_->Post("/v1/tx", body); }

  TestServer server_;
  std::unique_ptr<HttpClient> c_;
};

json IssueExample() {
  return json::parse(R"({
    "checks": [{"state": "manifest", "revision": 0}, {"doc": ["docs", "d1"], "revision": 0}],
    "ops": [{"state_put": {"key": "manifest", "value": {"n": 1}}},
            {"doc_put": {"collection": "docs", "id": "d1", "doc": {"title": "hello"}}},
            {"vector_upsert": {"collection": "emb", "items": [{"id": "d1#0", "vector": [1, 0, 0], "meta": {}}]}},
            {"event_append": {"type": "ingested", "data": {"doc": "d1"}}}],
    "idempotency_key": "ingest-d1"})");
}

TEST_F(TxTest, AppliesEveryOpAsOneUnitAndReportsEachResult) {
  const uint64_t before = LastOffset(*c_).get<uint64_t>();
  HttpResponse r = Tx(IssueExample());
  ASSERT_EQ(r.status, 200) << r.body;
  const json& b = r.json;
  EXPECT_EQ(b["succeeded"], true);
  EXPECT_EQ(b["branch"], "ops");
  EXPECT_EQ(b["replayed"], false);
  ASSERT_EQ(b["results"].size(), 4u);
  EXPECT_EQ(b["results"][0]["op"], "state_put");
  EXPECT_EQ(b["results"][0]["revision"], 1);
  EXPECT_EQ(b["results"][1]["revision"], 1);
  EXPECT_EQ(b["results"][2]["upserted"], 1);
  const uint64_t first = b["offset_first"].get<uint64_t>();
  const uint64_t last = b["offset_last"].get<uint64_t>();
  EXPECT_EQ(first, before + 1);
  EXPECT_EQ(b["tx"], first);
  // Each op's events in order, contiguous; the key's marker is the last.
  uint64_t expect = first;
  for (const json& op : b["results"]) {
    for (const json& o : op["offsets"]) EXPECT_EQ(o.get<uint64_t>(), expect++);
  }
  EXPECT_EQ(last, expect);  // the _sys.tx_committed marker

  EXPECT_EQ(c_->Get("/v1/state/manifest").json["value"], json({{"n", 1}}));
  EXPECT_EQ(c_->Get("/v1/doc/docs/d1").json["doc"]["title"], "hello");
  EXPECT_EQ(c_->Get("/v1/vector/emb/get?id=d1%230").status, 200);

  // The log: every event of the unit carries its id.
  std::vector<json> events = AllEvents(*c_);
  size_t in_unit = 0;
  for (const json& e : events) {
    const uint64_t off = e["offset"].get<uint64_t>();
    if (off >= first && off <= last) {
      EXPECT_EQ(e.value("tx", json()), first) << e.dump();
      ++in_unit;
    } else {
      EXPECT_FALSE(e.contains("tx")) << e.dump();
    }
  }
  EXPECT_EQ(in_unit, last - first + 1);
  EXPECT_EQ(events.back()["type"], "_sys.tx_committed");

  // The change stream too, from the middle of the unit on.
  HttpStream s(server_.port(), "/v1/stream?since=" + std::to_string(first + 1), server_.api_key());
  ASSERT_EQ(s.status(), 200);
  const std::string want_last = "\nid: " + std::to_string(last) + "\n";
  ASSERT_TRUE(s.ReadUntil([&](const std::string& d) {
    size_t at = d.find(want_last);
    return at != std::string::npos && d.find("\n\n", at) != std::string::npos;
  }));
  EXPECT_EQ(s.data().find("\nid: " + std::to_string(first) + "\n"), std::string::npos);
  EXPECT_NE(s.data().find("\"tx\":" + std::to_string(first) + "}"), std::string::npos) << s.data();
}

TEST_F(TxTest, AFailedCheckAppliesNothingAndNamesWhatItFound) {
  ASSERT_EQ(c_->Put("/v1/state/a", json{{"value", 5}}).status, 200);
  const json before = LastOffset(*c_);
  HttpResponse r = Tx(json{{"checks", {{{"log", {{"last_offset", before}}}}, {{"state", "a"}, {"revision", 2}}}},
                           {"ops", {{{"state_put", {{"key", "a"}, {"value", 6}}}},
                                    {{"event_append", {{"type", "never"}}}}}}});
  ASSERT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.json["error"], "conflict");
  EXPECT_EQ(r.json["failed_check"]["index"], 1);
  EXPECT_EQ(r.json["failed_check"]["current"]["revision"], 1);
  EXPECT_EQ(r.json["failed_check"]["current"]["value"], 5);
  EXPECT_EQ(LastOffset(*c_), before);
  EXPECT_EQ(c_->Get("/v1/state/a").json["value"], 5);

  // The log check: the log moved past it.
  r = Tx(json{{"checks", {{{"log", {{"last_offset", before.get<uint64_t>() - 1}}}}}},
              {"ops", {{{"state_put", {{"key", "a"}, {"value", 6}}}}}}});
  ASSERT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.json["failed_check"]["current"]["last_offset"], before);

  // Checks on things that do not exist, even in missing collections.
  r = Tx(json{{"checks", {{{"doc", {"nope", "x"}}, {"revision", 0}},
                          {{"vector", {"nope", "x"}}, {"exists", false}},
                          {{"state", "absent"}, {"revision", 0}}}},
              {"ops", {{{"state_put", {{"key", "b"}, {"value", 1}}}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  r = Tx(json{{"checks", {{{"vector", {"nope", "x"}}, {"exists", true}}}},
              {"ops", {{{"state_put", {{"key", "b"}, {"value", 2}}}}}}});
  ASSERT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.json["failed_check"]["current"]["exists"], false);
}

TEST_F(TxTest, OnFailureRunsInsteadOfTheOps) {
  ASSERT_EQ(c_->Put("/v1/state/lock", json{{"value", "held"}}).status, 200);
  HttpResponse r = Tx(json{{"checks", {{{"state", "lock"}, {"revision", 0}}}},
                           {"ops", {{{"state_put", {{"key", "lock"}, {"value", "mine"}}}}}},
                           {"on_failure", {{{"event_append", {{"type", "lock_busy"}, {"data", {{"who", "me"}}}}}},
                                           {{"state_put", {{"key", "waiting"}, {"value", true}}}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["succeeded"], false);
  EXPECT_EQ(r.json["branch"], "on_failure");
  EXPECT_EQ(r.json["failed_check"]["index"], 0);
  EXPECT_EQ(r.json["results"].size(), 2u);
  EXPECT_EQ(c_->Get("/v1/state/lock").json["value"], "held");
  EXPECT_EQ(c_->Get("/v1/state/waiting").json["value"], true);
}

TEST_F(TxTest, InvalidTransactionsAppendNothing) {
  const json before = LastOffset(*c_);
  auto expect_400 = [&](const json& body, const std::string& needle) {
    HttpResponse r = Tx(body);
    EXPECT_EQ(r.status, 400) << body.dump() << " -> " << r.body;
    EXPECT_NE(r.json.value("message", "").find(needle), std::string::npos) << r.body;
    EXPECT_EQ(LastOffset(*c_), before) << body.dump();
  };
  // A dimension mismatch in the third op rejects the whole transaction.
  expect_400(json{{"ops", {{{"state_put", {{"key", "x"}, {"value", 1}}}},
                           {{"doc_put", {{"collection", "docs"}, {"id", "x"}, {"doc", {{"a", 1}}}}}},
                           {{"vector_upsert", {{"collection", "emb"}, {"id", "v"}, {"vector", {1, 2}}}}}}}},
             "ops[2] (vector_upsert)");
  expect_400(json{{"ops", json::array()}}, "ops must not be empty");
  expect_400(json::object(), "ops is required");
  expect_400(json{{"ops", {{{"teleport", json::object()}}}}}, "unknown op");
  expect_400(json{{"ops", {{{"state_put", {{"key", "x"}, {"value", 1}}}, {"doc_put", json::object()}}}}},
             "exactly one member");
  expect_400(json{{"ops", {{{"event_append", {{"type", "state_updated"}}}}}}}, "reserved");
  expect_400(json{{"ops", {{{"state_put", {{"key", ""}, {"value", 1}}}}}}}, "ops[0] (state_put)");
  expect_400(json{{"checks", {{{"color", "red"}}}}, {"ops", {{{"state_put", {{"key", "x"}, {"value", 1}}}}}}},
             "checks[0]");
  expect_400(json{{"ops", {{{"state_put", {{"key", "x"}, {"value", 1}}}}}}, {"extra", 1}}, "unknown field");
  // 10,000 ops: past limits.max_tx_ops.
  json many = json::array();
  for (int i = 0; i < 10000; ++i) many.push_back({{"state_put", {{"key", "k" + std::to_string(i)}, {"value", i}}}});
  expect_400(json{{"ops", many}}, "max_tx_ops");
  // A vector collection that does not exist: 404, nothing appended.
  HttpResponse r = Tx(json{{"ops", {{{"state_put", {{"key", "x"}, {"value", 1}}}},
                                    {{"vector_upsert", {{"collection", "none"}, {"id", "v"}, {"vector", {1, 2, 3}}}}}}}});
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(LastOffset(*c_), before);
  // A failing CAS inside an op: 409 naming the op, nothing appended.
  r = Tx(json{{"ops", {{{"state_put", {{"key", "x"}, {"value", 1}}}},
                       {{"state_put", {{"key", "y"}, {"value", 1}, {"if_revision", 7}}}}}}});
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.json.value("message", "").find("ops[1]"), std::string::npos) << r.body;
  EXPECT_EQ(LastOffset(*c_), before);
  EXPECT_EQ(c_->Get("/v1/state/x").status, 404);
}

TEST_F(TxTest, OpsApplyInOrderEachSeeingTheOnesBefore) {
  // Documented order: a key deleted and then written ends up written (and
  // the other way round, deleted), each op seeing the state the ones
  // before it left.
  ASSERT_EQ(c_->Put("/v1/state/k", json{{"value", 1}}).status, 200);
  HttpResponse r = Tx(json{{"ops", {{{"state_delete", {{"key", "k"}}}},
                                    {{"state_put", {{"key", "k"}, {"value", 2}, {"if_revision", 0}}}},
                                    {{"doc_put", {{"collection", "c"}, {"id", "d"}, {"doc", {{"a", 1}}}}}},
                                    {{"doc_patch", {{"collection", "c"}, {"id", "d"}, {"patch", {{"b", 2}}}}}},
                                    {{"vector_upsert", {{"collection", "emb"}, {"id", "v"}, {"vector", {0, 1, 0}}}}},
                                    {{"vector_delete", {{"collection", "emb"}, {"ids", {"v", "never-there"}}}}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["results"][0]["deleted"], true);
  EXPECT_EQ(r.json["results"][1]["revision"], 1);
  EXPECT_EQ(r.json["results"][3]["revision"], 2);
  EXPECT_EQ(r.json["results"][5]["deleted"], 1);
  EXPECT_EQ(c_->Get("/v1/state/k").json["value"], 2);
  EXPECT_EQ(c_->Get("/v1/doc/c/d").json["doc"], json({{"a", 1}, {"b", 2}}));
  EXPECT_EQ(c_->Get("/v1/vector/emb/get?id=v").status, 404);
}

TEST_F(TxTest, AnIdempotencyKeyMakesARetryReturnTheFirstResultAcrossRestarts) {
  HttpResponse first = Tx(IssueExample());
  ASSERT_EQ(first.status, 200) << first.body;
  const json after = LastOffset(*c_);
  HttpResponse again = Tx(IssueExample());
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json["replayed"], true);
  json a = first.json, b = again.json;
  a.erase("replayed");
  b.erase("replayed");
  EXPECT_EQ(a, b);
  EXPECT_EQ(LastOffset(*c_), after);  // nothing applied twice

  // Another request under the same key is refused.
  json other = IssueExample();
  other["ops"][0]["state_put"]["value"] = json{{"n", 2}};
  HttpResponse reused = Tx(other);
  EXPECT_EQ(reused.status, 409) << reused.body;
  EXPECT_NE(reused.json.value("message", "").find("idempotency_key"), std::string::npos);

  // The keys are derived from the log: still known after kill -9.
  server_.Kill();
  ASSERT_TRUE(server_.Restart()) << server_.output();
  c_ = server_.Client();
  HttpResponse after_crash = Tx(IssueExample());
  ASSERT_EQ(after_crash.status, 200) << after_crash.body;
  EXPECT_EQ(after_crash.json["replayed"], true);
  EXPECT_EQ(LastOffset(*c_), after);
}

TEST(TxWindowTest, AKeyIsForgottenAfterItsWindow) {
  TestServerOptions options;
  options.args = {"--tx-idempotency-window-ms", "300"};
  TestServer server(options);
  ASSERT_TRUE(server.Start()) << server.output();
  auto c = server.Client();
  json tx = {{"ops", {{{"state_put", {{"key", "n"}, {"value", 1}}}}}}, {"idempotency_key", "k1"}};
  ASSERT_EQ(c->Post("/v1/tx", tx).json["replayed"], false);
  ASSERT_EQ(c->Post("/v1/tx", tx).json["replayed"], true);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  HttpResponse r = c->Post("/v1/tx", tx);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["replayed"], false);
  EXPECT_EQ(c->Get("/v1/state/n").json["revision"], 2);
}

TEST_F(TxTest, ATornTailInsideATransactionDropsAllOfIt) {
  ASSERT_EQ(c_->Put("/v1/state/before", json{{"value", 1}}).status, 200);
  HttpResponse r = Tx(json{{"ops", {{{"state_put", {{"key", "t1"}, {"value", 1}}}},
                                    {{"state_put", {{"key", "t2"}, {"value", 2}}}},
                                    {{"doc_put", {{"collection", "c"}, {"id", "d"}, {"doc", {{"a", 1}}}}}},
                                    {{"event_append", {{"type", "done"}}}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  const uint64_t first = r.json["offset_first"].get<uint64_t>();
  ASSERT_EQ(server_.Stop(), 0);

  // Find the records of the transaction in the last segment and cut the
  // file inside its third record, as a crash during the write would.
  std::string seg;
  for (const auto& e : std::filesystem::directory_iterator(server_.data_dir())) {
    const std::string name = e.path().filename().string();
    if (name.rfind("events-", 0) == 0 && e.path().extension() == ".log" && e.path().string() > seg) {
      seg = e.path().string();
    }
  }
  ASSERT_FALSE(seg.empty());
  std::string data;
  {
    std::ifstream in(seg, std::ios::binary);
    data.assign(std::istreambuf_iterator<char>(in), {});
  }
  size_t pos = 32, cut = 0;
  while (pos + 16 <= data.size()) {
    uint32_t len = 0;
    uint64_t offset = 0;
    std::memcpy(&len, data.data() + pos, 4);
    std::memcpy(&offset, data.data() + pos + 8, 8);
    if (len == 0) break;
    if (offset == first + 2) cut = pos + 20;  // inside the third record
    pos += 8 + len;
  }
  ASSERT_GT(cut, 0u);
  std::filesystem::resize_file(seg, cut);
  // The stores had applied the whole transaction (the server acknowledged
  // it); what a crash inside its write leaves is a log without it and
  // stores that never saw it. Remove the derived stores so the restart
  // rebuilds them from what the log holds.
  for (const char* derived : {"state.lmdb", "state.lmdb-lock", "state.lmdb.open", "snapshot.json", "vectors",
                              "text.sqlite", "text.sqlite-wal", "text.sqlite-shm"}) {
    std::filesystem::remove_all(server_.data_dir() + "/" + derived);
  }

  ASSERT_TRUE(server_.Start()) << server_.output();
  c_ = server_.Client();
  EXPECT_EQ(c_->Get("/v1/state/before").status, 200);
  EXPECT_EQ(c_->Get("/v1/state/t1").status, 404);
  EXPECT_EQ(c_->Get("/v1/state/t2").status, 404);
  EXPECT_EQ(c_->Get("/v1/doc/c/d").status, 404);
  EXPECT_EQ(LastOffset(*c_), first - 1);
  EXPECT_NE(server_.output().find("incomplete atomic unit"), std::string::npos) << server_.output();
}

// Readers in parallel with transactions never see part of one: every
// transaction sets keys g/0..3, documents gen/0..2 and vectors a, b to the
// same generation.
TEST_F(TxTest, ReadersNeverSeeHalfATransaction) {
  std::atomic<bool> stop{false};
  std::atomic<int> generations{0};
  std::thread writer([&] {
    auto c = server_.Client();
    for (int g = 1; g <= 150; ++g) {
      json ops = json::array();
      for (int i = 0; i < 4; ++i) ops.push_back({{"state_put", {{"key", "g/" + std::to_string(i)}, {"value", g}}}});
      for (int i = 0; i < 3; ++i) {
        ops.push_back({{"doc_put", {{"collection", "gen"}, {"id", std::to_string(i)}, {"doc", {{"g", g}}}}}});
      }
      ops.push_back({{"vector_upsert", {{"collection", "emb"},
                                        {"items", {{{"id", "a"}, {"vector", {1, 0, 0}}, {"meta", {{"g", g}}}},
                                                   {{"id", "b"}, {"vector", {0, 1, 0}}, {"meta", {{"g", g}}}}}}}}});
      HttpResponse r = c->Post("/v1/tx", json{{"ops", ops}});
      ASSERT_EQ(r.status, 200) << r.body;
      generations = g;
    }
    stop = true;
  });
  auto c = server_.Client();
  int kv_reads = 0, doc_reads = 0, vector_reads = 0;
  while (!stop) {
    HttpResponse list = c->Get("/v1/state?prefix=g/");
    ASSERT_EQ(list.status, 200);
    std::set<int> seen;
    for (const json& item : list.json) seen.insert(item["value"].get<int>());
    if (!list.json.empty()) {
      EXPECT_EQ(list.json.size(), 4u);
      EXPECT_EQ(seen.size(), 1u) << list.body;
      ++kv_reads;
    }
    HttpResponse found = c->Post("/v1/doc/gen/find", json{{"filter", json::object()}, {"limit", 10}});
    if (found.status == 200 && !found.json["documents"].empty()) {
      std::set<int> gens;
      for (const json& d : found.json["documents"]) gens.insert(d["doc"]["g"].get<int>());
      EXPECT_EQ(found.json["documents"].size(), 3u);
      EXPECT_EQ(gens.size(), 1u) << found.body;
      ++doc_reads;
    }
    HttpResponse hits = c->Post("/v1/vector/emb/search", json{{"vector", {1, 1, 0}}, {"k", 2}});
    ASSERT_EQ(hits.status, 200) << hits.body;
    if (hits.json["hits"].size() == 2) {
      EXPECT_EQ(hits.json["hits"][0]["meta"]["g"], hits.json["hits"][1]["meta"]["g"]) << hits.body;
      ++vector_reads;
    }
  }
  writer.join();
  EXPECT_EQ(generations.load(), 150);
  EXPECT_GT(kv_reads, 10);
  EXPECT_GT(doc_reads, 10);
  EXPECT_GT(vector_reads, 10);
}

}  // namespace
}  // namespace kissvdb::testing
