// Router: maps a method and a /v1 path to a handler.
//
// Patterns are literal segments and {name} captures, one path segment each
// ("/v1/state/{key}"). Captures are percent-decoded, so a key containing "/"
// is sent as %2F. Literal segments win over captures ("/v1/state/batch_put"
// beats "/v1/state/{key}" for POST). A path that matches some route but not
// the method is 405 with an Allow header; no match is 404.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"

namespace kissvdb::http {

struct RouteInfo {
  bool is_public = false;  // no auth (health, docs)
  bool writes = false;     // mutates state (read-only keys get 403)
  std::string name;        // metrics label, e.g. "state.put"
};

class Router {
 public:
  void Add(Verb method, std::string pattern, RouteInfo info, Handler handler);

  struct Match {
    enum Kind { kFound, kNotFound, kMethodNotAllowed } kind = kNotFound;
    const RouteInfo* info = nullptr;
    const Handler* handler = nullptr;
    std::map<std::string, std::string> params;
    std::string allow;  // for 405: "GET, PUT"
    // Added: index of the matched route in registration order (< size()),
    // so the server can keep per-route state (metrics) in a flat array.
    size_t route_index = 0;
  };
  // `path` is the raw (still percent-encoded) path without the query.
  // A capture that is not valid percent-encoding does not match (the server
  // rejects such paths with 400 before routing).
  Match Find(Verb method, std::string_view path) const;

  // Added: the number of routes registered.
  size_t size() const { return routes_.size(); }

 private:
  struct Route {
    Verb method;
    std::vector<std::string> segments;  // "{name}" for captures
    RouteInfo info;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace kissvdb::http
