// Documents as of a past offset (docs/history.md) against a real server:
// after random puts, merge patches, deletes and collection drops, a read,
// a listing (in pages) and a find at every offset equal a model replayed
// from the log; a document's history lists every version newest first;
// all of it the same after kill -9.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "test_client.h"

namespace kissvdb::testing {
namespace {

using nlohmann::json;

struct Doc {
  json doc;
  uint64_t revision = 0;
};
using Collection = std::map<std::string, Doc>;  // by id

class DocHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start()) << server_.output();
    c_ = server_.Client();
  }

  void RandomWrites(int n, uint32_t seed) {
    std::mt19937 rng(seed);
    for (int i = 0; i < n; ++i) {
      const std::string coll = rng() % 4 == 0 ? "b" : "a";
      const std::string path = "/v1/doc/" + coll + "/d" + std::to_string(rng() % 5);
      switch (rng() % 10) {
        case 0:
          c_->Delete(path);
          break;
        case 1:
          if (rng() % 4 == 0) c_->Delete("/v1/doc/" + coll);  // a drop, now and then
          break;
        case 2:
        case 3: {
          HttpResponse r = c_->Request("PATCH", path, json{{"n", i}, {"tag", rng() % 2 ? json("x") : json()}}.dump());
          ASSERT_TRUE(r.status == 200 || r.status == 404) << r.body;
          break;
        }
        default:
          ASSERT_EQ(c_->Put(path, json{{"n", i}, {"tag", rng() % 2 ? "x" : "y"}}).status, 200);
      }
    }
  }

  void CheckEveryOffset() {
    std::vector<json> events = AllEvents(*c_);
    std::map<std::string, Collection> model;
    size_t checked = 0;
    for (const json& e : events) {
      const uint64_t offset = e["offset"].get<uint64_t>();
      const json& d = e["data"];
      if (e["type"] == "doc_updated") {
        model[d["collection"]][d["id"]] = Doc{d["doc"], d["revision"].get<uint64_t>()};
      } else if (e["type"] == "doc_deleted") {
        model[d["collection"]].erase(d["id"].get<std::string>());
      } else if (e["type"] == "doc_collection_dropped") {
        model[d["collection"]].clear();
      } else {
        continue;
      }
      const std::string at = "at=" + std::to_string(offset);
      for (const std::string coll : {"a", "b"}) {
        const Collection& docs = model[coll];
        for (int k = 0; k < 5; ++k) {
          const std::string id = "d" + std::to_string(k);
          HttpResponse r = c_->Get("/v1/doc/" + coll + "/" + id + "?" + at);
          auto it = docs.find(id);
          if (it == docs.end()) {
            ASSERT_EQ(r.status, 404) << coll << "/" << id << " " << at << ": " << r.body;
          } else {
            ASSERT_EQ(r.status, 200) << coll << "/" << id << " " << at << ": " << r.body;
            EXPECT_EQ(r.json["doc"], it->second.doc) << coll << "/" << id << " " << at;
            EXPECT_EQ(r.json["revision"], it->second.revision) << coll << "/" << id << " " << at;
            EXPECT_EQ(r.header("kissvdb-offset"), std::to_string(offset));
          }
          ++checked;
        }
        // The listing, in pages of 2, and a find with a filter.
        std::vector<std::string> want, want_x, got, got_x;
        for (const auto& [id, doc] : docs) {
          want.push_back(id);
          if (doc.doc.contains("tag") && doc.doc["tag"] == "x") want_x.push_back(id);
        }
        std::string cursor;
        for (int page = 0; page < 10; ++page) {
          HttpResponse r = c_->Get("/v1/doc/" + coll + "?limit=2&" + at + cursor);
          ASSERT_EQ(r.status, 200) << r.body;
          for (const json& doc : r.json["documents"]) {
            got.push_back(doc["id"]);
            EXPECT_EQ(doc["doc"], docs.at(doc["id"]).doc);
          }
          if (!r.json.contains("next_cursor")) break;
          cursor = "&cursor=" + r.json["next_cursor"].get<std::string>();
        }
        ASSERT_EQ(got, want) << coll << " " << at;
        json find{{"filter", {{"tag", "x"}}}, {"limit", 2}, {"at", offset}};
        for (int page = 0; page < 10; ++page) {
          HttpResponse r = c_->Post("/v1/doc/" + coll + "/find", find);
          ASSERT_EQ(r.status, 200) << r.body;
          for (const json& doc : r.json["documents"]) got_x.push_back(doc["id"]);
          if (!r.json.contains("next_cursor")) break;
          find["cursor"] = r.json["next_cursor"];
        }
        ASSERT_EQ(got_x, want_x) << coll << " " << at;
      }
    }
    EXPECT_GT(checked, 500u);
  }

  TestServer server_;
  std::unique_ptr<HttpClient> c_;
};

