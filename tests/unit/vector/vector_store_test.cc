#include "vector/vector_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <thread>

#include "test_util.h"
#include "util/json_filter.h"

namespace kissvdb::vector {
namespace {

using testing::Name;
using testing::TempDir;

std::vector<float> RandomVector(std::mt19937* rng, uint32_t dim) {
  std::normal_distribution<float> n(0, 1);
  std::vector<float> v(dim);
  for (float& x : v) x = n(*rng);
  return v;
}

// Reference scores, written independently of the library.
double RefScore(Metric metric, const std::vector<float>& q, const std::vector<float>& v) {
  double dot = 0, qq = 0, vv = 0, l2 = 0;
  for (size_t i = 0; i < q.size(); ++i) {
    dot += double(q[i]) * v[i];
    qq += double(q[i]) * q[i];
    vv += double(v[i]) * v[i];
    l2 += (double(q[i]) - v[i]) * (double(q[i]) - v[i]);
  }
  switch (metric) {
    case Metric::kCosine: return dot / std::sqrt(qq) / std::sqrt(vv);
    case Metric::kDot: return dot;
    case Metric::kL2: return -l2;
  }
  return 0;
}

class VectorStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = VectorStore::Open(dir_.path());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s.value());
  }

  void Create(const std::string& name, uint32_t dim, Metric metric, HnswParams p = {}) {
    ASSERT_TRUE(store_->ApplyCreate(++offset_, 1000, CollectionSpec{name, dim, metric, p}).ok());
  }
  void Put(const std::string& c, const std::string& id, const std::vector<float>& v, const Json& meta = nullptr) {
    Status s = store_->ApplyUpsert(offset_ + 1, 2001 + offset_, c, id, v, meta);
    ++offset_;
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void Del(const std::string& c, const std::string& id) { ASSERT_TRUE(store_->ApplyDelete(++offset_, 3000, c, id).ok()); }

  std::vector<SearchHit> Search(const std::string& c, const std::vector<float>& q, uint32_t k, bool exact = false,
                                const JsonFilter* filter = nullptr, SearchStats* stats = nullptr) {
    SearchRequest req;
    req.vector = q;
    req.k = k;
    req.exact = exact;
    req.filter = filter;
    req.include_meta = true;
    auto r = store_->Search(c, req, stats);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r.value() : std::vector<SearchHit>{};
  }

  TempDir dir_;
  std::unique_ptr<VectorStore> store_;
  uint64_t offset_ = 0;
};

TEST_F(VectorStoreTest, CrudAndSearch) {
  Create("c", 3, Metric::kL2);
  Put("c", "a", {1, 0, 0}, {{"color", "red"}});
  Put("c", "b", {0, 1, 0});
  Put("c", "c", {0, 0, 1}, {{"color", "blue"}});
  EXPECT_TRUE(store_->Contains("c", "a"));
  EXPECT_FALSE(store_->Contains("c", "zz"));
  EXPECT_FALSE(store_->Contains("nope", "a"));

  auto rec = store_->Get("c", "a");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->id, "a");
  EXPECT_EQ(rec->vector, (std::vector<float>{1, 0, 0}));
  EXPECT_EQ(rec->meta, (Json{{"color", "red"}}));
  EXPECT_TRUE(store_->Get("c", "b")->meta.is_null());
  EXPECT_EQ(store_->Get("c", "zz").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->Get("nope", "a").status().code(), Code::kNotFound);

  auto hits = Search("c", {0.9f, 0.1f, 0}, 2);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].id, "a");
  EXPECT_EQ(hits[1].id, "b");
  EXPECT_EQ(hits[0].meta, (Json{{"color", "red"}}));
  EXPECT_GT(hits[0].score, hits[1].score);

  auto info = store_->Info("c");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->live_count, 3u);
  EXPECT_EQ(info->upsert_count, 3u);
  EXPECT_EQ(info->applied_offset, offset_);
  EXPECT_EQ(info->created_at_ms, 1000u);
  EXPECT_EQ(info->updated_at_ms, 2000 + offset_);
  EXPECT_EQ(info->persisted_offset, 0u);

  Del("c", "a");
  EXPECT_FALSE(store_->Contains("c", "a"));
  EXPECT_EQ(store_->Get("c", "a").status().code(), Code::kNotFound);
  hits = Search("c", {1, 0, 0}, 10);
  ASSERT_EQ(hits.size(), 2u);
  for (const auto& h : hits) EXPECT_NE(h.id, "a");
  EXPECT_EQ(store_->Info("c")->live_count, 2u);
  EXPECT_EQ(store_->Info("c")->deleted_count, 1u);

  // Without include_meta, meta is null.
  SearchRequest req;
  std::vector<float> q = {0, 0, 1};
  req.vector = q;
  req.k = 1;
  auto r = store_->Search("c", req);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].id, "c");
  EXPECT_TRUE((*r)[0].meta.is_null());
}

