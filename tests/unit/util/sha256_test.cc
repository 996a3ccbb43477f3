#include "util/sha256.h"

#include <gtest/gtest.h>

#include <string>

namespace kissvdb {
namespace {

// FIPS 180-4 / NIST CSRC example vectors.
TEST(Sha256, NistVectors) {
  EXPECT_EQ(sha256::HexHash(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256::HexHash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256::HexHash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256::HexHash("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopq"
                            "rlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(sha256::HexHash(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Lengths around the one- and two-block padding boundary (expected values
// from Python's hashlib).
TEST(Sha256, PaddingBoundaries) {
  EXPECT_EQ(sha256::HexHash(std::string(55, 'a')),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(sha256::HexHash(std::string(56, 'a')),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(sha256::HexHash(std::string(64, 'a')),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(Sha256, EqualIsExact) {
  auto a = sha256::Hash("x");
  auto b = sha256::Hash("x");
  auto c = sha256::Hash("y");
  EXPECT_TRUE(sha256::Equal(a, b));
  EXPECT_FALSE(sha256::Equal(a, c));
}

}  // namespace
}  // namespace kissvdb
