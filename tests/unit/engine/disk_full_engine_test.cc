// The engine on a full disk (a real tmpfs): the free-space reserve refuses
// writes before anything is written, and a log append that hits ENOSPC
// anyway fails its group alone; neither stops the engine, and writes resume
// when space returns.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "../../integration/test_dir.h"
#include "../../integration/tmpfs_mount.h"
#include "engine_fixture.h"

namespace kissvdb {
namespace {

using kissvdb::testing::FillUntilFree;
using kissvdb::testing::TmpfsMount;

constexpr uint64_t kMiB = 1 << 20;

class EngineDiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mount_ = std::make_unique<TmpfsMount>(dir_.path() + "/fs", 16 * kMiB);
    if (!mount_->mounted()) GTEST_SKIP() << "\n*** SKIPPED: " << mount_->error() << " (needs root) ***";
    filler_ = dir_.path() + "/fs/filler";
  }
  void TearDown() override {
    engine_.reset();
    mount_.reset();
  }
  void Open(uint64_t min_free_bytes) {
    engine_.reset();
    EngineOptions options;
    options.config.data_dir = dir_.path() + "/fs/data";
    options.config.snapshot_interval_secs = 3600;
    options.config.min_free_bytes = min_free_bytes;
    options.config.limits.max_json_bytes = 4 * kMiB;
    auto e = Engine::Open(options);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e.value());
  }
  Status Put(const std::string& key, Json value) {
    StatePut put;
    put.key = key;
    put.value = std::move(value);
    return Wait<StatePutResult>([&](auto cb) { engine_->PutState(std::move(put), cb); }).status();
  }

  kissvdb::testing::TestDir dir_{"kissvdb-engine-diskfull"};
  std::unique_ptr<TmpfsMount> mount_;
  std::unique_ptr<Engine> engine_;
  std::string filler_;
};

TEST_F(EngineDiskFullTest, ReserveRefusesWritesUntilSpaceReturns) {
  ASSERT_NO_FATAL_FAILURE(Open(4 * kMiB));
  ASSERT_TRUE(Put("a", 1).ok());
  const uint64_t last = engine_->Stats().last_offset;
  ASSERT_EQ(FillUntilFree(filler_, 2 * kMiB), "");
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // past the recheck interval
  Status health = engine_->WriteHealth();
  EXPECT_EQ(health.code(), Code::kInsufficientStorage) << "measured now, before any write: " << health.ToString();
  Status st = Put("b", 2);
  EXPECT_EQ(st.code(), Code::kInsufficientStorage) << st.ToString();
  EXPECT_NE(st.message().find("min_free_bytes"), std::string::npos) << st.message();
  EXPECT_EQ(engine_->Stats().last_offset, last) << "nothing of a refused write is logged";
  EXPECT_TRUE(engine_->GetState("a").ok());

  std::filesystem::remove(filler_);
  EXPECT_TRUE(engine_->WriteHealth().ok()) << "no write needed to notice the space";
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_TRUE(Put("b", 2).ok());
}

TEST_F(EngineDiskFullTest, LogAppendHittingEnospcFailsOnlyItsGroup) {
  ASSERT_NO_FATAL_FAILURE(Open(/*min_free_bytes=*/0));  // no reserve: the log itself hits ENOSPC
  ASSERT_TRUE(Put("small", 1).ok());
  const uint64_t last = engine_->Stats().last_offset;
  ASSERT_EQ(FillUntilFree(filler_, 256 << 10), "");
  // Larger than what is left, and than the log's zero fill (1 MiB, already
  // written ahead of its records): the WAL write fails before LMDB sees
  // anything.
  Status st = Put("big", std::string(2 * kMiB, 'x'));
  EXPECT_EQ(st.code(), Code::kInsufficientStorage) << st.ToString();
  EXPECT_NE(st.message().find("disk full"), std::string::npos) << st.message();
  EXPECT_EQ(engine_->Stats().last_offset, last);
  EXPECT_EQ(engine_->GetState("big").status().code(), Code::kNotFound);

  std::filesystem::remove(filler_);
  ASSERT_TRUE(Put("big", std::string(2 * kMiB, 'x')).ok()) << "the engine keeps taking writes";
  ASSERT_TRUE(Put("small", 2).ok());
  ASSERT_NO_FATAL_FAILURE(Open(0));
  EXPECT_EQ(engine_->GetState("small")->revision, 2u);
  EXPECT_EQ(engine_->GetState("big")->revision, 1u);
  EXPECT_EQ(engine_->Stats().last_offset, last + 2);
}

// Without a reserve, a small write fits in the log's zero fill (already
// allocated) but the LMDB commit after it needs new pages: the commit fails
// after the event is durable, which stops writes until a restart, and
// WriteHealth says so. The restart replays the event.
TEST_F(EngineDiskFullTest, FailedCommitStopsWritesUntilRestartAndHealthSaysSo) {
  ASSERT_NO_FATAL_FAILURE(Open(/*min_free_bytes=*/0));
  ASSERT_TRUE(Put("small", 1).ok());
  ASSERT_TRUE(engine_->WriteHealth().ok());
  ASSERT_EQ(FillUntilFree(filler_, 0), "");
  // 200 KiB: LMDB overflow pages past the end of its file, but well inside
  // the log's zero fill.
  Status st = Put("big", std::string(200 << 10, 'x'));
  ASSERT_FALSE(st.ok());
  Status health = engine_->WriteHealth();
  EXPECT_EQ(health.code(), Code::kUnavailable) << health.ToString();
  EXPECT_NE(health.message().find("restart"), std::string::npos) << health.message();

  std::filesystem::remove(filler_);
  EXPECT_EQ(engine_->WriteHealth().code(), Code::kUnavailable) << "space alone does not bring writes back";
  EXPECT_EQ(Put("small", 2).code(), Code::kUnavailable);
  ASSERT_NO_FATAL_FAILURE(Open(0));
  EXPECT_TRUE(engine_->WriteHealth().ok());
  EXPECT_EQ(engine_->GetState("big")->revision, 1u) << "durable in the log, so replayed";
  ASSERT_TRUE(Put("small", 2).ok());
}

}  // namespace
}  // namespace kissvdb
