// The graph of a collection lives in huge pages, whether it grew by upserts
// or was loaded from a checkpoint (util/huge_pages.h says why).
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>

#include "test_util.h"
#include "util/huge_pages.h"
#include "vector/vector_store.h"

namespace kissvdb::vector {
namespace {

using testing::Name;
using testing::TempDir;

// The process's anonymous memory in huge pages.
size_t AnonHugeBytes() {
  std::ifstream in("/proc/self/smaps_rollup");
  std::string key;
  size_t kib = 0;
  while (in >> key) {
    if (key == "AnonHugePages:") {
      in >> kib;
      return kib << 10;
    }
    in.ignore(1 << 10, '\n');
  }
  return 0;
}

TEST(VectorHugePagesTest, GraphGrownOrLoadedIsInHugePages) {
  if (!HugePagesAllowed()) GTEST_SKIP() << "transparent huge pages are set to \"never\" here";
  // 5,000 vectors of 512 floats: the graph's last growth gives it 8,192
  // slots of ~2 KiB, ~17 MiB in all.
  constexpr uint32_t kDim = 512;
  constexpr size_t kMiB = size_t{1} << 20;
  TempDir dir;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  size_t grown = 0;
  {
    auto store = VectorStore::Open(dir.path());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    uint64_t offset = 0;
    const size_t before = AnonHugeBytes();
    // A sparse graph, built fast (this test is about memory, not recall).
    const CollectionSpec spec{"c", kDim, Metric::kL2, HnswParams{.m = 4, .ef_construction = 8, .ef_search = 8}};
    ASSERT_TRUE((*store)->ApplyCreate(++offset, 1, spec).ok());
    std::vector<float> v(kDim);
    for (size_t i = 0; i < 5000; ++i) {
      for (float& x : v) x = u(rng);
      ASSERT_TRUE((*store)->ApplyUpsert(++offset, 2, "c", Name("id", i), v, nullptr).ok());
    }
    grown = AnonHugeBytes() - std::min(before, AnonHugeBytes());
    EXPECT_GE(grown, 8 * kMiB);
    ASSERT_TRUE((*store)->Checkpoint().ok());
  }
  const size_t before = AnonHugeBytes();
  auto store = VectorStore::Open(dir.path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_EQ((*store)->Info("c")->live_count, 5000u);
  EXPECT_GE(AnonHugeBytes() - std::min(before, AnonHugeBytes()), 8 * kMiB);
}

}  // namespace
}  // namespace kissvdb::vector
