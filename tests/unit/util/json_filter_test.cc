#include "util/json_filter.h"

#include <gtest/gtest.h>

namespace kissvdb {
namespace {

const Json kDoc = Json::parse(R"({
  "name": "ada", "age": 36, "score": 9.5, "active": true, "nothing": null,
  "tags": ["x", "y"], "addr": {"city": "London", "zip": "N1", "geo": {"lat": 51.5}},
  "items": [{"sku": "a1"}, {"sku": "b2"}], "big": 18446744073709551615, "neg": -3
})");

bool Match(const char* filter) {
  auto f = JsonFilter::Compile(Json::parse(filter));
  EXPECT_TRUE(f.ok()) << filter << ": " << f.status().ToString();
  return f.ok() && f->Matches(kDoc);
}

struct Case {
  const char* filter;
  bool want;
};

TEST(JsonFilterTest, SemanticsTable) {
  const Case cases[] = {
      // Plain equality (the original behaviour), AND of fields.
      {R"({})", true},
      {R"({"name": "ada"})", true},
      {R"({"name": "bob"})", false},
      {R"({"name": "ada", "age": 36})", true},
      {R"({"name": "ada", "age": 37})", false},
      {R"({"age": 36.0})", true},  // JSON numbers compare by value
      {R"({"age": "36"})", false},
      {R"({"tags": ["x", "y"]})", true},
      {R"({"tags": "x"})", false},  // whole-value equality, no element matching
      {R"({"addr": {"city": "London", "zip": "N1", "geo": {"lat": 51.5}}})", true},
      {R"({"addr": {"city": "London"}})", false},
      {R"({"nothing": null})", true},
      {R"({"missing": null})", false},
      // Dotted paths.
      {R"({"addr.city": "London"})", true},
      {R"({"addr.geo.lat": 51.5})", true},
      {R"({"addr.geo.lat": {"$gt": 50}})", true},
      {R"({"addr.nope.lat": 1})", false},
      {R"({"items.1.sku": "b2"})", true},
      {R"({"items.2.sku": "b2"})", false},
      {R"({"name.first": "ada"})", false},
      // $eq / $ne.
      {R"({"age": {"$eq": 36}})", true},
      {R"({"age": {"$ne": 36}})", false},
      {R"({"age": {"$ne": 1}})", true},
      {R"({"missing": {"$ne": 1}})", true},
      {R"({"missing": {"$eq": null}})", false},
      // $in / $nin.
      {R"({"name": {"$in": ["bob", "ada"]}})", true},
      {R"({"name": {"$in": []}})", false},
      {R"({"name": {"$nin": ["bob", "ada"]}})", false},
      {R"({"name": {"$nin": ["bob"]}})", true},
      {R"({"missing": {"$in": [null]}})", false},
      {R"({"missing": {"$nin": [1]}})", true},
      // Ranges: numbers with numbers, strings with strings.
      {R"({"age": {"$gt": 35, "$lt": 37}})", true},
      {R"({"age": {"$gte": 36, "$lte": 36}})", true},
      {R"({"age": {"$gt": 36}})", false},
      {R"({"score": {"$gt": 9}})", true},
      {R"({"score": {"$lt": 9.5}})", false},
      {R"({"neg": {"$lt": 0}})", true},
      {R"({"big": {"$gt": 1}})", true},
      {R"({"big": {"$gt": -1}})", true},
      {R"({"name": {"$gt": "ab"}})", true},
      {R"({"name": {"$gt": "b"}})", false},
      {R"({"name": {"$lte": "ada"}})", true},
      {R"({"age": {"$gt": "1"}})", false},    // number vs string: no match
      {R"({"name": {"$lt": 100}})", false},   // string vs number: no match
      {R"({"active": {"$gt": 0}})", false},   // bool is not a number
      {R"({"missing": {"$lt": 1}})", false},
      {R"({"tags": {"$gt": "a"}})", false},
      // $exists.
      {R"({"nothing": {"$exists": true}})", true},
      {R"({"missing": {"$exists": false}})", true},
      {R"({"addr.zip": {"$exists": true}})", true},
      {R"({"addr.zip.x": {"$exists": true}})", false},
      // Logic.
      {R"({"$and": [{"name": "ada"}, {"age": 36}]})", true},
      {R"({"$and": [{"name": "ada"}, {"age": 1}]})", false},
      {R"({"$or": [{"name": "bob"}, {"age": 36}]})", true},
      {R"({"$or": [{"name": "bob"}, {"age": 1}]})", false},
      {R"({"$not": {"name": "bob"}})", true},
      {R"({"$not": {"name": "ada"}})", false},
      {R"({"$not": {}})", false},
      {R"({"$or": [{"$and": [{"age": {"$gte": 30}}, {"active": true}]}, {"x": 1}], "name": "ada"})", true},
      {R"({"$or": [{"$not": {"age": 36}}, {"addr.city": {"$in": ["Paris"]}}]})", false},
  };
  for (const Case& c : cases) EXPECT_EQ(Match(c.filter), c.want) << c.filter;
}

TEST(JsonFilterTest, NullAndEmptyMatchEverything) {
  auto a = JsonFilter::Compile(nullptr);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->MatchesAll());
  EXPECT_TRUE(a->Matches(Json()));
  auto b = JsonFilter::Compile(Json::object());
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->MatchesAll());
  JsonFilter d;
  EXPECT_TRUE(d.Matches(kDoc));
  auto c = JsonFilter::Compile(Json{{"a", 1}});
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->MatchesAll());
  EXPECT_FALSE(c->Matches(Json("not an object")));
}

