#include "engine/wal/recovery.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include <spdlog/spdlog.h>

#include "engine/wal/format.h"
#include "util/file_util.h"

namespace kissvdb::wal {

namespace {

// A whole file mapped read-only; recovery looks at arbitrary positions of
// the tail, which a mapping makes simple. Nothing else touches the files
// while the log is being opened.
class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() { Close(); }

  Status Open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return file_util::ErrnoStatus("open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return file_util::ErrnoStatus("stat", path, err);
    }
    size_ = static_cast<uint64_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        size_ = 0;
        return file_util::ErrnoStatus("mmap", path, err);
      }
      data_ = static_cast<const char*>(p);
      ::madvise(p, size_, MADV_SEQUENTIAL);
    }
    ::close(fd);
    return Status::OK();
  }

  void Close() {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
    data_ = nullptr;
    size_ = 0;
  }

  const char* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  const char* data_ = nullptr;
  uint64_t size_ = 0;
};

// Segment sequence numbers in dir, ascending. Removes "events-*.log.tmp"
// files: segments whose creation was interrupted before the rename.
Status ListSegments(const std::string& dir, std::vector<uint32_t>* seqs) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return file_util::ErrnoStatus("open directory", dir, errno);
  Status s;
  while (true) {
    errno = 0;
    const dirent* entry = ::readdir(d);
    if (entry == nullptr) {
      if (errno != 0) s = file_util::ErrnoStatus("read directory", dir, errno);
      break;
    }
    const std::string_view name(entry->d_name);
    uint32_t seq = 0;
    if (ParseSegmentFileName(name, &seq)) {
      seqs->push_back(seq);
    } else if (name.starts_with("events-") && name.ends_with(".log.tmp")) {
      const std::string path = dir + "/" + std::string(name);
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        s = file_util::ErrnoStatus("unlink", path, errno);
        break;
      }
    }
  }
  ::closedir(d);
  std::sort(seqs->begin(), seqs->end());
  return s;
}

Status TruncateFile(const std::string& path, uint64_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return file_util::ErrnoStatus("open", path, errno);
  Status s;
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    s = file_util::ErrnoStatus("truncate", path, errno);
  } else if (::fdatasync(fd) != 0) {
    s = file_util::ErrnoStatus("fdatasync", path, errno);
  }
  ::close(fd);
  return s;
}

// Unlinks the segments seqs[from..] (newest first, so that a crash part way
// leaves a prefix of the log) and syncs the directory.
Status DeleteSegmentsFrom(const std::string& dir, const std::vector<uint32_t>& seqs, size_t from) {
  for (size_t i = seqs.size(); i-- > from;) {
    const std::string path = SegmentPath(dir, seqs[i]);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return file_util::ErrnoStatus("unlink", path, errno);
    }
  }
  return file_util::SyncDir(dir);
}

bool AllZero(const char* data, size_t n) {
  return std::all_of(data, data + n, [](char c) { return c == 0; });
}

}  // namespace

SegmentScan ScanRecords(const char* data, uint64_t size, uint64_t first_offset, uint32_t version) {
  SegmentScan scan;
  scan.end = kSegmentHeaderSize;
  scan.next_offset = first_offset;
  scan.unit_begin = scan.end;
  scan.unit_offset = first_offset;
  scan.index.push_back({first_offset, kSegmentHeaderSize});
  uint64_t last_indexed = kSegmentHeaderSize;
  while (scan.end < size) {
    RecordView rec;
    scan.failure = DecodeRecord(data + scan.end, size - scan.end, version, &rec);
    if (scan.failure != RecordStatus::kOk) break;
    if (rec.offset != scan.next_offset) {
      scan.wrong_offset = true;
      scan.found_offset = rec.offset;
      break;
    }
    // A unit's records count up from 0 at its first record.
    if ((rec.unit & kUnitIndexMask) != scan.next_offset - scan.unit_offset) {
      scan.wrong_unit = true;
      break;
    }
    if (scan.end - last_indexed >= kIndexIntervalBytes) {
      scan.index.push_back({rec.offset, scan.end});
      last_indexed = scan.end;
    }
    scan.end += rec.size;
    ++scan.next_offset;
    if ((rec.unit & kUnitMore) == 0) {
      scan.unit_begin = scan.end;
      scan.unit_offset = scan.next_offset;
    }
  }
  return scan;
}

