// Reads of the past (docs/history.md) against a real server: GET
// /v1/state/{key}?at= at every offset equals a model replayed from the log
// (puts, CAS, deletes, TTL expiries judged at each event's time), the
// history route pages every version newest first, and both survive kill -9.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "test_client.h"

namespace kissvdb::testing {
namespace {

using nlohmann::json;

struct Value {
  json value;
  uint64_t revision = 0;
  uint64_t expires_at_ms = 0;
};

class HistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start()) << server_.output();
    c_ = server_.Client();
  }

  // Random puts (some with a short TTL, some CAS), deletes and pauses that
  // let TTLs run out and the sweeper log their expiry.
  void RandomWrites(int n, uint32_t seed) {
    std::mt19937 rng(seed);
    for (int i = 0; i < n; ++i) {
      // Mostly "h" keys; a few "g" keys that listings by prefix leave out.
      const std::string key = (rng() % 5 == 0 ? "g" : "h") + std::to_string(rng() % 6);
      switch (rng() % 6) {
        case 0:
          c_->Delete("/v1/state/" + key);
          break;
        case 1:
          ASSERT_EQ(c_->Put("/v1/state/" + key, json{{"value", i}, {"ttl_ms", 20 + rng() % 100}}).status, 200);
          break;
        case 2: {
          HttpResponse cur = c_->Get("/v1/state/" + key);
          const uint64_t rev = cur.status == 200 ? cur.json["revision"].get<uint64_t>() : 0;
          HttpResponse put = c_->Put("/v1/state/" + key, json{{"value", {{"cas", i}}}, {"if_revision", rev}});
          // A key read with a TTL of 20-120 ms may expire before the CAS
          // lands (a slow machine): then the CAS fails, rightly.
          const bool may_expire = cur.status == 200 && !cur.json["expires_at_ms"].is_null();
          ASSERT_TRUE(put.status == 200 || (put.status == 409 && may_expire)) << put.status << " " << put.body;
          break;
        }
        default:
          ASSERT_EQ(c_->Put("/v1/state/" + key, json{{"value", "v" + std::to_string(i)}}).status, 200);
      }
      if (rng() % 25 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(60 + rng() % 100));
    }
  }

  // Every key at every offset, against the model replayed from the log.
  void CheckEveryOffset() {
    std::vector<json> events = AllEvents(*c_);
    ASSERT_FALSE(events.empty());
    std::map<std::string, Value> model;
    std::set<std::string> keys;
    for (const json& e : events) {
      if (e["type"] == "state_updated" || e["type"] == "state_deleted") keys.insert(e["data"]["key"]);
    }
    size_t checked = 0;
    for (const json& e : events) {
      const uint64_t offset = e["offset"].get<uint64_t>();
      const uint64_t ts = e["ts_ms"].get<uint64_t>();
      const json& d = e["data"];
      if (e["type"] == "state_updated") {
        model[d["key"]] = Value{d["value"], d["revision"].get<uint64_t>(),
                                d["expires_at_ms"].is_null() ? 0 : d["expires_at_ms"].get<uint64_t>()};
      } else if (e["type"] == "state_deleted") {
        model.erase(d["key"].get<std::string>());
      }
      for (const std::string& key : keys) {
        HttpResponse r = c_->Get("/v1/state/" + key + "?at=" + std::to_string(offset));
        auto it = model.find(key);
        const bool live = it != model.end() && !(it->second.expires_at_ms && it->second.expires_at_ms <= ts);
        if (!live) {
          ASSERT_EQ(r.status, 404) << key << " at " << offset << ": " << r.body;
        } else {
          ASSERT_EQ(r.status, 200) << key << " at " << offset << ": " << r.body;
          EXPECT_EQ(r.json["value"], it->second.value) << key << " at " << offset;
          EXPECT_EQ(r.json["revision"], it->second.revision) << key << " at " << offset;
          EXPECT_EQ(r.header("kissvdb-offset"), std::to_string(offset));
        }
        ++checked;
      }
      // Listings at the offset, in pages of 2: the live keys in key order.
      for (const std::string prefix : {"", "h", "g3"}) {
        std::vector<std::string> want;
        for (const auto& [key, v] : model) {
          if (key.compare(0, prefix.size(), prefix) == 0 && !(v.expires_at_ms && v.expires_at_ms <= ts)) {
            want.push_back(key);
          }
        }
        std::vector<std::string> got;
        std::string after;
        for (int page = 0; page < 20; ++page) {
          HttpResponse r = c_->Get("/v1/state?limit=2&prefix=" + prefix + "&at=" + std::to_string(offset) + after);
          ASSERT_EQ(r.status, 200) << r.body;
          EXPECT_EQ(r.header("kissvdb-offset"), std::to_string(offset));
          for (const json& item : r.json) {
            got.push_back(item["key"]);
            const Value& v = model.at(item["key"]);
            EXPECT_EQ(item["value"], v.value) << item["key"] << " at " << offset;
            EXPECT_EQ(item["revision"], v.revision) << item["key"] << " at " << offset;
          }
          if (r.json.size() < 2) break;
          after = "&after=" + got.back();
        }
        ASSERT_EQ(got, want) << "prefix '" << prefix << "' at " << offset;
      }
    }
    EXPECT_GT(checked, 500u);
  }

  TestServer server_;
  std::unique_ptr<HttpClient> c_;
};

