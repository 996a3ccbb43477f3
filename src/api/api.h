// The /v1 API: JSON in, Engine call, JSON out. Handlers never touch storage
// directly; they parse and validate the request shape, call the Engine, and
// render its result. The route table is in routes.cc.
#pragma once

#include "http/request.h"
#include "http/router.h"
#include "kissvdb/config.h"
#include "kissvdb/engine.h"

namespace kissvdb {
class TaskPool;
}  // namespace kissvdb
namespace kissvdb::sql {
class SqlDatabase;
}  // namespace kissvdb::sql
namespace kissvdb::stream {
class Broadcaster;
}  // namespace kissvdb::stream

namespace kissvdb::api {

class BackupArchiver;

struct ApiContext {
  Engine* engine = nullptr;
  const Config* config = nullptr;
  sql::SqlDatabase* sql = nullptr;  // null when sqlite_enabled=false (routes answer 404 not_enabled)
  stream::Broadcaster* broadcaster = nullptr;  // the change stream (GET /v1/stream); null = 503
  BackupArchiver* archiver = nullptr;          // backup downloads; null = 503
  // Runs the routes that may block (SQL, snapshots) off the I/O threads
  // (util/task_pool.h); null runs them on the I/O thread.
  TaskPool* blocking = nullptr;
};

// Registers every /v1 model route (the built-in health/metrics routes are
// registered by the http module).
void RegisterRoutes(http::Router& router, const ApiContext& ctx);

using http::Request;
using http::Responder;

// state.cc
void ListState(const ApiContext& ctx, Request& req, const Responder& res);
void GetState(const ApiContext& ctx, Request& req, const Responder& res);
void GetStateHistory(const ApiContext& ctx, Request& req, const Responder& res);
void PutState(const ApiContext& ctx, Request& req, const Responder& res);
void DeleteState(const ApiContext& ctx, Request& req, const Responder& res);
void BatchPutState(const ApiContext& ctx, Request& req, const Responder& res);

// tx.cc
void Transact(const ApiContext& ctx, Request& req, const Responder& res);

// events.cc
void AppendEvent(const ApiContext& ctx, Request& req, const Responder& res);
void ReadLog(const ApiContext& ctx, Request& req, const Responder& res);

}  // namespace kissvdb::api
