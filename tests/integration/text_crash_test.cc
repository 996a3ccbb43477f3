// Crash loop for the text index: writers upsert text-indexed vectors and
// documents while the server is killed with SIGKILL at random moments.
// After each restart every acknowledged item is findable by its own word
// exactly once, and the index holds exactly as many items as the stores.
//
// KISSVDB_CRASH_CYCLES sets the number of kill/restart cycles (default 4).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "test_client.h"

namespace kissvdb::testing {
namespace {

using nlohmann::json;

int Cycles() {
  const char* env = std::getenv("KISSVDB_CRASH_CYCLES");
  return env != nullptr ? std::max(1, std::atoi(env)) : 4;
}

// The one word only item `id` holds.
std::string WordOf(const std::string& id) { return "w" + id; }

struct Acked {
  std::mutex mu;
  std::set<std::string> vectors, docs;
};

void Write(uint16_t port, const std::string& token, int writer, std::atomic<int>& next, Acked& acked,
           const std::atomic<bool>& stop) {
  HttpClient client(port, token);
  client.set_timeout(std::chrono::seconds(5));
  while (!stop) {
    const std::string id = std::to_string(writer) + "x" + std::to_string(next++);
    const std::string text = "common words and " + WordOf(id);
    json items = json::array({{{"id", id}, {"vector", {1.0, static_cast<double>(next % 7)}}, {"meta", {{"text", text}}}}});
    auto v = client.Post("/v1/vector/chunks/upsert_batch", {{"items", items}, {"atomic", true}});
    if (v.status != 200) return;  // the server is gone
    {
      std::lock_guard lk(acked.mu);
      acked.vectors.insert(id);
    }
    auto d = client.Put("/v1/doc/notes/" + id, {{"body", text}});
    if (d.status != 200) return;
    std::lock_guard lk(acked.mu);
    acked.docs.insert(id);
  }
}

TEST(TextCrashTest, AcknowledgedItemsAreFindableExactlyOnceAfterKill9) {
  TestServer server;
  ASSERT_TRUE(server.Start()) << server.output();
  {
    auto c = server.Client();
    ASSERT_EQ(c->Post("/v1/vector/chunks", {{"dim", 2}, {"metric", "l2"}, {"text_fields", {"text"}}}).status, 200);
    ASSERT_EQ(c->Put("/v1/text/doc/notes", {{"fields", {"body"}}}).status, 200);
  }
  Acked acked;
  std::atomic<int> next{0};
  std::mt19937 rng(1234);
  for (int cycle = 0; cycle < Cycles(); ++cycle) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int w = 0; w < 3; ++w) {
      writers.emplace_back(Write, server.port(), server.api_key(), w, std::ref(next), std::ref(acked), std::cref(stop));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 400));
    server.Kill();
    stop = true;
    for (auto& t : writers) t.join();
    ASSERT_TRUE(server.Start()) << server.output();
    auto c = server.Client();
    std::lock_guard lk(acked.mu);
    ASSERT_FALSE(acked.vectors.empty());
    for (const auto& id : acked.vectors) {
      auto r = c->Post("/v1/vector/chunks/search", {{"text", WordOf(id)}, {"k", 10}});
      ASSERT_EQ(r.status, 200) << r.body;
      ASSERT_EQ(r.json["hits"].size(), 1u) << "cycle " << cycle << ", item " << id << ": " << r.body;
      EXPECT_EQ(r.json["hits"][0]["id"], id);
    }
    for (const auto& id : acked.docs) {
      auto r = c->Post("/v1/doc/notes/search", {{"text", WordOf(id)}, {"limit", 10}});
      ASSERT_EQ(r.status, 200) << r.body;
      ASSERT_EQ(r.json["documents"].size(), 1u) << "cycle " << cycle << ", doc " << id << ": " << r.body;
      EXPECT_EQ(r.json["documents"][0]["id"], id);
    }
    // Exactly once: as many index entries as stored items (acknowledged, or
    // in flight and logged before the kill), no more.
    auto info = c->Get("/v1/vector/chunks");
    auto text = c->Get("/v1/text/vector/chunks");
    ASSERT_EQ(text.status, 200) << text.body;
    EXPECT_EQ(text.json["items"], info.json["count"]) << "cycle " << cycle;
    auto docs = c->Get("/v1/doc");
    auto doc_text = c->Get("/v1/text/doc/notes");
    for (const auto& coll : docs.json["collections"]) {
      if (coll["collection"] == "notes") {
        EXPECT_EQ(doc_text.json["items"], coll["count"]) << "cycle " << cycle;
      }
    }
  }
}

}  // namespace
}  // namespace kissvdb::testing
