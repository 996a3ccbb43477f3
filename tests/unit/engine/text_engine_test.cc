// The text index through the engine: derived from the log exactly once,
// the same after a full replay (digest), caught up after a tail loss,
// rebuilt from the stores when missing or behind a trimmed log.
#include "engine_fixture.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

namespace kissvdb {
namespace {

namespace fs = std::filesystem;

class TextEngineTest : public EngineFixture {
 protected:
  Status Vectors(const std::string& collection, std::vector<VectorWrite> items) {
    auto r = Wait<VectorBatchResult>([&](auto cb) {
      engine_->WriteVectors(collection, VectorWriteKind::kUpsert, std::move(items), /*atomic=*/true, cb);
    });
    return r.status();
  }
  Status Doc(const std::string& collection, const std::string& id, Json doc) {
    return Wait<DocItem>([&](auto cb) { engine_->PutDoc(DocPut{collection, id, std::move(doc), {}}, cb); }).status();
  }
  std::vector<std::string> Text(const std::string& collection, const std::string& query, uint32_t k = 50) {
    HybridQuery q;
    q.collection = collection;
    q.text = query;
    q.k = k;
    auto hits = engine_->SearchHybrid(q);
    EXPECT_TRUE(hits.ok()) << hits.status().ToString();
    std::vector<std::string> ids;
    if (hits.ok()) {
      for (const auto& h : *hits) ids.push_back(h.id);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  // A random history over a vector collection and a doc collection, both
  // text-indexed, with redefinitions, deletes and a drop in between.
  void RandomHistory(int n) {
    std::mt19937 rng(11);
    const char* words[] = {"alpha", "beta", "gamma", "delta", "canción", "São", "run", "running"};
    auto phrase = [&] {
      std::string s;
      for (int w = 0; w < 1 + static_cast<int>(rng() % 6); ++w) s += std::string(words[rng() % 8]) + " ";
      return s;
    };
    vector::CollectionSpec spec{"v", 2, vector::Metric::kL2, {}};
    auto created = Wait<vector::CollectionSpec>([&](auto cb) {
      engine_->CreateVectorCollection(spec, text::TextSpec{{"t"}, text::Tokenizer::kUnicode61}, cb);
    });
    ASSERT_TRUE(created.ok() || created.status().code() == Code::kAlreadyExists) << created.status().ToString();
    ASSERT_TRUE(Wait<TextIndexInfo>([&](auto cb) {
                  engine_->SetTextIndex(text::Target::kDoc, "d", text::TextSpec{{"body", "title"}, text::Tokenizer::kPorter}, cb);
                }).ok());
    for (int i = 0; i < n; ++i) {
      const std::string id = "i" + std::to_string(rng() % 40);
      switch (rng() % 10) {
        case 0:
          ASSERT_TRUE(Wait<VectorBatchResult>([&](auto cb) { engine_->DeleteVectors("v", {id}, false, cb); }).ok());
          break;
        case 1:
          ASSERT_TRUE(Wait<bool>([&](auto cb) { engine_->DeleteDoc("d", id, {}, cb); }).ok());
          break;
        case 2:
          if (i % 97 == 0) {
            ASSERT_TRUE(Wait<TextIndexInfo>([&](auto cb) {
                          engine_->SetTextIndex(text::Target::kVector, "v",
                                                text::TextSpec{{"t", "u"}, text::Tokenizer::kTrigram}, cb);
                        }).ok());
          }
          break;
        case 3:
          ASSERT_TRUE(Doc("d", id, Json{{"title", phrase()}}).ok());
          break;
        default:
          ASSERT_TRUE(Vectors("v", {VectorWrite{id, std::vector<float>{float(i), 1}, Json{{"t", phrase()}, {"u", phrase()}}}}).ok());
          ASSERT_TRUE(Doc("d", id, Json{{"body", phrase()}, {"n", i}}).ok());
      }
    }
  }
};

TEST_F(TextEngineTest, FullReplayFromOffsetZeroGivesTheSameIndex) {
  // An empty index at offset 0, kept aside: restored below, it must catch
  // up through every event of the log (not a rebuild from the stores).
  engine_.reset();
  fs::copy_file(dir_ / "text.sqlite", dir_ / "empty.sqlite");
  Open();
  RandomHistory(400);
  auto live = engine_->StateDigest();
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  const auto before = Text("v", "alpha sao");
  ASSERT_FALSE(before.empty());
  engine_.reset();
  // Every derived store gone: only the log remains.
  for (const char* f : {"state.lmdb", "state.lmdb-lock", "text.sqlite", "text.sqlite-wal", "text.sqlite-shm",
                        "snapshot.json"}) {
    fs::remove(dir_ / f);
  }
  fs::remove_all(dir_ / "vectors");
  Open();
  auto replayed = engine_->StateDigest();
  ASSERT_TRUE(replayed.ok());
  EXPECT_EQ(*replayed, *live) << "a replay from offset 0 rebuilds the same text index";
  EXPECT_EQ(Text("v", "alpha sao"), before);

  engine_.reset();
  for (const char* f : {"text.sqlite", "text.sqlite-wal", "text.sqlite-shm"}) fs::remove(dir_ / f);
  fs::rename(dir_ / "empty.sqlite", dir_ / "text.sqlite");
  Open();
  EXPECT_EQ(*engine_->StateDigest(), *live) << "the events applied one by one from offset 1 give the same index";
}

TEST_F(TextEngineTest, IndexBehindTheLogCatchesUpExactlyOnce) {
  RandomHistory(200);
  engine_.reset();
  fs::copy_file(dir_ / "text.sqlite", dir_ / "old.sqlite");
  Open();
  RandomHistory(200);  // re-defines, writes, deletes on top
  auto expected = engine_->StateDigest();
  const auto found = Text("v", "gamma");
  engine_.reset();
  fs::remove(dir_ / "text.sqlite-wal");
  fs::remove(dir_ / "text.sqlite-shm");
  fs::rename(dir_ / "old.sqlite", dir_ / "text.sqlite");
  Open();
  EXPECT_EQ(*engine_->StateDigest(), *expected);
  EXPECT_EQ(Text("v", "gamma"), found);
}

TEST_F(TextEngineTest, MissingIndexIsRebuiltFromTheStores) {
  RandomHistory(150);
  auto expected = engine_->StateDigest();
  engine_.reset();
  for (const char* f : {"text.sqlite", "text.sqlite-wal", "text.sqlite-shm"}) fs::remove(dir_ / f);
  Open();
  EXPECT_EQ(*engine_->StateDigest(), *expected);
}

TEST_F(TextEngineTest, DefinitionsListAndDrop) {
  vector::CollectionSpec spec{"c", 2, vector::Metric::kCosine, {}};
  ASSERT_TRUE(Wait<vector::CollectionSpec>([&](auto cb) { engine_->CreateVectorCollection(spec, cb); }).ok());
  ASSERT_TRUE(Vectors("c", {VectorWrite{"x", std::vector<float>{1, 0}, Json{{"t", "hello world"}}}}).ok());
  auto set = Wait<TextIndexInfo>([&](auto cb) {
    engine_->SetTextIndex(text::Target::kVector, "c", text::TextSpec{{"t"}, text::Tokenizer::kUnicode61}, cb);
  });
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->items, 1u);
  EXPECT_EQ(Text("c", "hello"), std::vector<std::string>{"x"});
  EXPECT_EQ(engine_->ListTextIndexes()->size(), 1u);
  EXPECT_TRUE(*Wait<bool>([&](auto cb) { engine_->DropTextIndex(text::Target::kVector, "c", cb); }));
  EXPECT_FALSE(*Wait<bool>([&](auto cb) { engine_->DropTextIndex(text::Target::kVector, "c", cb); }));
  EXPECT_TRUE(engine_->ListTextIndexes()->empty());
  auto missing = Wait<TextIndexInfo>([&](auto cb) {
    engine_->SetTextIndex(text::Target::kVector, "nope", text::TextSpec{{"t"}, text::Tokenizer::kUnicode61}, cb);
  });
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  Reopen();
  EXPECT_TRUE(engine_->ListTextIndexes()->empty());
}

}  // namespace
}  // namespace kissvdb
