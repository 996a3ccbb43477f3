// ParseVectorBodyText must give what nlohmann::json + get<float>() give:
// the same floats bit for bit and the same other members, or decline (and
// the ordinary parser runs). Differential tests against nlohmann::json.
#include "api/vector_body.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace kissvdb::api {
namespace {

uint32_t Bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

// Checks one object (and its fast-decoded vector) against nlohmann's DOM.
void ExpectSameObject(const Json& slow, const Json& fast, const std::optional<std::vector<float>>& vec) {
  Json rest = slow;
  if (vec.has_value()) {
    ASSERT_TRUE(slow.contains("vector"));
    const Json& v = slow["vector"];
    ASSERT_TRUE(v.is_array());
    ASSERT_EQ(v.size(), vec->size());
    for (size_t i = 0; i < v.size(); ++i) {
      ASSERT_TRUE(v[i].is_number());
      EXPECT_EQ(Bits(v[i].get<float>()), Bits((*vec)[i])) << v[i].dump() << " element " << i;
    }
    rest.erase("vector");
  }
  EXPECT_EQ(rest, fast);
}

// Either declines, or agrees with nlohmann; never accepts what it rejects.
void Check(const std::string& text, const char* list = nullptr) {
  SCOPED_TRACE(text.substr(0, 200));
  Json fast;
  FastVectors vectors;
  const bool ok = ParseVectorBodyText(text, list, &fast, &vectors);
  Json slow;
  try {
    slow = Json::parse(text);
  } catch (const Json::exception&) {
    EXPECT_FALSE(ok) << "accepted what nlohmann rejects";
    return;
  }
  if (!ok) return;
  ASSERT_TRUE(slow.is_object());
  if (list == nullptr) {
    ASSERT_EQ(vectors.size(), 1u);
    ExpectSameObject(slow, fast, vectors[0]);
    return;
  }
  Json slow_rest = slow, fast_rest = fast;
  slow_rest.erase(list);
  fast_rest.erase(list);
  EXPECT_EQ(slow_rest, fast_rest);
  if (!slow.contains(list) || !slow[list].is_array()) {
    EXPECT_TRUE(vectors.empty());
    EXPECT_EQ(slow, fast);
    return;
  }
  ASSERT_EQ(slow[list].size(), vectors.size());
  for (size_t i = 0; i < vectors.size(); ++i) ExpectSameObject(slow[list][i], fast[list][i], vectors[i]);
}

bool Accepted(const std::string& text, const char* list = nullptr) {
  Json out;
  FastVectors v;
  return ParseVectorBodyText(text, list, &out, &v);
}

TEST(VectorBodyTest, DecodesTheHotShapes) {
  Json out;
  FastVectors v;
  ASSERT_TRUE(ParseVectorBodyText(R"({"vector":[0,0.5,-1.25e2,3],"k":10,"ef":16})", nullptr, &out, &v));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(*v[0], (std::vector<float>{0.0f, 0.5f, -125.0f, 3.0f}));
  EXPECT_EQ(out, Json::parse(R"({"k":10,"ef":16})"));

  ASSERT_TRUE(ParseVectorBodyText(R"({"items":[{"id":"a","vector":[1,2]},{"id":"b","meta":{"x":[1]}}],"atomic":true})",
                                  "items", &out, &v));
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(*v[0], (std::vector<float>{1.0f, 2.0f}));
  EXPECT_FALSE(v[1].has_value());
  EXPECT_EQ(out, Json::parse(R"({"items":[{"id":"a"},{"id":"b","meta":{"x":[1]}}],"atomic":true})"));
}

TEST(VectorBodyTest, DeclinesWhatItDoesNotHandle) {
  EXPECT_FALSE(Accepted(R"({"vector":[1],"vector":[2]})"));        // repeated: last wins in nlohmann
  EXPECT_FALSE(Accepted(R"({"vector":null,"vector":[2]})"));
  EXPECT_FALSE(Accepted(R"({"vect\u006fr":[1]})"));                 // escape in a key
  EXPECT_FALSE(Accepted("{\"v\xc3\xa9\":[1]}"));                     // non-ASCII key
  EXPECT_FALSE(Accepted(R"({"vector":[1,"2"]})"));                   // not a number
  EXPECT_FALSE(Accepted(R"({"vector":[12345678901234567890]})"));    // beyond int64
  EXPECT_FALSE(Accepted(R"({"vector":[1e400]})"));                   // out of double range
  EXPECT_FALSE(Accepted(R"([1,2])"));
  EXPECT_FALSE(Accepted(""));
  EXPECT_FALSE(Accepted(R"({"queries":[1]})", "queries"));           // an element that is not an object
}

TEST(VectorBodyTest, NumbersMatchNlohmannBitForBit) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> mag(-40, 40);
  std::vector<std::string> nums = {"0",     "-0",       "0.0",      "-0.0",  "1",     "-1",   "1e5",  "1E5",
                                   "1e-5",  "1.5e+3",   "123456789012345678", "-123456789012345678",
                                   "0.1",   "0.30000000000000004", "3.4028235e38", "1e-45", "1.4e-45",
                                   "16777217", "-16777217", "0.003921568859368563", "0.003921569"};
  char buf[64];
  for (int i = 0; i < 2000; ++i) {
    const double d = (rng() & 1 ? -1 : 1) * std::pow(10.0, mag(rng)) * std::uniform_real_distribution<double>(1, 10)(rng);
    const int prec = 1 + static_cast<int>(rng() % 17);
    std::snprintf(buf, sizeof buf, rng() & 1 ? "%.*g" : "%.*e", prec, d);
    nums.push_back(buf);
    nums.push_back(std::to_string(static_cast<int64_t>(rng() >> (rng() % 64))));
  }
  // Short decimals with small exponents (the exact multiply/divide path):
  // pixels / 255 as the bench sends them, and mantissas near 2^53.
  for (int p = 0; p < 256; ++p) {
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(static_cast<float>(p / 255.0)));
    nums.push_back(buf);
  }
  for (const char* n : {"9007199254740992e-22", "9007199254740993e-22", "9007199254740991.5", "1e22", "1e23",
                        "1e-22", "1e-23", "123.456e-20", "0.000000000000000000001", "4.5e+22", "-7.25e-3",
                        "1234567890123456789.5", "0.12345678901234567890123"}) {
    nums.push_back(n);
  }
  // Midpoints between adjacent floats: where double rounding would show.
  for (int i = 0; i < 2000; ++i) {
    const float f = std::uniform_real_distribution<float>(-1000, 1000)(rng);
    const double mid = (static_cast<double>(f) + static_cast<double>(std::nextafter(f, 2000.0f))) / 2;
    std::snprintf(buf, sizeof buf, "%.17g", mid);
    nums.push_back(buf);
    // The same midpoint in 15-16 digits: mantissas below 2^53, so these
    // take the exact multiply/divide path, and one ulp of double error
    // there moves the float.
    std::snprintf(buf, sizeof buf, "%.16g", mid);
    nums.push_back(buf);
    std::snprintf(buf, sizeof buf, "%.15g", mid / 1000);
    nums.push_back(buf);
  }
  size_t accepted = 0;
  for (const std::string& n : nums) {
    Check("{\"vector\":[" + n + "]}");
    accepted += Accepted("{\"vector\":[" + n + "]}");
  }
  // Only integers of 19+ characters are left to nlohmann.
  EXPECT_GT(accepted, nums.size() * 9 / 10);
  // All of them in one vector, with and without spaces around the commas.
  for (const char* comma : {" , ", ","}) {
    std::string text = "{\"vector\": [";
    for (size_t i = 0; i < nums.size(); ++i) {
      if (nums[i].size() < 19) text += (i ? comma : "") + nums[i];
    }
    text += "], \"k\": 10}";
    EXPECT_TRUE(Accepted(text));
    Check(text);
  }
}

