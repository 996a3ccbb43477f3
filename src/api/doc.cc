// /v1/doc: the document model (see api/doc_routes.h).
#include <charconv>
#include <string>

#include "api/doc_routes.h"
#include "api/history.h"
#include "api/json_args.h"
#include "http/offload.h"

namespace kissvdb::api {

namespace {

// Documents are rendered by hand so the stored JSON text is spliced in as
// is, without a parse + re-serialize per read.
void AppendDoc(std::string* out, const DocItem& item) {
  out->append("{\"id\":");
  out->append(Json(item.id).dump());
  out->append(",\"revision\":");
  out->append(std::to_string(item.revision));
  out->append(",\"doc\":");
  out->append(item.doc_json);
  out->push_back('}');
}

http::Response DocResponse(const DocItem& item) {
  http::Response r;
  r.body.reserve(48 + item.id.size() + item.doc_json.size());
  AppendDoc(&r.body, item);
  r.headers.emplace_back("ETag", "\"" + std::to_string(item.revision) + "\"");
  if (item.as_of != 0) r.headers.emplace_back("KissVDB-Offset", std::to_string(item.as_of));
  return r;
}

http::Response PageResponse(const DocPage& page, bool with_plan) {
  http::Response r;
  std::string& out = r.body;
  out = "{\"documents\":[";
  for (size_t i = 0; i < page.documents.size(); ++i) {
    if (i) out.push_back(',');
    AppendDoc(&out, page.documents[i]);
  }
  out.push_back(']');
  if (!page.next_cursor.empty()) {
    out.append(",\"next_cursor\":");
    out.append(Json(page.next_cursor).dump());
  }
  if (with_plan) {
    out.append(",\"plan\":");
    out.append(page.plan.dump());
  }
  out.push_back('}');
  if (page.as_of != 0) r.headers.emplace_back("KissVDB-Offset", std::to_string(page.as_of));
  return r;
}

Result<uint64_t> ParseRevision(std::string_view s, const char* what) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.size() >= 2 && s.substr(0, 2) == "W/") s.remove_prefix(2);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    return Status::InvalidArgument(std::string(what) + " must be a revision number");
  }
  return v;
}

// The write precondition: If-Match or ?if_revision= (400 if both disagree).
Result<std::optional<uint64_t>> IfRevision(const Request& req) {
  std::optional<uint64_t> header, query;
  std::string_view h = req.header("If-Match");
  if (!h.empty()) {
    auto v = ParseRevision(h, "If-Match");
    if (!v.ok()) return v.status();
    header = *v;
  }
  auto it = req.query.find("if_revision");
  if (it != req.query.end()) {
    auto v = ParseRevision(it->second, "if_revision");
    if (!v.ok()) return v.status();
    query = *v;
  }
  if (header && query && *header != *query) {
    return Status::InvalidArgument("If-Match and if_revision name different revisions");
  }
  return header ? header : query;
}

Result<bool> QueryBool(const Request& req, const std::string& name) {
  auto it = req.query.find(name);
  if (it == req.query.end() || it->second.empty() || it->second == "false" || it->second == "0") return false;
  if (it->second == "true" || it->second == "1") return true;
  return Status::InvalidArgument("query parameter " + name + " must be true or false");
}

Result<std::optional<DocSort>> ParseSort(const Json& body) {
  auto it = body.find("sort");
  if (it == body.end() || it->is_null()) return std::optional<DocSort>();
  if (!it->is_object()) return Status::InvalidArgument("sort must be {\"field\": ..., \"order\": \"asc\"|\"desc\"}");
  DocSort sort;
  auto field = RequiredString(*it, "field");
  if (!field.ok()) return Status::InvalidArgument("sort.field is required and must be a non-empty string");
  sort.field = *field;
  if (sort.field.empty()) return Status::InvalidArgument("sort.field must not be empty");
  auto order = it->find("order");
  if (order != it->end() && !order->is_null()) {
    if (*order == "desc") {
      sort.descending = true;
    } else if (*order != "asc") {
      return Status::InvalidArgument("sort.order must be \"asc\" or \"desc\"");
    }
  }
  for (auto f = it->begin(); f != it->end(); ++f) {
    if (f.key() != "field" && f.key() != "order") return Status::InvalidArgument("unknown sort key " + f.key());
  }
  return std::optional<DocSort>(std::move(sort));
}

