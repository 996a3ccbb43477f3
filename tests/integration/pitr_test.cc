// Point-in-time restore (`kissvdb restore <backup> --log <dir> --to-offset N`
// / `--to-time T`, docs/backup.md) against the real binary: random writes of
// every model with a backup in the middle; for offsets before, at and after
// the backup, a server started on the restored directory answers its present
// reads exactly as the original answered `at=N`, its log is the original's
// 1..N, its vectors are a model replayed from the log to N, and new writes
// continue at N+1. Also after kill -9 of the original, from a downloaded
// archive, by time, and every refusal.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "test_client.h"

namespace kissvdb::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

uint64_t NowMs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// RFC 3339 in UTC with milliseconds, or at `zone_min` minutes east of UTC.
std::string Rfc3339(uint64_t ms, int zone_min = 0) {
  const int64_t local = static_cast<int64_t>(ms) + int64_t{zone_min} * 60000;
  const std::time_t secs = static_cast<std::time_t>(local / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char rest[32];
  if (zone_min == 0) {
    std::snprintf(rest, sizeof(rest), ".%03dZ", static_cast<int>(local % 1000));
  } else {
    std::snprintf(rest, sizeof(rest), ".%03d%c%02d:%02d", static_cast<int>(local % 1000), zone_min < 0 ? '-' : '+',
                  std::abs(zone_min) / 60, std::abs(zone_min) % 60);
  }
  return std::string(buf) + rest;
}

// Every item of GET /v1/state (in pages of 5), `at` = "" or "&at=N".
json ListState(HttpClient& c, const std::string& at) {
  json all = json::array();
  std::string after;
  for (int page = 0; page < 100; ++page) {
    HttpResponse r = c.Get("/v1/state?limit=5" + at + after);
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) break;
    for (const json& item : r.json) all.push_back(item);
    if (r.json.size() < 5) break;
    after = "&after=" + all.back()["key"].get<std::string>();
  }
  return all;
}

// GET /v1/doc/{coll} in pages of 3: {status, documents}.
json ListDocs(HttpClient& c, const std::string& coll, const std::string& at) {
  json docs = json::array();
  std::string cursor;
  int status = 0;
  for (int page = 0; page < 100; ++page) {
    HttpResponse r = c.Get("/v1/doc/" + coll + "?limit=3" + at + cursor);
    status = r.status;
    if (r.status != 200) break;
    for (const json& d : r.json["documents"]) docs.push_back(d);
    if (!r.json.contains("next_cursor")) break;
    cursor = "&cursor=" + r.json["next_cursor"].get<std::string>();
  }
  return json{{"status", status}, {"documents", docs}};
}

// What the original answered at=N.
struct Recorded {
  json state;
  std::map<std::string, json> docs;
};

constexpr const char* kDocColls[] = {"a", "b"};
constexpr int kVectorIds = 8;

// The vector collection "emb" after the events up to n: id -> {vector, meta};
// nullopt while the collection does not exist.
std::optional<std::map<std::string, json>> VectorsAt(const std::vector<json>& events, uint64_t n) {
  std::optional<std::map<std::string, json>> out;
  for (const json& e : events) {
    if (e["offset"].get<uint64_t>() > n) break;
    const std::string type = e["type"];
    const json& d = e["data"];
    if (type.rfind("vector_", 0) != 0 || d.value("collection", "") != "emb") continue;
    if (type == "vector_collection_created") {
      out.emplace();
    } else if (type == "vector_collection_dropped") {
      out.reset();
    } else if (type == "vector_deleted") {
      out->erase(d["id"].get<std::string>());
    } else {  // added, upserted, updated: the whole point
      (*out)[d["id"]] = json{{"vector", d["vector"]}, {"meta", d["meta"]}};
    }
  }
  return out;
}

