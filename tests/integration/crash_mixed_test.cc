// Crash loop over every model: concurrent writers doing KV put (CAS) and
// delete, document put (If-Match CAS) and delete, vector upsert and delete,
// and user events; kill -9 at random moments, restart, check, repeat.
//
// Each writer owns its entities and writes them one request at a time, so
// at a kill at most one write per writer is in doubt. After the restart
// every entity must be in its last acknowledged state, or in the state the
// in-doubt write would have made; every acknowledged event must sit at its
// offset in /v1/log; the log must run from 1 without a hole; vector search
// must still answer.
//
// KISSVDB_CRASH_CYCLES sets the cycles (default 12 for CI). The long run is
// `KISSVDB_CRASH_CYCLES=1000 build/integration_tests --gtest_filter='CrashTest.*'`.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <optional>
#include <random>
#include <thread>

#include "crash_checks.h"
#include "test_client.h"

namespace kissvdb::testing {
namespace {

using nlohmann::json;

constexpr int kWriters = 4;
constexpr int kEntitiesPerKind = 4;
constexpr int kDim = 4;

// What a key, document or vector holds: nothing, or a value at a revision
// (vectors have no revision: 0).
struct Version {
  bool exists = false;
  uint64_t revision = 0;
  json value;
  bool operator==(const Version&) const = default;
};

struct Tracked {
  Version acked;
  std::optional<Version> in_doubt;  // sent when the server died; may have landed
};

enum class Kind { kState, kDoc, kVector };

std::string PathOf(Kind kind, const std::string& id) {
  switch (kind) {
    case Kind::kState: return "/v1/state/" + id;
    case Kind::kDoc: return "/v1/doc/mix/" + id;
    case Kind::kVector: return "/v1/vector/mix/get?id=" + id;
  }
  return "";
}

// The entity as the server has it now.
Version Observe(HttpClient& client, Kind kind, const std::string& id) {
  auto r = client.Get(PathOf(kind, id));
  Version v;
  if (r.status == 404) return v;
  EXPECT_EQ(r.status, 200) << id << " " << r.body;
  v.exists = true;
  switch (kind) {
    case Kind::kState:
      v.revision = r.json["revision"].get<uint64_t>();
      v.value = r.json["value"];
      break;
    case Kind::kDoc:
      v.revision = r.json["revision"].get<uint64_t>();
      v.value = r.json["doc"];
      break;
    case Kind::kVector:
      v.value = r.json["vector"];
      break;
  }
  return v;
}

class MixedWriter {
 public:
  explicit MixedWriter(int id) : id_(id) {}

  // Writes until `stop` or until the server is gone.
  void Run(uint16_t port, const std::string& token, const std::atomic<bool>& stop, uint64_t seed) {
    HttpClient client(port, token);
    client.set_timeout(std::chrono::seconds(5));
    std::mt19937_64 rng(seed);
    while (!stop) {
      const uint64_t pick = rng() % 100;
      const bool ok = pick < 35   ? WriteState(client, rng)
                      : pick < 60 ? WriteDoc(client, rng)
                      : pick < 85 ? WriteVector(client, rng)
                                  : AppendEvent(client, rng);
      if (!ok) return;
    }
  }

  // After a restart; then the observed state becomes the acknowledged one.
  void Verify(HttpClient& client, const std::map<uint64_t, json>& log) {
    for (Kind kind : {Kind::kState, Kind::kDoc, Kind::kVector}) {
      for (int i = 0; i < kEntitiesPerKind; ++i) {
        const std::string id = Id(kind, i);
        Tracked& t = Entity(kind, i);
        const Version seen = Observe(client, kind, id);
        const bool acked = seen == t.acked;
        const bool landed = t.in_doubt && seen == *t.in_doubt;
        ASSERT_TRUE(acked || landed) << PathOf(kind, id) << ": server has " << Describe(seen) << ", acknowledged "
                                     << Describe(t.acked)
                                     << (t.in_doubt ? ", in doubt " + Describe(*t.in_doubt) : std::string());
        t.acked = seen;
        t.in_doubt.reset();
      }
    }
    for (const auto& [offset, data] : unverified_events_) {
      auto it = log.find(offset);
      ASSERT_NE(it, log.end()) << "acknowledged event at offset " << offset << " is not in the log";
      EXPECT_EQ(it->second["type"], "mix") << offset;
      EXPECT_EQ(it->second["data"], data) << offset;
    }
    events_verified_ += unverified_events_.size();
    unverified_events_.clear();
  }

  bool HasVector() const {
    for (const auto& [i, t] : vectors_) {
      if (t.acked.exists) return true;
    }
    return false;
  }
  uint64_t events_verified() const { return events_verified_; }

 private:
  std::string Id(Kind kind, int i) const {
    const char* tag = kind == Kind::kState ? "s" : kind == Kind::kDoc ? "d" : "v";
    return "w" + std::to_string(id_) + "-" + tag + std::to_string(i);
  }
  Tracked& Entity(Kind kind, int i) {
    return kind == Kind::kState ? state_[i] : kind == Kind::kDoc ? docs_[i] : vectors_[i];
  }
  static std::string Describe(const Version& v) {
    return v.exists ? "rev " + std::to_string(v.revision) + " " + v.value.dump() : "nothing";
  }

  // Handles the reply to a write that would make `next`: true to go on.
  // Status 0 means the server died: the write stays in doubt.
  bool Settle(Tracked& t, const HttpResponse& r, const std::string& what) {
    if (r.status == 0) return false;
    if (r.status != 200) {
      ADD_FAILURE() << what << " got " << r.status << " " << r.body;
      return false;
    }
    t.acked = *t.in_doubt;
    t.in_doubt.reset();
    return true;
  }

