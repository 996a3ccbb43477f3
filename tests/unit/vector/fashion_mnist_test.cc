// Recall on real data: Fashion-MNIST (Debian package dataset-fashion-mnist,
// installed by scripts/setup.sh). 784-dim uint8 images, Euclidean.
//
// A deterministic subset: the first kBase training images are the
// collection, the first kQueries test images the queries. Exact ground
// truth (integer squared distances, ties by id) is computed once and cached
// outside the repository in $XDG_CACHE_HOME/kissvdb (or /tmp/kissvdb-cache).
// A missing dataset FAILS the tests: setup is expected to install it.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "test_util.h"
#include "util/json_filter.h"
#include "vector/vector_store.h"

namespace kissvdb::vector {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

constexpr char kDatasetDir[] = "/usr/share/datasets/fashion-mnist";
constexpr size_t kBase = 20000;
constexpr size_t kQueries = 500;
constexpr size_t kExactQueries = 100;
constexpr size_t kK = 10;
constexpr uint32_t kDim = 784;
constexpr double kMinRecall = 0.95;

// Meta "sel" = i % 100, so these filters keep 50%, 10% and 1% of the points.
const char* const kFilters[] = {R"({"sel": {"$lt": 50}})", R"({"sel": {"$lt": 10}})", R"({"sel": 0})"};
constexpr int kSelectivities[] = {50, 10, 1};
constexpr size_t kNumSets = 4;  // unfiltered + the three filters

std::string Id(size_t i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%05zu", i);  // zero-padded: id order == index order
  return buf;
}

// Decompresses with the system gzip (no zlib dependency for one test).
Result<std::string> Gunzip(const std::string& path) {
  if (!fs::exists(path)) return Status::NotFound(path);
  std::string cmd = "gzip -dc '" + path + "'";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return Status::IOError("popen " + cmd);
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  if (::pclose(p) != 0) return Status::IOError(cmd + " failed");
  return out;
}

uint32_t BigEndian32(const std::string& s, size_t at) {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data() + at);
  return uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3];
}

// IDX3: magic 0x00000803, count, rows, cols (big-endian u32), then pixels.
Result<std::vector<uint8_t>> LoadImages(const std::string& file, size_t want) {
  auto raw = Gunzip(std::string(kDatasetDir) + "/" + file);
  if (!raw.ok()) return raw.status();
  const std::string& s = *raw;
  if (s.size() < 16 || BigEndian32(s, 0) != 0x803 || BigEndian32(s, 8) * BigEndian32(s, 12) != kDim ||
      BigEndian32(s, 4) < want || s.size() < 16 + want * kDim) {
    return Status::Corruption(file + ": not an IDX3 file of 28x28 images");
  }
  return std::vector<uint8_t>(s.begin() + 16, s.begin() + 16 + static_cast<std::ptrdiff_t>(want * kDim));
}

uint32_t SquaredDistance(const uint8_t* a, const uint8_t* b) {
  uint32_t sum = 0;
  for (uint32_t i = 0; i < kDim; ++i) {
    const int32_t d = int32_t(a[i]) - int32_t(b[i]);
    sum += static_cast<uint32_t>(d * d);
  }
  return sum;
}

bool Keeps(int set, size_t i) { return set == 0 || static_cast<int>(i % 100) < kSelectivities[set - 1]; }

// truth[set][q * kK + j]: index of the j-th nearest base point, ties by index.
using Truth = std::vector<std::vector<uint32_t>>;

Truth ComputeTruth(const std::vector<uint8_t>& base, const std::vector<uint8_t>& queries) {
  Truth truth(kNumSets, std::vector<uint32_t>(kQueries * kK));
  std::vector<std::pair<uint32_t, uint32_t>> d(kBase);
  for (size_t q = 0; q < kQueries; ++q) {
    for (size_t i = 0; i < kBase; ++i) d[i] = {SquaredDistance(&queries[q * kDim], &base[i * kDim]), uint32_t(i)};
    for (int set = 0; set < int(kNumSets); ++set) {
      std::vector<std::pair<uint32_t, uint32_t>> kept;
      for (const auto& p : d) {
        if (Keeps(set, p.second)) kept.push_back(p);
      }
      // Same order as the store: float(-distance) desc, then id asc.
      std::partial_sort(kept.begin(), kept.begin() + kK, kept.end(), [](const auto& a, const auto& b) {
        const float fa = static_cast<float>(-static_cast<double>(a.first));
        const float fb = static_cast<float>(-static_cast<double>(b.first));
        return fa != fb ? fa > fb : a.second < b.second;
      });
      for (size_t j = 0; j < kK; ++j) truth[set][q * kK + j] = kept[j].second;
    }
  }
  return truth;
}

std::string CachePath() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  fs::path dir = (xdg != nullptr && *xdg != '\0') ? fs::path(xdg) / "kissvdb" : fs::path("/tmp/kissvdb-cache");
  return (dir / ("fashion-mnist-gt-v1-" + std::to_string(kBase) + "-" + std::to_string(kQueries) + ".bin")).string();
}

