// Point-in-time restore (docs/backup.md): a backup taken at offset B, plus
// the log records after B from another directory, restored up to an offset N.
//
// The restore writes files only; the engine's ordinary open does the
// replay. The log is the source of truth, so the restored directory is the
// backup with its log replaced by the log 1..N (or S..N, S the oldest
// retained offset), cut right after the record of N:
//   - N >= B: the backup's stores stay (state.lmdb and snapshot.json say B,
//     vectors/ too); the boot replays B+1..N into KV, documents, history
//     and the vector collections, as after a crash.
//   - N < B: the backup's stores are past N, so state.lmdb, snapshot.json and
//     vectors/ stay out and the boot rebuilds every store from the log 1..N.
//     That needs the log from offset 1 (a backup keeps every retained
//     segment); otherwise an older backup is needed.
// sql.db is copied as it is (SQL is not event-sourced: it stays at B), and
// text.sqlite is never in a backup (rebuilt at the first start).
//
// Both the backup and the other directory are only read: every segment is
// verified here with recovery's rules (docs/wal-format.md, section 6), and
// the tail recovery would cut (zero fill, a torn record, an incomplete unit
// at the end of the last segment) is left out instead of cut from the file,
// so a running server's data directory or a crashed one's works as a source.
// The restored segments keep their names and bytes up to the cut; nothing is
// decoded or re-encoded.
#include "engine/point_in_time_restore.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <string_view>
#include <vector>

#include "engine/wal/format.h"
#include "engine/wal/recovery.h"
#include "kissvdb/event.h"
#include "util/file_util.h"

namespace fs = std::filesystem;

