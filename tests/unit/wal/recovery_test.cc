// Recovery: every kind of damage to the log, and what Open() makes of it.
// Torn tail (nothing valid after the damage, last segment) -> truncated;
// anything else -> Corruption naming the file and offset, or with repair,
// truncated there.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "engine/wal/format.h"
#include "engine/wal/log.h"
#include "engine/wal/record.h"
#include "wal_test_util.h"

namespace kissvdb::wal {
namespace {

using testing::ExpectOffsets;
using testing::FileExists;
using testing::FileSize;
using testing::MakeEvent;
using testing::MakeEvents;
using testing::OpenLog;
using testing::ReadAll;
using testing::ReadBytes;
using testing::TempDir;
using testing::WriteBytes;

class LogRecoveryTest : public ::testing::Test {
 protected:
  // Appends events 1..n one per batch; returns the end position of each
  // record in its segment (record i ends at ends[i - 1]).
  std::vector<uint64_t> Write(uint64_t n, uint64_t segment_max_bytes = 64 << 20) {
    auto log = OpenLog(Options(segment_max_bytes));
    std::vector<uint64_t> ends;
    for (uint64_t i = 1; i <= n; ++i) {
      EXPECT_TRUE(log->Append(MakeEvents(i, 1)).ok());
      ends.push_back(log->total_bytes() - BytesBeforeActive(*log));
    }
    EXPECT_TRUE(log->Sync().ok());
    return ends;
  }

  LogOptions Options(uint64_t segment_max_bytes = 64 << 20, bool repair = false) const {
    return LogOptions{.dir = dir_.path(), .segment_max_bytes = segment_max_bytes, .repair = repair};
  }
  std::string Segment(uint32_t seq) const { return dir_.File(SegmentFileName(seq)); }

  // Expects Open() to fail with Corruption whose message names `file` and
  // contains `what`.
  void ExpectCorruption(const std::string& file, const std::string& what) {
    Result<std::unique_ptr<Log>> log = Log::Open(Options(), nullptr);
    ASSERT_FALSE(log.ok());
    EXPECT_EQ(log.status().code(), Code::kCorruption);
    EXPECT_NE(log.status().message().find(file), std::string::npos) << log.status().message();
    EXPECT_NE(log.status().message().find(what), std::string::npos) << log.status().message();
  }

  TempDir dir_;

 private:
  // Sum of the sizes of every segment but the last.
  uint64_t BytesBeforeActive(const Log& log) const {
    uint64_t bytes = 0;
    for (uint32_t seq = 1; seq < log.segment_count(); ++seq) bytes += FileSize(Segment(seq));
    return bytes;
  }
};

TEST_F(LogRecoveryTest, BitFlipAnywhereInLastRecordIsATornTail) {
  const auto ends = Write(5);
  const std::string seg = Segment(1);
  const std::string original = ReadBytes(seg);
  const uint64_t start = ends[3];
  const uint64_t end = ends[4];
  ASSERT_EQ(original.size(), end);
  for (uint64_t pos = start; pos < end; ++pos) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = original;
      damaged[pos] = static_cast<char>(damaged[pos] ^ (1 << bit));
      WriteBytes(seg, damaged);
      RecoveryReport report;
      auto log = OpenLog(Options(), &report);
      ASSERT_NE(log, nullptr) << "byte " << pos << " bit " << bit;
      EXPECT_EQ(report.torn_bytes_truncated, end - start) << "byte " << pos << " bit " << bit;
      EXPECT_EQ(report.torn_segment, seg);
      EXPECT_EQ(report.events, 4u);
      EXPECT_EQ(log->next_offset(), 5u);
      EXPECT_EQ(FileSize(seg), start);
      ExpectOffsets(ReadAll(*log, 1, 10), 1, 4);
    }
  }
  // After the cut the log continues normally.
  auto log = OpenLog(Options());
  ASSERT_TRUE(log->Append(MakeEvents(5, 3)).ok());
  log.reset();
  log = OpenLog(Options());
  ExpectOffsets(ReadAll(*log, 1, 10), 1, 7);
}

