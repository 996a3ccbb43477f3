// /v1/doc against the real binary: shapes, statuses, If-Match, PATCH, find,
// cursors, collections and drop.
#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "test_client.h"

namespace kissvdb::testing {
namespace {

using nlohmann::json;

class DocApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start()) << server_.output();
    client_ = server_.Client();
  }
  HttpResponse Patch(const std::string& target, const json& body, const Headers& headers = {}) {
    return client_->Request("PATCH", target, body.dump(), headers);
  }
  TestServer server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(DocApiTest, PutGetDeleteShapes) {
  auto put = client_->Put("/v1/doc/users/u1", {{"name", "ann"}, {"age", 30}});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.json, (json{{"id", "u1"}, {"revision", 1}, {"doc", {{"name", "ann"}, {"age", 30}}}}));
  EXPECT_EQ(put.header("ETag"), "\"1\"");
  auto get = client_->Get("/v1/doc/users/u1");
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(get.json, put.json);
  EXPECT_EQ(client_->Put("/v1/doc/users/u1", {{"name", "ann"}}).json["revision"], 2);
  auto del = client_->Delete("/v1/doc/users/u1");
  EXPECT_EQ(del.status, 200);
  EXPECT_EQ(del.json, (json{{"deleted", true}}));
  auto again = client_->Delete("/v1/doc/users/u1");
  EXPECT_EQ(again.status, 200) << "deleting a missing doc is 200, as the original code did";
  EXPECT_EQ(again.json, (json{{"deleted", false}}));
  auto missing = client_->Get("/v1/doc/users/u1");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json["error"], "not_found");
}

TEST_F(DocApiTest, BadInputIs400Or413AndWritesNothing) {
  EXPECT_EQ(client_->Put("/v1/doc/c/a", json::array({1})).status, 400);
  EXPECT_EQ(client_->Put("/v1/doc/c/a", "text").status, 400);
  EXPECT_EQ(client_->Request("PUT", "/v1/doc/c/a", "{not json").status, 400);
  auto big = client_->Put("/v1/doc/c/a", {{"pad", std::string(70 * 1024, 'x')}});
  EXPECT_EQ(big.status, 413) << big.body;
  EXPECT_EQ(big.json["error"], "payload_too_large");
  EXPECT_EQ(client_->Put("/v1/doc/c/a%2Fb", json::object()).status, 400) << "'/' in an id";
  EXPECT_EQ(client_->Put("/v1/doc/c/..", json::object()).status, 400);
  EXPECT_EQ(client_->Put("/v1/doc/c/a%01", json::object()).status, 400);
  EXPECT_EQ(client_->Put("/v1/doc/" + std::string(65, 'c') + "/a", json::object()).status, 400);
  EXPECT_EQ(client_->Get("/v1/doc/c/" + std::string(129, 'i')).status, 400);
  EXPECT_EQ(client_->Post("/v1/doc/c/find", {{"filter", {{"a", {{"$regex", "x"}}}}}}).status, 400);
  EXPECT_EQ(client_->Post("/v1/doc/c/find", {{"filter", json::array()}}).status, 400);
  EXPECT_EQ(client_->Post("/v1/doc/c/find", {{"sort", {{"field", "a"}, {"order", "up"}}}}).status, 400);
  EXPECT_EQ(client_->Post("/v1/doc/c/find", {{"cursor", "not-a-cursor"}}).status, 400);
  EXPECT_EQ(client_->Post("/v1/doc/c/find", {{"limit", -1}}).status, 400);
  auto cols = client_->Get("/v1/doc");
  ASSERT_EQ(cols.status, 200);
  EXPECT_EQ(cols.json, (json{{"collections", json::array()}}));
  EXPECT_EQ(client_->Get("/v1/log").json["events"].size(), 0u);
}