namespace kissvdb {

namespace {

// One segment file as far as it is usable: whole units only.
struct Segment {
  std::string path;
  uint32_t seq = 0;
  uint32_t version = 0;
  uint64_t first_offset = 0;
  uint64_t next_offset = 0;  // one past the last record kept
  uint64_t end = 0;          // file position just past that record
};

std::string TimeText(uint64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[8];
  std::snprintf(frac, sizeof(frac), ".%03uZ", static_cast<unsigned>(ms % 1000));
  return std::string(buf) + frac;
}

std::string Range(uint64_t first, uint64_t last) {
  return first == last ? std::to_string(first) : std::to_string(first) + ".." + std::to_string(last);
}

// Reads and verifies one segment. `last`: the newest segment of its
// directory, the only one that may end in a tail recovery would cut.
// *absent: a last segment whose header was never written (holds nothing).
Status ScanSegment(const std::string& path, uint32_t seq, bool last, Segment* seg, bool* absent) {
  *absent = false;
  auto data = file_util::ReadFile(path);
  if (!data.ok()) return data.status();
  const std::string& d = *data;
  const bool no_header = d.size() < wal::kSegmentHeaderSize ||
                         d.find_first_not_of('\0', 0) >= wal::kSegmentHeaderSize;
  if (no_header && last) {
    *absent = true;
    return Status::OK();
  }
  wal::SegmentHeader header;
  Status hs = no_header ? Status::Corruption("missing segment header") : wal::DecodeSegmentHeader(d.data(), &header);
  if (hs.ok() && header.seq != seq) hs = Status::Corruption("header names segment " + std::to_string(header.seq));
  if (!hs.ok()) return Status::Corruption(path + ": " + hs.message());

  wal::SegmentScan scan = wal::ScanRecords(d.data(), d.size(), header.first_offset, header.version);
  if (!scan.clean()) {
    const bool torn = last && !scan.wrong_offset && !scan.wrong_unit &&
                      !wal::ValidRecordAfter(d.data(), d.size(), scan.end, scan.next_offset, header.version);
    if (!torn) {
      return Status::Corruption(path + ": damaged record at byte " + std::to_string(scan.end) + " (offset " +
                                std::to_string(scan.next_offset) + "), followed by " +
                                (last ? "valid records" : "further segments"));
    }
  }
  if (scan.unit_open()) {
    if (!last) {
      return Status::Corruption(path + ": ends inside the atomic unit starting at offset " +
                                std::to_string(scan.unit_offset) + ", followed by further segments");
    }
    // Never acknowledged (recovery cuts it too).
    scan.end = scan.unit_begin;
    scan.next_offset = scan.unit_offset;
  }
  *seg = Segment{path, seq, header.version, header.first_offset, scan.next_offset, scan.end};
  return Status::OK();
}

// The segments of `dir`, ascending, each verified. Only reads.
Status ReadSegments(const std::string& dir, std::vector<Segment>* out) {
  std::vector<uint32_t> seqs;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    uint32_t seq;
    if (it->is_regular_file() && wal::ParseSegmentFileName(it->path().filename().string(), &seq)) {
      seqs.push_back(seq);
    }
  }
  if (ec) return Status::IOError("list " + dir + ": " + ec.message());
  std::sort(seqs.begin(), seqs.end());
  for (size_t i = 0; i < seqs.size(); ++i) {
    Segment seg;
    bool absent;
    KISSVDB_RETURN_IF_ERROR(ScanSegment(wal::SegmentPath(dir, seqs[i]), seqs[i], i + 1 == seqs.size(), &seg, &absent));
    if (!absent) out->push_back(std::move(seg));
  }
  return Status::OK();
}

// Calls fn(record, file position just past it) for the kept records of
// `seg`, in order, until fn returns false. The records were verified by
// ScanSegment; they are verified again, in case the file changed since.
template <typename Fn>
Status ForEachRecord(const Segment& seg, Fn&& fn) {
  auto data = file_util::ReadFile(seg.path);
  if (!data.ok()) return data.status();
  if (data->size() < seg.end) return Status::Corruption(seg.path + " shrank while being read");
  uint64_t pos = wal::kSegmentHeaderSize;
  while (pos < seg.end) {
    wal::RecordView rec;
    if (wal::DecodeRecord(data->data() + pos, seg.end - pos, seg.version, &rec) != wal::RecordStatus::kOk) {
      return Status::Corruption(seg.path + " changed while being read (byte " + std::to_string(pos) + ")");
    }
    pos += rec.size;
    if (!fn(rec, pos)) break;
  }
  return Status::OK();
}

// Where the segment holding offset n must be cut: just past n's record.
// InvalidArgument when n is not the last record of its atomic unit.
Status CutPosition(const Segment& seg, uint64_t n, uint64_t* cut) {
  uint64_t unit_first = 0, unit_last = 0;
  *cut = 0;
  KISSVDB_RETURN_IF_ERROR(ForEachRecord(seg, [&](const wal::RecordView& rec, uint64_t end) {
    if (rec.offset < n) return true;
    if (rec.offset == n) {
      *cut = end;
      if ((rec.unit & wal::kUnitMore) == 0) return false;
      unit_first = n - (rec.unit & wal::kUnitIndexMask);
    }
    unit_last = rec.offset;
    return (rec.unit & wal::kUnitMore) != 0;
  }));
  if (*cut == 0) return Status::Corruption(seg.path + " does not hold offset " + std::to_string(n));
  if (unit_first != 0) {
    // A unit never spans segments, and ScanSegment kept whole units only.
    return Status::InvalidArgument(
        "offset " + std::to_string(n) + " is inside the atomic unit (transaction) of offsets " +
        Range(unit_first, unit_last) + "; a restore keeps a unit whole or leaves it out: restore to " +
        (unit_first > 1 ? "offset " + std::to_string(unit_first - 1) + " or " : std::string()) + "offset " +
        std::to_string(unit_last));
  }
  return Status::OK();
}

// Verifies the first `bytes` of seg (records up to `next_offset` - 1) and
// writes them, under the same name, into `dir`.
Status WriteCutSegment(const Segment& seg, uint64_t bytes, uint64_t next_offset, const std::string& dir) {
  auto data = file_util::ReadFile(seg.path);
  if (!data.ok()) return data.status();
  wal::SegmentScan scan;
  if (data->size() >= bytes && bytes >= wal::kSegmentHeaderSize) {
    scan = wal::ScanRecords(data->data(), bytes, seg.first_offset, seg.version);
  }
  if (scan.end != bytes || !scan.clean() || scan.unit_open() || scan.next_offset != next_offset) {
    return Status::Corruption(seg.path + " changed while being read");
  }
  return file_util::AtomicWriteFile(wal::SegmentPath(dir, seg.seq), std::string_view(data->data(), bytes));
}

// The backup's offset from its manifest (CopyVerifiedBackup checks the rest).
Result<uint64_t> BackupOffset(const std::string& backup_dir) {
  auto text = file_util::ReadFile((fs::path(backup_dir) / "manifest.json").string());
  if (!text.ok()) {
    return Status::InvalidArgument(backup_dir + " is not a complete backup (no readable manifest.json): " +
                                   text.status().message());
  }
  Json m = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!m.is_object() || !m.contains("offset") || !m["offset"].is_number_unsigned()) {
    return Status::InvalidArgument(backup_dir + "/manifest.json names no offset");
  }
  return m["offset"].get<uint64_t>();
}

