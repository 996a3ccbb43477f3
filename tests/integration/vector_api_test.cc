// /v1/vector against the real binary: original shapes and statuses, filters,
// batch semantics, persistence across restart and kill -9.
#include <gtest/gtest.h>

#include "test_client.h"

namespace kissvdb::testing {
namespace {

using nlohmann::json;

class VectorApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start()) << server_.output();
    client_ = server_.Client();
  }
  void Seed() {
    ASSERT_EQ(client_->Post("/v1/vector/docs", {{"dim", 3}, {"metric", "cosine"}}).status, 200);
    json items = json::array();
    items.push_back({{"id", "a"}, {"vector", {1, 0, 0}}, {"meta", {{"lang", "en"}, {"n", 1}}}});
    items.push_back({{"id", "b"}, {"vector", {0.9, 0.1, 0}}, {"meta", {{"lang", "es"}, {"n", 2}}}});
    items.push_back({{"id", "c"}, {"vector", {0, 1, 0}}, {"meta", {{"lang", "en"}, {"n", 3}}}});
    auto r = client_->Post("/v1/vector/docs/upsert_batch", {{"items", items}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  TestServer server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(VectorApiTest, CreateListInfo) {
  auto created = client_->Post("/v1/vector/docs", {{"dim", 3}, {"metric", "cosine"}});
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(created.json["collection"], "docs");
  EXPECT_EQ(created.json["dim"], 3);
  EXPECT_EQ(created.json["metric"], "cosine");
  auto dup = client_->Post("/v1/vector/docs", {{"dim", 3}});
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.json["error"], "already_exists");
  EXPECT_EQ(client_->Post("/v1/vector/bad", {{"dim", 0}}).status, 400);
  EXPECT_EQ(client_->Post("/v1/vector/bad", {{"dim", 5000}}).status, 400);
  EXPECT_EQ(client_->Post("/v1/vector/bad", {{"dim", 3}, {"metric", "hamming"}}).status, 400);
  auto list = client_->Get("/v1/vector");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json["collections"].size(), 1u);
  EXPECT_EQ(list.json["collections"][0]["collection"], "docs");
  EXPECT_EQ(list.json["collections"][0]["live_count"], 0);
  auto info = client_->Get("/v1/vector/docs");
  ASSERT_EQ(info.status, 200);
  for (const char* field : {"collection", "dim", "metric", "count", "created_at_ms", "updated_at_ms", "manifest", "notes", "segments", "deleted"}) {
    EXPECT_TRUE(info.json.contains(field)) << field;
  }
  EXPECT_EQ(client_->Get("/v1/vector/none").status, 404);
}

TEST_F(VectorApiTest, SearchFiltersAndMeta) {
  Seed();
  auto r = client_->Post("/v1/vector/docs/search", {{"vector", {1, 0, 0}}, {"k", 2}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json["hits"].size(), 2u);
  EXPECT_EQ(r.json["hits"][0]["id"], "a");
  EXPECT_NEAR(r.json["hits"][0]["score"].get<double>(), 1.0, 1e-5);
  EXPECT_TRUE(r.json["hits"][0]["meta"].is_null()) << "meta only with include_meta";
  auto filtered = client_->Post("/v1/vector/docs/search",
                                {{"vector", {1, 0, 0}}, {"k", 5}, {"filters", {{"lang", "en"}}}, {"include_meta", true}});
  ASSERT_EQ(filtered.json["hits"].size(), 2u);
  EXPECT_EQ(filtered.json["hits"][0]["meta"]["lang"], "en");
  auto ranged = client_->Post("/v1/vector/docs/search", {{"vector", {1, 0, 0}}, {"k", 5}, {"filters", {{"n", {{"$gte", 2}}}}}});
  ASSERT_EQ(ranged.json["hits"].size(), 2u);
  EXPECT_EQ(ranged.json["hits"][0]["id"], "b");
  auto exact = client_->Post("/v1/vector/docs/search", {{"vector", {0, 1, 0}}, {"k", 1}, {"exact", true}});
  EXPECT_EQ(exact.json["hits"][0]["id"], "c");
  auto batch = client_->Post("/v1/vector/docs/search_batch",
                             {{"queries", {{{"vector", {1, 0, 0}}, {"k", 1}}, {{"vector", {0, 1, 0}}, {"k", 1}}}}});
  ASSERT_EQ(batch.status, 200) << batch.body;
  EXPECT_EQ(batch.json["results"][1]["hits"][0]["id"], "c");
  EXPECT_EQ(client_->Post("/v1/vector/docs/search", {{"vector", {1, 0}}, {"k", 1}}).json["error"], "dim_mismatch");
  EXPECT_EQ(client_->Post("/v1/vector/docs/search", {{"vector", {1, 0, 0}}, {"k", 0}}).status, 400);
  EXPECT_EQ(client_->Post("/v1/vector/docs/search", {{"vector", {1, 0, 0}}, {"k", 257}}).status, 400);
  EXPECT_EQ(client_->Post("/v1/vector/docs/search", {{"vector", {1, 0, 0}}, {"filters", {{"n", {{"$bogus", 1}}}}}}).status, 400);
  EXPECT_EQ(client_->Post("/v1/vector/none/search", {{"vector", {1, 0, 0}}}).status, 404);
}

// Exact searches and batches of more than 32 run on the blocking pool:
// the same answers and errors as on the I/O thread.
TEST_F(VectorApiTest, LongSearchesAnswerFromThePool) {
  Seed();
  json queries = json::array();
  std::vector<json> singles;
  for (int i = 0; i < 40; ++i) {
    json q = {{"vector", {i % 3 == 0 ? 1 : 0, i % 3 == 1 ? 1 : 0, i % 3 == 2 ? 1 : 0}}, {"k", 2}};
    if (i == 7) q["exact"] = true;
    queries.push_back(q);
    singles.push_back(client_->Post("/v1/vector/docs/search", q).json);
  }
  auto batch = client_->Post("/v1/vector/docs/search_batch", {{"queries", queries}});
  ASSERT_EQ(batch.status, 200) << batch.body;
  ASSERT_EQ(batch.json["results"].size(), 40u);
  for (size_t i = 0; i < 40; ++i) EXPECT_EQ(batch.json["results"][i], singles[i]) << i;
  auto missing = client_->Post("/v1/vector/none/search", {{"vector", {1, 0, 0}}, {"exact", true}});
  EXPECT_EQ(missing.status, 404) << missing.body;
  auto bad_dim = client_->Post("/v1/vector/docs/search_batch", {{"queries", {{{"vector", {1, 0, 0}}, {"exact", true}},
                                                                             {{"vector", {1, 0}}, {"exact", true}}}}});
  EXPECT_EQ(bad_dim.json["error"], "dim_mismatch");
  EXPECT_NE(bad_dim.json["message"].get<std::string>().find("queries[1]"), std::string::npos) << bad_dim.body;
}

// Search answers are written by hand (api/vector.cc AppendHits): they must
// be exactly what nlohmann writes for the same object, with escaped and
// non-ASCII ids, metadata of every kind, and empty results.
TEST_F(VectorApiTest, SearchAnswersAreCanonicalJson) {
  ASSERT_EQ(client_->Post("/v1/vector/odd", {{"dim", 2}, {"metric", "l2"}}).status, 200);
  json items = json::array();
  items.push_back({{"id", "quote\"back\\slash"}, {"vector", {0.1, 0.2}}, {"meta", {{"s", "tab\t\u00e9"}, {"n", -0.5}}}});
  items.push_back({{"id", "caf\u00e9 \u20ac \U0001F600"}, {"vector", {1e-3, 7}}, {"meta", {{"list", {1, "x", nullptr}}}}});
  items.push_back({{"id", "plain"}, {"vector", {3, 4}}});
  ASSERT_EQ(client_->Post("/v1/vector/odd/upsert_batch", {{"items", items}}).status, 200);
  auto canonical = [](const std::string& body) {
    return json::parse(body).dump(-1, ' ', false, json::error_handler_t::replace);
  };
  for (bool meta : {false, true}) {
    for (const char* path : {"/v1/vector/odd/search", "/v1/vector/odd/search_batch"}) {
      json q = {{"vector", {0.3, 0.1}}, {"k", 3}, {"include_meta", meta}};
      auto r = std::string(path).ends_with("batch") ? client_->Post(path, {{"queries", {q, q}}}) : client_->Post(path, q);
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(r.body, canonical(r.body));
      const json& hits = r.json.contains("results") ? r.json["results"][1]["hits"] : r.json["hits"];
      ASSERT_EQ(hits.size(), 3u) << r.body;
      EXPECT_EQ(hits[0]["id"], "quote\"back\\slash");
      EXPECT_EQ(hits[0]["meta"].is_null(), !meta) << r.body;
    }
  }
  auto none = client_->Post("/v1/vector/odd/search", {{"vector", {0, 0}}, {"k", 2}, {"filters", {{"n", 99}}}});
  ASSERT_EQ(none.status, 200);
  EXPECT_EQ(none.body, R"({"hits":[]})");
  auto empty_batch = client_->Post("/v1/vector/odd/search_batch", {{"queries", json::array()}});
  EXPECT_EQ(empty_batch.body, canonical(empty_batch.body)) << empty_batch.body;
}

TEST_F(VectorApiTest, SingleWritesAndGet) {
  Seed();
  EXPECT_EQ(client_->Post("/v1/vector/docs/add", {{"id", "d"}, {"vector", {0, 0, 1}}}).json, (json{{"ok", true}}));
  auto dup = client_->Post("/v1/vector/docs/add", {{"id", "d"}, {"vector", {0, 0, 1}}});
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(client_->Post("/v1/vector/docs/add", {{"id", "e"}, {"vector", {0, 1}}}).json["error"], "dim_mismatch");
  EXPECT_EQ(client_->Post("/v1/vector/none/upsert", {{"id", "e"}, {"vector", {0, 1, 0}}}).status, 404);
  EXPECT_EQ(client_->Post("/v1/vector/docs/update", {{"id", "d"}, {"meta", {{"x", 1}}}}).status, 200);
  auto got = client_->Get("/v1/vector/docs/get?id=d");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.json["vector"], (json{0, 0, 1}));
  EXPECT_EQ(got.json["meta"], (json{{"x", 1}}));
  EXPECT_EQ(client_->Post("/v1/vector/docs/update", {{"id", "zz"}, {"meta", 1}}).status, 404);
  EXPECT_EQ(client_->Post("/v1/vector/docs/delete", {{"id", "d"}}).json, (json{{"deleted", true}}));
  EXPECT_EQ(client_->Post("/v1/vector/docs/delete", {{"id", "d"}}).status, 404);
  EXPECT_EQ(client_->Get("/v1/vector/docs/get?id=d").status, 404);
}

TEST_F(VectorApiTest, BatchResultsPerItem) {
  Seed();
  auto r = client_->Post("/v1/vector/docs/upsert_batch",
                         {{"items", {{{"id", "x"}, {"vector", {1, 1, 1}}}, {{"id", "y"}, {"vector", {1, 1}}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["results"][0], (json{{"status", "upserted"}, {"id", "x"}}));
  EXPECT_EQ(r.json["results"][1]["status"], "error");
  EXPECT_EQ(r.json["results"][1]["error"]["error"], "dim_mismatch");
  auto dup = client_->Post("/v1/vector/docs/upsert_batch",
                           {{"items", {{{"id", "z"}, {"vector", {1, 1, 1}}}, {{"id", "z"}, {"vector", {1, 1, 1}}}}}});
  EXPECT_EQ(dup.status, 400) << "duplicate ids are refused whole";
  EXPECT_EQ(client_->Get("/v1/vector/docs/get?id=z").status, 404);
  auto nan = client_->Request("POST", "/v1/vector/docs/upsert", R"({"id":"n","vector":[1,NaN,0]})");
  EXPECT_EQ(nan.status, 400);
  auto del = client_->Post("/v1/vector/docs/delete_batch", {{"ids", {"a", "nope"}}});
  ASSERT_EQ(del.status, 200);
  EXPECT_EQ(del.json["results"][0], (json{{"status", "deleted"}, {"id", "a"}}));
  EXPECT_EQ(del.json["results"][1]["error"]["error"], "not_found");
  EXPECT_EQ(client_->Post("/v1/vector/none/delete_batch", {{"ids", {"a"}}}).status, 404);
}

TEST_F(VectorApiTest, SurvivesKillAndRestart) {
  Seed();
  auto before = client_->Post("/v1/vector/docs/search", {{"vector", {1, 0.2, 0}}, {"k", 3}});
  server_.Kill();
  ASSERT_TRUE(server_.Start()) << server_.output();
  client_ = server_.Client();
  EXPECT_EQ(client_->Post("/v1/vector/docs/search", {{"vector", {1, 0.2, 0}}, {"k", 3}}).json, before.json);
  ASSERT_TRUE(server_.Restart());
  client_ = server_.Client();
  EXPECT_EQ(client_->Post("/v1/vector/docs/search", {{"vector", {1, 0.2, 0}}, {"k", 3}}).json, before.json);
  EXPECT_EQ(client_->Delete("/v1/vector/docs").json, (json{{"deleted", true}}));
  EXPECT_EQ(client_->Get("/v1/vector/docs").status, 404);
}

}  // namespace
}  // namespace kissvdb::testing
