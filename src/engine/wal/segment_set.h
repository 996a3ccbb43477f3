// SegmentSet: the list of segment files of one log, shared by the writer
// (Log) and every LogReader.
//
// For each segment it holds the sequence number, first offset, size and a
// sparse index (one entry per ~kIndexIntervalBytes of records) so a reader
// can start at an offset without scanning the log from the beginning.
//
// Thread safety: every method is safe to call concurrently. The writer
// methods (Add, Extend, DeleteBefore) are called by the log's commit thread
// only; the last segment is the active one and is never deleted.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "kissvdb/status.h"

namespace kissvdb::wal {

// A record start: the record with `offset` begins at file position `pos`.
struct IndexEntry {
  uint64_t offset = 0;
  uint64_t pos = 0;
};

struct SegmentMeta {
  uint32_t seq = 0;
  uint64_t first_offset = 0;
  uint64_t size = 0;  // bytes of whole records written (header included)
  // Ascending; the first entry is {first_offset, kSegmentHeaderSize}.
  std::vector<IndexEntry> index;
  uint32_t version = 0;  // record format (format.h); 0 = the current one
};

// Index granularity: a reader decodes at most about this many bytes of
// records it does not want before reaching its start offset.
inline constexpr uint64_t kIndexIntervalBytes = 64 << 10;

class SegmentSet {
 public:
  explicit SegmentSet(std::string dir) : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }
  std::string PathOf(uint32_t seq) const;

  // Appends a new last (active) segment.
  void Add(SegmentMeta meta);
  // Records that the active segment now holds `size` bytes, with `entries`
  // appended to its index.
  void Extend(uint64_t size, const std::vector<IndexEntry>& entries);
  // Unlinks, oldest first, every segment other than the last one whose
  // offsets are all < offset. Stops at the first unlink error. Sets
  // *deleted to the number removed.
  Status DeleteBefore(uint64_t offset, size_t* deleted);

  uint64_t first_offset() const;
  uint64_t segment_count() const;
  uint64_t total_bytes() const;

  // Where a reader wanting `offset` should start.
  struct Position {
    bool below_first = false;  // offset < first_offset(); only `first` is set
    uint64_t first = 0;        // first_offset() at the time of the call
    int fd = -1;               // open, read-only; owned by the caller
    uint32_t seq = 0;
    uint64_t seg_first_offset = 0;
    IndexEntry start;  // the closest indexed record at or before offset
  };
  // Opens the segment that holds `offset` (the last segment whose first
  // offset is <= offset). Opening under the lock means a segment found here
  // cannot be unlinked before the reader holds it open.
  Result<Position> Open(uint64_t offset) const;

 private:
  const std::string dir_;
  mutable std::mutex mu_;
  std::vector<SegmentMeta> segments_;  // guarded by mu_, ascending seq
};

}  // namespace kissvdb::wal
