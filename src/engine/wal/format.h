// The on-disk constants of the log and the segment header codec.
//
// docs/wal-format.md is the specification; this file must agree with it
// byte for byte. All integers are little-endian.
//
// Segment header (kSegmentHeaderSize = 32 bytes):
//   magic "KVDB-WAL" (8) | version u32 | sequence u32 | first offset u64 |
//   reserved u32 (0) | masked CRC-32C of the 28 bytes before it u32
//
// Record (kRecordHeaderSize + body):
//   length u32 (of the body) | masked CRC-32C of (length bytes + body) u32 |
//   body, version 3: offset u64 | ts_ms u64 | unit u32 | float count u32 |
//                    type length u16 | type | floats (4 bytes each) | JSON
//   body, version 2: offset u64 | ts_ms u64 | unit u32 | type length u16 |
//                    type | JSON payload
//   body, version 1: offset u64 | ts_ms u64 | type length u16 | type | JSON
// `unit` marks atomic units (several events committed all or nothing): its
// low 31 bits are the record's position in its unit, bit 31 is set when
// more records of the same unit follow. The floats are Event::floats (a
// vector record's vector), IEEE-754 binary32. Version 1 and 2 segments are
// still read; new segments are always written in version 3.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kissvdb/status.h"

namespace kissvdb::wal {

inline constexpr char kSegmentMagic[8] = {'K', 'V', 'D', 'B', '-', 'W', 'A', 'L'};
inline constexpr uint32_t kFormatVersion = 3;     // written
inline constexpr uint32_t kOldestFormatVersion = 1;  // still read
inline constexpr size_t kSegmentHeaderSize = 32;

inline constexpr size_t kRecordHeaderSize = 8;      // length + checksum
// offset + ts_ms (+ unit since version 2) (+ float count since version 3)
// + type length
inline constexpr size_t kRecordFixedBodySizeV1 = 18;
inline constexpr size_t kRecordFixedBodySizeV2 = 22;
inline constexpr size_t kRecordFixedBodySize = 26;
inline constexpr size_t FixedBodySize(uint32_t version) {
  return version == 1 ? kRecordFixedBodySizeV1 : version == 2 ? kRecordFixedBodySizeV2 : kRecordFixedBodySize;
}
// The smallest record of any version (recovery's bound on how many records
// the bytes after a damaged one could hold).
inline constexpr size_t kMinRecordSize = kRecordHeaderSize + kRecordFixedBodySizeV1;
// The unit field (since version 2).
inline constexpr uint32_t kUnitMore = 1u << 31;        // more records of the unit follow
inline constexpr uint32_t kUnitIndexMask = kUnitMore - 1;
// Upper bound of the length field. Larger values are garbage by definition,
// which lets recovery reject a damaged length without reading past it.
inline constexpr uint32_t kMaxRecordBodySize = 256u << 20;
inline constexpr size_t kMaxTypeSize = 0xFFFF;

struct SegmentHeader {
  uint32_t seq = 0;           // must match the file name
  uint64_t first_offset = 0;  // offset of the segment's first record
  uint32_t version = kFormatVersion;  // record format of the segment
};

// Writes the kSegmentHeaderSize bytes of `header` to out.
void EncodeSegmentHeader(const SegmentHeader& header, char* out);
// Decodes data[0, kSegmentHeaderSize). Corruption (without a file name; the
// caller adds it) on a bad magic, checksum, or a version this build cannot
// read (outside kOldestFormatVersion..kFormatVersion).
Status DecodeSegmentHeader(const char* data, SegmentHeader* header);

// "events-000042.log" for seq 42; ParseSegmentFileName is its inverse and
// rejects anything else (including "events-000042.log.tmp").
std::string SegmentFileName(uint32_t seq);
bool ParseSegmentFileName(std::string_view name, uint32_t* seq);
// dir + "/" + SegmentFileName(seq).
std::string SegmentPath(const std::string& dir, uint32_t seq);

// Little-endian fixed-width integers.
inline void EncodeFixed16(char* p, uint16_t v) {
  p[0] = static_cast<char>(v);
  p[1] = static_cast<char>(v >> 8);
}
inline void EncodeFixed32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline void EncodeFixed64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline uint16_t DecodeFixed16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>(u[0] | (u[1] << 8));
}
inline uint32_t DecodeFixed32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | u[i];
  return v;
}
inline uint64_t DecodeFixed64(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | u[i];
  return v;
}

// Stored checksums are masked (rotated and offset, as LevelDB does) so that
// a CRC computed over data that itself embeds CRCs stays well distributed.
inline uint32_t MaskCrc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u; }
inline uint32_t UnmaskCrc(uint32_t masked) {
  const uint32_t rot = masked - 0xA282EAD8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace kissvdb::wal