// Comma-separated integers with no spaces (every Fashion-MNIST body), and
// the malformed neighbours of that shape: leading zeros, lone signs, empty
// elements, a missing ']'.
TEST(VectorBodyTest, ShortIntegerRunsAgreeWithNlohmann) {
  for (const char* text : {
           R"({"vector":[0,-0,1,-1,255,0,0,7]})", R"({"vector":[123456789,-999999999,1234567890,-1234567890,5]})",
           R"({"vector":[12345678901234567,1,2]})", R"({"vector":[01,2]})", R"({"vector":[1,00,3]})",
           R"({"vector":[1,-,2]})", R"({"vector":[-,1]})", R"({"vector":[1,2,]})", R"({"vector":[1,,2]})",
           R"({"vector":[1,2 ,3, 4,5]})", R"({"vector":[1,2.5,3,4e1,5]})", R"({"vector":[1,2,3)",
           R"({"vector":[1,2,3)" ",", R"({"vector":[--1,2]})", R"({"vector":[1,-0,-00,2]})", R"({"vector":[9,]})",
       }) {
    Check(text);
  }
  std::string pixels = "{\"vector\":[";
  std::mt19937 rng(3);
  for (int i = 0; i < 784; ++i) pixels += (i ? "," : "") + std::to_string(rng() % 256);
  pixels += "],\"k\":10}";
  EXPECT_TRUE(Accepted(pixels));
  Check(pixels);
}

