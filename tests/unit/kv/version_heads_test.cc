// VersionHeads: the newest offsets of a key, as its state record keeps them.
#include "kv/version_heads.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace kissvdb::kv {
namespace {

TEST(VersionHeadsTest, KeepsTheSixteenNewestAndRoundTrips) {
  std::mt19937_64 rng(16);
  VersionHeads heads;
  std::vector<uint64_t> all;
  uint64_t offset = 1;
  for (int i = 0; i < 40; ++i) {
    offset += 1 + rng() % (i % 3 == 0 ? 5 : uint64_t{1} << i);  // near and far apart
    const uint64_t dropped = heads.Add(offset);
    EXPECT_EQ(dropped, all.size() >= VersionHeads::kMax ? all[all.size() - VersionHeads::kMax] : 0);
    all.push_back(offset);
    VersionHeads decoded;
    ASSERT_TRUE(decoded.Decode(heads.Encode()));
    ASSERT_EQ(decoded.size(), std::min<size_t>(all.size(), VersionHeads::kMax));
    for (size_t j = 0; j < decoded.size(); ++j) EXPECT_EQ(decoded[j], all[all.size() - decoded.size() + j]);
    EXPECT_EQ(decoded.newest(), offset);
    EXPECT_LT(heads.Encode().size(), 256u);  // its length fits the record's u8
  }
}

TEST(VersionHeadsTest, FindsTheNewestAtOrBefore) {
  VersionHeads heads;
  for (uint64_t o : {10, 20, 30}) heads.Add(o);
  EXPECT_EQ(heads.NewestAtOrBefore(9), -1);
  EXPECT_EQ(heads.NewestAtOrBefore(10), 0);
  EXPECT_EQ(heads.NewestAtOrBefore(29), 1);
  EXPECT_EQ(heads.NewestAtOrBefore(30), 2);
  EXPECT_EQ(heads.NewestAtOrBefore(UINT64_MAX), 2);
}

TEST(VersionHeadsTest, RejectsMalformedEncodings) {
  VersionHeads heads;
  EXPECT_TRUE(heads.Decode(""));
  EXPECT_TRUE(heads.empty());
  EXPECT_FALSE(heads.Decode(std::string("\x80", 1)));           // a varint cut short
  EXPECT_FALSE(heads.Decode(std::string("\x05\x05", 2)));       // an older offset of 0
  EXPECT_FALSE(heads.Decode(std::string("\x05\x00", 2)));       // two equal offsets
  EXPECT_TRUE(heads.Decode("d" + std::string(15, '\x01')));    // 100, 99, ..., 85
  EXPECT_EQ(heads.size(), 16u);
  EXPECT_FALSE(heads.Decode("d" + std::string(16, '\x01')));   // more than 16
  EXPECT_FALSE(heads.Decode(std::string(11, '\xff')));          // a varint past 64 bits
  EXPECT_TRUE(heads.empty());
}

}  // namespace
}  // namespace kissvdb::kv
