#include "engine/wal/format.h"

#include <cstdio>
#include <cstring>

#include "util/crc32c.h"

namespace kissvdb::wal {

namespace {
constexpr size_t kHeaderCrcPos = kSegmentHeaderSize - 4;
constexpr std::string_view kNamePrefix = "events-";
constexpr std::string_view kNameSuffix = ".log";
}  // namespace

void EncodeSegmentHeader(const SegmentHeader& header, char* out) {
  std::memcpy(out, kSegmentMagic, sizeof(kSegmentMagic));
  EncodeFixed32(out + 8, header.version);
  EncodeFixed32(out + 12, header.seq);
  EncodeFixed64(out + 16, header.first_offset);
  EncodeFixed32(out + 24, 0);  // reserved
  EncodeFixed32(out + kHeaderCrcPos, MaskCrc(crc32c::Value(out, kHeaderCrcPos)));
}

Status DecodeSegmentHeader(const char* data, SegmentHeader* header) {
  if (std::memcmp(data, kSegmentMagic, sizeof(kSegmentMagic)) != 0) {
    return Status::Corruption("bad segment magic");
  }
  const uint32_t stored = UnmaskCrc(DecodeFixed32(data + kHeaderCrcPos));
  if (stored != crc32c::Value(data, kHeaderCrcPos)) {
    return Status::Corruption("segment header checksum mismatch");
  }
  const uint32_t version = DecodeFixed32(data + 8);
  if (version < kOldestFormatVersion || version > kFormatVersion) {
    return Status::Corruption("unsupported segment format version " + std::to_string(version));
  }
  header->version = version;
  header->seq = DecodeFixed32(data + 12);
  header->first_offset = DecodeFixed64(data + 16);
  if (header->first_offset == 0) return Status::Corruption("segment first offset is 0");
  return Status::OK();
}

std::string SegmentFileName(uint32_t seq) {
  char name[32];
  std::snprintf(name, sizeof(name), "events-%06u.log", seq);
  return name;
}

std::string SegmentPath(const std::string& dir, uint32_t seq) {
  return dir + "/" + SegmentFileName(seq);
}

bool ParseSegmentFileName(std::string_view name, uint32_t* seq) {
  if (!name.starts_with(kNamePrefix) || !name.ends_with(kNameSuffix)) return false;
  const std::string_view digits =
      name.substr(kNamePrefix.size(), name.size() - kNamePrefix.size() - kNameSuffix.size());
  if (digits.size() < 6 || digits.size() > 10) return false;
  uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value == 0 || value > UINT32_MAX) return false;
  // Only the canonical spelling: "events-0000001.log" is not segment 1.
  if (SegmentFileName(static_cast<uint32_t>(value)) != name) return false;
  *seq = static_cast<uint32_t>(value);
  return true;
}

}  // namespace kissvdb::wal
