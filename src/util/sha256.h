// SHA-256 (FIPS 180-4), used to store API keys as digests, never in clear.
//
// Written from the specification; checked against the NIST example vectors
// in tests/unit/util/sha256_test.cc.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kissvdb::sha256 {

using Digest = std::array<uint8_t, 32>;

Digest Hash(std::string_view data);

// 64 lowercase hex digits.
std::string Hex(const Digest& digest);
inline std::string HexHash(std::string_view data) { return Hex(Hash(data)); }

// True when equal; the running time does not depend on where they differ.
bool Equal(const Digest& a, const Digest& b);

}  // namespace kissvdb::sha256