TEST_F(HistoryTest, ReadsAtEveryOffsetEqualAModelOfTheLog) {
  RandomWrites(250, 7);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the sweeper logs the last expiries
  CheckEveryOffset();
  // The same after kill -9: the history is derived with the state.
  server_.Kill();
  ASSERT_TRUE(server_.Start()) << server_.output();
  c_ = server_.Client();
  CheckEveryOffset();
}

TEST_F(HistoryTest, HistoryPagesEveryVersionNewestFirst) {
  ASSERT_EQ(c_->Put("/v1/state/k", json{{"value", 1}}).status, 200);
  ASSERT_EQ(c_->Put("/v1/state/other", json{{"value", "x"}}).status, 200);
  ASSERT_EQ(c_->Put("/v1/state/k", json{{"value", 2}}).status, 200);
  ASSERT_EQ(c_->Delete("/v1/state/k").status, 200);
  ASSERT_EQ(c_->Put("/v1/state/k", json{{"value", {{"n", 3}}}}).status, 200);
  std::vector<json> versions;
  std::string before;
  for (int page = 0; page < 10; ++page) {
    HttpResponse r = c_->Get("/v1/state/k/history?limit=2" + before);
    ASSERT_EQ(r.status, 200) << r.body;
    for (const json& v : r.json["versions"]) versions.push_back(v);
    if (r.json["next_before"].is_null()) break;
    before = "&before=" + std::to_string(r.json["next_before"].get<uint64_t>());
  }
  ASSERT_EQ(versions.size(), 4u);
  EXPECT_EQ(versions[0]["value"], json({{"n", 3}}));
  EXPECT_EQ(versions[0]["revision"], 1);
  EXPECT_EQ(versions[1]["deleted"], true);
  EXPECT_EQ(versions[1]["reason"], "explicit");
  EXPECT_TRUE(versions[1]["value"].is_null());
  EXPECT_EQ(versions[2]["value"], 2);
  EXPECT_EQ(versions[2]["revision"], 2);
  EXPECT_EQ(versions[3]["value"], 1);
  for (size_t i = 1; i < versions.size(); ++i) {
    EXPECT_LT(versions[i]["offset"].get<uint64_t>(), versions[i - 1]["offset"].get<uint64_t>());
  }
  // A key never written has no versions; a key with a byte 0 keeps its own.
  EXPECT_EQ(c_->Get("/v1/state/none/history").json["versions"].size(), 0u);
  ASSERT_EQ(c_->Put("/v1/state/a%00b", json{{"value", 1}}).status, 200);
  ASSERT_EQ(c_->Put("/v1/state/a", json{{"value", 2}}).status, 200);
  EXPECT_EQ(c_->Get("/v1/state/a%00b/history").json["versions"].size(), 1u);
  EXPECT_EQ(c_->Get("/v1/state/a/history").json["versions"].size(), 1u);
}

TEST_F(HistoryTest, PresentReadsSayWhereTheyStand) {
  auto last = [&] { return c_->Get("/v1/log?since=0&limit=1").json["last_offset"].get<uint64_t>(); };
  ASSERT_EQ(c_->Put("/v1/state/k", json{{"value", 1}}).status, 200);
  ASSERT_EQ(c_->Put("/v1/doc/notes/a", json{{"text", "x"}}).status, 200);
  const std::string now = std::to_string(last());
  EXPECT_EQ(c_->Get("/v1/state/k").header("kissvdb-offset"), now);
  EXPECT_EQ(c_->Get("/v1/state?prefix=k").header("kissvdb-offset"), now);
  EXPECT_EQ(c_->Get("/v1/doc/notes/a").header("kissvdb-offset"), now);
  EXPECT_EQ(c_->Get("/v1/doc/notes").header("kissvdb-offset"), now);
  EXPECT_EQ(c_->Post("/v1/doc/notes/find", json{{"filter", {{"text", "x"}}}}).header("kissvdb-offset"), now);
  // A read at that offset gives the same answer, whatever came after.
  ASSERT_EQ(c_->Put("/v1/state/k", json{{"value", 2}}).status, 200);
  EXPECT_EQ(c_->Get("/v1/state/k").header("kissvdb-offset"), std::to_string(last()));
  EXPECT_EQ(c_->Get("/v1/state/k?at=" + now).json["value"], 1);
}

