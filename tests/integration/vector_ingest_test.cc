// Vectors in binary in the log (docs/wal-format.md, version 3), through the
// real server: what the log costs per vector, what clients see of the
// floats, and an ingest under kill -9 after which every acknowledged vector
// is there bit for bit, searchable, and a replay from offset 0 writes the
// same collection files byte for byte.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "crash_checks.h"
#include "test_client.h"

namespace kissvdb::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The log's bytes (records and segment headers; the files themselves are
// zero-filled ahead of the records).
uint64_t LogBytes(HttpClient& client) {
  auto r = client.Get("/v1/admin/stats");
  EXPECT_EQ(r.status, 200) << r.body;
  return r.json["log"]["wal_bytes"].get<uint64_t>();
}

json FloatsJson(const std::vector<float>& v) {
  json a = json::array();
  for (float f : v) a.push_back(static_cast<double>(f));
  return a;
}

std::vector<float> RandomVector(std::mt19937_64& rng, size_t dim) {
  std::normal_distribution<float> nd;
  std::vector<float> v(dim);
  for (auto& x : v) x = nd(rng);
  return v;
}

// The bytes of a collection's files by kind ("index", "rows"), without the
// generation numbers in their names.
std::map<std::string, std::string> CollectionFiles(const std::string& data_dir, const std::string& collection) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(fs::path(data_dir) / "vectors" / collection)) {
    const std::string name = e.path().filename().string();
    if (name == "manifest.json") continue;
    std::ifstream f(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    out[name.substr(0, name.find('-'))] = ss.str();
  }
  return out;
}

TEST(VectorIngestTest, TheLogHoldsRawFloatsAndClientsSeeTheShortestNumbers) {
  TestServer server;
  ASSERT_TRUE(server.Start()) << server.output();
  auto client = server.Client();
  ASSERT_EQ(client->Post("/v1/vector/img", {{"dim", 784}, {"metric", "l2"}}).status, 200);
  std::mt19937_64 rng(7);
  constexpr int kBatches = 10, kPerBatch = 20;
  const uint64_t before = LogBytes(*client);
  for (int b = 0; b < kBatches; ++b) {
    json items = json::array();
    for (int i = 0; i < kPerBatch; ++i) {
      items.push_back({{"id", "v" + std::to_string(b * kPerBatch + i)}, {"vector", FloatsJson(RandomVector(rng, 784))}});
    }
    auto r = client->Post("/v1/vector/img/upsert_batch", {{"items", items}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  const double per_vector = double(LogBytes(*client) - before) / (kBatches * kPerBatch);
  // The issue's bound: 1.1x the raw floats plus the id (and no meta here).
  EXPECT_LE(per_vector, 1.1 * 784 * 4 + 4) << "log bytes per 784-d vector";
  std::printf("log bytes per 784-d vector: %.0f (raw floats 3136)\n", per_vector);

  // Clients: data.vector, each number the shortest that reads back the float.
  ASSERT_EQ(client->Post("/v1/vector/small", {{"dim", 3}, {"metric", "l2"}}).status, 200);
  ASSERT_EQ(client->Post("/v1/vector/small/upsert", {{"id", "a"}, {"vector", {0.1, 0.2, 1}}, {"meta", {{"k", 1}}}})
                .status,
            200);
  auto log = client->Get("/v1/log?since=" + std::to_string(kBatches * kPerBatch + 2) + "&limit=10");
  ASSERT_EQ(log.status, 200) << log.body;
  EXPECT_NE(log.body.find(R"("data":{"collection":"small","id":"a","meta":{"k":1},"vector":[0.1,0.2,1.0]})"),
            std::string::npos)
      << log.body;
  HttpStream sse(server.port(), "/v1/stream?since=" + std::to_string(kBatches * kPerBatch + 2), server.api_key());
  ASSERT_EQ(sse.status(), 200) << sse.error();
  EXPECT_TRUE(sse.ReadUntil([](const std::string& d) { return d.find("\n\n") != std::string::npos; }));
  EXPECT_NE(sse.data().find(R"("vector":[0.1,0.2,1.0]})"), std::string::npos) << sse.data();
  // Every vector of the log reads back as the float that was sent.
  std::mt19937_64 again(7);
  const auto events = AllEvents(*client);
  int checked = 0;
  for (const auto& ev : events) {
    if (ev["type"] != "vector_upserted" || ev["data"]["collection"] != "img") continue;
    const std::vector<float> want = RandomVector(again, 784);
    const auto& got = ev["data"]["vector"];
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i].get<float>(), want[i]) << ev["offset"] << " " << i;
    ++checked;
  }
  EXPECT_EQ(checked, kBatches * kPerBatch);
}

// Writers upsert batches of vectors until the server is killed; each knows
// what was acknowledged, and what was in flight when it died.
class IngestWriter {
 public:
  static constexpr size_t kDim = 24;
  explicit IngestWriter(int id) : id_(id) {}

  void Run(uint16_t port, const std::string& token, const std::atomic<bool>& stop, uint64_t seed) {
    HttpClient client(port, token);
    client.set_timeout(std::chrono::seconds(5));
    std::mt19937_64 rng(seed);
    while (!stop) {
      json items = json::array();
      std::vector<std::pair<std::string, std::vector<float>>> batch;
      for (int i = 0; i < 16; ++i) {
        const std::string id = "w" + std::to_string(id_) + "-" + std::to_string(next_++);
        batch.emplace_back(id, RandomVector(rng, kDim));
        items.push_back({{"id", id}, {"vector", FloatsJson(batch.back().second)}});
      }
      auto r = client.Post("/v1/vector/ingest/upsert_batch", {{"items", items}, {"atomic", true}});
      if (r.status != 200) {
        for (auto& [id, v] : batch) in_doubt_[id] = v;
        return;
      }
      for (auto& [id, v] : batch) acked_[id] = v;
    }
  }

  // After a restart: acknowledged vectors are there, bit for bit; an
  // in-doubt batch landed whole or not at all.
  void Verify(HttpClient& client) {
    for (const auto& [id, want] : acked_) ExpectVector(client, id, want, /*required=*/true);
    int landed = -1;
    for (const auto& [id, want] : in_doubt_) {
      const bool here = ExpectVector(client, id, want, /*required=*/false);
      if (landed < 0) landed = here;
      EXPECT_EQ(here, landed == 1) << id << ": an atomic batch half-applied";
      if (here) acked_[id] = want;
    }
    in_doubt_.clear();
  }

  const std::map<std::string, std::vector<float>>& acked() const { return acked_; }

 private:
  static bool ExpectVector(HttpClient& client, const std::string& id, const std::vector<float>& want,
                           bool required) {
    auto r = client.Get("/v1/vector/ingest/get?id=" + id);
    if (r.status == 404 && !required) return false;
    EXPECT_EQ(r.status, 200) << id << " " << r.body;
    if (r.status != 200) return false;
    const auto& got = r.json["vector"];
    EXPECT_EQ(got.size(), want.size()) << id;
    for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
      EXPECT_EQ(got[i].get<float>(), want[i]) << id << "[" << i << "]";
    }
    return true;
  }

  int id_;
  uint64_t next_ = 0;
  std::map<std::string, std::vector<float>> acked_;
  std::map<std::string, std::vector<float>> in_doubt_;
};