TEST_F(DocApiTest, IfMatchAndIfRevision) {
  ASSERT_EQ(client_->Put("/v1/doc/c/k?if_revision=0", {{"v", 1}}).status, 200) << "0 = create only";
  auto exists = client_->Put("/v1/doc/c/k?if_revision=0", {{"v", 1}});
  EXPECT_EQ(exists.status, 409);
  auto stale = client_->Put("/v1/doc/c/k", {{"v", 2}}, {{"If-Match", "\"7\""}});
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(stale.json["error"], "revision_mismatch");
  EXPECT_NE(stale.json["message"].get<std::string>().find("current revision is 1"), std::string::npos);
  auto ok = client_->Put("/v1/doc/c/k", {{"v", 2}}, {{"If-Match", "1"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json["revision"], 2);
  EXPECT_EQ(client_->Put("/v1/doc/c/k?if_revision=2", {{"v", 3}}, {{"If-Match", "1"}}).status, 400)
      << "header and query disagree";
  EXPECT_EQ(client_->Put("/v1/doc/c/k", {{"v", 3}}, {{"If-Match", "abc"}}).status, 400);
  EXPECT_EQ(client_->Delete("/v1/doc/c/k", {{"If-Match", "1"}}).status, 409);
  EXPECT_EQ(client_->Delete("/v1/doc/c/k?if_revision=2").json, (json{{"deleted", true}}));
}

TEST_F(DocApiTest, PatchIsJsonMergePatch) {
  ASSERT_EQ(client_->Put("/v1/doc/c/p", {{"a", 1}, {"b", {{"x", 1}, {"y", 2}}}, {"tags", {"t1", "t2"}}}).status, 200);
  auto r = Patch("/v1/doc/c/p", {{"a", nullptr}, {"b", {{"y", 3}}}, {"tags", {"t3"}}, {"c", true}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json merged = {{"b", {{"x", 1}, {"y", 3}}}, {"tags", {"t3"}}, {"c", true}};
  EXPECT_EQ(r.json, (json{{"id", "p"}, {"revision", 2}, {"doc", merged}}));
  EXPECT_EQ(r.header("ETag"), "\"2\"");
  EXPECT_EQ(Patch("/v1/doc/c/p", {{"a", 1}}, {{"If-Match", "1"}}).status, 409);
  EXPECT_EQ(Patch("/v1/doc/c/p", json::array({1})).status, 400);
  auto missing = Patch("/v1/doc/c/nope", {{"a", 1}});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json["error"], "not_found");
  auto upsert = Patch("/v1/doc/c/nope?upsert=true", {{"a", 1}});
  ASSERT_EQ(upsert.status, 200) << upsert.body;
  EXPECT_EQ(upsert.json["revision"], 1);
  EXPECT_EQ(Patch("/v1/doc/c/new?if_revision=0", {{"a", 1}}).status, 200);
}

TEST_F(DocApiTest, FindFilterSortLimitCursorPlan) {
  for (int i = 0; i < 130; ++i) {
    char id[8];
    std::snprintf(id, sizeof id, "d%03d", i);
    ASSERT_EQ(client_->Put(std::string("/v1/doc/items/") + id,
                           {{"kind", i % 2 ? "odd" : "even"}, {"n", i}, {"meta", {{"tens", i / 10}}}})
                  .status,
              200);
  }
  auto def = client_->Post("/v1/doc/items/find", json::object());
  ASSERT_EQ(def.status, 200) << def.body;
  EXPECT_EQ(def.json["documents"].size(), 20u) << "default limit 20";
  EXPECT_TRUE(def.json.contains("next_cursor"));
  EXPECT_EQ(def.json["documents"][0], (json{{"id", "d000"}, {"revision", 1},
                                            {"doc", {{"kind", "even"}, {"n", 0}, {"meta", {{"tens", 0}}}}}}));
  EXPECT_EQ(client_->Post("/v1/doc/items/find", {{"limit", 1000}}).json["documents"].size(), 100u)
      << "capped at max_doc_find";
  EXPECT_EQ(client_->Request("POST", "/v1/doc/items/find", "").status, 200) << "an empty body is {}";

  auto eq = client_->Post("/v1/doc/items/find", {{"filter", {{"kind", "odd"}, {"n", {{"$lt", 10}}}}}, {"limit", 100}});
  ASSERT_EQ(eq.status, 200) << eq.body;
  EXPECT_EQ(eq.json["documents"].size(), 5u);
  EXPECT_FALSE(eq.json.contains("next_cursor"));
  EXPECT_EQ(eq.json["plan"]["used"], "index");
  EXPECT_EQ(eq.json["plan"]["field"], "kind");
  EXPECT_EQ(eq.json["plan"]["examined"], 65);

  auto dotted = client_->Post("/v1/doc/items/find", {{"filter", {{"meta.tens", 3}}}});
  EXPECT_EQ(dotted.json["plan"]["used"], "scan");
  EXPECT_EQ(dotted.json["documents"].size(), 10u);

  // Sorted paging: n descending, 40 per page, through all matches.
  std::vector<int> ns;
  std::string cursor;
  int pages = 0;
  do {
    json body = {{"filter", {{"n", {{"$gte", 25}}}}}, {"sort", {{"field", "n"}, {"order", "desc"}}}, {"limit", 40}};
    if (!cursor.empty()) body["cursor"] = cursor;
    auto page = client_->Post("/v1/doc/items/find", body);
    ASSERT_EQ(page.status, 200) << page.body;
    EXPECT_EQ(page.json["plan"]["sort"], "index");
    for (const auto& d : page.json["documents"]) ns.push_back(d["doc"]["n"]);
    cursor = page.json.value("next_cursor", "");
    ++pages;
  } while (!cursor.empty());
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(ns.size(), 105u);
  EXPECT_EQ(ns.front(), 129);
  EXPECT_EQ(ns.back(), 25);
  EXPECT_TRUE(std::is_sorted(ns.rbegin(), ns.rend()));
  // A cursor belongs to its sort.
  auto first = client_->Post("/v1/doc/items/find", {{"limit", 5}});
  EXPECT_EQ(client_->Post("/v1/doc/items/find",
                          {{"sort", {{"field", "n"}}}, {"cursor", first.json["next_cursor"]}})
                .status,
            400);
}

// A find that reads more than ~1,000 documents runs again on the blocking
// pool: the same answer as a cheap one, with the plan of the whole run.
TEST_F(DocApiTest, LongFindAnswersFromThePool) {
  constexpr int kDocs = 1200, kThreads = 8;
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      auto c = server_.Client();
      for (int i = t; i < kDocs; i += kThreads) {
        ASSERT_EQ(c->Put("/v1/doc/many/d" + std::to_string(10000 + i), {{"i", i}, {"odd", i % 2}}).status, 200);
      }
    });
  }
  for (auto& w : writers) w.join();
  // $or defeats the index: a scan of every document.
  auto r = client_->Post("/v1/doc/many/find",
                         {{"filter", {{"$or", {{{"i", {{"$gte", 1190}}}}}}}}, {"limit", 5}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json["documents"].size(), 5u) << r.body;
  EXPECT_EQ(r.json["documents"][0]["id"], "d11190");
  EXPECT_EQ(r.json["plan"]["used"], "scan");
  EXPECT_GE(r.json["plan"]["examined"].get<int>(), 1195);
  auto rest = client_->Post("/v1/doc/many/find", {{"filter", {{"$or", {{{"i", {{"$gte", 1190}}}}}}}},
                                                  {"limit", 5},
                                                  {"cursor", r.json["next_cursor"]}});
  ASSERT_EQ(rest.status, 200) << rest.body;
  EXPECT_EQ(rest.json["documents"].size(), 5u);
  EXPECT_EQ(rest.json["documents"][4]["id"], "d11199");
  // Errors are answered from the pool as well.
  auto bad = client_->Post("/v1/doc/many/find", {{"filter", {{"$or", {{{"i", 1}}}}}}, {"cursor", "not-a-cursor"}});
  EXPECT_EQ(bad.status, 400) << bad.body;
}

TEST_F(DocApiTest, ListCollectionsPagesAndDrop) {
  for (int i = 0; i < 45; ++i) ASSERT_EQ(client_->Put("/v1/doc/big/x" + std::to_string(i), {{"i", i}}).status, 200);
  ASSERT_EQ(client_->Put("/v1/doc/small/only", json::object()).status, 200);
  auto cols = client_->Get("/v1/doc");
  ASSERT_EQ(cols.status, 200);
  EXPECT_EQ(cols.json, (json{{"collections", {{{"collection", "big"}, {"count", 45}},
                                              {{"collection", "small"}, {"count", 1}}}}}));
  std::set<std::string> ids;
  std::string cursor;
  std::string last;
  do {
    auto page = client_->Get("/v1/doc/big?limit=10" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(page.status, 200) << page.body;
    EXPECT_FALSE(page.json.contains("plan"));
    for (const auto& d : page.json["documents"]) {
      EXPECT_GT(d["id"].get<std::string>(), last);
      last = d["id"];
      ids.insert(last);
    }
    cursor = page.json.value("next_cursor", "");
  } while (!cursor.empty());
  EXPECT_EQ(ids.size(), 45u);
  EXPECT_EQ(client_->Get("/v1/doc/unknown").json, (json{{"documents", json::array()}}));
  EXPECT_EQ(client_->Get("/v1/doc/big?limit=x").status, 400);

  auto drop = client_->Delete("/v1/doc/big");
  ASSERT_EQ(drop.status, 200) << drop.body;
  EXPECT_EQ(drop.json, (json{{"dropped", true}, {"count", 45}}));
  EXPECT_EQ(client_->Delete("/v1/doc/big").json, (json{{"dropped", false}, {"count", 0}}));
  EXPECT_EQ(client_->Get("/v1/doc/big/x1").status, 404);
  EXPECT_EQ(client_->Get("/v1/doc").json["collections"].size(), 1u);
  auto log = client_->Get("/v1/log?since=46");
  ASSERT_EQ(log.json["events"].size(), 1u);
  EXPECT_EQ(log.json["events"][0]["type"], "doc_collection_dropped");
}

TEST_F(DocApiTest, SurvivesRestart) {
  ASSERT_EQ(client_->Put("/v1/doc/c/a", {{"status", "on"}}).status, 200);
  ASSERT_EQ(client_->Put("/v1/doc/c/b", {{"status", "off"}}).status, 200);
  ASSERT_TRUE(server_.Restart()) << server_.output();
  client_ = server_.Client();
  EXPECT_EQ(client_->Get("/v1/doc/c/a").json["doc"]["status"], "on");
  auto found = client_->Post("/v1/doc/c/find", {{"filter", {{"status", "off"}}}});
  ASSERT_EQ(found.json["documents"].size(), 1u);
  EXPECT_EQ(found.json["documents"][0]["id"], "b");
  EXPECT_EQ(found.json["plan"]["used"], "index");
}

}  // namespace
}  // namespace kissvdb::testing