TEST_F(VectorStoreTest, EmptyCollectionSearch) {
  Create("e", 2, Metric::kCosine);
  EXPECT_TRUE(Search("e", {1, 0}, 5).empty());
  EXPECT_TRUE(Search("e", {1, 0}, 5, /*exact=*/true).empty());
  Put("e", "x", {1, 1});
  Del("e", "x");
  EXPECT_TRUE(Search("e", {1, 0}, 5).empty());
}

TEST_F(VectorStoreTest, UpsertReplacesOldVector) {
  Create("c", 2, Metric::kL2);
  Put("c", "p", {0, 0}, {{"v", 1}});
  Put("c", "q", {5, 5});
  Put("c", "p", {10, 10}, {{"v", 2}});
  auto rec = store_->Get("c", "p");
  EXPECT_EQ(rec->vector, (std::vector<float>{10, 10}));
  EXPECT_EQ(rec->meta, (Json{{"v", 2}}));
  EXPECT_EQ(store_->Info("c")->live_count, 2u);
  EXPECT_EQ(store_->Info("c")->upsert_count, 3u);
  for (bool exact : {false, true}) {
    auto hits = Search("c", {0, 0}, 2, exact);
    ASSERT_EQ(hits.size(), 2u);
    EXPECT_EQ(hits[0].id, "q");
    EXPECT_EQ(hits[0].score, -50.0f);
    EXPECT_EQ(hits[1].id, "p");
    EXPECT_EQ(hits[1].score, -200.0f);
  }
}

TEST_F(VectorStoreTest, DeleteThenAddReusesSlot) {
  Create("c", 4, Metric::kDot);
  std::mt19937 rng(1);
  for (int i = 0; i < 16; ++i) Put("c", Name("id", i), RandomVector(&rng, 4));
  const uint64_t capacity = store_->Info("c")->capacity;
  EXPECT_EQ(capacity, 16u);
  Del("c", "id3");
  Del("c", "id7");
  EXPECT_EQ(store_->Info("c")->deleted_count, 2u);
  auto v = RandomVector(&rng, 4);
  Put("c", "new1", v);
  Put("c", "new2", RandomVector(&rng, 4));
  auto info = store_->Info("c");
  EXPECT_EQ(info->deleted_count, 0u);
  EXPECT_EQ(info->capacity, capacity);  // no growth: freed slots were reused
  EXPECT_EQ(info->live_count, 16u);
  EXPECT_EQ(store_->Get("c", "new1")->vector, v);
  auto hits = Search("c", v, 16, /*exact=*/true);
  EXPECT_EQ(hits.size(), 16u);
  for (const auto& h : hits) EXPECT_TRUE(h.id != "id3" && h.id != "id7");
  // Graph search finds the revived point by its own vector.
  auto top = Search("c", v, 16);
  EXPECT_EQ(top.size(), 16u);
}

TEST_F(VectorStoreTest, CapacityGrowsAndEveryPointIsFound) {
  Create("g", 8, Metric::kL2, HnswParams{8, 64, 32});
  std::mt19937 rng(2);
  std::vector<std::vector<float>> vs;
  for (int i = 0; i < 1500; ++i) {
    vs.push_back(RandomVector(&rng, 8));
    Put("g", Name("p", i), vs.back());
  }
  auto info = store_->Info("g");
  EXPECT_EQ(info->live_count, 1500u);
  EXPECT_GE(info->capacity, 1500u);
  EXPECT_EQ(info->capacity, 2048u);  // 16 doubled
  int found = 0;
  for (int i = 0; i < 1500; i += 7) {
    auto hits = Search("g", vs[i], 1);
    ASSERT_EQ(hits.size(), 1u);
    found += hits[0].id == Name("p", i);
  }
  EXPECT_GE(found, 1500 / 7 * 95 / 100);
}

