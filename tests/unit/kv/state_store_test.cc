// StateStore's writes through a cursor (the replay's path) against its
// writes through the transaction: real LMDB files, the same random puts,
// TTL changes and deletions, byte-identical tables.
#include "kv/state_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>

namespace kissvdb::kv {
namespace {

namespace fs = std::filesystem;

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kissvdb-kv-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<LmdbEnv> OpenEnv(const std::string& name) {
    LmdbEnv::Options options;
    options.path = (dir_ / name).string();
    options.map_size = 1ull << 30;
    auto env = LmdbEnv::Open(options);
    EXPECT_TRUE(env.ok()) << env.status().ToString();
    return env.ok() ? std::move(env.value()) : nullptr;
  }

  // Every entry of every table, in key order.
  static std::map<std::string, std::string> Dump(const LmdbEnv& env) {
    std::map<std::string, std::string> out;
    auto txn = Txn::Begin(env, /*read_only=*/true);
    EXPECT_TRUE(txn.ok());
    for (const char* name : {"state", "state_ttl"}) {
      auto dbi = txn->OpenDb(name);
      EXPECT_TRUE(dbi.ok());
      auto c = Cursor::Open(*txn, *dbi);
      for (bool v = c->First(); v; v = c->Next()) out[std::string(name) + "/" + std::string(c->key())] = c->value();
    }
    return out;
  }

  fs::path dir_;
};

TEST_F(StateStoreTest, PutsThroughACursorEqualPutsThroughTheTransaction) {
  auto by_txn = OpenEnv("txn.lmdb");
  auto by_cursor = OpenEnv("cursor.lmdb");
  ASSERT_TRUE(by_txn && by_cursor);
  std::mt19937 rng(5);
  for (int round = 0; round < 20; ++round) {
    auto a = Txn::Begin(*by_txn, false);
    auto b = Txn::Begin(*by_cursor, false);
    ASSERT_TRUE(a.ok() && b.ok());
    auto sa = StateStore::Open(*a);
    auto sb = StateStore::Open(*b);
    ASSERT_TRUE(sa.ok() && sb.ok());
    auto cursor = std::make_unique<Cursor>(std::move(sb->OpenCursor(*b).value()));
    for (int i = 0; i < 500; ++i) {
      const std::string key = "k" + std::to_string(rng() % 200);
      if (rng() % 10 == 0) {
        // A deletion between puts: the cursor is not used across it.
        cursor.reset();
        ASSERT_TRUE(sa->ApplyDelete(*a, key).ok());
        ASSERT_TRUE(sb->ApplyDelete(*b, key).ok());
        cursor = std::make_unique<Cursor>(std::move(sb->OpenCursor(*b).value()));
        continue;
      }
      const uint64_t revision = rng() % 1000 + 1;
      const uint64_t expires = rng() % 3 == 0 ? 0 : 1'700'000'000'000 + rng() % 5;  // often the same TTL again
      const std::string value(rng() % 3 == 0 ? 3000 : rng() % 40, 'a' + rng() % 26);  // sizes change
      ASSERT_TRUE(sa->ApplyPut(*a, key, revision, expires, value).ok());
      ASSERT_TRUE(sb->ApplyPut(*b, *cursor, key, revision, expires, value).ok());
    }
    cursor.reset();
    ASSERT_TRUE(a->Commit().ok());
    ASSERT_TRUE(b->Commit().ok());
  }
  const auto want = Dump(*by_txn);
  EXPECT_GT(want.size(), 150u);
  EXPECT_EQ(Dump(*by_cursor), want);
}

TEST_F(StateStoreTest, InsertLeavesAnExistingKeyAndShowsItsValue) {
  auto env = OpenEnv("insert.lmdb");
  ASSERT_TRUE(env);
  auto txn = Txn::Begin(*env, false);
  ASSERT_TRUE(txn.ok());
  auto dbi = txn->OpenDb("t", MDB_CREATE);
  ASSERT_TRUE(dbi.ok());
  auto c = Cursor::Open(*txn, *dbi);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(*c->Insert("a", "1"));
  EXPECT_TRUE(*c->Insert("b", "2"));
  auto again = c->Insert("a", "3");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_EQ(c->value(), "1");
  ASSERT_TRUE(c->Put("a", "three").ok());
  EXPECT_EQ(**txn->Get(*dbi, "a"), "three");
  EXPECT_EQ(**txn->Get(*dbi, "b"), "2");
}

}  // namespace
}  // namespace kissvdb::kv
