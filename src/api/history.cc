#include "api/history.h"

#include <algorithm>
#include <string>

#include "api/json_args.h"

namespace kissvdb::api {

Result<std::optional<uint64_t>> QueryAt(const Request& req) {
  if (req.query.count("at") == 0) return std::optional<uint64_t>();
  auto at = QueryU64(req, "at", 0);
  if (!at.ok()) return at.status();
  return std::optional<uint64_t>(*at);
}

void SendCompacted(const Responder& res, const Status& st, const Result<uint64_t>& horizon) {
  Json body{{"error", "compacted"}, {"message", st.message()}};
  if (horizon.ok()) body["oldest_offset"] = *horizon;
  res.Send(http::Response::Json(410, body));
}

void SendHistory(const ApiContext& ctx, Request& req, const Responder& res, std::string_view value_field,
                 const std::function<Result<StateHistoryPage>(uint64_t before, uint32_t limit)>& page_of) {
  auto limit = QueryU64(req, "limit", 100);
  if (!limit.ok()) return res.Error(limit.status());
  auto before = QueryU64(req, "before", 0);
  if (!before.ok()) return res.Error(before.status());
  const uint32_t n = static_cast<uint32_t>(std::clamp<uint64_t>(*limit, 1, ctx.config->limits.max_list_limit));
  auto page = page_of(*before, n);
  if (!page.ok()) return res.Error(page.status());
  http::Response r;
  std::string& out = r.body;
  out = "{\"versions\":[";
  for (size_t i = 0; i < page->versions.size(); ++i) {
    const StateVersion& v = page->versions[i];
    if (i) out.push_back(',');
    out.append("{\"offset\":").append(std::to_string(v.offset));
    out.append(",\"ts_ms\":").append(std::to_string(v.ts_ms));
    out.append(",\"revision\":").append(std::to_string(v.revision));
    out.append(",\"").append(value_field).append("\":").append(v.deleted ? "null" : v.value_json);
    if (value_field == "value") {
      out.append(",\"expires_at_ms\":").append(v.expires_at_ms ? std::to_string(v.expires_at_ms) : "null");
    }
    out.append(",\"deleted\":").append(v.deleted ? "true" : "false");
    out.append(",\"reason\":").append(v.deleted ? Json(v.reason).dump() : "null");
    out.push_back('}');
  }
  out.append("],\"next_before\":").append(page->next_before ? std::to_string(page->next_before) : "null");
  out.push_back('}');
  res.Send(std::move(r));
}

}  // namespace kissvdb::api
