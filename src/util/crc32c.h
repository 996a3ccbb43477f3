// CRC-32C (Castagnoli), the checksum of WAL records and stored files.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kissvdb::crc32c {

// Returns the CRC-32C of data[0, n) continuing from `init` (0 to start).
uint32_t Extend(uint32_t init, const void* data, size_t n);
inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }

}  // namespace kissvdb::crc32c
