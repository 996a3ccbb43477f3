// GET /v1/admin/stats: the dashboard's overview in one call (web_routes.h).
#include <chrono>

#include "api/web_routes.h"

namespace kissvdb::api {

namespace {

// Process start, near enough: static initialization.
const auto g_started = std::chrono::steady_clock::now();

// Counting keys walks LMDB on the I/O thread, so it stops here and says so.
constexpr uint64_t kMaxCountedKeys = 100000;
constexpr uint32_t kCountPage = 1000;

// What hnswlib allocates for `capacity` slots: per slot the vector, the
// layer-0 links (2*m ids + a count) and the label, plus ~1/m of the slots'
// upper-layer links. An estimate: the id maps and meta come on top.
uint64_t VectorMemoryEstimate(const vector::CollectionInfo& info) {
  const uint64_t m = info.spec.hnsw.m;
  const uint64_t per_slot = uint64_t{info.spec.dim} * 4 + (2 * m * 4 + 4) + 8;
  const uint64_t upper = m ? (m * 4 + 4) / m + 8 : 0;  // expected upper-layer bytes per slot
  return info.capacity * (per_slot + upper);
}

}  // namespace

void GetStats(const ApiContext& ctx, Request& req, const Responder& res) {
  const EngineStats s = ctx.engine->Stats();
  const auto uptime = std::chrono::steady_clock::now() - g_started;

  uint64_t keys = 0;
  bool keys_truncated = false;
  for (std::string after;;) {
    auto page = ctx.engine->ListState("", after, kCountPage);
    if (!page.ok()) return res.Error(page.status());
    keys += page->items.size();
    if (page->items.size() < kCountPage) break;
    if (keys >= kMaxCountedKeys) {
      keys_truncated = true;
      break;
    }
    after = page->items.back().key;
  }

  auto docs = ctx.engine->ListDocCollections();
  if (!docs.ok()) return res.Error(docs.status());
  uint64_t doc_count = 0;
  for (const auto& c : *docs) doc_count += c.count;

  Json vectors = Json::array();
  uint64_t points = 0;
  for (const auto& info : ctx.engine->ListVectorCollections()) {
    points += info.live_count;
    vectors.push_back(Json{{"collection", info.spec.name},
                           {"dim", info.spec.dim},
                           {"metric", std::string(vector::MetricName(info.spec.metric))},
                           {"count", info.live_count},
                           {"deleted", info.deleted_count},
                           {"capacity", info.capacity},
                           {"file_bytes", info.file_bytes},
                           {"memory_bytes_estimate", VectorMemoryEstimate(info)}});
  }

  const HistoryStats h = ctx.engine->HistoryUsage();
  res.Send(http::Response::Ok(Json{
      {"version", KISSVDB_VERSION},
      {"uptime_secs", std::chrono::duration_cast<std::chrono::seconds>(uptime).count()},
      {"log",
       {{"first_offset", s.first_offset},
        {"last_offset", s.last_offset},
        {"checkpoint_offset", s.checkpoint_offset},
        {"wal_segments", s.wal_segments},
        {"wal_bytes", s.wal_bytes},
        {"commit_batches", s.commit_batches},
        {"committed_events", s.committed_events}}},
      {"kv", {{"keys", keys}, {"keys_truncated", keys_truncated}}},
      {"doc", {{"collections", docs->size()}, {"documents", doc_count}}},
      {"vector", {{"collections", vectors.size()}, {"points", points}, {"list", std::move(vectors)}}},
      {"history",
       {{"retention", HistoryRetentionName(ctx.config->history_retention)},
        {"horizon", h.horizon},
        {"doc_horizon", h.doc_horizon},
        {"versions", h.versions},
        {"bytes", h.bytes},
        {"pruned", h.pruned}}},
      {"sql_enabled", ctx.sql != nullptr}}));
}

}  // namespace kissvdb::api
