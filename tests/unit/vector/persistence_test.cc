// Checkpoint / Open round trips and damaged files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "test_util.h"
#include "util/json_filter.h"
#include "vector/vector_store.h"

namespace kissvdb::vector {
namespace {

namespace fs = std::filesystem;
using testing::Name;
using testing::TempDir;

std::vector<float> RandomVector(std::mt19937* rng, uint32_t dim) {
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(dim);
  for (float& x : v) x = u(*rng);
  return v;
}

std::unique_ptr<VectorStore> OpenOrDie(const std::string& dir) {
  auto s = VectorStore::Open(dir);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s.value()) : nullptr;
}

std::vector<SearchHit> Query(const VectorStore& store, const std::string& c, const std::vector<float>& q, bool exact,
                             const JsonFilter* filter = nullptr) {
  SearchRequest req;
  req.vector = q;
  req.k = 10;
  req.exact = exact;
  req.filter = filter;
  req.include_meta = true;
  auto r = store.Search(c, req);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : std::vector<SearchHit>{};
}

void ExpectSameHits(const std::vector<SearchHit>& a, const std::vector<SearchHit>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id) << i;
    EXPECT_EQ(a[i].score, b[i].score) << i;
    EXPECT_EQ(a[i].meta, b[i].meta) << i;
  }
}

// A store with three collections (one per metric), some deletes, and the
// name of a collection that needs encoding.
class PersistenceTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kDim = 16;

  void Fill(VectorStore* store) {
    std::mt19937 rng(7);
    const char* names[] = {"cos/../x", "dot", "l2"};
    const Metric metrics[] = {Metric::kCosine, Metric::kDot, Metric::kL2};
    for (int c = 0; c < 3; ++c) {
      ASSERT_TRUE(store->ApplyCreate(++offset_, 100 + c, CollectionSpec{names[c], kDim, metrics[c], {}}).ok());
      for (int i = 0; i < 300; ++i) {
        Json meta = {{"i", i}, {"tag", i % 3 == 0 ? "a" : "b"}};
        if (i % 50 == 0) meta = nullptr;
        ASSERT_TRUE(store->ApplyUpsert(++offset_, 1000 + i, names[c], Name("id", i),
                                       RandomVector(&rng, kDim), meta)
                        .ok());
      }
      for (int i = 0; i < 300; i += 11) {
        ASSERT_TRUE(store->ApplyDelete(++offset_, 5000, names[c], Name("id", i)).ok());
      }
    }
  }

  TempDir dir_;
  uint64_t offset_ = 0;
};

TEST_F(PersistenceTest, CheckpointReopenSameResults) {
  std::mt19937 rng(8);
  std::vector<std::vector<float>> queries;
  for (int i = 0; i < 20; ++i) queries.push_back(RandomVector(&rng, kDim));
  auto filter = JsonFilter::Compile(Json{{"tag", "a"}});
  ASSERT_TRUE(filter.ok());

  std::map<std::string, std::vector<std::vector<SearchHit>>> before;
  std::vector<CollectionInfo> infos;
  {
    auto store = OpenOrDie(dir_.path());
    Fill(store.get());
    ASSERT_TRUE(store->Checkpoint().ok());
    infos = store->List();
    for (const auto& info : infos) {
      EXPECT_EQ(info.persisted_offset, info.applied_offset);
      EXPECT_GT(info.file_bytes, 0u);
      for (const auto& q : queries) {
        for (bool exact : {false, true}) before[info.spec.name].push_back(Query(*store, info.spec.name, q, exact));
        before[info.spec.name].push_back(Query(*store, info.spec.name, q, false, &filter.value()));
      }
    }
    // A second checkpoint with nothing changed writes nothing.
    ASSERT_TRUE(store->Checkpoint().ok());
  }
  EXPECT_TRUE(fs::exists(dir_ / "cos%2F%2E%2E%2Fx/manifest.json"));

  auto store = OpenOrDie(dir_.path());
  ASSERT_NE(store, nullptr);
  auto after = store->List();
  ASSERT_EQ(after.size(), infos.size());
  for (size_t c = 0; c < infos.size(); ++c) {
    const auto& a = infos[c];
    const auto& b = after[c];
    EXPECT_EQ(a.spec.name, b.spec.name);
    EXPECT_EQ(a.spec.dim, b.spec.dim);
    EXPECT_EQ(a.spec.metric, b.spec.metric);
    EXPECT_EQ(a.live_count, b.live_count);
    EXPECT_EQ(a.deleted_count, b.deleted_count);
    EXPECT_EQ(a.upsert_count, b.upsert_count);
    EXPECT_EQ(a.applied_offset, b.applied_offset);
    EXPECT_EQ(b.persisted_offset, b.applied_offset);
    EXPECT_EQ(a.created_at_ms, b.created_at_ms);
    EXPECT_EQ(a.updated_at_ms, b.updated_at_ms);
    EXPECT_EQ(a.file_bytes, b.file_bytes);
    size_t n = 0;
    for (const auto& q : queries) {
      for (bool exact : {false, true}) ExpectSameHits(before[a.spec.name][n++], Query(*store, a.spec.name, q, exact));
      ExpectSameHits(before[a.spec.name][n++], Query(*store, a.spec.name, q, false, &filter.value()));
    }
  }
  // Deleted ids stay deleted; the raw cosine vector survives.
  EXPECT_FALSE(store->Contains("l2", "id11"));
  EXPECT_TRUE(store->Contains("l2", "id12"));
  auto rec = store->Get("cos/../x", "id1");
  ASSERT_TRUE(rec.ok());
  double norm = 0;
  for (float x : rec->vector) norm += x * x;
  EXPECT_GT(std::abs(norm - 1.0), 1e-3);  // not the normalised copy
  EXPECT_TRUE(store->Get("l2", "id50")->meta.is_null());

  // Replay of the log tail: offsets already in the files are skipped, new
  // ones apply, and a freed slot is reused after reopening.
  const uint64_t applied = store->Info("l2")->applied_offset;
  std::vector<float> v(kDim, 0.5f);
  ASSERT_TRUE(store->ApplyUpsert(applied, 0, "l2", "id11", v, nullptr).ok());
  EXPECT_FALSE(store->Contains("l2", "id11"));
  const uint64_t capacity = store->Info("l2")->capacity;
  ASSERT_TRUE(store->ApplyUpsert(offset_ + 1, 0, "l2", "fresh", v, nullptr).ok());
  EXPECT_TRUE(store->Contains("l2", "fresh"));
  EXPECT_EQ(store->Info("l2")->capacity, capacity);
  EXPECT_EQ(store->Info("l2")->deleted_count, after[2].deleted_count - 1);
  EXPECT_EQ(Query(*store, "l2", v, false)[0].id, "fresh");
}

