// The browser-facing routes: the dashboard (/), the API docs page (/docs),
// the OpenAPI spec (/openapi.yaml, /openapi.json), their assets
// (/assets/{file}), and GET /v1/admin/stats, the figures the dashboard's
// overview shows that no other route has.
//
// The pages are public, like /v1/health: they hold no data. Everything they
// show comes from /v1 routes called with the token the user enters, which
// the browser keeps in sessionStorage.
#pragma once

#include "api/api.h"

namespace kissvdb::api {

// Registers "/", "/docs", "/openapi.yaml", "/openapi.json" and
// "/assets/{file}" (all public, GET). The files are compiled into the binary
// from web/ and docs/openapi.yaml (see web/assets.cmake).
void RegisterWebRoutes(http::Router& router);

// GET /v1/admin/stats -> {version, uptime_secs, log: {...}, kv: {...},
// doc: {...}, vector: {...}}. Any valid key (read-only included): counts and
// sizes only, no contents.
void GetStats(const ApiContext& ctx, Request& req, const Responder& res);

}  // namespace kissvdb::api
