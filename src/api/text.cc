// /v1/text: text index definitions, and the document text search
// (docs/search.md).
#include "api/json_args.h"
#include "api/text_args.h"
#include "api/text_routes.h"
#include "http/offload.h"
#include "util/json_writer.h"

namespace kissvdb::api {

namespace {

Result<text::Target> TargetOf(const Request& req) { return text::ParseTarget(req.param("target")); }

// Runs a document text search and answers it.
void AnswerDocSearch(Engine* engine, const DocTextQuery& q, const Responder& res) {
  auto hits = engine->SearchDocs(q);
  if (!hits.ok()) return res.Error(hits.status());
  // The stored document text is spliced in as is (as find does).
  http::Response r;
  std::string& out = r.body;
  out = "{\"documents\":[";
  for (size_t i = 0; i < hits->size(); ++i) {
    const DocHit& h = (*hits)[i];
    if (i) out.push_back(',');
    out.append("{\"id\":");
    AppendJsonString(h.item.id, &out);
    out.append(",\"revision\":" + std::to_string(h.item.revision) + ",\"doc\":");
    out.append(h.item.doc_json);
    out.append(",\"score\":");
    AppendJsonNumber(h.score, &out);
    if (q.highlight.enabled) {
      out.append(",\"snippet\":");
      if (h.snippet) {
        out.append(Json(*h.snippet).dump(-1, ' ', false, Json::error_handler_t::replace));
      } else {
        out.append("null");
      }
    }
    out.push_back('}');
  }
  out.append("]}");
  res.Send(std::move(r));
}

}  // namespace

void ListTextIndexes(const ApiContext& ctx, Request&, const Responder& res) {
  auto list = ctx.engine->ListTextIndexes();
  if (!list.ok()) return res.Error(list.status());
  Json out = Json::array();
  for (const auto& info : *list) out.push_back(TextIndexJson(info));
  res.Send(http::Response::Ok(Json{{"indexes", std::move(out)}}));
}

void GetTextIndex(const ApiContext& ctx, Request& req, const Responder& res) {
  auto target = TargetOf(req);
  if (!target.ok()) return res.Error(target.status());
  auto info = ctx.engine->GetTextIndex(*target, req.param("collection"));
  if (!info.ok()) return res.Error(info.status());
  res.Send(http::Response::Ok(TextIndexJson(*info)));
}

void PutTextIndex(const ApiContext& ctx, Request& req, const Responder& res) {
  auto target = TargetOf(req);
  if (!target.ok()) return res.Error(target.status());
  auto body = ObjectBody(req);
  if (!body.ok()) return res.Error(body.status());
  auto spec = text::SpecFromJson(*body);
  if (!spec.ok()) return res.Error(spec.status());
  ctx.engine->SetTextIndex(*target, req.param("collection"), std::move(spec.value()),
                           Reply<TextIndexInfo>(res, [](const TextIndexInfo& info) {
                             return http::Response::Ok(TextIndexJson(info));
                           }));
}

void DeleteTextIndex(const ApiContext& ctx, Request& req, const Responder& res) {
  auto target = TargetOf(req);
  if (!target.ok()) return res.Error(target.status());
  ctx.engine->DropTextIndex(*target, req.param("collection"), Reply<bool>(res, [](bool deleted) {
                              return http::Response::Ok(Json{{"deleted", deleted}});
                            }));
}

void SearchDocsText(const ApiContext& ctx, Request& req, const Responder& res) {
  auto body = ObjectBody(req);
  if (!body.ok()) return res.Error(body.status());
  DocTextQuery q;
  q.collection = req.param("collection");
  auto text = RequiredString(*body, "text");
  if (!text.ok()) return res.Error(text.status());
  q.text = std::move(text.value());
  if (auto f = body->find("filter"); f != body->end()) q.filter = *f;
  auto limit = OptionalU64(*body, "limit");
  if (!limit.ok()) return res.Error(limit.status());
  q.limit = static_cast<uint32_t>(std::min<uint64_t>(limit->value_or(10), 1u << 30));
  auto syntax = ParseTextSyntax(*body);
  if (!syntax.ok()) return res.Error(syntax.status());
  q.syntax = *syntax;
  auto highlight = ParseHighlight(*body);
  if (!highlight.ok()) return res.Error(highlight.status());
  q.highlight = std::move(highlight.value());
  // Plain queries without filter or snippets run on in-memory postings;
  // the others go through SQLite or read deeper: on the blocking pool.
  if (ctx.blocking != nullptr &&
      (q.syntax == text::Syntax::kFts5 || q.highlight.enabled || !q.filter.is_null())) {
    auto job = std::make_shared<DocTextQuery>(std::move(q));
    return http::AnswerOnPool(*ctx.blocking, res, [engine = ctx.engine, job, res] { AnswerDocSearch(engine, *job, res); });
  }
  AnswerDocSearch(ctx.engine, q, res);
}

}  // namespace kissvdb::api
