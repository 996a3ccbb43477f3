// POST /v1/admin/snapshot and `kissvdb restore` against the real binary:
// a backup taken while a writer keeps writing restores to exactly the
// state at the backup's offset.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "test_client.h"

namespace kissvdb::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// key -> offset of its last state_updated event, from the whole log.
std::map<std::string, uint64_t> StateOffsets(HttpClient& c) {
  std::map<std::string, uint64_t> out;
  uint64_t since = 0;
  for (;;) {
    auto page = c.Get("/v1/log?since=" + std::to_string(since) + "&limit=1000");
    EXPECT_EQ(page.status, 200) << page.body;
    if (page.status != 200 || page.json["events"].empty()) break;
    for (const json& ev : page.json["events"]) {
      if (ev["type"] == "state_updated") out[ev["data"]["key"]] = ev["offset"];
    }
    since = page.json["next_since"];
  }
  return out;
}

TEST(BackupTest, SnapshotUnderWritesRestoresThePointInTime) {
  TestServer source;
  ASSERT_TRUE(source.Start()) << source.output();
  auto c = source.Client();
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(c->Put("/v1/state/pre-" + std::to_string(i), {{"value", i}}).status, 200);
  }
  ASSERT_EQ(c->Put("/v1/doc/people/ada", {{"name", "Ada"}}).status, 200);
  ASSERT_EQ(c->Post("/v1/vector/emb", {{"dim", 3}, {"metric", "cosine"}}).status, 200);
  for (int i = 0; i < 20; ++i) {
    auto r = c->Post("/v1/vector/emb/upsert",
                     {{"id", "v" + std::to_string(i)}, {"vector", {1.0 + i, 0.5, -1.0 * i}}, {"meta", {{"i", i}}}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  ASSERT_EQ(c->Post("/v1/events", {{"type", "order_placed"}, {"data", {{"n", 1}}}}).status, 200);
  ASSERT_EQ(c->Post("/v1/sql/exec", {{"sql", "CREATE TABLE t(a INTEGER)"}}).status, 200);
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(c->Post("/v1/sql/exec", {{"sql", "INSERT INTO t VALUES (?)"}, {"params", {i}}}).status, 200);
  }
  auto key = c->Post("/v1/auth/keys", {{"name", "kept"}, {"role", "read_only"}});
  ASSERT_EQ(key.status, 200);

  std::atomic<bool> stop{false};
  std::atomic<bool> writer_done{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    HttpClient w(source.port(), source.api_key());
    for (int i = 0; !stop; ++i) {
      if (w.Put("/v1/state/w-" + std::to_string(i), {{"value", i}}).status != 200) break;
      written = i + 1;
    }
    writer_done = true;
  });
  while (written < 20 && !writer_done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto snap = c->Post("/v1/admin/snapshot", {{"name", "b1"}});
  const int at_snapshot = written;
  while (written < at_snapshot + 20 && !writer_done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  stop = true;
  writer.join();
  ASSERT_FALSE(stop && written == 0);
  ASSERT_EQ(snap.status, 200) << snap.body;
  const uint64_t offset = snap.json["offset"];
  EXPECT_EQ(c->Post("/v1/admin/snapshot", {{"name", "b1"}}).status, 409);

  const fs::path backup = fs::path(source.data_dir()) / "backups" / "b1";
  std::ifstream mf(backup / "manifest.json");
  json manifest = json::parse(mf);
  EXPECT_EQ(manifest["offset"], offset);
  std::set<std::string> files;
  for (const json& f : manifest["files"]) files.insert(f["path"]);
  EXPECT_TRUE(files.count("state.lmdb"));
  EXPECT_TRUE(files.count("sql.db"));
  EXPECT_TRUE(files.count("snapshot.json"));
  EXPECT_TRUE(files.count("events-000001.log"));

  // Data written after the snapshot must not come back.
  ASSERT_EQ(c->Post("/v1/sql/exec", {{"sql", "INSERT INTO t VALUES (100)"}}).status, 200);
  ASSERT_EQ(c->Put("/v1/state/after", {{"value", 1}}).status, 200);
  const auto offsets = StateOffsets(*c);

  // Restore: refuses a non-empty target, then rebuilds a fresh one.
  TestDir target("kissvdb-restore");
  const std::string restored = target.path() + "/data";
  fs::create_directories(restored);
  std::ofstream(restored + "/junk") << "x";
  auto refused = TestServer::Run({"restore", backup.string(), "--data-dir", restored});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  fs::remove(restored + "/junk");
  auto ok = TestServer::Run({"restore", backup.string(), "--data-dir", restored});
  ASSERT_EQ(ok.exit_code, 0) << ok.output;

  TestServerOptions opts;
  opts.data_dir = restored;
  TestServer copy(opts);
  ASSERT_TRUE(copy.Start()) << copy.output();
  auto r = copy.Client();
  auto log = r->Get("/v1/log?since=0&limit=1");
  ASSERT_EQ(log.status, 200);
  EXPECT_EQ(log.json["last_offset"], offset);
  for (int i = 0; i < 50; ++i) {
    auto g = r->Get("/v1/state/pre-" + std::to_string(i));
    ASSERT_EQ(g.status, 200);
    EXPECT_EQ(g.json["value"], i);
  }
  // The writer's keys: present exactly when their event is <= the offset.
  int present = 0;
  for (int i = 0; i < written; ++i) {
    const std::string k = "w-" + std::to_string(i);
    ASSERT_TRUE(offsets.count(k)) << k;
    const bool expected = offsets.at(k) <= offset;
    EXPECT_EQ(r->Get("/v1/state/" + k).status, expected ? 200 : 404) << k;
    present += expected;
  }
  EXPECT_GT(present, 0);
  EXPECT_LT(present, written.load());  // the writer kept going after the snapshot
  EXPECT_EQ(r->Get("/v1/state/after").status, 404);
  EXPECT_EQ(r->Get("/v1/doc/people/ada").json["doc"]["name"], "Ada");
  auto info = r->Get("/v1/vector/emb");
  ASSERT_EQ(info.status, 200) << info.body;
  EXPECT_EQ(info.json["count"], 20);
  auto v = r->Get("/v1/vector/emb/get?id=v7");
  ASSERT_EQ(v.status, 200);
  EXPECT_EQ(v.json["meta"]["i"], 7);
  auto hits = r->Post("/v1/vector/emb/search", {{"vector", {8.0, 0.5, -7.0}}, {"k", 1}});
  ASSERT_EQ(hits.status, 200);
  EXPECT_EQ(hits.json["hits"][0]["id"], "v7");
  auto rows = r->Post("/v1/sql/query", {{"sql", "SELECT count(*) AS n, max(a) AS m FROM t"}});
  ASSERT_EQ(rows.status, 200) << rows.body;
  EXPECT_EQ(rows.json["rows"][0]["n"], 10);
  EXPECT_EQ(rows.json["rows"][0]["m"], 9);
  auto events = r->Get("/v1/log?since=0&limit=1000");
  bool found = false;
  for (const json& ev : events.json["events"]) found |= ev["type"] == "order_placed";
  EXPECT_TRUE(found);
  // API keys are part of the backup.
  HttpClient kept(copy.port(), key.json["key"].get<std::string>());
  EXPECT_EQ(kept.Get("/v1/state/pre-1").status, 200);
}

TEST(BackupTest, RestoreRejectsADamagedBackup) {
  TestServer source;
  ASSERT_TRUE(source.Start()) << source.output();
  auto c = source.Client();
  ASSERT_EQ(c->Put("/v1/state/a", {{"value", 1}}).status, 200);
  auto snap = c->Post("/v1/admin/snapshot", json::object());
  ASSERT_EQ(snap.status, 200) << snap.body;
  const fs::path backup = fs::path(source.data_dir()) / "backups" / snap.json["name"].get<std::string>();
  {
    std::fstream f(backup / "events-000001.log", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put('\x7f');
  }
  TestDir target("kissvdb-restore");
  auto run = TestServer::Run({"restore", backup.string(), "--data-dir", target.path() + "/data"});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("CRC-32C"), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(target.path() + "/data/state.lmdb"));
  EXPECT_EQ(TestServer::Run({"restore", backup.string()}).exit_code, 2);
}

}  // namespace
}  // namespace kissvdb::testing
