// The history's format 1 -> 2 conversion (docs/history.md, "Format"): a
// directory whose KV and document versions are in format 1's (key, offset)
// tables, as builds before format 2 wrote them, opens with every read at
// every offset unchanged, and goes on from there. Real WAL and LMDB; the
// format 1 tables are written by the class that wrote them then
// (kv::Format1History).
#include <lmdb.h>

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine_fixture.h"
#include "doc/doc_history.h"
#include "doc/doc_store.h"
#include "kv/lmdb.h"
#include "kv/state_history.h"
#include "kv/state_store.h"
#include "kv/format1_history.h"

namespace kissvdb {
namespace {

class HistoryFormatTest : public EngineFixture {
 protected:
  void Configure(EngineOptions& options) override { options.config.durability = Durability::kNone; }

  void RandomWrites(int n, int keys, std::mt19937& rng) {
    for (int i = 0; i < n; ++i) {
      const std::string key = "k" + std::to_string(rng() % keys);
      if (rng() % 6 == 0) {
        auto r = Wait<bool>([&](auto cb) { engine_->DeleteState(key, cb); });
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        if (!*r) continue;
        model_[key][engine_->Stats().last_offset] = std::nullopt;
      } else {
        const int v = static_cast<int>(rng() % 100000);
        auto r = Wait<StatePutResult>([&](auto cb) { engine_->PutState(StatePut{key, v, {}, {}}, cb); });
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        model_[key][engine_->Stats().last_offset] = v;
      }
    }
  }

  // Puts, deletes and collection drops of documents in two collections.
  void RandomDocWrites(int n, int ids, std::mt19937& rng) {
    for (int i = 0; i < n; ++i) {
      const std::string collection = rng() % 2 ? "c1" : "c2";
      const std::string id = "d" + std::to_string(rng() % ids);
      const uint32_t op = rng() % 40;
      if (op == 0) {
        auto r = Wait<uint64_t>([&](auto cb) { engine_->DropDocCollection(collection, cb); });
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        if (*r == 0) continue;
        const uint64_t offset = engine_->Stats().last_offset;
        for (auto& [doc_id, versions] : docs_[collection]) {
          if (!versions.empty() && versions.rbegin()->second) versions[offset] = std::nullopt;
        }
      } else if (op < 7) {
        auto r = Wait<bool>([&](auto cb) { engine_->DeleteDoc(collection, id, std::nullopt, cb); });
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        if (!*r) continue;
        docs_[collection][id][engine_->Stats().last_offset] = std::nullopt;
      } else {
        const int v = static_cast<int>(rng() % 100000);
        auto r = Wait<DocItem>([&](auto cb) { engine_->PutDoc(DocPut{collection, id, Json{{"v", v}}, {}}, cb); });
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        docs_[collection][id][engine_->Stats().last_offset] = v;
      }
    }
  }

  // Every read of every key at every offset, every listing and every
  // history page equal the model.
  void CheckAll() {
    ASSERT_NO_FATAL_FAILURE(CheckKeys());
    ASSERT_NO_FATAL_FAILURE(CheckDocs());
  }

  void CheckDocs() {
    const uint64_t last = engine_->Stats().last_offset;
    for (uint64_t at = 1; at <= last; ++at) {
      for (const auto& [collection, items] : docs_) {
        std::vector<std::string> live;
        for (const auto& [id, versions] : items) {
          auto it = versions.upper_bound(at);
          const bool present = it != versions.begin() && std::prev(it)->second.has_value();
          auto got = engine_->GetDocAt(collection, id, at);
          if (!present) {
            ASSERT_EQ(got.status().code(), Code::kNotFound) << collection << "/" << id << " at " << at;
            continue;
          }
          live.push_back(id);
          ASSERT_TRUE(got.ok()) << collection << "/" << id << " at " << at << ": " << got.status().ToString();
          ASSERT_EQ(Json::parse(got->doc_json), (Json{{"v", *std::prev(it)->second}})) << id << " at " << at;
        }
        auto page = engine_->ListDocsAt(collection, "", 1000, at);
        ASSERT_TRUE(page.ok()) << page.status().ToString();
        std::vector<std::string> listed;
        for (const auto& d : page->documents) listed.push_back(d.id);
        ASSERT_EQ(listed, live) << collection << " at " << at;
      }
    }
    for (const auto& [collection, items] : docs_) {
      for (const auto& [id, versions] : items) {
        auto page = engine_->GetDocHistory(collection, id, 0, 100000);
        ASSERT_TRUE(page.ok()) << page.status().ToString();
        ASSERT_EQ(page->versions.size(), versions.size()) << collection << "/" << id;
        auto want = versions.rbegin();
        for (const StateVersion& v : page->versions) {
          ASSERT_EQ(v.offset, want->first) << id;
          ASSERT_EQ(v.deleted, !want->second.has_value()) << id;
          ++want;
        }
      }
    }
  }

