// LoadGraph against hnswlib's own loadIndex: the same graph in memory, byte
// for byte, and a clear error (never a crash or a graph) for a file that
// does not match its manifest.
#include "vector/graph_load.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

#include "test_util.h"
#include "util/crc32c.h"

namespace kissvdb::vector {
namespace {

using testing::TempDir;
using Index = hnswlib::HierarchicalNSW<float>;

constexpr size_t kDim = 24;
constexpr size_t kM = 8;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A graph of n points (some marked deleted), saved by hnswlib.
std::string SaveGraph(hnswlib::SpaceInterface<float>* space, size_t n, const std::string& path) {
  Index index(space, n + 10, kM, 40, /*random_seed=*/7);
  std::mt19937 rng(11);
  std::normal_distribution<float> dist;
  std::vector<float> v(kDim);
  for (size_t i = 0; i < n; ++i) {
    for (auto& x : v) x = dist(rng);
    index.addPoint(v.data(), i);
  }
  for (size_t i = 0; i < n; i += 17) index.markDelete(i);
  index.saveIndex(path);
  return ReadAll(path);
}

GraphFileExpectation Expect(const std::string& bytes, size_t slots) {
  return GraphFileExpectation{bytes.size(), crc32c::Value(bytes.data(), bytes.size()), slots, kM, slots + 100};
}

void ExpectSameGraph(const Index& a, const Index& b) {
  ASSERT_EQ(a.cur_element_count, b.cur_element_count);
  ASSERT_EQ(a.max_elements_, b.max_elements_);
  ASSERT_EQ(a.size_data_per_element_, b.size_data_per_element_);
  EXPECT_EQ(a.size_links_per_element_, b.size_links_per_element_);
  EXPECT_EQ(a.size_links_level0_, b.size_links_level0_);
  EXPECT_EQ(a.offsetData_, b.offsetData_);
  EXPECT_EQ(a.label_offset_, b.label_offset_);
  EXPECT_EQ(a.offsetLevel0_, b.offsetLevel0_);
  EXPECT_EQ(a.maxlevel_, b.maxlevel_);
  EXPECT_EQ(a.enterpoint_node_, b.enterpoint_node_);
  EXPECT_EQ(a.M_, b.M_);
  EXPECT_EQ(a.maxM_, b.maxM_);
  EXPECT_EQ(a.maxM0_, b.maxM0_);
  EXPECT_EQ(a.ef_construction_, b.ef_construction_);
  EXPECT_EQ(a.ef_, b.ef_);
  EXPECT_EQ(a.mult_, b.mult_);
  EXPECT_EQ(a.revSize_, b.revSize_);
  EXPECT_EQ(a.data_size_, b.data_size_);
  EXPECT_EQ(a.num_deleted_, b.num_deleted_);
  EXPECT_EQ(a.link_list_locks_.size(), b.link_list_locks_.size());
  EXPECT_EQ(a.label_op_locks_.size(), b.label_op_locks_.size());
  EXPECT_EQ(a.label_lookup_, b.label_lookup_);
  EXPECT_EQ(a.element_levels_, b.element_levels_);
  const size_t n = a.cur_element_count;
  EXPECT_EQ(0, std::memcmp(a.data_level0_memory_, b.data_level0_memory_, n * a.size_data_per_element_));
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(a.element_levels_[i], b.element_levels_[i]);
    if (a.element_levels_[i] == 0) continue;
    ASSERT_EQ(0, std::memcmp(a.linkLists_[i], b.linkLists_[i], a.element_levels_[i] * a.size_links_per_element_))
        << "element " << i;
  }
}

TEST(GraphLoadTest, LoadsTheSameGraphAsHnswlib) {
  TempDir dir;
  hnswlib::L2Space space(kDim);
  // 3,000 points: some reach upper layers; more than the reader's buffer.
  for (size_t n : {size_t{0}, size_t{1}, size_t{3000}}) {
    const std::string path = dir / ("g" + std::to_string(n));
    const std::string bytes = SaveGraph(&space, n, path);
    const GraphFileExpectation expect = Expect(bytes, n);
    std::unique_ptr<Index> ours;
    ASSERT_TRUE(LoadGraph(path, &space, expect, &ours).ok()) << n;
    Index theirs(&space, path, false, expect.capacity);
    ExpectSameGraph(*ours, theirs);
    if (n == 0) continue;
    // And it works as a graph: search, then insert past the loaded points.
    std::vector<float> q(kDim, 0.1f);
    auto a = ours->searchKnn(q.data(), 5);
    auto b = theirs.searchKnn(q.data(), 5);
    EXPECT_EQ(a.size(), b.size());
    while (!a.empty()) {
      EXPECT_EQ(a.top(), b.top());
      a.pop();
      b.pop();
    }
    ours->addPoint(q.data(), n);
    EXPECT_EQ(ours->cur_element_count, n + 1);
  }
}

TEST(GraphLoadTest, AFileThatDoesNotMatchItsManifestIsAnError) {
  TempDir dir;
  hnswlib::L2Space space(kDim);
  const std::string path = dir / "g";
  const std::string bytes = SaveGraph(&space, 500, path);
  auto load = [&](const GraphFileExpectation& expect) {
    std::unique_ptr<Index> out;
    Status st = LoadGraph(path, &space, expect, &out);
    EXPECT_EQ(out == nullptr, !st.ok());
    return st;
  };
  EXPECT_TRUE(load(Expect(bytes, 500)).ok());

  // A flipped byte anywhere: the checksum.
  for (size_t at : {size_t{3}, bytes.size() / 2, bytes.size() - 1}) {
    std::string bad = bytes;
    bad[at] ^= 0x40;
    WriteAll(path, bad);
    Status st = load(Expect(bytes, 500));
    EXPECT_EQ(st.code(), Code::kCorruption) << at << ": " << st.ToString();
  }
  // A flipped byte with a matching checksum (a manifest written for
  // another file): every length is checked before it is used.
  for (size_t at = 0; at < 140; ++at) {
    std::string bad = bytes;
    bad[at] ^= 0x7f;
    WriteAll(path, bad);
    Status st = load(Expect(bad, 500));
    if (!st.ok()) {
      EXPECT_EQ(st.code(), Code::kCorruption) << at;
    }
  }
  WriteAll(path, bytes);
  // Truncated, or longer than the manifest says.
  WriteAll(path, bytes.substr(0, bytes.size() - 5));
  EXPECT_EQ(load(Expect(bytes, 500)).code(), Code::kCorruption);
  EXPECT_EQ(load(Expect(bytes.substr(0, bytes.size() - 5), 500)).code(), Code::kCorruption);
  WriteAll(path, bytes);
  // Another slot count or M than the manifest's.
  EXPECT_EQ(load(Expect(bytes, 499)).code(), Code::kCorruption);
  GraphFileExpectation other_m = Expect(bytes, 500);
  other_m.m = kM * 2;
  EXPECT_EQ(load(other_m).code(), Code::kCorruption);
  std::filesystem::remove(path);
  EXPECT_EQ(load(Expect(bytes, 500)).code(), Code::kCorruption);
}

}  // namespace
}  // namespace kissvdb::vector
