// WalkGraph and BoundedL2 against hnswlib itself: the same distances bit for
// bit, the same search path, the same results (graph_walk.h says why that
// holds), while distances really are cut short.
#include "vector/graph_walk.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "vector/bounded_l2.h"

namespace kissvdb::vector {
namespace {

constexpr float kNoBound = std::numeric_limits<float>::infinity();

std::vector<float> RandomVectors(size_t n, size_t dim, uint32_t seed) {
  // Clustered, as real embeddings are: 20 centres plus noise.
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0, 0.3f);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> centres(20 * dim);
  for (float& x : centres) x = u(rng);
  std::vector<float> out(n * dim);
  for (size_t i = 0; i < n; ++i) {
    const float* c = &centres[(rng() % 20) * dim];
    for (size_t j = 0; j < dim; ++j) out[i * dim + j] = c[j] + noise(rng);
  }
  return out;
}

TEST(BoundedL2Test, CompletedDistancesAreHnswlibsBitForBit) {
  for (size_t dim : {16, 64, 784, 1024}) {
    ASSERT_TRUE(BoundedL2::Supports(dim)) << dim;
    hnswlib::L2Space space(dim);
    const auto hnsw = space.get_dist_func();
    const BoundedL2 bounded(dim);
    const std::vector<float> v = RandomVectors(200, dim, static_cast<uint32_t>(dim));
    for (size_t i = 0; i + 1 < 200; ++i) {
      const float* a = &v[i * dim];
      const float* b = &v[(i + 1) * dim];
      const float exact = hnsw(a, b, space.get_dist_func_param());
      EXPECT_EQ(bounded(a, b, kNoBound), exact);
      // Any bound: below it the exact value; at or above it, a value in
      // [bound, exact].
      for (float bound : {exact * 0.1f, exact * 0.5f, exact, std::nextafter(exact, kNoBound), exact * 2}) {
        const float d = bounded(a, b, bound);
        if (d < bound) {
          EXPECT_EQ(d, exact);
        } else {
          EXPECT_LE(d, exact);
          EXPECT_GE(exact, bound);
        }
      }
    }
  }
}

TEST(BoundedL2Test, SupportsOnlyWhatItReproduces) {
#if defined(USE_SSE) && !defined(USE_AVX)
  EXPECT_FALSE(BoundedL2::Supports(100));  // hnswlib's residual kernels
  EXPECT_FALSE(BoundedL2::Supports(12));
#endif
  EXPECT_TRUE(BoundedL2::Supports(768));
}


// hnswlib's own answer: searchKnn with ef and k equal returns the whole
// ef-list of its base-layer search, farthest popped first.
std::vector<std::pair<float, size_t>> HnswlibSearch(hnswlib::HierarchicalNSW<float>& index, const float* q,
                                                    size_t ef) {
  index.setEf(ef);
  auto pq = index.searchKnn(q, ef);
  std::vector<std::pair<float, size_t>> out(pq.size());
  for (size_t i = out.size(); i-- > 0; pq.pop()) out[i] = {pq.top().first, static_cast<size_t>(pq.top().second)};
  return out;
}

TEST(GraphWalkTest, SameResultsAsHnswlibWhileCuttingDistancesShort) {
  constexpr size_t kDim = 256, kN = 3000, kQueries = 200;  // four checks per distance
  hnswlib::L2Space l2(kDim);
  hnswlib::InnerProductSpace ip(kDim);
  const std::vector<float> data = RandomVectors(kN, kDim, 1);
  const std::vector<float> queries = RandomVectors(kQueries, kDim, 2);
  for (hnswlib::SpaceInterface<float>* space : {static_cast<hnswlib::SpaceInterface<float>*>(&l2),
                                                static_cast<hnswlib::SpaceInterface<float>*>(&ip)}) {
    hnswlib::HierarchicalNSW<float> index(space, kN, /*M=*/8, /*ef_construction=*/60, /*seed=*/100);
    for (size_t i = 0; i < kN; ++i) index.addPoint(&data[i * kDim], i);
    const auto fst = space->get_dist_func();
    void* const param = space->get_dist_func_param();
    size_t cut_short = 0, computed = 0;
    const BoundedL2 bounded(kDim);
    auto distance = [&](const float* a, const float* b, float bound) {
      ++computed;
      if (space != &l2) return fst(a, b, param);
      const float d = bounded(a, b, bound);
      cut_short += d >= bound && d != fst(a, b, param);
      return d;
    };
    for (size_t ef : {1, 10, 16, 64}) {
      for (size_t i = 0; i < kQueries; ++i) {
        const float* q = &queries[i * kDim];
        ASSERT_EQ(WalkGraph(index, q, ef, distance), HnswlibSearch(index, q, ef))
            << "query " << i << ", ef " << ef << (space == &l2 ? ", l2" : ", ip");
      }
    }
    if (space == &l2) {
      // The bound reaches the distance and cuts some short (how many
      // depends on the data: ~20% of the floats on Fashion-MNIST, fewer on
      // these evenly spread random dimensions).
      EXPECT_GT(cut_short, 0u) << "of " << computed;
      std::printf("l2: %zu of %zu distances cut short\n", cut_short, computed);
    }
  }
}

// Admits labels that are multiples of `every` (a filter functor for
// hnswlib's searchKnn).
class EveryNth : public hnswlib::BaseFilterFunctor {
 public:
  explicit EveryNth(size_t every) : every_(every) {}
  bool operator()(hnswlib::labeltype label) override { return label % every_ == 0; }

