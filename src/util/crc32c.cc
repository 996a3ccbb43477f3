// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
//
// Two implementations with identical results: a portable slicing-by-8 table
// walk, and the SSE4.2 `crc32` instruction on x86-64 CPUs that have it
// (checked once at run time). Extend() picks one on first use.
#include "util/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KISSVDB_CRC32C_X86 1
#include <nmmintrin.h>
#endif

namespace kissvdb::crc32c {

// Exposed (undeclared in crc32c.h) so crc32c_test.cc can check both paths
// against each other. They take and return the raw register, without the
// pre/post inversion Extend() applies.
namespace internal {
uint32_t ExtendPortable(uint32_t crc, const uint8_t* p, size_t n);
uint32_t ExtendHardware(uint32_t crc, const uint8_t* p, size_t n);
bool HardwareAvailable();
}  // namespace internal

namespace {

constexpr uint32_t kPolynomial = 0x82F63B78u;

using Table = std::array<std::array<uint32_t, 256>, 8>;

// table[0] is the classic byte-at-a-time table; table[k][b] is the CRC of
// byte b followed by k zero bytes, which lets the loop fold 8 bytes at once.
constexpr Table MakeTable() {
  Table t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t crc = b;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ ((crc & 1u) ? kPolynomial : 0u);
    t[0][b] = crc;
  }
  for (size_t k = 1; k < 8; ++k) {
    for (size_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFFu];
  }
  return t;
}

constexpr Table kTable = MakeTable();

inline uint32_t LoadLE32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

#if KISSVDB_CRC32C_X86
__attribute__((target("sse4.2"))) uint32_t ExtendSse42(uint32_t crc, const uint8_t* p, size_t n) {
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7u) != 0) {
    crc = _mm_crc32_u8(crc, *p++);
    --n;
  }
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, sizeof(word));
    c = _mm_crc32_u64(c, word);
    p += 8;
    n -= 8;
  }
  crc = static_cast<uint32_t>(c);
  while (n > 0) {
    crc = _mm_crc32_u8(crc, *p++);
    --n;
  }
  return crc;
}
#endif

using ExtendFn = uint32_t (*)(uint32_t, const uint8_t*, size_t);

ExtendFn ChooseExtend() {
#if KISSVDB_CRC32C_X86
  if (internal::HardwareAvailable()) return ExtendSse42;
#endif
  return internal::ExtendPortable;
}

}  // namespace

namespace internal {

uint32_t ExtendPortable(uint32_t crc, const uint8_t* p, size_t n) {
  while (n >= 8) {
    const uint32_t lo = crc ^ LoadLE32(p);
    const uint32_t hi = LoadLE32(p + 4);
    crc = kTable[7][lo & 0xFFu] ^ kTable[6][(lo >> 8) & 0xFFu] ^ kTable[5][(lo >> 16) & 0xFFu] ^
          kTable[4][lo >> 24] ^ kTable[3][hi & 0xFFu] ^ kTable[2][(hi >> 8) & 0xFFu] ^
          kTable[1][(hi >> 16) & 0xFFu] ^ kTable[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    crc = kTable[0][(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
    --n;
  }
  return crc;
}

uint32_t ExtendHardware(uint32_t crc, const uint8_t* p, size_t n) {
#if KISSVDB_CRC32C_X86
  if (HardwareAvailable()) return ExtendSse42(crc, p, n);
#endif
  return ExtendPortable(crc, p, n);
}

bool HardwareAvailable() {
#if KISSVDB_CRC32C_X86
  static const bool available = [] {
    __builtin_cpu_init();  // Extend() may run before the CPU model is set up
    return __builtin_cpu_supports("sse4.2") != 0;
  }();
  return available;
#else
  return false;
#endif
}

}  // namespace internal

uint32_t Extend(uint32_t init, const void* data, size_t n) {
  static const ExtendFn extend = ChooseExtend();
  return ~extend(~init, static_cast<const uint8_t*>(data), n);
}

}  // namespace kissvdb::crc32c
