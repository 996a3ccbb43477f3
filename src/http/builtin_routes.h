// The routes every server has, whatever the engine: health (public) and
// Prometheus metrics (authenticated, as in the original at HEAD).
#pragma once

#include "http/router.h"

namespace kissvdb::http {

// GET /v1/health  -> {"status":"ok","version":KISSVDB_VERSION,"uptime_secs":N}
// GET /v1/metrics -> Metrics::Global() in Prometheus text format 0.0.4
// Also registers, at zero, the series the original exports
// (state_put_total, state_delete_total, vector_ops_total, events_total,
// sse_clients), so /v1/metrics lists them before their first use.
void AddBuiltinRoutes(Router& router);

}  // namespace kissvdb::http