// Offsets that end their atomic unit (or are in none).
std::set<uint64_t> UnitEnds(const std::vector<json>& events) {
  std::set<uint64_t> out;
  for (size_t i = 0; i < events.size(); ++i) {
    const bool more = events[i].contains("tx") && i + 1 < events.size() && events[i + 1].contains("tx") &&
                      events[i + 1]["tx"] == events[i]["tx"];
    if (!more) out.insert(events[i]["offset"].get<uint64_t>());
  }
  return out;
}

// `kissvdb restore ...`.
TestServer::RunResult Restore(const std::vector<std::string>& args) {
  std::vector<std::string> all{"restore"};
  all.insert(all.end(), args.begin(), args.end());
  return TestServer::Run(all, std::chrono::seconds(30));
}

class PitrTest : public ::testing::Test {
 protected:
  // Random writes of every model; a tx now and then.
  void RandomWrites(HttpClient& c, std::mt19937& rng, int n) {
    for (int i = 0; i < n; ++i) {
      const std::string key = "k" + std::to_string(rng() % 12);
      const std::string coll = kDocColls[rng() % 2];
      const std::string doc = "/v1/doc/" + coll + "/d" + std::to_string(rng() % 5);
      const std::string vid = "v" + std::to_string(rng() % kVectorIds);
      const json vec = {static_cast<int>(rng() % 9), 0.5 * (rng() % 5), -1.0};
      ++step_;
      switch (rng() % 12) {
        case 0:
          c.Delete("/v1/state/" + key);
          break;
        case 1: {  // a TTL that expires during the test, or one that never does
          const bool brief = rng() % 2 == 0;
          const uint64_t ttl = brief ? 1 + rng() % 40 : 3600000;
          HttpResponse r = c.Put("/v1/state/" + key, {{"value", step_}, {"ttl_ms", ttl}});
          ASSERT_EQ(r.status, 200) << r.body;
          if (brief) brief_deadline_ = std::max(brief_deadline_, r.json["expires_at_ms"].get<uint64_t>());
          break;
        }
        case 2:
        case 3:
          ASSERT_EQ(c.Put("/v1/state/" + key, {{"value", {{"n", step_}}}}).status, 200);
          break;
        case 4:
          ASSERT_EQ(c.Put(doc, {{"n", step_}, {"tag", rng() % 2 ? "x" : "y"}}).status, 200);
          break;
        case 5: {
          HttpResponse r = c.Request("PATCH", doc, json{{"p", step_}, {"tag", nullptr}}.dump());
          ASSERT_TRUE(r.status == 200 || r.status == 404) << r.body;
          break;
        }
        case 6:
          c.Delete(rng() % 8 == 0 ? "/v1/doc/" + coll : doc);  // now and then a drop
          break;
        case 7:
        case 8:
          ASSERT_EQ(c.Post("/v1/vector/emb/upsert", {{"id", vid}, {"vector", vec}, {"meta", {{"s", step_}}}}).status,
                    200);
          break;
        case 9:
          c.Post("/v1/vector/emb/delete", {{"id", vid}});
          break;
        case 10:
          ASSERT_EQ(c.Post("/v1/events", {{"type", "note"}, {"data", {{"s", step_}}}}).status, 200);
          break;
        default: {
          json ops = json::array({json{{"state_put", {{"key", key}, {"value", {{"tx", step_}}}}}},
                                  json{{"doc_put", {{"collection", coll}, {"id", "t"}, {"doc", {{"tx", step_}}}}}},
                                  json{{"vector_upsert",
                                        {{"collection", "emb"},
                                         {"items", json::array({json{{"id", vid}, {"vector", vec}, {"meta", json::object()}}})}}}},
                                  json{{"event_append", {{"type", "tx_note"}, {"data", {{"s", step_}}}}}}});
          HttpResponse r = c.Post("/v1/tx", {{"ops", ops}});
          ASSERT_EQ(r.status, 200) << r.body;
          tx_ends_.push_back(r.json["offset_last"].get<uint64_t>());
        }
      }
    }
  }