  bool WriteState(HttpClient& client, std::mt19937_64& rng) {
    const int i = static_cast<int>(rng() % kEntitiesPerKind);
    Tracked& t = state_[i];
    const std::string path = "/v1/state/" + Id(Kind::kState, i);
    if (t.acked.exists && rng() % 4 == 0) {
      t.in_doubt = Version{};
      return Settle(t, client.Delete(path), "delete " + path);
    }
    const json value = {{"w", id_}, {"n", ++counter_}};
    t.in_doubt = Version{true, t.acked.exists ? t.acked.revision + 1 : 1, value};
    auto r = client.Put(path, {{"value", value}, {"if_revision", t.acked.exists ? t.acked.revision : 0}});
    if (r.status == 200) {
      EXPECT_EQ(r.json["revision"], t.in_doubt->revision) << path;
    }
    return Settle(t, r, "put " + path);
  }

  bool WriteDoc(HttpClient& client, std::mt19937_64& rng) {
    const int i = static_cast<int>(rng() % kEntitiesPerKind);
    Tracked& t = docs_[i];
    const std::string path = "/v1/doc/mix/" + Id(Kind::kDoc, i);
    const Headers if_match = {{"If-Match", std::to_string(t.acked.revision)}};
    if (t.acked.exists && rng() % 4 == 0) {
      t.in_doubt = Version{};
      return Settle(t, client.Delete(path, if_match), "delete " + path);
    }
    const json doc = {{"w", id_}, {"n", ++counter_}, {"tag", rng() % 3}};
    t.in_doubt = Version{true, t.acked.exists ? t.acked.revision + 1 : 1, doc};
    auto r = t.acked.exists ? client.Put(path, doc, if_match) : client.Put(path + "?if_revision=0", doc);
    if (r.status == 200) {
      EXPECT_EQ(r.json["revision"], t.in_doubt->revision) << path;
    }
    return Settle(t, r, "put " + path);
  }

  bool WriteVector(HttpClient& client, std::mt19937_64& rng) {
    const int i = static_cast<int>(rng() % kEntitiesPerKind);
    Tracked& t = vectors_[i];
    const std::string id = Id(Kind::kVector, i);
    if (t.acked.exists && rng() % 4 == 0) {
      t.in_doubt = Version{};
      return Settle(t, client.Post("/v1/vector/mix/delete", {{"id", id}}), "delete vector " + id);
    }
    // Small integers: exact in float, so the read-back compares equal.
    json vec = json::array();
    for (int d = 0; d < kDim; ++d) vec.push_back(static_cast<int>(rng() % 100) - 50);
    vec[0] = static_cast<int>(++counter_ % 1000);
    t.in_doubt = Version{true, 0, vec};
    return Settle(t, client.Post("/v1/vector/mix/upsert", {{"id", id}, {"vector", vec}}), "upsert vector " + id);
  }

  bool AppendEvent(HttpClient& client, std::mt19937_64& rng) {
    const json data = {{"w", id_}, {"n", ++counter_}, {"r", rng() % 1000}};
    auto r = client.Post("/v1/events", {{"type", "mix"}, {"data", data}});
    if (r.status == 0) return false;  // in doubt: may or may not be in the log
    if (r.status != 200) {
      ADD_FAILURE() << "event got " << r.status << " " << r.body;
      return false;
    }
    unverified_events_[r.json["offset"].get<uint64_t>()] = data;
    return true;
  }

  int id_;
  uint64_t counter_ = 0;
  std::map<int, Tracked> state_, docs_, vectors_;
  std::map<uint64_t, json> unverified_events_;  // acknowledged since the last Verify
  uint64_t events_verified_ = 0;
};

TEST(CrashTest, MixedWritesSurviveKill9) {
  TestServer server;
  ASSERT_TRUE(server.Start()) << server.output();
  {
    auto client = server.Client();
    auto created = client->Post("/v1/vector/mix", {{"dim", kDim}, {"metric", "l2"}});
    ASSERT_EQ(created.status, 200) << created.body;
  }
  std::vector<std::unique_ptr<MixedWriter>> writers;
  for (int i = 0; i < kWriters; ++i) writers.push_back(std::make_unique<MixedWriter>(i));
  std::mt19937 rng(4242);
  LogChecker log;
  const int cycles = CrashCycles(12);
  for (int cycle = 0; cycle < cycles; ++cycle) {
    RunWritersUntilKill(server, writers, rng);
    if (::testing::Test::HasFailure()) return;
    ASSERT_TRUE(server.Start()) << "cycle " << cycle << "\n" << server.output();
    auto client = server.Client();
    std::map<uint64_t, json> events;
    log.Check(*client, &events);
    if (::testing::Test::HasFailure()) return;
    bool any_vector = false;
    for (auto& w : writers) {
      w->Verify(*client, events);
      if (::testing::Test::HasFailure()) return;
      any_vector |= w->HasVector();
    }
    auto hits = client->Post("/v1/vector/mix/search", {{"vector", json::array({0, 0, 0, 0})}, {"k", 5}});
    ASSERT_EQ(hits.status, 200) << hits.body;
    if (any_vector) {
      EXPECT_FALSE(hits.json["hits"].empty()) << "search lost every point";
    }
  }
  uint64_t events = 0;
  for (auto& w : writers) events += w->events_verified();
  std::printf("crash loop: %d cycles, %llu log offsets checked, %llu acknowledged events verified\n", cycles,
              static_cast<unsigned long long>(log.checked()), static_cast<unsigned long long>(events));
}

}  // namespace
}  // namespace kissvdb::testing