TEST_F(VectorStoreTest, ExactSearchEqualsBruteForce) {
  std::mt19937 rng(3);
  for (Metric metric : {Metric::kCosine, Metric::kDot, Metric::kL2}) {
    const std::string name(MetricName(metric));
    Create(name, 12, metric);
    std::vector<std::vector<float>> vs;
    for (int i = 0; i < 400; ++i) {
      vs.push_back(RandomVector(&rng, 12));
      Put(name, Name("v", i), vs.back());
    }
    for (int qi = 0; qi < 20; ++qi) {
      auto q = RandomVector(&rng, 12);
      std::vector<std::pair<float, std::string>> ref;
      for (size_t i = 0; i < vs.size(); ++i) {
        ref.emplace_back(static_cast<float>(RefScore(metric, q, vs[i])), Name("v", i));
      }
      std::sort(ref.begin(), ref.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
      });
      auto hits = Search(name, q, 25, /*exact=*/true);
      ASSERT_EQ(hits.size(), 25u);
      for (size_t i = 0; i < hits.size(); ++i) {
        EXPECT_EQ(hits[i].id, ref[i].second) << name << " q" << qi << " rank " << i;
        EXPECT_NEAR(hits[i].score, ref[i].first, 1e-5 * std::max(1.0f, std::abs(ref[i].first)));
      }
      // The graph agrees on the top hit.
      auto approx = Search(name, q, 1);
      ASSERT_EQ(approx.size(), 1u);
      EXPECT_EQ(approx[0].id, ref[0].second) << name;
    }
  }
}

// The graph path rescores only the candidates near the k-th (GraphSearch's
// margin). With ef large enough to reach every point it must give exactly
// the exact answer: the same ids in the same order with the same scores,
// also among the many exact and near ties of small integer vectors.
TEST_F(VectorStoreTest, GraphSearchWithFullEfEqualsExact) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> small(0, 3);
  for (Metric metric : {Metric::kCosine, Metric::kDot, Metric::kL2}) {
    const std::string name(MetricName(metric));
    Create(name, 8, metric);
    for (int i = 0; i < 300; ++i) {
      std::vector<float> v(8);
      for (float& x : v) x = static_cast<float>(small(rng)) + (i % 7 == 0 ? 1e-4f : 0.0f);
      v[i % 8] += 1;  // never the zero vector (cosine)
      Put(name, Name("v", i), v);
    }
    for (int qi = 0; qi < 30; ++qi) {
      std::vector<float> q(8);
      for (float& x : q) x = static_cast<float>(small(rng)) + 0.5f;
      SearchRequest req;
      req.vector = q;
      req.k = 10;
      req.ef = 400;
      auto graph = store_->Search(name, req, nullptr);
      req.exact = true;
      auto exact = store_->Search(name, req, nullptr);
      ASSERT_TRUE(graph.ok() && exact.ok());
      ASSERT_EQ(graph->size(), exact->size());
      for (size_t i = 0; i < exact->size(); ++i) {
        EXPECT_EQ((*graph)[i].id, (*exact)[i].id) << name << " q" << qi << " rank " << i;
        EXPECT_EQ((*graph)[i].score, (*exact)[i].score) << name << " q" << qi << " rank " << i;
      }
    }
  }
}

TEST_F(VectorStoreTest, ScoresOnHandExamples) {
  Create("cos", 2, Metric::kCosine);
  Create("dot", 2, Metric::kDot);
  Create("l2", 2, Metric::kL2);
  for (const char* c : {"cos", "dot", "l2"}) {
    Put(c, "a", {3, 4});
    Put(c, "b", {-1, 0});
  }
  for (bool exact : {false, true}) {
    auto cos = Search("cos", {2, 0}, 2, exact);
    ASSERT_EQ(cos.size(), 2u);
    EXPECT_EQ(cos[0].id, "a");
    EXPECT_NEAR(cos[0].score, 0.6f, 1e-6);
    EXPECT_NEAR(cos[1].score, -1.0f, 1e-6);
    auto dot = Search("dot", {1, 2}, 2, exact);
    ASSERT_EQ(dot.size(), 2u);
    EXPECT_EQ(dot[0].id, "a");
    EXPECT_EQ(dot[0].score, 11.0f);  // true inner product: no normalisation
    EXPECT_EQ(dot[1].score, -1.0f);
    auto l2 = Search("l2", {0, 0}, 2, exact);
    ASSERT_EQ(l2.size(), 2u);
    EXPECT_EQ(l2[0].id, "b");
    EXPECT_EQ(l2[0].score, -1.0f);   // -(squared distance)
    EXPECT_EQ(l2[1].score, -25.0f);
  }
  // Cosine keeps the vector as given; the index holds a normalised copy.
  EXPECT_EQ(store_->Get("cos", "a")->vector, (std::vector<float>{3, 4}));
  EXPECT_EQ(store_->Get("dot", "a")->vector, (std::vector<float>{3, 4}));
}