TEST_F(HistoryTest, OffsetsOutsideTheHistoryAreClearErrors) {
  ASSERT_EQ(c_->Put("/v1/state/k", json{{"value", 1}}).status, 200);
  const uint64_t last = c_->Get("/v1/log?since=0&limit=1").json["last_offset"].get<uint64_t>();
  HttpResponse past_end = c_->Get("/v1/state/k?at=" + std::to_string(last + 1));
  EXPECT_EQ(past_end.status, 400) << past_end.body;
  EXPECT_EQ(c_->Get("/v1/state/k?at=" + std::to_string(last)).status, 200);
  HttpResponse before_all = c_->Get("/v1/state/k?at=0");
  EXPECT_EQ(before_all.status, 410) << before_all.body;
  EXPECT_EQ(before_all.json["error"], "compacted");
  EXPECT_EQ(before_all.json["oldest_offset"], 1);
  EXPECT_EQ(c_->Get("/v1/state/k?at=x").status, 400);
  EXPECT_EQ(c_->Get("/v1/state/k/history?before=-1").status, 400);
  // Listings: the same errors.
  EXPECT_EQ(c_->Get("/v1/state?at=" + std::to_string(last + 1)).status, 400);
  HttpResponse list_before_all = c_->Get("/v1/state?at=0");
  EXPECT_EQ(list_before_all.status, 410) << list_before_all.body;
  EXPECT_EQ(list_before_all.json["oldest_offset"], 1);
  EXPECT_EQ(c_->Get("/v1/state?at=" + std::to_string(last)).json.size(), 1u);

  // Vector collections keep only the present: at= is a clear 400.
  ASSERT_EQ(c_->Post("/v1/vector/v", json{{"dim", 2}}).status, 200);
  ASSERT_EQ(c_->Post("/v1/vector/v/upsert", json{{"id", "a"}, {"vector", {1, 0}}}).status, 200);
  for (HttpResponse r : {c_->Get("/v1/vector/v/get?id=a&at=1"), c_->Get("/v1/vector/v?at=1"), c_->Get("/v1/vector?at=1"),
                         c_->Post("/v1/vector/v/search", json{{"vector", {1, 0}}, {"at", 1}}),
                         c_->Post("/v1/vector/v/search?at=1", json{{"vector", {1, 0}}}),
                         c_->Post("/v1/vector/v/search_batch", json{{"queries", {{{"vector", {1, 0}}, {"at", 1}}}}})}) {
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("keep only the present"), std::string::npos) << r.body;
  }
  EXPECT_EQ(c_->Get("/v1/vector/v/get?id=a").status, 200);
}

// history_retention through the flag: the horizon and space in
// /v1/admin/stats, 410 below the horizon with it as oldest_offset, and the
// versions above it intact.
TEST(HistoryRetentionServerTest, OffsetsRetentionPrunesAndStatsReportIt) {
  TestServerOptions options;
  options.args = {"--history-retention", "30", "--ttl-sweep-interval-ms", "20"};
  TestServer server(options);
  ASSERT_TRUE(server.Start()) << server.output();
  auto c = server.Client();
  for (int i = 0; i < 120; ++i) {
    ASSERT_EQ(c->Put("/v1/state/k" + std::to_string(i % 4), json{{"value", i}}).status, 200);
  }
  const std::vector<json> events = AllEvents(*c);
  const uint64_t last = events.back()["offset"].get<uint64_t>();
  json history;
  for (int tries = 0; tries < 3000; ++tries) {  // the pruner runs every background round
    HttpResponse stats = c->Get("/v1/admin/stats");
    ASSERT_EQ(stats.status, 200) << stats.body;
    history = stats.json["history"];
    // 30 offsets of 4 keys: 30 versions, plus the newest older one of each key.
    if (history["horizon"] == last - 29 && history["versions"] == 34) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(history["retention"], "30");
  EXPECT_EQ(history["horizon"], last - 29) << history.dump();
  EXPECT_EQ(history["versions"], 34) << history.dump();
  EXPECT_GE(history["pruned"].get<uint64_t>(), 120u - 34u);
  EXPECT_GT(history["bytes"].get<uint64_t>(), 0u);

  HttpResponse gone = c->Get("/v1/state/k1?at=" + std::to_string(last - 30));
  EXPECT_EQ(gone.status, 410) << gone.body;
  EXPECT_EQ(gone.json["oldest_offset"], last - 29);
  // At the horizon, each key reads as it stood then (the newest older
  // version was kept for exactly this).
  for (uint64_t at : {last - 29, last - 15, last}) {
    std::map<std::string, json> then;  // from the log
    for (const json& e : events) {
      if (e["offset"].get<uint64_t>() <= at && e["type"] == "state_updated") then[e["data"]["key"]] = e["data"]["value"];
    }
    ASSERT_EQ(then.size(), 4u);
    for (const auto& [key, value] : then) {
      HttpResponse r = c->Get("/v1/state/" + key + "?at=" + std::to_string(at));
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(r.json["value"], value) << key << " at " << at;
    }
  }
  HttpResponse versions = c->Get("/v1/state/k0/history?limit=100");
  ASSERT_EQ(versions.status, 200);
  EXPECT_LE(versions.json["versions"].size(), 9u) << versions.body;

  // A bad value is a clear configuration error.
  TestServerOptions bad;
  bad.args = {"--history-retention", "7 weeks"};
  TestServer bad_server(bad);
  EXPECT_FALSE(bad_server.Start(std::chrono::seconds(5)));
  EXPECT_NE(bad_server.output().find("--history-retention"), std::string::npos) << bad_server.output();
}

}  // namespace
}  // namespace kissvdb::testing
