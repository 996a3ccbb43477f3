// /v1/state and /v1/events + /v1/log against the real binary.
#include <gtest/gtest.h>

#include <thread>

#include "test_client.h"

namespace kissvdb::testing {
namespace {

using nlohmann::json;

class StateApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start()) << server_.output();
    client_ = server_.Client();
  }
  TestServer server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(StateApiTest, PutGetDeleteShapes) {
  auto put = client_->Put("/v1/state/greeting", {{"value", {{"hello", "world"}}}});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.json, (json{{"key", "greeting"}, {"revision", 1}, {"expires_at_ms", nullptr}}));
  auto get = client_->Get("/v1/state/greeting");
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(get.json, (json{{"key", "greeting"}, {"value", {{"hello", "world"}}}, {"revision", 1}, {"expires_at_ms", nullptr}}));
  EXPECT_EQ(client_->Put("/v1/state/greeting", {{"value", 2}}).json["revision"], 2);
  auto del = client_->Delete("/v1/state/greeting");
  EXPECT_EQ(del.status, 200);
  EXPECT_EQ(del.json, (json{{"deleted", true}}));
  EXPECT_EQ(client_->Delete("/v1/state/greeting").json, (json{{"deleted", false}}));
  auto missing = client_->Get("/v1/state/greeting");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json["error"], "not_found");
}

TEST_F(StateApiTest, KeysArePercentDecodedPathSegments) {
  ASSERT_EQ(client_->Put("/v1/state/a%2Fb%20c", {{"value", 1}}).status, 200);
  auto get = client_->Get("/v1/state/a%2Fb%20c");
  ASSERT_EQ(get.status, 200);
  EXPECT_EQ(get.json["key"], "a/b c");
  auto list = client_->Get("/v1/state?prefix=a%2F");
  ASSERT_EQ(list.json.size(), 1u);
  EXPECT_EQ(client_->Get("/v1/state/%ff%fe").status, 400) << "invalid UTF-8 key";
  EXPECT_EQ(client_->Get("/v1/state/" + std::string(513, 'k')).status, 400);
}