  // Restores the backup to `n`, starts a server there and compares it with
  // what the original answered at=n.
  void CheckRestored(const std::string& backup, const std::string& log_dir, uint64_t n,
                     const std::map<uint64_t, Recorded>& recorded, const std::vector<json>& events,
                     const std::string& api_key) {
    const Recorded& want = recorded.at(n);
    SCOPED_TRACE("restored to offset " + std::to_string(n) + " from " + backup);
    TestDir dir("kissvdb-pitr");
    const std::string target = dir.path() + "/data";
    auto run = Restore({backup, "--log", log_dir, "--to-offset", std::to_string(n), "--data-dir", target});
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_NE(run.output.find("at offset " + std::to_string(n)), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("SQL is not event-sourced"), std::string::npos) << run.output;

    TestServerOptions opts;
    opts.data_dir = target;
    opts.args = {"--ttl-sweep-interval-ms", "3600000"};  // no expiry events of its own
    TestServer server(opts);
    ASSERT_TRUE(server.Start()) << server.output();
    auto c = server.Client();
    HttpResponse log = c->Get("/v1/log?since=0&limit=1");
    ASSERT_EQ(log.status, 200) << log.body;
    EXPECT_EQ(log.json["last_offset"], n);

    // The present equals the original's at=n, less keys whose TTL ran out
    // since (every TTL of the test either ran out or lasts an hour).
    const uint64_t now = NowMs();
    json expect_state = json::array();
    for (const json& item : want.state) {
      if (item["expires_at_ms"].is_null() || item["expires_at_ms"].get<uint64_t>() > now) {
        expect_state.push_back(item);
      }
    }
    EXPECT_EQ(ListState(*c, ""), expect_state);
    for (const char* coll : kDocColls) EXPECT_EQ(ListDocs(*c, coll, ""), want.docs.at(coll)) << coll;

    // The log, user events included, is the original's up to n.
    std::vector<json> got = AllEvents(*c);
    std::vector<json> expect(events.begin(), events.begin() + static_cast<long>(n));
    EXPECT_EQ(got, expect);

    // Vectors: a model replayed from the original's log.
    const auto vectors = VectorsAt(events, n);
    HttpResponse info = c->Get("/v1/vector/emb");
    ASSERT_EQ(info.status, vectors ? 200 : 404) << info.body;
    if (vectors) {
      EXPECT_EQ(info.json["count"], vectors->size());
      for (int i = 0; i < kVectorIds; ++i) {
        const std::string id = "v" + std::to_string(i);
        HttpResponse v = c->Get("/v1/vector/emb/get?id=" + id);
        auto it = vectors->find(id);
        ASSERT_EQ(v.status, it == vectors->end() ? 404 : 200) << id << ": " << v.body;
        if (it != vectors->end()) {
          EXPECT_EQ(v.json["vector"], it->second["vector"]) << id;
          EXPECT_EQ(v.json["meta"], it->second["meta"]) << id;
        }
      }
    }
    // History came along up to n: reads at earlier offsets are the original's.
    for (const auto& [m, then] : recorded) {
      if (m > n) break;
      const std::string at = "&at=" + std::to_string(m);
      EXPECT_EQ(ListState(*c, at), then.state) << "at=" << m;
      for (const char* coll : kDocColls) EXPECT_EQ(ListDocs(*c, coll, at), then.docs.at(coll)) << coll << " at=" << m;
    }
    // The API key created at the start came back (from state.lmdb or the log).
    HttpClient keyed(server.port(), api_key);
    EXPECT_EQ(keyed.Get("/v1/state?limit=1").status, 200);

    // New writes continue at n + 1.
    ASSERT_EQ(c->Put("/v1/state/after-restore", {{"value", 1}}).status, 200);
    HttpResponse after = c->Get("/v1/log?since=" + std::to_string(n) + "&limit=10");
    ASSERT_EQ(after.status, 200);
    ASSERT_EQ(after.json["events"].size(), 1u) << after.body;
    EXPECT_EQ(after.json["events"][0]["offset"], n + 1);
    EXPECT_EQ(after.json["events"][0]["data"]["key"], "after-restore");
  }

