// Digester: two independent 64-bit hashes (FNV-1a and a multiplicative
// one) over a sequence of strings; enough to tell two materializations
// apart in the determinism tests. Not a security digest.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace kissvdb {

struct Digester {
  uint64_t a = 1469598103934665603ull;
  uint64_t b = 0x9e3779b97f4a7c15ull;
  void Add(std::string_view s) {
    for (unsigned char c : s) {
      a = (a ^ c) * 1099511628211ull;
      b = (b + c + 1) * 0xff51afd7ed558ccdull;
      b ^= b >> 29;
    }
    a = (a ^ 0xff) * 1099511628211ull;  // separator, so ("ab","c") != ("a","bc")
  }
  // 32 lower-case hex digits.
  std::string Hex() const {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(a),
                  static_cast<unsigned long long>(b));
    return buf;
  }
};

}  // namespace kissvdb