TEST_F(StateApiTest, CompareAndSetAndTtl) {
  auto created = client_->Put("/v1/state/c", {{"value", 1}, {"if_revision", 0}});
  ASSERT_EQ(created.status, 200) << created.body;
  auto conflict = client_->Put("/v1/state/c", {{"value", 2}, {"if_revision", 5}});
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(conflict.json["error"], "revision_mismatch");
  EXPECT_NE(conflict.json["message"].get<std::string>().find("current revision is 1"), std::string::npos);
  EXPECT_EQ(client_->Put("/v1/state/absent", {{"value", 2}, {"if_revision", 1}}).status, 409);
  auto ttl = client_->Put("/v1/state/t", {{"value", 1}, {"ttl_ms", 60000}});
  ASSERT_EQ(ttl.status, 200);
  EXPECT_TRUE(ttl.json["expires_at_ms"].is_number());
  auto gone = client_->Put("/v1/state/short", {{"value", 1}, {"ttl_ms", 1}});
  ASSERT_EQ(gone.status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(client_->Get("/v1/state/short").status, 404);
}

TEST_F(StateApiTest, ListOrderPrefixAfterLimit) {
  for (const char* k : {"p:3", "p:1", "q:1", "p:2"}) ASSERT_EQ(client_->Put(std::string("/v1/state/") + k, {{"value", k}}).status, 200);
  auto all = client_->Get("/v1/state?prefix=p:");
  ASSERT_EQ(all.status, 200);
  ASSERT_TRUE(all.json.is_array());
  ASSERT_EQ(all.json.size(), 3u);
  EXPECT_EQ(all.json[0]["key"], "p:1");
  EXPECT_EQ(all.json[2]["key"], "p:3");
  auto page = client_->Get("/v1/state?prefix=p:&after=p:1&limit=1");
  ASSERT_EQ(page.json.size(), 1u);
  EXPECT_EQ(page.json[0]["key"], "p:2");
  EXPECT_EQ(client_->Get("/v1/state?limit=x").status, 400);
}

TEST_F(StateApiTest, BatchPutPerItemAndAtomic) {
  auto r = client_->Post("/v1/state/batch_put",
                         {{"operations", {{{"key", "b1"}, {"value", 1}}, {{"key", "b2"}, {"value", 2}, {"if_revision", 3}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json["results"].size(), 2u);
  EXPECT_EQ(r.json["results"][0]["status"], "ok");
  EXPECT_EQ(r.json["results"][0]["revision"], 1);
  EXPECT_EQ(r.json["results"][1]["status"], "error");
  EXPECT_EQ(r.json["results"][1]["key"], "b2");
  EXPECT_EQ(r.json["results"][1]["error"]["error"], "revision_mismatch");

  auto atomic = client_->Post("/v1/state/batch_put", {{"atomic", true},
                                                      {"operations", {{{"key", "a1"}, {"value", 1}}, {{"key", "b2"}, {"value", 2}, {"if_revision", 3}}}}});
  EXPECT_EQ(atomic.status, 409) << atomic.body;
  EXPECT_EQ(client_->Get("/v1/state/a1").status, 404) << "nothing of a failed atomic batch is applied";
  EXPECT_EQ(client_->Post("/v1/state/batch_put", {{"operations", json::array()}}).status, 400);
  json many = json::array();
  for (int i = 0; i < 257; ++i) many.push_back({{"key", "k" + std::to_string(i)}, {"value", i}});
  EXPECT_EQ(client_->Post("/v1/state/batch_put", {{"operations", many}}).status, 400);
}

TEST_F(StateApiTest, BadInputIsA4xxJsonError) {
  auto check = [](const HttpResponse& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.json["error"], code) << r.body;
    EXPECT_TRUE(r.json["message"].is_string());
  };
  check(client_->Request("PUT", "/v1/state/x", "{not json"), 400, "invalid_argument");
  check(client_->Request("PUT", "/v1/state/x", "[1,2]"), 400, "invalid_argument");
  check(client_->Put("/v1/state/x", {{"val", 1}}), 400, "invalid_argument");
  check(client_->Put("/v1/state/x", {{"value", 1}, {"ttl_ms", "soon"}}), 400, "invalid_argument");
  check(client_->Put("/v1/state/x", {{"value", 1}, {"ttl_ms", -5}}), 400, "invalid_argument");
  check(client_->Put("/v1/state/x", {{"value", 1}, {"ttl_ms", 0}}), 400, "invalid_argument");
  check(client_->Request("PUT", "/v1/state/x", "{\"value\":1}", {{"Content-Type", "text/plain"}}), 415,
        "unsupported_media_type");
  check(client_->Put("/v1/state/x", {{"value", std::string(70 * 1024, 'x')}}), 413, "payload_too_large");
  EXPECT_EQ(client_->Get("/v1/state/x").status, 404) << "no half-applied write";
}

TEST_F(StateApiTest, DataSurvivesRestartAndKill) {
  ASSERT_EQ(client_->Put("/v1/state/durable", {{"value", "yes"}}).status, 200);
  ASSERT_TRUE(server_.Restart()) << server_.output();
  client_ = server_.Client();
  EXPECT_EQ(client_->Get("/v1/state/durable").json["value"], "yes");
  ASSERT_EQ(client_->Put("/v1/state/durable", {{"value", "still"}}).status, 200);
  server_.Kill();
  ASSERT_TRUE(server_.Start()) << server_.output();
  client_ = server_.Client();
  auto get = client_->Get("/v1/state/durable");
  EXPECT_EQ(get.json["value"], "still");
  EXPECT_EQ(get.json["revision"], 2);
}

TEST_F(StateApiTest, UserEventsAndLogPages) {
  ASSERT_EQ(client_->Put("/v1/state/k", {{"value", 1}}).status, 200);
  auto ev = client_->Post("/v1/events", {{"type", "order.created"}, {"data", {{"id", 7}}}});
  ASSERT_EQ(ev.status, 200) << ev.body;
  EXPECT_EQ(ev.json["offset"], 2);
  EXPECT_EQ(client_->Post("/v1/events", {{"type", "x"}, {"expected_offset", 1}}).status, 409);
  EXPECT_EQ(client_->Post("/v1/events", {{"type", "x"}, {"expected_offset", 2}}).status, 200);
  EXPECT_EQ(client_->Post("/v1/events", {{"type", "state_updated"}}).status, 400);
  EXPECT_EQ(client_->Post("/v1/events", {{"type", "bad type!"}}).status, 400);
  auto page = client_->Get("/v1/log?since=0&limit=2");
  ASSERT_EQ(page.status, 200) << page.body;
  ASSERT_EQ(page.json["events"].size(), 2u);
  EXPECT_EQ(page.json["events"][0]["type"], "state_updated");
  EXPECT_EQ(page.json["events"][0]["data"]["key"], "k");
  EXPECT_EQ(page.json["events"][1]["data"]["id"], 7);
  EXPECT_EQ(page.json["next_since"], 2);
  EXPECT_EQ(page.json["last_offset"], 3);
  auto rest = client_->Get("/v1/log?since=2");
  ASSERT_EQ(rest.json["events"].size(), 1u);
  EXPECT_EQ(rest.json["events"][0]["offset"], 3);
}

}  // namespace
}  // namespace kissvdb::testing