  // The whole scenario: writes, a backup, writes, at=N reads recorded, the
  // original stopped (or killed), then a restore to each N.
  void Scenario(bool kill, std::vector<std::string> args, uint32_t seed) {
    args.insert(args.end(), {"--ttl-sweep-interval-ms", "20"});
    TestServerOptions opts;
    opts.args = args;
    TestServer source(opts);
    ASSERT_TRUE(source.Start()) << source.output();
    auto c = source.Client();
    std::mt19937 rng(seed);
    HttpResponse key = c->Post("/v1/auth/keys", {{"name", "kept"}, {"role", "read_only"}});
    ASSERT_EQ(key.status, 200) << key.body;
    ASSERT_EQ(c->Post("/v1/vector/emb", {{"dim", 3}, {"metric", "l2"}}).status, 200);
    ASSERT_EQ(c->Post("/v1/sql/exec", {{"sql", "CREATE TABLE t(a INTEGER)"}}).status, 200);
    RandomWrites(*c, rng, 70);
    HttpResponse snap = c->Post("/v1/admin/snapshot", {{"name", "b1"}});
    ASSERT_EQ(snap.status, 200) << snap.body;
    const uint64_t b = snap.json["offset"];
    RandomWrites(*c, rng, 70);
    // Let every brief TTL run out, so that a restored server's present
    // cannot race a deadline (a condition on the clock, not a guess).
    while (NowMs() <= brief_deadline_ + 5) std::this_thread::sleep_for(std::chrono::milliseconds(1));

    const std::vector<json> events = AllEvents(*c);
    ASSERT_GT(events.size(), b + 20);
    const uint64_t last = events.back()["offset"];
    const std::set<uint64_t> ends = UnitEnds(events);
    auto unit_end_near = [&](uint64_t x) { return *std::prev(ends.upper_bound(x)); };
    std::set<uint64_t> points{unit_end_near(b / 3), unit_end_near(b - 1), b, unit_end_near((b + last) / 2), last};
    // A transaction's last offset, before and after the backup.
    for (bool before : {true, false}) {
      for (uint64_t t : tx_ends_) {
        if ((t < b) == before) {
          points.insert(t);
          break;
        }
      }
    }
    std::map<uint64_t, Recorded> recorded;
    for (uint64_t n : points) {
      ASSERT_LE(n, last);
      const std::string at = "&at=" + std::to_string(n);
      Recorded& r = recorded[n];
      r.state = ListState(*c, at);
      for (const char* coll : kDocColls) r.docs[coll] = ListDocs(*c, coll, at);
    }
    const std::string backup = source.data_dir() + "/backups/b1";
    if (kill) {
      source.Kill();
    } else {
      ASSERT_EQ(source.Stop(), 0);
    }
    const std::string api_key = key.json["key"];
    std::map<std::string, uintmax_t> segment_sizes;
    for (const auto& e : fs::directory_iterator(source.data_dir())) {
      if (e.path().filename().string().rfind("events-", 0) == 0) segment_sizes[e.path().string()] = e.file_size();
    }
    for (const auto& [n, want] : recorded) {
      CheckRestored(backup, source.data_dir(), n, recorded, events, api_key);
      if (HasFatalFailure()) return;
    }
    // The backup and the log directory are only read (the killed server's
    // last segment still ends in its zero fill).
    for (const auto& [path, size] : segment_sizes) {
      EXPECT_EQ(fs::file_size(path), size) << path;
    }
    std::ifstream mf(backup + "/manifest.json");
    const json manifest = json::parse(mf);
    for (const json& f : manifest["files"]) {
      EXPECT_EQ(fs::file_size(backup + "/" + f["path"].get<std::string>()), f["bytes"].get<uint64_t>()) << f;
    }
  }

  int step_ = 0;
  uint64_t brief_deadline_ = 0;
  std::vector<uint64_t> tx_ends_;
};

TEST_F(PitrTest, RestoresToOffsetsAroundTheBackupAsAtReads) { Scenario(/*kill=*/false, {}, 7); }