TEST_F(VectorStoreTest, TiesBreakByIdAscending) {
  Create("t", 2, Metric::kL2);
  for (const char* id : {"d", "b", "e", "a", "c"}) Put("t", id, {1, 1});
  Put("t", "far", {9, 9});
  for (bool exact : {false, true}) {
    auto hits = Search("t", {1, 1}, 4, exact);
    ASSERT_EQ(hits.size(), 4u);
    EXPECT_EQ(hits[0].id, "a");
    EXPECT_EQ(hits[1].id, "b");
    EXPECT_EQ(hits[2].id, "c");
    EXPECT_EQ(hits[3].id, "d");
  }
}

TEST_F(VectorStoreTest, BadInputCodes) {
  Create("c", 3, Metric::kCosine);
  Put("c", "a", {1, 2, 3});
  SearchRequest req;
  std::vector<float> q2 = {1, 2};
  req.vector = q2;
  EXPECT_EQ(store_->Search("c", req).status().code(), Code::kDimMismatch);
  std::vector<float> q3 = {1, std::numeric_limits<float>::quiet_NaN(), 3};
  req.vector = q3;
  EXPECT_EQ(store_->Search("c", req).status().code(), Code::kInvalidArgument);
  std::vector<float> zero = {0, 0, 0};
  req.vector = zero;
  EXPECT_EQ(store_->Search("c", req).status().code(), Code::kInvalidArgument);
  std::vector<float> ok = {1, 0, 0};
  req.vector = ok;
  req.k = 0;
  EXPECT_EQ(store_->Search("c", req).status().code(), Code::kInvalidArgument);
  req.k = 1;
  EXPECT_EQ(store_->Search("nope", req).status().code(), Code::kNotFound);

  EXPECT_EQ(store_->ApplyCreate(++offset_, 0, CollectionSpec{"c", 3, Metric::kL2, {}}).code(), Code::kAlreadyExists);
  EXPECT_EQ(store_->ApplyCreate(++offset_, 0, CollectionSpec{"z", 0, Metric::kL2, {}}).code(),
            Code::kInvalidArgument);
  std::vector<float> v2 = {1, 2};
  EXPECT_EQ(store_->ApplyUpsert(++offset_, 0, "c", "b", v2, nullptr).code(), Code::kDimMismatch);
  std::vector<float> inf = {1, std::numeric_limits<float>::infinity(), 2};
  EXPECT_EQ(store_->ApplyUpsert(++offset_, 0, "c", "b", inf, nullptr).code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->ApplyUpsert(++offset_, 0, "c", "b", zero, nullptr).code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->ApplyUpsert(++offset_, 0, "nope", "b", ok, nullptr).code(), Code::kNotFound);
  EXPECT_EQ(store_->ApplyDelete(++offset_, 0, "nope", "b").code(), Code::kNotFound);
  EXPECT_TRUE(store_->ApplyDelete(++offset_, 0, "c", "absent").ok());
  EXPECT_TRUE(store_->ApplyDrop(++offset_, "absent").ok());
}

TEST_F(VectorStoreTest, ReplayedOffsetsAreSkipped) {
  Create("r", 2, Metric::kL2);  // offset 1
  Put("r", "a", {1, 1});        // offset 2
  // The same offsets again (a replay over state that has them): no-ops.
  EXPECT_TRUE(store_->ApplyCreate(1, 0, CollectionSpec{"r", 2, Metric::kL2, {}}).ok());
  std::vector<float> other = {7, 7};
  EXPECT_TRUE(store_->ApplyUpsert(2, 0, "r", "a", other, nullptr).ok());
  EXPECT_TRUE(store_->ApplyDelete(2, 0, "r", "a").ok());
  EXPECT_TRUE(store_->ApplyDrop(2, "r").ok());
  EXPECT_EQ(store_->Get("r", "a")->vector, (std::vector<float>{1, 1}));
  EXPECT_EQ(store_->Info("r")->upsert_count, 1u);
}