  void CheckKeys() {
    const uint64_t last = engine_->Stats().last_offset;
    for (uint64_t at = 1; at <= last; ++at) {
      std::vector<std::string> live;
      for (const auto& [key, versions] : model_) {
        auto it = versions.upper_bound(at);
        const bool present = it != versions.begin() && std::prev(it)->second.has_value();
        auto got = engine_->GetStateAt(key, at);
        if (!present) {
          ASSERT_EQ(got.status().code(), Code::kNotFound) << key << " at " << at;
          continue;
        }
        live.push_back(key);
        ASSERT_TRUE(got.ok()) << key << " at " << at << ": " << got.status().ToString();
        ASSERT_EQ(got->value_json, std::to_string(*std::prev(it)->second)) << key << " at " << at;
      }
      auto page = engine_->ListStateAt("k", "", 1000, at);
      ASSERT_TRUE(page.ok()) << page.status().ToString();
      std::vector<std::string> listed;
      for (const auto& item : page->items) listed.push_back(item.key);
      ASSERT_EQ(listed, live) << "at " << at;
    }
    for (const auto& [key, versions] : model_) {
      auto page = engine_->GetStateHistory(key, 0, 100000);
      ASSERT_TRUE(page.ok()) << page.status().ToString();
      ASSERT_EQ(page->versions.size(), versions.size()) << key;
      auto want = versions.rbegin();
      for (const StateVersion& v : page->versions) {
        ASSERT_EQ(v.offset, want->first) << key;
        ASSERT_EQ(v.deleted, !want->second.has_value()) << key;
        if (want->second) {
          ASSERT_EQ(v.value_json, std::to_string(*want->second)) << key;
        }
        ++want;
      }
    }
  }

