// LEB128 varints: 7 bits a byte, low bits first, the high bit set on every
// byte but the last (docs/storage-layout.md, history format 2).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kissvdb::varint {

inline void Put(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Reads one varint from the front of *in and drops it; false when *in ends
// inside it or it runs past 64 bits.
inline bool Get(std::string_view* in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const auto b = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    *v |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace kissvdb::varint