TEST(JsonFilterTest, BadFiltersAreInvalidArgument) {
  const char* bad[] = {
      R"([1, 2])",
      R"("x")",
      R"({"$bogus": 1})",
      R"({"a": {"$bogus": 1}})",
      R"({"a": {"$in": 1}})",
      R"({"a": {"$nin": "x"}})",
      R"({"a": {"$gt": null}})",
      R"({"a": {"$lt": [1]}})",
      R"({"a": {"$exists": 1}})",
      R"({"a": {"$eq": 1, "b": 2}})",
      R"({"$and": []})",
      R"({"$and": {}})",
      R"({"$or": [1]})",
      R"({"$not": [1]})",
      R"({"": 1})",
      R"({"a..b": 1})",
      R"({".a": 1})",
      R"({"a.": 1})",
  };
  for (const char* f : bad) {
    auto r = JsonFilter::Compile(Json::parse(f));
    EXPECT_FALSE(r.ok()) << f;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << f;
  }
}

TEST(JsonFilterTest, DepthLimit) {
  Json f = {{"a", 1}};
  for (int i = 0; i < JsonFilter::kMaxDepth; ++i) f = {{"$not", f}};
  EXPECT_TRUE(JsonFilter::Compile(f).ok());
  f = {{"$not", f}};
  EXPECT_EQ(JsonFilter::Compile(f).status().code(), Code::kInvalidArgument);
}

TEST(JsonFilterTest, EqualityFields) {
  auto f = JsonFilter::Compile(Json::parse(R"({
    "a": 1, "b": {"$eq": "x", "$ne": "y"}, "c": {"$gt": 1}, "d.e": 2,
    "$and": [{"f": true}, {"$or": [{"g": 1}]}], "$or": [{"h": 1}], "$not": {"i": 1}, "j": {"k": 1}
  })"));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  std::vector<std::pair<std::string, Json>> want = {{"a", 1}, {"b", "x"}, {"f", true}, {"j", {{"k", 1}}}};
  auto got = f->EqualityFields();
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
}

TEST(JsonFilterTest, MovedFilterStillWorks) {
  auto f = JsonFilter::Compile(Json{{"name", "ada"}});
  ASSERT_TRUE(f.ok());
  JsonFilter g = std::move(f.value());
  EXPECT_TRUE(g.Matches(kDoc));
  EXPECT_FALSE(g.Matches(Json{{"name", "bob"}}));
}

}  // namespace
}  // namespace kissvdb
