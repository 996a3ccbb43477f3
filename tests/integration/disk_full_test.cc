// Disk full, against the real binary on a real (small) file system.
//
// The data dir is a 48 MiB tmpfs mounted by the test (root or CAP_SYS_ADMIN
// needed; otherwise the test is skipped, loudly). A filler file eats the
// space. What must hold (docs/durability.md):
//   - with less free space than min_free_bytes every write gets 507
//     insufficient_storage with a message that says so, and nothing of it
//     reaches the log;
//   - reads (KV, documents, vector search, /v1/log, health) keep working;
//   - /v1/health says why writes are refused: 200 "degraded"/"disk_full"
//     below the reserve, 503 "failed" after a failed commit (until a
//     restart);
//   - once the filler is gone, writes succeed again without a restart;
//   - every acknowledged write survives kill -9, and a checkpoint that hits
//     ENOSPC at shutdown loses nothing either.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "acked_writes.h"
#include "test_client.h"
#include "tmpfs_mount.h"

namespace kissvdb::testing {
namespace {

using nlohmann::json;

constexpr uint64_t kMiB = 1 << 20;

// GET /v1/health: the status, and the "writes" field it must show.
void ExpectHealth(HttpClient& client, int status, const std::string& overall, const std::string& writes) {
  auto r = client.Get("/v1/health");
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.json["status"], overall) << r.body;
  EXPECT_EQ(r.json["writes"], writes) << r.body;
  if (writes != "ok") {
    EXPECT_TRUE(r.json["message"].is_string()) << r.body;
  }
  if (status == 503) {
    EXPECT_EQ(r.json["error"], "unavailable") << "the error shape: " << r.body;
  }
}

void ExpectInsufficientStorage(const HttpResponse& r, const std::string& what) {
  EXPECT_EQ(r.status, 507) << what << ": " << r.body;
  EXPECT_EQ(r.json["error"], "insufficient_storage") << what;
  EXPECT_NE(r.json["message"].get<std::string>().find("disk full"), std::string::npos) << what << ": " << r.body;
}

// Every kind of write is refused, and none of them reaches the log.
void ExpectWritesRefused(HttpClient& client) {
  const uint64_t last = client.Get("/v1/log?limit=1").json["last_offset"].get<uint64_t>();
  ExpectInsufficientStorage(client.Put("/v1/state/refused", {{"value", 1}}), "state put");
  ExpectInsufficientStorage(
      client.Post("/v1/state/batch_put", {{"atomic", true}, {"operations", {{{"key", "refused"}, {"value", 1}}}}}),
      "batch put");
  ExpectInsufficientStorage(client.Delete("/v1/state/r1"), "state delete");
  ExpectInsufficientStorage(client.Put("/v1/doc/things/refused", {{"x", 1}}), "doc put");
  ExpectInsufficientStorage(client.Post("/v1/vector/points/upsert", {{"id", "refused"}, {"vector", {0, 0, 1}}}),
                            "vector upsert");
  ExpectInsufficientStorage(client.Post("/v1/events", {{"type", "refused"}}), "event");
  EXPECT_EQ(client.Get("/v1/log?limit=1").json["last_offset"].get<uint64_t>(), last);
  EXPECT_EQ(client.Get("/v1/state/refused").status, 404);
}

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mount_ = std::make_unique<TmpfsMount>(dir_.path() + "/fs", 48 * kMiB);
    if (!mount_->mounted()) {
      GTEST_SKIP() << "\n*** DISK-FULL TEST SKIPPED: " << mount_->error()
                   << " (needs root or CAP_SYS_ADMIN) ***";
    }
    fs_ = dir_.path() + "/fs";
    filler_ = fs_ + "/filler";
    TestServerOptions options;
    options.data_dir = fs_ + "/data";
    options.args = {"--min-free-bytes", std::to_string(8 * kMiB), "--snapshot-interval-secs", "3600"};
    server_ = std::make_unique<TestServer>(options);
  }
  void TearDown() override {
    server_.reset();  // the server lets go of the file system before it is unmounted
    mount_.reset();
  }

  TestDir dir_{"kissvdb-diskfull"};
  std::unique_ptr<TmpfsMount> mount_;
  std::unique_ptr<TestServer> server_;
  std::string fs_, filler_;
};

TEST_F(DiskFullTest, WritesGet507ReadsWorkAndWritesResumeWhenSpaceReturns) {
  ASSERT_TRUE(server_->Start()) << server_->output();
  auto client = server_->Client();
  ASSERT_NO_FATAL_FAILURE(CreateVectorCollection(*client));
  Acked acked;
  for (int i = 0; i < 20; ++i) ASSERT_NO_FATAL_FAILURE(WriteRound(*client, acked));

  // Below the reserve: refused, reads fine, server healthy.
  ASSERT_EQ(FillUntilFree(filler_, 4 * kMiB), "");
  std::this_thread::sleep_for(std::chrono::milliseconds(250));  // past the 100 ms recheck
  ASSERT_NO_FATAL_FAILURE(ExpectWritesRefused(*client));
  ASSERT_NO_FATAL_FAILURE(VerifyAcked(*client, acked));
  ExpectHealth(*client, 200, "degraded", "disk_full");
  EXPECT_NE(client->Get("/v1/health").json["message"].get<std::string>().find("disk full"), std::string::npos);
  EXPECT_EQ(client->Get("/v1/doc/things").status, 200);
  EXPECT_NE(server_->output().find("disk full"), std::string::npos) << "the server logs the condition";

  // Space returns: health sees it at once, writes resume without a restart.
  std::filesystem::remove(filler_);
  ExpectHealth(*client, 200, "ok", "ok");
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  for (int i = 0; i < 5; ++i) ASSERT_NO_FATAL_FAILURE(WriteRound(*client, acked));

  server_->Kill();
  ASSERT_TRUE(server_->Start()) << server_->output();
  client = server_->Client();
  ASSERT_NO_FATAL_FAILURE(VerifyAcked(*client, acked));
  ASSERT_NO_FATAL_FAILURE(WriteRound(*client, acked));
}

