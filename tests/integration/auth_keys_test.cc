// /v1/auth/keys and role enforcement against the real binary.
#include <gtest/gtest.h>

#include "test_client.h"

namespace kissvdb::testing {
namespace {

using nlohmann::json;

class AuthKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start()) << server_.output();
    admin_ = server_.Client();
  }
  // Creates a key and returns {id, key}.
  json Create(const std::string& name, const std::string& role) {
    auto r = admin_->Post("/v1/auth/keys", {{"name", name}, {"role", role}});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json;
  }
  std::unique_ptr<HttpClient> ClientWith(const std::string& key) {
    return std::make_unique<HttpClient>(server_.port(), key);
  }
  TestServer server_;
  std::unique_ptr<HttpClient> admin_;
};

TEST_F(AuthKeysTest, CreateReturnsTheKeyOnceAndListHidesIt) {
  auto r = admin_->Post("/v1/auth/keys", {{"name", "ci"}, {"permissions", {{"team", "a"}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string key = r.json["key"];
  EXPECT_EQ(key.rfind("kvdb_", 0), 0u);
  EXPECT_EQ(key.size(), 5u + 64u);
  EXPECT_EQ(r.json["role"], "read_write");  // the default
  auto list = admin_->Get("/v1/auth/keys");
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_TRUE(list.json.is_array());
  ASSERT_EQ(list.json.size(), 1u);
  const json& k = list.json[0];
  EXPECT_EQ(k["id"], r.json["id"]);
  EXPECT_EQ(k["name"], "ci");
  EXPECT_EQ(k["role"], "read_write");
  EXPECT_EQ(k["permissions"], (json{{"team", "a"}}));
  EXPECT_EQ(k["revoked"], false);
  EXPECT_TRUE(k["created_at_ms"].is_number());
  EXPECT_FALSE(k.contains("key"));
  EXPECT_FALSE(k.contains("hash"));
  EXPECT_EQ(list.body.find(key.substr(5)), std::string::npos);
  // The log shows the event but never the digest.
  auto log = admin_->Get("/v1/log?since=0");
  ASSERT_EQ(log.status, 200);
  ASSERT_FALSE(log.json["events"].empty());
  EXPECT_EQ(log.json["events"].back()["type"], "_sys.auth_key_created");
  EXPECT_FALSE(log.json["events"].back()["data"].contains("hash"));
  EXPECT_EQ(log.body.find(key.substr(5)), std::string::npos);
}

TEST_F(AuthKeysTest, BadRequestsAreRefused) {
  EXPECT_EQ(admin_->Post("/v1/auth/keys", {{"role", "admin"}}).status, 400);
  EXPECT_EQ(admin_->Post("/v1/auth/keys", {{"name", "x"}, {"role", "root"}}).status, 400);
  EXPECT_EQ(admin_->Post("/v1/auth/keys", {{"name", "x"}, {"permissions", 3}}).status, 400);
  EXPECT_EQ(admin_->Delete("/v1/auth/keys/key_nope").status, 404);
  // Users cannot forge key events.
  EXPECT_EQ(admin_->Post("/v1/events", {{"type", "_sys.auth_key_created"}, {"data", json::object()}}).status, 400);
}

TEST_F(AuthKeysTest, ReadOnlyKeysCannotWrite) {
  auto ro = ClientWith(Create("reader", "read_only")["key"]);
  ASSERT_EQ(admin_->Put("/v1/state/x", {{"value", 1}}).status, 200);
  ASSERT_EQ(admin_->Post("/v1/vector/c", {{"dim", 2}, {"metric", "cosine"}}).status, 200);
  EXPECT_EQ(ro->Get("/v1/state/x").status, 200);
  EXPECT_EQ(ro->Get("/v1/vector/c").status, 200);
  EXPECT_EQ(ro->Post("/v1/vector/c/search", {{"vector", {1.0, 0.0}}, {"k", 1}}).status, 200);
  EXPECT_EQ(ro->Post("/v1/sql/query", {{"sql", "SELECT 1"}}).status, 200);
  EXPECT_EQ(ro->Get("/v1/log").status, 200);
  auto put = ro->Put("/v1/state/x", {{"value", 2}});
  EXPECT_EQ(put.status, 403);
  EXPECT_EQ(put.json["error"], "forbidden");
  EXPECT_EQ(ro->Post("/v1/vector/d", {{"dim", 2}, {"metric", "cosine"}}).status, 403);
  EXPECT_EQ(ro->Post("/v1/sql/exec", {{"sql", "CREATE TABLE t(a)"}}).status, 403);
  EXPECT_EQ(ro->Post("/v1/events", {{"type", "x"}}).status, 403);
  EXPECT_EQ(ro->Put("/v1/doc/c/1", {{"a", 1}}).status, 403);
  EXPECT_EQ(admin_->Get("/v1/state/x").json["value"], 1);
}

TEST_F(AuthKeysTest, OnlyAdminsManageKeys) {
  auto rw = ClientWith(Create("writer", "read_write")["key"]);
  auto ro = ClientWith(Create("reader", "read_only")["key"]);
  auto admin2 = ClientWith(Create("ops", "admin")["key"]);
  EXPECT_EQ(rw->Put("/v1/state/y", {{"value", 1}}).status, 200);
  for (HttpClient* c : {rw.get(), ro.get()}) {
    EXPECT_EQ(c->Get("/v1/auth/keys").status, 403);
    EXPECT_EQ(c->Post("/v1/auth/keys", {{"name", "z"}}).status, 403);
    EXPECT_EQ(c->Delete("/v1/auth/keys/whatever").status, 403);
    EXPECT_EQ(c->Post("/v1/admin/snapshot", json::object()).status, 403);
  }
  // An admin API key can manage keys.
  auto made = admin2->Post("/v1/auth/keys", {{"name", "made-by-ops"}, {"role", "read_only"}});
  EXPECT_EQ(made.status, 200) << made.body;
  EXPECT_EQ(admin2->Get("/v1/auth/keys").json.size(), 4u);
}

TEST_F(AuthKeysTest, RevocationTakesEffectOnTheNextRequest) {
  json created = Create("temp", "read_write");
  auto c = ClientWith(created["key"]);
  ASSERT_EQ(c->Get("/v1/state").status, 200);
  auto del = admin_->Delete("/v1/auth/keys/" + created["id"].get<std::string>());
  ASSERT_EQ(del.status, 204) << del.body;
  auto after = c->Get("/v1/state");
  EXPECT_EQ(after.status, 401);
  EXPECT_EQ(after.json["message"], "invalid api key");
  // Idempotent; listed as revoked.
  EXPECT_EQ(admin_->Delete("/v1/auth/keys/" + created["id"].get<std::string>()).status, 204);
  auto list = admin_->Get("/v1/auth/keys");
  ASSERT_EQ(list.json.size(), 1u);
  EXPECT_EQ(list.json[0]["revoked"], true);
  // Wrong keys of the right shape are refused too.
  EXPECT_EQ(ClientWith("kvdb_" + std::string(64, '0'))->Get("/v1/state").status, 401);
}

TEST_F(AuthKeysTest, KeysSurviveRestart) {
  json keep = Create("keep", "read_only");
  json gone = Create("gone", "read_write");
  ASSERT_EQ(admin_->Delete("/v1/auth/keys/" + gone["id"].get<std::string>()).status, 204);
  ASSERT_TRUE(server_.Restart()) << server_.output();
  EXPECT_EQ(ClientWith(keep["key"])->Get("/v1/state").status, 200);
  EXPECT_EQ(ClientWith(keep["key"])->Put("/v1/state/q", {{"value", 1}}).status, 403);
  EXPECT_EQ(ClientWith(gone["key"])->Get("/v1/state").status, 401);
  auto c = server_.Client();
  EXPECT_EQ(c->Get("/v1/auth/keys").json.size(), 2u);
}

}  // namespace
}  // namespace kissvdb::testing