// How much a find may read on an I/O thread (documents examined plus index
// entries), about a millisecond; FindDocs runs a bigger one on the pool.
constexpr uint64_t kInlineFindWork = 1000;

void SendFound(const Responder& res, Result<DocPage> page) {
  if (!page.ok()) return res.Error(page.status());
  res.Send(PageResponse(*page, /*with_plan=*/true));
}

}  // namespace

void ListDocCollections(const ApiContext& ctx, Request& req, const Responder& res) {
  auto list = ctx.engine->ListDocCollections();
  if (!list.ok()) return res.Error(list.status());
  Json out = Json::array();
  for (const auto& c : *list) out.push_back(Json{{"collection", c.collection}, {"count", c.count}});
  res.Send(http::Response::Ok(Json{{"collections", std::move(out)}}));
}

void ListDocs(const ApiContext& ctx, Request& req, const Responder& res) {
  auto limit = QueryU64(req, "limit", 100);
  if (!limit.ok()) return res.Error(limit.status());
  if (*limit == 0) return res.Error(Status::InvalidArgument("limit must be at least 1"));
  uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(*limit, ctx.config->limits.max_list_limit));
  auto at = QueryAt(req);
  if (!at.ok()) return res.Error(at.status());
  const std::string cursor = req.query_or("cursor", "");
  auto page = *at ? ctx.engine->ListDocsAt(req.param("collection"), cursor, n, **at)
                  : ctx.engine->ListDocs(req.param("collection"), cursor, n);
  if (!page.ok() && page.status().code() == Code::kGone) {
    return SendCompacted(res, page.status(), ctx.engine->DocHistoryHorizon());
  }
  if (!page.ok()) return res.Error(page.status());
  res.Send(PageResponse(*page, /*with_plan=*/false));
}

void DropDocCollection(const ApiContext& ctx, Request& req, const Responder& res) {
  ctx.engine->DropDocCollection(req.param("collection"), Reply<uint64_t>(res, [](uint64_t count) {
                                  return http::Response::Ok(Json{{"dropped", count > 0}, {"count", count}});
                                }));
}

void FindDocs(const ApiContext& ctx, Request& req, const Responder& res) {
  auto body = req.JsonBody(/*allow_empty=*/true);
  if (!body.ok()) return res.Error(body.status());
  if (body->is_null()) *body = Json::object();
  if (!body->is_object()) return res.Error(Status::InvalidArgument("the request body must be a JSON object"));
  DocQuery q;
  q.collection = req.param("collection");
  auto filter = body->find("filter");
  if (filter != body->end() && !filter->is_null()) {
    if (!filter->is_object()) return res.Error(Status::InvalidArgument("filter must be a JSON object"));
    q.filter = std::move(*filter);
  }
  auto limit = OptionalU64(*body, "limit");
  if (!limit.ok()) return res.Error(limit.status());
  if (limit->has_value() && **limit == 0) return res.Error(Status::InvalidArgument("limit must be at least 1"));
  q.limit = static_cast<uint32_t>(std::min<uint64_t>(limit->value_or(20), ctx.config->limits.max_doc_find));
  auto sort = ParseSort(*body);
  if (!sort.ok()) return res.Error(sort.status());
  q.sort = std::move(sort.value());
  auto cursor = body->find("cursor");
  if (cursor != body->end() && !cursor->is_null()) {
    if (!cursor->is_string()) return res.Error(Status::InvalidArgument("cursor must be a string"));
    q.cursor = cursor->get<std::string>();
  }
  auto at = OptionalU64(*body, "at");
  if (!at.ok()) return res.Error(at.status());
  if (at->has_value()) {
    // The past has no index: a scan, on the pool when there is one.
    auto answer = [engine = ctx.engine, q = std::move(q), at = **at, res] {
      auto page = engine->FindDocsAt(q, at);
      if (!page.ok() && page.status().code() == Code::kGone) {
        return SendCompacted(res, page.status(), engine->DocHistoryHorizon());
      }
      SendFound(res, std::move(page));
    };
    if (ctx.blocking == nullptr) return answer();
    return http::AnswerOnPool(*ctx.blocking, res, std::move(answer));
  }
  if (ctx.blocking == nullptr) return SendFound(res, ctx.engine->FindDocs(q));
  // On the I/O thread only while it is cheap (an index lookup, a short
  // scan); a find that reads more starts again on the blocking pool.
  q.give_up_after = kInlineFindWork;
  auto page = ctx.engine->FindDocs(q);
  if (!page.ok() || !page->gave_up) return SendFound(res, std::move(page));
  q.give_up_after = 0;
  http::AnswerOnPool(*ctx.blocking, res,
                     [engine = ctx.engine, q = std::move(q), res] { SendFound(res, engine->FindDocs(q)); });
}