bool ValidRecordAfter(const char* data, uint64_t size, uint64_t pos, uint64_t expected_offset,
                      uint32_t version) {
  // Any record written after the damaged one carries an offset >= expected
  // and at most one more per kMinRecordSize bytes. Filtering on that before
  // computing a checksum keeps this linear in practice: zero fill, JSON text
  // and random garbage almost never pass both the length and offset checks.
  const uint64_t max_offset = expected_offset + (size - pos) / kMinRecordSize;
  for (uint64_t q = pos + 1; q + kMinRecordSize <= size; ++q) {
    const char* p = data + q;
    const uint32_t body_size = DecodeFixed32(p);
    if (body_size < FixedBodySize(version) || body_size > size - q - kRecordHeaderSize) continue;
    const uint64_t offset = DecodeFixed64(p + kRecordHeaderSize);
    if (offset < expected_offset || offset > max_offset) continue;
    RecordView rec;
    if (DecodeRecord(p, size - q, version, &rec) == RecordStatus::kOk) return true;
  }
  return false;
}

Result<RecoveredLog> RecoverSegments(const LogOptions& options, RecoveryReport* report) {
  struct stat st;
  const bool existed = ::stat(options.dir.c_str(), &st) == 0;
  KISSVDB_RETURN_IF_ERROR(file_util::CreateDirs(options.dir));
  if (!existed) {
    const size_t slash = options.dir.find_last_of('/');
    const std::string parent = slash == std::string::npos ? "." : options.dir.substr(0, slash + 1);
    KISSVDB_RETURN_IF_ERROR(file_util::SyncDir(parent));
  }
  std::vector<uint32_t> seqs;
  KISSVDB_RETURN_IF_ERROR(ListSegments(options.dir, &seqs));

  RecoveredLog out;
  uint64_t expected = 0;  // offset the next segment must start at; 0 = unknown yet
  for (size_t i = 0; i < seqs.size(); ++i) {
    const bool last = i + 1 == seqs.size();
    const std::string path = SegmentPath(options.dir, seqs[i]);
    MappedFile file;
    KISSVDB_RETURN_IF_ERROR(file.Open(path));

    // A last segment whose header never reached the disk (creation cut short
    // by a crash) holds no events: drop it. Only if its place in the log is
    // known: it follows another segment or is the very first one.
    const bool no_header =
        file.size() < kSegmentHeaderSize || AllZero(file.data(), kSegmentHeaderSize);
    if (no_header && last && (i > 0 || seqs[i] == 1)) {
      report->torn_bytes_truncated += file.size();
      report->torn_segment = path;
      spdlog::warn("wal: removing {} ({} bytes): segment header was never written", path,
                   file.size());
      file.Close();
      KISSVDB_RETURN_IF_ERROR(DeleteSegmentsFrom(options.dir, seqs, i));
      break;
    }

    SegmentHeader header;
    Status hs = no_header ? Status::Corruption("missing segment header")
                          : DecodeSegmentHeader(file.data(), &header);
    if (hs.ok() && header.seq != seqs[i]) {
      hs = Status::Corruption("header names segment " + std::to_string(header.seq));
    }
    if (hs.ok() && expected != 0 && header.first_offset != expected) {
      hs = Status::Corruption("first offset " + std::to_string(header.first_offset) +
                              ", expected " + std::to_string(expected));
    }
    if (!hs.ok()) {
      std::string msg = path + ": " + hs.message();
      if (expected != 0) msg += " (offset " + std::to_string(expected) + ")";
      // Repair keeps the prefix before this segment; with no prefix there is
      // nothing it can keep.
      if (!options.repair || i == 0) return Status::Corruption(msg);
      spdlog::error("wal: repair: {}; deleting it and every later segment", msg);
      file.Close();
      KISSVDB_RETURN_IF_ERROR(DeleteSegmentsFrom(options.dir, seqs, i));
      report->repaired_from_offset = expected;
      break;
    }
    if (expected == 0) expected = header.first_offset;

    SegmentScan scan = ScanRecords(file.data(), file.size(), header.first_offset, header.version);
    const uint64_t file_size = file.size();
    bool repaired = false;
    if (!scan.clean()) {
      const bool torn = last && !scan.wrong_offset && !scan.wrong_unit &&
                        !ValidRecordAfter(file.data(), file_size, scan.end, scan.next_offset, header.version);
      // The writer keeps the last segment zero-filled ahead of its records;
      // a crash leaves those zeros (and any unsynced record that never
      // reached the disk reads as zeros too): not damage.
      const bool zero_tail = torn && AllZero(file.data() + scan.end, file_size - scan.end);
      file.Close();
      if (zero_tail) {
        spdlog::info("wal: {}: cutting the zero fill after the last record ({} bytes at byte {})", path,
                     file_size - scan.end, scan.end);
        KISSVDB_RETURN_IF_ERROR(TruncateFile(path, scan.end));
        report->zero_tail_bytes += file_size - scan.end;
      } else if (torn) {
        spdlog::warn("wal: {}: truncating torn tail of {} bytes at byte {} ({}, offset {})", path,
                     file_size - scan.end, scan.end, RecordStatusName(scan.failure),
                     scan.next_offset);
        KISSVDB_RETURN_IF_ERROR(TruncateFile(path, scan.end));
        report->torn_bytes_truncated += file_size - scan.end;
        report->torn_segment = path;
      } else {
        std::string msg = path + ": ";
        if (scan.wrong_offset) {
          msg += "record carries offset " + std::to_string(scan.found_offset) + " at byte " +
                 std::to_string(scan.end) + " (offset " + std::to_string(scan.next_offset) +
                 " expected)";
        } else if (scan.wrong_unit) {
          msg += "record of offset " + std::to_string(scan.next_offset) + " at byte " +
                 std::to_string(scan.end) + " breaks its atomic unit's sequence";
        } else {
          msg += std::string(RecordStatusName(scan.failure)) + " at byte " +
                 std::to_string(scan.end) + " (offset " + std::to_string(scan.next_offset) +
                 "), followed by " + (last ? "valid records" : "further segments");
        }
        if (!options.repair) {
          return Status::Corruption(msg + "; start with repair to truncate the log there");
        }
        spdlog::error(
            "wal: repair: {}; truncating the log there, events from offset {} on are lost", msg,
            scan.next_offset);
        KISSVDB_RETURN_IF_ERROR(TruncateFile(path, scan.end));
        if (!last) KISSVDB_RETURN_IF_ERROR(DeleteSegmentsFrom(options.dir, seqs, i + 1));
        report->repaired_from_offset = scan.next_offset;
        repaired = true;
      }
    }
    if (scan.unit_open()) {
      // The segment ends inside an atomic unit. At the end of the log that
      // is a crash during the unit's write (never acknowledged): cut the
      // whole unit. A unit never spans segments, so anywhere else it is
      // damage.
      if (!last && !repaired) {
        std::string msg = path + ": ends inside the atomic unit starting at offset " +
                          std::to_string(scan.unit_offset) + ", followed by further segments";
        if (!options.repair) return Status::Corruption(msg + "; start with repair to truncate the log there");
        spdlog::error("wal: repair: {}; truncating the log there, events from offset {} on are lost", msg,
                      scan.unit_offset);
        KISSVDB_RETURN_IF_ERROR(DeleteSegmentsFrom(options.dir, seqs, i + 1));
        report->repaired_from_offset = scan.unit_offset;
        repaired = true;
      } else if (repaired) {
        report->repaired_from_offset = scan.unit_offset;
      } else {
        spdlog::warn("wal: {}: cutting the incomplete atomic unit of offsets {}..{} at byte {}", path,
                     scan.unit_offset, scan.next_offset - 1, scan.unit_begin);
        report->torn_bytes_truncated += scan.end - scan.unit_begin;
        report->torn_unit_events += scan.next_offset - scan.unit_offset;
        report->torn_segment = path;
      }
      file.Close();
      KISSVDB_RETURN_IF_ERROR(TruncateFile(path, scan.unit_begin));
      std::erase_if(scan.index, [&](const IndexEntry& e) { return e.pos > scan.unit_begin; });
      scan.end = scan.unit_begin;
      scan.next_offset = scan.unit_offset;
    }
    out.segments.push_back(
        SegmentMeta{seqs[i], header.first_offset, scan.end, std::move(scan.index), header.version});
    expected = scan.next_offset;
    if (repaired) break;
  }
  out.next_offset = expected == 0 ? 1 : expected;
  return out;
}

}  // namespace kissvdb::wal
