// The routes every server has, whatever the engine: health (public) and
// Prometheus metrics (authenticated, as in the original at HEAD).
#pragma once

#include <functional>

#include "http/router.h"
#include "kissvdb/status.h"

namespace kissvdb::http {

// What /v1/health reports about writes (Engine::WriteHealth): OK, or why
// writes are refused.
using WriteHealthProbe = std::function<Status()>;

// GET /v1/health  -> {"status":"ok","version":KISSVDB_VERSION,"uptime_secs":N,
//                     "writes":"ok"}
//   While `write_health` says writes are refused, the answer changes:
//   - kInsufficientStorage: still 200 (the server is alive and serves
//     reads; writes resume by themselves), "status":"degraded",
//     "writes":"disk_full" and a "message".
//   - anything else (a failed log write: only a restart helps): 503 with
//     the error shape {"error":"unavailable","message":...} plus the fields
//     above, "status":"failed", "writes":"failed", so that a liveness
//     probe restarts the server.
// GET /v1/metrics -> Metrics::Global() in Prometheus text format 0.0.4
// Also registers, at zero, the series the original exports
// (state_put_total, state_delete_total, vector_ops_total, events_total,
// sse_clients), so /v1/metrics lists them before their first use.
void AddBuiltinRoutes(Router& router, WriteHealthProbe write_health = {});

}  // namespace kissvdb::http