 private:
  size_t every_;
};

TEST(GraphWalkTest, FilteredAndDeletedSameResultsAsHnswlib) {
  constexpr size_t kDim = 64, kN = 3000, kQueries = 100;
  hnswlib::L2Space l2(kDim);
  const std::vector<float> data = RandomVectors(kN, kDim, 3);
  const std::vector<float> queries = RandomVectors(kQueries, kDim, 4);
  hnswlib::HierarchicalNSW<float> index(&l2, kN, /*M=*/8, /*ef_construction=*/60, /*seed=*/100);
  for (size_t i = 0; i < kN; ++i) index.addPoint(&data[i * kDim], i);
  const BoundedL2 distance(kDim);
  for (size_t i = 0; i < kN; i += 7) index.markDelete(i);  // deleted points, the entry point among them
  index.markDelete(index.getExternalLabel(index.enterpoint_node_));
  for (size_t every : {1, 2, 10, 50}) {
    EveryNth allowed(every);
    auto accept = [&](hnswlib::tableint id) {
      return !index.isMarkedDeleted(id) && allowed(index.getExternalLabel(id));
    };
    for (size_t ef : {1, 10, 32}) {
      index.setEf(ef);
      for (size_t i = 0; i < kQueries; ++i) {
        const float* q = &queries[i * kDim];
        auto pq = index.searchKnn(q, ef, every == 1 ? nullptr : &allowed);
        std::vector<std::pair<float, size_t>> expected(pq.size());
        for (size_t j = expected.size(); j-- > 0; pq.pop()) expected[j] = {pq.top().first, pq.top().second};
        const auto got = WalkGraph(index, q, ef, distance, accept);
        ASSERT_EQ(got, expected) << "query " << i << ", ef " << ef << ", every " << every;
        ASSERT_EQ(got.size(), ef) << "a connected graph yields ef accepted points";
        for (const auto& [d, label] : got) ASSERT_TRUE(label % every == 0 && label % 7 != 0) << label;
      }
    }
  }
}

TEST(GraphWalkTest, EmptyGraphFindsNothing) {
  hnswlib::L2Space l2(16);
  hnswlib::HierarchicalNSW<float> index(&l2, 16, 8, 20, 100);
  const std::vector<float> q(16, 0.5f);
  EXPECT_TRUE(WalkGraph(index, q.data(), 10, BoundedL2(16)).empty());
}

}  // namespace
}  // namespace kissvdb::vector
