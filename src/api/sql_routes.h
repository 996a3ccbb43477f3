// /v1/sql/*: the SQL model (original-api.md §2 "sql"; docs/sql.md).
//
// The handlers run the statement on the calling thread (SqlDatabase blocks
// for at most its statement time limit, plus the wait for the write lock)
// and need ApiContext::sql; when it is null (sqlite_enabled=false) every
// route answers 404 not_enabled, as the original did.
#pragma once

#include "api/api.h"

namespace kissvdb::api {

// POST /v1/sql/query {sql, params?} -> {"rows": [...], "columns": [...]}
void SqlQuery(const ApiContext& ctx, Request& req, const Responder& res);
// POST /v1/sql/exec {sql, params?} -> {"rows_affected", "last_insert_rowid"}
void SqlExec(const ApiContext& ctx, Request& req, const Responder& res);
// POST /v1/sql/transaction {statements: [{sql, params?}]} -> {"results": [...]}
void SqlTransaction(const ApiContext& ctx, Request& req, const Responder& res);

}  // namespace kissvdb::api
