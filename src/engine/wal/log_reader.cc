#include "engine/wal/log_reader.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "engine/wal/format.h"
#include "engine/wal/record.h"
#include "util/file_util.h"

namespace kissvdb::wal {

namespace {

// Initial read buffer; grows to fit a larger record.
constexpr size_t kReadBufferSize = 64 << 10;
// Bytes needed to see a record's length and offset.
constexpr size_t kRecordPrefixSize = kRecordHeaderSize + 8;

class SegmentReader final : public LogReader {
 public:
  SegmentReader(std::shared_ptr<const SegmentSet> segments, uint64_t from, uint64_t until)
      : segments_(std::move(segments)), next_(from), until_(until) {}
  ~SegmentReader() override { CloseSegment(); }

  bool Next(Event* event) override;
  bool NextRecord(RecordView* rec) override;
  const Status& status() const override { return status_; }

 private:
  // Opens the segment holding next_ and positions at its closest index entry.
  bool OpenSegment();
  void CloseSegment();
  bool Fail(Status status);
  Status Corrupt(const std::string& what) const;
  // Makes at least n bytes available at buf_[begin_] unless the file ends
  // first; *available is set to how many are.
  Status Fill(size_t n, size_t* available);
  void Skip(size_t n);

  const std::shared_ptr<const SegmentSet> segments_;
  uint64_t next_;  // offset of the next event to return
  const uint64_t until_;
  bool returned_any_ = false;
  Status status_;

  int fd_ = -1;
  uint32_t seq_ = 0;       // segment open, or the last one read (0 = none yet)
  uint32_t version_ = kFormatVersion;  // record format of the open segment
  uint64_t read_pos_ = 0;  // file position of buf_[end_]
  std::vector<char> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

bool SegmentReader::Next(Event* event) {
  RecordView rec;
  if (!NextRecord(&rec)) return false;
  Status s = ParseEvent(rec, event);
  if (!s.ok()) return Fail(Status::Corruption(segments_->PathOf(seq_) + ": " + s.message()));
  return true;
}

bool SegmentReader::NextRecord(RecordView* rec) {
  while (status_.ok() && next_ <= until_) {
    if (fd_ < 0 && !OpenSegment()) return false;

    size_t available = 0;
    Status s = Fill(kRecordPrefixSize, &available);
    if (!s.ok()) return Fail(std::move(s));
    if (available == 0) {
      // End of this segment; next_ <= until_ is in a later one.
      CloseSegment();
      continue;
    }
    if (available < kRecordPrefixSize) return Fail(Corrupt("truncated record"));
    const char* p = buf_.data() + begin_;
    const uint32_t body_size = DecodeFixed32(p);
    if (body_size < FixedBodySize(version_) || body_size > kMaxRecordBodySize) {
      return Fail(Corrupt("bad record length"));
    }
    const size_t size = kRecordHeaderSize + body_size;
    const uint64_t offset = DecodeFixed64(p + kRecordHeaderSize);
    if (offset < next_) {  // before `from`: skipped unverified
      Skip(size);
      continue;
    }
    if (offset != next_) return Fail(Corrupt("record carries offset " + std::to_string(offset)));

    s = Fill(size, &available);
    if (!s.ok()) return Fail(std::move(s));
    if (available < size) return Fail(Corrupt("truncated record"));
    const RecordStatus rs = DecodeRecord(buf_.data() + begin_, size, version_, rec);
    if (rs != RecordStatus::kOk) return Fail(Corrupt(RecordStatusName(rs)));
    begin_ += size;
    ++next_;
    returned_any_ = true;
    return true;
  }
  return false;
}

bool SegmentReader::OpenSegment() {
  while (true) {
    Result<SegmentSet::Position> pos = segments_->Open(next_);
    if (!pos.ok()) return Fail(pos.status());
    if (pos->below_first) {
      if (returned_any_) {
        return Fail(Status(Code::kGone, "log offset " + std::to_string(next_) +
                                            " was deleted by retention while being read"));
      }
      next_ = pos->first;  // documented: start at the oldest offset still held
      if (next_ > until_) return false;
      continue;
    }
    if (pos->seq <= seq_) {
      ::close(pos->fd);
      return Fail(Status::Corruption(segments_->PathOf(seq_) + ": segment ends before offset " +
                                     std::to_string(next_)));
    }
    fd_ = pos->fd;
    seq_ = pos->seq;
    begin_ = end_ = 0;
    if (buf_.empty()) buf_.resize(kReadBufferSize);

    // Check the header names the segment we expect.
    char header[kSegmentHeaderSize];
    size_t got = 0;
    while (got < kSegmentHeaderSize) {
      const ssize_t r =
          ::pread(fd_, header + got, kSegmentHeaderSize - got, static_cast<off_t>(got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Fail(file_util::ErrnoStatus("read", segments_->PathOf(seq_), errno));
      if (r == 0) return Fail(Corrupt("short segment header"));
      got += static_cast<size_t>(r);
    }
    SegmentHeader h;
    Status s = DecodeSegmentHeader(header, &h);
    if (!s.ok()) return Fail(Corrupt(s.message()));
    if (h.seq != pos->seq || h.first_offset != pos->seg_first_offset) {
      return Fail(Corrupt("segment header does not match its file name"));
    }
    version_ = h.version;
    read_pos_ = pos->start.pos;
    return true;
  }
}

void SegmentReader::CloseSegment() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  begin_ = end_ = 0;
}

bool SegmentReader::Fail(Status status) {
  status_ = std::move(status);
  CloseSegment();
  return false;
}

Status SegmentReader::Corrupt(const std::string& what) const {
  return Status::Corruption(segments_->PathOf(seq_) + ": " + what + " at offset " +
                            std::to_string(next_));
}

Status SegmentReader::Fill(size_t n, size_t* available) {
  if (end_ - begin_ < n) {
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (buf_.size() < n) buf_.resize(std::max(n, 2 * buf_.size()));
    while (end_ < n) {
      const ssize_t r =
          ::pread(fd_, buf_.data() + end_, buf_.size() - end_, static_cast<off_t>(read_pos_));
      if (r < 0) {
        if (errno == EINTR) continue;
        return file_util::ErrnoStatus("read", segments_->PathOf(seq_), errno);
      }
      if (r == 0) break;
      end_ += static_cast<size_t>(r);
      read_pos_ += static_cast<uint64_t>(r);
    }
  }
  *available = std::min(n, end_ - begin_);
  return Status::OK();
}

void SegmentReader::Skip(size_t n) {
  const size_t buffered = end_ - begin_;
  if (n <= buffered) {
    begin_ += n;
    return;
  }
  read_pos_ += n - buffered;
  begin_ = end_ = 0;
}

}  // namespace

std::unique_ptr<LogReader> NewSegmentReader(std::shared_ptr<const SegmentSet> segments,
                                            uint64_t from, uint64_t until) {
  return std::make_unique<SegmentReader>(std::move(segments), from, until);
}

}  // namespace kissvdb::wal
