#include "http/builtin_routes.h"

#include <chrono>

#include "util/metrics.h"

namespace kissvdb::http {

namespace {

// Process start, near enough: static initialization.
const auto g_started = std::chrono::steady_clock::now();

}  // namespace

void AddBuiltinRoutes(Router& router, WriteHealthProbe write_health) {
  Metrics& m = Metrics::Global();
  m.counter("state_put_total", {}, "State puts.");
  m.counter("state_delete_total", {}, "State deletes.");
  m.counter("vector_ops_total", {}, "Vector writes.");
  m.counter("events_total", {}, "Events committed to the log.");
  m.gauge("sse_clients", {}, "Connected change-stream clients.");
  m.gauge("kissvdb_build_info", {{"version", KISSVDB_VERSION}}, "Build information.").Set(1);

  router.Add(Verb::get, "/v1/health", RouteInfo{.is_public = true, .writes = false, .name = "health"},
             [write_health = std::move(write_health)](Request&, const Responder& res) {
               const auto uptime = std::chrono::steady_clock::now() - g_started;
               Json body{{"status", "ok"},
                         {"version", KISSVDB_VERSION},
                         {"uptime_secs", std::chrono::duration_cast<std::chrono::seconds>(uptime).count()},
                         {"writes", "ok"}};
               const Status writes = write_health ? write_health() : Status::OK();
               if (writes.ok()) return res.Send(Response::Ok(std::move(body)));
               body["message"] = writes.message();
               if (writes.code() == Code::kInsufficientStorage) {
                 body["status"] = "degraded";
                 body["writes"] = "disk_full";
                 return res.Send(Response::Ok(std::move(body)));
               }
               body["status"] = "failed";
               body["writes"] = "failed";
               body["error"] = "unavailable";
               res.Send(Response::Json(503, std::move(body)));
             });
  router.Add(Verb::get, "/v1/metrics", RouteInfo{.is_public = false, .writes = false, .name = "metrics"},
             [](Request&, const Responder& res) {
               res.Send(Response::Text(200, Metrics::Global().RenderPrometheus(),
                                       "text/plain; version=0.0.4"));
             });
}

}  // namespace kissvdb::http
