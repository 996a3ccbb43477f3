// /v1/auth/keys (see auth_routes.h).
#include "api/auth_routes.h"
#include "api/json_args.h"

namespace kissvdb::api {

namespace {

Json KeyJson(const ApiKeyInfo& info) {
  Json j{{"id", info.id},
         {"name", info.name},
         {"role", info.role},
         {"permissions", info.permissions},
         {"created_at_ms", info.created_at_ms},
         {"revoked", info.revoked_at_ms != 0}};
  if (info.revoked_at_ms != 0) j["revoked_at_ms"] = info.revoked_at_ms;
  return j;
}

}  // namespace

bool RequireAdmin(const Request& req, const Responder& res) {
  if (req.principal.role == "admin") return true;
  res.Error(Status(Code::kForbidden, "this operation needs an admin API key"));
  return false;
}

void CreateApiKey(const ApiContext& ctx, Request& req, const Responder& res) {
  if (!RequireAdmin(req, res)) return;
  auto body = ObjectBody(req);
  if (!body.ok()) return res.Error(body.status());
  auto name = RequiredString(*body, "name");
  if (!name.ok()) return res.Error(name.status());
  NewApiKey key;
  key.name = std::move(name.value());
  if (auto it = body->find("role"); it != body->end() && !it->is_null()) {
    if (!it->is_string()) return res.Error(Status::InvalidArgument("role must be a string"));
    key.role = it->get<std::string>();
  }
  if (auto it = body->find("permissions"); it != body->end() && !it->is_null()) key.permissions = *it;
  Status size = CheckJsonSize(key.permissions, ctx.config->limits.max_json_bytes, req.body().size(), "permissions");
  if (!size.ok()) return res.Error(size);
  ctx.engine->CreateApiKey(std::move(key), Reply<CreatedApiKey>(res, [](const CreatedApiKey& created) {
                             Json j = KeyJson(created.info);
                             j.erase("revoked");
                             j["key"] = created.key;
                             return http::Response::Ok(j);
                           }));
}

void ListApiKeys(const ApiContext& ctx, Request& req, const Responder& res) {
  if (!RequireAdmin(req, res)) return;
  auto keys = ctx.engine->ListApiKeys();
  if (!keys.ok()) return res.Error(keys.status());
  Json out = Json::array();
  for (const ApiKeyInfo& info : *keys) out.push_back(KeyJson(info));
  res.Send(http::Response::Ok(out));
}

void RevokeApiKey(const ApiContext& ctx, Request& req, const Responder& res) {
  if (!RequireAdmin(req, res)) return;
  ctx.engine->RevokeApiKey(req.param("id"), Reply<bool>(res, [](bool) {
                             http::Response r;
                             r.status = 204;
                             r.content_type.clear();
                             return r;
                           }));
}

}  // namespace kissvdb::api
