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

}  // namespace
}  // namespace kissvdb