TEST_F(LogRecoveryTest, TruncationAtEveryPositionOfTheLastRecords) {
  const auto ends = Write(5);
  const std::string seg = Segment(1);
  const std::string original = ReadBytes(seg);
  for (uint64_t size = ends[1]; size < ends[4]; ++size) {
    WriteBytes(seg, original.substr(0, size));
    uint64_t complete = 0;
    uint64_t boundary = kSegmentHeaderSize;
    for (uint64_t e : ends) {
      if (e <= size) {
        ++complete;
        boundary = e;
      }
    }
    RecoveryReport report;
    auto log = OpenLog(Options(), &report);
    ASSERT_NE(log, nullptr) << size;
    EXPECT_EQ(report.torn_bytes_truncated, size - boundary) << size;
    EXPECT_EQ(report.events, complete) << size;
    EXPECT_EQ(FileSize(seg), boundary);
    ExpectOffsets(ReadAll(*log, 1, 10), 1, complete);
  }
}

TEST_F(LogRecoveryTest, ZeroFilledTail) {
  const auto ends = Write(5);
  const std::string seg = Segment(1);
  const std::string original = ReadBytes(seg);

  // Zeros after the last record (file size updated, data never written).
  WriteBytes(seg, original + std::string(4096, '\0'));
  RecoveryReport report;
  auto log = OpenLog(Options(), &report);
  // What a crash leaves of the writer's zero fill: cut, not counted as torn.
  EXPECT_EQ(report.zero_tail_bytes, 4096u);
  EXPECT_EQ(report.torn_bytes_truncated, 0u);
  EXPECT_EQ(report.events, 5u);
  log.reset();

  // The last two records zeroed in place, plus zero fill.
  std::string zeroed = original.substr(0, ends[2]) + std::string(ends[4] - ends[2] + 100, '\0');
  WriteBytes(seg, zeroed);
  log = OpenLog(Options(), &report);
  EXPECT_EQ(report.zero_tail_bytes, ends[4] - ends[2] + 100);
  EXPECT_EQ(report.events, 3u);
  ExpectOffsets(ReadAll(*log, 1, 10), 1, 3);
}

TEST_F(LogRecoveryTest, TruncatedLengthHeader) {
  Write(3);
  const std::string seg = Segment(1);
  const std::string original = ReadBytes(seg);
  for (const std::string& partial : {std::string("\x2a", 1), std::string("\x2a\x00\x00", 3),
                                     std::string("\x2a\x00\x00\x00\x11\x22", 6)}) {
    WriteBytes(seg, original + partial);
    RecoveryReport report;
    auto log = OpenLog(Options(), &report);
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(report.torn_bytes_truncated, partial.size());
    EXPECT_EQ(report.events, 3u);
    EXPECT_EQ(FileSize(seg), original.size());
  }
}

TEST_F(LogRecoveryTest, GarbageTail) {
  Write(3);
  const std::string seg = Segment(1);
  const std::string original = ReadBytes(seg);
  std::mt19937 rng(42);
  std::string garbage(10000, '\0');
  for (char& c : garbage) c = static_cast<char>(rng());
  WriteBytes(seg, original + garbage);
  RecoveryReport report;
  auto log = OpenLog(Options(), &report);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(report.torn_bytes_truncated, garbage.size());
  EXPECT_EQ(report.events, 3u);
}

// The search for valid data after the damage must stay cheap on a large
// tail of random bytes (lengths that fit are common; offsets that fit not).
TEST_F(LogRecoveryTest, LargeGarbageTailIsCutQuickly) {
  Write(3);
  const std::string seg = Segment(1);
  std::mt19937_64 rng(9);
  std::string garbage(16 << 20, '\0');
  for (size_t i = 0; i + 8 <= garbage.size(); i += 8) {
    const uint64_t v = rng();
    std::memcpy(garbage.data() + i, &v, 8);
  }
  WriteBytes(seg, ReadBytes(seg) + garbage);
  RecoveryReport report;
  auto log = OpenLog(Options(), &report);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(report.torn_bytes_truncated, garbage.size());
  EXPECT_EQ(report.events, 3u);
}

