// Log: append, sync, reopen, segment rolls, readers, retention.
#include "engine/wal/log.h"

#include <gtest/gtest.h>

#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>

#include "engine/wal/format.h"
#include "wal_test_util.h"

namespace kissvdb::wal {
namespace {

using testing::ExpectOffsets;
using testing::ExpectSameEvent;
using testing::FileExists;
using testing::FileSize;
using testing::MakeEvent;
using testing::MakeEvents;
using testing::OpenLog;
using testing::ReadAll;
using testing::TempDir;

std::vector<std::string> SegmentFiles(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

TEST(LogTest, FreshLog) {
  TempDir dir;
  RecoveryReport report;
  auto log = OpenLog({.dir = dir.File("wal")}, &report);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->first_offset(), 1u);
  EXPECT_EQ(log->next_offset(), 1u);
  EXPECT_EQ(log->durable_offset(), 0u);
  EXPECT_EQ(log->segment_count(), 1u);
  EXPECT_EQ(log->total_bytes(), kSegmentHeaderSize);
  EXPECT_EQ(report.segments, 1u);
  EXPECT_EQ(report.events, 0u);
  EXPECT_EQ(report.torn_bytes_truncated, 0u);
  EXPECT_EQ(SegmentFiles(dir.File("wal")), std::vector<std::string>{"events-000001.log"});
  EXPECT_TRUE(ReadAll(*log, 1, 100).empty());
}

TEST(LogTest, AppendSyncRead) {
  TempDir dir;
  auto log = OpenLog({.dir = dir.path()});
  const auto events = MakeEvents(1, 10);
  ASSERT_TRUE(log->Append(events).ok());
  EXPECT_EQ(log->next_offset(), 11u);
  EXPECT_EQ(log->durable_offset(), 0u);
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_EQ(log->durable_offset(), 10u);
  ASSERT_TRUE(log->Append(MakeEvents(11, 5)).ok());
  EXPECT_EQ(log->durable_offset(), 10u);
  log->MarkWritten();
  EXPECT_EQ(log->durable_offset(), 15u);
  ExpectOffsets(ReadAll(*log, 1, 15), 1, 15);
  // The records, then the zero fill the writer keeps ahead of them; a clean
  // close cuts the zeros off.
  const std::string segment = dir.File("events-000001.log");
  const uint64_t records = log->total_bytes();
  const std::string bytes = testing::ReadBytes(segment);
  ASSERT_GT(bytes.size(), records + (256u << 10));
  EXPECT_EQ(bytes.find_first_not_of('\0', records), std::string::npos);
  log.reset();
  EXPECT_EQ(FileSize(segment), records);
}

TEST(LogTest, AppendRejectsWrongOffsets) {
  TempDir dir;
  auto log = OpenLog({.dir = dir.path()});
  ASSERT_TRUE(log->Append(MakeEvents(1, 3)).ok());
  const uint64_t size = log->total_bytes();
  EXPECT_EQ(log->Append(MakeEvents(5, 1)).code(), Code::kInvalidArgument);  // gap
  EXPECT_EQ(log->Append(MakeEvents(3, 1)).code(), Code::kInvalidArgument);  // repeat
  EXPECT_EQ(log->Append(MakeEvents(0, 1)).code(), Code::kInvalidArgument);
  std::vector<Event> hole = MakeEvents(4, 3);
  hole[2].offset = 7;  // 4, 5, 7
  EXPECT_EQ(log->Append(hole).code(), Code::kInvalidArgument);
  EXPECT_EQ(log->next_offset(), 4u);
  EXPECT_EQ(log->total_bytes(), size);
  // The log is still usable.
  ASSERT_TRUE(log->Append(MakeEvents(4, 2)).ok());
  ASSERT_TRUE(log->Sync().ok());
  ExpectOffsets(ReadAll(*log, 1, 5), 1, 5);
}

TEST(LogTest, UnencodableEventWritesNothingOfTheBatch) {
  TempDir dir;
  auto log = OpenLog({.dir = dir.path()});
  std::vector<Event> batch = MakeEvents(1, 3);
  batch[2].data["bad"] = std::string("\xc3\x28");  // invalid UTF-8
  EXPECT_EQ(log->Append(batch).code(), Code::kInvalidArgument);
  EXPECT_EQ(log->next_offset(), 1u);
  EXPECT_EQ(FileSize(dir.File("events-000001.log")), kSegmentHeaderSize);
  ASSERT_TRUE(log->Append(MakeEvents(1, 3)).ok());
  EXPECT_EQ(log->next_offset(), 4u);
}

TEST(LogTest, ReopenContinuesOffsets) {
  TempDir dir;
  {
    auto log = OpenLog({.dir = dir.path()});
    ASSERT_TRUE(log->Append(MakeEvents(1, 10)).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  {
    RecoveryReport report;
    auto log = OpenLog({.dir = dir.path()}, &report);
    EXPECT_EQ(report.events, 10u);
    EXPECT_EQ(report.torn_bytes_truncated, 0u);
    EXPECT_EQ(log->next_offset(), 11u);
    EXPECT_EQ(log->durable_offset(), 10u);
    EXPECT_EQ(log->Append(MakeEvents(1, 1)).code(), Code::kInvalidArgument);
    ASSERT_TRUE(log->Append(MakeEvents(11, 10)).ok());
    // Not synced: a clean close still leaves it for the next open to sync.
  }
  auto log = OpenLog({.dir = dir.path()});
  EXPECT_EQ(log->next_offset(), 21u);
  EXPECT_EQ(log->durable_offset(), 20u);
  ExpectOffsets(ReadAll(*log, 1, 100), 1, 20);
}

TEST(LogTest, RollsSegmentsAndReadsAcrossThem) {
  TempDir dir;
  const LogOptions options{.dir = dir.path(), .segment_max_bytes = 300};
  auto log = OpenLog(options);
  uint64_t next = 1;
  std::mt19937 rng(1);
  while (next <= 200) {
    const size_t n = 1 + rng() % 9;
    ASSERT_TRUE(log->Append(MakeEvents(next, n)).ok());
    next += n;
    ASSERT_TRUE(log->Sync().ok());
  }
  const uint64_t last = next - 1;
  EXPECT_GT(log->segment_count(), 10u);
  const uint64_t records = log->total_bytes();
  ExpectOffsets(ReadAll(*log, 1, last), 1, last);
  // Every start offset, including segment boundaries.
  for (uint64_t from = 1; from <= last; from += 7) {
    ExpectOffsets(ReadAll(*log, from, std::min(last, from + 20)), from, std::min(last, from + 20));
  }
  // Finished segments end at their last record (a roll cuts the zero fill),
  // the active one too after a clean close.
  const uint64_t segment_count = log->segment_count();
  log.reset();
  const auto files = SegmentFiles(dir.path());
  ASSERT_EQ(files.size(), segment_count);
  uint64_t total = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_EQ(files[i], SegmentFileName(static_cast<uint32_t>(i + 1)));
    const uint64_t size = FileSize(dir.File(files[i]));
    EXPECT_LE(size, options.segment_max_bytes) << files[i];
    EXPECT_GT(size, kSegmentHeaderSize) << files[i];
    total += size;
  }
  EXPECT_EQ(records, total);
  log.reset();
  RecoveryReport report;
  log = OpenLog(options, &report);
  EXPECT_EQ(report.segments, files.size());
  EXPECT_EQ(report.events, last);
  ASSERT_TRUE(log->Append(MakeEvents(last + 1, 5)).ok());
  ExpectOffsets(ReadAll(*log, 1, last + 5), 1, last + 5);
}

TEST(LogTest, OversizedRecordGetsItsOwnSegment) {
  TempDir dir;
  auto log = OpenLog({.dir = dir.path(), .segment_max_bytes = 500});
  ASSERT_TRUE(log->Append(MakeEvents(1, 2)).ok());
  std::vector<Event> batch = {MakeEvent(3, 2000), MakeEvent(4)};
  ASSERT_TRUE(log->Append(batch).ok());
  EXPECT_EQ(log->segment_count(), 3u);
  EXPECT_GT(FileSize(dir.File("events-000002.log")), 2000u);
  auto events = ReadAll(*log, 1, 4);
  ASSERT_EQ(events.size(), 4u);
  ExpectSameEvent(events[2], batch[0]);
  ExpectSameEvent(events[3], batch[1]);
}

TEST(LogTest, ReaderIsBoundedByUntil) {
  TempDir dir;
  auto log = OpenLog({.dir = dir.path(), .segment_max_bytes = 1000});
  ASSERT_TRUE(log->Append(MakeEvents(1, 50)).ok());
  ExpectOffsets(ReadAll(*log, 10, 20), 10, 20);
  ExpectOffsets(ReadAll(*log, 0, 5), 1, 5);
  ExpectOffsets(ReadAll(*log, 45, 1000), 45, 50);  // clamped to what was written
  ExpectOffsets(ReadAll(*log, 30, 30), 30, 30);
  EXPECT_TRUE(ReadAll(*log, 21, 20).empty());
  EXPECT_TRUE(ReadAll(*log, 51, 100).empty());
  // A reader created now does not see later appends.
  auto reader = log->NewReader(48, UINT64_MAX);
  ASSERT_TRUE(log->Append(MakeEvents(51, 5)).ok());
  Event e;
  std::vector<uint64_t> seen;
  while (reader->Next(&e)) seen.push_back(e.offset);
  EXPECT_TRUE(reader->status().ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{48, 49, 50}));
}

TEST(LogTest, ReaderStartsInsideLargeSegment) {
  TempDir dir;
  auto log = OpenLog({.dir = dir.path()});
  // ~3 MiB in one segment: the sparse index has many entries.
  for (uint64_t next = 1; next <= 3000; next += 100) {
    ASSERT_TRUE(log->Append(MakeEvents(next, 100, 1000)).ok());
  }
  ASSERT_EQ(log->segment_count(), 1u);
  for (uint64_t from : {1u, 2u, 64u, 65u, 1000u, 2999u, 3000u}) {
    auto reader = log->NewReader(from, from + 1);
    Event e;
    ASSERT_TRUE(reader->Next(&e)) << from << " " << reader->status().ToString();
    ExpectSameEvent(e, MakeEvent(from, 1000));
  }
  // Reopened: the index is rebuilt by recovery.
  log.reset();
  log = OpenLog({.dir = dir.path()});
  auto reader = log->NewReader(2500, 2500);
  Event e;
  ASSERT_TRUE(reader->Next(&e));
  ExpectSameEvent(e, MakeEvent(2500, 1000));
  EXPECT_FALSE(reader->Next(&e));
  EXPECT_TRUE(reader->status().ok());
}

TEST(LogTest, DeleteSegmentsBefore) {
  TempDir dir;
  const LogOptions options{.dir = dir.path(), .segment_max_bytes = 400};
  auto log = OpenLog(options);
  for (uint64_t next = 1; next <= 100; next += 4)
    ASSERT_TRUE(log->Append(MakeEvents(next, 4)).ok());
  ASSERT_TRUE(log->Sync().ok());
  const uint64_t segments = log->segment_count();
  ASSERT_GT(segments, 5u);
  const uint64_t bytes = log->total_bytes();

  ASSERT_TRUE(log->DeleteSegmentsBefore(1).ok());  // nothing is entirely below 1
  EXPECT_EQ(log->segment_count(), segments);

  ASSERT_TRUE(log->DeleteSegmentsBefore(40).ok());
  const uint64_t first = log->first_offset();
  EXPECT_GT(first, 1u);
  EXPECT_LE(first, 40u);  // the segment holding 40 is kept
  EXPECT_LT(log->segment_count(), segments);
  EXPECT_LT(log->total_bytes(), bytes);
  EXPECT_FALSE(FileExists(dir.File("events-000001.log")));
  EXPECT_EQ(SegmentFiles(dir.path()).size(), log->segment_count());
  // A reader from below first_offset starts there.
  ExpectOffsets(ReadAll(*log, 1, 100), first, 100);

  // The active segment is never deleted.
  ASSERT_TRUE(log->DeleteSegmentsBefore(UINT64_MAX).ok());
  EXPECT_EQ(log->segment_count(), 1u);
  const uint64_t active_first = log->first_offset();
  EXPECT_LE(active_first, 100u);
  ExpectOffsets(ReadAll(*log, 1, 100), active_first, 100);
  ASSERT_TRUE(log->Append(MakeEvents(101, 2)).ok());

  // Reopen keeps the retained range.
  log.reset();
  RecoveryReport report;
  log = OpenLog(options, &report);
  EXPECT_EQ(log->first_offset(), active_first);
  EXPECT_EQ(log->next_offset(), 103u);
  EXPECT_EQ(report.events, 103 - active_first);
}

TEST(LogTest, RetentionDownToTheActiveSegment) {
  TempDir dir;
  const LogOptions options{.dir = dir.path(), .segment_max_bytes = 100};
  auto log = OpenLog(options);
  ASSERT_TRUE(log->Append(MakeEvents(1, 3)).ok());  // one record per segment
  ASSERT_EQ(log->segment_count(), 3u);
  ASSERT_TRUE(log->DeleteSegmentsBefore(4).ok());
  EXPECT_EQ(log->segment_count(), 1u);
  EXPECT_EQ(log->first_offset(), 3u);
  ASSERT_TRUE(log->Append(MakeEvents(4, 1)).ok());
  ASSERT_TRUE(log->DeleteSegmentsBefore(5).ok());
  EXPECT_EQ(log->first_offset(), 4u);
  log.reset();
  log = OpenLog(options);
  EXPECT_EQ(log->first_offset(), 4u);
  EXPECT_EQ(log->next_offset(), 5u);
}

TEST(LogTest, ReaderKeepsAnOpenSegmentAcrossDeletion) {
  TempDir dir;
  auto log = OpenLog({.dir = dir.path(), .segment_max_bytes = 400});
  ASSERT_TRUE(log->Append(MakeEvents(1, 30)).ok());
  ASSERT_GT(log->segment_count(), 3u);

  auto started = log->NewReader(1, 30);      // will hold segment 1 open
  auto not_started = log->NewReader(1, 30);  // has opened nothing yet
  Event e;
  ASSERT_TRUE(started->Next(&e));
  EXPECT_EQ(e.offset, 1u);

  ASSERT_TRUE(log->DeleteSegmentsBefore(30).ok());
  const uint64_t first = log->first_offset();
  ASSERT_GT(first, 2u);

  // The started reader finishes its open segment, then stops with kGone
  // rather than skip the deleted range.
  uint64_t last = 1;
  while (started->Next(&e)) {
    EXPECT_EQ(e.offset, last + 1);
    last = e.offset;
  }
  EXPECT_EQ(started->status().code(), Code::kGone) << started->status().ToString();
  EXPECT_LT(last, first);

  // The other one starts at the oldest offset still held.
  std::vector<uint64_t> offsets;
  while (not_started->Next(&e)) offsets.push_back(e.offset);
  EXPECT_TRUE(not_started->status().ok());
  ASSERT_FALSE(offsets.empty());
  EXPECT_EQ(offsets.front(), first);
  EXPECT_EQ(offsets.back(), 30u);
}

// One appender (the commit thread) and several tailing readers, each of
// which keeps asking for what is new up to durable_offset().
TEST(LogTest, ReadersConcurrentWithAppender) {
  TempDir dir;
  auto log = OpenLog({.dir = dir.path(), .segment_max_bytes = 16 << 10});
  constexpr uint64_t kEvents = 20000;
  std::atomic<bool> failed{false};

  std::thread appender([&] {
    std::mt19937 rng(7);
    uint64_t next = 1;
    while (next <= kEvents) {
      const size_t n = std::min<uint64_t>(1 + rng() % 64, kEvents - next + 1);
      if (!log->Append(MakeEvents(next, n, rng() % 200)).ok()) {
        failed = true;
        return;
      }
      next += n;
      if (rng() % 4 == 0) {
        if (!log->Sync().ok()) failed = true;
      } else {
        log->MarkWritten();
      }
    }
    log->MarkWritten();
  });

  auto tail = [&] {
    uint64_t last = 0;
    while (last < kEvents && !failed) {
      auto reader = log->NewReader(last + 1, log->durable_offset());
      Event e;
      while (reader->Next(&e)) {
        if (e.offset != last + 1 || e.data["i"] != e.offset) {
          ADD_FAILURE() << "got " << e.offset << " after " << last;
          failed = true;
          return;
        }
        last = e.offset;
      }
      if (!reader->status().ok()) {
        ADD_FAILURE() << reader->status().ToString();
        failed = true;
        return;
      }
    }
  };
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) readers.emplace_back(tail);
  appender.join();
  for (auto& t : readers) t.join();
  EXPECT_FALSE(failed);
  EXPECT_EQ(log->next_offset(), kEvents + 1);
  EXPECT_GT(log->segment_count(), 10u);
}

// Retention runs on the commit thread while readers tail: a reader either
// returns a contiguous run of events or stops with kGone, never a gap.
TEST(LogTest, ReadersRaceRetention) {
  TempDir dir;
  auto log = OpenLog({.dir = dir.path(), .segment_max_bytes = 4 << 10});
  constexpr uint64_t kEvents = 10000;
  std::atomic<bool> done{false};
  std::atomic<bool> failed{false};

  std::thread appender([&] {
    for (uint64_t next = 1; next <= kEvents; next += 10) {
      if (!log->Append(MakeEvents(next, 10)).ok()) failed = true;
      log->MarkWritten();
      if (next > 500 && !log->DeleteSegmentsBefore(next - 500).ok()) failed = true;
    }
    done = true;
  });
  std::thread reader_thread([&] {
    uint64_t gone = 0;
    while (!done && !failed) {
      auto reader = log->NewReader(1, log->durable_offset());
      Event e;
      uint64_t prev = 0;
      while (reader->Next(&e)) {
        if (prev != 0 && e.offset != prev + 1) {
          ADD_FAILURE() << "gap: " << prev << " -> " << e.offset;
          failed = true;
        }
        prev = e.offset;
      }
      if (reader->status().code() == Code::kGone) {
        ++gone;
      } else if (!reader->status().ok()) {
        ADD_FAILURE() << reader->status().ToString();
        failed = true;
      }
    }
  });
  appender.join();
  reader_thread.join();
  EXPECT_FALSE(failed);
  EXPECT_EQ(SegmentFiles(dir.path()).size(), log->segment_count());
}

TEST(LogTest, OpenFailsOnUnusableDirectory) {
  TempDir dir;
  testing::WriteBytes(dir.File("file"), "x");
  auto log = Log::Open({.dir = dir.File("file")}, nullptr);
  EXPECT_FALSE(log.ok());
  EXPECT_FALSE(Log::Open({.dir = ""}, nullptr).ok());
}

}  // namespace
}  // namespace kissvdb::wal