// The log a restore can draw from: the backup's segments, with the
// segments of `log_dir` merged in by sequence number. Where both hold a
// sequence number they must agree: the same first offset, and for the
// segment that holds B the same bytes up to B (the other directory's copy
// then usually goes on past B and replaces the backup's).
Status MergeLogs(const std::vector<Segment>& backup, const std::string& log_dir, uint64_t b,
                 std::vector<Segment>* chain) {
  std::map<uint32_t, Segment> by_seq;
  for (const Segment& s : backup) by_seq[s.seq] = s;
  if (log_dir.empty()) {
    for (auto& [seq, s] : by_seq) chain->push_back(s);
    return Status::OK();
  }
  std::vector<Segment> more;
  KISSVDB_RETURN_IF_ERROR(ReadSegments(log_dir, &more));
  if (more.empty()) return Status::InvalidArgument(log_dir + " holds no WAL segments (events-*.log)");
  const std::string not_ours = ": it is not the log this backup was taken from";
  for (const Segment& s : more) {
    auto [it, added] = by_seq.try_emplace(s.seq, s);
    if (added) continue;
    Segment& mine = it->second;
    const std::string name = wal::SegmentFileName(s.seq);
    if (s.first_offset != mine.first_offset || s.version != mine.version) {
      return Status::Corruption(s.path + " starts at offset " + std::to_string(s.first_offset) +
                                ", the backup's " + name + " at " + std::to_string(mine.first_offset) + not_ours);
    }
    if (mine.next_offset != b + 1) {
      // A segment completed before the backup: the same records.
      if (s.next_offset != mine.next_offset) {
        return Status::Corruption(s.path + " ends at offset " + std::to_string(s.next_offset - 1) +
                                  ", the backup's " + name + " at " + std::to_string(mine.next_offset - 1) +
                                  not_ours);
      }
      continue;
    }
    if (s.next_offset < mine.next_offset) {
      return Status::Corruption(s.path + " ends at offset " + std::to_string(s.next_offset - 1) +
                                ", before the backup's offset " + std::to_string(b) + not_ours);
    }
    auto theirs = file_util::ReadFile(s.path);
    if (!theirs.ok()) return theirs.status();
    auto ours = file_util::ReadFile(mine.path);
    if (!ours.ok()) return ours.status();
    if (theirs->compare(0, mine.end, *ours, 0, mine.end) != 0) {
      return Status::Corruption(s.path + " differs from the backup's " + name + " at or before offset " +
                                std::to_string(b) + not_ours);
    }
    if (s.next_offset > mine.next_offset) mine = s;
  }
  for (auto& [seq, s] : by_seq) chain->push_back(std::move(s));
  return Status::OK();
}

// The last offset in chain[first..last] whose event's ts_ms <= time_ms and
// that ends its unit; 0 if none. *oldest_ts = the ts_ms of the first record.
Status OffsetAtTime(const std::vector<Segment>& chain, size_t first, size_t last, uint64_t time_ms, uint64_t* n,
                    uint64_t* oldest_ts) {
  *n = 0;
  bool any = false;
  for (size_t i = first; i <= last; ++i) {
    KISSVDB_RETURN_IF_ERROR(ForEachRecord(chain[i], [&](const wal::RecordView& rec, uint64_t) {
      if (!any) *oldest_ts = rec.ts_ms;
      any = true;
      // Commit times are not assumed monotonic (the clock can step back):
      // the last qualifying offset wins.
      if (rec.ts_ms <= time_ms && (rec.unit & wal::kUnitMore) == 0) *n = rec.offset;
      return true;
    }));
  }
  return Status::OK();
}