// Decimals of up to 7 + 7 digits (what embeddings look like), where the
// scanner converts each run of digits eight bytes at a time; each number
// alone with room after it, then all in one vector.
TEST(VectorBodyTest, ShortDecimalsAgreeWithNlohmann) {
  std::vector<std::string> nums = {"-0.0", "0.0", "0.1234567", "-0.0000001", "1234567.1234567", "-9999999.9999999",
                                   "9999999", "0.5",  "1.0",       "12.3e4",     "1.",              "1.12345678",
                                   "01.5",    "-.5",  "0.1e1",     "7.25E-3",    "-12345678",       "3.0000000"};
  std::mt19937_64 rng(11);
  for (int i = 0; i < 3000; ++i) {
    std::string n = (rng() & 1) ? "-" : "";
    n += std::to_string(rng() % 10'000'000 >> (rng() % 24));
    const int fraction_digits = static_cast<int>(rng() % 8);
    if (fraction_digits > 0) {
      n += '.';
      for (int d = 0; d < fraction_digits; ++d) n += static_cast<char>('0' + rng() % 10);
    }
    nums.push_back(n);
  }
  std::string all = "{\"vector\":[";
  for (size_t i = 0; i < nums.size(); ++i) {
    Check("{\"vector\":[" + nums[i] + "]         }");
    all += (i ? "," : "") + nums[i];
  }
  all += "],\"k\":10}";
  Check(all);
}

TEST(VectorBodyTest, AgreesWithNlohmannOnEdgeCases) {
  for (const char* text : {
           R"({})", R"( { } )", R"({"vector":[]})", R"({"vector": [ 1 , 2 ] , "k" : 3 })",
           "{\n\t\"vector\":[1,\r\n2],\"include_meta\":true}", R"({"vector":null})", R"({"vector":"x"})",
           R"({"vector":[1],"filters":{"vector":[1,2],"a":{"$in":["}","]","\""]}}})", R"({"k":10})",
           R"({"vector":[01]})", R"({"vector":[1.]})", R"({"vector":[.5]})", R"({"vector":[+1]})",
           R"({"vector":[-]})", R"({"vector":[1,]})", R"({"vector":[1 2]})", R"({"vector":[1],})",
           R"({"vector":[1]} x)", R"({"vector":[1]}})", R"({"a":tru})", R"({"a":"x"y})", R"({"a":1 2})",
           R"({"a":[1,{"b":"]"}]})", R"({"a":"\u00e9\n"})", "{\"a\":\"\xff\"}", R"({"a":1,"a":2})",
           R"({"vector":[NaN]})", R"({"vector":[Infinity]})", R"({"vector":[1e-400]})", R"({"a":})",
           R"({"vector":[-0]})", R"({"vector":[1E+2,1e-2,-1.5E-300]})", R"({"vector":[1,2],"k":[)",
       }) {
    Check(text);
  }
  for (const char* text : {
           R"({"queries":[]})", R"({"queries":[{"vector":[1]},{"vector":[2],"k":1}],"x":1})",
           R"({"queries":[{"vector":[1]}],"queries":[]})", R"({"queries":null})", R"({"queries":[{}, {"vector":null}]})",
           R"({"queries":[{"vector":[1]} {"vector":[2]}]})", R"({"vector":[1],"queries":[{"vector":[3]}]})",
       }) {
    Check(text, "queries");
  }
}

}  // namespace
}  // namespace kissvdb::api
