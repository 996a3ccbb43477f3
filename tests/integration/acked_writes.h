// Acked: a record of acknowledged writes of every kind (KV, document,
// vector, event) and the check that a server still holds all of them.
// Shared by the fault tests (disk_full_test.cc, damaged_storage_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "test_client.h"

namespace kissvdb::testing {

using nlohmann::json;

// What the server acknowledged, to check after every restart.
struct Acked {
  std::map<std::string, json> kv;
  std::map<std::string, json> docs;
  std::map<std::string, std::vector<float>> vectors;
  std::map<uint64_t, json> events;  // offset -> {type, data}
  uint64_t rounds = 0;
};

// One write of each kind; every one must be acknowledged.
inline void WriteRound(HttpClient& client, Acked& acked) {
  const uint64_t n = ++acked.rounds;
  const std::string id = "r" + std::to_string(n);
  json value = {{"round", n}, {"pad", std::string(512, 'v')}};
  auto kv = client.Put("/v1/state/" + id, {{"value", value}});
  ASSERT_EQ(kv.status, 200) << kv.body;
  acked.kv[id] = value;
  json doc = {{"round", n}, {"name", "doc " + id}};
  auto d = client.Put("/v1/doc/things/" + id, doc);
  ASSERT_EQ(d.status, 200) << d.body;
  acked.docs[id] = doc;
  std::vector<float> vec = {static_cast<float>(n), 1.0f, 0.5f};
  auto v = client.Post("/v1/vector/points/upsert", {{"id", id}, {"vector", vec}});
  ASSERT_EQ(v.status, 200) << v.body;
  acked.vectors[id] = vec;
  json data = {{"round", n}};
  auto e = client.Post("/v1/events", {{"type", "disk_test"}, {"data", data}});
  ASSERT_EQ(e.status, 200) << e.body;
  acked.events[e.json["offset"].get<uint64_t>()] = {{"type", "disk_test"}, {"data", data}};
}

inline void VerifyAcked(HttpClient& client, const Acked& acked) {
  for (const auto& [key, value] : acked.kv) {
    auto r = client.Get("/v1/state/" + key);
    ASSERT_EQ(r.status, 200) << key << " " << r.body;
    EXPECT_EQ(r.json["value"], value) << key;
  }
  for (const auto& [id, doc] : acked.docs) {
    auto r = client.Get("/v1/doc/things/" + id);
    ASSERT_EQ(r.status, 200) << id << " " << r.body;
    EXPECT_EQ(r.json["doc"], doc) << id;
  }
  for (const auto& [id, vec] : acked.vectors) {
    auto r = client.Get("/v1/vector/points/get?id=" + id);
    ASSERT_EQ(r.status, 200) << id << " " << r.body;
    EXPECT_EQ(r.json["vector"].get<std::vector<float>>(), vec) << id;
  }
  for (const auto& [offset, ev] : acked.events) {
    auto r = client.Get("/v1/log?since=" + std::to_string(offset - 1) + "&limit=1");
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(r.json["events"].size(), 1u) << "offset " << offset;
    EXPECT_EQ(r.json["events"][0]["offset"], offset);
    EXPECT_EQ(r.json["events"][0]["type"], ev["type"]);
    EXPECT_EQ(r.json["events"][0]["data"], ev["data"]);
  }
  if (!acked.vectors.empty()) {
    auto hits = client.Post("/v1/vector/points/search", {{"vector", {1, 1, 0.5}}, {"k", 3}});
    ASSERT_EQ(hits.status, 200) << hits.body;
    EXPECT_EQ(hits.json["hits"].size(), std::min<size_t>(3, acked.vectors.size()));
  }
}

// The collection WriteRound writes to.
inline void CreateVectorCollection(HttpClient& client) {
  auto r = client.Post("/v1/vector/points", {{"dim", 3}, {"metric", "l2"}});
  ASSERT_EQ(r.status, 200) << r.body;
}

}  // namespace kissvdb::testing
