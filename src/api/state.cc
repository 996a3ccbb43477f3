// /v1/state: the KV model (original-api.md §2 "state").
#include <algorithm>
#include <string>

#include "api/api.h"
#include "api/history.h"
#include "api/json_args.h"

namespace kissvdb::api {

namespace {

// Items are rendered by hand so the stored value JSON is spliced in as is,
// without a parse + re-serialize per read.
void AppendItem(std::string* out, const StateItem& item) {
  out->append("{\"key\":");
  out->append(Json(item.key).dump());
  out->append(",\"value\":");
  out->append(item.value_json);
  out->append(",\"revision\":");
  out->append(std::to_string(item.revision));
  out->append(",\"expires_at_ms\":");
  out->append(item.expires_at_ms ? std::to_string(item.expires_at_ms) : "null");
  out->push_back('}');
}

http::Response RawJson(std::string body) {
  http::Response r;
  r.body = std::move(body);
  return r;
}

Json ExpiresJson(uint64_t expires_at_ms) { return expires_at_ms ? Json(expires_at_ms) : Json(nullptr); }

Json PutResultJson(const StatePutResult& r) {
  return Json{{"key", r.key}, {"revision", r.revision}, {"expires_at_ms", ExpiresJson(r.expires_at_ms)}};
}

// Parses {value, ttl_ms?, if_revision?} into a StatePut.
Result<StatePut> ParsePut(const Json& op, std::string key, const Limits& limits, size_t size_hint) {
  if (!op.is_object()) return Status::InvalidArgument("each operation must be a JSON object");
  StatePut put;
  put.key = std::move(key);
  auto value = op.find("value");
  if (value == op.end()) return Status::InvalidArgument("value is required");
  KISSVDB_RETURN_IF_ERROR(CheckJsonSize(*value, limits.max_json_bytes, size_hint, "value"));
  put.value = *value;
  auto ttl = OptionalU64(op, "ttl_ms");
  if (!ttl.ok()) return ttl.status();
  put.ttl_ms = *ttl;
  auto rev = OptionalU64(op, "if_revision");
  if (!rev.ok()) return rev.status();
  put.if_revision = *rev;
  return put;
}

}  // namespace

void ListState(const ApiContext& ctx, Request& req, const Responder& res) {
  auto limit = QueryU64(req, "limit", 100);
  if (!limit.ok()) return res.Error(limit.status());
  auto at = QueryAt(req);
  if (!at.ok()) return res.Error(at.status());
  uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(*limit, ctx.config->limits.max_list_limit));
  const std::string prefix = req.query_or("prefix", ""), after = req.query_or("after", "");
  auto items = *at ? ctx.engine->ListStateAt(prefix, after, n, **at) : ctx.engine->ListState(prefix, after, n);
  if (!items.ok() && items.status().code() == Code::kGone) {
    return SendCompacted(res, items.status(), ctx.engine->HistoryHorizon());
  }
  if (!items.ok()) return res.Error(items.status());
  std::string out = "[";
  for (size_t i = 0; i < items->items.size(); ++i) {
    if (i) out.push_back(',');
    AppendItem(&out, items->items[i]);
  }
  out.push_back(']');
  http::Response r = RawJson(std::move(out));
  r.headers.emplace_back("KissVDB-Offset", std::to_string(items->as_of));
  res.Send(std::move(r));
}

void GetState(const ApiContext& ctx, Request& req, const Responder& res) {
  auto at = QueryAt(req);
  if (!at.ok()) return res.Error(at.status());
  auto item = *at ? ctx.engine->GetStateAt(req.param("key"), **at) : ctx.engine->GetState(req.param("key"));
  if (!item.ok() && item.status().code() == Code::kGone) {
    return SendCompacted(res, item.status(), ctx.engine->HistoryHorizon());
  }
  if (!item.ok()) return res.Error(item.status());
  std::string out;
  out.reserve(64 + item->key.size() + item->value_json.size());
  AppendItem(&out, *item);
  http::Response r = RawJson(std::move(out));
  r.headers.emplace_back("KissVDB-Offset", std::to_string(item->as_of));
  res.Send(std::move(r));
}

void GetStateHistory(const ApiContext& ctx, Request& req, const Responder& res) {
  const std::string& key = req.param("key");
  SendHistory(ctx, req, res, "value",
              [&](uint64_t before, uint32_t limit) { return ctx.engine->GetStateHistory(key, before, limit); });
}

void PutState(const ApiContext& ctx, Request& req, const Responder& res) {
  auto body = ObjectBody(req);
  if (!body.ok()) return res.Error(body.status());
  auto put = ParsePut(*body, req.param("key"), ctx.config->limits, req.body().size());
  if (!put.ok()) return res.Error(put.status());
  ctx.engine->PutState(std::move(put.value()), Reply<StatePutResult>(res, [](const StatePutResult& r) {
                         return http::Response::Ok(PutResultJson(r));
                       }));
}

void DeleteState(const ApiContext& ctx, Request& req, const Responder& res) {
  ctx.engine->DeleteState(req.param("key"), Reply<bool>(res, [](bool deleted) {
                            return http::Response::Ok(Json{{"deleted", deleted}});
                          }));
}

void BatchPutState(const ApiContext& ctx, Request& req, const Responder& res) {
  auto body = ObjectBody(req);
  if (!body.ok()) return res.Error(body.status());
  auto ops = body->find("operations");
  if (ops == body->end() || !ops->is_array()) return res.Error(Status::InvalidArgument("operations must be an array"));
  auto atomic = OptionalBool(*body, "atomic");
  if (!atomic.ok()) return res.Error(atomic.status());
  const Limits& limits = ctx.config->limits;
  if (ops->empty() || ops->size() > limits.max_state_batch) {
    return res.Error(Status::InvalidArgument("operations must hold 1.." + std::to_string(limits.max_state_batch) +
                                             " items"));
  }
  std::vector<StatePut> puts;
  puts.reserve(ops->size());
  for (size_t i = 0; i < ops->size(); ++i) {
    const Json& op = (*ops)[i];
    auto key = op.is_object() ? RequiredString(op, "key") : Result<std::string>(Status::InvalidArgument("not an object"));
    if (!key.ok()) return res.Error(Status::InvalidArgument("operations[" + std::to_string(i) + "]: " + key.status().message()));
    auto put = ParsePut(op, *key, limits, req.body().size());
    if (!put.ok()) {
      return res.Error(Status(put.status().code(), "operations[" + std::to_string(i) + "]: " + put.status().message()));
    }
    puts.push_back(std::move(put.value()));
  }
  std::vector<std::string> keys;
  for (const auto& p : puts) keys.push_back(p.key);
  ctx.engine->BatchPutState(
      std::move(puts), atomic->value_or(false),
      Reply<StateBatchResult>(res, [keys = std::move(keys)](const StateBatchResult& results) {
        Json out = Json::array();
        for (size_t i = 0; i < results.size(); ++i) {
          if (results[i].ok()) {
            Json item = PutResultJson(results[i].value());
            item["status"] = "ok";
            out.push_back(std::move(item));
          } else {
            const Status& st = results[i].status();
            out.push_back(Json{{"status", "error"},
                               {"key", keys[i]},
                               {"error", {{"error", std::string(CodeName(st.code()))}, {"message", st.message()}}}});
          }
        }
        return http::Response::Ok(Json{{"results", std::move(out)}});
      }));
}

}  // namespace kissvdb::api
