// The route table: every /v1 model route, its handler, and whether it
// writes, in one place (the Redis command-table idea). Health and metrics
// are registered by http/builtin_routes.cc.
#include <set>
#include <string_view>

#include "api/admin_routes.h"
#include "api/api.h"
#include "api/auth_routes.h"
#include "api/doc_routes.h"
#include "api/sql_routes.h"
#include "api/stream_routes.h"
#include "api/text_routes.h"
#include "api/vector_routes.h"
#include "api/web_routes.h"
#include "http/offload.h"

namespace kissvdb::api {

void RegisterRoutes(http::Router& router, const ApiContext& ctx) {
  using http::Verb;
  struct Entry {
    Verb method;
    const char* pattern;
    const char* name;
    bool writes;
    void (*handler)(const ApiContext&, Request&, const Responder&);
  };
  static const Entry kRoutes[] = {
      // KV
      {Verb::get, "/v1/state", "state.list", false, ListState},
      {Verb::post, "/v1/state/batch_put", "state.batch_put", true, BatchPutState},
      {Verb::get, "/v1/state/{key}", "state.get", false, GetState},
      {Verb::get, "/v1/state/{key}/history", "state.history", false, GetStateHistory},
      {Verb::put, "/v1/state/{key}", "state.put", true, PutState},
      {Verb::delete_, "/v1/state/{key}", "state.delete", true, DeleteState},
      // Documents ("find" beats {id} for POST: literal segments win)
      {Verb::get, "/v1/doc", "doc.collections", false, ListDocCollections},
      {Verb::get, "/v1/doc/{collection}", "doc.list", false, ListDocs},
      {Verb::delete_, "/v1/doc/{collection}", "doc.drop", true, DropDocCollection},
      {Verb::post, "/v1/doc/{collection}/find", "doc.find", false, FindDocs},
      {Verb::post, "/v1/doc/{collection}/search", "doc.search", false, SearchDocsText},
      {Verb::get, "/v1/doc/{collection}/{id}", "doc.get", false, GetDoc},
      {Verb::get, "/v1/doc/{collection}/{id}/history", "doc.history", false, GetDocHistory},
      {Verb::put, "/v1/doc/{collection}/{id}", "doc.put", true, PutDoc},
      {Verb::patch, "/v1/doc/{collection}/{id}", "doc.patch", true, PatchDoc},
      {Verb::delete_, "/v1/doc/{collection}/{id}", "doc.delete", true, DeleteDoc},
      // Transactions across models (docs/transactions.md)
      {Verb::post, "/v1/tx", "tx", true, Transact},
      // Events
      {Verb::post, "/v1/events", "events.append", true, AppendEvent},
      // Change stream (SSE); GET /v1/events is the original system's alias
      {Verb::get, "/v1/stream", "stream", false, StreamChanges},
      {Verb::get, "/v1/events", "stream.events", false, StreamChanges},
      {Verb::get, "/v1/log", "log.read", false, ReadLog},
      // Vectors
      {Verb::get, "/v1/vector", "vector.list", false, ListVectorCollections},
      {Verb::post, "/v1/vector/{collection}", "vector.create", true, CreateVectorCollection},
      {Verb::get, "/v1/vector/{collection}", "vector.info", false, GetVectorCollection},
      {Verb::delete_, "/v1/vector/{collection}", "vector.drop", true, DropVectorCollection},
      {Verb::post, "/v1/vector/{collection}/add", "vector.add", true, AddVector},
      {Verb::post, "/v1/vector/{collection}/upsert", "vector.upsert", true, UpsertVector},
      {Verb::post, "/v1/vector/{collection}/update", "vector.update", true, UpdateVector},
      {Verb::post, "/v1/vector/{collection}/delete", "vector.delete", true, DeleteVector},
      {Verb::post, "/v1/vector/{collection}/upsert_batch", "vector.upsert_batch", true, UpsertVectorBatch},
      {Verb::post, "/v1/vector/{collection}/delete_batch", "vector.delete_batch", true, DeleteVectorBatch},
      {Verb::get, "/v1/vector/{collection}/get", "vector.get", false, GetVector},
      {Verb::post, "/v1/vector/{collection}/search", "vector.search", false, SearchVectors},
      {Verb::post, "/v1/vector/{collection}/search_batch", "vector.search_batch", false, SearchVectorsBatch},
      // Text indexes of vector and document collections (docs/search.md)
      {Verb::get, "/v1/text", "text.list", false, ListTextIndexes},
      {Verb::get, "/v1/text/{target}/{collection}", "text.get", false, GetTextIndex},
      {Verb::put, "/v1/text/{target}/{collection}", "text.put", true, PutTextIndex},
      {Verb::delete_, "/v1/text/{target}/{collection}", "text.delete", true, DeleteTextIndex},
      // SQL
      {Verb::post, "/v1/sql/query", "sql.query", false, SqlQuery},
      {Verb::post, "/v1/sql/exec", "sql.exec", true, SqlExec},
      {Verb::post, "/v1/sql/transaction", "sql.transaction", true, SqlTransaction},
      // API keys and admin operations (admin principals only: 403 otherwise)
      {Verb::get, "/v1/auth/keys", "auth.keys.list", false, ListApiKeys},
      {Verb::post, "/v1/auth/keys", "auth.keys.create", true, CreateApiKey},
      {Verb::delete_, "/v1/auth/keys/{id}", "auth.keys.revoke", true, RevokeApiKey},
      {Verb::post, "/v1/admin/snapshot", "admin.snapshot", false, CreateSnapshot},
      {Verb::get, "/v1/admin/stats", "admin.stats", false, GetStats},
      {Verb::get, "/v1/admin/backups", "admin.backups.list", false, ListBackups},
      {Verb::get, "/v1/admin/backups/{name}", "admin.backups.download", false, DownloadBackup},
  };
  // Handlers that may block for long (a SQLite transaction, its fsync or
  // lock wait, up to the statement timeout; a snapshot's file copies) run
  // on ctx.blocking, so that they never stall an I/O thread's other
  // connections. sql.query moves there by itself when it is not quick
  // (api/sql.cc), and so do exact and large batch vector searches
  // (api/vector.cc); sql.exec queues its statement for the SQL writer's
  // group commit and answers from there (sql/sql_group_commit.cc).
  static const std::set<std::string_view> kBlocking = {"sql.transaction", "admin.snapshot"};
  for (const Entry& e : kRoutes) {
    http::RouteInfo info;
    info.name = e.name;
    info.writes = e.writes;
    auto handler = e.handler;
    http::Handler run = [ctx, handler](Request& req, const Responder& res) { handler(ctx, req, res); };
    if (kBlocking.count(e.name) > 0) run = http::Offload(ctx.blocking, e.name, std::move(run));
    router.Add(e.method, e.pattern, info, std::move(run));
  }
  RegisterWebRoutes(router);  // "/", "/docs", "/openapi.*", "/assets/*" (web.cc)
}

}  // namespace kissvdb::api
