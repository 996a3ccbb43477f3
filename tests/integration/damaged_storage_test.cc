// Damaged storage, against the real binary: each kind of damage must give
// a clean recovery (every acknowledged write still there) or a refusal to
// start (exit code 1, not a crash) whose message names the damaged file;
// never a crash, never silent loss. The byte-level cases of the log itself
// (every truncation point, every bit flip) are in tests/unit/wal.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "acked_writes.h"
#include "test_client.h"

namespace kissvdb::testing {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

// [begin, end) of every record of a segment (docs/wal-format.md: a 32-byte
// header, then records of 8 + length bytes, then, after a crash, the zero
// fill the writer keeps ahead of them).
std::vector<std::pair<size_t, size_t>> Records(const std::string& segment) {
  const std::string bytes = ReadAll(segment);
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t pos = 32; pos + 8 <= bytes.size();) {
    uint32_t length;
    std::memcpy(&length, bytes.data() + pos, 4);
    if (length == 0) break;  // the zero fill
    out.emplace_back(pos, pos + 8 + length);
    pos += 8 + length;
  }
  return out;
}

class DamagedStorageTest : public ::testing::Test {
 protected:
  // Acknowledged writes, some covered by a checkpoint (clean restart) and
  // some only by the log (then kill -9).
  void SetUp() override {
    ASSERT_TRUE(server_.Start()) << server_.output();
    auto client = server_.Client();
    ASSERT_NO_FATAL_FAILURE(CreateVectorCollection(*client));
    for (int i = 0; i < 10; ++i) ASSERT_NO_FATAL_FAILURE(WriteRound(*client, acked_));
    ASSERT_TRUE(server_.Restart()) << server_.output();  // checkpoint: snapshot.json, vector files
    client = server_.Client();
    for (int i = 0; i < 10; ++i) ASSERT_NO_FATAL_FAILURE(WriteRound(*client, acked_));
    server_.Kill();
    segment_ = server_.data_dir() + "/events-000001.log";
    ASSERT_TRUE(fs::exists(segment_));
    // The damage below starts from the records alone: cut the zero fill the
    // killed writer left after them (recovery would cut it the same way).
    const auto records = Records(segment_);
    ASSERT_FALSE(records.empty());
    fs::resize_file(segment_, records.back().second);
  }

  // Starts and finds every acknowledged write, and takes new ones.
  void ExpectCleanRecovery() {
    ASSERT_TRUE(server_.Start()) << server_.output();
    auto client = server_.Client();
    ASSERT_NO_FATAL_FAILURE(VerifyAcked(*client, acked_));
    ASSERT_NO_FATAL_FAILURE(WriteRound(*client, acked_));
    ASSERT_TRUE(server_.Restart()) << server_.output();
    client = server_.Client();
    ASSERT_NO_FATAL_FAILURE(VerifyAcked(*client, acked_));
  }

  // Refuses to start with exit code 1 and a message naming `file`.
  void ExpectRefusalNaming(const std::string& file) {
    auto run = TestServer::Run({"--data-dir", server_.data_dir(), "--port", "0", "--api-key", "k"});
    EXPECT_EQ(run.exit_code, 1) << run.output;
    EXPECT_NE(run.output.find(file), std::string::npos) << "the refusal names " << file << ":\n" << run.output;
  }

  TestServer server_;
  Acked acked_;
  std::string segment_;
};

// A write cut short by a crash: any prefix of a record after the last one.
TEST_F(DamagedStorageTest, TornRecordAtTheTailIsCutOff) {
  const std::string original = ReadAll(segment_);
  const auto records = Records(segment_);
  ASSERT_GT(records.size(), 2u);
  const auto [begin, end] = records.back();
  const std::string last = original.substr(begin, end - begin);
  for (size_t cut : {size_t{1}, size_t{4}, size_t{7}, size_t{8}, size_t{16}, size_t{26}, last.size() / 2,
                     last.size() - 1}) {
    SCOPED_TRACE("torn record of " + std::to_string(cut) + " bytes");
    WriteAll(segment_, original + last.substr(0, cut));
    ASSERT_TRUE(server_.Start()) << server_.output();
    auto client = server_.Client();
    ASSERT_NO_FATAL_FAILURE(VerifyAcked(*client, acked_));
    server_.Kill();
    EXPECT_EQ(fs::file_size(segment_), original.size()) << "the torn bytes are truncated";
  }
  EXPECT_NE(server_.output().find("torn tail"), std::string::npos);
  ExpectCleanRecovery();
}

