// The graph of a collection is advised into huge pages, whether it grew by
// upserts or was loaded from a checkpoint (util/huge_pages.h says why).
// What is checked is the advice (the mapping's "hg" flag), which is this
// code's doing; how much the kernel then backs with 2 MiB pages depends on
// its free memory and is only printed.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>

#include "test_util.h"
#include "util/huge_pages.h"
#include "vector/vector_store.h"

namespace kissvdb::vector {
namespace {

using testing::Name;
using testing::TempDir;

// Over all of the process's mappings.
HugePageUse ProcessHugePageUse() { return HugePageUseOf(nullptr, SIZE_MAX); }

size_t Growth(size_t before, size_t after) { return after - std::min(before, after); }

TEST(VectorHugePagesTest, GraphGrownOrLoadedIsInHugePages) {
  if (!HugePagesAllowed()) GTEST_SKIP() << "transparent huge pages are set to \"never\" here";
  // 5,000 vectors of 512 floats, slots of ~2 KiB: the graph's last growth
  // gives it 8,192 slots (16.3 MiB, at least 7 whole huge pages wherever it
  // starts); loaded, it has 5,000 (10 MiB, at least 3).
  constexpr uint32_t kDim = 512;
  constexpr size_t kMiB = size_t{1} << 20;
  TempDir dir;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  {
    auto store = VectorStore::Open(dir.path());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    uint64_t offset = 0;
    const HugePageUse before = ProcessHugePageUse();
    // A sparse graph, built fast (this test is about memory, not recall).
    const CollectionSpec spec{"c", kDim, Metric::kL2, HnswParams{.m = 4, .ef_construction = 8, .ef_search = 8}};
    ASSERT_TRUE((*store)->ApplyCreate(++offset, 1, spec).ok());
    std::vector<float> v(kDim);
    for (size_t i = 0; i < 5000; ++i) {
      for (float& x : v) x = u(rng);
      ASSERT_TRUE((*store)->ApplyUpsert(++offset, 2, "c", Name("id", i), v, nullptr).ok());
    }
    const HugePageUse after = ProcessHugePageUse();
    EXPECT_GE(Growth(before.advised_bytes, after.advised_bytes), 14 * kMiB);
    std::printf("grown: %zu MiB in huge pages\n", Growth(before.huge_bytes, after.huge_bytes) >> 20);
    ASSERT_TRUE((*store)->Checkpoint().ok());
  }
  const HugePageUse before = ProcessHugePageUse();
  auto store = VectorStore::Open(dir.path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_EQ((*store)->Info("c")->live_count, 5000u);
  const HugePageUse after = ProcessHugePageUse();
  EXPECT_GE(Growth(before.advised_bytes, after.advised_bytes), 6 * kMiB);
  std::printf("loaded: %zu MiB in huge pages\n", Growth(before.huge_bytes, after.huge_bytes) >> 20);
}

}  // namespace
}  // namespace kissvdb::vector