  std::map<std::string, std::map<uint64_t, std::optional<int>>> model_;
  // collection -> id -> offset -> value ("v"), nullopt when deleted or dropped
  std::map<std::string, std::map<std::string, std::map<uint64_t, std::optional<int>>>> docs_;
};

// Rewrites the directory's KV history as format 1: the versions into
// `state_history` by (key, offset), state records without heads, no
// format 2 tables.
void DowngradeToFormat1(const std::filesystem::path& dir, const std::vector<std::string>& keys,
                        const std::vector<std::pair<std::string, std::string>>& docs) {
  kv::LmdbEnv::Options o;
  o.path = (dir / "state.lmdb").string();
  auto env = kv::LmdbEnv::Open(o);
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  auto txn = kv::Txn::Begin(**env, /*read_only=*/false);
  ASSERT_TRUE(txn.ok());
  auto state = kv::StateStore::Open(*txn);
  ASSERT_TRUE(state.ok());
  auto now = kv::StateHistory::Open(*txn, *state, 1);
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  auto horizon = now->Horizon(*txn);
  ASSERT_TRUE(horizon.ok());
  auto old = kv::Format1History::Open(*txn, "state_history");
  ASSERT_TRUE(old.ok());
  ASSERT_TRUE(old->SetHorizon(*txn, *horizon).ok());
  for (const std::string& key : keys) {
    std::vector<kv::Version> versions;
    ASSERT_TRUE(now->Versions(*txn, key, UINT64_MAX, 100000, &versions).ok());
    for (const kv::Version& v : versions) {
      Status st = v.deleted ? old->ApplyDelete(*txn, key, v.offset, v.ts_ms,
                                               v.reason == "ttl" ? kv::DeleteReason::kTtl : kv::DeleteReason::kExplicit)
                            : old->ApplyPut(*txn, key, v.offset, v.ts_ms, v.revision, v.expires_at_ms, v.value_json);
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
  }
  auto doc_store = doc::DocStore::Open(*txn);
  ASSERT_TRUE(doc_store.ok());
  auto doc_now = doc::DocHistory::Open(*txn, *doc_store, 1);
  ASSERT_TRUE(doc_now.ok()) << doc_now.status().ToString();
  auto doc_old = kv::Format1History::Open(*txn, "doc_history");
  ASSERT_TRUE(doc_old.ok());
  ASSERT_TRUE(doc_old->SetHorizon(*txn, *horizon).ok());
  for (const auto& [collection, id] : docs) {
    const std::string key = doc::DocHistory::Key(collection, id);
    std::vector<kv::Version> versions;
    ASSERT_TRUE(doc_now->Versions(*txn, key, UINT64_MAX, 100000, &versions).ok());
    for (const kv::Version& v : versions) {
      Status st = v.deleted ? doc_old->ApplyDelete(*txn, key, v.offset, v.ts_ms,
                                                   v.reason == "drop" ? kv::DeleteReason::kDrop
                                                                      : kv::DeleteReason::kExplicit)
                            : doc_old->ApplyPut(*txn, key, v.offset, v.ts_ms, v.revision, 0, v.value_json);
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
    auto stripped = doc_store->SetHeads(*txn, key, "");  // a record as format 1 wrote it
    ASSERT_TRUE(stripped.ok());
  }
  std::vector<kv::StateRecord> records;
  ASSERT_TRUE(state->List(*txn, "", "", 1000000, 0, &records).ok());
  for (const kv::StateRecord& r : records) {
    ASSERT_TRUE(state->ApplyPut(*txn, r.key, r.revision, r.expires_at_ms, r.value_json).ok());  // no heads
  }
  for (const char* name : {"state_versions", "state_heads_deleted", "doc_versions", "doc_heads_deleted"}) {
    auto dbi = txn->OpenDb(name);
    ASSERT_TRUE(dbi.ok());
    ASSERT_EQ(mdb_drop(txn->get(), *dbi, 1), 0);
  }
  ASSERT_TRUE(txn->Commit().ok());
}

TEST_F(HistoryFormatTest, AFormat1DirectoryConvertsWithEveryReadUnchanged) {
  std::mt19937 rng(25);
  RandomWrites(400, 9, rng);  // ~45 versions a key: chains past the 16 heads
  // A key deleted last, and one written once.
  auto once = Wait<StatePutResult>([&](auto cb) { engine_->PutState(StatePut{"k-once", 7, {}, {}}, cb); });
  ASSERT_TRUE(once.ok());
  model_["k-once"][engine_->Stats().last_offset] = 7;
  RandomDocWrites(300, 6, rng);
  ASSERT_NO_FATAL_FAILURE(CheckAll());
  const uint64_t versions = engine_->HistoryUsage().versions;
  engine_.reset();
  std::vector<std::string> keys;
  for (const auto& [key, v] : model_) keys.push_back(key);
  std::vector<std::pair<std::string, std::string>> docs;
  for (const auto& [collection, items] : docs_) {
    for (const auto& [id, v] : items) docs.emplace_back(collection, id);
  }
  ASSERT_NO_FATAL_FAILURE(DowngradeToFormat1(dir_, keys, docs));
  Open();
  EXPECT_EQ(engine_->HistoryUsage().versions, versions);
  ASSERT_NO_FATAL_FAILURE(CheckAll());
  {  // the format 1 table is gone
    engine_.reset();
    kv::LmdbEnv::Options o;
    o.path = (dir_ / "state.lmdb").string();
    auto env = kv::LmdbEnv::Open(o);
    ASSERT_TRUE(env.ok());
    auto txn = kv::Txn::Begin(**env, /*read_only=*/true);
    ASSERT_TRUE(txn.ok());
    MDB_dbi dbi;
    EXPECT_EQ(mdb_dbi_open(txn->get(), "state_history", 0, &dbi), MDB_NOTFOUND);
    EXPECT_EQ(mdb_dbi_open(txn->get(), "doc_history", 0, &dbi), MDB_NOTFOUND);
  }
  Open();
  RandomWrites(200, 9, rng);  // new versions chain onto the converted ones
  RandomDocWrites(200, 6, rng);
  ASSERT_NO_FATAL_FAILURE(CheckAll());
  Reopen();
  ASSERT_NO_FATAL_FAILURE(CheckAll());
}

}  // namespace
}  // namespace kissvdb