Truth LoadOrComputeTruth(const std::vector<uint8_t>& base, const std::vector<uint8_t>& queries) {
  const std::string path = CachePath();
  const size_t bytes = kNumSets * kQueries * kK * sizeof(uint32_t);
  Truth truth(kNumSets, std::vector<uint32_t>(kQueries * kK));
  std::ifstream in(path, std::ios::binary);
  if (in && fs::file_size(path) == bytes) {
    for (auto& set : truth) in.read(reinterpret_cast<char*>(set.data()), set.size() * sizeof(uint32_t));
    bool sane = static_cast<bool>(in);
    for (const auto& set : truth) {
      for (uint32_t i : set) sane = sane && i < kBase;
    }
    if (sane) return truth;
  }
  truth = ComputeTruth(base, queries);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    for (const auto& set : truth) out.write(reinterpret_cast<const char*>(set.data()), set.size() * sizeof(uint32_t));
  }
  fs::rename(tmp, path, ec);
  return truth;
}

class FashionMnistTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto base = LoadImages("train-images-idx3-ubyte.gz", kBase);
    auto queries = LoadImages("t10k-images-idx3-ubyte.gz", kQueries);
    if (!base.ok() || !queries.ok()) {
      error_ = new std::string("Fashion-MNIST is not readable (" +
                               (base.ok() ? queries.status() : base.status()).ToString() +
                               "). Install it with: apt-get install -y dataset-fashion-mnist "
                               "(scripts/setup.sh does this).");
      return;
    }
    queries_ = new std::vector<std::vector<float>>();
    for (size_t q = 0; q < kQueries; ++q) {
      queries_->emplace_back(queries->begin() + q * kDim, queries->begin() + (q + 1) * kDim);
    }
    auto t0 = std::chrono::steady_clock::now();
    truth_ = new Truth(LoadOrComputeTruth(*base, *queries));
    auto t1 = std::chrono::steady_clock::now();

    dir_ = new TempDir();
    store_ = VectorStore::Open(dir_->path())->release();
    uint64_t offset = 1;
    Status s = store_->ApplyCreate(offset, 0, CollectionSpec{"fm", kDim, Metric::kL2, {}});
    for (size_t i = 0; i < kBase && s.ok(); ++i) {
      std::vector<float> v(base->begin() + i * kDim, base->begin() + (i + 1) * kDim);
      s = store_->ApplyUpsert(++offset, 0, "fm", Id(i), v, Json{{"sel", i % 100}});
    }
    if (!s.ok()) error_ = new std::string("building the collection failed: " + s.ToString());
    auto t2 = std::chrono::steady_clock::now();
    std::printf("[fashion-mnist] ground truth %.2fs (cached at %s), build %zu points %.2fs (%.0f inserts/s)\n",
                std::chrono::duration<double>(t1 - t0).count(), CachePath().c_str(), kBase,
                std::chrono::duration<double>(t2 - t1).count(),
                kBase / std::chrono::duration<double>(t2 - t1).count());
  }

  static void TearDownTestSuite() {
    delete store_;
    delete dir_;
    delete truth_;
    delete queries_;
    delete error_;
    store_ = nullptr;
    dir_ = nullptr;
    truth_ = nullptr;
    queries_ = nullptr;
    error_ = nullptr;
  }

  void SetUp() override {
    if (error_ != nullptr) GTEST_FAIL() << *error_;
  }

  static std::vector<SearchHit> Run(const VectorStore& store, size_t q, const JsonFilter* filter, bool exact,
                                    SearchStats* stats = nullptr) {
    SearchRequest req;
    req.vector = (*queries_)[q];
    req.k = kK;
    req.filter = filter;
    req.exact = exact;
    req.include_meta = filter != nullptr;
    auto r = store.Search("fm", req, stats);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r.value() : std::vector<SearchHit>{};
  }

  // Fraction of the true top-k found.
  static double Recall(int set, size_t q, const std::vector<SearchHit>& hits) {
    size_t found = 0;
    for (size_t j = 0; j < kK; ++j) {
      const std::string want = Id((*truth_)[set][q * kK + j]);
      for (const auto& h : hits) found += h.id == want;
    }
    return double(found) / kK;
  }

  void CheckRecallAtDefaultEf();
  void CheckEfOverride();
  void CheckExactSearchEqualsBruteForce();
  void CheckFilteredRecall();
  void CheckCheckpointReopenGivesIdenticalResults();

  static inline std::string* error_ = nullptr;
  static inline std::vector<std::vector<float>>* queries_ = nullptr;
  static inline Truth* truth_ = nullptr;
  static inline TempDir* dir_ = nullptr;
  static inline VectorStore* store_ = nullptr;
};

