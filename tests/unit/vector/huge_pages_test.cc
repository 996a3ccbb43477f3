// The graph of a collection is advised into huge pages, whether it grew by
// upserts or was loaded from saved files (util/huge_pages.h says why).
// What is checked is the advice (the "hg" flag of the mapping holding the
// graph), which is this code's doing; how much of it the kernel then backs
// with 2 MiB pages depends on its free memory and is only printed.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>

#include "test_util.h"
#include "util/huge_pages.h"
#include "vector/collection.h"

namespace kissvdb::vector {
namespace {

using testing::Name;
using testing::TempDir;

constexpr size_t kMiB = size_t{1} << 20;

HugePageUse UseOfGraph(const Collection& c) {
  const std::span<const char> graph = c.GraphMemory();
  return HugePageUseOf(graph.data(), graph.size());
}

TEST(VectorHugePagesTest, GraphGrownOrLoadedIsInHugePages) {
  if (!HugePagesAllowed()) GTEST_SKIP() << "transparent huge pages are set to \"never\" here";
  // 5,000 vectors of 512 floats, slots of ~2 KiB: the graph's last growth
  // gives it 8,192 slots (16.3 MiB, at least 7 whole huge pages wherever it
  // starts); loaded, it has 5,000 (10 MiB, at least 3).
  constexpr uint32_t kDim = 512;
  TempDir dir;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  {
    // A sparse graph, built fast (this test is about memory, not recall).
    const CollectionSpec spec{"c", kDim, Metric::kL2, HnswParams{.m = 4, .ef_construction = 8, .ef_search = 8}};
    Collection c(spec, 1, 1);
    std::vector<float> v(kDim);
    for (size_t i = 0; i < 5000; ++i) {
      for (float& x : v) x = u(rng);
      ASSERT_TRUE(c.Upsert(2 + i, 2, Name("id", i), v, nullptr).ok());
    }
    const HugePageUse grown = UseOfGraph(c);
    EXPECT_GE(grown.advised_bytes, 14 * kMiB);
    std::printf("grown: %zu MiB in huge pages\n", grown.huge_bytes >> 20);
    ASSERT_TRUE(c.Save(dir.path()).ok());
  }
  auto loaded = Collection::Load(dir.path());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ((*loaded)->Info().live_count, 5000u);
  const HugePageUse use = UseOfGraph(**loaded);
  EXPECT_GE(use.advised_bytes, 6 * kMiB);
  std::printf("loaded: %zu MiB in huge pages\n", use.huge_bytes >> 20);
}

}  // namespace
}  // namespace kissvdb::vector
