// The graph kernels (graph_kernels.h): every kernel returns the same float
// for every length and alignment, and a log applied with each kernel gives
// byte-identical collection files, so a log replays into the same graph on
// any x86-64 CPU.
#include "vector/graph_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <vector>

#include "test_util.h"
#include "vector/vector_store.h"

namespace kissvdb::vector {
namespace {

namespace fs = std::filesystem;
using testing::Name;
using testing::TempDir;

std::vector<const GraphKernels*> AvailableKernels() {
  std::vector<const GraphKernels*> out;
  for (const char* name : {"scalar", "sse", "avx2"}) {
    if (const GraphKernels* k = GraphKernelsNamed(name)) out.push_back(k);
  }
  return out;
}

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

TEST(GraphKernelsTest, TheCpuGetsItsFastestAndTestsCanForceOthers) {
  __builtin_cpu_init();
#if defined(__x86_64__)
  EXPECT_STREQ(CurrentGraphKernels()->name, __builtin_cpu_supports("avx2") ? "avx2" : "sse");
  ASSERT_NE(GraphKernelsNamed("sse"), nullptr) << "SSE2 is baseline x86-64";
#endif
  ASSERT_NE(GraphKernelsNamed("scalar"), nullptr);
  EXPECT_EQ(GraphKernelsNamed("avx512"), nullptr);
  const GraphKernels* best = CurrentGraphKernels();
  ForceGraphKernelsForTesting(GraphKernelsNamed("scalar"));
  EXPECT_STREQ(GraphSpace(8, Metric::kL2).kernels().name, "scalar");
  ForceGraphKernelsForTesting(nullptr);
  EXPECT_EQ(CurrentGraphKernels(), best);
  EXPECT_EQ(&GraphSpace(8, Metric::kCosine).kernels(), best);
}

// Terms of very different magnitudes, so that any other order of the adds
// would round differently somewhere (checked below against hnswlib's).
TEST(GraphKernelsTest, EveryKernelReturnsTheSameBitsForEveryLengthAndAlignment) {
  const auto kernels = AvailableKernels();
  std::mt19937 rng(23);
  std::normal_distribution<float> g(0, 1);
  std::uniform_real_distribution<float> scale(-6, 6);
  std::vector<size_t> dims;
  for (size_t d = 1; d <= 100; ++d) dims.push_back(d);
  for (size_t d : {127, 128, 129, 255, 256, 784, 1000, 1536}) dims.push_back(d);
  size_t differs_from_hnswlib = 0, compared = 0;
  for (size_t dim : dims) {
    hnswlib::L2Space hnsw_l2(dim);
    const auto hnsw_l2_fn = hnsw_l2.get_dist_func();
    std::vector<float> buf_a(dim + 3), buf_b(dim + 3);
    for (int trial = 0; trial < 12; ++trial) {
      for (size_t i = 0; i < dim + 3; ++i) {
        buf_a[i] = g(rng) * std::exp2(scale(rng));
        buf_b[i] = g(rng) * std::exp2(scale(rng));
      }
      // Offsets of 0..3 floats: the kernels load unaligned.
      const float* a = buf_a.data() + trial % 4;
      const float* b = buf_b.data() + (trial / 4) % 4;
      const float l2 = kernels[0]->l2(a, b, &dim);
      const float ip = kernels[0]->ip(a, b, &dim);
      double exact_l2 = 0, exact_dot = 0, scale_dot = 0;
      for (size_t i = 0; i < dim; ++i) {
        exact_l2 += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
        exact_dot += double(a[i]) * b[i];
        scale_dot += std::abs(double(a[i]) * b[i]);
      }
      EXPECT_NEAR(l2, exact_l2, 1e-5 * exact_l2) << "dim " << dim;
      EXPECT_NEAR(ip, 1 - exact_dot, 1e-5 * scale_dot + 1e-6) << "dim " << dim;
      for (const GraphKernels* k : kernels) {
        EXPECT_EQ(Bits(k->l2(a, b, &dim)), Bits(l2)) << k->name << " l2, dim " << dim << ", trial " << trial;
        EXPECT_EQ(Bits(k->ip(a, b, &dim)), Bits(ip)) << k->name << " ip, dim " << dim << ", trial " << trial;
      }
      differs_from_hnswlib += Bits(hnsw_l2_fn(a, b, &dim)) != Bits(l2);
      ++compared;
    }
  }
  // The inputs are hard enough that the order of the adds shows.
  EXPECT_GT(differs_from_hnswlib, compared / 10) << "of " << compared;
}

// One log, applied through VectorStore as the engine applies it: upserts,
// replacements of existing ids, deletes and revived slots. Returns every
// file of the checkpointed collection, by name.
std::map<std::string, std::string> ApplyLogAndCheckpoint(const GraphKernels* kernels, uint32_t dim, Metric metric) {
  ForceGraphKernelsForTesting(kernels);
  TempDir tmp;
  std::map<std::string, std::string> files;
  {
    auto store = VectorStore::Open(tmp.path());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return files;
    CollectionSpec spec{"c", dim, metric, {}};
    spec.hnsw.m = 12;
    spec.hnsw.ef_construction = 64;
    uint64_t offset = 1;
    EXPECT_TRUE((*store)->ApplyCreate(offset++, 1000, spec).ok());
    std::mt19937 rng(dim * 7 + static_cast<uint32_t>(metric));
    std::normal_distribution<float> noise(0, 0.25f);
    std::uniform_real_distribution<float> u(-1, 1);
    std::vector<float> centres(16 * dim);
    for (float& x : centres) x = u(rng);
    std::vector<float> v(dim);
    constexpr size_t kPoints = 2500;
    for (size_t step = 0; step < kPoints + 400; ++step) {
      const float* c = &centres[(rng() % 16) * dim];
      for (size_t j = 0; j < dim; ++j) v[j] = c[j] + noise(rng);
      // After the first kPoints: replace an id, delete one, or add anew.
      const size_t id = step < kPoints ? step : rng() % (kPoints + 100);
      Status s = step >= kPoints && step % 3 == 0
                     ? (*store)->ApplyDelete(offset++, 1000 + step, "c", Name("p", id))
                     : (*store)->ApplyUpsert(offset++, 1000 + step, "c", Name("p", id), v, Json());
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    EXPECT_TRUE((*store)->Checkpoint().ok());
  }
  ForceGraphKernelsForTesting(nullptr);
  for (const auto& entry : fs::recursive_directory_iterator(tmp.path())) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    files[fs::relative(entry.path(), tmp.path()).string()] = bytes.str();
  }
  return files;
}

struct LogCase {
  uint32_t dim;
  Metric metric;
};
constexpr LogCase kLogCases[] = {
    {37, Metric::kL2}, {37, Metric::kCosine}, {96, Metric::kL2}, {96, Metric::kCosine}, {100, Metric::kDot}};

void ExpectSameFiles(const std::map<std::string, std::string>& want, const std::map<std::string, std::string>& got,
                     const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  bool saw_graph = false;
  for (const auto& [name, bytes] : want) {
    auto it = got.find(name);
    ASSERT_NE(it, got.end()) << what << ": no " << name;
    EXPECT_TRUE(it->second == bytes) << what << ": " << name << " differs (" << bytes.size() << " bytes)";
    saw_graph |= name.find(".hnsw") != std::string::npos && !bytes.empty();
  }
  EXPECT_TRUE(saw_graph) << what;
}

TEST(GraphKernelsTest, SseAndScalarBuildByteIdenticalGraphs) {
  const GraphKernels* sse = GraphKernelsNamed("sse");
  if (sse == nullptr) GTEST_SKIP() << "not x86-64: only the scalar kernels exist";
  for (const LogCase& c : kLogCases) {
    const std::string what = std::string(MetricName(c.metric)) + " dim " + std::to_string(c.dim);
    ExpectSameFiles(ApplyLogAndCheckpoint(GraphKernelsNamed("scalar"), c.dim, c.metric),
                    ApplyLogAndCheckpoint(sse, c.dim, c.metric), "sse, " + what);
  }
}

TEST(GraphKernelsTest, Avx2BuildsTheSameGraphsAsSse) {
  const GraphKernels* avx2 = GraphKernelsNamed("avx2");
  if (avx2 == nullptr) GTEST_SKIP() << "this CPU has no AVX2, so the AVX2 kernel cannot run here";
  for (const LogCase& c : kLogCases) {
    const std::string what = std::string(MetricName(c.metric)) + " dim " + std::to_string(c.dim);
    ExpectSameFiles(ApplyLogAndCheckpoint(GraphKernelsNamed("sse"), c.dim, c.metric),
                    ApplyLogAndCheckpoint(avx2, c.dim, c.metric), "avx2, " + what);
  }
}

// A checkpoint written on one CPU and the log tail replayed over it on
// another: the same files as the other way round.
TEST(GraphKernelsTest, ReplayOverACheckpointDoesNotDependOnTheKernel) {
  const auto kernels = AvailableKernels();
  if (kernels.size() < 2) GTEST_SKIP() << "only one kernel on this machine";
  constexpr uint32_t kDim = 48;
  auto run = [](const GraphKernels* first, const GraphKernels* second) {
    TempDir tmp;
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(-1, 1);
    std::vector<float> v(kDim);
    uint64_t offset = 1;
    ForceGraphKernelsForTesting(first);
    {
      auto store = VectorStore::Open(tmp.path());
      EXPECT_TRUE(store.ok());
      EXPECT_TRUE((*store)->ApplyCreate(offset++, 1, CollectionSpec{"c", kDim, Metric::kL2, {12, 64, 64}}).ok());
      for (size_t i = 0; i < 1000; ++i) {
        for (float& x : v) x = u(rng);
        EXPECT_TRUE((*store)->ApplyUpsert(offset++, 2, "c", Name("p", i), v, Json()).ok());
      }
      EXPECT_TRUE((*store)->Checkpoint().ok());
    }
    ForceGraphKernelsForTesting(second);
    std::string graph;
    {
      auto store = VectorStore::Open(tmp.path());
      EXPECT_TRUE(store.ok());
      for (size_t i = 500; i < 1500; ++i) {
        for (float& x : v) x = u(rng);
        EXPECT_TRUE((*store)->ApplyUpsert(offset++, 3, "c", Name("p", i), v, Json()).ok());
      }
      EXPECT_TRUE((*store)->Checkpoint().ok());
    }
    ForceGraphKernelsForTesting(nullptr);
    for (const auto& entry : fs::recursive_directory_iterator(tmp.path())) {
      if (entry.path().extension() != ".hnsw") continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream bytes;
      bytes << in.rdbuf();
      graph = bytes.str();
    }
    return graph;
  };
  const std::string want = run(kernels.front(), kernels.back());
  EXPECT_FALSE(want.empty());
  EXPECT_TRUE(run(kernels.back(), kernels.front()) == want) << kernels.front()->name << " / " << kernels.back()->name;
}

}  // namespace
}  // namespace kissvdb::vector
