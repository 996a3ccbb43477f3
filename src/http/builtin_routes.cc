#include "http/builtin_routes.h"

#include <chrono>

#include "util/metrics.h"

namespace kissvdb::http {

namespace {

// Process start, near enough: static initialization.
const auto g_started = std::chrono::steady_clock::now();

}  // namespace

void AddBuiltinRoutes(Router& router) {
  Metrics& m = Metrics::Global();
  m.counter("state_put_total", {}, "State puts.");
  m.counter("state_delete_total", {}, "State deletes.");
  m.counter("vector_ops_total", {}, "Vector writes.");
  m.counter("events_total", {}, "Events committed to the log.");
  m.gauge("sse_clients", {}, "Connected change-stream clients.");
  m.gauge("kissvdb_build_info", {{"version", KISSVDB_VERSION}}, "Build information.").Set(1);

  router.Add(Verb::get, "/v1/health", RouteInfo{.is_public = true, .writes = false, .name = "health"},
             [](Request&, const Responder& res) {
               const auto uptime = std::chrono::steady_clock::now() - g_started;
               res.Send(Response::Ok(
                   {{"status", "ok"},
                    {"version", KISSVDB_VERSION},
                    {"uptime_secs", std::chrono::duration_cast<std::chrono::seconds>(uptime).count()}}));
             });
  router.Add(Verb::get, "/v1/metrics", RouteInfo{.is_public = false, .writes = false, .name = "metrics"},
             [](Request&, const Responder& res) {
               res.Send(Response::Text(200, Metrics::Global().RenderPrometheus(),
                                       "text/plain; version=0.0.4"));
             });
}

}  // namespace kissvdb::http