// Small segments: the backup's offset falls inside one, later records are in
// segments the backup never saw; the original dies with kill -9, leaving its
// last segment's zero fill.
TEST_F(PitrTest, RestoresFromTheLogOfAKilledServerWithManySegments) {
  Scenario(/*kill=*/true, {"--wal-segment-max-bytes", "4096"}, 8);
}

// Runs a shell command line; its exit status (-1 if it did not exit).
int Shell(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// Waits until the clock's millisecond is past `ts_ms`, so the next commit
// gets a later time.
void PassMillisecond(uint64_t ts_ms) {
  while (NowMs() <= ts_ms) std::this_thread::sleep_for(std::chrono::microseconds(200));
}

TEST(PitrTimeTest, ToTimePicksTheLastUnitAtOrBeforeIt) {
  TestServer source;
  ASSERT_TRUE(source.Start()) << source.output();
  auto c = source.Client();
  auto last_ts = [&] { return AllEvents(*c).back()["ts_ms"].get<uint64_t>(); };
  ASSERT_EQ(c->Put("/v1/state/a", {{"value", 1}}).status, 200);
  HttpResponse snap = c->Post("/v1/admin/snapshot", {{"name", "b1"}});
  ASSERT_EQ(snap.status, 200) << snap.body;
  PassMillisecond(last_ts());
  ASSERT_EQ(c->Put("/v1/state/b", {{"value", 2}}).status, 200);
  PassMillisecond(last_ts());
  json ops = json::array({json{{"state_put", {{"key", "t"}, {"value", 3}}}},
                          json{{"event_append", {{"type", "x"}, {"data", json::object()}}}}});
  HttpResponse tx = c->Post("/v1/tx", {{"ops", ops}});
  ASSERT_EQ(tx.status, 200) << tx.body;
  PassMillisecond(last_ts());
  ASSERT_EQ(c->Put("/v1/state/c", {{"value", 4}}).status, 200);
  // The archive of the backup, as downloaded (curl: a real client).
  TestDir dir("kissvdb-pitr");
  const std::string tar = dir.path() + "/b1.tar";
  ASSERT_EQ(Shell("curl -sf -o " + tar + " -H 'Authorization: Bearer " + source.api_key() + "' http://127.0.0.1:" +
                  std::to_string(source.port()) + "/v1/admin/backups/b1"),
            0);
  const std::vector<json> events = AllEvents(*c);
  ASSERT_EQ(source.Stop(), 0);

  const uint64_t tx_first = tx.json["offset_first"], tx_last = tx.json["offset_last"];
  const uint64_t tx_ts = events[tx_first - 1]["ts_ms"];
  ASSERT_EQ(events[tx_last - 1]["ts_ms"], tx_ts);  // one group, one time
  // The last offset at or before a time that ends its unit.
  auto expected = [&](uint64_t t) {
    uint64_t n = 0;
    const std::set<uint64_t> ends = UnitEnds(events);
    for (const json& e : events) {
      if (e["ts_ms"].get<uint64_t>() <= t && ends.count(e["offset"])) n = e["offset"];
    }
    return n;
  };
  const std::string backup = source.data_dir() + "/backups/b1";
  int run = 0;
  auto restore_at = [&](const std::string& from, const std::string& t) {
    return Restore({from, "--log", source.data_dir(), "--to-time", t, "--data-dir",
                    dir.path() + "/r" + std::to_string(run++)});
  };
  struct Case {
    uint64_t t;
    int zone_min;
  };
  for (const Case& k : {Case{tx_ts, 0}, Case{tx_ts - 1, 60}, Case{tx_ts + 1, -330}, Case{NowMs() + 60000, 0}}) {
    const uint64_t n = expected(k.t);
    ASSERT_GT(n, 0u);
    auto r = restore_at(backup, Rfc3339(k.t, k.zone_min));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("at offset " + std::to_string(n) + "\n"), std::string::npos)
        << Rfc3339(k.t, k.zone_min) << ": " << r.output;
  }
  EXPECT_EQ(expected(tx_ts), tx_last);
  // From the archive, and a server on the result.
  const std::string target = dir.path() + "/from-tar";
  auto r = Restore({tar, "--log", source.data_dir(), "--to-time", Rfc3339(tx_ts), "--data-dir", target});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  TestServerOptions opts;
  opts.data_dir = target;
  TestServer restored(opts);
  ASSERT_TRUE(restored.Start()) << restored.output();
  auto rc = restored.Client();
  EXPECT_EQ(rc->Get("/v1/log?since=0&limit=1").json["last_offset"], tx_last);
  EXPECT_EQ(rc->Get("/v1/state/t").json["value"], 3);
  EXPECT_EQ(rc->Get("/v1/state/c").status, 404);

  // Before the first event: a data error; not a time at all: usage.
  auto early = restore_at(backup, Rfc3339(events[0]["ts_ms"].get<uint64_t>() - 1));
  EXPECT_EQ(early.exit_code, 1) << early.output;
  EXPECT_NE(early.output.find("before the first event"), std::string::npos) << early.output;
  for (const std::string bad : {"yesterday", "2026-02-30T00:00:00Z", "2026-01-01T00:00:00", "1969-12-31T23:59:59Z"}) {
    EXPECT_EQ(restore_at(backup, bad).exit_code, 2) << bad;
  }
}

