// API keys in the engine: event-sourced, replayed, looked up by digest.
#include "engine/auth_keys.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>

#include "engine_fixture.h"

namespace kissvdb {
namespace {

namespace fs = std::filesystem;

class AuthKeysEngineTest : public EngineFixture {
 protected:
  Result<CreatedApiKey> Create(std::string name, std::string role) {
    NewApiKey k;
    k.name = std::move(name);
    k.role = std::move(role);
    return Wait<CreatedApiKey>([&](auto cb) { engine_->CreateApiKey(k, cb); });
  }
  Result<bool> Revoke(const std::string& id) {
    return Wait<bool>([&](auto cb) { engine_->RevokeApiKey(id, cb); });
  }

};

TEST_F(AuthKeysEngineTest, CreateLookupRevoke) {
  auto a = Create("a", "read_only");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto found = engine_->LookupApiKey(a->key);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, a->info.id);
  EXPECT_EQ(found->role, "read_only");
  EXPECT_FALSE(engine_->LookupApiKey(a->key + "x").has_value());
  EXPECT_FALSE(engine_->LookupApiKey("kvdb_" + std::string(64, 'f')).has_value());
  EXPECT_FALSE(engine_->LookupApiKey("").has_value());

  ASSERT_TRUE(Revoke(a->info.id).ok());
  EXPECT_FALSE(engine_->LookupApiKey(a->key).has_value());  // at once
  EXPECT_TRUE(Revoke(a->info.id).ok());                     // idempotent
  EXPECT_EQ(Revoke("key_unknown").status().code(), Code::kNotFound);
  auto list = engine_->ListApiKeys();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_NE((*list)[0].revoked_at_ms, 0u);
}

TEST_F(AuthKeysEngineTest, Validation) {
  EXPECT_EQ(Create("", "admin").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Create("x", "superuser").status().code(), Code::kInvalidArgument);
  NewApiKey k;
  k.name = "p";
  k.permissions = Json::array();
  EXPECT_EQ(Wait<CreatedApiKey>([&](auto cb) { engine_->CreateApiKey(k, cb); }).status().code(),
            Code::kInvalidArgument);
}

// Keys come back after a restart and after a full rebuild of LMDB from the
// log, with an identical materialized state.
TEST_F(AuthKeysEngineTest, ReplayIsDeterministic) {
  auto keep = Create("keep", "admin");
  auto gone = Create("gone", "read_write");
  ASSERT_TRUE(keep.ok() && gone.ok());
  ASSERT_TRUE(Revoke(gone->info.id).ok());
  auto digest = engine_->StateDigest();
  ASSERT_TRUE(digest.ok());

  engine_.reset();
  Open();
  EXPECT_EQ(engine_->LookupApiKey(keep->key)->role, "admin");
  EXPECT_FALSE(engine_->LookupApiKey(gone->key).has_value());

  engine_.reset();
  fs::remove(dir_ / "state.lmdb");
  fs::remove(dir_ / "state.lmdb-lock");
  Open();
  EXPECT_EQ(*engine_->StateDigest(), *digest);
  EXPECT_EQ(engine_->LookupApiKey(keep->key)->id, keep->info.id);
  EXPECT_FALSE(engine_->LookupApiKey(gone->key).has_value());
  EXPECT_EQ(engine_->ListApiKeys()->size(), 2u);
}

// The log carries the digest (replay needs it); clients never see it.
TEST_F(AuthKeysEngineTest, LogReadsHideTheDigest) {
  auto a = Create("a", "read_only");
  ASSERT_TRUE(a.ok());
  auto page = engine_->ReadEvents(0, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_EQ(page->events[0].type, event_type::kAuthKeyCreated);
  EXPECT_TRUE(event_type::IsSystem(page->events[0].type));
  EXPECT_FALSE(page->events[0].data.contains("hash"));
  EXPECT_EQ(page->events[0].data["id"], a->info.id);
  EXPECT_EQ(auth_keys::DigestHex(a->key).size(), 64u);
}

}  // namespace
}  // namespace kissvdb