// What a restore writes: the segments chain[first..last], the last one cut
// at byte `cut`, just past the record of offset n.
struct Plan {
  uint64_t b = 0;  // the backup's offset
  uint64_t n = 0;
  std::vector<Segment> chain;
  size_t first = 0, last = 0;
  uint64_t cut = 0;
};

// Finds N and the segments that hold 1..N (or S..N) without writing
// anything; every refusal comes from here.
Result<Plan> PlanRestore(const std::string& backup_dir, const RestorePoint& point) {
  auto b_or = BackupOffset(backup_dir);
  if (!b_or.ok()) return b_or.status();
  const uint64_t b = *b_or;
  std::vector<Segment> backup;
  KISSVDB_RETURN_IF_ERROR(ReadSegments(backup_dir, &backup));
  if (backup.empty()) return Status::Corruption(backup_dir + " holds no log segments");
  for (size_t i = 1; i < backup.size(); ++i) {
    if (backup[i].first_offset != backup[i - 1].next_offset) {
      return Status::Corruption(backup[i].path + " does not follow " + backup[i - 1].path);
    }
  }
  if (backup.back().next_offset != b + 1) {
    return Status::Corruption("the backup's log ends at offset " + std::to_string(backup.back().next_offset - 1) +
                              ", its manifest says " + std::to_string(b));
  }

  // The contiguous run of segments around the backup's last one: offsets
  // [oldest, newest] are available.
  std::vector<Segment> chain;
  KISSVDB_RETURN_IF_ERROR(MergeLogs(backup, point.log_dir, b, &chain));
  size_t k = 0;
  while (chain[k].seq != backup.back().seq) ++k;
  size_t s = k, e = k;
  while (s > 0 && chain[s - 1].next_offset == chain[s].first_offset) --s;
  while (e + 1 < chain.size() && chain[e + 1].first_offset == chain[e].next_offset) ++e;
  if (e + 1 < chain.size() && chain[e + 1].first_offset < chain[e].next_offset) {
    return Status::Corruption(chain[e + 1].path + " starts at offset " + std::to_string(chain[e + 1].first_offset) +
                              ", inside " + chain[e].path + " (offsets " +
                              Range(chain[e].first_offset, chain[e].next_offset - 1) + ")");
  }
  const uint64_t oldest = chain[s].first_offset;
  const uint64_t newest = chain[e].next_offset - 1;
  std::string available = "the available log holds offsets " +
                          (newest >= oldest ? Range(oldest, newest) : std::string("none"));
  if (e + 1 < chain.size()) {
    available += "; offsets " + Range(newest + 1, chain[e + 1].first_offset - 1) + " are missing before " +
                 chain[e + 1].path;
  } else if (point.log_dir.empty()) {
    available += " (the backup's own log; --log <data dir> adds the records after it)";
  }

  uint64_t n = point.offset;
  if (n == 0 && point.time_ms) {
    uint64_t oldest_ts = 0;
    KISSVDB_RETURN_IF_ERROR(OffsetAtTime(chain, s, e, *point.time_ms, &n, &oldest_ts));
    if (n == 0) {
      return Status::InvalidArgument(
          TimeText(*point.time_ms) + " is before " +
          (oldest == 1 ? "the first event" : "the oldest event of the available log") +
          (newest >= oldest ? " (offset " + std::to_string(oldest) + " at " + TimeText(oldest_ts) + ")" : "") +
          (oldest == 1 ? std::string() : "; an older backup holds earlier offsets"));
    }
    if (n == newest && e + 1 < chain.size()) {
      // The point may lie in the gap, or past it.
      return Status::InvalidArgument("cannot tell the last event at or before " + TimeText(*point.time_ms) +
                                     ": " + available);
    }
  } else if (n == 0) {
    // "To the end" must not quietly stop short at a gap.
    if (e + 1 < chain.size()) return Status::InvalidArgument("cannot restore to the end of the log: " + available);
    n = newest;
  }
  if (n == 0) return Status::InvalidArgument("there is no offset to restore to: " + available);
  if (n > newest) {
    return Status::InvalidArgument("offset " + std::to_string(n) + " is not in the log: " + available);
  }
  const bool rebuild = n < b;
  if (rebuild && oldest > 1) {
    return Status::InvalidArgument(
        "offset " + std::to_string(n) + " is before the backup's offset " + std::to_string(b) +
        ", so the stores must be rebuilt from the log from offset 1, but " + available +
        " (retention removed older segments); restore a backup taken at or before offset " + std::to_string(n));
  }
  size_t j = s;
  while (j <= e && !(chain[j].first_offset <= n && n < chain[j].next_offset)) ++j;
  uint64_t cut;
  if (j <= e) {
    KISSVDB_RETURN_IF_ERROR(CutPosition(chain[j], n, &cut));
  } else {
    // n == B and the backup's log is one empty segment starting at B + 1
    // (retention removed the segment holding B): the log stays that way.
    if (n + 1 != oldest || chain[s].next_offset != oldest) {
      return Status::InvalidArgument("offset " + std::to_string(n) + " is not in the log: " + available);
    }
    j = s;
    cut = chain[s].end;
  }

  return Plan{b, n, std::move(chain), s, j, cut};
}

