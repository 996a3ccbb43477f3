// The wide-SIMD search kernels against exact double-precision sums, on
// every length that exercises their blocks and tails, and the early exit's
// promise; then a graph walk with them against hnswlib's own walk.
#include "vector/simd_distance.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include "vector/graph_walk.h"

namespace kissvdb::vector {
namespace {

constexpr float kNoBound = std::numeric_limits<float>::infinity();

std::vector<const SimdKernels*> AvailableKernels() {
  std::vector<const SimdKernels*> out;
  for (const char* name : {"avx2", "avx512"}) {
    if (const SimdKernels* k = SimdKernelsNamed(name)) out.push_back(k);
  }
  return out;
}

TEST(SimdDistanceTest, BestIsTheWidestAvailable) {
  const auto available = AvailableKernels();
  if (available.empty()) {
    EXPECT_EQ(BestSimdKernels(), nullptr);
  } else {
    EXPECT_EQ(BestSimdKernels(), available.back());
  }
  EXPECT_EQ(SimdKernelsNamed("sse9"), nullptr);
}

TEST(SimdDistanceTest, AgreeWithExactSumsOnEveryLength) {
  const auto kernels = AvailableKernels();
  if (kernels.empty()) GTEST_SKIP() << "this CPU has neither AVX2+FMA nor AVX-512F";
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  for (const SimdKernels* k : kernels) {
    for (size_t dim : {1, 3, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 255, 256, 784, 1000, 1536}) {
      std::vector<float> a(dim), b(dim);
      for (int trial = 0; trial < 20; ++trial) {
        for (size_t i = 0; i < dim; ++i) a[i] = u(rng), b[i] = u(rng);
        double l2 = 0, dot = 0, scale = 0;
        for (size_t i = 0; i < dim; ++i) {
          l2 += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
          dot += double(a[i]) * b[i];
          scale += std::abs(double(a[i]) * b[i]);
        }
        const float full = k->l2_until(a.data(), b.data(), dim, kNoBound);
        EXPECT_NEAR(full, l2, 1e-5 * l2 + 1e-7) << k->name << " dim " << dim;
        EXPECT_NEAR(k->ip_distance(a.data(), b.data(), dim), 1 - dot, 1e-5 * scale + 1e-6) << k->name << " dim " << dim;
        // Below the bound, the full value; at or above it, a value in
        // [bound, full].
        for (float bound : {full * 0.05f, full * 0.3f, full * 0.7f, full, full * 1.5f}) {
          const float d = k->l2_until(a.data(), b.data(), dim, bound);
          if (d < bound) {
            EXPECT_EQ(d, full) << k->name << " dim " << dim;
          } else {
            EXPECT_LE(d, full) << k->name << " dim " << dim;
            EXPECT_GE(full, bound) << k->name << " dim " << dim;
          }
        }
      }
    }
  }
}

TEST(SimdDistanceTest, EarlyExitCutsDistancesShort) {
  const auto kernels = AvailableKernels();
  if (kernels.empty()) GTEST_SKIP() << "this CPU has neither AVX2+FMA nor AVX-512F";
  // Far apart in the first 128 dimensions: settled after the first check.
  std::vector<float> a(512, 0.0f), b(512, 0.0f);
  for (size_t i = 0; i < 128; ++i) b[i] = 1.0f;
  for (size_t i = 128; i < 512; ++i) b[i] = 0.5f;
  for (const SimdKernels* k : kernels) {
    EXPECT_EQ(k->l2_until(a.data(), b.data(), 512, 100.0f), 128.0f) << k->name;
    EXPECT_EQ(k->l2_until(a.data(), b.data(), 512, kNoBound), 224.0f) << k->name;
  }
}

// The walk with these kernels may step differently from hnswlib's (sums in
// another order) but must find what it finds: nearly the same ef-lists.
TEST(SimdDistanceTest, GraphWalkFindsWhatHnswlibFinds) {
  const auto kernels = AvailableKernels();
  if (kernels.empty()) GTEST_SKIP() << "this CPU has neither AVX2+FMA nor AVX-512F";
  constexpr size_t kDim = 200, kN = 3000, kQueries = 200, kEf = 32;
  std::mt19937 rng(11);
  std::normal_distribution<float> g(0, 1);
  std::vector<float> data(kN * kDim), queries(kQueries * kDim);
  for (float& x : data) x = g(rng);
  for (float& x : queries) x = g(rng);
  hnswlib::L2Space l2(kDim);
  hnswlib::InnerProductSpace ip(kDim);
  for (hnswlib::SpaceInterface<float>* space : {static_cast<hnswlib::SpaceInterface<float>*>(&l2),
                                                static_cast<hnswlib::SpaceInterface<float>*>(&ip)}) {
    hnswlib::HierarchicalNSW<float> index(space, kN, 12, 80, 100);
    for (size_t i = 0; i < kN; ++i) index.addPoint(&data[i * kDim], i);
    index.setEf(kEf);
    for (const SimdKernels* k : kernels) {
      size_t same = 0, total = 0;
      for (size_t q = 0; q < kQueries; ++q) {
        const float* query = &queries[q * kDim];
        auto pq = index.searchKnn(query, kEf);
        std::set<size_t> theirs;
        for (; !pq.empty(); pq.pop()) theirs.insert(pq.top().second);
        const auto ours = space == &l2
                              ? WalkGraph(index, query, kEf,
                                          [k](const float* a, const float* b, float bound) {
                                            return k->l2_until(a, b, kDim, bound);
                                          })
                              : WalkGraph(index, query, kEf, [k](const float* a, const float* b, float) {
                                  return k->ip_distance(a, b, kDim);
                                });
        ASSERT_EQ(ours.size(), kEf);
        for (const auto& [d, label] : ours) same += theirs.count(label);
        total += kEf;
      }
      EXPECT_GE(static_cast<double>(same) / total, 0.99) << k->name << (space == &l2 ? " l2" : " ip");
    }
  }
}

}  // namespace
}  // namespace kissvdb::vector
