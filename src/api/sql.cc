// /v1/sql/*: parse the body, run it on the SqlDatabase, render the result.
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/json_args.h"
#include "api/sql_routes.h"
#include "http/offload.h"
#include "sql/sql_database.h"

namespace kissvdb::api {

namespace {

Status NotEnabled() {
  return Status(Code::kNotEnabled, "SQL is disabled on this server (sqlite_enabled=false)");
}

// {sql, params?} from one JSON object; `where` prefixes errors ("" or
// "statements[i].").
Result<sql::SqlStatement> ParseStatement(const Json& obj, const std::string& where) {
  if (!obj.is_object()) return Status::InvalidArgument(where + "must be a JSON object with sql and params");
  auto text = RequiredString(obj, "sql");
  if (!text.ok()) return Status::InvalidArgument(where + text.status().message());
  sql::SqlStatement statement;
  statement.sql = std::move(text.value());
  auto params = obj.find("params");
  if (params != obj.end()) {
    if (!params->is_null() && !params->is_array() && !params->is_object()) {
      return Status::InvalidArgument(where + "params must be an array (positional) or an object (named)");
    }
    statement.params = *params;
  }
  return statement;
}

// The body of /query and /exec.
Result<sql::SqlStatement> ParseSingle(Request& req) {
  auto body = ObjectBody(req);
  if (!body.ok()) return body.status();
  return ParseStatement(*body, "");
}

// How long /v1/sql/query may run on an I/O thread before it moves to the
// blocking pool (see SqlQuery).
constexpr std::chrono::microseconds kInlineQueryBudget{500};

// The body comes written: {"columns":[...],"rows":[...]}.
void SendRows(const Responder& res, Result<std::string> body) {
  if (!body.ok()) return res.Error(body.status());
  http::Response r;
  r.body = std::move(*body);
  res.Send(std::move(r));
}

}  // namespace

void SqlQuery(const ApiContext& ctx, Request& req, const Responder& res) {
  sql::SqlDatabase* db = ctx.sql;
  if (db == nullptr) return res.Error(NotEnabled());
  auto statement = ParseSingle(req);
  if (!statement.ok()) return res.Error(statement.status());
  if (ctx.blocking == nullptr) return SendRows(res, db->QueryJson(statement->sql, statement->params));
  // On the I/O thread, a query may run only about as long as a vector search:
  // a point SELECT answers here, without the hand-off to another thread and
  // back (which cost a third of its throughput); a longer one, or one that
  // finds every read connection busy, starts again on the blocking pool.
  if (auto quick = db->TryQueryJson(statement->sql, statement->params, kInlineQueryBudget)) {
    return SendRows(res, std::move(*quick));
  }
  auto owned = std::make_shared<sql::SqlStatement>(std::move(statement.value()));
  http::AnswerOnPool(*ctx.blocking, res, [db, owned, res] { SendRows(res, db->QueryJson(owned->sql, owned->params)); });
}

void SqlExec(const ApiContext& ctx, Request& req, const Responder& res) {
  sql::SqlDatabase* db = ctx.sql;
  if (db == nullptr) return res.Error(NotEnabled());
  auto statement = ParseSingle(req);
  if (!statement.ok()) return res.Error(statement.status());
  // Queued for the SQL writer, which commits concurrent statements as one
  // group (one fsync); the answer is sent from there.
  db->Submit(std::move(statement.value()), [res](Result<sql::ExecResult> result) {
    if (!result.ok()) return res.Error(result.status());
    res.Send(http::Response::Ok(sql::ExecResultJson(*result)));
  });
}

void SqlTransaction(const ApiContext& ctx, Request& req, const Responder& res) {
  sql::SqlDatabase* db = ctx.sql;
  if (db == nullptr) return res.Error(NotEnabled());
  auto body = ObjectBody(req);
  if (!body.ok()) return res.Error(body.status());
  auto list = body->find("statements");
  if (list == body->end() || !list->is_array()) {
    return res.Error(Status::InvalidArgument("statements is required and must be an array of {sql, params}"));
  }
  std::vector<sql::SqlStatement> statements;
  statements.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    auto statement = ParseStatement((*list)[i], "statements[" + std::to_string(i) + "].");
    if (!statement.ok()) return res.Error(statement.status());
    statements.push_back(std::move(statement.value()));
  }
  auto results = db->Transaction(statements);
  if (!results.ok()) return res.Error(results.status());
  Json out = Json::array();
  for (const sql::ExecResult& r : *results) out.push_back(sql::ExecResultJson(r));
  res.Send(http::Response::Ok(Json{{"results", std::move(out)}}));
}

}  // namespace kissvdb::api
