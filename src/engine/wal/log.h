// Log: the segmented write-ahead log, the source of truth of KissVDB.
//
// The log is a directory of segment files `events-NNNNNN.log` (NNNNNN = the
// segment's sequence number, zero padded). Each segment starts with a small
// header naming the first offset it holds, followed by checksummed records,
// one Event each, with offsets rising by exactly one across segments. The
// byte format is specified in docs/wal-format.md.
//
// Thread safety: Append, Sync and DeleteSegmentsBefore are called by one
// thread only (the engine's commit thread). NewReader and the const accessors
// may be called from any thread at any time; a reader never returns an event
// past the durable bound it was given.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/wal/record.h"
#include "kissvdb/event.h"
#include "kissvdb/status.h"

namespace kissvdb::wal {

struct LogOptions {
  std::string dir;                              // created if missing
  uint64_t segment_max_bytes = 64ull << 20;     // roll to a new segment past this
  // On a checksum failure in the middle of the log: false = Open() fails with
  // Corruption naming the segment and offset; true = truncate the log there
  // (everything after is lost, and logged at error level).
  bool repair = false;
};

// What Open() found and did; logged by the engine at start-up.
struct RecoveryReport {
  uint64_t segments = 0;
  uint64_t events = 0;
  uint64_t torn_bytes_truncated = 0;  // partial record at the tail, removed
  uint64_t torn_unit_events = 0;      // whole events of an incomplete atomic unit, removed
  uint64_t zero_tail_bytes = 0;       // zero fill after the last record (log.cc), removed
  std::string torn_segment;           // file it was removed from, if any
  uint64_t repaired_from_offset = 0;  // with repair: first offset dropped (0 = none)
};

class LogReader {
 public:
  virtual ~LogReader() = default;
  // Reads the next event into *event. Returns false at the end (no more
  // events up to the bound) or on error; check status() to tell them apart.
  virtual bool Next(Event* event) = 0;
  // The next record, verified but not parsed (wal::ParseEvent makes it an
  // Event): its views stay valid until the next call. For readers that can
  // use a record's bytes as they are (the boot replay of KV events).
  virtual bool NextRecord(RecordView* rec) = 0;
  virtual const Status& status() const = 0;
};

class Log {
 public:
  // Opens the log in options.dir, creating it if empty. Scans every segment:
  // a torn tail (a partial record at the end of the last segment, or a
  // zero-filled tail) is truncated back to the last valid record; damage
  // anywhere else fails with Corruption unless options.repair.
  static Result<std::unique_ptr<Log>> Open(const LogOptions& options, RecoveryReport* report);

  virtual ~Log() = default;

  // Oldest offset still held (1 for a fresh log; after retention deletes
  // segments, the first offset of the oldest segment). If the log is empty
  // this is next_offset().
  virtual uint64_t first_offset() const = 0;
  // The offset the next appended event must carry (last written + 1).
  virtual uint64_t next_offset() const = 0;
  // Highest offset known durable (Sync returned OK for it); 0 if none.
  virtual uint64_t durable_offset() const = 0;

  // Appends events whose offsets must be next_offset(), next_offset()+1, ...
  // (InvalidArgument otherwise). Rolls to a new segment when the active one
  // exceeds segment_max_bytes (a record never spans two segments). The data
  // is written to the OS but not durable until Sync().
  // Nothing of the batch is written if any event cannot be encoded
  // (InvalidArgument / kPayloadTooLarge). On an I/O error (ENOSPC ->
  // kInsufficientStorage) the partial write is cut off and the log stays
  // usable, unless part of the batch already reached an earlier segment (a
  // roll inside the batch): then the error is sticky, like a Sync error, and
  // next_offset() tells how far the batch got.
  virtual Status Append(std::span<const Event> events) = 0;

  // Makes everything appended so far durable (fdatasync; after a segment
  // roll, also the directory). An error here is fatal for the log: the
  // caller must stop accepting writes.
  virtual Status Sync() = 0;

  // The sticky error that stopped the log (a failed sync, or a failed append
  // that could not be cut off); OK while the log accepts appends. After an
  // Append error with error() still OK, nothing of that batch is in the log.
  // Commit thread only.
  virtual Status error() const = 0;

  // Sets the durable bound without syncing (Durability::kNone / kInterval
  // acknowledge written-but-unsynced events; readers still need a bound).
  virtual void MarkWritten() = 0;

  // Deletes whole segments whose every offset is < offset (retention after a
  // checkpoint). The active segment is never deleted.
  virtual Status DeleteSegmentsBefore(uint64_t offset) = 0;

  // Number of segments and total bytes on disk (metrics, dashboard).
  virtual uint64_t segment_count() const = 0;
  virtual uint64_t total_bytes() const = 0;

  // A reader over events with from <= offset <= until (until is usually
  // durable_offset() at the time of the call). If `from` is below
  // first_offset() the reader starts at first_offset(); callers that care
  // compare first_offset() themselves. `until` is clamped to next_offset()-1.
  // If retention deletes a segment the reader has not reached yet after it
  // has returned events, Next() returns false with status kGone: a reader
  // never skips events.
  virtual std::unique_ptr<LogReader> NewReader(uint64_t from, uint64_t until) const = 0;
};

}  // namespace kissvdb::wal
