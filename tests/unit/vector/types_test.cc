#include "vector/types.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace kissvdb::vector {
namespace {

TEST(VectorTypesTest, Metrics) {
  for (Metric m : {Metric::kCosine, Metric::kDot, Metric::kL2}) {
    auto parsed = ParseMetric(MetricName(m));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, m);
  }
  EXPECT_EQ(ParseMetric("euclid").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseMetric("").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseMetric("Cosine").status().code(), Code::kInvalidArgument);
}

TEST(VectorTypesTest, SpecLimits) {
  VectorLimits limits;
  CollectionSpec spec{"c", 8, Metric::kL2, {}};
  EXPECT_TRUE(ValidateSpec(spec, limits).ok());
  spec.dim = 0;
  EXPECT_EQ(ValidateSpec(spec, limits).code(), Code::kInvalidArgument);
  spec.dim = limits.max_dim;
  EXPECT_TRUE(ValidateSpec(spec, limits).ok());
  spec.dim = limits.max_dim + 1;
  EXPECT_EQ(ValidateSpec(spec, limits).code(), Code::kInvalidArgument);
  spec.dim = 8;
  spec.hnsw.m = 1;
  EXPECT_EQ(ValidateSpec(spec, limits).code(), Code::kInvalidArgument);
  spec.hnsw.m = limits.max_m + 1;
  EXPECT_EQ(ValidateSpec(spec, limits).code(), Code::kInvalidArgument);
  spec.hnsw = {};
  spec.hnsw.ef_construction = 0;
  EXPECT_EQ(ValidateSpec(spec, limits).code(), Code::kInvalidArgument);
  spec.hnsw = {};
  spec.hnsw.ef_search = limits.max_ef_search + 1;
  EXPECT_EQ(ValidateSpec(spec, limits).code(), Code::kInvalidArgument);
  spec.hnsw = {};
  spec.name = "";
  EXPECT_EQ(ValidateSpec(spec, limits).code(), Code::kInvalidArgument);
}

TEST(VectorTypesTest, Vectors) {
  VectorLimits limits;
  limits.max_dim = 4;
  auto check = [&](std::vector<float> v, uint32_t dim, Metric m) { return ValidateVector(v, dim, m, limits).code(); };
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(check({1, 2, 3}, 3, Metric::kL2), Code::kOk);
  EXPECT_EQ(check({}, 3, Metric::kL2), Code::kInvalidArgument);
  EXPECT_EQ(check({1, 2}, 3, Metric::kL2), Code::kDimMismatch);
  EXPECT_EQ(check({1, 2, 3, 4}, 3, Metric::kL2), Code::kDimMismatch);
  EXPECT_EQ(check({1, 2, 3, 4, 5}, 3, Metric::kL2), Code::kInvalidArgument);  // over max_dim
  EXPECT_EQ(check({1, nan, 3}, 3, Metric::kL2), Code::kInvalidArgument);
  EXPECT_EQ(check({1, -inf, 3}, 3, Metric::kDot), Code::kInvalidArgument);
  EXPECT_EQ(check({0, 0, 0}, 3, Metric::kL2), Code::kOk);
  EXPECT_EQ(check({0, 0, 0}, 3, Metric::kDot), Code::kOk);
  EXPECT_EQ(check({0, 0, 0}, 3, Metric::kCosine), Code::kInvalidArgument);
}

// Every length around the four-float blocks, every position of the odd
// value, against std::isfinite and == 0.
TEST(VectorTypesTest, InspectValuesSeesEveryComponent) {
  const float odd_values[] = {std::numeric_limits<float>::quiet_NaN(),
                              -std::numeric_limits<float>::signaling_NaN(),
                              std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity(),
                              std::numeric_limits<float>::denorm_min(),
                              -std::numeric_limits<float>::denorm_min(),
                              std::numeric_limits<float>::max(),
                              -0.0f,
                              1.0f};
  for (size_t n = 0; n <= 19; ++n) {
    const VectorValues zeros = InspectValues(std::vector<float>(n, 0.0f));
    EXPECT_TRUE(zeros.all_finite && zeros.all_zero) << n;
    for (size_t at = 0; at < n; ++at) {
      for (float odd : odd_values) {
        std::vector<float> v(n, 0.0f);
        v[at] = odd;
        const VectorValues got = InspectValues(v);
        EXPECT_EQ(got.all_finite, std::isfinite(odd)) << n << " " << at << " " << odd;
        EXPECT_EQ(got.all_zero, odd == 0.0f) << n << " " << at << " " << odd;
      }
    }
  }
}

TEST(VectorTypesTest, SearchRequests) {
  VectorLimits limits;
  std::vector<float> v = {1, 2};
  SearchRequest req;
  req.vector = v;
  req.k = 1;
  EXPECT_TRUE(ValidateSearch(req, 2, Metric::kL2, limits).ok());
  req.k = 0;
  EXPECT_EQ(ValidateSearch(req, 2, Metric::kL2, limits).code(), Code::kInvalidArgument);
  req.k = limits.max_k;
  EXPECT_TRUE(ValidateSearch(req, 2, Metric::kL2, limits).ok());
  req.k = limits.max_k + 1;
  EXPECT_EQ(ValidateSearch(req, 2, Metric::kL2, limits).code(), Code::kInvalidArgument);
  req.k = 5;
  req.ef = limits.max_ef_search + 1;
  EXPECT_EQ(ValidateSearch(req, 2, Metric::kL2, limits).code(), Code::kInvalidArgument);
  req.ef = 0;
  EXPECT_EQ(ValidateSearch(req, 3, Metric::kL2, limits).code(), Code::kDimMismatch);
}

TEST(VectorTypesTest, CollectionNamesAreSafeDirectoryNames) {
  EXPECT_TRUE(ValidateCollectionName("docs-2024_v1").ok());
  EXPECT_TRUE(ValidateCollectionName("../etc").ok());  // allowed, but encoded
  EXPECT_EQ(ValidateCollectionName("").code(), Code::kInvalidArgument);
  EXPECT_EQ(ValidateCollectionName("a\nb").code(), Code::kInvalidArgument);
  EXPECT_EQ(ValidateCollectionName(std::string("a\0b", 3)).code(), Code::kInvalidArgument);
  EXPECT_EQ(ValidateCollectionName("a\x7f").code(), Code::kInvalidArgument);
  EXPECT_EQ(ValidateCollectionName(std::string(81, '/')).code(), Code::kInvalidArgument);  // 243 bytes encoded

  EXPECT_EQ(EncodeCollectionName("docs-2024_v1"), "docs-2024_v1");
  EXPECT_EQ(EncodeCollectionName("."), "%2E");
  EXPECT_EQ(EncodeCollectionName(".."), "%2E%2E");
  EXPECT_EQ(EncodeCollectionName("a/b\\c"), "a%2Fb%5Cc");
  EXPECT_EQ(EncodeCollectionName("a b%"), "a%20b%25");
  EXPECT_EQ(EncodeCollectionName("é"), "%C3%A9");
  // Distinct names never share a directory.
  EXPECT_NE(EncodeCollectionName("a%2E"), EncodeCollectionName("a."));
}

}  // namespace
}  // namespace kissvdb::vector
