// The vector model through the Engine: event-sourced writes, in-memory
// indexes, checkpoints and rebuild from the log. Real files, real hnswlib.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <random>

#include "engine/wal/format.h"
#include "engine/wal/record.h"
#include "engine_fixture.h"

namespace kissvdb {
namespace {

namespace fs = std::filesystem;

class VectorEngineTest : public EngineFixture {
 protected:
  Status Create(const std::string& name, uint32_t dim, vector::Metric metric = vector::Metric::kCosine) {
    vector::CollectionSpec spec;
    spec.name = name;
    spec.dim = dim;
    spec.metric = metric;
    return Wait<vector::CollectionSpec>([&](auto cb) { engine_->CreateVectorCollection(spec, cb); }).status();
  }
  Result<VectorBatchResult> Write(const std::string& c, VectorWriteKind kind, std::vector<VectorWrite> items,
                                  bool atomic = false) {
    return Wait<VectorBatchResult>([&](auto cb) { engine_->WriteVectors(c, kind, items, atomic, cb); });
  }
  std::vector<std::string> Search(const std::string& c, std::vector<float> q, uint32_t k, bool exact = false) {
    vector::SearchRequest req;
    req.vector = q;
    req.k = k;
    req.exact = exact;
    auto hits = engine_->SearchVectors(c, req);
    EXPECT_TRUE(hits.ok()) << hits.status().ToString();
    std::vector<std::string> ids;
    if (hits.ok()) {
      for (auto& h : *hits) ids.push_back(h.id);
    }
    return ids;
  }
  std::vector<VectorWrite> RandomItems(int n, uint32_t dim, uint64_t seed, const std::string& prefix = "p") {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd;
    std::vector<VectorWrite> items;
    for (int i = 0; i < n; ++i) {
      std::vector<float> v(dim);
      for (auto& x : v) x = nd(rng);
      items.push_back(VectorWrite{prefix + std::to_string(i), v, Json{{"i", i}, {"even", i % 2 == 0}}});
    }
    return items;
  }

};

TEST_F(VectorEngineTest, CreateWriteSearchGetDelete) {
  ASSERT_TRUE(Create("docs", 3).ok());
  EXPECT_EQ(Create("docs", 3).code(), Code::kAlreadyExists);
  auto r = Write("docs", VectorWriteKind::kUpsert,
                 {{"a", std::vector<float>{1, 0, 0}, Json{{"t", "x"}}}, {"b", std::vector<float>{0, 1, 0}, {}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE((*r)[0].ok());
  EXPECT_EQ(Search("docs", {1, 0.1f, 0}, 1), std::vector<std::string>{"a"});
  auto got = engine_->GetVector("docs", "a");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->meta["t"], "x");
  EXPECT_EQ(engine_->GetVector("docs", "b")->meta, Json());
  auto add = Write("docs", VectorWriteKind::kAdd, {{"a", std::vector<float>{1, 1, 0}, {}}});
  EXPECT_EQ((*add)[0].code(), Code::kAlreadyExists);
  auto upd = Write("docs", VectorWriteKind::kUpdate, {{"a", std::nullopt, Json{{"t", "y"}}}});
  ASSERT_TRUE((*upd)[0].ok());
  EXPECT_EQ(engine_->GetVector("docs", "a")->vector, (std::vector<float>{1, 0, 0})) << "update keeps the vector";
  EXPECT_EQ(engine_->GetVector("docs", "a")->meta["t"], "y");
  auto del = Wait<VectorBatchResult>([&](auto cb) { engine_->DeleteVectors("docs", {"a", "zz"}, false, cb); });
  ASSERT_TRUE(del.ok());
  EXPECT_TRUE((*del)[0].ok());
  EXPECT_EQ((*del)[1].code(), Code::kNotFound);
  EXPECT_EQ(engine_->GetVector("docs", "a").status().code(), Code::kNotFound);
  EXPECT_EQ(engine_->VectorCollection("docs")->live_count, 1u);
}

TEST_F(VectorEngineTest, BadInputChangesNothing) {
  ASSERT_TRUE(Create("c", 2).ok());
  EXPECT_EQ(Write("nope", VectorWriteKind::kUpsert, {{"a", std::vector<float>{1, 0}, {}}}).status().code(),
            Code::kNotFound);
  auto r = Write("c", VectorWriteKind::kUpsert,
                 {{"a", std::vector<float>{1, 0, 0}, {}}, {"b", std::vector<float>{NAN, 0}, {}}, {"c", std::vector<float>{0, 1}, {}}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].code(), Code::kDimMismatch);
  EXPECT_EQ((*r)[1].code(), Code::kInvalidArgument);
  EXPECT_TRUE((*r)[2].ok());
  uint64_t before = engine_->Stats().last_offset;
  auto atomic = Write("c", VectorWriteKind::kUpsert,
                      {{"x", std::vector<float>{1, 0}, {}}, {"y", std::vector<float>{1, 0, 0}, {}}}, true);
  EXPECT_EQ(atomic.status().code(), Code::kDimMismatch);
  EXPECT_EQ(engine_->Stats().last_offset, before);
  EXPECT_EQ(engine_->GetVector("c", "x").status().code(), Code::kNotFound);
  vector::CollectionSpec bad;
  bad.name = "bad";
  bad.dim = 0;
  EXPECT_EQ(Wait<vector::CollectionSpec>([&](auto cb) { engine_->CreateVectorCollection(bad, cb); }).status().code(),
            Code::kInvalidArgument);
  bad.dim = 4;
  bad.name = std::string(65, 'n');
  EXPECT_EQ(Wait<vector::CollectionSpec>([&](auto cb) { engine_->CreateVectorCollection(bad, cb); }).status().code(),
            Code::kInvalidArgument);
}

TEST_F(VectorEngineTest, RolledBackItemDoesNotLeakIntoTheGroupOverlay) {
  ASSERT_TRUE(Create("c", 2).ok());
  // Item 1 fails after item 0 wrote "a" in a non-atomic batch; item 0 stays.
  // In an atomic batch the same failure must also forget "a", so a later
  // add of "a" succeeds.
  auto atomic = Write("c", VectorWriteKind::kAdd, {{"a", std::vector<float>{1, 0}, {}}, {"b", std::vector<float>{1}, {}}}, true);
  EXPECT_FALSE(atomic.ok());
  auto again = Write("c", VectorWriteKind::kAdd, {{"a", std::vector<float>{1, 0}, {}}});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)[0].ok()) << (*again)[0].ToString();
}

TEST_F(VectorEngineTest, SurvivesRestartWithAndWithoutCheckpoint) {
  ASSERT_TRUE(Create("c", 8, vector::Metric::kL2).ok());
  auto items = RandomItems(300, 8, 1);
  for (size_t i = 0; i < items.size(); i += 100) {
    ASSERT_TRUE(Write("c", VectorWriteKind::kUpsert, {items.begin() + i, items.begin() + i + 100}).ok());
  }
  std::vector<float> q(8, 0.5f);
  auto before = Search("c", q, 10);
  // Close without a checkpoint of the vector files: kill-like restart is
  // simulated by deleting the files the clean close wrote.
  engine_.reset();
  fs::remove_all(dir_ / "vectors");
  fs::remove(dir_ / "snapshot.json");
  Open();
  EXPECT_EQ(Search("c", q, 10), before) << "rebuilt from the log";
  ASSERT_TRUE(engine_->Checkpoint().ok());
  ASSERT_TRUE(Write("c", VectorWriteKind::kUpsert, RandomItems(50, 8, 2, "late")).ok());
  auto after = Search("c", q, 10, /*exact=*/true);
  Reopen();
  EXPECT_EQ(Search("c", q, 10, /*exact=*/true), after) << "files + log tail";
  EXPECT_EQ(engine_->VectorCollection("c")->live_count, 350u);
}

TEST_F(VectorEngineTest, CorruptCollectionFileIsRebuiltFromTheLog) {
  ASSERT_TRUE(Create("c", 4).ok());
  ASSERT_TRUE(Write("c", VectorWriteKind::kUpsert, RandomItems(64, 4, 3)).ok());
  std::vector<float> q{1, 2, 3, 4};
  auto before = Search("c", q, 5, true);
  engine_.reset();  // clean close writes the files
  bool damaged = false;
  for (auto& entry : fs::recursive_directory_iterator(dir_ / "vectors")) {
    if (entry.path().extension() == ".bin") {
      std::fstream f(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(10);
      f.put('\x7f');
      damaged = true;
    }
  }
  ASSERT_TRUE(damaged);
  Open();
  EXPECT_EQ(Search("c", q, 5, true), before);
}

TEST_F(VectorEngineTest, ALogOfVersionTwoReplaysIntoTheSameVectors) {
  // A log as the builds before binary vectors wrote it (docs/wal-format.md
  // version 2, vectors as JSON numbers): the same events, re-encoded.
  ASSERT_TRUE(Create("c", 16, vector::Metric::kL2).ok());
  auto items = RandomItems(200, 16, 5);
  ASSERT_TRUE(Write("c", VectorWriteKind::kUpsert, items, /*atomic=*/true).ok());
  auto update = RandomItems(20, 16, 6);
  ASSERT_TRUE(Write("c", VectorWriteKind::kUpdate, update).ok());
  ASSERT_TRUE(Wait<VectorBatchResult>([&](auto cb) { engine_->DeleteVectors("c", {"p3", "p4"}, false, cb); }).ok());
  auto page = engine_->ReadEvents(0, 10000);
  ASSERT_TRUE(page.ok());
  size_t with_floats = 0;
  for (const Event& ev : page->events) with_floats += !ev.floats.empty();
  EXPECT_EQ(with_floats, 220u);
  std::vector<float> q(16, 0.25f);
  const auto exact = Search("c", q, 20, /*exact=*/true);
  const auto graph = Search("c", q, 20);
  std::vector<vector::VectorRecord> records;
  for (const auto& item : items) {
    auto rec = engine_->GetVector("c", item.id);
    if (rec.ok()) records.push_back(*rec);
  }
  ASSERT_EQ(records.size(), 198u);

  engine_.reset();
  fs::remove_all(dir_);
  fs::create_directories(dir_);
  char header[wal::kSegmentHeaderSize];
  wal::EncodeSegmentHeader(wal::SegmentHeader{1, 1, /*version=*/2}, header);
  std::string log(header, sizeof(header));
  wal::RecordEncoder v2(&log, /*version=*/2);
  for (const Event& ev : page->events) ASSERT_TRUE(v2.Append(ev).ok());
  EXPECT_NE(log.find("\"vector\":["), std::string::npos);
  {
    std::ofstream f(dir_ / wal::SegmentFileName(1), std::ios::binary);
    f.write(log.data(), static_cast<std::streamsize>(log.size()));
  }
  Open();
  EXPECT_EQ(Search("c", q, 20, /*exact=*/true), exact);
  EXPECT_EQ(Search("c", q, 20), graph) << "the same graph: the same vectors inserted in the same order";
  for (const auto& want : records) {
    auto got = engine_->GetVector("c", want.id);
    ASSERT_TRUE(got.ok()) << want.id;
    EXPECT_EQ(got->vector, want.vector) << want.id << ": bit for bit";
    EXPECT_EQ(got->meta, want.meta) << want.id;
  }
  // Writes go on in a version 3 segment, with the floats in binary.
  ASSERT_TRUE(Write("c", VectorWriteKind::kUpsert, RandomItems(1, 16, 7, "new")).ok());
  wal::SegmentHeader h;
  std::ifstream f(dir_ / wal::SegmentFileName(2), std::ios::binary);
  std::string second((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ASSERT_GE(second.size(), wal::kSegmentHeaderSize);
  ASSERT_TRUE(wal::DecodeSegmentHeader(second.data(), &h).ok());
  EXPECT_EQ(h.version, 3u);
  EXPECT_EQ(second.find("\"vector\""), std::string::npos);
  auto all = engine_->ReadEvents(0, 10000);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->events.size(), page->events.size() + 1);
  EXPECT_EQ(all->events.back().floats.size(), 16u);
}

TEST_F(VectorEngineTest, DropRemovesAndAllowsRecreate) {
  ASSERT_TRUE(Create("c", 2).ok());
  ASSERT_TRUE(Write("c", VectorWriteKind::kUpsert, {{"a", std::vector<float>{1, 0}, {}}}).ok());
  auto dropped = Wait<bool>([&](auto cb) { engine_->DropVectorCollection("c", cb); });
  ASSERT_TRUE(dropped.ok());
  EXPECT_TRUE(*dropped);
  EXPECT_FALSE(*Wait<bool>([&](auto cb) { engine_->DropVectorCollection("c", cb); }));
  EXPECT_EQ(engine_->VectorCollection("c").status().code(), Code::kNotFound);
  ASSERT_TRUE(Create("c", 3).ok());
  Reopen();
  EXPECT_EQ(engine_->VectorCollection("c")->spec.dim, 3u);
  EXPECT_EQ(engine_->VectorCollection("c")->live_count, 0u);
}

}  // namespace
}  // namespace kissvdb
