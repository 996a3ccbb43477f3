// /v1/events (append) and /v1/log (paged reads of the whole log).
#include <algorithm>

#include "api/api.h"
#include "api/json_args.h"
#include "util/event_json.h"

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
  // Written as text: vectors keep their shortest float form (event_json.h).
  std::string body = "{\"events\":[";
  for (size_t i = 0; i < page->events.size(); ++i) {
    if (i > 0) body.push_back(',');
    AppendEventJson(page->events[i], &body);
  }
  const uint64_t next = page->events.empty() ? *since : page->events.back().offset;
  body.append("],\"first_offset\":").append(std::to_string(page->first_offset));
  body.append(",\"last_offset\":").append(std::to_string(page->last_offset));
  body.append(",\"next_since\":").append(std::to_string(next)).push_back('}');
  res.Send(http::Response::Text(200, std::move(body), "application/json"));
}

}  // namespace kissvdb::api
