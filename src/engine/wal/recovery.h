// Recovery: what Log::Open does before the first append. Verifies every
// segment, cuts a torn tail, and refuses (or, with repair, cuts) damage
// anywhere else. The rule is specified in docs/wal-format.md ("Recovery").
#pragma once

#include <cstdint>
#include <vector>

#include "engine/wal/log.h"
#include "engine/wal/record.h"
#include "engine/wal/segment_set.h"

namespace kissvdb::wal {

struct RecoveredLog {
  std::vector<SegmentMeta> segments;  // verified, ascending; empty for a new log
  uint64_t next_offset = 1;           // offset of the next event to append
};

// Lists options.dir (creating it if missing), removes leftovers of an
// interrupted segment creation, and verifies every record of every segment.
// Fills report->torn_* and report->repaired_from_offset; the caller fills the
// counts. Every truncation or deletion is made durable before returning.
Result<RecoveredLog> RecoverSegments(const LogOptions& options, RecoveryReport* report);

// The verified prefix of one segment's records. Exposed for tests.
struct SegmentScan {
  uint64_t end = 0;          // file position just past the last good record
  uint64_t next_offset = 0;  // offset the record at `end` should carry
  // Why the scan stopped before the end of the data (kOk: it did not).
  RecordStatus failure = RecordStatus::kOk;
  bool wrong_offset = false;  // a verified record at `end` carries found_offset
  uint64_t found_offset = 0;
  bool wrong_unit = false;  // a verified record at `end` breaks the unit sequence
  // The atomic unit still open at `end` (its last record so far had
  // kUnitMore): it starts at unit_begin with offset unit_offset. With no
  // open unit, unit_begin == end and unit_offset == next_offset.
  uint64_t unit_begin = 0;
  uint64_t unit_offset = 0;
  std::vector<IndexEntry> index;

  bool clean() const { return failure == RecordStatus::kOk && !wrong_offset && !wrong_unit; }
  bool unit_open() const { return unit_begin != end; }
};

// Scans the records of data[kSegmentHeaderSize, size) in the layout of
// format `version`, expecting offsets from first_offset on.
// REQUIRES: size >= kSegmentHeaderSize.
SegmentScan ScanRecords(const char* data, uint64_t size, uint64_t first_offset, uint32_t version);

// True if a valid record (length in range and inside the data, offset at
// least expected_offset and no larger than the bytes left could hold,
// checksum matching) starts at any byte position in (pos, size). This is
// what separates a torn tail (nothing valid follows the damage at `pos`,
// which should have held expected_offset) from mid-log corruption.
bool ValidRecordAfter(const char* data, uint64_t size, uint64_t pos, uint64_t expected_offset,
                      uint32_t version);

}  // namespace kissvdb::wal
