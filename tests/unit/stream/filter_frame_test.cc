#include <gtest/gtest.h>

#include "stream/filter.h"
#include "stream/frame.h"
#include "stream/ring.h"
#include "stream_test_util.h"

namespace kissvdb::stream {
namespace {

using testing::ParseFrames;

Event Ev(uint64_t offset, std::string type, Json data) {
  Event ev;
  ev.offset = offset;
  ev.ts_ms = 77;
  ev.type = std::move(type);
  ev.data = std::move(data);
  return ev;
}

TEST(FilterTest, TypesAreAnExactCommaList) {
  Filter f(" state_updated, ,vector_added,state_updated ", "", "");
  EXPECT_EQ(f.types(), (std::vector<std::string>{"state_updated", "vector_added"}));
  EXPECT_TRUE(f.Matches(FieldsOf(Ev(1, "state_updated", {{"key", "a"}}))));
  EXPECT_TRUE(f.Matches(FieldsOf(Ev(1, "vector_added", {{"collection", "c"}}))));
  EXPECT_FALSE(f.Matches(FieldsOf(Ev(1, "state_deleted", {{"key", "a"}}))));
  EXPECT_FALSE(f.Matches(FieldsOf(Ev(1, "state_update", {{"key", "a"}}))));
  EXPECT_TRUE(Filter("", "", "").empty());
  EXPECT_TRUE(Filter(",,", "", "").empty());
}

TEST(FilterTest, KeyPrefixNeedsAStringKey) {
  Filter f("", "user:", "");
  EXPECT_TRUE(f.Matches(FieldsOf(Ev(1, "state_updated", {{"key", "user:1"}}))));
  EXPECT_TRUE(f.Matches(FieldsOf(Ev(1, "state_updated", {{"key", "user:"}}))));
  EXPECT_FALSE(f.Matches(FieldsOf(Ev(1, "state_updated", {{"key", "user"}}))));
  EXPECT_FALSE(f.Matches(FieldsOf(Ev(1, "state_updated", {{"key", "admin:user:1"}}))));
  EXPECT_FALSE(f.Matches(FieldsOf(Ev(1, "vector_added", {{"collection", "user:"}}))));
  EXPECT_FALSE(f.Matches(FieldsOf(Ev(1, "x", {{"key", 5}}))));
  EXPECT_FALSE(f.Matches(FieldsOf(Ev(1, "x", Json::array()))));
}

TEST(FilterTest, CollectionIsExactAndCombinesWithTheOthers) {
  Filter f("vector_added,doc_updated", "", "docs");
  EXPECT_TRUE(f.Matches(FieldsOf(Ev(1, "vector_added", {{"collection", "docs"}, {"id", "1"}}))));
  EXPECT_TRUE(f.Matches(FieldsOf(Ev(1, "doc_updated", {{"collection", "docs"}, {"id", "1"}}))));
  EXPECT_FALSE(f.Matches(FieldsOf(Ev(1, "vector_deleted", {{"collection", "docs"}}))));
  EXPECT_FALSE(f.Matches(FieldsOf(Ev(1, "vector_added", {{"collection", "docs2"}}))));
  EXPECT_FALSE(f.Matches(FieldsOf(Ev(1, "state_updated", {{"key", "docs"}}))));
  Filter all3("state_updated", "a", "c");
  EXPECT_TRUE(all3.Matches(FieldsOf(Ev(1, "state_updated", {{"key", "ab"}, {"collection", "c"}}))));
  EXPECT_FALSE(all3.Matches(FieldsOf(Ev(1, "state_updated", {{"key", "ab"}}))));
}

TEST(FilterTest, KeysIdentifyEqualFilters) {
  EXPECT_EQ(Filter("b,a", "p", "").key(), Filter("a, b", "p", "").key());
  EXPECT_NE(Filter("a", "", "").key(), Filter("", "a", "").key());
  EXPECT_NE(Filter("", "a", "b").key(), Filter("", "ab", "").key());
  EXPECT_NE(Filter("a,b", "", "").key(), Filter("a", "", "").key());
}

// A default filter and one built from empty parameters are equal, so they
// share rendered frames (found by the stream_filter fuzzer).
TEST(FilterTest, DefaultFilterHasTheKeyOfEveryEmptyFilter) {
  EXPECT_TRUE(Filter().empty());
  EXPECT_EQ(Filter().key(), Filter("", "", "").key());
  EXPECT_EQ(Filter().key(), Filter(" , ", "", "").key());
}

TEST(FrameTest, EventFrameMatchesTheOriginalWireForm) {
  const std::string sse = RenderEvent(Ev(42, "state_updated", {{"key", "a\nb"}, {"revision", 3}}));
  EXPECT_EQ(sse,
            "event: state_updated\nid: 42\n"
            "data: {\"offset\":42,\"ts_ms\":77,\"type\":\"state_updated\","
            "\"data\":{\"key\":\"a\\nb\",\"revision\":3}}\n\n");
  auto frames = ParseFrames(sse);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].json(), (Json{{"offset", 42}, {"ts_ms", 77}, {"type", "state_updated"},
                                    {"data", {{"key", "a\nb"}, {"revision", 3}}}}));
}

