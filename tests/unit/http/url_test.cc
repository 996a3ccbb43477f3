#include "http/url.h"

#include <gtest/gtest.h>

namespace kissvdb::http {
namespace {

TEST(SplitTargetTest, SplitsPathAndQuery) {
  std::string_view path, query;
  SplitTarget("/v1/state?prefix=a&limit=3", &path, &query);
  EXPECT_EQ(path, "/v1/state");
  EXPECT_EQ(query, "prefix=a&limit=3");
  SplitTarget("/v1/health", &path, &query);
  EXPECT_EQ(path, "/v1/health");
  EXPECT_EQ(query, "");
  SplitTarget("/a?", &path, &query);
  EXPECT_EQ(path, "/a");
  EXPECT_EQ(query, "");
  SplitTarget("/a?x=1#frag", &path, &query);
  EXPECT_EQ(query, "x=1");
  SplitTarget("/a?x=?y", &path, &query);  // only the first '?' splits
  EXPECT_EQ(query, "x=?y");
}

TEST(PercentDecodeTest, Decodes) {
  std::string out;
  EXPECT_TRUE(PercentDecode("a%2Fb%2fc%20d", false, &out));
  EXPECT_EQ(out, "a/b/c d");
  out.clear();
  EXPECT_TRUE(PercentDecode("a+b", false, &out));
  EXPECT_EQ(out, "a+b");
  out.clear();
  EXPECT_TRUE(PercentDecode("a+b%2B", true, &out));
  EXPECT_EQ(out, "a b+");
  out.clear();
  EXPECT_TRUE(PercentDecode("%00%ff", false, &out));
  EXPECT_EQ(out, std::string("\0\xff", 2));  // bytes, not checked for UTF-8
  out.clear();
  EXPECT_TRUE(PercentDecode("", false, &out));
  EXPECT_EQ(out, "");
}

TEST(PercentDecodeTest, RejectsMalformedEscapes) {
  std::string out;
  EXPECT_FALSE(PercentDecode("%", false, &out));
  EXPECT_FALSE(PercentDecode("abc%2", false, &out));
  EXPECT_FALSE(PercentDecode("%zz", false, &out));
  EXPECT_FALSE(PercentDecode("%g0", true, &out));
  EXPECT_FALSE(PercentDecode("a%%41", false, &out));
}

TEST(ParseQueryTest, ParsesPairs) {
  std::map<std::string, std::string> q;
  EXPECT_TRUE(ParseQuery("prefix=user%3A&limit=10&flag&&empty=&sp=a+b", &q));
  EXPECT_EQ(q.size(), 5u);
  EXPECT_EQ(q["prefix"], "user:");
  EXPECT_EQ(q["limit"], "10");
  EXPECT_EQ(q["flag"], "");
  EXPECT_EQ(q["empty"], "");
  EXPECT_EQ(q["sp"], "a b");
}

TEST(ParseQueryTest, LastValueWinsAndNamesAreDecoded) {
  std::map<std::string, std::string> q;
  EXPECT_TRUE(ParseQuery("a=1&a=2&api%5Fkey=x&eq=a=b", &q));
  EXPECT_EQ(q["a"], "2");
  EXPECT_EQ(q["api_key"], "x");
  EXPECT_EQ(q["eq"], "a=b");
}

TEST(ParseQueryTest, RejectsMalformedEscapes) {
  std::map<std::string, std::string> q;
  EXPECT_FALSE(ParseQuery("a=%zz", &q));
  EXPECT_FALSE(ParseQuery("%=1", &q));
  EXPECT_TRUE(ParseQuery("", &q));
}

}  // namespace
}  // namespace kissvdb::http