TEST(VectorIngestTest, CrashLoopKeepsEveryAcknowledgedVectorAndReplaysIntoTheSameFiles) {
  TestServer server;
  ASSERT_TRUE(server.Start()) << server.output();
  {
    auto client = server.Client();
    ASSERT_EQ(client->Post("/v1/vector/ingest", {{"dim", IngestWriter::kDim}, {"metric", "l2"}}).status, 200);
  }
  std::vector<std::unique_ptr<IngestWriter>> writers;
  for (int i = 0; i < 2; ++i) writers.push_back(std::make_unique<IngestWriter>(i));
  std::mt19937 rng(2026);
  const int cycles = CrashCycles(4);
  for (int cycle = 0; cycle < cycles; ++cycle) {
    RunWritersUntilKill(server, writers, rng);
    ASSERT_TRUE(server.Start()) << "cycle " << cycle << "\n" << server.output();
    auto client = server.Client();
    for (auto& w : writers) w->Verify(*client);
    if (::testing::Test::HasFailure()) return;
  }
  // Searchable: each sampled vector finds itself (exactly, and through the
  // graph for nearly all of them: HNSW is approximate).
  auto client = server.Client();
  size_t total = 0, sampled = 0, exact_found = 0, graph_found = 0;
  for (auto& w : writers) {
    total += w->acked().size();
    size_t i = 0;
    for (const auto& [id, v] : w->acked()) {
      if (i++ % 7 != 0) continue;
      ++sampled;
      for (bool exact : {true, false}) {
        auto r = client->Post("/v1/vector/ingest/search", {{"vector", FloatsJson(v)}, {"k", 3}, {"exact", exact}});
        ASSERT_EQ(r.status, 200) << r.body;
        const bool found = !r.json["hits"].empty() && r.json["hits"][0]["id"] == id;
        (exact ? exact_found : graph_found) += found;
      }
    }
  }
  ASSERT_GT(total, 0u) << "nothing was acknowledged";
  EXPECT_EQ(exact_found, sampled);
  EXPECT_GE(graph_found, sampled * 95 / 100) << "of " << sampled;
  std::printf("ingest crash loop: %d cycles, %zu acknowledged vectors, %zu/%zu found through the graph\n", cycles,
              total, graph_found, sampled);

  // The collection files after a clean stop, then after a replay of the
  // whole log into an empty vector directory: the same bytes.
  ASSERT_EQ(server.Stop(), 0);
  const auto built = CollectionFiles(server.data_dir(), "ingest");
  ASSERT_EQ(built.size(), 2u);
  fs::remove_all(fs::path(server.data_dir()) / "vectors");
  ASSERT_TRUE(server.Start()) << server.output();
  ASSERT_EQ(server.Stop(), 0);
  const auto replayed = CollectionFiles(server.data_dir(), "ingest");
  ASSERT_EQ(replayed.size(), 2u);
  for (const auto& [kind, bytes] : built) {
    EXPECT_TRUE(replayed.at(kind) == bytes) << kind << " differs after a replay from offset 0";
  }
}

}  // namespace
}  // namespace kissvdb::testing
