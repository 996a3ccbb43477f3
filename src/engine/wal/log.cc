// The writer side of the log: Open (recovery + the active segment), Append
// with segment rolling, Sync, retention. Readers are in log_reader.cc.
//
// Write path: Append encodes the whole batch into one reusable buffer, then
// issues one pwrite() per segment the batch touches (one in the common case).
// Nothing is fsynced there except at a roll, where the finished segment is
// fdatasynced before its successor is created, so after any crash only the
// last segment can have a torn tail.
//
// Zero fill ahead: the active segment is kept zero-filled (really written,
// not a hole) for up to kZeroAheadBytes past its last record, so that the
// fdatasync of a group overwrites blocks the file already has. An fdatasync
// after an append that grows the file must also commit the new size (a
// journal commit on ext4 and xfs) and costs about 1.6x as much on the
// development machine (bench/NOTES.md). A roll and a clean close cut the zeros
// off; after a crash, recovery does (docs/wal-format.md, "Zero fill").
//
// Segment creation: the header is written to "events-NNNNNN.log.tmp",
// fdatasynced and renamed into place, so a segment file under its final name
// always starts with a complete header. The directory is fsynced by the next
// Sync().
#include "engine/wal/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

#include "engine/wal/format.h"
#include "engine/wal/log_reader.h"
#include "engine/wal/record.h"
#include "engine/wal/recovery.h"
#include "engine/wal/segment_set.h"
#include "util/file_util.h"

namespace kissvdb::wal {

namespace {

// The batch buffer keeps its capacity between batches up to this size.
constexpr size_t kMaxRetainedBuffer = 16 << 20;

// How far past the last record the active segment is kept zero-filled.
constexpr uint64_t kZeroAheadBytes = 1 << 20;
// Never written: zero-initialized and in .bss, so it costs no binary size.
char zero_buffer[kZeroAheadBytes];

Status PwriteAll(int fd, const char* data, size_t n, uint64_t pos, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(pos));
    if (w < 0) {
      if (errno == EINTR) continue;
      return file_util::ErrnoStatus("write", path, errno);
    }
    data += w;
    n -= static_cast<size_t>(w);
    pos += static_cast<uint64_t>(w);
  }
  return Status::OK();
}

class LogImpl final : public Log {
 public:
  LogImpl(const LogOptions& options, std::shared_ptr<SegmentSet> segments)
      : options_(options), segments_(std::move(segments)), encoder_(&buffer_) {}
  ~LogImpl() override {
    if (fd_ >= 0) {
      // Best effort: a zero tail left behind is cut by the next recovery.
      if (failed_.ok() && zeroed_end_ > size_) (void)::ftruncate(fd_, static_cast<off_t>(size_));
      ::close(fd_);
    }
  }

  // Takes over the recovered segments (the last one becomes active), or
  // creates the first segment; then syncs so durable_offset() is truthful.
  Status Init(RecoveredLog recovered);

  uint64_t first_offset() const override { return segments_->first_offset(); }
  uint64_t next_offset() const override { return next_offset_.load(std::memory_order_acquire); }
  uint64_t durable_offset() const override {
    return durable_offset_.load(std::memory_order_acquire);
  }
  Status Append(std::span<const Event> events) override;
  Status Sync() override;
  Status error() const override { return failed_; }
  void MarkWritten() override {
    durable_offset_.store(next_offset() - 1, std::memory_order_release);
  }
  Status DeleteSegmentsBefore(uint64_t offset) override;
  uint64_t segment_count() const override { return segments_->segment_count(); }
  uint64_t total_bytes() const override { return segments_->total_bytes(); }
  std::unique_ptr<LogReader> NewReader(uint64_t from, uint64_t until) const override {
    return NewSegmentReader(segments_, std::max<uint64_t>(from, 1),
                            std::min(until, next_offset() - 1));
  }

