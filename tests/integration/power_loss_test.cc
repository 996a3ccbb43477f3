// Power loss against the real binary (engine/open_marker.h): state.lmdb is
// written without fsync, so after the machine goes down under a running
// server it may be torn, and the server must rebuild it from the log; after
// a process crash (same kernel boot) it must trust it. A reboot is
// simulated by changing the file the server reads its boot id from
// (KISSVDB_BOOT_ID_FILE); the torn file by garbage in LMDB's meta pages,
// which the server refuses when it has no reason to distrust the file.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "acked_writes.h"
#include "test_client.h"

namespace kissvdb::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRebuildLine = "rebuilding the state from the log";

class PowerLossTest : public ::testing::Test {
 protected:
  void StartServer(std::vector<std::string> args = {}) {
    boot_id_file_ = dir_.path() + "/boot_id";
    SetBootId("boot-1");
    TestServerOptions options;
    options.args = std::move(args);
    options.env = {"KISSVDB_BOOT_ID_FILE=" + boot_id_file_};
    server_ = std::make_unique<TestServer>(options);
    ASSERT_TRUE(server_->Start()) << server_->output();
  }

  void SetBootId(const std::string& id) { std::ofstream(boot_id_file_, std::ios::trunc) << id << "\n"; }

  // Acknowledged writes across a clean restart, then kill -9.
  void WriteThenCrash() {
    auto client = server_->Client();
    ASSERT_NO_FATAL_FAILURE(CreateVectorCollection(*client));
    for (int i = 0; i < 5; ++i) ASSERT_NO_FATAL_FAILURE(WriteRound(*client, acked_));
    ASSERT_TRUE(server_->Restart()) << server_->output();
    client = server_->Client();
    for (int i = 0; i < 5; ++i) ASSERT_NO_FATAL_FAILURE(WriteRound(*client, acked_));
    server_->Kill();
  }

  // Both meta pages overwritten: what LMDB would make of a torn file.
  void TearLmdb() {
    const std::string path = server_->data_dir() + "/state.lmdb";
    std::string bytes;
    {
      std::ifstream in(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    ASSERT_GT(bytes.size(), 8192u);
    std::fill(bytes.begin(), bytes.begin() + 8192, '\x5a');
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  }

  void ExpectAllAcked() {
    auto client = server_->Client();
    ASSERT_NO_FATAL_FAILURE(VerifyAcked(*client, acked_));
    ASSERT_NO_FATAL_FAILURE(WriteRound(*client, acked_));
    ASSERT_TRUE(server_->Restart()) << server_->output();
    client = server_->Client();
    ASSERT_NO_FATAL_FAILURE(VerifyAcked(*client, acked_));
  }

  std::string Marker() const { return server_->data_dir() + "/state.lmdb.open"; }
  std::string SetAside() const { return server_->data_dir() + "/state.lmdb.torn"; }

  TestDir dir_;
  std::string boot_id_file_;
  std::unique_ptr<TestServer> server_;
  Acked acked_;
};

TEST_F(PowerLossTest, TornStateAfterARebootIsRebuiltFromTheLog) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(WriteThenCrash());
  ASSERT_TRUE(fs::exists(Marker())) << "a crashed server leaves its marker";
  SetBootId("boot-2");
  ASSERT_NO_FATAL_FAILURE(TearLmdb());
  ASSERT_TRUE(server_->Start()) << server_->output();
  EXPECT_NE(server_->output().find(kRebuildLine), std::string::npos) << server_->output();
  EXPECT_TRUE(fs::exists(SetAside()));
  ASSERT_NO_FATAL_FAILURE(ExpectAllAcked());
}

TEST_F(PowerLossTest, ProcessCrashInTheSameBootKeepsTheState) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(WriteThenCrash());
  ASSERT_TRUE(server_->Start()) << server_->output();
  EXPECT_EQ(server_->output().find(kRebuildLine), std::string::npos) << server_->output();
  EXPECT_FALSE(fs::exists(SetAside()));
  ASSERT_NO_FATAL_FAILURE(ExpectAllAcked());
}

TEST_F(PowerLossTest, CleanShutdownLeavesNoMarkerAndNothingToRebuild) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  auto client = server_->Client();
  ASSERT_NO_FATAL_FAILURE(CreateVectorCollection(*client));
  for (int i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(WriteRound(*client, acked_));
  ASSERT_TRUE(fs::exists(Marker()));
  EXPECT_EQ(server_->Stop(), 0) << server_->output();
  EXPECT_FALSE(fs::exists(Marker())) << "a clean shutdown syncs LMDB and removes the marker";
  SetBootId("boot-2");
  ASSERT_TRUE(server_->Start()) << server_->output();
  EXPECT_EQ(server_->output().find(kRebuildLine), std::string::npos) << server_->output();
  EXPECT_FALSE(fs::exists(SetAside()));
  ASSERT_NO_FATAL_FAILURE(ExpectAllAcked());
}

// The torn state's applied offset cannot be read, but the last checkpoint
// still tells that the log lost acknowledged events: refused, as when
// state.lmdb itself is ahead of the log.
TEST_F(PowerLossTest, RebootWithALogShorterThanTheCheckpointIsRefused) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(WriteThenCrash());  // its clean restart wrote a checkpoint
  SetBootId("boot-2");
  ASSERT_NO_FATAL_FAILURE(TearLmdb());
  for (const auto& entry : fs::directory_iterator(server_->data_dir())) {
    if (entry.path().filename().string().rfind("events-", 0) == 0) fs::remove(entry.path());
  }
  EXPECT_FALSE(server_->Start());
  EXPECT_NE(server_->output().find("lost acknowledged events"), std::string::npos) << server_->output();
  EXPECT_NE(server_->output().find("snapshot.json"), std::string::npos) << server_->output();
  EXPECT_FALSE(fs::exists(SetAside())) << "nothing is moved before the refusal";
}

// With retention the log no longer starts at offset 1: the state cannot be
// rebuilt, so the server refuses to start and says what to do.
TEST_F(PowerLossTest, RebootWithoutTheWholeLogIsRefusedNamingTheMarker) {
  ASSERT_NO_FATAL_FAILURE(StartServer(
      {"--wal-segment-max-bytes", "4096", "--wal-retention-segments", "1", "--snapshot-interval-secs", "1"}));
  auto client = server_->Client();
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(client->Put("/v1/state/k" + std::to_string(i), {{"value", std::string(64, 'x')}}).status, 200);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline && client->Get("/v1/log?since=0&limit=1").status != 410) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(client->Get("/v1/log?since=0&limit=1").status, 410) << "retention deleted the first segment";
  server_->Kill();
  SetBootId("boot-2");
  EXPECT_FALSE(server_->Start());
  EXPECT_NE(server_->output().find("state.lmdb.open"), std::string::npos) << server_->output();
  EXPECT_NE(server_->output().find("cannot be rebuilt"), std::string::npos) << server_->output();
  // The way out the message gives: accept the file as it is.
  ASSERT_TRUE(fs::remove(Marker()));
  ASSERT_TRUE(server_->Start()) << server_->output();
  client = server_->Client();
  auto r = client->Get("/v1/state/k299");
  EXPECT_EQ(r.status, 200) << r.body;
}

}  // namespace
}  // namespace kissvdb::testing