TEST(FrameTest, VectorFloatsAreDataVectorInTheirShortestForm) {
  Event ev = Ev(9, "vector_upserted", {{"collection", "c"}, {"id", "a"}, {"meta", {{"z", 1}}}});
  ev.floats = {0.1f, 1.0f, -2.5f, 1e-7f, 3.4028235e38f, -0.0f, 16777216.0f, 0.33333334f};
  ev.tx = 8;
  const std::string sse = RenderEvent(ev);
  EXPECT_EQ(sse,
            "event: vector_upserted\nid: 9\n"
            "data: {\"offset\":9,\"ts_ms\":77,\"type\":\"vector_upserted\","
            "\"data\":{\"collection\":\"c\",\"id\":\"a\",\"meta\":{\"z\":1},"
            "\"vector\":[0.1,1.0,-2.5,1e-07,3.4028235e+38,-0.0,16777216.0,0.33333334]},\"tx\":8}\n\n");
  auto frames = ParseFrames(sse);
  ASSERT_EQ(frames.size(), 1u);
  const Json data = frames[0].json()["data"];
  EXPECT_EQ(data["meta"], (Json{{"z", 1}}));
  ASSERT_EQ(data["vector"].size(), ev.floats.size());
  for (size_t i = 0; i < ev.floats.size(); ++i) {
    EXPECT_EQ(data["vector"][i].get<float>(), ev.floats[i]) << i << ": reads back to the same float";
  }
  // Empty data object: the vector is its only member.
  Event bare = Ev(1, "vector_added", Json::object());
  bare.floats = {2.0f};
  EXPECT_NE(RenderEvent(bare).find("\"data\":{\"vector\":[2.0]}"), std::string::npos) << RenderEvent(bare);
}

TEST(FrameTest, SyntheticFrames) {
  auto gap = ParseFrames(RenderGap(10, 99));
  ASSERT_EQ(gap.size(), 1u);
  EXPECT_EQ(gap[0].event, "gap");
  EXPECT_EQ(gap[0].id, 10u);
  EXPECT_EQ(gap[0].json(), (Json{{"reason", "slow_consumer"}, {"resume_since", 10}, {"from_offset", 11},
                                 {"to_offset", 99}}));
  auto cp = ParseFrames(RenderCheckpoint(7));
  ASSERT_EQ(cp.size(), 1u);
  EXPECT_EQ(cp[0].event, "checkpoint");
  EXPECT_FALSE(cp[0].id.has_value());
  EXPECT_EQ(cp[0].json(), (Json{{"offset", 7}}));
  auto compacted = ParseFrames(RenderCompacted(3, 50));
  ASSERT_EQ(compacted.size(), 1u);
  EXPECT_EQ(compacted[0].event, "compacted");
  EXPECT_FALSE(compacted[0].id.has_value());
  EXPECT_EQ(compacted[0].json(), (Json{{"requested_since", 3}, {"oldest_available", 50}, {"resume_since", 49}}));
  auto err = ParseFrames(RenderError(Status::IOError("disk")));
  ASSERT_EQ(err.size(), 1u);
  EXPECT_EQ(err[0].json(), (Json{{"error", "persistence_error"}, {"message", "disk"}}));
  auto ka = ParseFrames(std::string(kKeepalive));
  ASSERT_EQ(ka.size(), 1u);
  EXPECT_EQ(ka[0].comment, "keepalive");
}

TEST(RingTest, EvictsOldestAndRestartsOnADiscontinuity) {
  Ring ring(3, 1 << 20, 1);
  EXPECT_EQ(ring.first(), 1u);
  EXPECT_EQ(ring.next(), 1u);
  for (uint64_t i = 1; i <= 5; ++i) ring.Append(MakeFrame(Ev(i, "t", Json::object())));
  EXPECT_EQ(ring.first(), 3u);
  EXPECT_EQ(ring.next(), 6u);
  EXPECT_TRUE(ring.Contains(3));
  EXPECT_FALSE(ring.Contains(2));
  EXPECT_EQ(ring.at(4).offset, 4u);
  ring.Append(MakeFrame(Ev(9, "t", Json::object())));  // 6..8 never reached the ring
  EXPECT_EQ(ring.first(), 9u);
  EXPECT_EQ(ring.next(), 10u);
}

TEST(RingTest, ByteBoundKeepsTheNewestFrame) {
  Ring ring(1000, 10, 1);
  ring.Append(MakeFrame(Ev(1, "t", {{"big", std::string(100, 'x')}})));
  ring.Append(MakeFrame(Ev(2, "t", {{"big", std::string(100, 'x')}})));
  EXPECT_EQ(ring.size(), 1u);
  EXPECT_EQ(ring.first(), 2u);
}

}  // namespace
}  // namespace kissvdb::stream
