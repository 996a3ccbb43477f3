// /v1/events (append) and /v1/log (paged reads of the whole log).
#include <algorithm>

#include "api/api.h"
#include "api/json_args.h"

namespace kissvdb::api {

void AppendEvent(const ApiContext& ctx, Request& req, const Responder& res) {
  auto body = ObjectBody(req);
  if (!body.ok()) return res.Error(body.status());
  auto type = RequiredString(*body, "type");
  if (!type.ok()) return res.Error(type.status());
  auto expected = OptionalU64(*body, "expected_offset");
  if (!expected.ok()) return res.Error(expected.status());
  Json data = body->contains("data") ? (*body)["data"] : Json::object();
  Status size = CheckJsonSize(data, ctx.config->limits.max_json_bytes, req.body().size(), "data");
  if (!size.ok()) return res.Error(size);
  ctx.engine->AppendEvent(std::move(type.value()), std::move(data), *expected,
                          Reply<Event>(res, [](const Event& ev) {
                            return http::Response::Ok(
                                Json{{"offset", ev.offset}, {"ts_ms", ev.ts_ms}, {"type", ev.type}});
                          }));
}

void ReadLog(const ApiContext& ctx, Request& req, const Responder& res) {
  auto since = QueryU64(req, "since", 0);
  if (!since.ok()) return res.Error(since.status());
  auto limit = QueryU64(req, "limit", 100);
  if (!limit.ok()) return res.Error(limit.status());
  uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(*limit, ctx.config->limits.max_list_limit));
  auto page = ctx.engine->ReadEvents(*since, n);
  if (!page.ok()) return res.Error(page.status());
  Json events = Json::array();
  for (const auto& ev : page->events) events.push_back(ev.ToJson());
  uint64_t next = page->events.empty() ? *since : page->events.back().offset;
  res.Send(http::Response::Ok(Json{{"events", std::move(events)},
                                   {"first_offset", page->first_offset},
                                   {"last_offset", page->last_offset},
                                   {"next_since", next}}));
}

}  // namespace kissvdb::api