 private:
  // Creates segment `seq` starting at first_offset and makes it active.
  Status CreateSegment(uint32_t seq, uint64_t first_offset);
  // Completes the active segment (fdatasync) and starts the next one.
  Status Roll(uint64_t first_offset);
  // Writes records [begin, end) of the encoded batch (record i carries
  // base + i) to the active segment and publishes them to readers.
  Status WriteRecords(uint64_t base, size_t begin, size_t end);
  // Zero-fills the active segment from the end of its records to
  // kZeroAheadBytes past them (within segment_max_bytes). Optional: on a
  // failure (a full disk) the zeros are cut off again and the segment goes
  // on without them.
  void ZeroAhead();
  size_t RecordBegin(size_t i) const { return i == 0 ? 0 : record_ends_[i - 1]; }

  const LogOptions options_;
  const std::shared_ptr<SegmentSet> segments_;

  // Commit-thread state.
  int fd_ = -1;                // active segment, write-only
  uint32_t seq_ = 0;           // active segment's sequence number
  std::string path_;           // active segment's path
  uint64_t size_ = 0;          // bytes of whole records in the active segment
  uint64_t zeroed_end_ = 0;    // the active segment's file size: zeros in [size_, zeroed_end_)
  bool zero_ahead_off_ = false;  // a zero fill failed; off until the next segment
  uint64_t last_indexed_ = 0;  // position of the active segment's last index entry
  bool dir_dirty_ = false;     // a segment was created since the last directory fsync
  uint64_t synced_offset_ = 0;
  Status failed_;  // sticky: once set, Append and Sync return it
  std::string buffer_;
  RecordEncoder encoder_;
  std::vector<size_t> record_ends_;  // end of record i in buffer_
  std::vector<IndexEntry> new_index_;

  std::atomic<uint64_t> next_offset_{1};
  std::atomic<uint64_t> durable_offset_{0};
};

Status LogImpl::Init(RecoveredLog recovered) {
  next_offset_.store(recovered.next_offset, std::memory_order_release);
  if (recovered.segments.empty()) {
    KISSVDB_RETURN_IF_ERROR(CreateSegment(1, recovered.next_offset));
  } else {
    const SegmentMeta& active = recovered.segments.back();
    seq_ = active.seq;
    path_ = segments_->PathOf(seq_);
    size_ = active.size;
    zeroed_end_ = size_;  // recovery cut any zero tail
    last_indexed_ = active.index.back().pos;
    for (SegmentMeta& meta : recovered.segments) segments_->Add(std::move(meta));
    const bool old_format = active.version != kFormatVersion;
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) return file_util::ErrnoStatus("open", path_, errno);
    // Records are appended in the current format only: a segment of an
    // older one is completed as it is, and the log goes on in a new one.
    if (old_format) KISSVDB_RETURN_IF_ERROR(Roll(recovered.next_offset));
  }
  // What survived a crash may sit only in the page cache (kInterval/kNone):
  // make it durable before claiming it is.
  synced_offset_ = 0;
  dir_dirty_ = true;
  return Sync();
}

Status LogImpl::CreateSegment(uint32_t seq, uint64_t first_offset) {
  const std::string path = segments_->PathOf(seq);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return file_util::ErrnoStatus("create", tmp, errno);
  char header[kSegmentHeaderSize];
  EncodeSegmentHeader(SegmentHeader{seq, first_offset}, header);
  Status s = PwriteAll(fd, header, sizeof(header), 0, tmp);
  if (s.ok() && ::fdatasync(fd) != 0) s = file_util::ErrnoStatus("fdatasync", tmp, errno);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    s = file_util::ErrnoStatus("rename", tmp, errno);
  }
  if (!s.ok()) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  seq_ = seq;
  path_ = path;
  size_ = kSegmentHeaderSize;
  zeroed_end_ = kSegmentHeaderSize;
  zero_ahead_off_ = false;
  last_indexed_ = kSegmentHeaderSize;
  dir_dirty_ = true;
  segments_->Add(SegmentMeta{seq, first_offset, kSegmentHeaderSize,
                             {IndexEntry{first_offset, kSegmentHeaderSize}}, kFormatVersion});
  return Status::OK();
}