TEST_F(DocHistoryTest, ReadsListingsAndFindsAtEveryOffsetEqualAModel) {
  RandomWrites(150, 11);
  CheckEveryOffset();
  server_.Kill();
  ASSERT_TRUE(server_.Start()) << server_.output();
  c_ = server_.Client();
  CheckEveryOffset();
}

TEST_F(DocHistoryTest, HistoryListsEveryVersionWithDeletesAndDrops) {
  ASSERT_EQ(c_->Put("/v1/doc/c/x", json{{"v", 1}}).status, 200);
  ASSERT_EQ(c_->Request("PATCH", "/v1/doc/c/x", json{{"w", 2}}.dump()).status, 200);
  ASSERT_EQ(c_->Delete("/v1/doc/c/x").status, 200);
  ASSERT_EQ(c_->Put("/v1/doc/c/x", json{{"v", 3}}).status, 200);
  ASSERT_EQ(c_->Delete("/v1/doc/c").status, 200);
  HttpResponse r = c_->Get("/v1/doc/c/x/history?limit=3");
  ASSERT_EQ(r.status, 200) << r.body;
  const json& v = r.json["versions"];
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0]["deleted"], true);
  EXPECT_EQ(v[0]["reason"], "drop");
  EXPECT_EQ(v[1]["doc"], json({{"v", 3}}));
  EXPECT_EQ(v[1]["revision"], 1);
  EXPECT_EQ(v[2]["reason"], "explicit");
  EXPECT_FALSE(v[0].contains("expires_at_ms"));
  ASSERT_FALSE(r.json["next_before"].is_null());
  HttpResponse older = c_->Get("/v1/doc/c/x/history?before=" + std::to_string(r.json["next_before"].get<uint64_t>()));
  ASSERT_EQ(older.json["versions"].size(), 2u);
  EXPECT_EQ(older.json["versions"][0]["doc"], json({{"v", 1}, {"w", 2}}));
  EXPECT_EQ(older.json["versions"][0]["revision"], 2);
  EXPECT_TRUE(older.json["next_before"].is_null());

  // Errors: past the end, below the horizon, sort with at, a bad at.
  const uint64_t last = c_->Get("/v1/log?since=0&limit=1").json["last_offset"].get<uint64_t>();
  EXPECT_EQ(c_->Get("/v1/doc/c/x?at=" + std::to_string(last + 1)).status, 400);
  HttpResponse gone = c_->Get("/v1/doc/c/x?at=0");
  EXPECT_EQ(gone.status, 410) << gone.body;
  EXPECT_EQ(gone.json["oldest_offset"], 1);
  EXPECT_EQ(c_->Get("/v1/doc/c?at=0").status, 410);
  EXPECT_EQ(c_->Post("/v1/doc/c/find", json{{"at", 0}}).status, 410);
  EXPECT_EQ(c_->Post("/v1/doc/c/find", json{{"at", 1}, {"sort", {{"field", "v"}}}}).status, 400);
  EXPECT_EQ(c_->Post("/v1/doc/c/find", json{{"at", "x"}}).status, 400);
  EXPECT_EQ(c_->Get("/v1/doc/c/x?at=-1").status, 400);
  EXPECT_EQ(c_->Get("/v1/doc/c/x?at=1").json["doc"], json({{"v", 1}}));
}

}  // namespace
}  // namespace kissvdb::testing
