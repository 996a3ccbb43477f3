// The route table: every /v1 model route, its handler, and whether it
// writes, in one place (the Redis command-table idea). Health and metrics
// are registered by http/builtin_routes.cc.
#include "api/api.h"

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
      {Verb::put, "/v1/state/{key}", "state.put", true, PutState},
      {Verb::delete_, "/v1/state/{key}", "state.delete", true, DeleteState},
      // Events
      {Verb::post, "/v1/events", "events.append", true, AppendEvent},
      {Verb::get, "/v1/log", "log.read", false, ReadLog},
  };
  for (const Entry& e : kRoutes) {
    http::RouteInfo info;
    info.name = e.name;
    info.writes = e.writes;
    auto handler = e.handler;
    router.Add(e.method, e.pattern, info,
               [ctx, handler](Request& req, const Responder& res) { handler(ctx, req, res); });
  }
}

}  // namespace kissvdb::api