Status LogImpl::Roll(uint64_t first_offset) {
  if (seq_ == UINT32_MAX) return Status::Internal("log segment sequence exhausted");
  // Only the last segment may end in zeros (recovery refuses anything but
  // records in the others), so the cut must be durable before the next
  // segment exists: the fdatasync below commits the new size.
  if (zeroed_end_ > size_ && ::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
    failed_ = file_util::ErrnoStatus("truncate", path_, errno);
    return failed_;
  }
  zeroed_end_ = size_;
  if (::fdatasync(fd_) != 0) {
    failed_ = file_util::ErrnoStatus("fdatasync", path_, errno);
    return failed_;
  }
  return CreateSegment(seq_ + 1, first_offset);
}

Status LogImpl::Append(std::span<const Event> events) {
  if (!failed_.ok()) return failed_;
  if (events.empty()) return Status::OK();
  const uint64_t base = next_offset_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].offset != base + i) {
      return Status::InvalidArgument("append: event " + std::to_string(i) + " has offset " +
                                     std::to_string(events[i].offset) + ", expected " +
                                     std::to_string(base + i));
    }
    // Whole atomic units only: each starts at its tx (or is one event) and
    // goes on while tx_more is set.
    const bool continues = i > 0 && events[i - 1].tx_more;
    const bool ok = continues ? events[i].tx == events[i - 1].tx && events[i].tx != 0
                              : events[i].tx == 0 || events[i].tx == events[i].offset;
    if (!ok || (i + 1 == events.size() && events[i].tx_more)) {
      return Status::InvalidArgument("append: event " + std::to_string(events[i].offset) +
                                     " is not part of a whole atomic unit");
    }
  }

  // Encode everything first: a batch with an unencodable event writes nothing.
  if (buffer_.capacity() > kMaxRetainedBuffer) std::string().swap(buffer_);
  buffer_.clear();
  record_ends_.clear();
  for (const Event& event : events) {
    KISSVDB_RETURN_IF_ERROR(encoder_.Append(event));
    record_ends_.push_back(buffer_.size());
  }

  // Write, one pwrite per segment. A segment that holds records takes no
  // atomic unit (most are one record) that would carry it past
  // segment_max_bytes; an empty one takes any unit, so an oversized unit
  // gets a segment of its own. A unit never spans two segments, so only
  // the last segment can end inside one.
  size_t begin = 0;
  bool wrote = false;  // some of the batch reached the log
  uint64_t projected = size_;
  for (size_t i = 0; i < events.size();) {
    size_t unit_end = i + 1;
    while (events[unit_end - 1].tx_more) ++unit_end;
    const uint64_t unit_size = record_ends_[unit_end - 1] - RecordBegin(i);
    if (projected > kSegmentHeaderSize && projected + unit_size > options_.segment_max_bytes) {
      Status s = WriteRecords(base, begin, i);
      if (s.ok()) {
        wrote = wrote || i > begin;
        s = Roll(base + i);
      }
      if (!s.ok()) {
        // Once part of the batch is in the log (next_offset() tells how far
        // it got) the caller cannot retry it as a unit: stop the log.
        if (wrote) failed_ = s;
        return s;
      }
      begin = i;
      projected = kSegmentHeaderSize;
    }
    projected += unit_size;
    i = unit_end;
  }
  Status s = WriteRecords(base, begin, events.size());
  if (!s.ok() && wrote) failed_ = s;
  return s;
}

