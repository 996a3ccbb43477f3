// The hand-written JSON must be byte for byte what nlohmann writes, since
// the same answers are also built as Json trees elsewhere.
#include "util/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

namespace kissvdb {
namespace {

std::string Nlohmann(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

TEST(JsonWriterTest, StringsAreWhatNlohmannWrites) {
  const std::string cases[] = {"",           "plain-id_42", "quote\"back\\slash", std::string("nul\0x", 5),
                               "tab\tnl\ncr\r\b\f", "\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                               "bad \xff utf8 \xc3", "/slash"};
  for (const std::string& s : cases) {
    std::string out;
    AppendJsonString(s, &out);
    EXPECT_EQ(out, Nlohmann(s)) << s;
  }
}

TEST(JsonWriterTest, NumbersAreWhatNlohmannWrites) {
  std::mt19937_64 rng(7);
  std::vector<double> cases = {0.0, -0.0, 1.0, -1.0, 0.1, 1e-7, 1e21, 123456789012345680.0, -3.577239751815796,
                               std::numeric_limits<double>::max(), std::numeric_limits<double>::denorm_min(),
                               static_cast<double>(0.3f)};
  for (int i = 0; i < 2000; ++i) {
    double d;
    uint64_t bits = rng();
    std::memcpy(&d, &bits, sizeof d);
    if (std::isfinite(d)) cases.push_back(d);
    cases.push_back(static_cast<double>(std::uniform_real_distribution<float>(-100, 100)(rng)));
  }
  for (double d : cases) {
    std::string out;
    AppendJsonNumber(d, &out);
    EXPECT_EQ(out, Nlohmann(d)) << d;
  }
  for (double d : {std::nan(""), std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
    std::string out;
    AppendJsonNumber(d, &out);
    EXPECT_EQ(out, "null");
    EXPECT_EQ(out, Nlohmann(d));
  }
}

// A random string: mostly text, with quotes, escapes, controls, DEL,
// multi-byte characters and (sometimes) ill-formed UTF-8.
std::string RandomString(std::mt19937_64& rng) {
  static const std::vector<std::string> pieces = {
      "a", "Z", " ", "\"", "\\", "/", "\n", "\t", "\r", "\b", "\f", std::string(1, '\0'), "\x01", "\x1f", "\x7f",
      "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xe2\x80\xa8", "\xef\xbf\xbd", "plain words ",
      // ill-formed: a lone continuation, a truncated sequence, an overlong, a surrogate, past U+10FFFF
      "\x80", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff"};
  std::string s;
  const int n = static_cast<int>(rng() % 12);
  const bool allow_bad = rng() % 4 == 0;
  for (int i = 0; i < n; ++i) {
    size_t pick = rng() % pieces.size();
    if (!allow_bad) pick %= pieces.size() - 6;
    s += pieces[pick];
  }
  return s;
}

nlohmann::json RandomJson(std::mt19937_64& rng, int depth) {
  switch (rng() % (depth > 3 ? 6 : 8)) {
    case 0: return nullptr;
    case 1: return rng() % 2 == 0;
    case 2: return static_cast<int64_t>(rng());
    case 3: return static_cast<uint64_t>(rng());
    case 4: {
      double d;
      uint64_t bits = rng();
      std::memcpy(&d, &bits, sizeof d);
      return rng() % 2 ? d : static_cast<double>(static_cast<int64_t>(rng() % 2001) - 1000) / 8;
    }
    case 5: return RandomString(rng);
    case 6: {
      nlohmann::json a = nlohmann::json::array();
      for (int i = static_cast<int>(rng() % 5); i > 0; --i) a.push_back(RandomJson(rng, depth + 1));
      return a;
    }
    default: {
      nlohmann::json o = nlohmann::json::object();
      for (int i = static_cast<int>(rng() % 5); i > 0; --i) o[RandomString(rng)] = RandomJson(rng, depth + 1);
      return o;
    }
  }
}

TEST(JsonWriterTest, EveryControlCharacterAndByteIsWrittenAsNlohmannWritesIt) {
  for (int c = 0; c < 256; ++c) {
    const std::string s = "x" + std::string(1, static_cast<char>(c)) + "y";
    std::string out;
    AppendJsonString(s, &out);
    EXPECT_EQ(out, Nlohmann(s)) << c;
  }
}

TEST(JsonWriterTest, WholeValuesAreWhatNlohmannWrites) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20000; ++i) {
    const nlohmann::json v = RandomJson(rng, 0);
    std::string out = "prefix";  // appends, never overwrites
    AppendJson(v, &out);
    ASSERT_EQ(out, "prefix" + Nlohmann(v)) << i;
    ASSERT_EQ(DumpJson(v), Nlohmann(v));
  }
  // A parsed body (the materializer's and the API's input) as well.
  const auto parsed = nlohmann::json::parse(R"({"b":[1,-2,3.5e-9,true,null,{"x":"\u00e9\n"}],"a":"q\"","c":{}})");
  EXPECT_EQ(DumpJson(parsed), parsed.dump());
}

}  // namespace
}  // namespace kissvdb