// Copies the segment files of `from` into `to`, except `skip`.
void CopySegments(const std::string& from, const std::string& to, const std::set<std::string>& skip) {
  fs::create_directories(to);
  for (const auto& e : fs::directory_iterator(from)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("events-", 0) == 0 && !skip.count(name)) fs::copy_file(e.path(), fs::path(to) / name);
  }
}

// {first_offset, last_offset} of the log (a page past its end, which
// retention cannot have removed).
json LogBounds(HttpClient& c) {
  HttpResponse r = c.Get("/v1/log?since=1000000000000&limit=1");
  EXPECT_EQ(r.status, 200) << r.body;
  return r.json;
}

TEST(PitrErrorTest, RefusesPointsItCannotRestore) {
  // Three runs on one data directory, small segments throughout: b1 with a
  // transaction before and after it; then with retention after each
  // checkpoint, so that b2's log no longer starts at offset 1; then without
  // retention again, so that segments after b2 stay.
  const std::vector<std::string> small = {"--wal-segment-max-bytes", "2048"};
  TestServerOptions opts;
  opts.args = small;
  TestServer source(opts);
  ASSERT_TRUE(source.Start()) << source.output();
  const std::string data = source.data_dir();
  auto c = source.Client();
  auto puts = [](HttpClient& c, const std::string& prefix, int n) {
    for (int i = 0; i < n; ++i) ASSERT_EQ(c.Put("/v1/state/" + prefix + std::to_string(i), {{"value", i}}).status, 200);
  };
  auto two_puts = [](HttpClient& c) {
    json ops = json::array({json{{"state_put", {{"key", "t1"}, {"value", 1}}}},
                            json{{"state_put", {{"key", "t2"}, {"value", 2}}}}});
    HttpResponse tx = c.Post("/v1/tx", {{"ops", ops}});
    EXPECT_EQ(tx.status, 200) << tx.body;
    return tx.json;
  };
  puts(*c, "k", 30);
  const json tx = two_puts(*c);
  puts(*c, "l", 5);
  HttpResponse snap1 = c->Post("/v1/admin/snapshot", {{"name", "b1"}});
  ASSERT_EQ(snap1.status, 200) << snap1.body;
  const uint64_t b1_offset = snap1.json["offset"];
  two_puts(*c);
  puts(*c, "m", 40);
  ASSERT_EQ(source.Stop(), 0);
  {
    TestServerOptions retained;
    retained.data_dir = data;
    retained.args = small;
    retained.args.insert(retained.args.end(),
                         {"--wal-retention-segments", "1", "--snapshot-interval-secs", "1"});
    TestServer second(retained);
    ASSERT_TRUE(second.Start()) << second.output();
    auto c2 = second.Client();
    puts(*c2, "n", 40);
    // Retention runs after a checkpoint, one a second.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (LogBounds(*c2)["first_offset"].get<uint64_t>() == 1) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "retention never ran";
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(c2->Post("/v1/admin/snapshot", {{"name", "b2"}}).status, 200);
    ASSERT_EQ(second.Stop(), 0);
  }
  ASSERT_TRUE(source.Start()) << source.output();
  c = source.Client();
  puts(*c, "o", 100);
  const uint64_t last = LogBounds(*c)["last_offset"];
  ASSERT_EQ(source.Stop(), 0);

  const std::string b1 = data + "/backups/b1", b2 = data + "/backups/b2";
  std::ifstream mf(b2 + "/manifest.json");
  const uint64_t b2_offset = json::parse(mf)["offset"];
  TestDir dir("kissvdb-pitr");
  int run = 0;
  auto restore = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--data-dir", dir.path() + "/r" + std::to_string(run++)});
    return Restore(args);
  };
  auto expect_error = [&](int code, const std::vector<std::string>& args, const std::string& says) {
    auto r = restore(args);
    EXPECT_EQ(r.exit_code, code) << r.output;
    EXPECT_NE(r.output.find(says), std::string::npos) << r.output;
    // Nothing is left behind.
    EXPECT_FALSE(fs::exists(dir.path() + "/r" + std::to_string(run - 1))) << r.output;
  };
  const uint64_t tx_first = tx["offset_first"], tx_last = tx["offset_last"];
  ASSERT_LT(tx_last, b1_offset);
  expect_error(1, {b2, "--log", data, "--to-offset", std::to_string(last + 1)}, "is not in the log");
  expect_error(1, {b1, "--to-offset", std::to_string(b1_offset + 1)}, "--log <data dir> adds the records");
  expect_error(1, {b1, "--to-offset", std::to_string(tx_first)},
               "atomic unit (transaction) of offsets " + std::to_string(tx_first) + ".." + std::to_string(tx_last));
  expect_error(1, {b2, "--log", data, "--to-offset", "2"}, "restore a backup taken at or before offset 2");
  expect_error(2, {b1, "--log", data, "--to-offset", "3", "--to-time", "2026-01-01T00:00:00Z"}, "not both");
  expect_error(2, {b1, "--to-offset", "0"}, "at least 1");
  expect_error(2, {b1, "--to-offset", "x1"}, "at least 1");
  auto ok = restore({b1, "--to-offset", std::to_string(tx_last)});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;

  // A gap in --log: the records before it still restore, those after do not.
  std::vector<std::string> segs;
  for (const auto& e : fs::directory_iterator(data)) {
    if (e.path().filename().string().rfind("events-", 0) == 0) segs.push_back(e.path().filename().string());
  }
  std::sort(segs.begin(), segs.end());
  ASSERT_GE(segs.size(), 3u);
  const std::string gap_dir = dir.path() + "/gap";
  CopySegments(data, gap_dir, {segs[segs.size() - 2]});
  expect_error(1, {b2, "--log", gap_dir}, "are missing before");
  auto before_gap = restore({b2, "--log", gap_dir, "--to-offset", std::to_string(b2_offset + 1)});
  EXPECT_EQ(before_gap.exit_code, 0) << before_gap.output;

  // Another server's log does not continue this backup.
  TestServer other;
  ASSERT_TRUE(other.Start()) << other.output();
  ASSERT_EQ(other.Client()->Put("/v1/state/z", {{"value", 1}}).status, 200);
  ASSERT_EQ(other.Stop(), 0);
  expect_error(1, {b1, "--log", other.data_dir()}, "not the log this backup was taken from");

  // A non-empty target.
  const std::string full = dir.path() + "/full";
  fs::create_directories(full);
  std::ofstream(full + "/junk") << "x";
  auto refused = Restore({b1, "--log", data, "--data-dir", full});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("not empty"), std::string::npos) << refused.output;
  EXPECT_TRUE(fs::exists(full + "/junk"));
}

}  // namespace
}  // namespace kissvdb::testing
