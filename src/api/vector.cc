// /v1/vector: collections of vectors with filtered top-k search
// (original-api.md §2 "vector"; additions: drop, l2, ef, exact, batch search,
// atomic batches, HNSW parameters at create).
#include <memory>
#include <set>
#include <utility>

#include "api/api.h"
#include "api/json_args.h"
#include "api/text_args.h"
#include "api/vector_body.h"
#include "api/vector_routes.h"
#include "http/offload.h"
#include "util/json_filter.h"
#include "util/json_writer.h"

namespace kissvdb::api {

namespace {

Result<std::vector<float>> ParseVector(const Json& v, const char* field = "vector") {
  if (!v.is_array()) return Status::InvalidArgument(std::string(field) + " must be an array of numbers");
  std::vector<float> out;
  out.reserve(v.size());
  for (const Json& x : v) {
    if (!x.is_number()) return Status::InvalidArgument(std::string(field) + " must be an array of numbers");
    out.push_back(x.get<float>());
  }
  return out;
}

Json InfoJson(const vector::CollectionInfo& info) {
  const auto& s = info.spec;
  return Json{{"collection", s.name},
              {"dim", s.dim},
              {"metric", std::string(vector::MetricName(s.metric))},
              {"count", info.live_count},
              {"live_count", info.live_count},
              {"deleted", info.deleted_count},
              {"created_at_ms", info.created_at_ms},
              {"updated_at_ms", info.updated_at_ms},
              {"m", s.hnsw.m},
              {"ef_construction", s.hnsw.ef_construction},
              {"ef_search", s.hnsw.ef_search},
              {"applied_offset", info.applied_offset},
              {"manifest",
               {{"index", "hnsw"},
                {"capacity", info.capacity},
                {"persisted_offset", info.persisted_offset},
                {"file_bytes", info.file_bytes}}},
              {"notes", nullptr},
              {"segments", 1}};
}

Json ListItemJson(const vector::CollectionInfo& info) {
  return Json{{"collection", info.spec.name},
              {"dim", info.spec.dim},
              {"metric", std::string(vector::MetricName(info.spec.metric))},
              {"live_count", info.live_count},
              {"total_records", info.live_count + info.deleted_count},
              {"upsert_count", info.upsert_count},
              {"file_len", info.file_bytes},
              {"applied_offset", info.applied_offset},
              {"created_at_ms", info.created_at_ms},
              {"updated_at_ms", info.updated_at_ms},
              {"segments", 1},
              {"deleted_count", info.deleted_count}};
}

// `fast`: the item's "vector", already decoded by ParseVectorBody (or null).
Result<VectorWrite> ParseItem(const Json& item, bool vector_required, const Limits& limits, size_t hint,
                              std::optional<std::vector<float>>* fast) {
  if (!item.is_object()) return Status::InvalidArgument("each item must be a JSON object");
  auto id = RequiredString(item, "id");
  if (!id.ok()) return id.status();
  VectorWrite w;
  w.id = std::move(id.value());
  auto v = item.find("vector");
  if (fast != nullptr && fast->has_value()) {
    w.vector = std::move(**fast);
  } else if (v != item.end() && !v->is_null()) {
    auto parsed = ParseVector(*v);
    if (!parsed.ok()) return parsed.status();
    w.vector = std::move(parsed.value());
  } else if (vector_required) {
    return Status::InvalidArgument("vector is required");
  }
  auto meta = item.find("meta");
  if (meta != item.end()) {
    KISSVDB_RETURN_IF_ERROR(CheckJsonSize(*meta, limits.max_json_bytes, hint, "meta"));
    w.meta = *meta;
  }
  return w;
}

// One-item writes answer with the item's own status as the call's status.
void WriteOne(const ApiContext& ctx, Request& req, const Responder& res, VectorWriteKind kind) {
  FastVectors fast;
  auto body = ParseVectorBody(req, nullptr, &fast);
  if (!body.ok()) return res.Error(body.status());
  auto item = ParseItem(*body, kind != VectorWriteKind::kUpdate, ctx.config->limits, req.body().size(),
                        fast.empty() ? nullptr : &fast[0]);
  if (!item.ok()) return res.Error(item.status());
  ctx.engine->WriteVectors(req.param("collection"), kind, {std::move(item.value())}, /*atomic=*/true,
                           Reply<VectorBatchResult>(res, [](const VectorBatchResult&) {
                             return http::Response::Ok(Json{{"ok", true}});
                           }));
}

// Strips the "item 0: " prefix the engine adds in atomic mode for one item.
Status SingleItemError(const Status& st) {
  const std::string prefix = "item 0: ";
  if (st.message().rfind(prefix, 0) == 0) return Status(st.code(), st.message().substr(prefix.size()));
  return st;
}

Json ItemError(const Status& st) {
  return Json{{"error", std::string(CodeName(st.code()))}, {"message", st.message()}};
}

// A search with a "text" runs through the text index (docs/search.md).
bool IsTextSearch(const Json& q) {
  auto t = q.find("text");
  return t != q.end() && !t->is_null();
}

// Vector collections keep only the present: `at` (a read at a past offset,
// docs/history.md) is refused rather than ignored.
constexpr const char* kNoPastReads =
    "at: vector collections keep only the present; reads at a past offset are for state and documents "
    "(docs/history.md)";
Status NoPastReads(const Request& req, const Json* body = nullptr) {
  if (req.query.count("at") > 0 || (body != nullptr && body->is_object() && body->contains("at"))) {
    return Status::InvalidArgument(kNoPastReads);
  }
  return Status::OK();
}

// `fast`: the search's "vector", already decoded by ParseVectorBody (or null).
Result<vector::SearchRequest> ParseSearch(const Json& q, std::vector<float>* storage,
                                          std::optional<JsonFilter>* filter,
                                          std::optional<std::vector<float>>* fast) {
  if (!q.is_object()) return Status::InvalidArgument("a search must be a JSON object");
  if (q.contains("at")) return Status::InvalidArgument(kNoPastReads);
  if (fast != nullptr && fast->has_value()) {
    *storage = std::move(**fast);
  } else {
    auto v = q.find("vector");
    if (v == q.end() || (v->is_null() && IsTextSearch(q))) {
      if (!IsTextSearch(q)) return Status::InvalidArgument("vector is required (or text, for a text search)");
    } else {
      auto parsed = ParseVector(*v);
      if (!parsed.ok()) return parsed.status();
      *storage = std::move(parsed.value());
    }
  }
  vector::SearchRequest req;
  req.vector = *storage;
  auto k = OptionalU64(q, "k");
  if (!k.ok()) return k.status();
  req.k = static_cast<uint32_t>(std::min<uint64_t>(k->value_or(10), 1u << 30));
  auto ef = OptionalU64(q, "ef");
  if (!ef.ok()) return ef.status();
  req.ef = static_cast<uint32_t>(std::min<uint64_t>(ef->value_or(0), 1u << 30));
  auto exact = OptionalBool(q, "exact");
  if (!exact.ok()) return exact.status();
  req.exact = exact->value_or(false);
  auto include = OptionalBool(q, "include_meta");
  if (!include.ok()) return include.status();
  req.include_meta = include->value_or(false);
  auto f = q.find("filters");
  if (f == q.end()) f = q.find("filter");
  if (f != q.end() && !f->is_null()) {
    if (!f->is_object()) return Status::InvalidArgument("filters must be a JSON object");
    auto compiled = JsonFilter::Compile(*f);
    if (!compiled.ok()) return compiled.status();
    filter->emplace(std::move(compiled.value()));
    req.filter = &**filter;
  }
  return req;
}

// Appends {"hits":[{"id":…,"meta":…,"score":…},…]}, the bytes nlohmann
// would write for the same object (keys in its sorted order). Written by
// hand: building a Json tree (a map and three strings per hit) and dumping
// it cost ~3.5% of a search's CPU (~5 µs) under the bench's search load.
void AppendHits(const std::vector<vector::SearchHit>& hits, std::string* out) {
  out->append(R"({"hits":[)");
  for (size_t i = 0; i < hits.size(); ++i) {
    const auto& h = hits[i];
    if (i) out->push_back(',');
    AppendHitHead(h.id, h.meta, static_cast<double>(h.score), out);
    out->push_back('}');
  }
  out->append("]}");
}

// A parsed search and what its SearchRequest points to, on the heap so the
// pointers stay valid when it moves to another thread.
struct OwnedSearch {
  std::vector<float> storage;
  std::optional<JsonFilter> filter;
  vector::SearchRequest request;
  std::optional<HybridQuery> hybrid;  // set when the search has a text
};
using Searches = std::vector<std::unique_ptr<OwnedSearch>>;

Result<std::unique_ptr<OwnedSearch>> ParseOwnedSearch(const Json& q, std::optional<std::vector<float>>* fast) {
  auto owned = std::make_unique<OwnedSearch>();
  auto request = ParseSearch(q, &owned->storage, &owned->filter, fast);
  if (!request.ok()) return request.status();
  owned->request = *request;
  if (IsTextSearch(q)) {
    HybridQuery& h = owned->hybrid.emplace();
    h.vector = request->vector;
    h.k = request->k;
    h.ef = request->ef;
    h.exact = request->exact;
    h.filter = request->filter;
    h.include_meta = request->include_meta;
    KISSVDB_RETURN_IF_ERROR(ParseHybrid(q, &h));
  }
  return owned;
}

// A graph search takes ~0.1 ms on an I/O thread. An exact one scores every
// point (~15 ms for 60k 784-d vectors), and a big batch adds up: those run
// on the blocking pool, so they never hold up the I/O thread's other
// connections. Batches up to this size stay on the I/O thread.
constexpr size_t kInlineBatch = 32;

// A plain text query runs on in-memory postings (~0.1 ms too); FTS5-syntax
// queries, snippets and filtered text legs go through SQLite or read deeper
// into the ranking, and run on the pool.
bool TakesLong(const Searches& searches) {
  if (searches.size() > kInlineBatch) return true;
  for (const auto& s : searches) {
    if (s->request.exact) return true;
    const auto& h = s->hybrid;
    if (h && h->text && (h->syntax == text::Syntax::kFts5 || h->highlight.enabled || h->filter != nullptr)) {
      return true;
    }
  }
  return false;
}

// Runs the searches in order and answers: {"hits"} for one search,
// {"results": [{"hits"}...]} for a batch.
void AnswerSearches(Engine* engine, const std::string& collection, const Searches& searches, bool batch,
                    const Responder& res) {
  http::Response answer;
  if (batch) answer.body.append(R"({"results":[)");
  auto fail = [&](size_t i, const Status& st) {
    if (!batch) return res.Error(st);
    res.Error(Status(st.code(), "queries[" + std::to_string(i) + "]: " + st.message()));
  };
  for (size_t i = 0; i < searches.size(); ++i) {
    if (i) answer.body.push_back(',');
    if (const auto& hybrid = searches[i]->hybrid) {
      HybridQuery query = *hybrid;
      query.collection = collection;
      auto hits = engine->SearchHybrid(query);
      if (!hits.ok()) return fail(i, hits.status());
      AppendHybridHits(query, *hits, &answer.body);
      continue;
    }
    auto hits = engine->SearchVectors(collection, searches[i]->request);
    if (!hits.ok()) return fail(i, hits.status());
    AppendHits(*hits, &answer.body);
  }
  if (batch) answer.body.append("]}");
  res.Send(std::move(answer));
}

void RunSearches(const ApiContext& ctx, std::string collection, Searches searches, bool batch,
                 const Responder& res) {
  if (ctx.blocking == nullptr || !TakesLong(searches)) {
    return AnswerSearches(ctx.engine, collection, searches, batch, res);
  }
  auto job = std::make_shared<std::pair<std::string, Searches>>(std::move(collection), std::move(searches));
  http::AnswerOnPool(*ctx.blocking, res, [engine = ctx.engine, job, batch, res] {
    AnswerSearches(engine, job->first, job->second, batch, res);
  });
}

}  // namespace

void ListVectorCollections(const ApiContext& ctx, Request& req, const Responder& res) {
  if (Status st = NoPastReads(req); !st.ok()) return res.Error(st);
  Json out = Json::array();
  for (const auto& info : ctx.engine->ListVectorCollections()) out.push_back(ListItemJson(info));
  res.Send(http::Response::Ok(Json{{"collections", std::move(out)}}));
}

void CreateVectorCollection(const ApiContext& ctx, Request& req, const Responder& res) {
  auto body = ObjectBody(req);
  if (!body.ok()) return res.Error(body.status());
  vector::CollectionSpec spec;
  spec.name = req.param("collection");
  auto dim = OptionalU64(*body, "dim");
  if (!dim.ok()) return res.Error(dim.status());
  if (!*dim) return res.Error(Status::InvalidArgument("dim is required"));
  spec.dim = static_cast<uint32_t>(std::min<uint64_t>(**dim, UINT32_MAX));
  std::string metric = body->value("metric", "cosine");
  auto m = vector::ParseMetric(metric);
  if (!m.ok()) return res.Error(Status::InvalidArgument("metric must be cosine, dot or l2"));
  spec.metric = *m;
  for (auto [field, target] : {std::pair{"m", &spec.hnsw.m}, std::pair{"ef_construction", &spec.hnsw.ef_construction},
                               std::pair{"ef_search", &spec.hnsw.ef_search}}) {
    auto v = OptionalU64(*body, field);
    if (!v.ok()) return res.Error(v.status());
    if (*v) *target = static_cast<uint32_t>(std::min<uint64_t>(**v, UINT32_MAX));
  }
  std::optional<text::TextSpec> text;
  if (auto f = body->find("text_fields"); f != body->end() && !f->is_null()) {
    Json def{{"fields", *f}};
    if (auto t = body->find("text_tokenizer"); t != body->end()) def["tokenizer"] = *t;
    auto parsed = text::SpecFromJson(def);
    if (!parsed.ok()) return res.Error(Status(parsed.status().code(), "text_fields: " + parsed.status().message()));
    text = std::move(parsed.value());
  } else if (body->contains("text_tokenizer")) {
    return res.Error(Status::InvalidArgument("text_tokenizer needs text_fields"));
  }
  Json text_json = text ? text::SpecToJson(*text) : Json();
  ctx.engine->CreateVectorCollection(
      std::move(spec), std::move(text),
      Reply<vector::CollectionSpec>(res, [text_json = std::move(text_json)](const vector::CollectionSpec& s) {
        return http::Response::Ok(Json{{"collection", s.name},
                                       {"dim", s.dim},
                                       {"metric", std::string(vector::MetricName(s.metric))},
                                       {"m", s.hnsw.m},
                                       {"ef_construction", s.hnsw.ef_construction},
                                       {"ef_search", s.hnsw.ef_search},
                                       {"text_index", text_json}});
      }));
}

void GetVectorCollection(const ApiContext& ctx, Request& req, const Responder& res) {
  if (Status st = NoPastReads(req); !st.ok()) return res.Error(st);
  auto info = ctx.engine->VectorCollection(req.param("collection"));
  if (!info.ok()) return res.Error(info.status());
  Json out = InfoJson(*info);
  auto text = ctx.engine->GetTextIndex(text::Target::kVector, req.param("collection"));
  out["text_index"] = text.ok() ? TextIndexJson(*text) : Json();
  res.Send(http::Response::Ok(std::move(out)));
}

void DropVectorCollection(const ApiContext& ctx, Request& req, const Responder& res) {
  ctx.engine->DropVectorCollection(req.param("collection"), Reply<bool>(res, [](bool dropped) {
                                     return http::Response::Ok(Json{{"deleted", dropped}});
                                   }));
}

void AddVector(const ApiContext& ctx, Request& req, const Responder& res) {
  WriteOne(ctx, req, res, VectorWriteKind::kAdd);
}
void UpsertVector(const ApiContext& ctx, Request& req, const Responder& res) {
  WriteOne(ctx, req, res, VectorWriteKind::kUpsert);
}
void UpdateVector(const ApiContext& ctx, Request& req, const Responder& res) {
  WriteOne(ctx, req, res, VectorWriteKind::kUpdate);
}

void DeleteVector(const ApiContext& ctx, Request& req, const Responder& res) {
  auto body = ObjectBody(req);
  if (!body.ok()) return res.Error(body.status());
  auto id = RequiredString(*body, "id");
  if (!id.ok()) return res.Error(id.status());
  ctx.engine->DeleteVectors(req.param("collection"), {std::move(id.value())}, /*atomic=*/true,
                            [res](Result<VectorBatchResult> r) {
                              if (!r.ok()) return res.Error(SingleItemError(r.status()));
                              res.Send(http::Response::Ok(Json{{"deleted", true}}));
                            });
}

void UpsertVectorBatch(const ApiContext& ctx, Request& req, const Responder& res) {
  FastVectors fast;
  auto body = ParseVectorBody(req, "items", &fast);
  if (!body.ok()) return res.Error(body.status());
  auto items = body->find("items");
  if (items == body->end() || !items->is_array()) return res.Error(Status::InvalidArgument("items must be an array"));
  auto atomic = OptionalBool(*body, "atomic");
  if (!atomic.ok()) return res.Error(atomic.status());
  std::vector<VectorWrite> writes;
  std::set<std::string> seen;
  for (size_t i = 0; i < items->size(); ++i) {
    auto w = ParseItem((*items)[i], true, ctx.config->limits, req.body().size(), i < fast.size() ? &fast[i] : nullptr);
    if (!w.ok()) return res.Error(Status(w.status().code(), "items[" + std::to_string(i) + "]: " + w.status().message()));
    if (!seen.insert(w->id).second) {
      return res.Error(Status::InvalidArgument("items[" + std::to_string(i) + "]: duplicate id \"" + w->id + "\""));
    }
    writes.push_back(std::move(w.value()));
  }
  std::vector<std::string> ids;
  for (const auto& w : writes) ids.push_back(w.id);
  ctx.engine->WriteVectors(req.param("collection"), VectorWriteKind::kUpsert, std::move(writes), atomic->value_or(false),
                           Reply<VectorBatchResult>(res, [ids = std::move(ids)](const VectorBatchResult& results) {
                             Json out = Json::array();
                             for (size_t i = 0; i < results.size(); ++i) {
                               if (results[i].ok()) {
                                 out.push_back(Json{{"status", "upserted"}, {"id", ids[i]}});
                               } else {
                                 out.push_back(Json{{"status", "error"}, {"id", ids[i]}, {"error", ItemError(results[i])}});
                               }
                             }
                             return http::Response::Ok(Json{{"results", std::move(out)}});
                           }));
}

void DeleteVectorBatch(const ApiContext& ctx, Request& req, const Responder& res) {
  auto body = ObjectBody(req);
  if (!body.ok()) return res.Error(body.status());
  auto ids_json = body->find("ids");
  if (ids_json == body->end() || !ids_json->is_array()) return res.Error(Status::InvalidArgument("ids must be an array"));
  auto atomic = OptionalBool(*body, "atomic");
  if (!atomic.ok()) return res.Error(atomic.status());
  std::vector<std::string> ids;
  for (const Json& id : *ids_json) {
    if (!id.is_string()) return res.Error(Status::InvalidArgument("ids must be strings"));
    ids.push_back(id.get<std::string>());
  }
  auto copy = ids;
  ctx.engine->DeleteVectors(req.param("collection"), std::move(ids), atomic->value_or(false),
                            Reply<VectorBatchResult>(res, [ids = std::move(copy)](const VectorBatchResult& results) {
                              Json out = Json::array();
                              for (size_t i = 0; i < results.size(); ++i) {
                                if (results[i].ok()) {
                                  out.push_back(Json{{"status", "deleted"}, {"id", ids[i]}});
                                } else {
                                  out.push_back(Json{{"status", "error"}, {"id", ids[i]}, {"error", ItemError(results[i])}});
                                }
                              }
                              return http::Response::Ok(Json{{"results", std::move(out)}});
                            }));
}

void GetVector(const ApiContext& ctx, Request& req, const Responder& res) {
  if (Status st = NoPastReads(req); !st.ok()) return res.Error(st);
  std::string id = req.query_or("id", "");
  if (id.empty()) return res.Error(Status::InvalidArgument("query parameter id is required"));
  auto rec = ctx.engine->GetVector(req.param("collection"), id);
  if (!rec.ok()) return res.Error(rec.status());
  res.Send(http::Response::Ok(Json{{"id", rec->id}, {"vector", rec->vector}, {"meta", rec->meta}}));
}

void SearchVectors(const ApiContext& ctx, Request& req, const Responder& res) {
  FastVectors fast;
  auto body = ParseVectorBody(req, nullptr, &fast);
  if (!body.ok()) return res.Error(body.status());
  if (Status st = NoPastReads(req); !st.ok()) return res.Error(st);
  auto search = ParseOwnedSearch(*body, fast.empty() ? nullptr : &fast[0]);
  if (!search.ok()) return res.Error(search.status());
  Searches searches;
  searches.push_back(std::move(search.value()));
  RunSearches(ctx, req.param("collection"), std::move(searches), /*batch=*/false, res);
}

void SearchVectorsBatch(const ApiContext& ctx, Request& req, const Responder& res) {
  FastVectors fast;
  auto body = ParseVectorBody(req, "queries", &fast);
  if (!body.ok()) return res.Error(body.status());
  if (Status st = NoPastReads(req, &*body); !st.ok()) return res.Error(st);
  auto queries = body->find("queries");
  if (queries == body->end() || !queries->is_array() || queries->empty() ||
      queries->size() > ctx.config->limits.max_vector_batch) {
    return res.Error(Status::InvalidArgument("queries must be an array of 1.." +
                                             std::to_string(ctx.config->limits.max_vector_batch) + " searches"));
  }
  Searches searches;
  searches.reserve(queries->size());
  for (size_t i = 0; i < queries->size(); ++i) {
    auto search = ParseOwnedSearch((*queries)[i], i < fast.size() ? &fast[i] : nullptr);
    if (!search.ok()) {
      return res.Error(Status(search.status().code(), "queries[" + std::to_string(i) + "]: " + search.status().message()));
    }
    searches.push_back(std::move(search.value()));
  }
  RunSearches(ctx, req.param("collection"), std::move(searches), /*batch=*/true, res);
}

}  // namespace kissvdb::api
