#include "vector/validator.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace kissvdb::vector {
namespace {

using testing::TempDir;

class VectorValidatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = VectorStore::Open(dir_.path());
    ASSERT_TRUE(s.ok());
    store_ = std::move(s.value());
    ASSERT_TRUE(store_->ApplyCreate(1, 0, CollectionSpec{"c", 2, Metric::kL2, {}}).ok());
    ASSERT_TRUE(store_->ApplyUpsert(2, 0, "c", "x", v_, Json{{"m", 1}}).ok());
  }

  TempDir dir_;
  std::unique_ptr<VectorStore> store_;
  std::vector<float> v_ = {1, 2};
  std::vector<float> w_ = {3, 4};
};

TEST_F(VectorValidatorTest, AgainstTheStore) {
  VectorValidator val(store_.get(), VectorLimits{});
  EXPECT_EQ(val.ValidateCreate(CollectionSpec{"c", 2, Metric::kL2, {}}).code(), Code::kAlreadyExists);
  EXPECT_EQ(val.ValidateCreate(CollectionSpec{"n", 0, Metric::kL2, {}}).code(), Code::kInvalidArgument);
  EXPECT_EQ(val.ValidateDrop("nope").code(), Code::kNotFound);
  EXPECT_EQ(val.ValidateAdd("c", "x", v_, nullptr).code(), Code::kAlreadyExists);
  EXPECT_EQ(val.ValidateAdd("nope", "y", v_, nullptr).code(), Code::kNotFound);
  std::vector<float> three = {1, 2, 3};
  EXPECT_EQ(val.ValidateUpsert("c", "y", three, nullptr).code(), Code::kDimMismatch);
  EXPECT_EQ(val.ValidateUpsert("c", "", v_, nullptr).code(), Code::kInvalidArgument);
  EXPECT_EQ(val.ValidateDelete("c", "nope").code(), Code::kNotFound);
  EXPECT_EQ(val.ValidateUpdate("c", "nope", std::nullopt, Json(1)).status().code(), Code::kNotFound);

  auto merged = val.ValidateUpdate("c", "x", std::nullopt, Json{{"m", 2}});
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->vector, v_);  // kept
  EXPECT_EQ(merged->meta, (Json{{"m", 2}}));
  merged = val.ValidateUpdate("c", "x", w_, std::nullopt);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->vector, w_);
  EXPECT_EQ(merged->meta, (Json{{"m", 2}}));  // from the pending update
}

TEST_F(VectorValidatorTest, OverlayWithinABatch) {
  VectorValidator val(store_.get(), VectorLimits{});
  ASSERT_TRUE(val.ValidateCreate(CollectionSpec{"n", 2, Metric::kCosine, {}}).ok());
  EXPECT_EQ(val.ValidateCreate(CollectionSpec{"n", 2, Metric::kCosine, {}}).code(), Code::kAlreadyExists);
  ASSERT_TRUE(val.Describe("n").has_value());
  EXPECT_EQ(val.Describe("n")->metric, Metric::kCosine);
  std::vector<float> zero = {0, 0};
  EXPECT_EQ(val.ValidateAdd("n", "a", zero, nullptr).code(), Code::kInvalidArgument);  // cosine
  ASSERT_TRUE(val.ValidateAdd("n", "a", v_, nullptr).ok());
  EXPECT_EQ(val.ValidateAdd("n", "a", v_, nullptr).code(), Code::kAlreadyExists);
  EXPECT_TRUE(val.Contains("n", "a"));
  ASSERT_TRUE(val.ValidateDelete("n", "a").ok());
  EXPECT_FALSE(val.Contains("n", "a"));
  EXPECT_EQ(val.ValidateDelete("n", "a").code(), Code::kNotFound);
  ASSERT_TRUE(val.ValidateAdd("n", "a", w_, nullptr).ok());

  // Drop and re-create "c" in the batch: its stored ids are gone.
  ASSERT_TRUE(val.ValidateDelete("c", "x").ok());
  ASSERT_TRUE(val.ValidateUpsert("c", "x", v_, nullptr).ok());
  ASSERT_TRUE(val.ValidateDrop("c").ok());
  EXPECT_FALSE(val.Describe("c").has_value());
  EXPECT_EQ(val.ValidateUpsert("c", "x", v_, nullptr).code(), Code::kNotFound);
  EXPECT_EQ(val.ValidateDrop("c").code(), Code::kNotFound);
  ASSERT_TRUE(val.ValidateCreate(CollectionSpec{"c", 3, Metric::kDot, {}}).ok());
  EXPECT_FALSE(val.Contains("c", "x"));
  EXPECT_EQ(val.ValidateUpsert("c", "x", v_, nullptr).code(), Code::kDimMismatch);

  // Reset forgets the batch: the store has not changed.
  val.Reset();
  EXPECT_FALSE(val.Describe("n").has_value());
  EXPECT_TRUE(val.Contains("c", "x"));
  EXPECT_EQ(val.Describe("c")->dim, 2u);
}

}  // namespace
}  // namespace kissvdb::vector