TEST_F(DamagedStorageTest, ZeroFilledAndGarbageTailsAreCutOff) {
  const std::string original = ReadAll(segment_);
  WriteAll(segment_, original + std::string(8192, '\0'));
  ASSERT_TRUE(server_.Start()) << server_.output();
  ASSERT_NO_FATAL_FAILURE(VerifyAcked(*server_.Client(), acked_));
  server_.Kill();
  WriteAll(segment_, ReadAll(segment_) + std::string(3000, '\xa5'));
  ExpectCleanRecovery();
}

// Cutting into acknowledged records is not a torn write but lost data: the
// stores are ahead of the log, and the server says so instead of going on.
TEST_F(DamagedStorageTest, TruncatedAcknowledgedRecordsAreRefused) {
  const auto records = Records(segment_);
  const auto [begin, end] = records.back();
  for (size_t cut : {end - 1, begin + 8, begin, records[records.size() - 2].first + 3}) {
    SCOPED_TRACE("segment cut at byte " + std::to_string(cut));
    fs::resize_file(segment_, cut);
    ExpectRefusalNaming("state.lmdb");
  }
}

TEST_F(DamagedStorageTest, BitFlipInsideTheLogIsRefusedNamingTheSegment) {
  std::string bytes = ReadAll(segment_);
  const auto records = Records(segment_);
  bytes[records[3].first + 20] ^= 0x10;  // in an early record, valid ones follow
  WriteAll(segment_, bytes);
  ExpectRefusalNaming("events-000001.log");
}

TEST_F(DamagedStorageTest, DeletedSnapshotManifestRebuildsFromTheLog) {
  ASSERT_TRUE(fs::remove(server_.data_dir() + "/snapshot.json"));
  ExpectCleanRecovery();
}

TEST_F(DamagedStorageTest, GarbageSnapshotManifestRebuildsFromTheLog) {
  WriteAll(server_.data_dir() + "/snapshot.json", "{\"offset\": tru");
  ExpectCleanRecovery();
}

TEST_F(DamagedStorageTest, CorruptVectorFilesAreRebuiltFromTheLog) {
  int damaged = 0;
  for (const auto& entry : fs::directory_iterator(server_.data_dir() + "/vectors/points")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("index-", 0) != 0 && name.rfind("rows-", 0) != 0) continue;
    std::string bytes = ReadAll(entry.path().string());
    ASSERT_GT(bytes.size(), 64u);
    bytes[bytes.size() / 2] ^= 0x01;
    WriteAll(entry.path().string(), bytes);
    ++damaged;
  }
  ASSERT_EQ(damaged, 2) << "expected one index and one rows file";
  ExpectCleanRecovery();
  EXPECT_NE(server_.output().find("rebuilding it from the log"), std::string::npos);
}

TEST_F(DamagedStorageTest, DeletedLmdbIsRebuiltFromTheLog) {
  ASSERT_TRUE(fs::remove(server_.data_dir() + "/state.lmdb"));
  fs::remove(server_.data_dir() + "/state.lmdb-lock");
  ExpectCleanRecovery();
}

TEST_F(DamagedStorageTest, GarbageLmdbIsRefusedNamingTheFile) {
  std::string bytes = ReadAll(server_.data_dir() + "/state.lmdb");
  ASSERT_GT(bytes.size(), 8192u);
  std::fill(bytes.begin(), bytes.begin() + 8192, '\x5a');  // both meta pages
  WriteAll(server_.data_dir() + "/state.lmdb", bytes);
  ExpectRefusalNaming("state.lmdb");
}

}  // namespace
}  // namespace kissvdb::testing