TEST_F(LogRecoveryTest, MidLogBitFlipIsCorruption) {
  const auto ends = Write(5);
  const std::string seg = Segment(1);
  const std::string original = ReadBytes(seg);
  // Every byte of record 2: records 3..5 after it are intact.
  for (uint64_t pos = ends[0]; pos < ends[1]; ++pos) {
    std::string damaged = original;
    damaged[pos] = static_cast<char>(damaged[pos] ^ (1 << (pos % 8)));
    WriteBytes(seg, damaged);
    ExpectCorruption("events-000001.log", "offset 2");
    EXPECT_EQ(ReadBytes(seg), damaged) << "a failed open must not modify the log";
  }
}

TEST_F(LogRecoveryTest, DamageInANonLastSegmentIsCorruption) {
  const auto ends = Write(40, 400);
  ASSERT_TRUE(FileExists(Segment(3)));
  const std::string seg = Segment(1);
  const std::string original = ReadBytes(seg);

  // Its last record damaged: nothing valid follows in that file, but later
  // segments do.
  std::string damaged = original;
  damaged[damaged.size() - 3] ^= 0x40;
  WriteBytes(seg, damaged);
  ExpectCorruption("events-000001.log", "checksum mismatch");

  // Its tail cut off.
  WriteBytes(seg, original.substr(0, original.size() - 5));
  ExpectCorruption("events-000001.log", "truncated record");

  // Its header damaged.
  damaged = original;
  damaged[20] ^= 0x01;
  WriteBytes(seg, damaged);
  ExpectCorruption("events-000001.log", "header");
}

TEST_F(LogRecoveryTest, MissingSegmentIsCorruption) {
  Write(40, 400);
  ASSERT_TRUE(FileExists(Segment(3)));
  ASSERT_EQ(::unlink(Segment(2).c_str()), 0);
  ExpectCorruption("events-000003.log", "expected");
}

TEST_F(LogRecoveryTest, VerifiedRecordWithWrongOffsetIsCorruption) {
  Write(3);
  std::string extra;
  RecordEncoder encoder(&extra);
  ASSERT_TRUE(encoder.Append(MakeEvent(9)).ok());
  WriteBytes(Segment(1), ReadBytes(Segment(1)) + extra);
  ExpectCorruption("events-000001.log", "record carries offset 9");
}

TEST_F(LogRecoveryTest, RepairTruncatesAtTheDamage) {
  Write(40, 400);
  ASSERT_TRUE(FileExists(Segment(4)));
  // Damage the second record of segment 2.
  const std::string seg2 = Segment(2);
  std::string data = ReadBytes(seg2);
  SegmentHeader header;
  ASSERT_TRUE(DecodeSegmentHeader(data.data(), &header).ok());
  RecordView first;
  ASSERT_EQ(
      DecodeRecord(data.data() + kSegmentHeaderSize, data.size() - kSegmentHeaderSize, header.version, &first),
      RecordStatus::kOk);
  const uint64_t damaged_pos = kSegmentHeaderSize + first.size;
  const uint64_t damaged_offset = header.first_offset + 1;
  data[damaged_pos + 30] ^= 0x04;
  WriteBytes(seg2, data);

  ExpectCorruption("events-000002.log", "offset " + std::to_string(damaged_offset));

  RecoveryReport report;
  auto log = OpenLog(Options(400, /*repair=*/true), &report);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(report.repaired_from_offset, damaged_offset);
  EXPECT_EQ(report.events, damaged_offset - 1);
  EXPECT_EQ(report.segments, 2u);
  EXPECT_EQ(log->next_offset(), damaged_offset);
  EXPECT_EQ(FileSize(seg2), damaged_pos);
  EXPECT_FALSE(FileExists(Segment(3)));
  EXPECT_FALSE(FileExists(Segment(4)));
  ExpectOffsets(ReadAll(*log, 1, 100), 1, damaged_offset - 1);

  // Appending continues from the cut, and a plain open is happy again.
  ASSERT_TRUE(log->Append(MakeEvents(damaged_offset, 10)).ok());
  log.reset();
  log = OpenLog(Options(400));
  ExpectOffsets(ReadAll(*log, 1, 100), 1, damaged_offset + 9);
}