void FashionMnistTest::CheckRecallAtDefaultEf() {
  double recall = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (size_t q = 0; q < kQueries; ++q) {
    auto hits = Run(*store_, q, nullptr, false);
    ASSERT_EQ(hits.size(), kK);
    recall += Recall(0, q, hits);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  recall /= kQueries;
  std::printf("[fashion-mnist] HNSW M=16 ef_construction=200 ef_search=64: recall@10 %.4f, %.0f QPS (1 thread)\n",
              recall, kQueries / secs);
  EXPECT_GE(recall, kMinRecall);
}

// The per-search ef override: recall rises with ef (printed for tuning).
void FashionMnistTest::CheckEfOverride() {
  double previous = 0;
  for (uint32_t ef : {10u, 16u, 32u, 128u}) {
    double recall = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (size_t q = 0; q < kQueries; ++q) {
      SearchRequest req;
      req.vector = (*queries_)[q];
      req.k = kK;
      req.ef = ef;
      auto hits = store_->Search("fm", req);
      ASSERT_TRUE(hits.ok());
      recall += Recall(0, q, *hits);
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    recall /= kQueries;
    std::printf("[fashion-mnist] ef=%u: recall@10 %.4f, %.0f QPS\n", ef, recall, kQueries / secs);
    EXPECT_GE(recall + 0.01, previous) << "ef " << ef;
    previous = recall;
  }
  EXPECT_GE(previous, 0.99);  // ef=128
}

void FashionMnistTest::CheckExactSearchEqualsBruteForce() {
  auto t0 = std::chrono::steady_clock::now();
  for (size_t q = 0; q < kExactQueries; ++q) {
    auto hits = Run(*store_, q, nullptr, true);
    ASSERT_EQ(hits.size(), kK);
    for (size_t j = 0; j < kK; ++j) {
      const uint32_t want = (*truth_)[0][q * kK + j];
      EXPECT_EQ(hits[j].id, Id(want)) << "query " << q << " rank " << j;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[fashion-mnist] exact: %.0f QPS (1 thread)\n", kExactQueries / secs);
}

void FashionMnistTest::CheckFilteredRecall() {
  for (int set = 1; set < int(kNumSets); ++set) {
    auto filter = JsonFilter::Compile(Json::parse(kFilters[set - 1]));
    ASSERT_TRUE(filter.ok());
    double recall = 0;
    size_t graph = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (size_t q = 0; q < kQueries; ++q) {
      SearchStats stats;
      auto hits = Run(*store_, q, &filter.value(), false, &stats);
      ASSERT_EQ(hits.size(), kK) << "selectivity " << kSelectivities[set - 1] << "% query " << q;
      for (const auto& h : hits) ASSERT_TRUE(filter->Matches(h.meta)) << h.id;
      recall += Recall(set, q, hits);
      graph += stats.path == SearchStats::Path::kGraph;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    recall /= kQueries;
    std::printf("[fashion-mnist] filter %d%%: recall@10 %.4f, %.0f QPS, graph path for %zu/%zu queries\n",
                kSelectivities[set - 1], recall, kQueries / secs, graph, kQueries);
    EXPECT_GE(recall, kMinRecall) << kFilters[set - 1];
  }
}

void FashionMnistTest::CheckCheckpointReopenGivesIdenticalResults() {
  auto filter = JsonFilter::Compile(Json::parse(kFilters[0]));
  ASSERT_TRUE(filter.ok());
  std::vector<std::vector<SearchHit>> before;
  for (size_t q = 0; q < kQueries; q += 5) {
    before.push_back(Run(*store_, q, nullptr, false));
    before.push_back(Run(*store_, q, &filter.value(), false));
  }
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(store_->Checkpoint().ok());
  auto t1 = std::chrono::steady_clock::now();
  auto reopened = VectorStore::Open(dir_->path());
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  auto t2 = std::chrono::steady_clock::now();
  std::printf("[fashion-mnist] checkpoint %.2fs (%.1f MB), reopen %.2fs\n",
              std::chrono::duration<double>(t1 - t0).count(), store_->Info("fm")->file_bytes / 1e6,
              std::chrono::duration<double>(t2 - t1).count());
  EXPECT_EQ((*reopened)->Info("fm")->applied_offset, store_->Info("fm")->applied_offset);
  size_t n = 0;
  for (size_t q = 0; q < kQueries; q += 5) {
    for (const JsonFilter* f : {static_cast<const JsonFilter*>(nullptr), static_cast<const JsonFilter*>(&filter.value())}) {
      auto after = Run(**reopened, q, f, false);
      const auto& want = before[n++];
      ASSERT_EQ(after.size(), want.size());
      for (size_t j = 0; j < after.size(); ++j) {
        EXPECT_EQ(after[j].id, want[j].id);
        EXPECT_EQ(after[j].score, want[j].score);
      }
    }
  }
}

// One test, so that a ctest run (one process per test) builds the 20k-point
// graph once.
TEST_F(FashionMnistTest, RecallExactFilteredAndReopen) {
  {
    SCOPED_TRACE("RecallAtDefaultEf");
    CheckRecallAtDefaultEf();
  }
  {
    SCOPED_TRACE("EfOverride");
    CheckEfOverride();
  }
  {
    SCOPED_TRACE("ExactSearchEqualsBruteForce");
    CheckExactSearchEqualsBruteForce();
  }
  {
    SCOPED_TRACE("FilteredRecall");
    CheckFilteredRecall();
  }
  {
    SCOPED_TRACE("CheckpointReopenGivesIdenticalResults");
    CheckCheckpointReopenGivesIdenticalResults();
  }
}

}  // namespace
}  // namespace kissvdb::vector
