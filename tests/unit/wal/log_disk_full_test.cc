// Log::Append on a full file system (a real tmpfs): ENOSPC is cut off and
// the log stays usable; nothing of the failed batch survives a reopen.
#include <gtest/gtest.h>

#include "../../integration/tmpfs_mount.h"
#include "engine/wal/log.h"
#include "wal_test_util.h"

namespace kissvdb::wal {
namespace {

using testing::FileSize;
using testing::MakeEvents;
using testing::OpenLog;
using testing::ReadAll;
using testing::TempDir;

// Offsets 1..last, each exactly once and in order.
void ExpectOffsetsUpTo(const std::vector<Event>& events, uint64_t last) {
  ASSERT_EQ(events.size(), last);
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].offset, i + 1);
}

TEST(LogDiskFullTest, AppendOnAFullDiskWritesNothingAndTheLogStaysUsable) {
  TempDir dir;
  kissvdb::testing::TmpfsMount mount(dir.File("fs"), 4 << 20);
  if (!mount.mounted()) GTEST_SKIP() << "\n*** SKIPPED: " << mount.error() << " (needs root) ***";
  const std::string wal = dir.File("fs/wal");
  const std::string segment = wal + "/events-000001.log";
  const std::string filler = dir.File("fs/filler");
  auto log = OpenLog({.dir = wal});
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->Append(MakeEvents(1, 10, 100)).ok());
  ASSERT_TRUE(log->Sync().ok());
  const uint64_t records = log->total_bytes();
  ASSERT_GT(FileSize(segment), records) << "the zero fill ahead of the records";

  ASSERT_EQ(kissvdb::testing::FillUntilFree(filler, 64 << 10), "");
  // 1,000 events of ~2 KiB: past the zero fill (1 MiB) and the 64 KiB left,
  // so the write fails part way through.
  Status st = log->Append(MakeEvents(11, 1000, 2000));
  ASSERT_EQ(st.code(), Code::kInsufficientStorage) << st.ToString();
  EXPECT_TRUE(log->error().ok()) << "ENOSPC must not stop the log: " << log->error().ToString();
  EXPECT_EQ(log->next_offset(), 11u);
  EXPECT_EQ(FileSize(segment), records) << "the partial write and the zero fill are cut off";
  EXPECT_TRUE(log->Sync().ok());
  EXPECT_EQ(log->durable_offset(), 10u);
  // With the space given back, a batch that fits the free space goes in.
  ASSERT_TRUE(log->Append(MakeEvents(11, 10, 2000)).ok());
  ASSERT_TRUE(log->Sync().ok());

  std::filesystem::remove(filler);
  ASSERT_TRUE(log->Append(MakeEvents(21, 1000, 2000)).ok());
  ASSERT_TRUE(log->Sync().ok());
  ExpectOffsetsUpTo(ReadAll(*log, 1, 2000), 1020);
  log.reset();

  RecoveryReport report;
  log = OpenLog({.dir = wal}, &report);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(report.torn_bytes_truncated, 0u);
  ExpectOffsetsUpTo(ReadAll(*log, 1, 2000), 1020);
}

}  // namespace
}  // namespace kissvdb::wal