Status LogImpl::WriteRecords(uint64_t base, size_t begin, size_t end) {
  if (begin == end) return Status::OK();
  const size_t byte_begin = RecordBegin(begin);
  const size_t bytes = record_ends_[end - 1] - byte_begin;
  Status s = PwriteAll(fd_, buffer_.data() + byte_begin, bytes, size_, path_);
  if (!s.ok()) {
    // Cut off a partial write so the segment ends on a record boundary; the
    // log stays usable (e.g. after ENOSPC, once space is freed). If even
    // that fails the segment tail is unknown: stop.
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) failed_ = s;
    zeroed_end_ = size_;
    return s;
  }
  new_index_.clear();
  for (size_t i = begin; i < end; ++i) {
    const uint64_t pos = size_ + (RecordBegin(i) - byte_begin);
    if (pos - last_indexed_ >= kIndexIntervalBytes) {
      new_index_.push_back(IndexEntry{base + i, pos});
      last_indexed_ = pos;
    }
  }
  size_ += bytes;
  zeroed_end_ = std::max(zeroed_end_, size_);
  segments_->Extend(size_, new_index_);
  next_offset_.store(base + end, std::memory_order_release);
  ZeroAhead();
  return Status::OK();
}

void LogImpl::ZeroAhead() {
  // Refill once less than half of the zeros is left: one file growth (and
  // one size commit) per kZeroAheadBytes / 2 of records.
  if (zero_ahead_off_ || zeroed_end_ - size_ >= kZeroAheadBytes / 2) return;
  const uint64_t target = std::min(size_ + kZeroAheadBytes, options_.segment_max_bytes);
  if (target <= zeroed_end_) return;
  Status s = PwriteAll(fd_, zero_buffer, target - zeroed_end_, zeroed_end_, path_);
  if (s.ok()) {
    zeroed_end_ = target;
    return;
  }
  // The zeros may be partly written: give the space back.
  zero_ahead_off_ = true;
  zeroed_end_ = ::ftruncate(fd_, static_cast<off_t>(size_)) == 0 ? size_ : target;
}

Status LogImpl::Sync() {
  if (!failed_.ok()) return failed_;
  const uint64_t written = next_offset() - 1;
  if (written != synced_offset_ || dir_dirty_) {
    // A failed fsync may have dropped the dirty pages it could not write
    // back; retrying would falsely succeed. Hence sticky.
    if (::fdatasync(fd_) != 0) {
      failed_ = file_util::ErrnoStatus("fdatasync", path_, errno);
      return failed_;
    }
    if (dir_dirty_) {
      Status s = file_util::SyncDir(options_.dir);
      if (!s.ok()) {
        failed_ = s;
        return s;
      }
      dir_dirty_ = false;
    }
    synced_offset_ = written;
  }
  if (durable_offset() < written) durable_offset_.store(written, std::memory_order_release);
  return Status::OK();
}

Status LogImpl::DeleteSegmentsBefore(uint64_t offset) {
  size_t deleted = 0;
  Status s = segments_->DeleteBefore(offset, &deleted);
  if (deleted > 0) {
    Status d = file_util::SyncDir(options_.dir);
    if (s.ok()) s = d;
  }
  return s;
}

}  // namespace

Result<std::unique_ptr<Log>> Log::Open(const LogOptions& options, RecoveryReport* report) {
  RecoveryReport unused;
  if (report == nullptr) report = &unused;
  *report = RecoveryReport{};
  if (options.dir.empty()) return Status::InvalidArgument("log directory not set");

  Result<RecoveredLog> recovered = RecoverSegments(options, report);
  if (!recovered.ok()) return recovered.status();
  auto log = std::make_unique<LogImpl>(options, std::make_shared<SegmentSet>(options.dir));
  KISSVDB_RETURN_IF_ERROR(log->Init(std::move(recovered.value())));
  report->segments = log->segment_count();
  report->events = log->next_offset() - log->first_offset();
  return std::unique_ptr<Log>(std::move(log));
}

}  // namespace kissvdb::wal