void GetDoc(const ApiContext& ctx, Request& req, const Responder& res) {
  auto at = QueryAt(req);
  if (!at.ok()) return res.Error(at.status());
  auto item = *at ? ctx.engine->GetDocAt(req.param("collection"), req.param("id"), **at)
                  : ctx.engine->GetDoc(req.param("collection"), req.param("id"));
  if (!item.ok() && item.status().code() == Code::kGone) {
    return SendCompacted(res, item.status(), ctx.engine->DocHistoryHorizon());
  }
  if (!item.ok()) return res.Error(item.status());
  res.Send(DocResponse(*item));
}

void GetDocHistory(const ApiContext& ctx, Request& req, const Responder& res) {
  const std::string& collection = req.param("collection");
  const std::string& id = req.param("id");
  SendHistory(ctx, req, res, "doc", [&](uint64_t before, uint32_t limit) {
    return ctx.engine->GetDocHistory(collection, id, before, limit);
  });
}

void PutDoc(const ApiContext& ctx, Request& req, const Responder& res) {
  auto if_revision = IfRevision(req);
  if (!if_revision.ok()) return res.Error(if_revision.status());
  auto body = req.JsonBody();
  if (!body.ok()) return res.Error(body.status());
  if (!body->is_object()) return res.Error(Status::InvalidArgument("the document must be a JSON object"));
  DocPut put{req.param("collection"), req.param("id"), std::move(body.value()), *if_revision};
  ctx.engine->PutDoc(std::move(put), Reply<DocItem>(res, DocResponse));
}

void PatchDoc(const ApiContext& ctx, Request& req, const Responder& res) {
  auto if_revision = IfRevision(req);
  if (!if_revision.ok()) return res.Error(if_revision.status());
  auto upsert = QueryBool(req, "upsert");
  if (!upsert.ok()) return res.Error(upsert.status());
  auto body = req.JsonBody();
  if (!body.ok()) return res.Error(body.status());
  if (!body->is_object()) return res.Error(Status::InvalidArgument("the merge patch must be a JSON object"));
  DocPatch patch{req.param("collection"), req.param("id"), std::move(body.value()), *if_revision, *upsert};
  ctx.engine->PatchDoc(std::move(patch), Reply<DocItem>(res, DocResponse));
}

void DeleteDoc(const ApiContext& ctx, Request& req, const Responder& res) {
  auto if_revision = IfRevision(req);
  if (!if_revision.ok()) return res.Error(if_revision.status());
  ctx.engine->DeleteDoc(req.param("collection"), req.param("id"), *if_revision, Reply<bool>(res, [](bool deleted) {
                          return http::Response::Ok(Json{{"deleted", deleted}});
                        }));
}

}  // namespace kissvdb::api