TEST_F(VectorStoreTest, DropAndRecreate) {
  Create("d", 2, Metric::kL2);
  Put("d", "a", {1, 1});
  ASSERT_TRUE(store_->ApplyDrop(++offset_, "d").ok());
  EXPECT_FALSE(store_->Info("d").has_value());
  EXPECT_EQ(store_->Get("d", "a").status().code(), Code::kNotFound);
  Create("d", 3, Metric::kDot);
  EXPECT_EQ(store_->Info("d")->spec.dim, 3u);
  EXPECT_EQ(store_->Info("d")->live_count, 0u);
  EXPECT_FALSE(store_->Contains("d", "a"));
}

TEST_F(VectorStoreTest, ListIsSortedByName) {
  Create("b", 2, Metric::kL2);
  Create("a", 3, Metric::kDot);
  Create("c", 4, Metric::kCosine, HnswParams{12, 100, 50});
  auto all = store_->List();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].spec.name, "a");
  EXPECT_EQ(all[1].spec.name, "b");
  EXPECT_EQ(all[2].spec.name, "c");
  EXPECT_EQ(all[2].spec.hnsw.m, 12u);
  EXPECT_EQ(all[2].spec.hnsw.ef_construction, 100u);
  EXPECT_EQ(all[2].spec.hnsw.ef_search, 50u);
}

TEST_F(VectorStoreTest, FilteredSearchSmallCollection) {
  Create("f", 4, Metric::kL2);
  std::mt19937 rng(4);
  for (int i = 0; i < 300; ++i) {
    Put("f", Name("p", i), RandomVector(&rng, 4), {{"mod", i % 10}, {"even", i % 2 == 0}});
  }
  auto even = JsonFilter::Compile(Json{{"even", true}});
  auto rare = JsonFilter::Compile(Json{{"mod", 3}});
  auto none = JsonFilter::Compile(Json{{"mod", 99}});
  ASSERT_TRUE(even.ok() && rare.ok() && none.ok());
  for (int qi = 0; qi < 10; ++qi) {
    auto q = RandomVector(&rng, 4);
    for (const JsonFilter* f : {&even.value(), &rare.value()}) {
      SearchStats stats;
      auto hits = Search("f", q, 10, false, f, &stats);
      auto exact = Search("f", q, 10, true, f);
      ASSERT_EQ(hits.size(), 10u);
      ASSERT_EQ(exact.size(), 10u);
      for (const auto& h : hits) EXPECT_TRUE(f->Matches(h.meta));
      int same = 0;
      for (const auto& h : hits) {
        same += std::any_of(exact.begin(), exact.end(), [&](const SearchHit& e) { return e.id == h.id; });
      }
      EXPECT_GE(same, 9);
    }
    EXPECT_TRUE(Search("f", q, 10, false, &none.value()).empty());
  }
  // 30 points match "mod 3": asking for 50 returns all 30.
  EXPECT_EQ(Search("f", RandomVector(&rng, 4), 50, false, &rare.value()).size(), 30u);
}

TEST_F(VectorStoreTest, ParallelSearchesWhileWriting) {
  Create("r", 8, Metric::kCosine);
  Create("w", 8, Metric::kCosine);
  std::mt19937 rng(5);
  for (int i = 0; i < 500; ++i) Put("r", Name("p", i), RandomVector(&rng, 8));
  auto q = RandomVector(&rng, 8);
  auto expected = Search("r", q, 10);
  std::atomic<bool> mismatch{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        SearchRequest req;
        req.vector = q;
        req.k = 10;
        auto r = store_->Search("r", req);
        if (!r.ok() || r->size() != expected.size()) {
          mismatch = true;
          continue;
        }
        for (size_t j = 0; j < r->size(); ++j) mismatch = mismatch || (*r)[j].id != expected[j].id;
      }
    });
  }
  // Writes to "w" and to "r" itself interleave with the searches.
  for (int i = 0; i < 300; ++i) Put("w", Name("x", i), RandomVector(&rng, 8));
  for (auto& th : readers) th.join();
  EXPECT_FALSE(mismatch);
  std::thread writer([&] {
    for (int i = 0; i < 200; ++i) Put("r", Name("late", i), RandomVector(&rng, 8));
  });
  for (int i = 0; i < 200; ++i) EXPECT_EQ(Search("r", q, 10).size(), 10u);
  writer.join();
  EXPECT_EQ(store_->Info("r")->live_count, 700u);
}

}  // namespace
}  // namespace kissvdb::vector
