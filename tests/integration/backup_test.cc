// POST /v1/admin/snapshot and `kissvdb restore` against the real binary:
// a backup taken while a writer keeps writing restores to exactly the
// state at the backup's offset.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
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

// Runs a shell command line; its exit status (-1 if it did not exit).
int Shell(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// GET /v1/admin/backups/{name} as a file (curl: a real client, chunked
// transfer and all). Returns the HTTP status.
int Download(const TestServer& s, const std::string& token, const std::string& name, const std::string& file) {
  const std::string cmd = "curl -s -o " + file + " -w '%{http_code}' -H 'Authorization: Bearer " + token +
                          "' http://127.0.0.1:" + std::to_string(s.port()) + "/v1/admin/backups/" + name +
                          " > " + file + ".status";
  if (Shell(cmd) != 0) return -1;
  std::ifstream f(file + ".status");
  int status = -1;
  f >> status;
  return status;
}

TEST(BackupTest, DownloadedArchiveRestoresTheSameState) {
  TestServer source;
  ASSERT_TRUE(source.Start()) << source.output();
  auto c = source.Client();
  for (int i = 0; i < 30; ++i) {
    ASSERT_EQ(c->Put("/v1/state/k" + std::to_string(i), {{"value", std::string(i * 100, 'v')}}).status, 200);
  }
  ASSERT_EQ(c->Put("/v1/doc/people/ada", {{"name", "Ada"}}).status, 200);
  ASSERT_EQ(c->Post("/v1/vector/emb", {{"dim", 2}, {"metric", "l2"}}).status, 200);
  ASSERT_EQ(c->Post("/v1/vector/emb/upsert", {{"id", "p"}, {"vector", {1.0, 2.0}}}).status, 200);
  ASSERT_EQ(c->Post("/v1/sql/exec", {{"sql", "CREATE TABLE t(a TEXT)"}}).status, 200);
  ASSERT_EQ(c->Post("/v1/sql/exec", {{"sql", "INSERT INTO t VALUES ('row')"}}).status, 200);
  auto snap = c->Post("/v1/admin/snapshot", {{"name", "arch"}});
  ASSERT_EQ(snap.status, 200) << snap.body;
  const uint64_t offset = snap.json["offset"];
  ASSERT_EQ(c->Put("/v1/state/after", {{"value", 1}}).status, 200);

  auto list = c->Get("/v1/admin/backups");
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.json["backups"].size(), 1u);
  EXPECT_EQ(list.json["backups"][0]["name"], "arch");
  EXPECT_EQ(list.json["backups"][0]["complete"], true);
  EXPECT_EQ(list.json["backups"][0]["offset"], offset);

  TestDir work("kissvdb-archive");
  const std::string tarfile = work.path() + "/arch.tar";
  ASSERT_EQ(Download(source, source.api_key(), "arch", tarfile), 200);
  // GNU tar reads it, and it holds the manifest under the backup's name.
  EXPECT_EQ(Shell("tar -tf " + tarfile + " | grep -qx arch/manifest.json"), 0);
  // Only admins; unknown names are 404; names are validated.
  auto ro = c->Post("/v1/auth/keys", {{"name", "ro"}, {"role", "read_only"}});
  ASSERT_EQ(ro.status, 200);
  EXPECT_EQ(Download(source, ro.json["key"], "arch", work.path() + "/denied.tar"), 403);
  EXPECT_EQ(Download(source, source.api_key(), "nope", work.path() + "/nope.tar"), 404);
  EXPECT_EQ(Download(source, source.api_key(), "%2E%2E", work.path() + "/dots.tar"), 400);

  // From the file and from stdin.
  const std::string from_file = work.path() + "/from-file";
  auto ok = TestServer::Run({"restore", tarfile, "--data-dir", from_file});
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  const std::string from_stdin = work.path() + "/from-stdin";
  ASSERT_EQ(Shell(std::string(KISSVDB_BINARY) + " restore - --data-dir " + from_stdin + " < " + tarfile), 0);

  for (const std::string& dir : {from_file, from_stdin}) {
    TestServerOptions opts;
    opts.data_dir = dir;
    TestServer copy(opts);
    ASSERT_TRUE(copy.Start()) << copy.output();
    auto r = copy.Client();
    EXPECT_EQ(r->Get("/v1/log?since=0&limit=1").json["last_offset"], offset);
    for (int i = 0; i < 30; ++i) {
      auto g = r->Get("/v1/state/k" + std::to_string(i));
      ASSERT_EQ(g.status, 200);
      EXPECT_EQ(g.json["value"], std::string(i * 100, 'v'));
    }
    EXPECT_EQ(r->Get("/v1/state/after").status, 404);
    EXPECT_EQ(r->Get("/v1/doc/people/ada").json["doc"]["name"], "Ada");
    EXPECT_EQ(r->Get("/v1/vector/emb/get?id=p").status, 200);
    auto rows = r->Post("/v1/sql/query", {{"sql", "SELECT a FROM t"}});
    ASSERT_EQ(rows.status, 200) << rows.body;
    EXPECT_EQ(rows.json["rows"][0]["a"], "row");
  }

  // A truncated archive restores nothing and leaves no staging directory.
  fs::resize_file(tarfile, fs::file_size(tarfile) / 2);
  const std::string cut = work.path() + "/cut";
  auto bad = TestServer::Run({"restore", tarfile, "--data-dir", cut});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("truncated"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(cut + "/state.lmdb"));
  for (const auto& e : fs::directory_iterator(work.path())) {
    EXPECT_EQ(e.path().filename().string().find(".cut.restore-"), std::string::npos) << e.path();
  }
}

}  // namespace
}  // namespace kissvdb::testing
