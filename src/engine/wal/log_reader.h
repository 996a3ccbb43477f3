// The LogReader implementation: reads events from the segment files with
// its own read-only descriptors, so it runs concurrently with the appender
// and with retention.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/wal/log.h"
#include "engine/wal/segment_set.h"

namespace kissvdb::wal {

// Returns a reader over events with from <= offset <= until.
//
// REQUIRES: from >= 1, and every event up to `until` has been completely
// written (Log::NewReader clamps `until` to next_offset() - 1). The reader
// never looks at bytes past the record of `until`, so the writer may be
// appending to the same segment meanwhile.
//
// Starting: segments are found by their first offset, then the segment's
// sparse index; only the records between the index entry and `from` are
// skipped over (by length, unverified). Every returned record is verified
// (length, checksum, offset sequence, JSON); a failure ends the reader with
// Corruption naming the segment file and offset.
//
// Retention: a segment the reader holds open stays readable after it is
// unlinked. If `from` was deleted before the reader reached it, the reader
// starts at the oldest remaining offset; if a segment is deleted between two
// events the reader returns, it stops with kGone rather than skip events.
std::unique_ptr<LogReader> NewSegmentReader(std::shared_ptr<const SegmentSet> segments,
                                            uint64_t from, uint64_t until);

}  // namespace kissvdb::wal