TEST_F(PersistenceTest, DropRemovesFilesAtCheckpoint) {
  {
    auto store = OpenOrDie(dir_.path());
    Fill(store.get());
    ASSERT_TRUE(store->Checkpoint().ok());
    ASSERT_TRUE(store->ApplyDrop(++offset_, "dot").ok());
    ASSERT_TRUE(store->ApplyDrop(++offset_, "l2").ok());
    ASSERT_TRUE(store->ApplyCreate(++offset_, 0, CollectionSpec{"l2", 3, Metric::kL2, {}}).ok());
    EXPECT_TRUE(fs::exists(dir_ / "dot"));  // Apply never touches the disk
    ASSERT_TRUE(store->Checkpoint().ok());
    EXPECT_FALSE(fs::exists(dir_ / "dot"));
  }
  auto store = OpenOrDie(dir_.path());
  EXPECT_FALSE(store->Info("dot").has_value());
  ASSERT_TRUE(store->Info("l2").has_value());
  EXPECT_EQ(store->Info("l2")->spec.dim, 3u);
  EXPECT_EQ(store->Info("l2")->live_count, 0u);
  EXPECT_TRUE(store->Info("cos/../x").has_value());
}

TEST_F(PersistenceTest, OldGenerationSurvivesAnUnfinishedCheckpoint) {
  std::vector<float> q(kDim, 0.1f);
  std::vector<SearchHit> gen1;
  {
    auto store = OpenOrDie(dir_.path());
    Fill(store.get());
    ASSERT_TRUE(store->Checkpoint().ok());
    gen1 = Query(*store, "dot", q, true);
  }
  // Stand-in for a crash after the new data files but before the manifest:
  // generation-2 files written by a copy of the store are dropped next to
  // the generation-1 set.
  TempDir other;
  fs::copy(dir_.path(), other.path(), fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  {
    auto store = OpenOrDie(other.path());
    ASSERT_TRUE(store->ApplyDelete(++offset_, 0, "dot", gen1[0].id).ok());
    ASSERT_TRUE(store->Checkpoint().ok());
  }
  for (const auto& e : fs::directory_iterator(other / "dot")) {
    if (e.path().filename() != "manifest.json") fs::copy_file(e.path(), dir_ / ("dot/" + e.path().filename().string()),
                                                              fs::copy_options::overwrite_existing);
  }
  auto store = OpenOrDie(dir_.path());
  ExpectSameHits(Query(*store, "dot", q, true), gen1);
  // The next checkpoint clears the strays.
  ASSERT_TRUE(store->ApplyDelete(++offset_, 0, "dot", "id1").ok());
  ASSERT_TRUE(store->Checkpoint().ok());
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "dot")) files += e.is_regular_file();
  EXPECT_EQ(files, 3u);
}

enum class Damage { kFlip, kTruncate, kDelete, kAppend };

