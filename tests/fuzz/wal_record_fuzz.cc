// Fuzzes the WAL record decoder (src/engine/wal/record.h), the code recovery
// runs over whatever a crash or a bad disk left at the end of a segment.
//
// Input: a mode byte, then the bytes. Mode bits 1-2 pick the record format
// (1: version 1, 2: version 2, else the current one). Mode bit 0 clear: the bytes are a
// segment tail, decoded record after record as recovery does until the first
// bad one. Bit 0 set: the bytes are record bodies, each after a u16 length;
// the harness writes a valid header (length, checksum) in front of each, so
// the fuzzer reaches the layout check and the JSON parser past the CRC.
//
// Checked: no crash, overread or exception; a decoded record lies inside the
// input; a parsed event re-encodes to a record that decodes to the same event.
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/wal/format.h"
#include "engine/wal/record.h"
#include "util/crc32c.h"

namespace {

using namespace kissvdb;
using namespace kissvdb::wal;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "wal_record_fuzz: %s\n", what);
    std::abort();
  }
}

// A record: a valid header in front of the n bytes of `body`.
std::string Frame(const char* body, size_t n) {
  std::string r(kRecordHeaderSize, '\0');
  EncodeFixed32(r.data(), static_cast<uint32_t>(n));
  r.append(body, n);
  uint32_t crc = crc32c::Value(r.data(), 4);
  crc = crc32c::Extend(crc, r.data() + kRecordHeaderSize, n);
  EncodeFixed32(r.data() + 4, MaskCrc(crc));
  return r;
}

void RoundTrip(const Event& event, uint32_t version) {
  std::string out;
  RecordEncoder encoder(&out, version);
  if (!encoder.Append(event).ok()) return;  // e.g. a string that is not UTF-8
  RecordView again;
  Check(DecodeRecord(out.data(), out.size(), version, &again) == RecordStatus::kOk,
        "re-encoded record does not decode");
  Check(again.size == out.size(), "re-encoded record has the wrong size");
  Event back;
  Check(ParseEvent(again, &back).ok(), "re-encoded payload does not parse");
  Check(back.offset == event.offset && back.ts_ms == event.ts_ms && back.type == event.type &&
            back.tx == event.tx && back.tx_more == event.tx_more,
        "round trip changed the header");
  Check(back.data == event.data, "round trip changed the payload");
  // Bit for bit: a NaN read from the bytes must come back as the same NaN.
  Check(back.floats.size() == event.floats.size() &&
            (event.floats.empty() ||
             std::memcmp(back.floats.data(), event.floats.data(), event.floats.size() * sizeof(float)) == 0),
        "round trip changed the floats");
}

void DecodeAll(const char* p, size_t n, uint32_t version) {
  size_t at = 0;
  while (at < n) {
    RecordView rec;
    const RecordStatus status = DecodeRecord(p + at, n - at, version, &rec);
    (void)RecordStatusName(status);
    if (status != RecordStatus::kOk) return;
    Check(rec.size >= kMinRecordSize && rec.size <= n - at, "record size outside the input");
    Check(rec.type.data() >= p + at && rec.payload.data() + rec.payload.size() <= p + at + rec.size,
          "views outside the record");
    Event event;
    if (ParseEvent(rec, &event).ok()) RoundTrip(event, version);
    at += rec.size;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const char* p = reinterpret_cast<const char*>(data) + 1;
  const size_t n = size - 1;
  if (n >= kSegmentHeaderSize) {
    SegmentHeader header;
    (void)DecodeSegmentHeader(p, &header);
  }
  const uint32_t pick = (data[0] >> 1) & 3;
  const uint32_t version = pick == 1 ? 1 : pick == 2 ? 2 : kFormatVersion;
  if ((data[0] & 1) == 0) {
    DecodeAll(p, n, version);
    return 0;
  }
  // Bodies: each is preceded by a u16 length in the input.
  std::string records;
  size_t at = 0;
  while (at + 2 <= n) {
    const size_t len = std::min<size_t>(DecodeFixed16(p + at), n - at - 2);
    records += Frame(p + at + 2, len);
    at += 2 + len;
  }
  DecodeAll(records.data(), records.size(), version);
  return 0;
}
