// Index encodings: byte order of encodings == value order; self-delimiting.
#include "doc/index_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>

#include "doc/page_cursor.h"

namespace kissvdb::doc {
namespace {

std::string Enc(const Json& v) {
  std::string out;
  EXPECT_TRUE(AppendScalar(&out, v)) << v.dump();
  return out;
}

TEST(IndexCodecTest, NumbersSortNumerically) {
  std::vector<double> values = {-std::numeric_limits<double>::max(), -1e300, -12345.5, -2, -1, -0.5, -1e-300,
                                0, 1e-300, 0.5, 1, 2, 3.25, 1e15, 9007199254740992.0, 1e300,
                                std::numeric_limits<double>::max()};
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> dist(-1e6, 1e6);
  for (int i = 0; i < 2000; ++i) values.push_back(dist(rng));
  for (int i = 0; i < 2000; ++i) values.push_back(static_cast<double>(static_cast<int64_t>(rng()) >> 20));
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t j : {size_t{0}, i / 2, values.size() - 1 - i % values.size()}) {
      const double a = values[i], b = values[j];
      const std::string ea = Enc(a), eb = Enc(b);
      EXPECT_EQ(a < b, ea < eb) << a << " vs " << b;
      EXPECT_EQ(a == b, ea == eb) << a << " vs " << b;
    }
  }
}

TEST(IndexCodecTest, EqualJsonNumbersShareAnEncoding) {
  EXPECT_EQ(Enc(Json(1)), Enc(Json(1.0)));
  EXPECT_EQ(Enc(Json(uint64_t{7})), Enc(Json(int64_t{7})));
  EXPECT_EQ(Enc(Json(-0.0)), Enc(Json(0))) << "-0 == 0 as JSON numbers";
  EXPECT_LT(Enc(Json(int64_t{-5})), Enc(Json(uint64_t{3})));
  EXPECT_LT(Enc(Json(uint64_t{1} << 62)), Enc(Json(std::numeric_limits<uint64_t>::max())));
}

TEST(IndexCodecTest, StringsSortBytewiseIncludingZeroBytes) {
  std::vector<std::string> strings = {"", std::string("\0", 1), std::string("\0\0", 2), std::string("a\0", 2),
                                      std::string("a\0b", 3), "a", "ab", "b", "\x7f", "\xc3\xa9", "\xff",
                                      std::string("\xff\0", 2), "zz"};
  for (const auto& a : strings) {
    for (const auto& b : strings) {
      EXPECT_EQ(a < b, Enc(a) < Enc(b)) << Json(a).dump() << " vs " << Json(b).dump();
      // Self-delimiting: an id appended never changes the order of values.
      if (a < b) {
        EXPECT_LT(Enc(a) + "zzzz", Enc(b) + "a");
      }
    }
  }
}

TEST(IndexCodecTest, TypesSortInRankOrder) {
  std::vector<std::string> keys = {SortKey(nullptr), Enc(nullptr), Enc(false), Enc(true), Enc(-1e308), Enc(1e308),
                                   Enc(""), Enc("zzz")};
  Json arr = Json::array({1});
  keys.push_back(SortKey(&arr));
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  std::string out;
  EXPECT_FALSE(AppendScalar(&out, Json::object()));
  EXPECT_FALSE(AppendScalar(&out, Json::array()));
  EXPECT_TRUE(out.empty());
}

TEST(IndexCodecTest, ScalarLengthFindsTheEnd) {
  for (const Json& v : {Json(nullptr), Json(true), Json(false), Json(3.5), Json(""), Json("abc"),
                        Json(std::string("a\0\0b", 4))}) {
    std::string e = Enc(v);
    EXPECT_EQ(ScalarLength(e + "some-id"), e.size()) << v.dump();
    EXPECT_EQ(ScalarLength(e), e.size());
  }
  EXPECT_EQ(ScalarLength(""), 0u);
  EXPECT_EQ(ScalarLength("\x40" "abc"), 0u) << "unterminated string";
  EXPECT_EQ(ScalarLength("\x30" "abc"), 0u) << "short number";
  EXPECT_EQ(ScalarLength("\x99"), 0u) << "unknown tag";
}

TEST(IndexCodecTest, FieldNamesAreIndexableUpToTheLimit) {
  EXPECT_TRUE(IndexableField("status"));
  EXPECT_TRUE(IndexableField(std::string(kMaxIndexedFieldBytes - 2, 'f')));
  EXPECT_FALSE(IndexableField(std::string(kMaxIndexedFieldBytes - 1, 'f')));
  EXPECT_NE(FieldPrefix("c", "a"), FieldPrefix("c", std::string("a\0", 2)));
  EXPECT_FALSE(FieldPrefix("c", "ab").starts_with(FieldPrefix("c", "a"))) << "field prefixes never nest";
}

TEST(PageCursorTest, Base64UrlRoundTrips) {
  std::mt19937 rng(3);
  for (size_t n = 0; n < 64; ++n) {
    std::string data;
    for (size_t i = 0; i < n; ++i) data.push_back(static_cast<char>(rng()));
    std::string text = Base64UrlEncode(data);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
    std::string back;
    ASSERT_TRUE(Base64UrlDecode(text, &back));
    EXPECT_EQ(back, data);
  }
  std::string out;
  EXPECT_FALSE(Base64UrlDecode("a", &out));
  EXPECT_FALSE(Base64UrlDecode("ab+/", &out));
  EXPECT_FALSE(Base64UrlDecode("aB", &out)) << "non-zero padding bits";
}

TEST(PageCursorTest, EncodeDecode) {
  PageCursor plain;
  plain.id = "doc-1";
  auto p = DecodeCursor(EncodeCursor(plain));
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->sorted);
  EXPECT_EQ(p->id, "doc-1");

  PageCursor sorted{true, "age", true, Enc(42), "x"};
  auto s = DecodeCursor(EncodeCursor(sorted));
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->sorted);
  EXPECT_TRUE(s->descending);
  EXPECT_EQ(s->field, "age");
  EXPECT_EQ(s->sort_key, Enc(42));
  EXPECT_EQ(s->id, "x");

  for (const char* bad : {"", "!!!", "QUJD", "SzFp", "SzFzYQ"}) {
    EXPECT_EQ(DecodeCursor(bad).status().code(), Code::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace kissvdb::doc