void Spoil(const std::string& path, Damage how, size_t at) {
  const auto size = fs::file_size(path);
  switch (how) {
    case Damage::kDelete:
      fs::remove(path);
      return;
    case Damage::kTruncate:
      fs::resize_file(path, at % size);
      return;
    case Damage::kAppend: {
      std::ofstream f(path, std::ios::binary | std::ios::app);
      f << "x";
      return;
    }
    case Damage::kFlip: {
      std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
      f.seekg(static_cast<std::streamoff>(at % size));
      char c;
      f.get(c);
      f.seekp(static_cast<std::streamoff>(at % size));
      f.put(static_cast<char>(c ^ 0x20));
      return;
    }
  }
}

TEST_F(PersistenceTest, DamagedFilesAreCorruptionNamingTheFile) {
  {
    auto store = OpenOrDie(dir_.path());
    Fill(store.get());
    ASSERT_TRUE(store->Checkpoint().ok());
  }
  TempDir pristine;
  fs::copy(dir_.path(), pristine.path(), fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir_ / "dot")) files.push_back(e.path().filename().string());
  ASSERT_EQ(files.size(), 3u);

  int cases = 0;
  for (const std::string& file : files) {
    const size_t size = fs::file_size(dir_ / ("dot/" + file));
    std::vector<std::pair<Damage, size_t>> damages = {
        {Damage::kDelete, 0}, {Damage::kAppend, 0}, {Damage::kTruncate, 0}, {Damage::kTruncate, size / 2},
        {Damage::kTruncate, size - 1}, {Damage::kFlip, 0}, {Damage::kFlip, 9}, {Damage::kFlip, size / 3},
        {Damage::kFlip, size / 2}, {Damage::kFlip, size - 2}, {Damage::kFlip, size - 1}};
    for (auto [how, at] : damages) {
      fs::remove_all(dir_ / "dot");
      fs::copy(pristine / "dot", dir_ / "dot", fs::copy_options::recursive);
      Spoil(dir_ / ("dot/" + file), how, at);
      auto s = VectorStore::Open(dir_.path());
      ASSERT_FALSE(s.ok()) << file << " damage " << int(how) << " at " << at;
      EXPECT_EQ(s.status().code(), Code::kCorruption) << s.status().ToString();
      EXPECT_NE(s.status().message().find(file), std::string::npos) << s.status().ToString();
      ++cases;
    }
  }
  EXPECT_EQ(cases, 33);

  // Quarantine: the damaged collection is set aside, the others load.
  fs::remove_all(dir_ / "dot");
  fs::copy(pristine / "dot", dir_ / "dot", fs::copy_options::recursive);
  Spoil(dir_ / "dot/manifest.json", Damage::kFlip, 40);
  VectorStore::Options options;
  options.quarantine_corrupt = true;
  auto s = VectorStore::Open(dir_.path(), options);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto& store = *s.value();
  ASSERT_EQ(store.quarantined().size(), 1u);
  EXPECT_EQ(store.quarantined()[0].first, "dot");
  EXPECT_EQ(store.quarantined()[0].second.code(), Code::kCorruption);
  EXPECT_FALSE(store.Info("dot").has_value());
  EXPECT_TRUE(store.Info("l2").has_value());
  EXPECT_TRUE(fs::exists(dir_ / "dot.corrupt/manifest.json"));
  // The engine rebuilds it from the log.
  EXPECT_TRUE(store.ApplyCreate(1, 0, CollectionSpec{"dot", kDim, Metric::kDot, {}}).ok());
}

TEST_F(PersistenceTest, InterruptedFirstCheckpointIsIgnored) {
  {
    auto store = OpenOrDie(dir_.path());
    Fill(store.get());
    ASSERT_TRUE(store->Checkpoint().ok());
  }
  // A crash during a new collection's first save leaves only "<name>.new".
  fs::copy(dir_ / "dot", dir_ / "fresh.new", fs::copy_options::recursive);
  fs::remove(dir_ / "fresh.new/manifest.json");
  auto store = OpenOrDie(dir_.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->List().size(), 3u);
  EXPECT_FALSE(fs::exists(dir_ / "fresh.new"));
  // A first save replaces a stale directory of the same name.
  fs::create_directories(dir_ / "fresh");
  std::ofstream(dir_ / "fresh/junk") << "junk";
  ASSERT_TRUE(store->ApplyCreate(++offset_, 0, CollectionSpec{"fresh", 2, Metric::kL2, {}}).ok());
  ASSERT_TRUE(store->Checkpoint().ok());
  EXPECT_FALSE(fs::exists(dir_ / "fresh/junk"));
  EXPECT_TRUE(OpenOrDie(dir_.path())->Info("fresh").has_value());
}

TEST_F(PersistenceTest, ManifestInTheWrongDirectoryIsCorruption) {
  {
    auto store = OpenOrDie(dir_.path());
    Fill(store.get());
    ASSERT_TRUE(store->Checkpoint().ok());
  }
  fs::rename(dir_ / "dot", dir_ / "other");
  auto s = VectorStore::Open(dir_.path());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kCorruption);
  EXPECT_NE(s.status().message().find("manifest.json"), std::string::npos);
}

}  // namespace
}  // namespace kissvdb::vector
