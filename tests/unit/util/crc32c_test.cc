#include "util/crc32c.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

namespace kissvdb::crc32c {

// Defined in crc32c.cc, deliberately not in crc32c.h: the two
// implementations behind Extend(), on the raw (uninverted) register.
namespace internal {
uint32_t ExtendPortable(uint32_t crc, const uint8_t* p, size_t n);
uint32_t ExtendHardware(uint32_t crc, const uint8_t* p, size_t n);
bool HardwareAvailable();
}  // namespace internal

namespace {

// Bit-at-a-time reference straight from the definition.
uint32_t Reference(const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
  }
  return ~crc;
}

TEST(Crc32cTest, KnownVectors) {
  EXPECT_EQ(Value("123456789", 9), 0xE3069283u);
  EXPECT_EQ(Value("", 0), 0u);
  EXPECT_EQ(Value("a", 1), 0xC1D04330u);

  // RFC 3720 (iSCSI), appendix B.4.
  char buf[32];
  std::memset(buf, 0, sizeof(buf));
  EXPECT_EQ(Value(buf, sizeof(buf)), 0x8A9136AAu);
  std::memset(buf, 0xFF, sizeof(buf));
  EXPECT_EQ(Value(buf, sizeof(buf)), 0x62A8AB43u);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<char>(i);
  EXPECT_EQ(Value(buf, sizeof(buf)), 0x46DD794Eu);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<char>(31 - i);
  EXPECT_EQ(Value(buf, sizeof(buf)), 0x113FDB5Cu);
}

TEST(Crc32cTest, ExtendComposes) {
  const std::string s = "hello world, this is a longer string to checksum";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    EXPECT_EQ(Extend(Value(s.data(), cut), s.data() + cut, s.size() - cut),
              Value(s.data(), s.size()));
  }
}

TEST(Crc32cTest, MatchesReferenceAtEveryAlignmentAndLength) {
  std::mt19937 rng(3);
  std::string data(4096 + 16, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t align = 0; align < 16; ++align) {
    for (size_t n : {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 63, 64, 65, 255, 1000, 4096}) {
      const char* p = data.data() + align;
      const uint32_t want = Reference(p, n);
      EXPECT_EQ(Value(p, n), want) << align << "/" << n;
      const auto* u = reinterpret_cast<const uint8_t*>(p);
      EXPECT_EQ(~internal::ExtendPortable(~0u, u, n), want) << align << "/" << n;
      EXPECT_EQ(~internal::ExtendHardware(~0u, u, n), want) << align << "/" << n;
    }
  }
}

TEST(Crc32cTest, ReportsHardwareSupport) {
  // Informational: which path this machine exercises.
  std::printf("crc32c: hardware (SSE4.2) %s\n", internal::HardwareAvailable() ? "yes" : "no");
}

}  // namespace
}  // namespace kissvdb::crc32c