// The shutdown checkpoint (vector files, snapshot.json) runs out of space
// entirely: it fails, and nothing acknowledged is lost.
TEST_F(DiskFullTest, CheckpointOnAFullDiskLosesNothing) {
  ASSERT_TRUE(server_->Start()) << server_->output();
  auto client = server_->Client();
  ASSERT_NO_FATAL_FAILURE(CreateVectorCollection(*client));
  Acked acked;
  for (int i = 0; i < 20; ++i) ASSERT_NO_FATAL_FAILURE(WriteRound(*client, acked));

  ASSERT_EQ(FillUntilFree(filler_, 0), "");  // not a byte left
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  ASSERT_NO_FATAL_FAILURE(ExpectWritesRefused(*client));
  ASSERT_NO_FATAL_FAILURE(VerifyAcked(*client, acked));
  EXPECT_EQ(server_->Stop(), 0) << server_->output();
  EXPECT_NE(server_->output().find("final checkpoint failed"), std::string::npos) << server_->output();

  std::filesystem::remove(filler_);
  ASSERT_TRUE(server_->Start()) << server_->output();
  client = server_->Client();
  ASSERT_NO_FATAL_FAILURE(VerifyAcked(*client, acked));
  ASSERT_NO_FATAL_FAILURE(WriteRound(*client, acked));
  ASSERT_TRUE(server_->Restart()) << server_->output();
  client = server_->Client();
  ASSERT_NO_FATAL_FAILURE(VerifyAcked(*client, acked));
}

// Without a reserve, a small write fits in the log's zero fill but the
// LMDB commit after it needs new pages and fails: writes stop until a
// restart (docs/durability.md), and health answers 503 so that a liveness
// probe restarts the server.
TEST_F(DiskFullTest, FailedCommitMakesHealthAnswer503UntilRestart) {
  TestServerOptions options;
  options.data_dir = fs_ + "/data-no-reserve";
  options.args = {"--min-free-bytes", "0", "--snapshot-interval-secs", "3600"};
  TestServer server(options);
  ASSERT_TRUE(server.Start()) << server.output();
  auto client = server.Client();
  ASSERT_EQ(client->Put("/v1/state/small", {{"value", 1}}).status, 200);
  ExpectHealth(*client, 200, "ok", "ok");

  ASSERT_EQ(FillUntilFree(filler_, 0), "");
  auto r = client->Put("/v1/state/big", {{"value", std::string(60 << 10, 'x')}});
  EXPECT_GE(r.status, 500) << r.body;
  ExpectHealth(*client, 503, "failed", "failed");
  EXPECT_EQ(client->Get("/v1/state/small").status, 200) << "reads still work";

  std::filesystem::remove(filler_);
  ExpectHealth(*client, 503, "failed", "failed");
  ASSERT_TRUE(server.Restart()) << server.output();
  client = server.Client();
  ExpectHealth(*client, 200, "ok", "ok");
  EXPECT_EQ(client->Get("/v1/state/big").json["revision"], 1) << "durable in the log, so replayed";
  EXPECT_EQ(client->Put("/v1/state/small", {{"value", 2}}).json["revision"], 2);
}

// No mount needed: a reserve larger than any disk refuses every write.
TEST(DiskReserveTest, ReserveAboveFreeSpaceRefusesWritesButNotReads) {
  TestServerOptions options;
  options.args = {"--min-free-bytes", std::to_string(uint64_t{1} << 62)};
  TestServer server(options);
  ASSERT_TRUE(server.Start()) << server.output();
  auto client = server.Client();
  ExpectInsufficientStorage(client->Put("/v1/state/a", {{"value", 1}}), "state put");
  auto r = client->Put("/v1/state/a", {{"value", 1}});
  EXPECT_NE(r.json["message"].get<std::string>().find("min_free_bytes"), std::string::npos) << r.body;
  ExpectInsufficientStorage(client->Post("/v1/vector/points", {{"dim", 3}}), "vector create");
  EXPECT_EQ(client->Get("/v1/state/a").status, 404);
  EXPECT_EQ(client->Get("/v1/log").status, 200);
  ExpectHealth(*client, 200, "degraded", "disk_full");
  EXPECT_EQ(server.Stop(), 0) << server.output();
}

}  // namespace
}  // namespace kissvdb::testing