TEST_F(LogRecoveryTest, RepairInTheLastSegment) {
  const auto ends = Write(5);
  const std::string seg = Segment(1);
  std::string data = ReadBytes(seg);
  data[ends[1] - 2] ^= 0x01;  // record 2's payload
  WriteBytes(seg, data);
  RecoveryReport report;
  auto log = OpenLog(Options(64 << 20, /*repair=*/true), &report);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(report.repaired_from_offset, 2u);
  EXPECT_EQ(report.torn_bytes_truncated, 0u);
  EXPECT_EQ(log->next_offset(), 2u);
  ExpectOffsets(ReadAll(*log, 1, 10), 1, 1);
}

TEST_F(LogRecoveryTest, RepairDropsASegmentWithADamagedHeader) {
  Write(40, 400);
  std::string data = ReadBytes(Segment(3));
  SegmentHeader header;
  ASSERT_TRUE(DecodeSegmentHeader(data.data(), &header).ok());
  data[0] = 'X';
  WriteBytes(Segment(3), data);
  ExpectCorruption("events-000003.log", "magic");
  RecoveryReport report;
  auto log = OpenLog(Options(400, /*repair=*/true), &report);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(report.repaired_from_offset, header.first_offset);
  EXPECT_EQ(log->next_offset(), header.first_offset);
  EXPECT_FALSE(FileExists(Segment(3)));
}

TEST_F(LogRecoveryTest, LastSegmentWithoutHeaderIsDropped) {
  Write(40, 400);
  const uint32_t last = 1 + [&] {
    uint32_t seq = 1;
    while (FileExists(Segment(seq + 1))) ++seq;
    return seq;
  }();
  // A roll interrupted before its header reached the disk.
  WriteBytes(Segment(last), std::string(10, '\0'));
  RecoveryReport report;
  auto log = OpenLog(Options(400), &report);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(report.torn_bytes_truncated, 10u);
  EXPECT_EQ(report.torn_segment, Segment(last));
  EXPECT_FALSE(FileExists(Segment(last)));
  EXPECT_EQ(log->next_offset(), 41u);
  ASSERT_TRUE(log->Append(MakeEvents(41, 20)).ok());
  ExpectOffsets(ReadAll(*log, 1, 100), 1, 60);
}

TEST_F(LogRecoveryTest, OnlySegmentWithoutHeaderStartsAFreshLog) {
  WriteBytes(Segment(1), std::string(7, 'K'));  // short: never completed
  RecoveryReport report;
  auto log = OpenLog(Options(), &report);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(report.torn_bytes_truncated, 7u);
  EXPECT_EQ(log->next_offset(), 1u);
  EXPECT_EQ(FileSize(Segment(1)), kSegmentHeaderSize);
}

TEST_F(LogRecoveryTest, LeftoverTempSegmentIsRemoved) {
  Write(3);
  WriteBytes(dir_.File("events-000002.log.tmp"), "partial");
  auto log = OpenLog(Options());
  ASSERT_NE(log, nullptr);
  EXPECT_FALSE(FileExists(dir_.File("events-000002.log.tmp")));
  EXPECT_EQ(log->next_offset(), 4u);
}

}  // namespace
}  // namespace kissvdb::wal
