// Atomic units in the log (docs/wal-format.md, section 3.1): a unit's
// records come back with their tx, never span segments, and a crash that
// cuts a unit anywhere leaves all of it or none of it. Also: a log of the
// old record format (version 1) still opens, and the log goes on in the
// current one.
#include <gtest/gtest.h>

#include <cstring>

#include "engine/wal/format.h"
#include "engine/wal/log.h"
#include "engine/wal/record.h"
#include "wal_test_util.h"

namespace kissvdb::wal {
namespace {

using testing::FileExists;
using testing::FileSize;
using testing::MakeEvent;
using testing::MakeEvents;
using testing::OpenLog;
using testing::ReadAll;
using testing::ReadBytes;
using testing::TempDir;
using testing::WriteBytes;

// n events from `first` marked as one unit.
std::vector<Event> Unit(uint64_t first, size_t n, size_t pad = 0) {
  std::vector<Event> events = MakeEvents(first, n, pad);
  if (n > 1) {
    for (size_t i = 0; i < n; ++i) {
      events[i].tx = first;
      events[i].tx_more = i + 1 < n;
    }
  }
  return events;
}

// Record boundaries of a segment file: the end position of each record.
std::vector<uint64_t> RecordEnds(const std::string& data, uint32_t version = kFormatVersion) {
  std::vector<uint64_t> ends;
  uint64_t pos = kSegmentHeaderSize;
  while (pos < data.size()) {
    RecordView rec;
    if (DecodeRecord(data.data() + pos, data.size() - pos, version, &rec) != RecordStatus::kOk) break;
    pos += rec.size;
    ends.push_back(pos);
  }
  return ends;
}

class LogUnitsTest : public ::testing::Test {
 protected:
  LogOptions Options(uint64_t segment_max_bytes = 64 << 20, bool repair = false) const {
    return LogOptions{.dir = dir_.path(), .segment_max_bytes = segment_max_bytes, .repair = repair};
  }
  std::string Segment(uint32_t seq) const { return dir_.File(SegmentFileName(seq)); }