// The restore from a backup directory; data_dir was checked empty or absent.
Result<RestoredPoint> RestoreFromDir(const std::string& backup_dir, const RestorePoint& point,
                                     const std::string& data_dir) {
  auto plan = PlanRestore(backup_dir, point);
  if (!plan.ok()) return plan.status();
  const uint64_t b = plan->b, n = plan->n;
  // The log segments come from the chain, cut; with a rebuild the stores
  // past N stay out.
  const bool rebuild = n < b;
  auto take = [rebuild](const std::string& rel) {
    uint32_t seq;
    if (wal::ParseSegmentFileName(rel, &seq)) return false;
    return !(rebuild && (rel == "state.lmdb" || rel == "snapshot.json" || rel.starts_with("vectors/")));
  };
  uint64_t manifest_offset = 0;
  KISSVDB_RETURN_IF_ERROR(CopyVerifiedBackup(backup_dir, data_dir, take, &manifest_offset));
  if (manifest_offset != b) return Status::Corruption(backup_dir + "/manifest.json changed while being read");
  for (size_t i = plan->first; i <= plan->last; ++i) {
    const Segment& seg = plan->chain[i];
    const bool cut_here = i == plan->last;
    KISSVDB_RETURN_IF_ERROR(
        WriteCutSegment(seg, cut_here ? plan->cut : seg.end, cut_here ? n + 1 : seg.next_offset, data_dir));
  }
  KISSVDB_RETURN_IF_ERROR(file_util::SyncDir(data_dir));
  std::error_code ec;
  RestoredPoint out;
  out.offset = n;
  out.backup_offset = b;
  out.has_sql = fs::exists(fs::path(data_dir) / "sql.db", ec);
  return out;
}

}  // namespace

Result<RestoredPoint> RestoreBackupToPoint(const std::string& backup, int archive_fd, const RestorePoint& point,
                                           const std::string& data_dir) {
  std::error_code ec;
  const bool existed = fs::exists(data_dir, ec);
  if (existed && !fs::is_empty(data_dir, ec)) {
    return Status::InvalidArgument("refusing to restore into " + data_dir + ": it is not empty");
  }
  if (!point.log_dir.empty() && !fs::is_directory(point.log_dir, ec)) {
    return Status::InvalidArgument("--log " + point.log_dir + " is not a directory");
  }
  Result<RestoredPoint> out = Status::Internal("no restore ran");
  Status st;
  if (archive_fd >= 0) {
    st = WithUnpackedArchive(archive_fd, data_dir, [&](const std::string& backup_dir) {
      out = RestoreFromDir(backup_dir, point, data_dir);
      return out.status();
    });
  } else {
    out = RestoreFromDir(backup, point, data_dir);
    st = out.status();
  }
  if (!st.ok()) {
    // Leave the target as it was: absent, or empty.
    if (!existed) {
      fs::remove_all(data_dir, ec);
    } else {
      for (const auto& entry : fs::directory_iterator(data_dir, ec)) fs::remove_all(entry.path(), ec);
    }
    return st;
  }
  return out;
}

}  // namespace kissvdb
