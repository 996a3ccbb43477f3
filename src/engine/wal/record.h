// Record codec: one Event <-> the bytes of one log record (format.h,
// docs/wal-format.md). Pure functions over memory; no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/wal/format.h"
#include "kissvdb/event.h"
#include "kissvdb/status.h"

namespace kissvdb::wal {

// Appends encoded records to a caller-owned buffer. The JSON payload is
// written straight into the buffer by one long-lived serializer, producing
// the same bytes as Json::dump() without dump()'s per-call string, adapter
// and serializer allocations; appending to a buffer with enough capacity
// allocates nothing.
//
// Not thread-safe; one encoder per buffer.
class RecordEncoder {
 public:
  // REQUIRES: *out outlives the encoder. `version` is kFormatVersion except
  // in tests that write old segments (version 1 has no units; before
  // version 3 an event's floats are written into its JSON as "vector").
  explicit RecordEncoder(std::string* out, uint32_t version = kFormatVersion);
  RecordEncoder(const RecordEncoder&) = delete;
  RecordEncoder& operator=(const RecordEncoder&) = delete;

  // Appends the record of `event` (offset, ts_ms, tx, tx_more, type, data,
  // floats) to *out. On error *out is left as it was: InvalidArgument for a type longer than
  // kMaxTypeSize or data that cannot be serialized (e.g. a string that is
  // not UTF-8), kPayloadTooLarge for a body over kMaxRecordBodySize.
  Status Append(const Event& event);

 private:
  std::string* out_;
  uint32_t version_;
  nlohmann::detail::serializer<Json> serializer_;
};

// A record decoded in place; the views point into the decoded bytes.
struct RecordView {
  uint64_t offset = 0;
  uint64_t ts_ms = 0;
  std::string_view type;
  std::string_view floats;   // version 3: float32 bytes (a multiple of 4)
  std::string_view payload;  // JSON text
  size_t size = 0;           // encoded size, header included
  uint32_t unit = 0;         // since version 2: position in the unit | kUnitMore
};

enum class RecordStatus {
  kOk,
  kIncomplete,   // fewer bytes available than the header (or its length) needs
  kBadLength,    // length field outside [kRecordFixedBodySize, kMaxRecordBodySize]
  kBadChecksum,  // stored checksum does not match
  kBadLayout,    // checksum fine but the type or the floats overrun the
                 // body, or a unit index not below the record's offset
};
const char* RecordStatusName(RecordStatus status);

// Decodes and verifies the record that starts at data[0] given n readable
// bytes, in the layout of segment format `version`. On kOk fills *rec;
// bytes past rec->size are not looked at.
RecordStatus DecodeRecord(const char* data, size_t n, uint32_t version, RecordView* rec);

// Fills *event from a verified record, parsing the payload; tx and tx_more
// come from the unit field. A vector record of an older version, whose
// vector is in the JSON, gets it moved to event->floats when every number
// is a float32 value (as every logged one is), so all versions read the
// same. Corruption if the payload is not JSON (never throws).
Status ParseEvent(const RecordView& rec, Event* event);

}  // namespace kissvdb::wal
