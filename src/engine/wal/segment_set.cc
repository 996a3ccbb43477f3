#include "engine/wal/segment_set.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "engine/wal/format.h"
#include "util/file_util.h"

namespace kissvdb::wal {

std::string SegmentSet::PathOf(uint32_t seq) const { return SegmentPath(dir_, seq); }

void SegmentSet::Add(SegmentMeta meta) {
  std::lock_guard<std::mutex> lock(mu_);
  segments_.push_back(std::move(meta));
}

void SegmentSet::Extend(uint64_t size, const std::vector<IndexEntry>& entries) {
  std::lock_guard<std::mutex> lock(mu_);
  SegmentMeta& active = segments_.back();
  active.size = size;
  active.index.insert(active.index.end(), entries.begin(), entries.end());
}

Status SegmentSet::DeleteBefore(uint64_t offset, size_t* deleted) {
  *deleted = 0;
  std::lock_guard<std::mutex> lock(mu_);
  // Segment 0 holds [first_0, first_1 - 1]: all below `offset` iff first_1 <= offset.
  while (segments_.size() > 1 && segments_[1].first_offset <= offset) {
    const std::string path = PathOf(segments_.front().seq);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return file_util::ErrnoStatus("unlink", path, errno);
    }
    segments_.erase(segments_.begin());
    ++*deleted;
  }
  return Status::OK();
}

uint64_t SegmentSet::first_offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return segments_.empty() ? 0 : segments_.front().first_offset;
}

uint64_t SegmentSet::segment_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return segments_.size();
}

uint64_t SegmentSet::total_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t total = 0;
  for (const SegmentMeta& s : segments_) total += s.size;
  return total;
}

Result<SegmentSet::Position> SegmentSet::Open(uint64_t offset) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (segments_.empty()) return Status::Internal("log has no segments");
  Position pos;
  pos.first = segments_.front().first_offset;
  if (offset < pos.first) {
    pos.below_first = true;
    return pos;
  }
  // The last segment whose first offset is <= offset. Empty segments share a
  // first offset with their successor; upper_bound skips to the later one.
  auto seg = std::upper_bound(segments_.begin(), segments_.end(), offset,
                              [](uint64_t o, const SegmentMeta& s) { return o < s.first_offset; });
  --seg;
  auto entry = std::upper_bound(seg->index.begin(), seg->index.end(), offset,
                                [](uint64_t o, const IndexEntry& e) { return o < e.offset; });
  --entry;  // index[0].offset == first_offset <= offset
  const std::string path = PathOf(seg->seq);
  pos.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (pos.fd < 0) return file_util::ErrnoStatus("open", path, errno);
  pos.seq = seg->seq;
  pos.seg_first_offset = seg->first_offset;
  pos.start = *entry;
  return pos;
}

}  // namespace kissvdb::wal
