// The plain query translation and the fusion rules, as pure functions.
#include <gtest/gtest.h>

#include "text/fusion.h"
#include "text/query.h"

namespace kissvdb::text {
namespace {

std::string Match(std::string_view q, Tokenizer t = Tokenizer::kUnicode61) {
  auto m = MatchExpression(q, Syntax::kPlain, t);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? *m : "";
}

TEST(QueryTest, PlainQueriesAreQuotedWordsJoinedWithOr) {
  EXPECT_EQ(Match("hello world"), "\"hello\" OR \"world\"");
  EXPECT_EQ(Match("  Hello, hello! HELLO  "), "\"Hello\"") << "ASCII case folded before de-duplication";
  EXPECT_EQ(Match("foo-bar*baz"), "\"foo\" OR \"bar\" OR \"baz\"");
  EXPECT_EQ(Match("say \"hi\""), "\"say\" OR \"hi\"");
  EXPECT_EQ(Match("AND OR NOT NEAR"), "\"AND\" OR \"OR\" OR \"NOT\" OR \"NEAR\"");
  EXPECT_EQ(Match("¿qué?"), "\"¿qué\"") << "non-ASCII stays in the word; the tokenizer cuts it";
  EXPECT_EQ(Match(""), "");
  EXPECT_EQ(Match("!!! ??? ---"), "");
  EXPECT_EQ(Match("a\"b", Tokenizer::kTrigram), "\"a\"\"b\"") << "quotes are doubled inside a string";
  EXPECT_EQ(Match("wal::Log foo.bar", Tokenizer::kTrigram), "\"wal::Log\" OR \"foo.bar\"");
}

TEST(QueryTest, BadInputIsInvalidArgument) {
  EXPECT_EQ(MatchExpression("caf\xc3\x28", Syntax::kPlain, Tokenizer::kUnicode61).status().code(),
            Code::kInvalidArgument);
  std::string many;
  for (size_t i = 0; i <= kMaxQueryWords; ++i) many += "w" + std::to_string(i) + " ";
  EXPECT_EQ(MatchExpression(many, Syntax::kPlain, Tokenizer::kUnicode61).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(*MatchExpression("  ", Syntax::kFts5, Tokenizer::kUnicode61), "");
  EXPECT_EQ(*MatchExpression("a NEAR b", Syntax::kFts5, Tokenizer::kUnicode61), "a NEAR b");
}

TEST(FusionTest, RrfAddsWeightOverRankPerLeg) {
  std::vector<LegHit> text = {{"a", 9}, {"b", 5}, {"c", 1}};
  std::vector<LegHit> vec = {{"c", 0.9}, {"d", 0.8}, {"a", 0.1}};
  Fusion f;
  f.rrf_k = 1;
  auto out = Fuse(text, vec, f, 10);
  ASSERT_EQ(out.size(), 4u);
  // a: 1/2 + 1/4 = .75; c: 1/4 + 1/2 = .75; b: 1/3; d: 1/3 -> ties by id
  EXPECT_EQ(out[0].id, "a");
  EXPECT_EQ(out[1].id, "c");
  EXPECT_EQ(out[2].id, "b");
  EXPECT_EQ(out[3].id, "d");
  EXPECT_DOUBLE_EQ(out[0].score, 0.75);
  EXPECT_EQ(*out[0].text_rank, 1u);
  EXPECT_EQ(*out[0].vector_rank, 3u);
  EXPECT_FALSE(out[2].vector_rank.has_value());
  EXPECT_EQ(Fuse(text, vec, f, 2).size(), 2u);
}

TEST(FusionTest, WeightedNormalizesEachLeg) {
  std::vector<LegHit> text = {{"a", 10}, {"b", 5}, {"c", 0}};
  std::vector<LegHit> vec = {{"c", 1}, {"a", 0}};
  Fusion f;
  f.method = Fusion::Method::kWeighted;
  f.vector_weight = 0.25;
  auto out = Fuse(text, vec, f, 10);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].id, "a");
  EXPECT_DOUBLE_EQ(out[0].score, 0.75);        // text 1, vector 0
  EXPECT_DOUBLE_EQ(out[1].score, 0.75 * 0.5);  // b: text 0.5, no vector
  EXPECT_DOUBLE_EQ(out[2].score, 0.25);        // c: text 0, vector 1
  // A leg whose scores are all equal normalizes to 1.
  auto flat = Fuse({{"x", 3}, {"y", 3}}, {}, f, 10);
  EXPECT_DOUBLE_EQ(flat[0].score, 0.75);
}

}  // namespace
}  // namespace kissvdb::text