  TempDir dir_;
};

TEST_F(LogUnitsTest, ReadersSeeTheUnitOfEachEvent) {
  {
    auto log = OpenLog(Options());
    ASSERT_TRUE(log->Append(MakeEvents(1, 2)).ok());
    std::vector<Event> batch = Unit(3, 3);
    batch.push_back(MakeEvent(6));
    ASSERT_TRUE(log->Append(batch).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  auto log = OpenLog(Options());
  std::vector<Event> all = ReadAll(*log, 1, 100);
  ASSERT_EQ(all.size(), 6u);
  const uint64_t want_tx[] = {0, 0, 3, 3, 3, 0};
  const bool want_more[] = {false, false, true, true, false, false};
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].tx, want_tx[i]) << i;
    EXPECT_EQ(all[i].tx_more, want_more[i]) << i;
  }
  // A reader starting inside the unit still knows it.
  std::vector<Event> from4 = ReadAll(*log, 4, 4);
  ASSERT_EQ(from4.size(), 1u);
  EXPECT_EQ(from4[0].tx, 3u);
}

TEST_F(LogUnitsTest, AppendRefusesBrokenUnits) {
  auto log = OpenLog(Options());
  std::vector<Event> open_end = Unit(1, 3);
  open_end.pop_back();  // the batch ends while its unit goes on
  EXPECT_EQ(log->Append(open_end).code(), Code::kInvalidArgument);
  std::vector<Event> wrong_tx = Unit(1, 3);
  wrong_tx[2].tx = 2;
  EXPECT_EQ(log->Append(wrong_tx).code(), Code::kInvalidArgument);
  std::vector<Event> starts_inside = Unit(1, 3);
  starts_inside[0].tx = 0;
  EXPECT_EQ(log->Append(starts_inside).code(), Code::kInvalidArgument);
  EXPECT_EQ(log->next_offset(), 1u);  // nothing written
  EXPECT_TRUE(log->Append(Unit(1, 3)).ok());
}

TEST_F(LogUnitsTest, AUnitNeverSpansSegments) {
  // Segments of ~1 KiB; units of 3 records of ~300 bytes each would straddle
  // a roll if the log rolled per record.
  {
    auto log = OpenLog(Options(1024));
    uint64_t next = 1;
    for (int u = 0; u < 12; ++u) {
      ASSERT_TRUE(log->Append(Unit(next, 3, 250)).ok());
      next += 3;
    }
    ASSERT_TRUE(log->Sync().ok());
    EXPECT_GT(log->segment_count(), 4u);
  }
  for (uint32_t seq = 1; FileExists(Segment(seq)); ++seq) {
    const std::string data = ReadBytes(Segment(seq));
    SegmentHeader header;
    ASSERT_TRUE(DecodeSegmentHeader(data.data(), &header).ok());
    EXPECT_EQ(header.version, kFormatVersion);
    const std::vector<uint64_t> ends = RecordEnds(data);
    EXPECT_EQ(ends.size() % 3, 0u) << "segment " << seq << " holds part of a unit";
    EXPECT_EQ((header.first_offset - 1) % 3, 0u) << "segment " << seq << " starts inside a unit";
  }
  auto log = OpenLog(Options(1024));
  EXPECT_EQ(ReadAll(*log, 1, 100).size(), 36u);
}

TEST_F(LogUnitsTest, ACrashAnywhereInsideAUnitDropsAllOfIt) {
  // Events 1..2 alone, 3..7 one unit. Cut the file at every byte from the
  // end of event 2 to the end of the unit, then also leave garbage or zeros
  // after the cut: recovery keeps 1..2, or 1..7 when the unit is whole.
  {
    auto log = OpenLog(Options());
    ASSERT_TRUE(log->Append(MakeEvents(1, 2)).ok());
    ASSERT_TRUE(log->Append(Unit(3, 5)).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  const std::string full = ReadBytes(Segment(1));
  const std::vector<uint64_t> ends = RecordEnds(full);
  ASSERT_EQ(ends.size(), 7u);
  for (uint64_t cut = ends[1]; cut <= ends[6]; ++cut) {
    for (int tail = 0; tail < 2; ++tail) {
      std::string data = full.substr(0, cut);
      if (tail == 1 && cut < ends[6]) data.append(37, '\0');
      WriteBytes(Segment(1), data);
      RecoveryReport report;
      auto log = OpenLog(Options(), &report);
      ASSERT_NE(log, nullptr) << "cut at " << cut;
      const uint64_t want_last = cut == ends[6] ? 7 : 2;
      ASSERT_EQ(log->next_offset(), want_last + 1) << "cut at " << cut;
      EXPECT_EQ(FileSize(Segment(1)), cut == ends[6] ? ends[6] : ends[1]) << "cut at " << cut;
      EXPECT_EQ(ReadAll(*log, 1, 100).size(), want_last);
      if (cut > ends[2] && cut < ends[6] && tail == 0) {
        // Whole records of the unit were there and are gone.
        EXPECT_GT(report.torn_unit_events, 0u) << "cut at " << cut;
      }
      // The log goes on at the unit's first offset.
      if (want_last == 2) {
        ASSERT_TRUE(log->Append(Unit(3, 2)).ok());
        ASSERT_TRUE(log->Sync().ok());
      }
    }
  }
}

TEST_F(LogUnitsTest, ASegmentEndingInsideAUnitBeforeTheLastIsCorruption) {
  // Hand-made: segment 1 ends with a record that says more follows, and a
  // segment 2 exists after it. Units never span segments, so this is damage.
  {
    auto log = OpenLog(Options());
    ASSERT_TRUE(log->Append(MakeEvents(1, 1)).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  std::string data = ReadBytes(Segment(1));
  std::string rec;
  RecordEncoder encoder(&rec);
  Event open = MakeEvent(2);
  open.tx = 2;
  open.tx_more = true;
  ASSERT_TRUE(encoder.Append(open).ok());
  WriteBytes(Segment(1), data + rec);
  char header[kSegmentHeaderSize];
  EncodeSegmentHeader(SegmentHeader{2, 3}, header);
  std::string seg2(header, sizeof(header));
  std::string rec3;
  RecordEncoder encoder3(&rec3);
  ASSERT_TRUE(encoder3.Append(MakeEvent(3)).ok());
  WriteBytes(Segment(2), seg2 + rec3);

  Result<std::unique_ptr<Log>> log = Log::Open(Options(), nullptr);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), Code::kCorruption);
  EXPECT_NE(log.status().message().find("inside the atomic unit"), std::string::npos) << log.status().message();

  RecoveryReport report;
  auto repaired = OpenLog(Options(64 << 20, /*repair=*/true), &report);
  ASSERT_NE(repaired, nullptr);
  EXPECT_EQ(report.repaired_from_offset, 2u);
  EXPECT_EQ(repaired->next_offset(), 2u);
  EXPECT_FALSE(FileExists(Segment(2)));
}

TEST_F(LogUnitsTest, AVersionOneLogOpensAndGoesOnInTheCurrentFormat) {
  // A log as an older build wrote it: one version 1 segment, events 1..5.
  char header[kSegmentHeaderSize];
  EncodeSegmentHeader(SegmentHeader{1, 1, /*version=*/1}, header);
  std::string data(header, sizeof(header));
  RecordEncoder v1(&data, /*version=*/1);
  for (uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE(v1.Append(MakeEvent(i)).ok());
  ASSERT_TRUE(std::filesystem::create_directories(dir_.path()) || FileExists(dir_.path()));
  WriteBytes(Segment(1), data);

  {
    auto log = OpenLog(Options());
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->next_offset(), 6u);
    testing::ExpectOffsets(ReadAll(*log, 1, 100), 1, 5);
    // Appends go to a new segment of the current format.
    EXPECT_TRUE(FileExists(Segment(2)));
    ASSERT_TRUE(log->Append(Unit(6, 3)).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  EXPECT_EQ(ReadBytes(Segment(1)), data);  // the old segment is left as it was
  SegmentHeader h2;
  ASSERT_TRUE(DecodeSegmentHeader(ReadBytes(Segment(2)).data(), &h2).ok());
  EXPECT_EQ(h2.version, kFormatVersion);
  EXPECT_EQ(h2.first_offset, 6u);

  auto log = OpenLog(Options());
  std::vector<Event> all = ReadAll(*log, 1, 100);
  ASSERT_EQ(all.size(), 8u);
  EXPECT_EQ(all[4].tx, 0u);
  EXPECT_EQ(all[5].tx, 6u);
  EXPECT_EQ(all[7].tx, 6u);
  EXPECT_FALSE(all[7].tx_more);
  // A torn tail of a version 1 segment is still cut as before.
  std::string torn = data.substr(0, data.size() - 3);
  TempDir other;
  WriteBytes(other.File(SegmentFileName(1)), torn);
  RecoveryReport report;
  auto cut = OpenLog(LogOptions{.dir = other.path()}, &report);
  ASSERT_NE(cut, nullptr);
  EXPECT_EQ(cut->next_offset(), 5u);
  EXPECT_GT(report.torn_bytes_truncated, 0u);
}

}  // namespace
}  // namespace kissvdb::wal
